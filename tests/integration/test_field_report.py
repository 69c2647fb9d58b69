"""The real field_report process of bpmn/, end to end, on SQLite and PostgreSQL.

Time is a FrozenClock the test moves; the real timer sweep fires the timers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.models import AuditEvent, HumanTask, OutboxMessage
from tests.conftest import BPMN_DIR
from tests.working_time import advance_working, local
from workflows.case_service import IntakeRequest
from workflows.errors import IntakeError
from workflows.models import Case, CaseEvent, Notification, Publication, User
from workflows.runtime import make_sweep


def intake(services, category="traffic", unit="P-BUON-MA-THUOT", **extra):
    """Open a field report and return its case."""
    request = IntakeRequest(channel="field_report", category=category, admin_unit=unit,
                            title=extra.pop("title", "Ổ gà trên đường Lê Duẩn"),
                            description=extra.pop("description", "Ổ gà sâu, nguy hiểm cho xe máy."),
                            reporter_name=extra.pop("reporter_name", "Nguyễn Văn An"),
                            reporter_phone=extra.pop("reporter_phone", "0912345678"), **extra)
    case, created = services.cases.intake(request)
    assert created
    return case


def open_tasks(session, case):
    """Open tasks of a case, by element id."""
    rows = session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                   HumanTask.state == "open")).all()
    return {t.element_id: t for t in rows}


def only_task(session, case, element_id):
    tasks = open_tasks(session, case)
    assert set(tasks) == {element_id}, f"expected only {element_id}, open: {sorted(tasks)}"
    return tasks[element_id]


def sweep(session_factory, clock, session):
    """Run the real timer sweep once at the clock's time (after the test's own reads end)."""
    session.rollback()  # SQLite: our read transaction holds the write lock the sweep needs
    return make_sweep(session_factory, clock).run_once()


def notified(session, case, kind):
    """Usernames notified for a case with a given kind."""
    return sorted(session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                  .where(Notification.case_id == case.id, Notification.kind == kind)))


def triage(services, session, case, **data):
    task = only_task(session, case, "triage")
    assert (task.candidate_role, task.candidate_unit) == ("operator", "IOC-DLK")
    services.cases.complete_task(task.id, {"decision": "accept", **data}, actor="dtv1")


def test_intake_gives_a_case_code_and_a_triage_task(services, session):
    case = intake(services)
    assert case.code.startswith("PA-2026-") and len(case.code) == len("PA-2026-000001")
    assert case.status == "received"
    task = only_task(session, case, "triage")
    assert task.title == "Phân loại phản ánh"
    assert {f["name"] for f in task.form["fields"]} >= {"decision", "priority", "category"}


def test_same_idempotency_key_returns_the_first_case(services, session):
    first = intake(services, idempotency_key="app-123")
    again, created = services.cases.intake(IntakeRequest(
        channel="field_report", category="traffic", admin_unit="P-BUON-MA-THUOT", title="khác",
        idempotency_key="app-123"))
    assert not created and again.id == first.id
    assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_bad_intake_says_what_to_fix_and_stores_nothing(services, session):
    with pytest.raises(IntakeError) as err:
        services.cases.intake(IntakeRequest(channel="field_report", category="no_such", admin_unit="SXD",
                                            title="", reporter_phone="abc"))
    assert set(err.value.fields) == {"category", "admin_unit", "title", "reporter_phone"}
    assert session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("category, unit, expected", [
    ("traffic", "P-BUON-MA-THUOT", "P-BUON-MA-THUOT"),  # the ward handles its roads
    ("public_security", "P-TUY-HOA", "CA-DLK"),  # provincial police
    ("health", "X-HOA-PHU", "SYT"),
    ("street_lighting", "X-HOA-PHU", "SXD"),  # rural communes have no lighting crew
    ("street_lighting", "P-TAN-LAP", "P-TAN-LAP"),
])
def test_routing_by_the_decision_table(services, session, category, unit, expected):
    case = intake(services, category=category, unit=unit)
    triage(services, session, case)
    task = only_task(session, case, "handle")
    assert (task.candidate_role, task.candidate_unit) == ("officer", expected)
    session.refresh(case)
    assert case.responsible_unit.code == expected and case.status == "in_progress"


def test_reminder_then_two_escalations_by_timer(services, session, session_factory, clock):
    # The clock starts on Monday 5 January 2026 at 08:00 in Vietnam; deadlines count working hours
    # (07:00–11:30, 13:30–17:00, Monday to Friday: workflows/calendar).
    case = intake(services)
    triage(services, session, case, priority="normal")  # normal: 72 h, reminder 12 h before, 24 h per level
    handle = only_task(session, case, "handle")
    assert clock.now() == local(2026, 1, 5, 8)
    # 72 working hours: 7 on Monday, then eight more working days (two weekends skipped), 1 on Friday the 16th
    assert handle.due_at == local(2026, 1, 16, 8)

    clock.set(local(2026, 1, 14, 14) - timedelta(seconds=1))  # 60 working hours: 12 before the deadline
    assert sweep(session_factory, clock, session) == 0  # nothing due yet
    assert notified(session, case, "reminder") == []

    clock.advance(seconds=2)
    assert sweep(session_factory, clock, session) == 1
    session.expire_all()
    assert notified(session, case, "reminder") == ["cb.buonmathuot"]
    assert set(open_tasks(session, case)) == {"handle"}  # the reminder does not take the task away

    clock.set(local(2026, 1, 16, 8, 0, 1))
    sweep(session_factory, clock, session)
    session.expire_all()
    l1 = only_task(session, case, "handle_l1")
    assert (l1.candidate_role, l1.candidate_unit) == ("unit_head", "P-BUON-MA-THUOT")
    assert session.get(HumanTask, handle.id).state == "cancelled"
    assert notified(session, case, "leader_alert") == ["ld.buonmathuot"]
    session.refresh(case)
    assert (case.status, case.escalation_level) == ("escalated", 1)
    # 24 working hours from Friday 08:00: 7 on Friday, 8 on Monday, 8 on Tuesday, 1 on Wednesday
    assert l1.due_at == case.due_at == local(2026, 1, 21, 8, 0, 1)

    clock.set(local(2026, 1, 21, 8, 0, 2))
    sweep(session_factory, clock, session)
    session.expire_all()
    l2 = only_task(session, case, "handle_l2")
    # A ward's case goes up to the province, where the department of its field (traffic → SXD) takes it.
    assert (l2.candidate_role, l2.candidate_unit) == ("unit_head", "SXD")
    leaders = notified(session, case, "leader_alert")
    assert "ct.ubnd" in leaders and "pct.ubnd" in leaders and "ld.buonmathuot" in leaders
    session.refresh(case)
    assert case.escalation_level == 2
    kinds = session.scalars(select(AuditEvent.kind).where(AuditEvent.business_key == case.code)).all()
    assert kinds.count("incident") == 0


def test_high_priority_notifies_leaders_at_once(services, session):
    case = intake(services, category="public_security", unit="P-TUY-HOA")
    triage(services, session, case, priority="high")
    leaders = notified(session, case, "leader_alert")
    assert "ld.tuyhoa" in leaders and "ct.ubnd" in leaders
    emails = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email")).all()
    assert {m.payload["to"] for m in emails} >= {"ld.tuyhoa@demo.ioc-daklak.vn"}


def _resolve(services, session, case, element="handle", text="Đã vá ổ gà. Liên hệ 0912345678 (Nguyễn Văn An).",
             actor="cb.buonmathuot"):
    """Complete the handling task with a resolution (the officer's `handle` chooses the outcome too)."""
    task = only_task(session, case, element)
    outcome = {"outcome": "resolved"} if element == "handle" else {}  # the escalated tasks resolve, nothing else
    services.cases.complete_task(task.id, {**outcome, "resolution": text}, actor=actor)


def test_publication_reopen_by_message_and_close_by_silence(services, session, session_factory, clock):
    case = intake(services)
    triage(services, session, case)
    _resolve(services, session, case)
    session.refresh(case)
    assert case.status == "published" and case.resolution.startswith("Đã vá ổ gà")
    pub = session.get(Publication, case.id)
    # Personal data of the reporter never reaches the public record.
    assert "0912345678" not in pub.resolution and "Nguyễn Văn An" not in pub.resolution
    assert pub.unit_name == "Phường Buôn Ma Thuột"
    assert open_tasks(session, case) == {}

    # The citizen says it was not resolved: the BPMN message reopens the case with a new deadline.
    clock.advance(days=1)
    services.cases.citizen_feedback(case.code, satisfied=False, comment="Ổ gà vẫn còn")
    session.refresh(case)
    assert case.status == "in_progress" and case.reopen_count == 1
    assert session.get(Publication, case.id).withdrawn_at is not None
    handle = only_task(session, case, "handle")
    assert clock.now() == local(2026, 1, 6, 8)
    assert handle.due_at == local(2026, 1, 19, 8)  # 72 working hours from Tuesday 08:00, two weekends skipped
    events = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.id)).all()
    assert "reopened" in events

    # Resolved again; this time the citizen stays silent: the feedback window closes it.
    _resolve(services, session, case, text="Đã thảm lại mặt đường.")
    clock.advance(days=7, seconds=1)
    sweep(session_factory, clock, session)
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.status, case.close_reason) == ("closed", "no_feedback")
    view = services.instances.view(case.process_instance_id)
    assert view.status == "completed"


