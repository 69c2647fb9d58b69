"""The indicator catalogue (workflows/monitoring/catalogue.py) and the monitoring views
(workflows/monitoring/views.py) on SQLite and PostgreSQL: checks, audit, targets, lights, trend, missing
reports and a value's history, with values and breaches seeded as rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

from engine.clock import FrozenClock
from workflows.access import AccessService
from workflows.admin.models import AdminAuditEntry
from workflows.errors import AccessDeniedError
from workflows.models import AdminUnit, Case, User
from workflows.monitoring.catalogue import Catalogue, CatalogueError, IndicatorForm, TargetBook, TargetForm
from workflows.monitoring.models import Breach, BreachState, Indicator, Upload, Value, ValueChange
from workflows.monitoring.periods import Period
from workflows.monitoring.views import MonitoringViews

NOW = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)  # 20 May 2026: April's monthly reports were due on 10 May

RATE = IndicatorForm(code="dvc-online", name="Tỷ lệ hồ sơ trực tuyến toàn trình", name_en="Full online applications",
                     field="public_services", period="monthly", direction="higher", measure_unit="%",
                     measure_unit_en="%", department="STC", levels=("commune", "ward"), deadline_days="10",
                     min_value="0", max_value="100", decimals="1")


def _actor(session, username):
    return AccessService(session).actor(session.scalar(select(User.id).where(User.username == username)))


@pytest.fixture
def world(session, reference_data):
    clock = FrozenClock(NOW)
    return clock, Catalogue(session, clock), _actor(session, "admin")


def _unit(session, code):
    return session.scalar(select(AdminUnit).where(AdminUnit.code == code))


def _value(session, indicator, unit, period, value, at, by="cb", upload=None):
    row = Value(indicator_code=indicator, unit_id=unit.id, period=period, value=value, reported_at=at, reported_by=by,
                upload_id=upload)
    session.add(row)
    session.flush()
    session.add(ValueChange(value_id=row.id, old_value=None, new_value=value, changed_at=at, changed_by=by,
                            upload_id=upload))
    return row


# ---------------------------------------------------------------------------------------------- catalogue
def test_an_indicator_is_created_edited_and_audited(session, world):
    clock, catalogue, admin = world
    created = catalogue.create(admin, RATE)
    assert created.code == "DVC-ONLINE"  # codes are capitals
    assert (created.category_code, created.department.code, created.levels) == ("public_services", "STC",
                                                                                 ["commune", "ward"])
    assert (created.min_value, created.max_value, created.decimals, created.deadline_days) == (0, 100, 1, 10)
    form = catalogue.form_of(created)
    catalogue.update(admin, "DVC-ONLINE", IndicatorForm(**{**form.__dict__, "deadline_days": "15",
                                                           "max_value": "100,0", "seasonal": True}))
    assert (catalogue.get("DVC-ONLINE").deadline_days, catalogue.get("DVC-ONLINE").seasonal) == (15, True)
    catalogue.update(admin, "DVC-ONLINE", catalogue.form_of(catalogue.get("DVC-ONLINE")))  # no change: no line
    lines = list(session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.id)))
    assert [line.action for line in lines] == ["indicator.create", "indicator.update"]
    assert (lines[1].before["deadline_days"], lines[1].after["deadline_days"]) == (10, 15)
    assert lines[1].target_type == "indicator" and lines[1].target_id == "DVC-ONLINE"
    assert lines[0].after["department"] == "STC"  # codes a reader knows, not row ids


def test_a_wrong_indicator_form_lists_every_problem_and_stores_nothing(session, world):
    clock, catalogue, admin = world
    bad = IndicatorForm(code="dvc online!", name="", name_en="", field="weather", period="weekly", direction="up",
                        measure_unit="tỷ đồng", department="P-TAN-AN", levels=("village",), deadline_days="-1",
                        min_value="mười", max_value="1,2,3", decimals="9", category="no_such")
    with pytest.raises(CatalogueError) as refused:
        catalogue.create(admin, bad)
    assert set(refused.value.fields) == {"code", "name", "name_en", "field", "period", "direction", "measure_unit_en",
                                         "department", "levels", "deadline_days", "min_value", "max_value",
                                         "decimals", "category"}
    session.rollback()
    assert session.scalar(select(Indicator)) is None and session.scalar(select(AdminAuditEntry)) is None
    catalogue.create(admin, RATE)
    with pytest.raises(CatalogueError) as taken:
        catalogue.create(admin, RATE)
    assert "taken" in taken.value.fields["code"]
    session.rollback()
    with pytest.raises(CatalogueError) as bounds:
        catalogue.update(admin, "DVC-ONLINE", IndicatorForm(**{**RATE.__dict__, "min_value": "50", "max_value": "10"}))
    assert set(bounds.value.fields) == {"max_value"}


def test_only_designers_and_administrators_edit_the_catalogue(session, world):
    clock, catalogue, admin = world
    with pytest.raises(AccessDeniedError):
        catalogue.create(_actor(session, "ct.ubnd"), RATE)
    assert catalogue.create(_actor(session, "thietke"), RATE).code == "DVC-ONLINE"


def test_targets_a_yearly_plan_a_period_figure_and_a_share_read_back_per_unit(session, world):
    clock, catalogue, admin = world
    catalogue.create(admin, IndicatorForm(**{**RATE.__dict__, "code": "THU-NS", "name": "Thu ngân sách",
                                             "name_en": "Budget revenue", "period": "ytd", "measure_unit": "tỷ đồng",
                                             "measure_unit_en": "billion VND", "max_value": ""}))
    catalogue.set_target(admin, "THU-NS", TargetForm(year="2026", value="1.200"))  # every unit's yearly plan
    catalogue.set_target(admin, "THU-NS", TargetForm(year="2026", value="240", unit="P-TAN-AN"))
    catalogue.set_target(admin, "THU-NS", TargetForm(year="2026", value="40,5", period="T6/2026", kind="share"))
    catalogue.set_target(admin, "THU-NS", TargetForm(year="2026", value="100", period="03/2026", unit="P-TAN-AN"))
    catalogue.set_target(admin, "THU-NS", TargetForm(year="2026", value="110", period="2026-03", unit="P-TAN-AN"))
    assert len(catalogue.targets("THU-NS")) == 4  # the same year, unit and period replace the figure
    indicator, tan_an, ea_kao = catalogue.get("THU-NS"), _unit(session, "P-TAN-AN"), _unit(session, "P-EA-KAO")
    book = TargetBook.load(session, ["THU-NS"], [2026])
    june, march = Period.parse("ytd", "2026-06"), Period.parse("ytd", "2026-03")
    assert book.target(indicator, ea_kao.id, june) == pytest.approx(1200 * 0.405)  # a share of every unit's plan
    assert book.target(indicator, tan_an.id, june) == pytest.approx(240 * 0.405)  # … of the unit's own plan
    assert book.target(indicator, tan_an.id, march) == 110
    assert book.target(indicator, ea_kao.id, Period.parse("ytd", "2026-09")) == pytest.approx(900)  # pro rata
    with pytest.raises(CatalogueError) as refused:
        catalogue.set_target(admin, "THU-NS", TargetForm(year="20x6", value="abc", unit="NOWHERE", period="Q5/2026",
                                                         kind="share"))
    assert set(refused.value.fields) == {"year", "value", "unit", "period"}
    session.rollback()
    with pytest.raises(CatalogueError) as share:
        catalogue.set_target(admin, "THU-NS", TargetForm(year="2026", value="120", kind="share"))
    assert set(share.value.fields) == {"kind", "value"}
    session.rollback()
    removed = catalogue.targets("THU-NS")[0][0].id
    catalogue.delete_target(admin, "THU-NS", removed)
    actions = list(session.scalars(select(AdminAuditEntry.action).order_by(AdminAuditEntry.id)))
    assert actions == ["indicator.create"] + ["indicator_target.set"] * 5 + ["indicator_target.delete"]


# ---------------------------------------------------------------------------------------------- views
@pytest.fixture
def seeded(session, world):
    """A monthly rate reported by Buôn Ma Thuột (breaching, a case open), Tân An (late, short of its target),
    Ea Kao (on track); the other wards and communes have not reported April."""
    clock, catalogue, admin = world
    catalogue.create(admin, RATE)
    catalogue.set_target(admin, "DVC-ONLINE", TargetForm(year="2026", value="80"))
    bmt, tan_an, ea_kao = (_unit(session, c) for c in ("P-BUON-MA-THUOT", "P-TAN-AN", "P-EA-KAO"))
    upload = Upload(filename="bao-cao-thang-4.xlsx", sha256="0" * 64, kind="xlsx", uploaded_by="cb.buonmathuot",
                    decision="stored")
    session.add(upload)
    session.flush()
    for month, figure in (("2026-01", 82.0), ("2026-02", 78.5), ("2026-03", 70.0)):
        _value(session, "DVC-ONLINE", bmt, month, figure, datetime(2026, int(month[-2:]) + 1, 5, tzinfo=UTC))
    april = _value(session, "DVC-ONLINE", bmt, "2026-04", 60.0, datetime(2026, 5, 6, 2, tzinfo=UTC),
                   by="cb.buonmathuot", upload=upload.id)
    april.value, april.reported_at = 62.5, datetime(2026, 5, 15, tzinfo=UTC)  # corrected after the deadline
    session.add(ValueChange(value_id=april.id, old_value=60.0, new_value=62.5, changed_at=datetime(2026, 5, 15, tzinfo=UTC),
                            changed_by="tp.buonmathuot", upload_id=upload.id))
    _value(session, "DVC-ONLINE", tan_an, "2026-04", 79.0, datetime(2026, 5, 14, tzinfo=UTC))  # after 10 May
    _value(session, "DVC-ONLINE", ea_kao, "2026-04", 91.0, datetime(2026, 5, 9, tzinfo=UTC))
    case = Case(code="KPI-2026-000001", channel="kpi", category_code="public_services", title="DVC-ONLINE",
                description="", status="in_progress", responsible_unit_id=bmt.id, admin_unit_id=bmt.id)
    session.add(case)
    session.flush()
    for month, figure in (("2026-03", 70.0), ("2026-04", 62.5)):
        session.add(Breach(indicator_code="DVC-ONLINE", unit_id=bmt.id, period=month, rule="target", severity="high",
                           value=figure, expected=80.0, case_id=case.id if month == "2026-04" else None))
    session.add(BreachState(indicator_code="DVC-ONLINE", unit_id=bmt.id, status="open", streak=2,
                            last_period="2026-04", case_id=case.id))
    session.commit()
    return clock, bmt, tan_an, ea_kao, april.id, case


def test_the_overview_lights_each_unit_with_words_and_the_open_case(session, seeded):
    clock, bmt, tan_an, ea_kao, april, case = seeded
    views = MonitoringViews(session, clock)
    province = views.overview(_actor(session, "ct.ubnd"))
    assert province.unit.code == "DLK"
    rows = {r.unit.code: r for r in province.rows}
    assert {r.period.key for r in province.rows} == {"2026-04"}
    assert (rows["P-BUON-MA-THUOT"].light, rows["P-BUON-MA-THUOT"].case.code) == ("red", "KPI-2026-000001")
    assert rows["P-BUON-MA-THUOT"].value == 62.5 and rows["P-BUON-MA-THUOT"].target == 80
    assert not rows["P-BUON-MA-THUOT"].late  # first reported on time; a correction after the deadline is no delay
    assert (rows["P-TAN-AN"].light, rows["P-TAN-AN"].late, str(rows["P-TAN-AN"].reason)) == ("amber", True,
                                                                                            "short of its target")
    assert rows["P-EA-KAO"].light == "green"
    assert rows["X-EA-SUP"].light == "grey" and str(rows["X-EA-SUP"].reason) == "not reported, past the deadline"
    assert "DLK" not in rows and "STC" not in rows  # the province and departments do not report a commune rate
    communes = sum(1 for u in views.units().values() if u.kind in ("commune", "ward"))
    assert province.counts == {"red": 1, "amber": 1, "green": 1, "grey": communes - 3}
    assert [r.unit.code for r in views.overview(_actor(session, "ct.ubnd"), light="red").rows] == ["P-BUON-MA-THUOT"]
    # A ward's officer sees their ward only; another unit is refused.
    ward = views.overview(_actor(session, "cb.buonmathuot"))
    assert [r.unit.code for r in ward.rows] == ["P-BUON-MA-THUOT"]
    with pytest.raises(AccessDeniedError):
        views.overview(_actor(session, "cb.buonmathuot"), "P-TAN-AN")


def test_the_overview_takes_a_few_queries_whatever_the_number_of_units(session, seeded, db_engine):
    clock = seeded[0]
    actor = _actor(session, "ct.ubnd")
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        page = MonitoringViews(session, clock).overview(actor)
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert len(page.rows) > 100
    assert len(statements) <= 8, len(statements)


def test_the_trend_has_values_targets_breaches_and_cases(session, seeded):
    clock, bmt, tan_an, ea_kao, april, case = seeded
    trend = MonitoringViews(session, clock).trend(_actor(session, "ct.ubnd"), "DVC-ONLINE", "P-BUON-MA-THUOT")
    assert [p.period.key for p in trend.points] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [p.value for p in trend.points] == [82.0, 78.5, 70.0, 62.5]
    assert {p.target for p in trend.points} == {80}
    assert [p.breaches for p in trend.points][2:] == [(("target", "high"),), (("target", "high"),)]
    assert trend.points[3].cases == ("KPI-2026-000001",) and trend.points[2].cases == ()
    assert [(c.code, c.open) for c in trend.cases] == [("KPI-2026-000001", True)]
    assert trend.state.status == "open"
    assert {u.code for u in trend.units} == {"P-BUON-MA-THUOT", "P-TAN-AN", "P-EA-KAO"}


def test_a_values_history_shows_who_when_old_new_and_the_file(session, seeded):
    clock, bmt, tan_an, ea_kao, april, case = seeded
    views = MonitoringViews(session, clock)
    history = views.value_history(_actor(session, "cb.buonmathuot"), april)
    assert [(c.by, c.old, c.new, c.filename) for c in history.changes] == [
        ("cb.buonmathuot", None, 60.0, "bao-cao-thang-4.xlsx"), ("tp.buonmathuot", 60.0, 62.5, "bao-cao-thang-4.xlsx")]
    with pytest.raises(Exception) as outside:
        views.value_history(_actor(session, "cb.tanlap"), april)
    assert type(outside.value).__name__ == "CaseNotFoundError"


def test_missing_reports_name_the_units_and_mark_the_late_ones(session, seeded):
    clock, bmt, tan_an, ea_kao, april, case = seeded
    unit, rows = MonitoringViews(session, clock).missing(_actor(session, "tp.ioc"))
    (row,) = rows
    assert (row.period.key, row.deadline, row.current.key) == ("2026-04", date(2026, 5, 10), "2026-05")
    assert row.current_deadline == date(2026, 6, 10)
    assert [m.unit.code for m in row.late] == ["P-TAN-AN"]
    missing = {m.unit.code for m in row.missing}
    assert {"P-BUON-MA-THUOT", "P-TAN-AN", "P-EA-KAO"}.isdisjoint(missing) and "X-EA-SUP" in missing
    assert row.on_time == 2 and row.expected == len(missing) + 3
    # On 9 May, April was not yet due: the last due period is March, reported by Buôn Ma Thuột only.
    _, march = MonitoringViews(session, clock).missing(_actor(session, "tp.ioc"), today=date(2026, 5, 9))
    assert march[0].period.key == "2026-03" and march[0].on_time == 1
