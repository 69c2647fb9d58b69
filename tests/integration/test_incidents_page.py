"""Stuck work, end to end over HTTP: an incident made on purpose is listed, its admins are told
(inbox and an email through a real SMTP server), and it is retried from the page after the fix;
skip and cancel from the page too; every action audited and in the case's history.

The process that fails: a service task `assign` whose unit comes from the process data; started
with a unit that does not exist ("P-GONE"), it fails until the unit is corrected.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.models import HumanTask, Incident, ProcessInstance
from tests.bpmn_factory import process, service, user
from tests.integration.test_celery_worker import Inbox, free_port, start_smtp
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.admin.incidents import ShellActor, incident_admins
from workflows.admin.models import AdminAuditEntry
from workflows.models import AdminUnit, Case, Notification, User, UserRole

FRAGILE = process("fragile", [service(0, "assign", {"unit": "target_unit", "sla_hours": "8", "reminder_hours": "2"}),
                              user(1, "Xử lý")], {"officer": ["s1"]}).replace(
    'name="Service 0"><bpmn:extensionElements>',  # the step's name as drawn, and its English form
    'name="Giao đơn vị"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="name_en" value="Assign the unit"/></spiffworkflow:properties>')


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    controller = start_smtp(inbox, port)
    yield inbox, port
    controller.stop()


@pytest.fixture
def app(db_url, clock, smtp):
    _inbox, port = smtp
    app = make_workspace_app(db_url, clock, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.definitions.deploy({"fragile.bpmn": FRAGILE}, deployed_by="test")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def stuck_case(app, title: str = "Cây đổ chắn đường") -> tuple[str, int]:
    """A case whose `fragile` process fails at its service task; (case code, incident id)."""
    code = new_case(app, title=title, triage=None)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        case = db.session.scalar(select(Case).where(Case.code == code))
        # The case runs on `fragile` instead of the process its intake started.
        services.instances.cancel(case.process_instance_id, "the test runs the case on fragile", actor="test")
        row = services.instances.start("fragile", {"case_id": case.id, "target_unit": "P-GONE"}, business_key=code)
        case.process_instance_id = row.id
        db.session.commit()
        app.extensions["ioc"].enqueue_outbox()  # as the case actions do after their commit
        assert row.status == "error"
        incident = db.session.scalar(select(Incident).where(Incident.instance_id == row.id,
                                                            Incident.resolved_at.is_(None)))
        return code, incident.id


def post(client, url: str, page_url: str, **form):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form})


def test_an_incident_is_listed_its_admin_told_and_retried_from_the_page_after_the_fix(app, smtp):
    inbox, _port = smtp
    code, incident_id = stuck_case(app)

    # -- the province's administrator (no admin is bound to the ward or above it) is told: inbox and email
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        notes = db.session.scalars(select(Notification).where(Notification.user_id == admin.id,
                                                              Notification.kind == "incident")).all()
        assert [n.case_id is not None for n in notes] == [True] and code in notes[0].title
        admin_email = admin.email
    mails = [m for rcpt, m in inbox.received() if admin_email in rcpt]
    assert len(mails) == 1 and code in str(mails[0]["Subject"]), inbox.received()

    assert "không có đơn vị 'P-GONE'" in mails[0].get_body().get_content()  # the reason, in the admin's language

    client = client_of(app, "admin")
    inbox_page = client.get("/notifications/").get_data(as_text=True)
    assert f"Sự cố quy trình ở {code}: bước s0 bị lỗi" in inbox_page and "không có đơn vị &#39;P-GONE&#39;" in inbox_page
    assert f"Process incident in {code}: step s0 failed" in client.get("/notifications/?lang=en").get_data(as_text=True)

    # -- the page lists it: case (link), step id and name, the reason in the reader's language, time, state
    html = client.get("/admin/incidents?lang=vi").get_data(as_text=True)  # the language the inbox check left
    row = re.search(rf'<tr id="incident-{incident_id}".*?</tr>', html, re.S).group(0)
    assert f'href="/cases/{code}"' in row and "<code>s0</code>" in row and "Giao đơn vị" in row
    assert "P-GONE" in row and "không có đơn vị" in row, row
    english = client.get("/admin/incidents?lang=en").get_data(as_text=True)
    assert "does not exist" in english and "Assign the unit" in english and "Giao đơn vị" not in english

    # -- a wrong correction is refused with what to fix, and what was typed stays in the form
    page = f"/admin/incidents/{incident_id}"
    assert 'value="target_unit"' in client.get(page).get_data(as_text=True)  # the data's names to choose from
    refused = post(client, f"{page}/retry", page, variable="1 unit", value="P-BUON-MA-THUOT", kind="text")
    assert refused.status_code == 400
    assert 'value="P-BUON-MA-THUOT"' in refused.get_data(as_text=True)

    # -- retried before the fix: it fails again, a new incident opens (and is told again)
    again = post(client, f"{page}/retry", page, note="thử lại")
    assert again.status_code == 303
    with app.app_context():
        first = db.session.get(Incident, incident_id)
        assert (first.resolution, first.resolved_by, first.note) == ("retried", "admin", "thử lại")
        reopened = db.session.scalar(select(Incident).where(Incident.instance_id == first.instance_id,
                                                            Incident.resolved_at.is_(None)))
        assert reopened is not None
        reopened_id = reopened.id

    # -- the fix: the unit that exists now, chosen as the corrected variable; the case goes on
    page = f"/admin/incidents/{reopened_id}"
    done = post(client, f"{page}/retry", page, variable="target_unit", value="P-BUON-MA-THUOT", kind="text",
                note="đơn vị đúng")
    assert done.status_code == 303
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == code,
                                                                   ProcessInstance.process_key == "fragile"))
        assert instance.status == "running"
        assert case.responsible_unit.code == "P-BUON-MA-THUOT" and case.status == "in_progress"
        assert db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                         HumanTask.state == "open")).element_id == "s1"
        audits = db.session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == "incident.retry")
                                    .order_by(AdminAuditEntry.id)).all()
        assert [a.actor_username for a in audits] == ["admin", "admin"]
        assert audits[-1].before["state"] == "open" and audits[-1].after["state"] == "resolved"
        assert audits[-1].after["data"] == {"target_unit": "P-BUON-MA-THUOT"} and audits[-1].note == "đơn vị đúng"

    # -- nothing open any more; both stay visible under "resolved"; the case history says it was retried
    assert f'id="incident-{reopened_id}"' not in client.get("/admin/incidents").get_data(as_text=True)
    resolved = client.get("/admin/incidents?state=resolved").get_data(as_text=True)
    assert f'id="incident-{incident_id}"' in resolved and f'id="incident-{reopened_id}"' in resolved
    history = client.get(f"/cases/{code}").get_data(as_text=True)
    assert "đơn vị đúng" in history


def test_skip_and_cancel_from_the_page_need_a_note_and_are_audited(app):
    skipped_code, skipped_id = stuck_case(app, "Ổ gà trên đường")
    cancelled_code, cancelled_id = stuck_case(app, "Rác thải ven sông")
    client = client_of(app, "thietke")  # a process designer may handle incidents too
    listed = client.get("/admin/incidents").get_data(as_text=True)
    # ... and sees the case's code, not a link to the officials' case page they may not open.
    assert f"<strong>{skipped_code}</strong>" in listed and f'href="/cases/{skipped_code}"' not in listed

    page = f"/admin/incidents/{skipped_id}"
    refused = post(client, f"{page}/skip", page, note="  ")
    assert refused.status_code == 400 and "bỏ qua" in refused.get_data(as_text=True)
    assert post(client, f"{page}/skip", page, note="đã giao đơn vị bằng điện thoại").status_code == 303
    with app.app_context():
        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == skipped_code,
                                                                   ProcessInstance.process_key == "fragile"))
        assert instance.status == "running"  # the skipped assignment did not run; the next task is open
        assert db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                         HumanTask.state == "open")).element_id == "s1"
        assert db.session.get(Incident, skipped_id).resolution == "skipped"
    assert "đã giao đơn vị bằng điện thoại" in client_of(app, "admin").get(f"/cases/{skipped_code}").get_data(as_text=True)

    page = f"/admin/incidents/{cancelled_id}"
    assert post(client, f"{page}/cancel", page, note="").status_code == 400
    assert post(client, f"{page}/cancel", page, note="trùng với phản ánh khác").status_code == 303
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == cancelled_code))
        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == cancelled_code,
                                                                   ProcessInstance.process_key == "fragile"))
        assert (instance.status, case.status, case.close_reason) == ("cancelled", "closed", "cancelled")
        actions = db.session.scalars(select(AdminAuditEntry.action).where(AdminAuditEntry.actor_username == "thietke")
                                     .order_by(AdminAuditEntry.id)).all()
        assert actions == ["incident.skip", "incident.cancel"]
    history = client_of(app, "admin").get(f"/cases/{cancelled_code}?lang=vi").get_data(as_text=True)
    assert "trùng với phản ánh khác" in history and "quản trị viên đã huỷ" in history
    # Acting twice on a resolved incident changes nothing and says so.
    again = post(client, f"{page}/cancel", page, note="lần nữa")
    assert again.status_code == 303
    assert post(client, f"{page}/skip", page, note="x").status_code == 303
    with app.app_context():
        assert db.session.get(Incident, cancelled_id).resolution == "cancelled"


def test_only_administrators_and_designers_open_the_incidents_page(app):
    assert client_of(app, "admin").get("/admin/incidents").status_code == 200
    assert client_of(app, "thietke").get("/admin/incidents").status_code == 200
    assert client_of(app, "dtv1").get("/admin/incidents").status_code == 403
    assert client_of(app, "admin").get("/admin/incidents/99999999999999999999").status_code == 404
    # The system status's count of incidents leads to them.
    status = client_of(app, "admin").get("/admin/status").get_data(as_text=True)
    assert '<div class="l"><a href="/admin/incidents">' in status


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_admins_of_the_unit_or_above_are_told_before_the_province(app):
    with app.app_context():
        ward = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "P-BUON-MA-THUOT"))
        local = User(username="qt.bmt", full_name="Quản trị phường", email="qt.bmt@example.vn", unit_id=ward.id)
        local.roles.append(UserRole(role="admin", unit_id=ward.id))
        db.session.add(local)
        db.session.commit()
    code, _incident_id = stuck_case(app)
    with app.app_context():
        told = db.session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                  .where(Notification.kind == "incident")).all()
        assert told == ["qt.bmt"]  # the ward's administrator, not the province's
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert [u.username for u in incident_admins(db.session, case)] == ["qt.bmt"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cancelling_a_side_process_of_a_case_leaves_the_case_open(app):
    code = new_case(app, title="Đèn đường hỏng", triage=None)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        case = db.session.scalar(select(Case).where(Case.code == code))
        side = services.instances.start("fragile", {"case_id": case.id, "target_unit": "P-GONE"}, business_key=code)
        db.session.commit()
        incident = db.session.scalar(select(Incident).where(Incident.instance_id == side.id))
        services.incidents.cancel(incident.id, ShellActor("admin"), "not needed")
        db.session.expire_all()
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert db.session.get(ProcessInstance, side.id).status == "cancelled"
        assert case.status == "received" and case.close_reason is None  # its own process goes on