def test_satisfied_citizen_closes_the_case(services, session):
    case = intake(services)
    triage(services, session, case)
    _resolve(services, session, case)
    services.cases.citizen_feedback(case.code, satisfied=True)
    session.refresh(case)
    assert (case.status, case.close_reason) == ("closed", "satisfied")


def test_rejected_at_triage(services, session):
    case = intake(services)
    task = only_task(session, case, "triage")
    services.cases.complete_task(task.id, {"decision": "reject", "reject_reason": "Trùng lặp"}, actor="dtv1")
    session.refresh(case)
    assert (case.status, case.close_note) == ("rejected", "Trùng lặp")
    assert open_tasks(session, case) == {}


def test_an_operator_failure_becomes_an_incident_and_loses_no_work(services, session):
    # A designer's routing table names a unit that does not exist: assign fails at run time.
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    files["field_report_routing.dmn"] = files["field_report_routing.dmn"].replace('"SYT"', '"SO-KHONG-CO"')
    services.definitions.deploy(files, deployed_by="designer")
    session.commit()
    case = intake(services, category="health", unit="X-HOA-PHU")
    triage(services, session, case)
    session.expire_all()
    view = services.instances.view(case.process_instance_id)
    assert view.status == "error" and view.open_tasks == []
    assert any("unit 'SO-KHONG-CO' does not exist" in m for m in view.incidents), view.incidents
    # The operator's completion is kept (it was done), and nothing half-written by assign remains.
    triage_row = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code,
                                                        HumanTask.element_id == "triage"))
    assert (triage_row.state, triage_row.completed_by) == ("completed", "dtv1")
    session.refresh(case)
    assert case.responsible_unit_id is None and case.status == "received"


