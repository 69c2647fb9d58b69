"""The calendar page's service: a year's holidays and exceptions, and the administrator's changes.

`CalendarService` lists a year (public holidays in Vietnamese and English, the government's make-up
days, the administrator's exceptions, the office hours) and changes exceptions and hours; each change
is audited in its own transaction (workflows/admin/audit.py). Deadlines read the calendar through
`workflows.calendar.store.working_calendar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import t
from workflows.admin import audit
from workflows.calendar.models import CalendarException, WorkingHoursSetting
from workflows.calendar.store import current_hours_row, forget, working_calendar
from workflows.calendar.working_time import CalendarError, Holiday, WorkingHours, government_workdays, vietnam_holidays
from workflows.errors import CaseNotFoundError, IntakeError

NOTE_MAX = 255
MAX_ID = 2**31 - 1  # calendar_exception.id is an INTEGER
# The years the page offers and the holidays package is asked about (it computes any year; bounds keep input sane).
FIRST_YEAR, LAST_YEAR = 2000, 2100

audit.register_actions(
    {"calendar.exception_add": t("add calendar exception"), "calendar.exception_remove": t("remove calendar exception"),
     "calendar.hours": t("change working hours")},
    {"calendar_exception": t("calendar day"), "working_hours": t("working hours")})


@dataclass(frozen=True)
class ExceptionRow:
    """An administrator's exception as the page lists it."""

    id: int
    day: date
    working: bool
    note: str
    created_by: str


@dataclass(frozen=True)
class CalendarYear:
    """What the calendar page shows for one year."""

    year: int
    hours: WorkingHours
    holidays: list[Holiday]
    government_workdays: list[date]
    exceptions: list[ExceptionRow]


class CalendarService:
    """Reads and changes the calendar; every change is audited with who, when, before and after."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def year(self, year: int) -> CalendarYear:
        """The year's public holidays, the government's make-up days, the exceptions and the office hours."""
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise IntakeError({"year": t("choose a year from %(first)s to %(last)s", first=FIRST_YEAR, last=LAST_YEAR)})
        from workflows.models import User

        rows = self.session.execute(
            select(CalendarException, User.username).outerjoin(User, User.id == CalendarException.created_by_id)
            .where(CalendarException.day >= date(year, 1, 1), CalendarException.day < date(year + 1, 1, 1))
            .order_by(CalendarException.day))
        exceptions = [ExceptionRow(row.id, row.day, row.working, row.note, username or "—") for row, username in rows]
        return CalendarYear(year, working_calendar(self.session).hours, vietnam_holidays(year),
                            government_workdays(year), exceptions)

    def add_exception(self, actor: audit.Acting, day: date | None, working: bool, note: str) -> CalendarException:
        """Make `day` a day off or a make-up working day (one exception per date)."""
        note = (note or "").strip()
        problems = {}
        if day is None:
            problems["day"] = t("choose the date")
        elif not FIRST_YEAR <= day.year <= LAST_YEAR:
            problems["day"] = t("choose a year from %(first)s to %(last)s", first=FIRST_YEAR, last=LAST_YEAR)
        if not note:
            problems["note"] = t("say why (for example the decision that announced it)")
        elif len(note) > NOTE_MAX:
            problems["note"] = t("at most %(max)s characters", max=NOTE_MAX)
        if not problems and self.session.scalar(select(CalendarException.id).where(CalendarException.day == day)):
            problems["day"] = t("this date already has an exception; remove it first")
        if problems:
            raise IntakeError(problems)
        row = CalendarException(day=day, working=bool(working), note=note, created_by_id=_actor_id(actor),
                                created_at=self.clock.now())
        self.session.add(row)
        self.session.flush()
        audit.record(self.session, actor, "calendar.exception_add", _target(row), None, _state(row), clock=self.clock)
        self._changed()
        return row

    def remove_exception(self, actor: audit.Acting, exception_id: int) -> date:
        """Remove an exception: the date follows the public calendar again (returns the date)."""
        # An id past the column's integers is none of ours (PostgreSQL would refuse the query itself).
        row = self.session.get(CalendarException, exception_id) if 0 < exception_id <= MAX_ID else None
        if row is None:
            raise CaseNotFoundError(exception_id)
        audit.record(self.session, actor, "calendar.exception_remove", _target(row), _state(row), None,
                     clock=self.clock)
        self.session.delete(row)
        self._changed()
        return row.day

    def set_hours(self, actor: audit.Acting, periods: str, weekdays: list[int]) -> WorkingHours:
        """Change the office hours deadlines are counted in."""
        try:
            hours = WorkingHours.parse(periods or "", weekdays)
        except CalendarError:
            field = "weekdays" if not weekdays or not set(weekdays) <= set(range(7)) else "periods"
            message = (t("choose at least one working weekday") if field == "weekdays" else
                       t("give periods in order, such as 07:00-11:30, 13:30-17:00"))
            raise IntakeError({field: message}) from None
        before = working_calendar(self.session).hours
        setting = current_hours_row(self.session)
        if setting is None:
            setting = WorkingHoursSetting()
            self.session.add(setting)
        setting.periods, setting.weekdays = hours.periods_text(), ",".join(str(d) for d in sorted(hours.weekdays))
        setting.updated_by_id, setting.updated_at = _actor_id(actor), self.clock.now()
        self.session.flush()
        audit.record(self.session, actor, "calendar.hours", audit.Target("working_hours", setting.id,
                                                                         hours.periods_text()),
                     _hours_state(before), _hours_state(hours), clock=self.clock)
        self._changed()
        return hours

    def _changed(self) -> None:
        forget(self.session)


def _actor_id(actor: audit.Acting) -> int | None:
    return getattr(actor, "user_id", None) or getattr(actor, "id", None)


def _target(row: CalendarException) -> audit.Target:
    return audit.Target("calendar_exception", row.day.isoformat(), row.day.strftime("%d/%m/%Y"))


def _state(row: CalendarException) -> dict:
    return {"day": row.day, "working": row.working, "note": row.note}


def _hours_state(hours: WorkingHours) -> dict:
    return {"periods": hours.periods_text(), "weekdays": sorted(hours.weekdays)}
