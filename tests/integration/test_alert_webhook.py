"""Alerts from other systems through POST /monitoring/hooks/alerts, on SQLite and PostgreSQL.

Alertmanager's own payloads (tests/data/alerts/SOURCES.md says where each comes from): firing, grouped and
resolved calls give the right cases; repeats and floods give one case per alert; the source clearing an alert
closes its case when nobody took it, and leaves the officer to finish when somebody did; an alert firing after its
case closed opens a new case linked to the previous one. A bad payload gets 400 naming what is wrong and stores
nothing; a wrong, revoked or rotated token gets 401.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from tests.workspace import make_workspace_app
from webapp.alert_jobs import alert_processor
from webapp.extensions import db
from workflows.models import Case, CaseEvent
from workflows.monitoring.alerts import labels_fingerprint
from workflows.monitoring.models import AlertReceipt, AlertSource, MonitoringAlert
from workflows.monitoring.sources import AlertSourceAdmin, NewSource

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
HOOK = "/monitoring/hooks/alerts"


class Admin:
    username = "admin"


_APPS: list = []


@pytest.fixture(autouse=True)
def _dispose_apps():
    """Close each app's connections after its test (an open PostgreSQL connection warns when collected)."""
    yield
    while _APPS:
        app = _APPS.pop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def alert_app(db_url: str, tmp_path, **overrides):
    """The demo app with monitoring_alert deployed and one source (SOC's Prometheus, for the police); its token."""
    app = make_workspace_app(db_url, FrozenClock(), FILES_DIR=str(tmp_path / "files"), **overrides)
    _APPS.append(app)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.definitions.deploy({"monitoring_alert.bpmn": (BPMN_DIR / "monitoring_alert.bpmn").read_text()},
                                    deployed_by="test")
        db.session.commit()
        _source, token = AlertSourceAdmin(db.session).create(Admin(), NewSource(
            code="soc-prometheus", name="Prometheus của SOC", name_en="The SOC's Prometheus", field="cyber_security",
            unit="CA-DLK"))
    return app, token