def test_a_case_reopened_too_often_goes_to_people(services, session):
    from workflows.operators import MAX_REOPENS

    case = intake(services)
    triage(services, session, case)
    _resolve(services, session, case)
    case.reopen_count = MAX_REOPENS
    session.commit()
    services.cases.citizen_feedback(case.code, satisfied=False, comment="Vẫn chưa sửa")
    view = services.instances.view(case.process_instance_id)
    assert view.status == "error"
    assert any(f"reopened {MAX_REOPENS} times" in m for m in view.incidents), view.incidents
    session.refresh(case)
    assert case.reopen_count == MAX_REOPENS


def test_incident_reasons_are_kept_translatable(services, session):
    from workflows.operators import MAX_REOPENS

    case = intake(services)
    triage(services, session, case)
    _resolve(services, session, case)
    case.reopen_count = MAX_REOPENS
    session.commit()
    services.cases.citizen_feedback(case.code, satisfied=False)
    (reason,) = services.instances.view(case.process_instance_id).incidents
    assert reason.msgid.startswith("case %(code)s has been reopened %(count)s times")
    assert reason.params == {"code": case.code, "count": MAX_REOPENS}


def test_older_data_with_districts_escalates_to_the_district(services, session, session_factory, clock):
    """Units nest to any depth: a commune under a (pre-2025) district goes up to the district."""
    from workflows.models import AdminUnit, UserRole

    province = session.scalar(select(AdminUnit).where(AdminUnit.code == "DLK"))
    district = AdminUnit(code="H-CU-MGAR", name="Huyện Cư M'gar (trước 2025)", name_en="Cư M'gar District",
                         kind="district", parent=province)
    commune = AdminUnit(code="X-QUANG-PHU-OLD", name="Xã Quảng Phú (trước 2025)", name_en="Quảng Phú Commune",
                        kind="commune", parent=district)
    session.add_all([district, commune])
    for username, role, unit in [("cb.quangphu", "officer", commune), ("tp.quangphu", "unit_head", commune),
                                 ("ld.cumgar", "leader", district), ("tp.cumgar", "unit_head", district)]:
        session.add(User(username=username, full_name=username, email=f"{username}@demo.ioc-daklak.vn",
                         unit=unit, roles=[UserRole(role=role, unit=unit)]))
    session.commit()

    case = intake(services, category="traffic", unit="X-QUANG-PHU-OLD")
    triage(services, session, case)
    assert only_task(session, case, "handle").candidate_unit == "X-QUANG-PHU-OLD"
    advance_working(clock, 72, seconds=1)
    sweep(session_factory, clock, session)
    advance_working(clock, 24, seconds=1)
    sweep(session_factory, clock, session)
    session.expire_all()
    l2 = only_task(session, case, "handle_l2")
    assert (l2.candidate_role, l2.candidate_unit) == ("unit_head", "H-CU-MGAR")
    assert "ld.cumgar" in notified(session, case, "leader_alert")


