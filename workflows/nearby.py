"""Open cases of a category near a point or in a commune: the case page's related cases, the portal's
and the hotline's duplicate checks all ask this one question."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from workflows.models import Case

OPEN_STATUSES = ("received", "in_progress", "escalated", "returned", "reopened")
_EARTH_METRES = 6_371_000


@dataclass(frozen=True)
class NearCase:
    """An open case found near a point (metres None: found by its commune, not by distance)."""

    id: int
    code: str
    title: str
    status: str
    category_code: str
    admin_unit_id: int
    lat: float | None
    lon: float | None
    created_at: datetime
    metres: int | None


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points (haversine; exact enough within a province)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_METRES * math.asin(math.sqrt(a))


_COLUMNS = (Case.id, Case.code, Case.title, Case.status, Case.category_code, Case.admin_unit_id, Case.lat, Case.lon,
            Case.created_at)


def open_cases_near(session: Session, category: str, lat: float, lon: float, metres: float, *,
                    exclude_id: int | None = None, scope_ids: Iterable[int] | None = None,
                    limit: int = 10) -> list[NearCase]:
    """Open, unmerged cases of `category` within `metres` of (lat, lon), nearest first.

    `scope_ids`: only cases whose responsible unit or place is one of these (None: every case).
    """
    # A bounding box the indexes can use first, then the exact distance.
    dlat = metres / 111_320
    dlon = metres / (111_320 * max(0.01, math.cos(math.radians(lat))))
    conditions = [Case.category_code == category, Case.status.in_(OPEN_STATUSES), Case.merged_into_id.is_(None),
                  Case.lat.between(lat - dlat, lat + dlat), Case.lon.between(lon - dlon, lon + dlon)]
    if exclude_id is not None:
        conditions.append(Case.id != exclude_id)
    if scope_ids is not None:
        scope = sorted(scope_ids)
        conditions.append(or_(Case.responsible_unit_id.in_(scope), Case.admin_unit_id.in_(scope)))
    rows = session.execute(select(*_COLUMNS).where(and_(*conditions)).order_by(Case.id.desc()).limit(200)).all()
    found = []
    for row in rows:
        distance = distance_metres(lat, lon, row.lat, row.lon)
        if distance <= metres:
            found.append(NearCase(*row, metres=round(distance)))
    found.sort(key=lambda r: (r.metres, r.code))
    return found[:limit]


def open_cases_in(session: Session, category: str, admin_unit_id: int, *, exclude_id: int | None = None,
                  limit: int = 10) -> list[NearCase]:
    """Open, unmerged cases of `category` in one commune or ward, newest first (a report without a point)."""
    conditions = [Case.category_code == category, Case.admin_unit_id == admin_unit_id, Case.status.in_(OPEN_STATUSES),
                  Case.merged_into_id.is_(None)]
    if exclude_id is not None:
        conditions.append(Case.id != exclude_id)
    rows = session.execute(select(*_COLUMNS).where(*conditions).order_by(Case.id.desc()).limit(limit)).all()
    return [NearCase(*row, metres=None) for row in rows]