def post(client, token: str | None, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(HOOK, data=data, content_type="application/json", headers=headers)


def payload(name: str) -> bytes:
    return (DATA / name).read_bytes()


def alerts_of(app, fingerprint: str | None = None) -> list[MonitoringAlert]:
    with app.app_context():
        query = select(MonitoringAlert).order_by(MonitoringAlert.id)
        if fingerprint is not None:
            query = query.where(MonitoringAlert.fingerprint == fingerprint)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def case_of(app, case_id: int) -> Case:
    with app.app_context():
        case = db.session.get(Case, case_id)
        db.session.expunge(case)
        return case


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def disk(dev: str, instance: str) -> str:
    return labels_fingerprint({"alertname": "DiskRunningFull", "dev": dev, "instance": instance})


def test_alertmanagers_own_payloads_open_update_and_clear_cases(db_url, tmp_path):
    app, token = alert_app(db_url, tmp_path)
    client = app.test_client()

    # One firing alert, as Alertmanager writes it (its fingerprint kept): one case for the police, in the province.
    answer = post(client, token, payload("alertmanager_exec_success.json"))
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.get_json()["alerts"] == 1 and answer.get_json()["format"] == "alertmanager"
    [first] = alerts_of(app)
    assert first.fingerprint == "4ea129fd903f0e45" and first.status == "firing" and first.received == 1
    case = case_of(app, first.case_id)
    assert case.channel == "alert" and case.code.startswith("CB-") and case.category_code == "cyber_security"
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == case.code))
        assert task.element_id == "handle" and task.candidate_unit == "CA-DLK" and task.state == "open"
        assert db.session.scalar(select(AlertReceipt.processed_at)) is not None

    # A group of five: five cases; the same group again (Alertmanager's repeat_interval): counted, no new case.
    assert post(client, token, payload("alertmanager_grouped_firing.json")).status_code == 202
    assert count(app, Case) == 6
    assert post(client, token, payload("alertmanager_grouped_firing.json")).status_code == 202
    assert count(app, Case) == 6
    assert [a.received for a in alerts_of(app)] == [1, 2, 2, 2, 2, 2]
    with app.app_context():  # a repeat writes no history line
        assert db.session.scalar(select(func.count()).select_from(CaseEvent)
                                 .where(CaseEvent.kind.like("alert_%"))) == 0

    # An officer of the police takes the task of sda1/example1; nobody takes sda2/example1's. The source clears both.
    [taken] = alerts_of(app, disk("sda1", "example1"))
    [untouched] = alerts_of(app, disk("sda2", "example1"))
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        handle = db.session.scalar(select(HumanTask).where(HumanTask.business_key == case_of(app, taken.case_id).code))
        services.instances.claim(handle.id, "cb.cadlk")
        db.session.commit()
    assert post(client, token, payload("alertmanager_grouped_resolved.json")).status_code == 202
    [taken] = alerts_of(app, disk("sda1", "example1"))
    [untouched] = alerts_of(app, disk("sda2", "example1"))
    assert taken.status == untouched.status == "resolved" and taken.resolved_at is not None
    assert taken.ends_at.isoformat().startswith("2026-12-04T02:00:00")
    closed = case_of(app, untouched.case_id)
    assert closed.status == "closed" and closed.close_reason == "cleared_at_source"
    going_on = case_of(app, taken.case_id)
    assert going_on.status not in ("closed", "rejected")
    with app.app_context():
        finish = db.session.scalar(select(HumanTask).where(HumanTask.business_key == going_on.code,
                                                           HumanTask.state == "open"))
        assert finish.element_id == "finish"  # "cleared at source": the officer finishes what they started
        assert finish.assignee == "cb.cadlk"  # kept with the officer who held the interrupted task
        kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == untouched.case_id)).all()
        assert "alert_resolved" in kinds and "closed" in kinds
        services = app.extensions["ioc"].services(db.session)
        services.cases.complete_task(finish.id, {"resolution": "Đã dọn đĩa sda1 trên example1."}, actor="cb.cadlk")
    assert case_of(app, taken.case_id).status == "closed"

    # The group fires again: both cases are closed now, so each opens a new case linked to the previous alert.
    assert post(client, token, payload("alertmanager_grouped_firing.json")).status_code == 202
    assert count(app, Case) == 8
    again = alerts_of(app, disk("sda2", "example1"))
    assert len(again) == 2 and again[1].previous_id == again[0].id and again[1].case_id != again[0].case_id
    with app.app_context():
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == again[1].case_id,
                                                          CaseEvent.kind == "alert_recurred"))
        assert event.detail["previous_case"] == closed.code
    others = alerts_of(app, disk("sda1", "example3"))
    assert len(others) == 1 and others[0].received == 3


def test_a_flood_of_one_alert_gives_one_case(db_url, tmp_path):
    app, token = alert_app(db_url, tmp_path)
    client = app.test_client()
    alert = {"id": "cpu-high-web01", "status": "firing", "title": "CPU cao trên web01", "severity": "warning",
             "labels": {"host": "web01"}}
    for _ in range(1000):
        assert post(client, token, alert).status_code == 202
    assert count(app, AlertReceipt) == 1000
    [row] = alerts_of(app)
    assert row.received == 1000 and count(app, Case) == 1 and row.severity == "medium"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AlertReceipt)
                                 .where(AlertReceipt.processed_at.is_(None))) == 0


def test_a_thousand_distinct_alerts_are_absorbed_and_none_is_lost(db_url, tmp_path):
    app, token = alert_app(db_url, tmp_path, ALERT_PROCESSING="periodic")
    client = app.test_client()
    for call in range(10):
        body = {"alerts": [{"id": f"sensor-{call}-{i}", "title": f"PM2.5 vượt ngưỡng ở trạm {call}-{i}",
                            "severity": "critical" if i == 0 else "high", "labels": {"station": f"{call}-{i}"}}
                           for i in range(100)]}
        assert post(client, token, body).get_json()["alerts"] == 100
    assert count(app, AlertReceipt) == 10 and count(app, Case) == 0  # absorbed, not processed yet
    with app.app_context():
        done = alert_processor(app.extensions["ioc"]).run()
    assert (done.receipts, done.alerts, done.opened, done.failed) == (10, 1000, 1000, 0)
    assert count(app, MonitoringAlert) == 1000 and count(app, Case) == 1000
    assert len({a.fingerprint for a in alerts_of(app)}) == 1000
    with app.app_context():  # a critical alert tells the leaders; the priority follows the severity
        critical = db.session.scalars(select(Case).join(MonitoringAlert, MonitoringAlert.case_id == Case.id)
                                      .where(MonitoringAlert.severity == "critical")).all()
        assert len(critical) == 10 and {c.priority for c in critical} == {"high"}
        told = db.session.scalar(select(func.count()).select_from(CaseEvent)
                                 .where(CaseEvent.kind == "leaders_notified"))
        assert told == 10


