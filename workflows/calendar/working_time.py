"""Working time: SLA hours and days counted over the working hours of state offices, in Vietnam's time.

Plain values and arithmetic, no database: `WorkingCalendar` is given the working hours and the
exceptions an administrator recorded (days off, make-up working days), and knows Vietnam's public
holidays, Tết included, from the `holidays` package (which follows the lunar calendar, the Labour
Code's days and the government's announced swaps). `workflows.calendar.service` builds one from the
database.

Rules (the same everywhere a deadline is computed):
- a day is a working day when an exception says so; otherwise when it is no public holiday and its
  weekday is a working weekday (a make-up Saturday the government announced counts as working);
- time is counted only inside the day's working periods (Asia/Ho_Chi_Minh; Vietnam keeps no
  daylight saving, so a local wall time is one instant); a start outside them counts from the next
  period's opening; a deadline that ends exactly at a period's close is that close (17:00), not
  the next morning;
- N working days are N times the hours of a working day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
# A calendar with no working day for this long is a mistake (every day made a day off), not a deadline.
_MAX_IDLE_DAYS = 366


class CalendarError(ValueError):
    """Working hours or exceptions that cannot make a deadline (no period, overlapping periods…)."""


@dataclass(frozen=True)
class WorkingHours:
    """The periods of a working day (local times) and the weekdays that are working days (Monday = 0)."""

    # Office hours of the province's state bodies: 8 hours a day, 40 a week (Quyết định 188/1999/QĐ-TTg);
    # 07:00–11:30 and 13:30–17:00 is the Central Highlands' usual split (Đắk Nông QĐ 22/2014/QĐ-UBND).
    periods: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarError("a working day needs at least one period")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise CalendarError("working weekdays must be some of 0 (Monday) … 6 (Sunday)")
        previous_end = None
        for start, end in self.periods:
            if start >= end:
                raise CalendarError(f"period {start:%H:%M}–{end:%H:%M} ends before it starts")
            if previous_end is not None and start < previous_end:
                raise CalendarError("periods must be in order and must not overlap")
            previous_end = end

    @property
    def hours_per_day(self) -> float:
        """Working hours in one working day."""
        return sum(_seconds(start, end) for start, end in self.periods) / 3600

    def periods_text(self) -> str:
        """The periods as typed: "07:00-11:30, 13:30-17:00"."""
        return ", ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in self.periods)

    @classmethod
    def parse(cls, periods: str, weekdays: Iterable[int] = (0, 1, 2, 3, 4)) -> WorkingHours:
        """Working hours from text such as "07:00-11:30, 13:30-17:00" (raises CalendarError)."""
        parsed = []
        for part in filter(None, (p.strip() for p in periods.split(","))):
            match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})", part)
            if not match:
                raise CalendarError(f"{part!r} is not a period such as 07:00-11:30")
            h1, m1, h2, m2 = (int(x) for x in match.groups())
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                raise CalendarError(f"{part!r} is not a time of day")
            parsed.append((time(h1, m1), time(h2, m2)))
        return cls(tuple(parsed), frozenset(int(d) for d in weekdays))


@dataclass(frozen=True)
class DayException:
    """A date an administrator made a day off (working=False) or a make-up working day (working=True)."""

    day: date
    working: bool
    note: str = ""


@dataclass(frozen=True)
class Holiday:
    """A public holiday as the `holidays` package names it, in Vietnamese and English."""

    day: date
    name_vi: str
    name_en: str


@lru_cache(maxsize=32)
def _vietnam(year: int, language: str) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays("VN", years=year, language=language)


def vietnam_holidays(year: int) -> list[Holiday]:
    """Vietnam's public holidays of a year (Tết from the lunar calendar, observed and swapped days)."""
    vi, en = _vietnam(year, "vi"), _vietnam(year, "en_US")
    return [Holiday(day, vi[day], en.get(day, vi[day])) for day in sorted(vi)]


def government_workdays(year: int) -> list[date]:
    """Weekend days of `year` the government made working days in exchange for a day off (ngày làm bù)."""
    return sorted(day for day in _vietnam(year, "vi").weekend_workdays if day.year == year)


@dataclass
class WorkingCalendar:
    """Counts working time: public holidays, working hours, and the administrator's exceptions."""

    hours: WorkingHours = field(default_factory=WorkingHours)
    exceptions: Iterable[DayException] = ()

    def __post_init__(self) -> None:
        self._exceptions = {e.day: e for e in self.exceptions}

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on `day` (the administrator's exception first, then holidays and weekdays)."""
        exception = self._exceptions.get(day)
        if exception is not None:
            return exception.working
        official = _vietnam(day.year, "vi")
        if day in official:
            return False
        return day.weekday() in self.hours.weekdays or day in official.weekend_workdays

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of `day` as aware local datetimes (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, start, LOCAL), datetime.combine(day, end, LOCAL))
                for start, end in self.hours.periods]

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` working hours after `start` (aware), in UTC."""
        if hours < 0:
            raise CalendarError("working hours to add must not be negative")
        left = timedelta(hours=hours)
        moment = _local(start)
        day, idle = moment.date(), 0
        while True:
            periods = self.periods_on(day)
            for open_at, close_at in periods:
                if close_at <= moment:
                    continue
                begin = max(open_at, moment)
                if begin + left <= close_at:
                    return (begin + left).astimezone(UTC)
                left -= close_at - begin
            idle = 0 if periods else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise CalendarError("no working day in a whole year: check the calendar's days off")
            day += timedelta(days=1)

    def subtract_working_hours(self, end: datetime, hours: float) -> datetime:
        """The moment `hours` working hours before `end` (aware), in UTC: add_working_hours walked backwards."""
        if hours < 0:
            raise CalendarError("working hours to subtract must not be negative")
        left = timedelta(hours=hours)
        moment = _local(end)
        day, idle = moment.date(), 0
        while True:
            periods = self.periods_on(day)
            for open_at, close_at in reversed(periods):
                if open_at >= moment:
                    continue
                finish = min(close_at, moment)
                if finish - left >= open_at:
                    return (finish - left).astimezone(UTC)
                left -= finish - open_at
            idle = 0 if periods else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise CalendarError("no working day in a whole year: check the calendar's days off")
            day -= timedelta(days=1)

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The moment `days` working days after `start`: that many times a working day's hours."""
        return self.add_working_hours(start, days * self.hours.hours_per_day)

    def next_working_moment(self, start: datetime) -> datetime:
        """`start` if offices are at work then, else the opening of the next working period (UTC)."""
        return self.add_working_hours(start, 0)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from `start` to `end` (negative when `end` comes first)."""
        if end < start:
            return -self.working_hours_between(end, start)
        begin, finish = _local(start), _local(end)
        total, day = 0.0, begin.date()
        while day <= finish.date():
            for open_at, close_at in self.periods_on(day):
                lo, hi = max(open_at, begin), min(close_at, finish)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total / 3600


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise CalendarError("a moment without a time zone cannot be placed in working time")
    return moment.astimezone(LOCAL)


def _seconds(start: time, end: time) -> float:
    return (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds()