def _return(services, session, case, reason="Không thuộc thẩm quyền của phường; đề nghị chuyển Phường Tân Lập."):
    task = only_task(session, case, "handle")
    services.cases.complete_task(task.id, {"outcome": "returned", "resolution": reason}, actor="cb.buonmathuot")


def test_the_officer_returns_a_case_that_is_not_the_units_and_triage_reroutes_it(services, session):
    case = intake(services)
    triage(services, session, case)
    assert only_task(session, case, "handle").candidate_unit == "P-BUON-MA-THUOT"
    _return(services, session, case, reason="Không thuộc địa bàn phường. Người báo: Nguyễn Văn An, 0912345678.")

    session.expire_all()
    case = session.get(Case, case.id)
    again = only_task(session, case, "triage")  # back to the IOC's operators, with a new triage deadline
    assert (case.status, case.responsible_unit_id, case.due_at) == ("returned", None, again.due_at)
    assert (again.candidate_role, again.candidate_unit) == ("operator", "IOC-DLK")
    assert notified(session, case, "returned") == ["dtv1", "dtv2"]
    note = session.scalar(select(Notification).where(Notification.case_id == case.id, Notification.kind == "returned"))
    # Kept as its message, shown in each reader's language (the English text is the fallback column).
    assert note.message["title"]["msgid"] == "Case %(code)s was returned: %(title)s"
    assert note.title.startswith(f"Case {case.code} was returned: ")
    assert "0912345678" not in note.body and "Nguyễn Văn An" not in note.body
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "returned"))
    assert event.public is False and event.detail["unit"] == "P-BUON-MA-THUOT"
    assert event.detail["reason"].startswith("Không thuộc địa bàn phường.")
    assert "0912345678" not in event.detail["reason"] and "Nguyễn Văn An" not in event.detail["reason"]

    # The operator names the unit this time: it wins over the table.
    triage(services, session, case, override_unit="P-TAN-LAP")
    handle = only_task(session, case, "handle")
    assert (handle.candidate_role, handle.candidate_unit) == ("officer", "P-TAN-LAP")
    session.refresh(case)
    assert case.responsible_unit.code == "P-TAN-LAP" and case.status == "in_progress"

    # That officer chooses the outcome again (the return reset it): resolved, not returned again.
    services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Đã sửa đèn."}, actor="cb.tanlap")
    session.refresh(case)
    assert case.status == "published" and open_tasks(session, case) == {}


def test_after_a_return_a_triage_without_a_unit_routes_by_the_table_again(services, session):
    case = intake(services, category="health", unit="X-HOA-PHU")
    triage(services, session, case, override_unit="P-TAN-LAP")
    assert only_task(session, case, "handle").candidate_unit == "P-TAN-LAP"
    _return(services, session, case)
    triage(services, session, case)  # no unit named this time: the earlier choice does not stick
    assert only_task(session, case, "handle").candidate_unit == "SYT"


