"""The calendar's tables: the administrator's days off and make-up working days, and the office hours."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow


class CalendarException(Base):
    """A date that differs from the public calendar: a day off (working=False) or a make-up working day (True).

    Public holidays themselves come from the `holidays` package; rows here are what the province or the
    government decided on top of them (a swap announced for Tết, a provincial day off), one per date.
    """

    __tablename__ = "calendar_exception"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkingHoursSetting(Base):
    """The office hours deadlines are counted in (one row; none means the built-in default)."""

    __tablename__ = "working_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    periods: Mapped[str] = mapped_column(String(120))  # "07:00-11:30, 13:30-17:00" (local time)
    weekdays: Mapped[str] = mapped_column(String(20))  # "0,1,2,3,4" (Monday = 0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
