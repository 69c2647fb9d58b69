"""A report's period: an ISO week or a calendar month, in local dates (Asia/Ho_Chi_Minh).

Keys are what the archive keeps and the command line takes: "2026-W48" (ISO week 48 of 2026, Monday 23/11
to Sunday 29/11) and "2026-11". The end is exclusive, so a period is the half-open range [start, end) of local
days; `utc_range` turns it into the UTC moments the database compares with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.i18n import Text, t

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = ("week", "month")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_MONTH_VN = re.compile(r"^(?:(?:th[aá]ng|t)\s*)?(\d{1,2})\s*/\s*(\d{4})$", re.I)


class PeriodError(ValueError):
    """A period that cannot be read; `message` says why in the reader's language."""

    def __init__(self, message: Text):
        super().__init__(str(message))
        self.message = message


def _add_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """A week (Monday to Sunday) or a month; `end` is the first day after it."""

    kind: str
    start: date
    end: date

    # ------------------------------------------------------------------ reading
    @classmethod
    def parse(cls, text: str) -> ReportPeriod:
        """The period `text` names: 2026-W48, 2026-11 (also 11/2026, T11/2026); PeriodError otherwise."""
        raw = " ".join(str(text or "").split())
        if not raw:
            raise PeriodError(t("the period is empty"))
        m = _WEEK.match(raw)
        if m:
            year, week = int(m.group(1)), int(m.group(2))
            cls._check_year(year, raw)
            try:
                start = date.fromisocalendar(year, week, 1)
            except ValueError:
                raise PeriodError(t("%(text)s: no such week", text=raw)) from None
            return cls("week", start, start + timedelta(days=7))
        m = _MONTH.match(raw)
        year_month = (int(m.group(1)), int(m.group(2))) if m else None
        if year_month is None:
            m = _MONTH_VN.match(raw)
            year_month = (int(m.group(2)), int(m.group(1))) if m else None
        if year_month is None:
            raise PeriodError(t("%(text)s is not a week or a month (write 2026-W48 or 2026-11)", text=raw))
        year, month = year_month
        cls._check_year(year, raw)
        if not 1 <= month <= 12:
            raise PeriodError(t("%(text)s: no such month", text=raw))
        start = date(year, month, 1)
        return cls("month", start, _add_month(start, 1))

    @staticmethod
    def _check_year(year: int, raw: str) -> None:
        if not 2000 <= year <= 2100:
            raise PeriodError(t("%(text)s: the year must be between 2000 and 2100", text=raw))

    @classmethod
    def containing(cls, kind: str, moment: datetime | date) -> ReportPeriod:
        """The week or month that holds `moment` (an aware datetime is read in local time)."""
        day = moment.astimezone(LOCAL).date() if isinstance(moment, datetime) else moment
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls("week", start, start + timedelta(days=7))
        if kind == "month":
            start = day.replace(day=1)
            return cls("month", start, _add_month(start, 1))
        raise PeriodError(t("unknown period kind %(kind)s", kind=kind))

    @classmethod
    def last_complete(cls, kind: str, now: datetime) -> ReportPeriod:
        """The latest week or month that has ended by `now` (what a scheduled report covers)."""
        return cls.containing(kind, now).previous()

    # ------------------------------------------------------------------ naming
    @property
    def key(self) -> str:
        """2026-W48 or 2026-11."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    def label(self) -> Text:
        """"Week 48 (23/11–29/11/2026)" or "Month 11/2026", in the reader's language."""
        if self.kind == "week":
            last = self.end - timedelta(days=1)
            return t("Week %(week)s (%(first)s–%(last)s)", week=self.start.isocalendar()[1],
                     first=self.start.strftime("%d/%m"), last=last.strftime("%d/%m/%Y"))
        return t("Month %(month)s/%(year)s", month=f"{self.start.month:02d}", year=self.start.year)

    def __str__(self) -> str:
        return self.key

    # ------------------------------------------------------------------ neighbours and bounds
    def previous(self) -> ReportPeriod:
        """The period just before this one."""
        if self.kind == "week":
            return ReportPeriod("week", self.start - timedelta(days=7), self.start)
        return ReportPeriod("month", _add_month(self.start, -1), self.start)

    def year_before(self) -> ReportPeriod:
        """The same period a year earlier (the same ISO week number, or the same month)."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            try:
                start = date.fromisocalendar(year - 1, week, 1)
            except ValueError:  # week 53 in a year of 52 weeks
                start = date.fromisocalendar(year - 1, 52, 1)
            return ReportPeriod("week", start, start + timedelta(days=7))
        start = date(self.start.year - 1, self.start.month, 1)
        return ReportPeriod("month", start, _add_month(start, 1))

    def utc_range(self) -> tuple[datetime, datetime]:
        """The UTC moments of local midnight at `start` and at `end` (half-open)."""
        return (datetime.combine(self.start, time(), LOCAL).astimezone(UTC),
                datetime.combine(self.end, time(), LOCAL).astimezone(UTC))

    def is_future(self, now: datetime) -> bool:
        """Whether the period has not begun by `now`."""
        return self.utc_range()[0] > now