def test_triage_naming_a_unit_routes_to_it_on_the_first_pass(services, session):
    case = intake(services, category="traffic", unit="P-BUON-MA-THUOT")
    triage(services, session, case, override_unit="P-TAN-LAP")
    task = only_task(session, case, "handle")
    assert (task.candidate_role, task.candidate_unit) == ("officer", "P-TAN-LAP")
    session.refresh(case)
    assert case.responsible_unit.code == "P-TAN-LAP"


def test_triage_naming_a_unit_that_does_not_exist_is_refused_on_the_form(services, session):
    from engine.errors import FormError

    case = intake(services)
    with pytest.raises(FormError) as refused:  # units are chosen from the live list (tests/integration/test_triage.py)
        triage(services, session, case, override_unit="KHONG-CO")
    assert set(refused.value.fields) == {"override_unit"}
    session.rollback()
    assert only_task(session, case, "triage").state == "open"
    session.refresh(case)
    assert case.responsible_unit_id is None and case.status == "received"


# ------------------------------------------------------------------ the outcome, and the head's review
def test_an_empty_outcome_is_refused_and_the_task_stays_open(services, session):
    from engine.errors import FormError

    case = intake(services)
    triage(services, session, case)
    handle = only_task(session, case, "handle")
    assert next(f for f in handle.form["fields"] if f["name"] == "outcome")["required"] is True
    for data in ({"resolution": "Đã vá ổ gà."}, {"outcome": "", "resolution": "Đã vá ổ gà."}):
        with pytest.raises(FormError) as err:
            services.cases.complete_task(handle.id, data, actor="cb.buonmathuot")
        assert err.value.fields == {"outcome": "required"}
        session.rollback()
    session.expire_all()
    assert only_task(session, case, "handle").state == "open"
    assert session.get(Case, case.id).status == "in_progress"
    # Nothing in the process stands in for the officer's choice: the start data holds no outcome.
    assert services.instances.view(case.process_instance_id).data["outcome"] == ""


def _review(services, session, case, decision, note="", actor="tp.buonmathuot"):
    task = only_task(session, case, "review")
    services.cases.complete_task(task.id, {"review_decision": decision, "review_note": note}, actor=actor)


def _events(session, case, *kinds):
    return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(kinds))
                           .order_by(CaseEvent.id)).all()


def test_a_high_priority_result_is_reviewed_refused_back_to_the_officer_then_approved_and_published(
        services, session, clock):
    from engine.errors import FormError
    from workflows.access import AccessService
    from workflows.review import review_context

    case = intake(services)
    triage(services, session, case, priority="high")
    _resolve(services, session, case, text="Đã đặt biển cảnh báo.")
    review = only_task(session, case, "review")
    assert (review.title, review.candidate_role, review.candidate_unit) == (
        "Duyệt kết quả xử lý", "unit_head", "P-BUON-MA-THUOT")
    assert review.due_at is not None and review.due_at > clock.now()
    # Nothing is recorded or published before the head says so.
    session.refresh(case)
    assert (case.status, case.resolution) == ("in_progress", None) and session.get(Publication, case.id) is None
    # The head has it in their task list like any other task, and was told of it.
    head = AccessService(session).actor(session.scalar(select(User.id).where(User.username == "tp.buonmathuot")))
    assert review.id in [row.task_id for row in services.tasks.page(head, "unit").rows]
    assert "tp.buonmathuot" in notified(session, case, "task_created")
    shown = review_context(session, case.code, review.form)
    assert shown.resolution == "Đã đặt biển cảnh báo." and shown.refusals == []

    # Refusing needs a note.
    with pytest.raises(FormError) as err:
        _review(services, session, case, "refuse")
    assert set(err.value.fields) == {"review_note"}
    session.rollback()
    assert only_task(session, case, "review").state == "open"

    _review(services, session, case, "refuse", note="Chưa vá, mới đặt biển. Cần vá trong hôm nay.")
    handle = only_task(session, case, "handle")
    assert (handle.candidate_role, handle.candidate_unit) == ("officer", "P-BUON-MA-THUOT")
    assert "cb.buonmathuot" in notified(session, case, "task_created")
    (refused,) = _events(session, case, "review_refused")
    assert refused.public is False and refused.detail["note"] == "Chưa vá, mới đặt biển. Cần vá trong hôm nay."
    notes = review_context(session, case.code, handle.form).refusals
    assert [n.note for n in notes] == ["Chưa vá, mới đặt biển. Cần vá trong hôm nay."]
    session.refresh(case)
    assert case.status == "in_progress" and session.get(Publication, case.id) is None
    # The officer chooses the outcome again: the refusal left none behind.
    assert services.instances.view(case.process_instance_id).data["outcome"] == ""

    _resolve(services, session, case, text="Đã vá ổ gà bằng bê tông nhựa.")
    _review(services, session, case, "approve")
    session.refresh(case)
    assert (case.status, case.resolution) == ("published", "Đã vá ổ gà bằng bê tông nhựa.")
    assert session.get(Publication, case.id).resolution == "Đã vá ổ gà bằng bê tông nhựa."
    assert [e.kind for e in _events(session, case, "review_requested", "review_refused", "review_approved")] == [
        "review_requested", "review_refused", "review_requested", "review_approved"]
    assert not any(e.public for e in _events(session, case, "review_requested", "review_refused", "review_approved"))


