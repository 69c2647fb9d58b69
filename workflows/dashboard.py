"""The operations dashboard: open cases by channel, status and unit, deadlines, new cases, a map.

Every figure covers only the cases in the actor's view (responsible unit or place among the
units they see) and comes from a handful of aggregate queries, whatever the number of cases.
A case is open until its resolution is published (or it is closed or rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.clock import SYSTEM_CLOCK, Clock
from workflows.access import Actor
from workflows.calendar.store import due_soon_until
from workflows.models import AdminUnit, Case, Category
from workflows.performance import past_deadline

OPEN_STATUSES = ("received", "in_progress", "escalated", "returned", "resolved", "reopened")
TOP_UNITS = 10
LATEST = 15
MAP_MARKERS = 2000


@dataclass(frozen=True)
class UnitLoad:
    """Open and overdue cases of one responsible unit (code None: not routed yet)."""

    code: str | None
    name: str
    name_en: str
    open: int
    overdue: int


@dataclass(frozen=True)
class NewCase:
    """A case in the live list: what the operations centre may show on a wall (no title, no reporter)."""

    code: str
    channel: str
    category: str
    category_en: str
    place: str
    place_en: str
    status: str
    received_at: datetime


@dataclass(frozen=True)
class MapPoint:
    """An open case on the map."""

    code: str
    lat: float
    lon: float
    status: str
    priority: str
    category: str
    category_en: str
    overdue: bool


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows, for one actor at one moment."""

    now: datetime
    open_total: int
    overdue: int
    due_soon: int
    new_today: int
    by_channel: dict[str, int]
    by_status: dict[str, int]
    by_unit: list[UnitLoad]
    latest: list[NewCase]


class DashboardService:
    """Figures of the cases in an actor's view."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, timezone: str = "Asia/Ho_Chi_Minh"):
        self.session = session
        self.clock = clock
        self.zone = ZoneInfo(timezone)  # "today" is the centre's local day

    def figures(self, actor: Actor, latest: int = LATEST, top_units: int = TOP_UNITS) -> Dashboard:
        """Counts by channel, status and unit, deadlines, today's new cases and the newest ones."""
        now = self.clock.now()
        scope = self._scope(actor)
        overdue = past_deadline(now).label("overdue")  # as the performance page counts it
        soon = (~past_deadline(now) & (Case.due_at >= now) & (Case.due_at < due_soon_until(self.session, now))).label("soon")
        by_channel: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_unit: dict[int | None, list[int]] = {}
        totals = {"open": 0, "overdue": 0, "soon": 0}
        # One pass over the open cases: unit × channel × status, with the deadline counts alongside.
        rows = self.session.execute(
            select(Case.responsible_unit_id, Case.channel, Case.status, func.count(), func.count(case((overdue, 1))),
                   func.count(case((soon, 1))))
            .where(scope, Case.status.in_(OPEN_STATUSES))
            .group_by(Case.responsible_unit_id, Case.channel, Case.status))
        for unit_id, channel, status, count, late, due in rows:
            by_channel[channel] = by_channel.get(channel, 0) + count
            by_status[status] = by_status.get(status, 0) + count
            load = by_unit.setdefault(unit_id, [0, 0])
            load[0] += count
            load[1] += late
            totals["open"] += count
            totals["overdue"] += late
            totals["soon"] += due
        start_of_day = datetime.combine(now.astimezone(self.zone).date(), time.min, self.zone)
        new_today = self.session.scalar(select(func.count()).select_from(Case)
                                        .where(scope, Case.created_at >= start_of_day)) or 0
        return Dashboard(now=now, open_total=totals["open"], overdue=totals["overdue"], due_soon=totals["soon"],
                         new_today=new_today,
                         by_channel=dict(sorted(by_channel.items(), key=lambda kv: -kv[1])),
                         by_status=dict(sorted(by_status.items(), key=lambda kv: OPEN_STATUSES.index(kv[0]))),
                         by_unit=self._top_units(by_unit, top_units), latest=self._latest(scope, latest))

    def map_points(self, actor: Actor, limit: int = MAP_MARKERS) -> list[MapPoint]:
        """Open cases with a location, newest first, at most `limit` of them."""
        now = self.clock.now()
        rows = self.session.execute(
            select(Case.code, Case.lat, Case.lon, Case.status, Case.priority, Category.name, Category.name_en,
                   past_deadline(now))
            .join(Category, Category.code == Case.category_code)
            .where(self._scope(actor), Case.status.in_(OPEN_STATUSES), Case.lat.is_not(None), Case.lon.is_not(None))
            .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))
        return [MapPoint(code, lat, lon, status, priority, name, name_en, bool(late))
                for code, lat, lon, status, priority, name, name_en, late in rows]

    # ------------------------------------------------------------------ internals
    def _scope(self, actor: Actor):
        ids = sorted(actor.scope_ids)
        if not ids:
            return Case.id.is_(None)  # no unit in view: nothing (ids are never null)
        return or_(Case.responsible_unit_id.in_(ids), Case.admin_unit_id.in_(ids))

    def _top_units(self, loads: dict[int | None, list[int]], limit: int) -> list[UnitLoad]:
        top = sorted(loads.items(), key=lambda kv: (-kv[1][0], kv[0] is None, kv[0] or 0))[:limit]
        ids = [unit_id for unit_id, _ in top if unit_id is not None]
        names = {row.id: row for row in self.session.execute(
            select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en).where(AdminUnit.id.in_(ids)))} \
            if ids else {}
        out = []
        for unit_id, (count, late) in top:
            unit = names.get(unit_id)
            out.append(UnitLoad(unit.code if unit else None, unit.name if unit else "", unit.name_en if unit else "",
                                count, late))
        return out

    def _latest(self, scope, limit: int) -> list[NewCase]:
        place = aliased(AdminUnit)
        rows = self.session.execute(
            select(Case.code, Case.channel, Category.name, Category.name_en, place.name, place.name_en, Case.status,
                   Case.created_at)
            .join(Category, Category.code == Case.category_code).join(place, place.id == Case.admin_unit_id)
            .where(scope).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))
        return [NewCase(*row) for row in rows]
