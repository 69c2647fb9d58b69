"""The monitoring evaluation: rules from the deployed table, breaches, the cases they open and follow up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from workflows.models import AdminUnit, Case, CaseEvent
from workflows.monitoring.evaluation import Evaluator, preview
from workflows.monitoring.models import Breach, BreachState, Indicator, Target, Value

KPI_FILES = ("kpi_breach.bpmn", "kpi_rules.dmn")


def _files(dmn_text: str | None = None) -> dict[str, str]:
    files = {name: (BPMN_DIR / name).read_text(encoding="utf-8") for name in KPI_FILES}
    if dmn_text is not None:
        files["kpi_rules.dmn"] = dmn_text
    return files


@pytest.fixture
def kpi(services, session):
    """kpi_breach deployed with its rule table, and an indicator reported monthly by wards and communes."""
    services.definitions.deploy(_files(), deployed_by="test")
    session.add(Indicator(code="TL_HS_DUNG_HAN", name="Tỷ lệ hồ sơ giải quyết đúng hạn",
                          name_en="Applications settled on time", field="public_services", measure_unit="%",
                          period="monthly", direction="higher", levels=["ward", "commune"], deadline_days=10,
                          category_code="socio_economic"))
    session.add(Target(indicator_code="TL_HS_DUNG_HAN", unit_id=None, year=2026, period=None, kind="plan", value=90))
    session.commit()
    return services


def _unit(session, code: str) -> AdminUnit:
    return session.scalar(select(AdminUnit).where(AdminUnit.code == code))


def _report(session, unit: AdminUnit, period: str, value: float, code: str = "TL_HS_DUNG_HAN") -> int:
    row = session.scalar(select(Value).where(Value.indicator_code == code, Value.unit_id == unit.id,
                                             Value.period == period))
    if row is None:
        row = Value(indicator_code=code, unit_id=unit.id, period=period, value=value, reported_by="test")
        session.add(row)
    else:
        row.value = value
    session.commit()
    return row.id


def _evaluate(services, clock, session, unit, period, value):
    return Evaluator(services, clock).evaluate([_report(session, unit, period, value)])


def _submit_plan(services, session, case: Case, actor: str) -> None:
    task = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code, HumanTask.state == "open",
                                                  HumanTask.element_id == "remedial_plan"))
    assert task is not None, "the plan task is open"
    services.cases.complete_task(task.id, {"explanation": "Thiếu cán bộ một cửa", "plan": "Bổ sung 2 cán bộ",
                                           "plan_due": "2026-06-30"}, actor=actor)


def _case(session, unit, code="TL_HS_DUNG_HAN") -> Case | None:
    state = session.scalar(select(BreachState).where(BreachState.indicator_code == code,
                                                     BreachState.unit_id == unit.id))
    return session.get(Case, state.case_id) if state is not None and state.case_id else None


def test_preview_finds_breaches_and_writes_nothing(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    findings = preview(session, clock, [("TL_HS_DUNG_HAN", ward.id, "2026-03", 62.0),
                                        ("TL_HS_DUNG_HAN", ward.id, "2026-04", 89.0)])
    assert [(f.period, f.rule, f.severity) for f in findings] == [("2026-03", "target", "high")]
    assert findings[0].expected == 90
    assert "31.1 % below its target 90.00" in str(findings[0].message)
    assert session.scalar(select(func.count()).select_from(Breach)) == 0


def test_a_breach_opens_one_case_for_the_unit_that_explains_and_recovery_closes_it(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    result = _evaluate(kpi, clock, session, ward, "2026-03", 62.0)  # 31 % below 90: high
    assert len(result.opened) == 1 and result.rules_version == 1
    case = session.scalar(select(Case).where(Case.code == result.opened[0]))
    assert case.channel == "kpi" and case.code.startswith("KPI-") and case.admin_unit_id == ward.id
    assert case.responsible_unit_id == ward.id and case.priority == "high"
    breach = session.scalar(select(Breach).where(Breach.unit_id == ward.id))
    assert (breach.rule, breach.severity, breach.case_id, breach.rules_version) == ("target", "high", case.id, 1)
    kinds = set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    assert {"kpi_breach", "assigned", "leaders_notified"} <= kinds
    # The same breach again (a re-upload) opens nothing more.
    again = _evaluate(kpi, clock, session, ward, "2026-03", 61.0)
    assert again.opened == [] and session.scalar(select(func.count()).select_from(Case)) == 1
    _submit_plan(kpi, session, case, "cb.tanan")
    assert {"kpi_plan"} <= set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    # Next month back past the recovery threshold (2 %): the process closes the case.
    clock.advance(days=30)
    result = _evaluate(kpi, clock, session, ward, "2026-04", 89.0)
    assert result.recovered == [case.code]
    session.refresh(case)
    assert case.status == "closed" and case.close_reason == "recovered"
    state = session.scalar(select(BreachState).where(BreachState.unit_id == ward.id))
    assert (state.status, state.case_id, state.last_case_id) == ("ok", None, case.id)


def test_hysteresis_a_borderline_value_neither_opens_nor_closes(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    # 7 % below: the low row, which opens only after 2 periods in a row.
    assert _evaluate(kpi, clock, session, ward, "2026-01", 83.7).opened == []
    state = session.scalar(select(BreachState).where(BreachState.unit_id == ward.id))
    assert (state.status, state.streak) == ("pending", 1)
    # Back within 5 %: the streak starts again, still no case.
    assert _evaluate(kpi, clock, session, ward, "2026-02", 86.0).opened == []
    assert _evaluate(kpi, clock, session, ward, "2026-03", 83.0).opened == []
    opened = _evaluate(kpi, clock, session, ward, "2026-04", 83.0).opened
    assert len(opened) == 1
    case = session.scalar(select(Case).where(Case.code == opened[0]))
    _submit_plan(kpi, session, case, "cb.tanan")
    # 4 % below: no longer a breach, but not back within the recovery threshold (2 %): the case stays open.
    result = _evaluate(kpi, clock, session, ward, "2026-05", 86.4)
    assert result.recovered == [] and result.still_breaching == [case.code]
    session.refresh(case)
    assert case.status != "closed"


def test_still_breaching_escalates_and_asks_for_a_new_plan(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    case_code = _evaluate(kpi, clock, session, ward, "2026-03", 70.0).opened[0]
    case = session.scalar(select(Case).where(Case.code == case_code))
    _submit_plan(kpi, session, case, "cb.tanan")
    result = _evaluate(kpi, clock, session, ward, "2026-04", 71.0)
    assert result.still_breaching == [case.code]
    session.refresh(case)
    assert case.status == "escalated" and case.escalation_level == 1
    # A new plan is asked for; still breaching once more goes a level up.
    _submit_plan(kpi, session, case, "cb.tanan")
    _evaluate(kpi, clock, session, ward, "2026-05", 72.0)
    session.refresh(case)
    assert case.escalation_level == 2
    assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_recurrence_after_a_close_opens_a_new_case_linked_to_the_previous_one(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    first = session.scalar(select(Case).where(
        Case.code == _evaluate(kpi, clock, session, ward, "2026-03", 60.0).opened[0]))
    _submit_plan(kpi, session, first, "cb.tanan")
    assert _evaluate(kpi, clock, session, ward, "2026-04", 90.0).recovered == [first.code]
    second_code = _evaluate(kpi, clock, session, ward, "2026-05", 60.0).opened[0]
    assert second_code != first.code
    second = session.scalar(select(Case).where(Case.code == second_code))
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == second.id, CaseEvent.kind == "kpi_breach"))
    assert event.detail["previous_case"] == first.code


def test_one_open_case_per_indicator_and_unit_and_one_per_unit(kpi, session, clock):
    ward, commune = _unit(session, "P-TAN-AN"), _unit(session, "X-HOA-PHU")
    ids = [_report(session, ward, "2026-03", 60.0), _report(session, commune, "2026-03", 50.0),
           _report(session, ward, "2026-02", 60.0)]
    result = Evaluator(kpi, clock).evaluate(ids)
    assert len(result.opened) == 2
    assert {c.admin_unit_id for c in session.scalars(select(Case))} == {ward.id, commune.id}
    # Several periods of one unit in a batch: each gets its breach row, the newest acts.
    assert session.scalar(select(func.count()).select_from(Breach).where(Breach.unit_id == ward.id)) == 2


def test_a_province_value_is_explained_by_the_indicators_department(kpi, session, clock):
    province, department = _unit(session, "DLK"), _unit(session, "STC")
    session.add(Indicator(code="THU_NS", name="Thu ngân sách", name_en="Budget revenue", field="socio_economic",
                          period="ytd", direction="higher", levels=["province"], department_id=department.id,
                          category_code="socio_economic"))
    session.add(Target(indicator_code="THU_NS", unit_id=None, year=2026, period=None, kind="plan", value=12000))
    session.commit()
    # Six months in: half the plan (6,000) is due; 4,000 is a third behind it (pro rata, high).
    result = Evaluator(kpi, clock).evaluate([_report(session, province, "2026-06", 4000.0, code="THU_NS")])
    case = session.scalar(select(Case).where(Case.code == result.opened[0]))
    assert case.admin_unit_id == province.id and case.responsible_unit_id == department.id
    breach = session.scalar(select(Breach).where(Breach.indicator_code == "THU_NS"))
    assert (breach.rule, breach.severity, breach.expected) == ("pro_rata", "high", 6000)


def test_the_missing_rule_opens_a_case_and_the_late_value_closes_it(kpi, session, clock):
    ward, commune = _unit(session, "P-TAN-AN"), _unit(session, "X-HOA-PHU")
    # The units that report the indicator (they did before): February from both, March from the commune only.
    for unit in (ward, commune):
        _report(session, unit, "2026-02", 91.0)
    _report(session, commune, "2026-03", 91.0)
    evaluator = Evaluator(kpi, clock)
    # March's deadline is 10 April: on the 10th February is the period due, on the 11th March is: Tân An is late.
    assert evaluator.check_missing(date(2026, 4, 10)).opened == []
    result = evaluator.check_missing(date(2026, 4, 11))
    assert len(result.opened) == 1
    case = session.scalar(select(Case).where(Case.code == result.opened[0]))
    assert case.admin_unit_id == ward.id
    breach = session.scalar(select(Breach).where(Breach.rule == "missing"))
    assert (breach.unit_id, breach.period, breach.severity) == (ward.id, "2026-03", "medium")
    # Run again the same day: nothing new.
    assert evaluator.check_missing(date(2026, 4, 11)).opened == []
    _submit_plan(kpi, session, case, "cb.tanan")
    # A month later April is missing from both: the ward's open case is told (verdict missing, the wait is
    # extended), the commune gets its own case.
    result = evaluator.check_missing(date(2026, 5, 11))
    assert result.missing == [case.code] and len(result.opened) == 1
    assert session.scalar(select(func.count()).select_from(Case)) == 2
    result = _evaluate(kpi, clock, session, ward, "2026-03", 92.0)
    assert result.recovered == [case.code]
    session.refresh(case)
    assert case.status == "closed"


def test_a_new_version_of_the_rule_table_changes_what_breaches_without_code(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    # 10 % below 90: the low row only (opens after 2 periods).
    assert [f.severity for f in preview(session, clock, [("TL_HS_DUNG_HAN", ward.id, "2026-03", 81.0)])] == ["low"]
    dmn = (BPMN_DIR / "kpi_rules.dmn").read_text(encoding="utf-8")
    stricter = dmn.replace("<text>15</text>", "<text>8</text>", 1)
    assert stricter != dmn
    kpi.definitions.deploy(_files(stricter), deployed_by="test")
    session.commit()
    findings = preview(session, clock, [("TL_HS_DUNG_HAN", ward.id, "2026-03", 81.0)])
    assert [f.severity for f in findings] == ["medium"]
    result = _evaluate(kpi, clock, session, ward, "2026-03", 81.0)
    assert result.rules_version == 2 and len(result.opened) == 1
    assert session.scalar(select(Breach.rules_version)) == 2


def test_outlier_and_falling_rules_read_the_units_history(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    session.execute(Target.__table__.delete())
    session.commit()
    for month, value in enumerate([95, 96, 95, 97, 96, 95, 96, 95, 96, 97], start=1):
        _report(session, ward, f"2025-{month:02d}", float(value))
    findings = preview(session, clock, [("TL_HS_DUNG_HAN", ward.id, "2025-11", 80.0)])
    assert {f.rule for f in findings} == {"outlier"}
    for month, value in ((1, 99), (2, 98), (3, 97), (4, 96)):
        _report(session, ward, f"2024-{month:02d}", float(value))
    findings = preview(session, clock, [("TL_HS_DUNG_HAN", ward.id, "2024-05", 95.5)])
    assert [(f.rule, f.severity) for f in findings] == [("falling", "low")]
    assert findings[0].evidence["values"] == [98.0, 97.0, 96.0, 95.5]


def test_the_wait_for_the_next_period_has_a_timer(kpi, session, clock):
    ward = _unit(session, "P-TAN-AN")
    case = session.scalar(select(Case).where(
        Case.code == _evaluate(kpi, clock, session, ward, "2026-03", 60.0).opened[0]))
    _submit_plan(kpi, session, case, "cb.tanan")
    instance = case.process_instance
    assert instance.next_timer_at is not None
    # April's deadline (10 May) and a week's grace, at 17:00 in Đắk Lắk.
    assert instance.next_timer_at.astimezone(UTC) == datetime(2026, 5, 17, 10, 0, tzinfo=UTC)


def test_the_sweep_evaluates_values_left_unevaluated_and_checks_missing_reports_daily(kpi, session, session_factory,
                                                                                       clock):
    from workflows.runtime import make_sweep

    ward, commune = _unit(session, "P-TAN-AN"), _unit(session, "X-HOA-PHU")
    clock.set(datetime(2026, 4, 20, 2, 0, tzinfo=UTC))
    # Stored, but the evaluation task never ran (a broker outage): the sweep takes them.
    for unit, value in ((ward, 60.0), (commune, 91.0)):
        session.add(Value(indicator_code="TL_HS_DUNG_HAN", unit_id=unit.id, period="2026-02", value=value,
                          reported_by="test", reported_at=clock.now()))
    session.add(Value(indicator_code="TL_HS_DUNG_HAN", unit_id=commune.id, period="2026-03", value=92.0,
                      reported_by="test", reported_at=clock.now()))
    session.commit()
    make_sweep(session_factory, clock).run_once()
    session.expire_all()
    cases = list(session.scalars(select(Case).order_by(Case.id)))
    # The ward's February breach opened a case; March (due 10 April) is missing from the ward: its open case is
    # told; nothing else is missing.
    assert [c.admin_unit_id for c in cases] == [ward.id]
    assert session.scalar(select(Breach.unit_id).where(Breach.rule == "missing")) == ward.id
    from workflows.monitoring.evaluation import pending_value_ids

    assert pending_value_ids(session, clock.now() - timedelta(days=7)) == []


def test_the_case_history_tells_the_breach_the_plan_and_the_verdict_in_words(kpi, session, clock):
    from workflows.access import AccessService
    from workflows.case_view import CaseViewService
    from workflows.models import User

    ward = _unit(session, "P-TAN-AN")
    case = session.scalar(select(Case).where(
        Case.code == _evaluate(kpi, clock, session, ward, "2026-03", 60.0).opened[0]))
    _submit_plan(kpi, session, case, "cb.tanan")
    _evaluate(kpi, clock, session, ward, "2026-04", 90.0)
    officer = AccessService(session).actor(session.scalar(select(User.id).where(User.username == "cb.tanan")))
    labels = [str(e.label) for e in CaseViewService(session, clock).timeline(officer, case.code, "en")]
    assert "Explanation and remedial plan submitted" in labels
    assert any(label.startswith("Indicator Tỷ lệ hồ sơ giải quyết đúng hạn, 2026-03: away from its target")
               for label in labels)
    assert "Next period 2026-04: back within the rule" in labels
    assert "Closed (the indicator is back within its rule)" in labels


def test_a_case_whose_next_period_never_comes_is_not_left_waiting(kpi, session, session_factory, clock):
    from workflows.runtime import make_sweep

    ward = _unit(session, "P-TAN-AN")
    case = session.scalar(select(Case).where(
        Case.code == _evaluate(kpi, clock, session, ward, "2026-03", 60.0).opened[0]))
    _submit_plan(kpi, session, case, "cb.tanan")
    clock.set(datetime(2026, 5, 18, 3, 0, tzinfo=UTC))  # past 17 May 17:00 (April's deadline and a week)
    make_sweep(session_factory, clock).run_once()
    session.expire_all()
    kinds = list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    assert kinds[-1] == "overdue"  # the unit's head is told; the wait is extended
    instance = session.get(Case, case.id).process_instance
    assert instance.status == "running" and instance.next_timer_at > clock.now()
    # The value comes after all: the case closes.
    assert _evaluate(kpi, clock, session, ward, "2026-04", 91.0).recovered == [case.code]


def test_a_department_explains_its_own_value_in_the_province(kpi, session, clock):
    province, health = _unit(session, "DLK"), _unit(session, "SYT")
    session.add(Indicator(code="TL_TIEM_CHUNG", name="Tỷ lệ tiêm chủng đầy đủ", name_en="Full immunisation rate",
                          field="health", period="quarterly", direction="higher", levels=["department"],
                          department_id=health.id, category_code="health"))
    session.add(Target(indicator_code="TL_TIEM_CHUNG", unit_id=health.id, year=2026, period="2026-Q1", kind="plan",
                       value=95))
    session.commit()
    result = Evaluator(kpi, clock).evaluate([_report(session, health, "2026-Q1", 70.0, code="TL_TIEM_CHUNG")])
    case = session.scalar(select(Case).where(Case.code == result.opened[0]))
    assert (case.admin_unit_id, case.responsible_unit_id, case.category_code) == (province.id, health.id, "health")
    task = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code, HumanTask.state == "open"))
    assert (task.element_id, task.candidate_unit, task.candidate_role) == ("remedial_plan", "SYT", "officer")
