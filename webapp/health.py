"""Health of the parts the server depends on: database, queue, timer sweep; and the vision workers'."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.models import SweepHeartbeat
from workflows.admin.deliveries import outbox_health

SWEEP_STALE_SECONDS = 10


def health(session: Session, clock: Clock, config: Any, celery_app: Any) -> dict[str, Any]:
    """{status, database, queue, timer_sweep}: each part with ok and a detail."""
    report: dict[str, Any] = {}
    beat = None
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
        session.rollback()
        report["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    else:
        try:
            beat = session.get(SweepHeartbeat, "timers")
            report["database"] = {"ok": True, "backend": session.get_bind().dialect.name}
        except Exception:  # noqa: BLE001 - reachable, but without our tables
            session.rollback()
            report["database"] = {"ok": False, "backend": session.get_bind().dialect.name,
                                  "error": "the schema is missing or out of date: run `ioc db upgrade`"}
    if config["CELERY_EAGER"]:
        report["queue"] = {"ok": True, "mode": "eager", "detail": "tasks run inside the server (embedded mode)"}
    else:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            report["queue"] = {"ok": True, "mode": "redis"}
        except Exception as exc:  # noqa: BLE001
            report["queue"] = {"ok": False, "mode": "redis", "error": f"{type(exc).__name__}: {exc}"[:300]}
    mode = config["TIMER_SWEEP"]
    sweep: dict[str, Any] = {"mode": mode}
    if mode == "off":
        sweep.update(ok=True, detail="timer sweep disabled (IOC_TIMER_SWEEP=off)")
    elif beat is None:
        sweep.update(ok=False, detail="the timer sweep has not run yet")
    else:
        age = (clock.now() - beat.at).total_seconds()
        sweep.update(ok=age <= SWEEP_STALE_SECONDS, last_run=beat.at.isoformat(), seconds_ago=round(age, 1),
                     fired_total=beat.fired)
    report["timer_sweep"] = sweep
    report["vision"] = vision_health(config)
    if report["database"]["ok"]:
        # Informative (does not make the status "degraded"): not ok while a message waits for a person.
        report["outbox"] = outbox_health(session)
    report["status"] = "ok" if all(report[k]["ok"] for k in ("database", "queue", "timer_sweep")) else "degraded"
    return report


def vision_health(config: Any) -> dict[str, Any]:
    """The camera workers (`ioc vision`) as they report themselves in Redis: workers alive, cameras leased,
    each camera's status and analysed frames per second.  Informational: the server does not depend on
    them, so it does not make the status "degraded"."""
    from flask import current_app, has_app_context

    thread = current_app.extensions.get("ioc_vision") if has_app_context() else None
    url = config.get("REDIS_URL")
    if thread is None and not url:
        return {"ok": True, "mode": "off", "detail": "no Redis (IOC_REDIS_URL): the vision workers need it"}
    from vision.runner import read_health, redis_client

    try:
        seen = thread.report() if thread is not None else read_health(redis_client(url))
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    mode = {"mode": "thread"} if thread is not None else {}  # the server's own vision thread
    return {"ok": True, **mode, "workers_alive": seen["workers_alive"], "cameras_leased": seen["cameras_leased"],
            "workers": [{"worker": w["worker"], "cameras": w["cameras"], "at": w["at"]} for w in seen["workers"]],
            "cameras": {code: {"status": c["status"], "detail": c["detail"], "fps": c["fps"], "worker": c["worker"]}
                        for code, c in seen["cameras"].items()}}
