"""Report periods: ISO weeks and months in local dates, their neighbours, labels and UTC bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from reports.i18n import translator
from reports.periods import PeriodError, ReportPeriod


def test_a_week_is_monday_to_sunday_and_its_label_says_the_days():
    week = ReportPeriod.parse("2026-W48")
    assert (week.kind, week.start, week.end, week.key) == ("week", date(2026, 11, 23), date(2026, 11, 30), "2026-W48")
    assert week.label() == "Week 48 (23/11–29/11/2026)"
    assert translator("vi")(week.label()) == "Tuần 48 (23/11–29/11/2026)"


def test_a_month_in_the_iso_and_the_vietnamese_ways_of_writing_it():
    for text in ("2026-11", "11/2026", "T11/2026", "Tháng 11/2026"):
        month = ReportPeriod.parse(text)
        assert (month.kind, month.start, month.end, month.key) == ("month", date(2026, 11, 1), date(2026, 12, 1),
                                                                   "2026-11")
    assert ReportPeriod.parse("2026-11").label() == "Month 11/2026"
    assert translator("vi")(ReportPeriod.parse("2026-11").label()) == "Tháng 11/2026"


@pytest.mark.parametrize("text", ["", "2026-13", "2026-W54", "1999-01", "next month", "2026-Q1"])
def test_what_is_not_a_period_is_refused_with_words(text):
    with pytest.raises(PeriodError) as caught:
        ReportPeriod.parse(text)
    assert str(caught.value.message)


def test_neighbours_previous_and_a_year_before():
    assert ReportPeriod.parse("2026-01").previous().key == "2025-12"
    assert ReportPeriod.parse("2026-03").year_before().key == "2025-03"
    assert ReportPeriod.parse("2026-W01").previous().key == "2025-W52"
    assert ReportPeriod.parse("2026-W48").year_before().key == "2025-W48"
    assert ReportPeriod.parse("2026-W53").year_before().key == "2025-W52"  # 2025 has 52 weeks


def test_utc_range_starts_at_local_midnight():
    start, end = ReportPeriod.parse("2026-11").utc_range()
    assert start == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def test_containing_and_last_complete_read_the_moment_in_local_time():
    # 20:00 UTC on Sunday 29/11 is already Monday 30/11 in Vietnam.
    moment = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert ReportPeriod.containing("week", moment).key == "2026-W49"
    assert ReportPeriod.last_complete("week", moment).key == "2026-W48"
    assert ReportPeriod.last_complete("month", datetime(2026, 11, 30, 17, 30, tzinfo=UTC)).key == "2026-11"
    assert ReportPeriod.parse("2026-12").is_future(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    assert not ReportPeriod.parse("2026-12").is_future(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
