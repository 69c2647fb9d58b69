"""A real Celery worker process turns the webhook's receipts into cases (PostgreSQL and Redis, as in production).

The test process is the web application with IOC_REDIS_URL set (tasks go to the broker, not run eagerly): each
call to POST /monitoring/hooks/alerts commits its receipt and queues `ioc.process_alerts`; a separate
`celery -A webapp.worker worker` process takes it and opens the cases. Alertmanager's grouped call gives five
cases, the same call again none, the resolved call clears two alerts.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.integration.celery_process import REDIS_TEST_URL, flush_redis, read_log, start_worker, stop_worker, worker_env

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "alerts"

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class Admin:
    username = "admin"


def wait_for(what: str, check, proc, timeout: float = 40.0):
    """Poll `check()` until it is truthy; fail if the worker dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert proc.poll() is None, f"the worker exited with {proc.returncode} while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_real_worker_turns_alertmanagers_calls_into_cases(db_url, tmp_path):
    from webapp import create_app
    from webapp.extensions import db
    from workflows.demo import demo_data, load_reference_data
    from workflows.models import Case
    from workflows.monitoring.models import AlertReceipt, MonitoringAlert
    from workflows.monitoring.sources import AlertSourceAdmin, NewSource

    flush_redis()
    log_path = tmp_path / "worker.log"
    app = create_app({"DATABASE_URL": db_url, "REDIS_URL": REDIS_TEST_URL, "TESTING": True,
                      "FILES_DIR": str(tmp_path / "files")})
    assert app.config["CELERY_EAGER"] is False, "with REDIS_URL set, tasks must go to the broker"
    with app.app_context():
        load_reference_data(db.session, demo_data())
        services = app.extensions["ioc"].services(db.session)
        services.definitions.deploy({"monitoring_alert.bpmn": (ROOT / "bpmn" / "monitoring_alert.bpmn").read_text()},
                                    deployed_by="test")
        db.session.commit()
        _source, token = AlertSourceAdmin(db.session).create(Admin(), NewSource(
            code="soc-prometheus", name="Prometheus của SOC", name_en="The SOC's Prometheus", field="cyber_security",
            unit="CA-DLK"))

    def counted(model, *where) -> int:
        with app.app_context():
            value = db.session.scalar(select(func.count()).select_from(model).where(*where))
            db.session.remove()
            return value

    proc = start_worker([], worker_env(db_url, IOC_TIMER_SWEEP="off"), log_path)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        wait_for("the worker to be ready", lambda: " ready." in read_log(log_path), proc)
        firing = (DATA / "alertmanager_grouped_firing.json").read_bytes()
        assert client.post("/monitoring/hooks/alerts", data=firing, headers=headers).status_code == 202
        wait_for("the five cases", lambda: counted(Case) == 5, proc)
        assert client.post("/monitoring/hooks/alerts", data=firing, headers=headers).status_code == 202
        wait_for("the repeat to be processed", lambda: counted(AlertReceipt, AlertReceipt.processed_at.is_(None)) == 0,
                 proc)
        assert counted(Case) == 5 and counted(MonitoringAlert, MonitoringAlert.received == 2) == 5
        resolved = (DATA / "alertmanager_grouped_resolved.json").read_bytes()
        assert client.post("/monitoring/hooks/alerts", data=resolved, headers=headers).status_code == 202
        wait_for("two alerts cleared", lambda: counted(MonitoringAlert, MonitoringAlert.status == "resolved") == 2, proc)
        wait_for("their cases closed", lambda: counted(Case, Case.status == "closed") == 2, proc)
        assert "Task ioc.process_alerts[" in read_log(log_path)
    finally:
        stop_worker(proc)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