BAD = [
    (b"{not json", "not JSON"),
    ("Xin chào".encode("utf-16"), "UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b'{"alerts": "many"}', "alerts must be a list"),
    (b'{"alerts": []}', "alerts is empty"),
    (b'{"version": "4", "status": "firing", "alerts": [{"status": "fired", "labels": {"alertname": "A"}}]}',
     'alerts[0].status must be "firing" or "resolved"'),
    (b'{"version": "4", "status": "firing", "alerts": [{"status": "firing"}]}', "alerts[0].labels is missing"),
    (b'{"alerts": [{"title": "A", "labels": {"host": ["a", "b"]}}]}', "alerts[0].labels.host must be a text"),
    (b'{"alerts": [{"title": 5}]}', "alerts[0].title must be a text"),
    (b'{"alerts": [{"title": "A", "starts_at": "yesterday"}]}', "alerts[0].starts_at is not a time"),
    (b'{"alerts": [{"title": "A"}, {"description": "no title"}]}', "alerts[1].title is missing"),
    (json.dumps({"alerts": [{"title": "x" * 300}]}).encode(), "longer than 255"),
    (json.dumps({"alerts": [{"title": "A"}] * 5001}).encode(), "too many alerts"),
]


def test_a_bad_payload_gets_400_naming_what_is_wrong_and_stores_nothing(db_url, tmp_path):
    app, token = alert_app(db_url, tmp_path)
    client = app.test_client()
    for body, words in BAD:
        answer = post(client, token, body, **{"Accept-Language": "en"})
        assert answer.status_code == 400, body[:80]
        problems = answer.get_json()["problems"]
        assert any(words in p for p in problems), (words, problems)
    # Alertmanager's own empty resolved notification (notify/exec/testdata/scope.json) is refused the same way.
    assert post(client, token, payload("alertmanager_exec_scope.json")).status_code == 400
    answer = post(client, token, b'{"alerts": [{"title": "A", "status": "off"}]}', **{"Accept-Language": "vi"})
    assert "phải là" in answer.get_json()["problems"][0]  # in the reader's language
    assert count(app, AlertReceipt) == count(app, MonitoringAlert) == count(app, Case) == 0


def test_a_wrong_revoked_or_rotated_token_gets_401(db_url, tmp_path):
    app, token = alert_app(db_url, tmp_path)
    client = app.test_client()
    good = {"title": "Mất kết nối camera", "severity": "low"}
    assert post(client, None, good).status_code == 401
    assert post(client, "not-a-token", good).status_code == 401
    answer = client.post(HOOK + f"?token={token}", json=good)
    assert answer.status_code == 401  # a token in the address is not taken (addresses end up in logs)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context():
        source_id = db.session.scalar(select(AlertSource.id))
        AlertSourceAdmin(db.session).set_active(Admin(), source_id, False)
    assert post(client, token, good).status_code == 401
    with app.app_context():
        AlertSourceAdmin(db.session).set_active(Admin(), source_id, True)
        _source, rotated = AlertSourceAdmin(db.session).rotate(Admin(), source_id)
    assert post(client, token, good).status_code == 401
    assert post(client, rotated, good).status_code == 202
    assert count(app, AlertReceipt) == 1


def test_a_body_larger_than_the_limit_gets_413_and_stores_nothing(db_url, tmp_path):
    app, token = alert_app(db_url, tmp_path, ALERT_MAX_BYTES=10_000)
    answer = post(app.test_client(), token, {"title": "A", "description": "x" * 20_000})
    assert answer.status_code == 413 and "10000" in answer.get_json()["error"]
    assert count(app, AlertReceipt) == 0


def test_a_failed_receipt_keeps_its_error_and_is_retried(db_url, tmp_path, monkeypatch):
    app, token = alert_app(db_url, tmp_path)
    from workflows.monitoring import alerts

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database said no")

    monkeypatch.setattr(alerts.AlertProcessor, "_open", broken)
    assert post(app.test_client(), token, {"title": "Ổ đĩa đầy"}).status_code == 202  # kept, whatever follows
    with app.app_context():
        receipt = db.session.scalar(select(AlertReceipt))
        assert receipt.processed_at is None and "the database said no" in receipt.error
    monkeypatch.undo()
    with app.app_context():
        assert alert_processor(app.extensions["ioc"]).run().receipts == 0  # a plain run leaves it to the retry
        app.extensions["ioc"].sweep().run_once()  # the embedded sweep's periodic retry (beat's in production)
    assert count(app, Case) == 1
    with app.app_context():
        receipt = db.session.scalar(select(AlertReceipt))
        assert receipt.processed_at is not None and receipt.error is None


@pytest.mark.parametrize("severity, priority", [("critical", "high"), ("warning", "normal"), ("info", "low")])
def test_the_severity_sets_priority_and_who_is_told(tmp_path, severity, priority):
    app, token = alert_app(f"sqlite:///{tmp_path / 'ioc.sqlite3'}", tmp_path)
    assert post(app.test_client(), token, {"title": "Tấn công dò mật khẩu", "severity": severity}).status_code == 202
    [row] = alerts_of(app)
    case = case_of(app, row.case_id)
    assert case.priority == priority
    with app.app_context():
        told = db.session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "leaders_notified"))
    assert told == (1 if severity == "critical" else 0)


