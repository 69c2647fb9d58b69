"""The real timer sweep, in real time: a timer due in a few seconds fires within 5 s of its due time.

Two ways the sweep runs in production are covered:
- the sweep thread of the embedded server (SQLite file and the real PostgreSQL);
- Celery beat embedded in a real worker process (`celery -A webapp.worker worker --beat`)
  over the real PostgreSQL and Redis servers.

These tests sleep on purpose: what they measure is wall-clock latency.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.clock import SYSTEM_CLOCK
from engine.database import make_engine, make_session_factory
from engine.models import AuditEvent, ProcessInstance, SweepHeartbeat
from engine.sweep import SweepThread, TimerSweep
from tests.integration.celery_process import flush_redis, read_log, start_worker, stop_worker, worker_env
from workflows.runtime import make_services

ROOT = Path(__file__).resolve().parents[2]
TIMER_SOON = Path(__file__).resolve().parents[1] / "data" / "timer_soon.bpmn"
MAX_DELAY = timedelta(seconds=5)


# --------------------------------------------------------------------------- helpers


def deploy_and_start(session_factory, due_in: float) -> tuple[int, datetime]:
    """Deploy timer_soon (idempotent) and start one instance due `due_in` seconds from now."""
    with session_factory() as session:
        services = make_services(session, SYSTEM_CLOCK)
        services.definitions.deploy({TIMER_SOON.name: TIMER_SOON.read_text(encoding="utf-8")}, deployed_by="test")
        due_at = SYSTEM_CLOCK.now() + timedelta(seconds=due_in)
        row = services.instances.start("timer_soon", {"due_at": due_at.isoformat()}, actor="test")
        session.commit()
        assert row.status == "running"
        assert row.next_timer_at == due_at, "the instance must wait on exactly the due time it was given"
        return row.id, due_at


def wait_until_completed(session_factory, instance_id: int, timeout: float) -> datetime:
    """Poll until the instance completed; its fire time (the `completed` audit event's clock time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_factory() as session:
            row = session.get(ProcessInstance, instance_id)
            if row.status == "completed":
                fired_at = session.scalar(select(AuditEvent.at).where(AuditEvent.instance_id == instance_id,
                                                                      AuditEvent.kind == "completed"))
                assert fired_at is not None, "a completed instance must have its `completed` audit event"
                assert row.completed_at == fired_at
                return fired_at
            assert row.status == "running", f"instance {instance_id} is {row.status}, not running"
        time.sleep(0.1)
    raise AssertionError(f"instance {instance_id} did not complete within {timeout} s")


def assert_fired_in_time(due_at: datetime, fired_at: datetime, label: str) -> float:
    delay = fired_at - due_at
    print(f"{label}: due {due_at.isoformat()} fired {fired_at.isoformat()} delay {delay.total_seconds():.3f} s")
    assert timedelta(0) <= delay <= MAX_DELAY, f"{label}: fired {delay.total_seconds():.3f} s after its due time"
    return delay.total_seconds()


# --------------------------------------------------------------------------- the sweep thread


def test_sweep_thread_fires_a_timer_due_in_3_seconds_within_5_seconds(db_url, session_factory):
    instance_id, due_at = deploy_and_start(session_factory, due_in=3.0)
    thread = SweepThread(TimerSweep(session_factory, lambda s: make_services(s).instances), interval=1.0)
    started = time.monotonic()
    thread.start()
    try:
        fired_at = wait_until_completed(session_factory, instance_id, timeout=15)
    finally:
        thread.stop()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the sweep thread must end when asked"
    assert_fired_in_time(due_at, fired_at, f"sweep thread ({db_url.split(':')[0]})")
    assert time.monotonic() - started < 15
    with session_factory() as session:
        beat = session.get(SweepHeartbeat, "timers")
        assert beat is not None and beat.at >= fired_at and beat.fired >= 1


# --------------------------------------------------------------------------- Celery beat in a real worker


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(60)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_celery_beat_in_a_real_worker_fires_a_timer_due_in_4_seconds_within_5_seconds(db_url, tmp_path):
    engine = make_engine(db_url)
    session_factory = make_session_factory(engine)
    log_path = tmp_path / "worker.log"
    flush_redis()
    worker_started = SYSTEM_CLOCK.now()
    proc = start_worker(["--beat", "-s", str(tmp_path / "celerybeat-schedule")],
                        worker_env(db_url, IOC_TIMER_SWEEP="beat"), log_path)
    try:
        # Ready = beat scheduled a sweep and the worker ran it against our database.
        deadline = time.monotonic() + 25
        while True:
            assert proc.poll() is None, f"the worker exited with {proc.returncode}"
            with session_factory() as session:
                beat = session.get(SweepHeartbeat, "timers")
                if beat is not None and beat.at >= worker_started:
                    break
            assert time.monotonic() < deadline, "the worker never ran a timer sweep"
            time.sleep(0.2)

        instance_id, due_at = deploy_and_start(session_factory, due_in=4.0)
        fired_at = wait_until_completed(session_factory, instance_id, timeout=30)
        assert_fired_in_time(due_at, fired_at, "celery beat + worker (postgresql)")

        # The worker keeps the heartbeat: it swept at or after the firing and counted the instance.
        time.sleep(1.5)
        with session_factory() as session:
            beat = session.get(SweepHeartbeat, "timers")
            assert beat.at >= fired_at and beat.fired >= 1
            assert SYSTEM_CLOCK.now() - beat.at < timedelta(seconds=3), "beat stopped sweeping every second"
        assert proc.poll() is None, "the worker must still be running"
        log = read_log(log_path)
        assert "ioc.sweep_timers" in log and "succeeded" in log
        assert "Traceback" not in log, log
    except BaseException:
        print(read_log(log_path))
        raise
    finally:
        stop_worker(proc)
        engine.dispose()
        flush_redis()
