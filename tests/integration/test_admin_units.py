"""Administrative units over time (workflows/admin/units.py) on SQLite and PostgreSQL, with the real process.

Wards merge into others (Vietnam's 2025 reform) on an effective day in Asia/Ho_Chi_Minh: the open
cases and tasks follow to the successor, closed cases keep their unit, later tasks of the running
process go to the successor, and a merger dated ahead waits for its day in the timer sweep.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask, OutboxMessage
from tests.integration.test_field_report import intake, only_task
from workflows.access import AccessService
from workflows.admin.models import AdminAuditEntry
from workflows.admin.unit_models import AdminUnitChange
from workflows.admin.units import NewUnit, UnitAdmin, UnitChangeError
from workflows.models import AdminUnit, Case, CaseEvent, SavedFilter, User, UserRole
from workflows.reference import places
from workflows.runtime import make_sweep

TODAY = date(2026, 1, 5)  # the FrozenClock starts at 2026-01-05 01:00 UTC, 08:00 in Vietnam


@pytest.fixture
def admin(services, session, clock):
    return UnitAdmin(session, clock)


@pytest.fixture
def actor(session, reference_data):
    """The demo's administrator, as the access rules see them."""
    user = session.scalar(select(User).where(User.username == "admin"))
    return AccessService(session).actor(user.id)


def unit(session, code):
    return session.scalar(select(AdminUnit).where(AdminUnit.code == code))


def roles_of(session, username):
    return sorted((r.role, r.unit.code) for r in session.scalars(
        select(UserRole).join(User, User.id == UserRole.user_id).where(User.username == username)))


def accepted_case(services, session, place, **extra):
    """A street-lighting report in a ward, accepted at triage: its `handle` task waits in the ward."""
    case = intake(services, category="street_lighting", unit=place, **extra)
    task = only_task(session, case, "triage")
    services.cases.complete_task(task.id, {"decision": "accept"}, actor="dtv1")
    return case


def test_a_merger_dated_today_moves_open_cases_tasks_and_people_at_once(services, session, admin, actor):
    open_case = accepted_case(services, session, "P-TAN-AN")
    handle = only_task(session, open_case, "handle")
    assert handle.candidate_unit == "P-TAN-AN"
    closed = accepted_case(services, session, "P-TAN-AN", title="Đèn hỏng đã xử lý")
    closed.status = "closed"
    only_task(session, closed, "handle").state = "completed"
    session.commit()

    officer_id = session.scalar(select(User.id).where(User.username == "cb.tanan"))
    session.add(SavedFilter(unit_id=unit(session, "P-TAN-AN").id, owner_id=officer_id, name="Đèn",
                            query={"category": "street_lighting"}))
    session.commit()

    change = admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", TODAY)

    session.expire_all()
    tan_an, tan_lap = unit(session, "P-TAN-AN"), unit(session, "P-TAN-LAP")
    assert change.applied_at is not None and change.result["cases"] == 1 and change.result["tasks"] == 1
    assert (tan_an.active, tan_an.valid_to, tan_an.successor_id) == (False, TODAY, tan_lap.id)
    case = session.get(Case, open_case.id)
    assert (case.responsible_unit_id, case.admin_unit_id) == (tan_lap.id, tan_lap.id)
    task = session.get(HumanTask, handle.id)
    assert (task.candidate_unit, task.case_place_id) == ("P-TAN-LAP", tan_lap.id)
    pushes = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "task.assigned",
                                                          OutboxMessage.dedupe_key.like(f"unit-change:{change.id}:%")))
    assert sorted(m.payload["unit"] for m in pushes) == ["P-TAN-AN", "P-TAN-LAP"]  # both lists change live
    # History: the closed case keeps the old ward; the open one says where it went and why.
    old = session.get(Case, closed.id)
    assert (old.responsible_unit_id, old.admin_unit_id) == (tan_an.id, tan_an.id)
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "unit_succeeded"))
    assert event.detail["from"] == "P-TAN-AN" and event.detail["to"] == "P-TAN-LAP"
    # The ward's people now work in the successor, and see the task there, with their saved filters.
    assert session.scalar(select(SavedFilter.unit_id).where(SavedFilter.name == "Đèn")) == tan_lap.id
    assert roles_of(session, "cb.tanan") == [("officer", "P-TAN-LAP")]
    officer = AccessService(session).actor(session.scalar(select(User.id).where(User.username == "cb.tanan")))
    assert officer.holds("officer", "P-TAN-LAP")
    # Lists offer only units valid now; the merger is audited with before and after.
    assert "P-TAN-AN" not in {c.code for c in places(session)}
    assert "P-TAN-AN" not in {u.code for u in admin.live_units()}
    line = session.scalar(select(AdminAuditEntry).where(AdminAuditEntry.action == "unit.merge"))
    assert line.actor_username == "admin" and line.before["active"] is True
    assert line.after["successor"] == "P-TAN-LAP" and line.after["moved"]["tasks"] == 1


