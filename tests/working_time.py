"""Moving a test's clock by working time: SLA deadlines count office hours, not wall-clock hours.

The default calendar (no administrator's exceptions) is the one a fresh test database has.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.calendar import LOCAL, WorkingCalendar

CALENDAR = WorkingCalendar()


def local(*parts: int) -> datetime:
    """A moment in Vietnam's time."""
    return datetime(*parts, tzinfo=LOCAL)


def working(moment: datetime, hours: float) -> datetime:
    """The moment `hours` working hours after `moment`."""
    return CALENDAR.add_working_hours(moment, hours)


def advance_working(clock, hours: float, **extra: float) -> datetime:
    """Move a FrozenClock `hours` working hours on, plus `extra` wall-clock time (seconds=1)."""
    clock.set(working(clock.now(), hours) + timedelta(**extra))
    return clock.now()
