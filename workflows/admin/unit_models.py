"""The history of administrative units: scheduled and applied changes, and what a unit was before each."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from workflows.models import AdminUnit

from engine.db import Base, JSONType, UTCDateTime, utcnow

CHANGE_KINDS = ("add", "rename", "merge", "dissolve")


class AdminUnitChange(Base):
    """An administrator's change to the unit tree, effective on a local day (Asia/Ho_Chi_Minh).

    A change dated today or earlier is applied at once; a later one when its day comes (the timer
    sweep asks for due changes). `applied_at` makes applying idempotent: a change is applied once.
    """

    __tablename__ = "admin_unit_change"
    __table_args__ = (Index("ix_admin_unit_change_due", "applied_at", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # add, rename, merge, dissolve
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    effective_on: Mapped[date] = mapped_column(Date)
    # What the change sets: {"name", "name_en"} for a rename, {"move_roles": bool} for a merge or dissolution.
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # What applying it did: counts of cases, tasks and role bindings moved, bindings left for the admin.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[AdminUnit] = relationship("AdminUnit", foreign_keys=[unit_id])
    successor: Mapped[AdminUnit | None] = relationship("AdminUnit", foreign_keys=[successor_id])


class AdminUnitPeriod(Base):
    """What a unit was called, and under which parent, for a past period [valid_from, valid_to).

    The unit row holds what it is now; a rename or a move under a new parent keeps the former state here.
    """

    __tablename__ = "admin_unit_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