def test_the_console_makes_a_source_shows_its_token_once_and_audits_every_change(db_url, tmp_path):
    from tests.workspace import client_of, csrf_of
    from workflows.admin.models import AdminAuditEntry

    app, _token = alert_app(db_url, tmp_path)
    admin = client_of(app, "admin")
    page = admin.get("/admin/alert-sources")
    assert page.status_code == 200 and "soc-prometheus" in page.get_data(as_text=True)
    csrf = csrf_of(page.get_data(as_text=True))
    form = {"csrf_token": csrf, "code": "quan-trac-moi-truong", "name": "Trạm quan trắc môi trường",
            "name_en": "Environmental monitoring stations", "field": "environment", "unit": "SNNMT", "category": ""}
    # Every chosen value is checked again: a unit, field or category that is not on the lists is refused.
    for wrong in ({"unit": "NO-SUCH-UNIT"}, {"field": "weather"}, {"category": "no_such_category"},
                  {"code": "Có Dấu"}, {"code": "soc-prometheus"}):
        answer = admin.post("/admin/alert-sources", data={**form, **wrong})
        assert answer.status_code == 400, wrong
    answer = admin.post("/admin/alert-sources", data=form)
    assert answer.status_code == 201
    token = answer.get_data(as_text=True).split('id="secret-once">')[1].split("<")[0]
    with app.app_context():
        source = db.session.scalar(select(AlertSource).where(AlertSource.code == "quan-trac-moi-truong"))
        assert source.category_code == "pollution"  # the field's own category (fields.FIELDS)
        assert source.token_sha256 != token and len(token) >= 40 and source.unit.code == "SNNMT"
        source_id = source.id
    assert token not in admin.get("/admin/alert-sources").get_data(as_text=True)  # shown once
    client = app.test_client()
    assert post(client, token, {"title": "Bụi mịn PM2.5 vượt ngưỡng", "severity": "high"}).status_code == 202
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.channel == "alert"))
        assert case.category_code == "pollution"
    rotated = admin.post(f"/admin/alert-sources/{source_id}/rotate", data={"csrf_token": csrf})
    new = rotated.get_data(as_text=True).split('id="secret-once">')[1].split("<")[0]
    assert post(client, token, {"title": "x"}).status_code == 401 and post(client, new, {"title": "x"}).status_code == 202
    assert admin.post(f"/admin/alert-sources/{source_id}/disable", data={"csrf_token": csrf}).status_code == 302
    assert post(client, new, {"title": "x"}).status_code == 401
    assert admin.post(f"/admin/alert-sources/{source_id}/enable", data={"csrf_token": csrf}).status_code == 302
    assert admin.post("/admin/alert-sources/999999/rotate", data={"csrf_token": csrf}).status_code == 404
    with app.app_context():
        actions = db.session.scalars(select(AdminAuditEntry.action).where(AdminAuditEntry.target_id == str(source_id))
                                     .order_by(AdminAuditEntry.id)).all()
        assert actions == ["alert_source.create", "alert_source.rotate", "alert_source.disable", "alert_source.enable"]
        entries = db.session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.target_type == "alert_source")).all()
        assert all(token not in str(e.before) + str(e.after) for e in entries)
    assert "cấp mã mới cho nguồn cảnh báo" in admin.get("/admin/audit").get_data(as_text=True).lower()


