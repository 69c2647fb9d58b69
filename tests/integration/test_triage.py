"""Triage at the IOC through the real services and pages: units and categories from the live lists, the
classification written to the case, the form filled from the case beside its photos and map, the triage
deadline with its reminder and escalation, and a rejection's reason the citizen reads."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.errors import DeploymentError, FormError
from engine.models import HumanTask, Incident
from engine.registry import OperatorContext
from tests.conftest import BPMN_DIR
from tests.integration.test_field_report import intake, notified, only_task, open_tasks, sweep
from tests.media_samples import png
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, open_task
from webapp.extensions import db
from workflows.models import AdminUnit, Case, CaseEvent, Category
from workflows.open311_service import Open311Service
from workflows.runtime import REGISTRY

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _complete(services, session, case, **data):
    task = only_task(session, case, "triage")
    services.cases.complete_task(task.id, data, actor="dtv1")


# ---------------------------------------------------------------------------- the live lists


def test_triage_takes_a_unit_and_a_category_only_from_the_live_lists(services, session):
    case = intake(services, category="traffic")
    for bad in ({"override_unit": "KHONG-CO"}, {"override_unit": "DLK"},  # no such unit; a unit with no officer
                {"category": "no_such"}):
        with pytest.raises(FormError) as refused:
            _complete(services, session, case, decision="accept", **bad)
        assert set(refused.value.fields) == set(bad), refused.value.fields
        session.rollback()
        assert only_task(session, case, "triage").state == "open"  # nothing done, the task waits
    # A category an administrator retired is refused from then on.
    session.get(Category, "tourism").active = False
    session.commit()
    with pytest.raises(FormError):
        _complete(services, session, case, decision="accept", category="tourism")
    session.rollback()
    _complete(services, session, case, decision="accept", override_unit="P-TAN-LAP", category="sanitation")
    assert only_task(session, case, "handle").candidate_unit == "P-TAN-LAP"


def test_the_hotline_reroute_takes_a_unit_from_the_list_too(services, session):
    definition = services.definitions.compiled(services.definitions.latest("field_report"))
    fields = {f.name: f for f in definition.user_tasks["triage"].form}
    assert (fields["override_unit"].type, fields["override_unit"].source) == ("choice", "units")
    assert (fields["category"].type, fields["category"].source, fields["category"].choices) == ("choice", "categories", ())
    text = (BPMN_DIR / "hotline_call.bpmn").read_text(encoding="utf-8")
    assert 'name="field.override_unit" value="choice@units! |' in text


def test_a_deployment_naming_an_unknown_list_is_refused(services):
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    files["field_report.bpmn"] = files["field_report.bpmn"].replace("choice@units", "choice@donvi")
    with pytest.raises(DeploymentError) as refused:
        services.definitions.deploy(files, deployed_by="designer")
    problems = [(p.element_id, str(p.message)) for p in refused.value.problems]
    assert any(element == "triage" and "donvi" in message for element, message in problems), problems


def test_a_unit_typed_in_a_designers_free_text_field_is_not_blamed_on_the_routing_table(services, session):
    # A designer's own form may still take a unit as text: a wrong one is an incident that says where it came from.
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    files["field_report.bpmn"] = files["field_report.bpmn"].replace('"choice@units |', '"text |')
    services.definitions.deploy(files, deployed_by="designer")
    session.commit()
    case = intake(services)
    _complete(services, session, case, decision="accept", override_unit="KHONG-CO")
    incident = session.scalar(select(Incident).where(Incident.instance_id == case.process_instance_id))
    assert incident.element_id == "assign_task"
    assert "chosen in the form" in incident.message and "routing table" not in incident.message


# ---------------------------------------------------------------------------- written to the case


def test_the_classification_chosen_in_triage_is_the_cases_with_its_history(services, session):
    case = intake(services, category="traffic")
    assert (case.priority, case.category_code) == ("normal", "traffic")
    _complete(services, session, case, decision="accept", priority="high", category="sanitation")
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.priority, case.category_code) == ("high", "sanitation")
    handle = only_task(session, case, "handle")  # the task lists filter and sort on these copies
    assert (handle.case_category, handle.case_priority_rank) == ("sanitation", 0)
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "reclassified"))
    assert event.actor == "dtv1" and event.public is False
    assert event.detail == {"priority": ["normal", "high"], "category": ["traffic", "sanitation"]}
    # The same choices again change nothing and write no history line.
    assert session.query(CaseEvent).filter_by(case_id=case.id, kind="reclassified").count() == 1


# ---------------------------------------------------------------------------- the triage deadline


def _deadline(session, at: datetime, hours: float) -> datetime:
    """What the `deadline` operator (working time) gives for `hours` from `at`."""
    ctx = OperatorContext(session=session, instance_id=0, business_key=None, element_id="-", task_id="-", data={},
                          now=at, emit=lambda *a, **k: None, audit=lambda *a, **k: None)
    return datetime.fromisoformat(REGISTRY.get("deadline").func(ctx, hours)["due_at"])


def test_a_case_waiting_for_triage_is_due_reminded_then_escalated(services, session, session_factory, clock):
    received = clock.now()
    case = intake(services)  # normal priority: 4 working hours, the operators reminded 1 hour before
    triage = only_task(session, case, "triage")
    due = _deadline(session, received, 4)
    assert triage.due_at == due and session.get(Case, case.id).due_at == due
    urgent = intake(services, priority="high", title="Cây đổ chắn đường")
    assert only_task(session, urgent, "triage").due_at == _deadline(session, received, 2) < due
    # Open311 gives the triage deadline as expected_datetime until routing.
    info = Open311Service(session, services.cases, clock).request(case.code)
    assert info.expected_datetime == due

    clock.set(_deadline(session, received, 3))
    clock.advance(seconds=1)
    sweep(session_factory, clock, session)
    session.expire_all()
    assert notified(session, case, "reminder") == ["dtv1", "dtv2"] and notified(session, case, "overdue") == []
    clock.set(due)
    clock.advance(seconds=1)
    sweep(session_factory, clock, session)
    session.expire_all()
    assert notified(session, case, "overdue") == ["tp.ioc"]
    assert set(open_tasks(session, case)) == {"triage"}  # still the operators' to do
    # Routing sets the unit's deadline instead.
    _complete(services, session, case, decision="accept")
    session.expire_all()
    handle = only_task(session, case, "handle")
    assert session.get(Case, case.id).due_at == handle.due_at > due


# ---------------------------------------------------------------------------- rejection


def test_a_rejection_needs_a_reason_which_the_citizen_reads_without_personal_data(services, session):
    case = intake(services, reporter_name="Nguyễn Văn An", reporter_phone="0912345678")
    with pytest.raises(FormError) as refused:
        _complete(services, session, case, decision="reject", note="Trùng lặp")
    assert set(refused.value.fields) == {"reject_reason"}
    session.rollback()
    _complete(services, session, case, decision="reject",
              reject_reason="Đã có phản ánh PA-2026-000001 cùng nội dung; ông Nguyễn Văn An gọi 0912345678.")
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.status == "rejected" and case.close_note.startswith("Đã có phản ánh PA-2026-000001")
    assert "0912345678" not in case.close_note and "Nguyễn Văn An" not in case.close_note
    info = Open311Service(session, services.cases, clock=services.cases.clock).request(case.code)
    assert str(info.status_notes.params["reason"]) == case.close_note


# ---------------------------------------------------------------------------- the pages


@pytest.fixture
def app(db_url, clock, tmp_path):
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_triage_page_offers_the_lists_starts_from_the_case_and_shows_it(app):
    code = new_case(app, category="sanitation", triage=None, priority="high",
                    description="Rác tồn đọng trước chợ, bốc mùi.")
    with app.app_context():  # the citizen's photo
        app.extensions["ioc"].services(db.session).cases.add_attachment(code, "rac.png", "image/png", png(),
                                                                          uploaded_by="citizen")
    task = open_task(app, code)
    operator = client_of(app, "dtv1")
    page = operator.get(f"/tasks/{task.id}").get_data(as_text=True)
    # The unit is a select over the live list, in the reader's language; the form starts with the case's values.
    units = re.search(r'<select id="f-override_unit".*?</select>', page, re.S).group(0)
    assert '<option value="P-TAN-LAP" >Phường Tân Lập (P-TAN-LAP)</option>' in units
    assert 'value="DLK"' not in units  # no officer there: nobody could take the case
    assert re.search(r'<option value="high" selected>', page)
    assert re.search(r'<option value="sanitation" selected>Vệ sinh môi trường</option>', page)
    # Beside the form: the description, the photos and the map of the case.
    assert "Rác tồn đọng trước chợ, bốc mùi." in page and 'id="case-map"' in page
    assert re.search(rf'<a class="shot" href="/cases/{code}/attachments/\d+"', page) and 'alt="rac.png"' in page
    with app.app_context():
        name_en = db.session.scalar(select(AdminUnit.name_en).where(AdminUnit.code == "P-TAN-LAP"))
    operator.post("/language", data={"lang": "en", "csrf_token": csrf_of(page)})
    assert f">{name_en} (P-TAN-LAP)</option>" in operator.get(f"/tasks/{task.id}").get_data(as_text=True)
    operator.post("/language", data={"lang": "vi", "csrf_token": csrf_of(page)})

    # A unit not in the list is refused by the server; the form comes back as typed.
    token = csrf_of(page)
    refused = operator.post(f"/tasks/{task.id}/complete", data={
        "csrf_token": token, "decision": "accept", "priority": "low", "category": "sanitation",
        "override_unit": "KHONG-CO", "note": "Ghi chú đã gõ"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "không có trong danh sách" in body and "Ghi chú đã gõ" in body
    assert re.search(r'<option value="low" selected>', body)
    # A rejection without a reason likewise.
    refused = operator.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "decision": "reject",
                                                               "note": "Trùng"})
    assert refused.status_code == 422 and "Trùng" in refused.get_data(as_text=True)
    assert open_task(app, code).state == "open"
    done = operator.post(f"/tasks/{task.id}/complete", data={
        "csrf_token": token, "decision": "accept", "priority": "normal", "category": "sanitation",
        "override_unit": "P-TAN-LAP"})
    assert done.status_code == 303
    assert open_task(app, code).candidate_unit == "P-TAN-LAP"
    # The case's history says who changed what.
    history = operator.get(f"/cases/{code}").get_data(as_text=True)
    line = history[history.index("Thay đổi lĩnh vực / mức độ ưu tiên khi phân loại"):][:600]
    assert "Cao Thu Lan" in line and "cao → bình thường" in line


def test_the_citizen_reads_the_reason_of_a_rejection_on_the_tracking_page(app):
    code = new_case(app, triage=None)
    task = open_task(app, code)
    operator = client_of(app, "dtv1")
    token = csrf_of(operator.get(f"/tasks/{task.id}").get_data(as_text=True))
    done = operator.post(f"/tasks/{task.id}/complete", data={
        "csrf_token": token, "decision": "reject", "reject_reason": "Không thuộc phạm vi tiếp nhận của IOC."})
    assert done.status_code == 303
    page = app.test_client().get(f"/track/{code}").get_data(as_text=True)
    assert "Không thuộc phạm vi tiếp nhận của IOC." in page
    with app.app_context():
        assert db.session.scalar(select(HumanTask.state).where(HumanTask.id == task.id)) == "completed"
