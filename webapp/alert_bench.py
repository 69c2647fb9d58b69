"""The alert part of `ioc bench kpi`: a burst of alerts through the real webhook, then processed, none lost.

`bench_alerts(app, n)` posts `n` distinct alerts to POST /monitoring/hooks/alerts with the Flask test client (the
whole request: routing, rate limit, token look-up, checks, one receipt committed per call), `per_call` alerts per
call, while processing is left to the periodic run as with a busy worker; then runs the processor as
`ioc.process_alerts` does and checks that every alert became an alert row and a case. Absorbing and processing
are timed apart: a flood is absorbed at the first rate, the cases follow at the second.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from webapp.alert_jobs import alert_processor
from webapp.extensions import db
from workflows.models import AdminUnit, Case
from workflows.monitoring.models import AlertReceipt, AlertSource, MonitoringAlert
from workflows.monitoring.sources import AlertSourceAdmin

BENCH_SOURCE = "bench-alerts"


def _source(app: Flask) -> tuple[int, str]:
    """The bench's source (made once, with a new token each run) and its token; monitoring_alert deployed."""
    token = secrets.token_urlsafe(32)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        if services.definitions.latest("monitoring_alert", missing_ok=True) is None:
            path = Path(app.config["BPMN_DIR"]) / "monitoring_alert.bpmn"
            services.definitions.deploy({path.name: path.read_text(encoding="utf-8")}, deployed_by="bench")
            db.session.commit()
        source = db.session.scalar(select(AlertSource).where(AlertSource.code == BENCH_SOURCE))
        if source is None:
            unit = (db.session.scalar(select(AdminUnit.code).where(AdminUnit.code == "IOC-DLK"))
                    or db.session.scalar(select(AdminUnit.code).where(AdminUnit.kind == "province")))
            source = AlertSourceAdmin(db.session).create_demo(BENCH_SOURCE, "Nguồn cảnh báo đo hiệu năng",
                                                              "Benchmark alert source", "cyber_security", unit, token)
        else:
            from workflows.monitoring.alerts import token_digest

            source.token_sha256, source.active = token_digest(token), True
            db.session.commit()
        return source.id, token


def _poster(app: Flask, headers: dict[str, str], concurrency: int):
    """post(body) -> status: through the Flask test client, or (concurrency > 1) a real threaded HTTP server on a
    free local port with that many clients at once; and a function that stops it."""
    if concurrency <= 1:
        client = app.test_client()
        return (lambda body: client.post("/monitoring/hooks/alerts", data=body, headers=headers).status_code), None
    import http.client
    import logging
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the terminal
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = threading.local()

    def post(body: bytes) -> int:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        local.conn.request("POST", "/monitoring/hooks/alerts", body=body, headers=headers)
        answer = local.conn.getresponse()
        answer.read()
        return answer.status

    pool = ThreadPoolExecutor(concurrency)

    def stop() -> None:
        pool.shutdown()
        server.shutdown()

    return (lambda body: pool.submit(post, body)), stop


def bench_alerts(app: Flask, n: int = 1000, per_call: int = 1, concurrency: int = 1) -> dict[str, Any]:
    """Absorb `n` distinct alerts through the webhook (`per_call` per call; `concurrency` > 1: that many clients of
    a real local HTTP server at once), then process them; the figures."""
    source_id, token = _source(app)
    run = secrets.token_hex(4)
    bodies = []
    for start in range(0, n, per_call):
        alerts = [{"id": f"bench-{run}-{i}", "title": f"Bench alert {i}", "severity": "high",
                   "labels": {"bench": run, "n": str(i)}} for i in range(start, min(n, start + per_call))]
        bodies.append(json.dumps({"alerts": alerts}).encode())
    with app.app_context():
        receipts_before = db.session.scalar(select(func.max(AlertReceipt.id))) or 0
    mode = app.config["ALERT_PROCESSING"]
    app.config["ALERT_PROCESSING"] = "periodic"  # absorbing only, as when the workers are busy
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    post, stop = _poster(app, headers, concurrency)
    refused: dict[int, int] = {}
    try:
        started = time.perf_counter()
        answers = [post(body) for body in bodies]
        for status in answers:
            status = status if isinstance(status, int) else status.result()
            if status != 202:
                refused[status] = refused.get(status, 0) + 1
        absorb_seconds = time.perf_counter() - started
    finally:
        app.config["ALERT_PROCESSING"] = mode
        if stop is not None:
            stop()
    with app.app_context():
        started = time.perf_counter()
        done = alert_processor(app.extensions["ioc"]).run()
        process_seconds = time.perf_counter() - started
        absorbed = sum(len(p["alerts"]) for p in db.session.scalars(
            select(AlertReceipt.payload).where(AlertReceipt.id > receipts_before, AlertReceipt.source_id == source_id)))
        stored = db.session.scalar(select(func.count()).select_from(MonitoringAlert).where(
            MonitoringAlert.source_id == source_id, MonitoringAlert.fingerprint.like(f"bench-{run}-%")))
        cases = db.session.scalar(select(func.count()).select_from(Case).join(
            MonitoringAlert, MonitoringAlert.case_id == Case.id).where(MonitoringAlert.fingerprint.like(f"bench-{run}-%")))
        db.session.remove()
    return {"alerts": n, "calls": len(bodies), "per_call": per_call, "concurrency": concurrency, "refused": refused,
            "absorbed": absorbed,
            "absorb_seconds": round(absorb_seconds, 3), "absorbed_per_second": round(absorbed / absorb_seconds, 1),
            "processed": done.alerts, "failed_receipts": done.failed, "alerts_stored": stored, "cases": cases,
            "process_seconds": round(process_seconds, 3),
            "processed_per_second": round(done.alerts / process_seconds, 1) if process_seconds else None,
            "lost": n - stored}