def test_the_benchmark_absorbs_and_processes_every_alert(tmp_path):
    from webapp.alert_bench import bench_alerts

    app, _token = alert_app(f"sqlite:///{tmp_path / 'ioc.sqlite3'}", tmp_path)
    figures = bench_alerts(app, n=60, per_call=4)
    assert figures["calls"] == 15 and figures["refused"] == {} and figures["absorbed"] == 60
    assert figures["alerts_stored"] == figures["cases"] == 60 and figures["lost"] == 0
    assert figures["absorbed_per_second"] > 0 and figures["processed_per_second"] > 0
    assert app.config["ALERT_PROCESSING"] == "queue"  # put back as it was
    figures = bench_alerts(app, n=40, per_call=1, concurrency=4)  # a real local server, four clients at once
    assert figures["refused"] == {} and figures["alerts_stored"] == figures["cases"] == 40 and figures["lost"] == 0


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_workers_sharing_a_flood_open_one_case_per_alert(db_url, tmp_path):
    import threading

    app, token = alert_app(db_url, tmp_path, ALERT_PROCESSING="periodic")
    client = app.test_client()
    for i in range(60):  # three alerts, twenty calls each, interleaved
        assert post(client, token, {"id": f"ups-{i % 3}", "title": f"UPS {i % 3} chạy bằng pin"}).status_code == 202
    results = []

    def work():
        with app.app_context():
            results.append(alert_processor(app.extensions["ioc"]).run())

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert sum(r.receipts for r in results) == 60 and sum(r.failed for r in results) == 0
    assert count(app, Case) == 3
    assert sorted(a.received for a in alerts_of(app)) == [20, 20, 20]


def test_an_operator_failing_in_the_fast_pass_becomes_the_cases_incident(db_url, tmp_path, monkeypatch):
    from engine.errors import OperatorError
    from engine.models import Incident
    from workflows.runtime import REGISTRY

    app, token = alert_app(db_url, tmp_path)
    real = REGISTRY.call

    def call(name, ctx, params):
        if name == "assign" and ctx.data.get("alertname") == "broken":
            raise OperatorError("the routing said no")
        return real(name, ctx, params)

    monkeypatch.setattr(REGISTRY, "call", call)
    client = app.test_client()
    answer = post(client, token, {"alerts": [{"title": "fine", "id": "a"}, {"title": "broken", "id": "b"},
                                             {"title": "fine too", "id": "c"}]})
    assert answer.status_code == 202
    assert count(app, Case) == 3 and count(app, MonitoringAlert) == 3  # the careful pass kept all three
    with app.app_context():
        assert db.session.scalar(select(AlertReceipt.processed_at)) is not None
        [incident] = db.session.scalars(select(Incident)).all()
        assert "the routing said no" in incident.message


def test_the_case_page_tells_what_the_source_said(tmp_path):
    from tests.workspace import client_of

    app, token = alert_app(f"sqlite:///{tmp_path / 'ioc.sqlite3'}", tmp_path)
    client = app.test_client()
    alert = {"id": "ddos-portal", "title": "Tấn công DDoS vào cổng dịch vụ công", "severity": "critical",
             "description": "Lưu lượng 40 Gbps", "labels": {"target": "dichvucong.daklak.gov.vn"}}
    assert post(client, token, alert).status_code == 202
    assert post(client, token, {**alert, "status": "resolved"}).status_code == 202
    [row] = alerts_of(app)
    code = case_of(app, row.case_id).code
    page = client_of(app, "cb.cadlk").get(f"/cases/{code}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Prometheus của SOC báo đã hết cảnh báo" in text and "nguồn đã báo hết cảnh báo" in text
    assert "dichvucong.daklak.gov.vn" in text
    english = client_of(app, "cb.cadlk").get(f"/cases/{code}?lang=en").get_data(as_text=True)
    assert "The SOC&#39;s Prometheus says the alert is cleared" in english or "The SOC's Prometheus says" in english
