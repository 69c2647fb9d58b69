"""Working time: deadlines skip nights, lunch, weekends, public holidays (Tết) and the administrator's days off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workflows.calendar import (
    LOCAL,
    CalendarError,
    DayException,
    WorkingCalendar,
    WorkingHours,
    government_workdays,
    vietnam_holidays,
)


def at(y, mo, d, h=0, mi=0):
    """A local moment in Vietnam."""
    return datetime(y, mo, d, h, mi, tzinfo=LOCAL)


CAL = WorkingCalendar()


def test_default_hours_are_eight_a_day_monday_to_friday():
    assert CAL.hours.hours_per_day == 8
    assert CAL.hours.periods_text() == "07:00-11:30, 13:30-17:00"
    assert CAL.hours.weekdays == frozenset(range(5))


def test_hours_inside_a_period_and_across_lunch():
    assert CAL.add_working_hours(at(2026, 12, 2, 8), 2) == at(2026, 12, 2, 10)
    # 10:30 + 2 h: one hour before lunch, one after it
    assert CAL.add_working_hours(at(2026, 12, 2, 10, 30), 2) == at(2026, 12, 2, 14, 30)


def test_result_is_utc_and_the_same_instant():
    due = CAL.add_working_hours(at(2026, 12, 2, 8), 1)
    assert due.tzinfo == UTC and due == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def test_a_deadline_that_ends_at_closing_time_is_that_closing_time():
    assert CAL.add_working_hours(at(2026, 12, 2, 16), 1) == at(2026, 12, 2, 17)
    assert CAL.add_working_hours(at(2026, 12, 2, 7), 8) == at(2026, 12, 2, 17)


def test_a_start_outside_working_hours_counts_from_the_next_opening():
    assert CAL.add_working_hours(at(2026, 12, 2, 5, 10), 1) == at(2026, 12, 2, 8)       # before opening
    assert CAL.add_working_hours(at(2026, 12, 2, 12, 15), 1) == at(2026, 12, 2, 14, 30)  # lunch
    assert CAL.add_working_hours(at(2026, 12, 2, 20), 1) == at(2026, 12, 3, 8)         # evening
    assert CAL.next_working_moment(at(2026, 12, 2, 17)) == at(2026, 12, 3, 7)


def test_the_weekend_is_skipped():
    # Friday 4 December 2026, 16:00 + 3 h: one on Friday, two on Monday
    assert CAL.add_working_hours(at(2026, 12, 4, 16), 3) == at(2026, 12, 7, 9)
    # Saturday counts from Monday morning
    assert CAL.add_working_hours(at(2026, 12, 5, 10), 1) == at(2026, 12, 7, 8)


def test_tet_2027_is_skipped():
    # Wednesday 3 February 2027 is the last working day before Tết (Thursday 4 – Wednesday 10 February off)
    assert [CAL.is_working_day(date(2027, 2, d)) for d in range(3, 12)] == \
        [True, False, False, False, False, False, False, False, True]
    start = at(2027, 2, 3, 16, 30)
    assert CAL.add_working_hours(start, 0.5) == at(2027, 2, 3, 17)
    assert CAL.add_working_hours(start, 1) == at(2027, 2, 11, 7, 30)
    # 16 working hours: half an hour on the 3rd, 8 on Thursday the 11th, 7.5 on Friday the 12th
    assert CAL.add_working_hours(start, 16) == at(2027, 2, 12, 16, 30)
    assert CAL.working_hours_between(start, at(2027, 2, 12, 16, 30)) == 16


def test_a_public_holiday_on_a_weekday_is_skipped():
    # Tuesday 1 September 2026 and Wednesday 2 (National Day) are off, and Monday 31 August (swapped)
    assert not CAL.is_working_day(date(2026, 9, 1)) and not CAL.is_working_day(date(2026, 9, 2))
    assert CAL.add_working_hours(at(2026, 8, 28, 16), 2) == at(2026, 9, 3, 8)


def test_the_governments_make_up_saturday_is_a_working_day():
    # 31 August 2026 (Monday) is off in exchange for Saturday 22 August, which offices work
    assert date(2026, 8, 22) in government_workdays(2026)
    assert CAL.is_working_day(date(2026, 8, 22)) and not CAL.is_working_day(date(2026, 8, 31))
    assert CAL.add_working_hours(at(2026, 8, 21, 16), 2) == at(2026, 8, 22, 8)


def test_an_administrators_make_up_saturday_and_day_off():
    saturday, monday = date(2026, 12, 5), date(2026, 12, 7)
    cal = WorkingCalendar(exceptions=[DayException(saturday, True, "làm bù"), DayException(monday, False, "nghỉ")])
    assert cal.add_working_hours(at(2026, 12, 4, 16), 3) == at(2026, 12, 5, 9)
    assert cal.add_working_hours(at(2026, 12, 5, 16), 3) == at(2026, 12, 8, 9)
    # an exception beats a public holiday too: offices open on Tết's first weekday if the admin says so
    cal = WorkingCalendar(exceptions=[DayException(date(2027, 2, 4), True)])
    assert cal.add_working_hours(at(2027, 2, 3, 16, 30), 1) == at(2027, 2, 4, 7, 30)


def test_working_days_are_days_of_hours():
    assert CAL.add_working_days(at(2026, 12, 2, 16, 30), 1) == at(2026, 12, 3, 16, 30)
    assert CAL.add_working_days(at(2026, 12, 4, 9), 2) == at(2026, 12, 8, 9)
    assert CAL.add_working_days(at(2027, 2, 3, 9), 1) == at(2027, 2, 11, 9)


def test_configured_hours_are_used():
    hours = WorkingHours.parse("07:30-11:30, 13:30-17:00", weekdays=[0, 1, 2, 3, 4, 5])
    cal = WorkingCalendar(hours)
    assert hours.hours_per_day == 7.5
    assert cal.add_working_hours(at(2026, 12, 2, 7), 1) == at(2026, 12, 2, 8, 30)
    assert cal.add_working_hours(at(2026, 12, 4, 16), 2) == at(2026, 12, 5, 8, 30)  # Saturday works here


def test_subtracting_walks_back_over_lunch_weekends_and_tet():
    assert CAL.subtract_working_hours(at(2026, 12, 2, 14, 30), 2) == at(2026, 12, 2, 10, 30)
    assert CAL.subtract_working_hours(at(2026, 12, 7, 9), 3) == at(2026, 12, 4, 16)
    assert CAL.subtract_working_hours(at(2026, 12, 6, 12), 1) == at(2026, 12, 4, 16)  # from a Sunday
    assert CAL.subtract_working_hours(at(2027, 2, 12, 16, 30), 16) == at(2027, 2, 3, 16, 30)


def test_working_hours_between():
    assert CAL.working_hours_between(at(2026, 12, 4, 16), at(2026, 12, 7, 9)) == 3
    assert CAL.working_hours_between(at(2026, 12, 7, 9), at(2026, 12, 4, 16)) == -3
    assert CAL.working_hours_between(at(2026, 12, 5, 9), at(2026, 12, 6, 9)) == 0


@pytest.mark.parametrize("text", ["", "7-11", "11:30-07:00", "07:00-11:30, 11:00-17:00", "25:00-26:00"])
def test_bad_working_hours_are_refused(text):
    with pytest.raises(CalendarError):
        WorkingHours.parse(text)


def test_a_calendar_without_working_days_says_so_instead_of_looping():
    with pytest.raises(CalendarError):
        WorkingHours(weekdays=frozenset())
    offs = [DayException(date(2026, 12, 1) + timedelta(days=i), False) for i in range(800)]
    with pytest.raises(CalendarError):
        WorkingCalendar(exceptions=offs).add_working_hours(at(2026, 12, 1, 8), 1)


def test_naive_moments_are_refused():
    with pytest.raises(CalendarError):
        CAL.add_working_hours(datetime(2026, 12, 2, 8), 1)


def test_holidays_in_both_languages_tet_2027():
    days = {h.day: h for h in vietnam_holidays(2027)}
    assert days[date(2027, 2, 6)].name_vi == "Tết Nguyên Đán" and days[date(2027, 2, 6)].name_en == "Lunar New Year"
    tet = [d for d in days if date(2027, 2, 1) <= d <= date(2027, 2, 28)]
    assert tet == [date(2027, 2, d) for d in range(4, 11)]
