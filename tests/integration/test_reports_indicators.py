"""The indicator report against the database: indicators and their status, the month's breaches, the cases
they raised with their remedial plans, the units that reported late or not at all — each figure computed again
here from the rows the test wrote, then read back from the PDF; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from reports.catalog import ReportParamsError, validate_params
from reports.periods import ReportPeriod
from tests.integration.reports_helpers import ISSUED, assert_fonts_embedded, pages_text, pdftotext, render
from workflows.access import AccessService
from workflows.models import AdminUnit, Case, CaseEvent, User
from workflows.monitoring.catalogue import Catalogue, IndicatorForm, TargetForm
from workflows.monitoring.charts import trend_spec
from workflows.monitoring.models import Breach, BreachState, Value, ValueChange
from workflows.monitoring.views import MonitoringViews

PERIOD = ReportPeriod.parse("2026-11")
START, END = PERIOD.utc_range()
NAME = "Tỷ lệ hồ sơ trực tuyến toàn trình"
RATE = IndicatorForm(code="dvc-online", name=NAME, name_en="Full online applications",
                     field="public_services", period="monthly", direction="higher", measure_unit="%",
                     measure_unit_en="%", department="STC", levels=("commune", "ward"), deadline_days="10",
                     min_value="0", max_value="100", decimals="1")
PLAN = "Rà soát quy trình tiếp nhận, hướng dẫn người dân nộp hồ sơ trực tuyến tại bộ phận một cửa"


def at(month: int, day: int, hour: int = 2, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def unit(session, code):
    return session.scalar(select(AdminUnit).where(AdminUnit.code == code))


def value(session, indicator, place, period, figure, when):
    row = Value(indicator_code=indicator, unit_id=place.id, period=period, value=figure, reported_at=when,
                reported_by="cb")
    session.add(row)
    session.flush()
    session.add(ValueChange(value_id=row.id, old_value=None, new_value=figure, changed_at=when, changed_by="cb"))
    return row


def kpi_case(session, code, place, created, status="in_progress", closed=None):
    case = Case(code=code, channel="kpi", category_code="public_services", title=f"DVC-ONLINE {place.code}",
                description="", status=status, responsible_unit_id=place.id, admin_unit_id=place.id,
                created_at=created, updated_at=created, closed_at=closed)
    session.add(case)
    session.flush()
    return case


@pytest.fixture
def seeded(session, reference_data):
    """October 2026's rate (due 10 November): Buôn Ma Thuột on time but breaching (a case raised in November, its
    plan past its date), Tân An late and breaching (a case raised and closed in November, recovered), Ea Kao on
    track, Ea Súp after the end of November (so: not reported by then); the others never. Breaches and a case
    outside November, and one value of November reported on 2 December, are left out."""
    admin = AccessService(session).actor(session.scalar(select(User.id).where(User.username == "admin")))
    catalogue = Catalogue(session, FrozenClock(at(11, 1)))
    catalogue.create(admin, RATE)
    catalogue.set_target(admin, "DVC-ONLINE", TargetForm(year="2026", value="80"))
    bmt, tan_an, ea_kao, ea_sup = (unit(session, c) for c in ("P-BUON-MA-THUOT", "P-TAN-AN", "P-EA-KAO", "X-EA-SUP"))
    for month, figure in (("2026-07", 82.0), ("2026-08", 78.5), ("2026-09", 70.0)):
        value(session, "DVC-ONLINE", bmt, month, figure, at(int(month[-2:]) + 1, 5))
    value(session, "DVC-ONLINE", bmt, "2026-10", 62.5, at(11, 5))
    value(session, "DVC-ONLINE", tan_an, "2026-10", 75.0, at(11, 14))  # 4 days after 10 November
    value(session, "DVC-ONLINE", ea_kao, "2026-10", 91.0, at(11, 9))
    value(session, "DVC-ONLINE", ea_sup, "2026-10", 85.0, at(12, 2))  # after the end of the month
    value(session, "DVC-ONLINE", bmt, "2026-11", 64.0, at(12, 2))  # November's, after the end of the month
    old = kpi_case(session, "KPI-2026-000003", bmt, at(10, 11), status="closed", closed=at(10, 30))
    open_case = kpi_case(session, "KPI-2026-000007", bmt, at(11, 11))
    closed = kpi_case(session, "KPI-2026-000008", tan_an, at(11, 15), status="closed", closed=at(11, 28))
    later = kpi_case(session, "KPI-2026-000009", ea_kao, at(12, 2))
    breaches = [
        Breach(indicator_code="DVC-ONLINE", unit_id=bmt.id, period="2026-09", rule="target", severity="medium",
               value=70.0, expected=80.0, case_id=old.id, found_at=at(10, 11)),
        Breach(indicator_code="DVC-ONLINE", unit_id=bmt.id, period="2026-10", rule="target", severity="high",
               value=62.5, expected=80.0, case_id=open_case.id, found_at=at(11, 11)),
        Breach(indicator_code="DVC-ONLINE", unit_id=bmt.id, period="2026-10", rule="falling", severity="medium",
               value=62.5, expected=70.0, case_id=open_case.id, found_at=at(11, 11)),
        Breach(indicator_code="DVC-ONLINE", unit_id=tan_an.id, period="2026-10", rule="target", severity="low",
               value=75.0, expected=80.0, case_id=closed.id, found_at=at(11, 15)),
        Breach(indicator_code="DVC-ONLINE", unit_id=ea_kao.id, period="2026-11", rule="range", severity="critical",
               value=101.0, expected=100.0, case_id=later.id, found_at=at(12, 2)),
    ]
    session.add_all(breaches)
    session.add(BreachState(indicator_code="DVC-ONLINE", unit_id=bmt.id, status="open", streak=2,
                            last_period="2026-10", case_id=open_case.id))
    session.add(BreachState(indicator_code="DVC-ONLINE", unit_id=tan_an.id, status="ok", streak=0,
                            last_period="2026-10", last_case_id=closed.id))
    events = [
        CaseEvent(case_id=open_case.id, at=at(11, 13), kind="kpi_plan",
                  detail={"explanation": "Thiếu cán bộ", "plan": "Kế hoạch cũ", "plan_due": "2026-11-20", "round": 1}),
        CaseEvent(case_id=open_case.id, at=at(11, 16), kind="kpi_plan",
                  detail={"explanation": "Thiếu cán bộ", "plan": PLAN, "plan_due": "2026-11-25", "round": 1}),
        CaseEvent(case_id=closed.id, at=at(11, 17), kind="kpi_plan",
                  detail={"explanation": "Mạng chậm", "plan": "Nâng cấp đường truyền", "plan_due": "2026-11-27"}),
        CaseEvent(case_id=closed.id, at=at(11, 27), kind="kpi_followup", detail={"verdict": "recovered"}),
    ]
    session.add_all(events)
    session.commit()
    return {"breaches": breaches, "cases": [old, open_case, closed, later], "events": events,
            "units": (bmt, tan_an, ea_kao, ea_sup)}


def expected(session, seeded, scope: set[int]) -> dict:
    """The report's figures from the rows the test wrote, by the report's definitions."""
    bmt, tan_an, ea_kao, ea_sup = seeded["units"]
    found = [b for b in seeded["breaches"] if b.unit_id in scope and START <= b.found_at < END]
    raised = [c for c in seeded["cases"] if START <= c.created_at < END
              and (c.admin_unit_id in scope or c.responsible_unit_id in scope)]
    reporters = [u for u in session.scalars(select(AdminUnit).where(AdminUnit.active.is_(True),
                                                                    AdminUnit.kind.in_(("commune", "ward"))))
                 if u.id in scope]
    # October's values first reported by the end of November; the deadline is 10 November (local day).
    first = {bmt.id: date(2026, 11, 5), tan_an.id: date(2026, 11, 14), ea_kao.id: date(2026, 11, 9)}
    late = [u for u in reporters if u.id in first and first[u.id] > date(2026, 11, 10)]
    missing = [u for u in reporters if u.id not in first]
    # Status of October: a breach found by the end of November or an open case: breaching; short: to watch.
    red = {bmt.id, tan_an.id} & scope
    green = {ea_kao.id} & scope
    lights = {"red": len(red), "amber": 0, "green": len(green), "grey": len(reporters) - len(red) - len(green)}
    plans_late = sum(1 for c in raised if c.status != "closed" and c.code == "KPI-2026-000007")  # due 25/11
    return {"breaches": len(found), "cases_raised": len(raised),
            "cases_open": sum(1 for c in raised if c.status != "closed"),
            "plans_in": sum(1 for c in raised if any(e.case_id == c.id and e.kind == "kpi_plan"
                                                    for e in seeded["events"])),
            "plans_late": plans_late, "expected_reports": len(reporters), "late_reports": len(late),
            "missing_reports": len(missing), "lights": lights, "rows": len(reporters)}


@pytest.mark.parametrize("code", ["DLK", "P-BUON-MA-THUOT"])
def test_the_figures_are_the_databases(session, seeded, code, tmp_path):
    place = unit(session, code)
    from workflows.units import UnitDirectory

    scope = set(UnitDirectory(session).descendant_ids(place))
    want = expected(session, seeded, scope)
    report = render(session, {"type": "indicators", "unit": code, "period": "2026-11", "language": "vi"})
    s = report.summary
    assert {key: s[key] for key in want} == want
    assert s["indicators"] == 1 and s["as_of"] == END.isoformat()
    text = " ".join(" ".join(pages_text(report.pdf)).split())
    layout = pdftotext(report.pdf, tmp_path)
    assert "BÁO CÁO" in text and "Tháng 11/2026" in text
    assert NAME in text and "10/2026" in text  # the period shown: October's, due by the end of November
    assert "KPI-2026-000007" in text and PLAN in text and "25/11/2026" in text
    # Raised in November only (October's KPI-2026-000003 is named in the trend chart, by its breach, not here).
    assert [row["code"] for row in report.tables["cases"]] == sorted(
        c.code for c in seeded["cases"] if START <= c.created_at < END and (c.admin_unit_id in scope))
    assert "KPI-2026-000009" not in text  # raised in December
    assert "Kế hoạch cũ" not in text  # only the newest plan
    assert "62,5" in text and "80,0" in text  # Vietnamese numbers: decimal comma
    if code == "DLK":
        assert "KPI-2026-000008" in text and "đã đạt lại" in text.lower()
        assert f"{want['missing_reports']} báo cáo chưa gửi" in text or str(want["missing_reports"]) in layout
        assert "Phường Tân An" in text and "Xã Ea Súp" in text  # late and missing units named
    else:
        assert "Phường Tân An" not in text
    assert_fonts_embedded(report.pdf, tmp_path)


def test_the_charts_are_the_specs_the_monitoring_page_draws(session, seeded):
    report = render(session, {"type": "indicators", "unit": "P-BUON-MA-THUOT", "period": "2026-11",
                              "language": "vi"})
    spec = report.charts["trend_DVC-ONLINE"]
    admin = AccessService(session).actor(session.scalar(select(User.id).where(User.username == "admin")))
    trend = MonitoringViews(session).trend(admin, "DVC-ONLINE", "P-BUON-MA-THUOT")
    page = trend_spec(trend, lambda v: __import__("reports.i18n").i18n.translator("vi")(v), "vi")
    # The same layers, titles and rows as the page's, up to October (November's value came after the month).
    assert [layer["name"] for layer in spec["layer"]] == [layer["name"] for layer in page["layer"]]
    assert spec["title"] == page["title"]
    assert spec["data"]["values"] == [r for r in page["data"]["values"] if r["period"] <= "2026-10"]
    assert [r["value"] for r in spec["data"]["values"]] == [82.0, 78.5, 70.0, 62.5]


def test_a_period_with_no_data(session, reference_data, tmp_path):
    report = render(session, {"type": "indicators", "unit": "DLK", "period": "2026-11", "language": "vi"})
    assert report.summary["indicators"] == 0 and report.summary["breaches"] == 0
    text = " ".join(" ".join(pages_text(report.pdf)).split())
    assert "không có đơn vị nào" in text.lower() or "No unit" in text
    assert report.pages <= 2
    assert_fonts_embedded(report.pdf, tmp_path)
    english = render(session, {"type": "indicators", "unit": "DLK", "period": "2026-11", "language": "en"})
    assert "The monitoring rules found no breach in the period." in " ".join(
        " ".join(pages_text(english.pdf)).split())


def test_a_week_is_refused(session, reference_data):
    with pytest.raises(ReportParamsError) as refused:
        validate_params(session, {"type": "indicators", "unit": "DLK", "period": "2026-W48"})
    assert set(refused.value.errors) == {"period"}
    assert ISSUED > END


def test_a_unit_no_longer_active_gets_its_own_lines(session, seeded):
    ea_sup = seeded["units"][3]
    ea_sup.active = False
    session.commit()
    report = render(session, {"type": "indicators", "unit": "X-EA-SUP", "period": "2026-11", "language": "vi"})
    s = report.summary
    assert (s["expected_reports"], s["missing_reports"], s["late_reports"]) == (1, 1, 0)  # reported on 2 December
    assert "Xã Ea Súp" in " ".join(" ".join(pages_text(report.pdf)).split())
