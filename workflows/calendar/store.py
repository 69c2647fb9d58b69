"""The calendar deadlines are counted in, read from the database once per session (like units)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.calendar.models import CalendarException, WorkingHoursSetting
from workflows.calendar.working_time import DayException, WorkingCalendar, WorkingHours

CACHE_KEY = "ioc_working_calendar"
# "Due soon" (task list tab, dashboard): within the next working day, and at least the next 24 hours.
DUE_SOON_WORKING_HOURS = 8
DUE_SOON_AT_LEAST = timedelta(hours=24)


def working_calendar(session: Session) -> WorkingCalendar:
    """The office hours and the administrator's exceptions over Vietnam's holidays (remembered by the session)."""
    cached = session.info.get(CACHE_KEY)
    if cached is None:
        setting = current_hours_row(session)
        hours = hours_of(setting) if setting is not None else WorkingHours()
        rows = session.execute(select(CalendarException.day, CalendarException.working, CalendarException.note))
        cached = session.info[CACHE_KEY] = WorkingCalendar(hours, [DayException(*row) for row in rows])
    return cached


def due_soon_until(session: Session, now: datetime) -> datetime:
    """Where "due soon" ends: a working day's hours from `now` (Friday afternoon reaches Monday), 24 h at least."""
    return max(now + DUE_SOON_AT_LEAST, working_calendar(session).add_working_hours(now, DUE_SOON_WORKING_HOURS))


def forget(session: Session) -> None:
    """Read the calendar again at its next use in this session (after a change)."""
    session.info.pop(CACHE_KEY, None)


def current_hours_row(session: Session) -> WorkingHoursSetting | None:
    """The stored office hours, if an administrator set them."""
    return session.scalar(select(WorkingHoursSetting).order_by(WorkingHoursSetting.id).limit(1))


def hours_of(setting: WorkingHoursSetting) -> WorkingHours:
    """The stored office hours as a value."""
    return WorkingHours.parse(setting.periods, [int(d) for d in setting.weekdays.split(",") if d.strip()])
