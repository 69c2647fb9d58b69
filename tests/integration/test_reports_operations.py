"""The operations report against the database: every figure computed again here from the rows the test
wrote, then read back from the PDF; on SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reports.bench import make_cases
from reports.catalog import ReportParamsError
from reports.periods import ReportPeriod
from reports.render import format_number, format_percent
from tests.integration.reports_helpers import ISSUED, assert_fonts_embedded, pages_text, render
from workflows.models import AdminUnit, Category

PERIOD = ReportPeriod.parse("2026-11")


def ids(session, *codes):
    return [session.scalar(select(AdminUnit.id).where(AdminUnit.code == code)) for code in codes]


@pytest.fixture
def data(session, reference_data):
    """Cases of November 2026 (and of October, of November 2025, older open ones, some after the month) in
    three wards and communes, handled by them or by two departments."""
    places = ids(session, "P-BUON-MA-THUOT", "P-TAN-LAP", "X-HOA-PHU")
    bodies = ids(session, "SXD", "SYT")
    categories = list(session.scalars(select(Category.code).where(Category.internal.is_(False))))[:6]
    out = []
    for seed, (start, end, count) in enumerate([
            (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), datetime(2026, 11, 30, 18, 0, tzinfo=UTC), 260),
            (datetime(2026, 9, 30, 17, 0, tzinfo=UTC), datetime(2026, 10, 31, 17, 0, tzinfo=UTC), 120),
            (datetime(2025, 10, 31, 17, 0, tzinfo=UTC), datetime(2025, 11, 30, 17, 0, tzinfo=UTC), 80),
            (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC), 60)]):
        out.append(make_cases(session, count, start, end, places, bodies, categories, seed=seed,
                              now=min(end + timedelta(days=20), PERIOD.utc_range()[1])))
    cases = [row for g in out for row in g.cases]
    events = [row for g in out for row in g.events]
    ratings = [row for g in out for row in g.ratings]
    return cases, events, ratings


def expected(cases, events, ratings, period: ReportPeriod, scope: set[int] | None) -> dict:
    """The report's figures, computed from the rows as the report's definitions say."""
    start, end = period.utc_range()
    as_of = min(ISSUED, end)
    mine = [c for c in cases if c["merged_into_id"] is None and (
        scope is None or c["admin_unit_id"] in scope or c["responsible_unit_id"] in scope)]
    mine_ids = {c["id"] for c in mine}

    def resolved(c):
        return c["resolved_at"] is not None and c["resolved_at"] < as_of

    def open_overdue(c):
        return (c["created_at"] < as_of and (c["resolved_at"] is None or c["resolved_at"] >= as_of)
                and (c["closed_at"] is None or c["closed_at"] >= as_of)
                and ((c["due_at"] is not None and c["due_at"] < as_of) or c["escalation_level"] > 0))

    received = [c for c in mine if start <= c["created_at"] < end]
    done = [c for c in received if resolved(c)]
    on_time = [c for c in done if c["due_at"] is not None and c["resolved_at"] <= c["due_at"]
               and c["escalation_level"] == 0]
    late = [c for c in received if open_overdue(c)]
    spans = [(c["resolved_at"] - c["created_at"]).total_seconds() / 3600 for c in mine
             if c["resolved_at"] is not None and start <= c["resolved_at"] < end]
    in_period = [e for e in events if e["case_id"] in mine_ids and start <= e["at"] < end]
    rated = [r for r in ratings if r["case_id"] in mine_ids and start <= r["created_at"] < end]
    by_channel: dict[str, int] = {}
    for c in received:
        by_channel[c["channel"]] = by_channel.get(c["channel"], 0) + 1
    judged = len(done) + len(late)
    return {
        "received": len(received), "resolved": len(done), "resolved_on_time": len(on_time),
        "open_overdue_received": len(late),
        "on_time_share": round(len(on_time) / judged, 4) if judged else None,
        "median_hours": round(statistics.median(spans), 1) if spans else None,
        "overdue": sum(1 for c in mine if open_overdue(c)),
        "escalations": sum(1 for e in in_period if e["kind"] == "escalated"),
        "reopenings": sum(1 for e in in_period if e["kind"] == "reopened"),
        "ratings": len(rated), "satisfied": sum(1 for r in rated if r["satisfied"]),
        "by_channel": by_channel,
        "overdue_list": [(c["code"], (as_of - since).days) for since, _id, c in sorted(
            (late_since(c, events, as_of), c["id"], c) for c in mine if open_overdue(c))],
    }


def late_since(case, events, as_of):
    """When a case became late: its first escalation before `as_of`, else its deadline."""
    escalations = [e["at"] for e in events if e["case_id"] == case["id"] and e["kind"] == "escalated"
                   and e["at"] < as_of]
    if escalations and (case["due_at"] is None or min(escalations) < case["due_at"]):
        return min(escalations)
    return case["due_at"]


@pytest.mark.parametrize("unit", ["DLK", "P-BUON-MA-THUOT"])
def test_the_figures_are_the_databases(session, data, unit, tmp_path):
    cases, events, ratings = data
    report = render(session, {"type": "operations", "unit": unit, "period": "2026-11", "language": "vi"})
    scope = None if unit == "DLK" else set(ids(session, unit))
    want = expected(cases, events, ratings, PERIOD, scope)
    got = report.summary
    assert want["received"] > 20 and want["overdue"] > 5 and want["escalations"] and want["ratings"]
    for key in ("received", "resolved", "resolved_on_time", "open_overdue_received", "on_time_share", "overdue",
                "escalations", "reopenings", "ratings", "satisfied", "by_channel"):
        assert got[key] == want[key], key
    assert got["median_hours"] == pytest.approx(want["median_hours"], abs=0.051)
    # The previous period and the same month last year, each taken at its own end.
    for key, period in (("previous", PERIOD.previous()), ("year_before", PERIOD.year_before())):
        then = expected(cases, events, ratings, period, scope)
        assert {k: got[key][k] for k in ("received", "resolved", "overdue", "escalations", "ratings")} == \
               {k: then[k] for k in ("received", "resolved", "overdue", "escalations", "ratings")}, key

    # The same figures, written the Vietnamese way, in the PDF.
    flat = " ".join(" ".join(pages_text(report.pdf)).split())
    assert (f"Trong kỳ đã tiếp nhận {format_number(want['received'])} phản ánh, trong đó "
            f"{format_number(want['resolved'])} phản ánh đã được giải quyết") in flat
    assert f"là {format_percent(want['on_time_share'])}" in flat
    assert f"Thời gian giải quyết trung vị là {format_number(got['median_hours'], 1)} giờ" in flat
    assert f"Có {format_number(want['overdue'])} phản ánh quá hạn chưa giải quyết" in flat
    assert "Tháng 11/2026" in flat and "Tháng 10/2026" in flat and "Tháng 11/2025" in flat
    for typed in ("Ủy ban nhân dân", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                  "Đắk Lắk, ngày 04 tháng 12 năm 2026", "Số: 15/BC-IOC", "Phản ánh hiện trường", "Tổng đài 1022"):
        assert typed in flat, typed
    # Every overdue case is listed (fewer than the table's limit here), longest late first, with its days late
    # (since its first escalation, which came at its deadline, or since its deadline) and its unit.
    assert [(row["code"], row["days_late"]) for row in report.tables["overdue"]] == want["overdue_list"]
    squeezed = "".join(flat.split())
    assert all(code in squeezed for code, _days in want["overdue_list"])
    assert_fonts_embedded(report.pdf, tmp_path)


def test_the_charts_are_the_same_specs_the_page_draws(session, data):
    from reports import catalog
    from reports.i18n import translator

    report = render(session, {"type": "operations", "unit": "DLK", "period": "2026-11", "language": "en"})
    params = catalog.ReportParams(type="operations", unit="DLK", period="2026-11", language="en")
    from engine.clock import FrozenClock, using

    with using(FrozenClock(ISSUED)):
        data_again = catalog.get("operations").collect(session, params, translator("en"))
    assert report.charts == data_again.charts
    channel = report.charts["by_channel"]
    assert {row["count"] for row in channel["data"]["values"]} == set(report.summary["by_channel"].values())
    assert channel["config"]["locale"]["number"]["decimal"] == "."


def test_a_period_with_no_data(session, reference_data, tmp_path):
    report = render(session, {"type": "operations", "unit": "DLK", "period": "2026-W45", "language": "vi"})
    flat = " ".join(" ".join(pages_text(report.pdf)).split())
    assert "Trong kỳ không tiếp nhận phản ánh nào." in flat and "Không có phản ánh nào quá hạn." in flat
    assert "Tuần 45 (02/11–08/11/2026)" in flat
    assert report.summary["received"] == 0 and report.summary["on_time_share"] is None
    assert report.summary["median_hours"] is None and report.pages <= 2
    assert_fonts_embedded(report.pdf, tmp_path)


def test_parameters_are_checked_against_the_live_lists(session, reference_data):
    with pytest.raises(ReportParamsError) as caught:
        render(session, {"type": "operations", "unit": "NO-SUCH", "period": "2027-01", "language": "fr"})
    errors = caught.value.errors
    assert set(errors) == {"unit", "period", "language"}
    assert errors["unit"] == "there is no unit with the code NO-SUCH"
    assert errors["period"] == "Month 01/2027 has not begun yet"
    with pytest.raises(ReportParamsError) as caught:
        render(session, {"type": "nothing"})
    assert set(caught.value.errors) == {"type"}


# The command on SQLite, as the other command tests run (the figures are checked on both databases above); on
# PostgreSQL a connection of the app the runner builds is left for the collector, which psycopg warns about.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ioc_report_writes_the_pdf_and_says_what_is_wrong(session, data, db_url, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import main

    session.close()  # SQLite: the command writes nothing, but let it have the file to itself
    env = {"IOC_DATABASE_URL": db_url, "IOC_LANG": "vi", "IOC_FILES_DIR": str(tmp_path / "files")}
    out = tmp_path / "bao-cao.pdf"
    result = CliRunner().invoke(main, ["report", "operations", "--unit", "DLK", "--period", "2026-11",
                                       "-o", str(out)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Đang tổng hợp số liệu" in result.output and f"Đã ghi {out}" in result.output
    flat = " ".join(" ".join(pages_text(out.read_bytes())).split())
    assert "Tình hình tiếp nhận, xử lý phản ánh, kiến nghị: tỉnh Đắk Lắk" in flat and "Tháng 11/2026" in flat
    result = CliRunner().invoke(main, ["report", "operations", "--unit", "NOPE", "--period", "2026-13", "--lang", "en",
                                       "-o", str(tmp_path / "x.pdf")], env={**env, "IOC_LANG": "en"},
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert "unit: there is no unit with the code NOPE" in result.output
    assert "period: 2026-13: no such month" in result.output and not (tmp_path / "x.pdf").exists()
