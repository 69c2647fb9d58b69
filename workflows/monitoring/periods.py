"""Reporting periods: a month, a quarter, a year, or a year to date, with their keys, bounds and deadlines.

Keys are what the database keeps and files may carry: "2026-03" (a month, or the year to the end of March
for a cumulative indicator), "2026-Q1", "2026". `parse` also reads the forms people type in Vietnam:
"03/2026", "T3/2026", "Tháng 3/2026", "Q1/2026", "Quý I/2026", "Quý 1 năm 2026", "Năm 2026".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from engine.i18n import Text, t

KINDS = ("monthly", "quarterly", "yearly", "ytd")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_MONTH = re.compile(r"^(?:(?:th[aá]ng|t)\s*)?(\d{1,2})\s*[/.-]\s*(\d{4})$", re.I)
_MONTH_ISO = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(?:q|qu[yý])\s*(\d|i{1,3}|iv)\s*(?:[/.-]|\s+n[aă]m\s+|\s+)\s*(\d{4})$", re.I)
_QUARTER_ISO = re.compile(r"^(\d{4})\s*-\s*q(\d)$", re.I)
_YEAR = re.compile(r"^(?:n[aă]m\s+)?(\d{4})$", re.I)


class PeriodError(ValueError):
    """A period that cannot be read for this kind; `message` says why in the reader's language."""

    def __init__(self, message: Text):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period. `index` is the month (monthly, ytd), the quarter (quarterly) or 0 (yearly)."""

    year: int
    index: int
    kind: str

    # ------------------------------------------------------------------ reading and writing
    @classmethod
    def parse(cls, kind: str, text: str | int | None) -> Period:
        """The period of `kind` that `text` names; PeriodError (with the forms accepted) otherwise."""
        if kind not in KINDS:
            raise PeriodError(t("unknown period kind %(kind)s", kind=kind))
        raw = " ".join(str(text if text is not None else "").split())
        if not raw:
            raise PeriodError(t("the period is empty"))
        if kind == "yearly":
            m = _YEAR.match(raw)
            if m:
                return cls._make(int(m.group(1)), 0, kind, raw)
            raise PeriodError(t("%(text)s is not a year (write 2026)", text=raw))
        if kind == "quarterly":
            m = _QUARTER_ISO.match(raw)
            if m:
                return cls._make(int(m.group(1)), int(m.group(2)), kind, raw)
            m = _QUARTER.match(raw)
            if m:
                q = m.group(1).upper()
                return cls._make(int(m.group(2)), _ROMAN.get(q) or int(q), kind, raw)
            raise PeriodError(t("%(text)s is not a quarter (write 2026-Q1 or Q1/2026)", text=raw))
        m = _MONTH_ISO.match(raw)
        if m:
            return cls._make(int(m.group(1)), int(m.group(2)), kind, raw)
        m = _MONTH.match(raw)
        if m:
            return cls._make(int(m.group(2)), int(m.group(1)), kind, raw)
        raise PeriodError(t("%(text)s is not a month (write 2026-03 or 03/2026)", text=raw))

    @classmethod
    def _make(cls, year: int, index: int, kind: str, raw: str) -> Period:
        if not 2000 <= year <= 2100:
            raise PeriodError(t("%(text)s: the year must be between 2000 and 2100", text=raw))
        top = {"monthly": 12, "ytd": 12, "quarterly": 4, "yearly": 0}[kind]
        if kind == "yearly":
            index = 0
        elif not 1 <= index <= top:
            raise PeriodError(t("%(text)s: no such month or quarter", text=raw))
        return cls(year, index, kind)

    @classmethod
    def from_key(cls, kind: str, key: str) -> Period:
        """The period a stored key names (the key is trusted: it was written by `key`)."""
        return cls.parse(kind, key)

    @property
    def key(self) -> str:
        """The stored form: 2026-03, 2026-Q1, 2026."""
        if self.kind == "yearly":
            return f"{self.year}"
        if self.kind == "quarterly":
            return f"{self.year}-Q{self.index}"
        return f"{self.year}-{self.index:02d}"

    def label(self) -> Text:
        """How a page names it, in the reader's language."""
        if self.kind == "yearly":
            return t("year %(year)s", year=self.year)
        if self.kind == "quarterly":
            return t("Q%(quarter)s/%(year)s", quarter=self.index, year=self.year)
        if self.kind == "ytd":
            return t("January to %(month)s/%(year)s", month=f"{self.index:02d}", year=self.year)
        return t("%(month)s/%(year)s", month=f"{self.index:02d}", year=self.year)

    # ------------------------------------------------------------------ bounds
    @property
    def first_day(self) -> date:
        """The period's first day (for a year to date: 1 January)."""
        if self.kind in ("yearly", "ytd"):
            return date(self.year, 1, 1)
        if self.kind == "quarterly":
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, self.index, 1)

    @property
    def last_day(self) -> date:
        """The period's last day."""
        month = {"yearly": 12, "quarterly": 3 * self.index}.get(self.kind, self.index)
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def deadline(self, days: int) -> date:
        """The last day a value may be reported on time: `days` after the period's end."""
        return self.last_day + timedelta(days=days)

    @property
    def share_of_year(self) -> float:
        """How much of the year lies behind the period's end (pro-rata share of a yearly plan)."""
        if self.kind == "yearly":
            return 1.0
        if self.kind == "quarterly":
            return self.index / 4
        return self.index / 12

    # ------------------------------------------------------------------ neighbours
    def previous(self, n: int = 1) -> Period:
        """The period `n` before this one."""
        if self.kind == "yearly":
            return Period(self.year - n, 0, self.kind)
        size = 4 if self.kind == "quarterly" else 12
        flat = self.year * size + (self.index - 1) - n
        return Period(flat // size, flat % size + 1, self.kind)

    def next(self) -> Period:
        """The period after this one."""
        return self.previous(-1)

    def same_period_years_ago(self, years: int = 1) -> Period:
        """The same month or quarter `years` earlier (seasonal comparisons)."""
        return Period(self.year - years, self.index, self.kind)

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        """The period of `kind` that `day` falls in."""
        if kind == "yearly":
            return cls(day.year, 0, kind)
        if kind == "quarterly":
            return cls(day.year, (day.month - 1) // 3 + 1, kind)
        return cls(day.year, day.month, kind)

    @classmethod
    def last_due(cls, kind: str, today: date, deadline_days: int) -> Period:
        """The newest period of `kind` whose reporting deadline has passed by `today`."""
        period = cls.containing(kind, today).previous()
        while period.deadline(deadline_days) >= today:
            period = period.previous()
        return period