def test_the_running_process_sends_its_next_tasks_to_the_successor(services, session, admin, actor):
    # Reported in Tân An before the merger, accepted at triage after it: the process still holds
    # "P-TAN-AN" (its place, the routing table's output), yet the handling task lands in Tân Lập.
    case = intake(services, category="street_lighting", unit="P-TAN-AN")
    admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", TODAY)
    triage = only_task(session, case, "triage")
    services.cases.complete_task(triage.id, {"decision": "accept"}, actor="dtv1")
    session.expire_all()
    handle = only_task(session, case, "handle")
    assert handle.candidate_unit == "P-TAN-LAP"
    assert session.get(Case, case.id).responsible_unit.code == "P-TAN-LAP"


def test_a_merger_dated_ahead_waits_for_its_day_in_vietnam_then_the_sweep_applies_it_once(
        services, session, session_factory, admin, actor, clock):
    case = accepted_case(services, session, "P-TAN-AN")
    handle = only_task(session, case, "handle")
    change = admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", "2026-01-06")
    assert change.applied_at is None
    session.expire_all()
    assert unit(session, "P-TAN-AN").active and only_task(session, case, "handle").candidate_unit == "P-TAN-AN"
    assert [c.id for c in admin.pending_changes()] == [change.id]

    # 16:59 UTC on the 5th is 23:59 in Vietnam: not yet.
    clock.set(datetime(2026, 1, 5, 16, 59, tzinfo=UTC))
    session.rollback()
    make_sweep(session_factory, clock).run_once()
    session.expire_all()
    assert unit(session, "P-TAN-AN").active
    # 17:01 UTC is 00:01 on the 6th in Vietnam: the sweep applies it.
    clock.set(datetime(2026, 1, 5, 17, 1, tzinfo=UTC))
    session.rollback()
    make_sweep(session_factory, clock).run_once()
    make_sweep(session_factory, clock).run_once()  # again: nothing more happens
    session.expire_all()
    assert not unit(session, "P-TAN-AN").active
    assert session.get(HumanTask, handle.id).candidate_unit == "P-TAN-LAP"
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "unit_succeeded")) == 1
    assert session.get(AdminUnitChange, change.id).applied_at is not None


def test_a_pending_merger_can_be_cancelled(session, admin, actor, reference_data):
    change = admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", "2026-02-01")
    admin.cancel(actor, change.id)
    session.expire_all()
    tan_an = unit(session, "P-TAN-AN")
    assert (tan_an.active, tan_an.valid_to, tan_an.successor_id) == (True, None, None)
    assert admin.pending_changes() == []
    with pytest.raises(UnitChangeError):
        admin.cancel(actor, change.id)