def test_a_normal_priority_result_is_published_without_review(services, session):
    case = intake(services)
    triage(services, session, case, priority="normal")
    _resolve(services, session, case)
    session.refresh(case)
    assert case.status == "published"
    reviews = session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                      HumanTask.element_id == "review")).all()
    assert reviews == [] and _events(session, case, "review_requested") == []


def with_review_row(category: str, unit: str) -> str:
    """field_report_review.dmn with a first row turning review on for one category and unit."""
    import re

    text = (BPMN_DIR / "field_report_review.dmn").read_text(encoding="utf-8")
    first = re.search(r'<rule id="publication_review_rule_1">.*?</rule>', text, re.S).group(0)
    cells = iter([f'"{category}"', f'"{unit}"', "-"])
    row = re.sub(r"(<inputEntry [^>]*>\s*<text>)[^<]*(</text>)", lambda m: m.group(1) + next(cells) + m.group(2),
                 first.replace("publication_review_rule_1", "publication_review_rule_0"))
    return text.replace(first, row + "\n    " + first)


def test_a_table_row_turns_review_on_for_one_category_and_unit(services, session):
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    files["field_report_review.dmn"] = with_review_row("traffic", "P-BUON-MA-THUOT")
    services.definitions.deploy(files, deployed_by="designer")
    session.commit()
    reviewed, other_unit, other_category = (
        intake(services), intake(services, unit="P-TAN-LAP"), intake(services, category="sanitation"))
    for case in (reviewed, other_unit, other_category):
        triage(services, session, case, priority="normal")
        task = only_task(session, case, "handle")
        services.cases.complete_task(task.id, {"outcome": "resolved", "resolution": "Đã xử lý."},
                                     actor="cb.tanlap" if case is other_unit else "cb.buonmathuot")
    assert only_task(session, reviewed, "review").candidate_unit == "P-BUON-MA-THUOT"
    _review(services, session, reviewed, "approve")  # approving needs no note
    session.refresh(reviewed)
    assert reviewed.status == "published"
    for case in (other_unit, other_category):
        session.refresh(case)
        assert case.status == "published" and open_tasks(session, case) == {}


def test_an_escalated_result_is_published_without_the_heads_review(services, session, session_factory, clock):
    """The head's own result (handle_l1) is not sent back to the head: a high-priority case escalated past the
    officer's deadline is published when the head resolves it."""
    case = intake(services)
    triage(services, session, case, priority="high")
    advance_working(clock, 24, seconds=1)  # past the high-priority deadline: the head's task
    sweep(session_factory, clock, session)
    session.expire_all()
    _resolve(services, session, case, element="handle_l1", text="Đã chỉ đạo vá xong.", actor="tp.buonmathuot")
    session.refresh(case)
    assert case.status == "published" and open_tasks(session, case) == {}
    assert _events(session, case, "review_requested") == []