def test_a_rename_keeps_the_old_name_for_the_period_before(session, admin, actor, clock, reference_data):
    admin.rename(actor, "X-HOA-PHU", "Xã Hòa Phú Mới", "Hoa Phu New Commune", "2026-03-01")
    hoa_phu = unit(session, "X-HOA-PHU")
    assert hoa_phu.name == "Xã Hòa Phú"  # not before its day
    clock.set(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    assert [c.kind for c in admin.apply_due()] == ["rename"]
    session.expire_all()
    hoa_phu = unit(session, "X-HOA-PHU")
    assert hoa_phu.name == "Xã Hòa Phú Mới"
    assert admin.name_on(hoa_phu, date(2026, 2, 28)) == ("Xã Hòa Phú", "Hòa Phú Commune")
    assert admin.name_on(hoa_phu, date(2026, 3, 1)) == ("Xã Hòa Phú Mới", "Hoa Phu New Commune")
    node = next(n for n in admin.tree() if n.unit.code == "X-HOA-PHU")
    assert [p.name for p in node.former_names] == ["Xã Hòa Phú"]


def test_dissolving_a_district_hangs_its_communes_under_the_province(session, admin, actor, reference_data):
    district = admin.add(actor, NewUnit(code="H-CU-MGAR", name="Huyện Cư M'gar", kind="district", parent="DLK",
                                        effective_on="2020-01-01"))
    for code in ("X-EA-TUL", "X-CU-MGAR"):
        unit(session, code).parent = district
    session.commit()
    change = admin.dissolve(actor, "H-CU-MGAR", "", "2025-07-01")
    session.expire_all()
    assert change.result["children"] == 2 and change.successor.code == "DLK"
    assert unit(session, "X-EA-TUL").parent.code == "DLK"
    assert not unit(session, "H-CU-MGAR").active
    tree = {n.unit.code: n for n in admin.tree()}
    assert tree["X-EA-TUL"].depth == 1 and tree["H-CU-MGAR"].ended


def test_bindings_left_in_place_are_flagged_for_the_admin(session, admin, actor, reference_data):
    admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", TODAY, move_roles=False)
    flagged = {(b.user.username, b.role) for b in admin.flagged_bindings()}
    assert flagged == {("cb.tanan", "officer"), ("tp.tanan", "unit_head"), ("ld.tanan", "leader")}


def test_a_unit_added_ahead_is_offered_only_from_its_day(session, admin, actor, clock, reference_data):
    admin.add(actor, NewUnit(code="p-ea-tam", name="Phường Ea Tam", name_en="Ea Tam Ward", kind="ward",
                             parent="DLK", effective_on="2026-02-01", lat="12,66", lon="108.03"))
    assert "P-EA-TAM" not in {c.code for c in places(session)}
    clock.set(datetime(2026, 1, 31, 17, 0, tzinfo=UTC))  # midnight in Vietnam
    admin.apply_due()
    assert "P-EA-TAM" in {c.code for c in places(session)}
    assert unit(session, "P-EA-TAM").lat == 12.66
    # One withdrawn before its day never comes to be.
    admin.add(actor, NewUnit(code="P-EA-TAM-2", name="Phường Ea Tam 2", kind="ward", parent="DLK",
                             effective_on="2026-03-01"))
    admin.cancel(actor, admin.pending_changes()[0].id)
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    admin.apply_due()
    assert not unit(session, "P-EA-TAM-2").active
    assert next(n for n in admin.tree() if n.unit.code == "P-EA-TAM-2").ended


def test_wrong_changes_say_what_to_fix_and_change_nothing(session, admin, actor, reference_data):
    cases = [
        (lambda: admin.merge(actor, "P-TAN-AN", "P-TAN-AN", TODAY), "successor"),
        (lambda: admin.merge(actor, "P-TAN-AN", "NOWHERE", TODAY), "successor"),
        (lambda: admin.merge(actor, "P-TAN-AN", "", TODAY), "successor"),
        (lambda: admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", "05/01/2026"), "effective_on"),
        (lambda: admin.merge(actor, "DLK", "P-TAN-LAP", TODAY), "successor"),  # inside the province
        (lambda: admin.rename(actor, "P-TAN-AN", "  ", "", TODAY), "name"),
        (lambda: admin.add(actor, NewUnit(code="P-TAN-AN", name="X", kind="ward", parent="DLK",
                                          effective_on=TODAY)), "code"),
        (lambda: admin.add(actor, NewUnit(code="X-NEW", name="X", kind="planet", parent="",
                                          effective_on=TODAY)), "kind"),
        (lambda: admin.add(actor, NewUnit(code="X-NEW", name="X", kind="commune", parent="DLK",
                                          effective_on=TODAY, lat="north")), "lat"),
    ]
    for action, field_name in cases:
        with pytest.raises(UnitChangeError) as raised:
            action()
        assert field_name in raised.value.fields
        session.rollback()
    admin.merge(actor, "P-TAN-AN", "P-TAN-LAP", "2026-03-01")
    with pytest.raises(UnitChangeError) as raised:
        admin.dissolve(actor, "P-TAN-AN", "", "2026-04-01")
    assert "unit" in raised.value.fields  # one ending at a time
    # Merging into a unit that has ended is refused: the successor must exist today.
    admin.merge(actor, "P-EA-KAO", "P-TAN-LAP", TODAY)
    with pytest.raises(UnitChangeError) as raised:
        admin.merge(actor, "P-CU-BAO", "P-EA-KAO", TODAY)
    assert "successor" in raised.value.fields
    assert session.scalar(select(func.count()).select_from(AdminAuditEntry)) == 2
