"""Public performance of the responsible units: on-time share, median time to resolve, satisfaction.

Over a period of days before now, per responsible unit, for the cases received in it:

    on-time share = resolved on time / (resolved + still open past their deadline)

A case counts as resolved on time when its resolution was recorded by its deadline and it was
never escalated (escalation happens at the deadline). An open escalated case is past its deadline
even though the escalation gave the head a new one. Open cases not yet due are left out: they
can still go either way. Median time to resolve: from reception to the recorded resolution.
Satisfaction: the share of "satisfied" among the ratings given in the period to the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from workflows.models import AdminUnit, Case, CaseRating
from workflows.nearby import OPEN_STATUSES

PERIODS = (30, 90, 365)


def past_deadline(now):
    """SQL: a case not resolved yet whose deadline has passed, or that was escalated (the escalation gave
    the head a new deadline, but the case is late all the same). The dashboard counts "overdue" by it too."""
    return and_(Case.resolved_at.is_(None), (Case.due_at < now) | (Case.escalation_level > 0))


@dataclass(frozen=True)
class UnitPerformance:
    """One unit's figures over the period."""

    code: str
    name: str
    cases: int
    resolved: int
    resolved_on_time: int
    open_overdue: int
    open_not_due: int
    median_hours: float | None
    ratings: int
    satisfied: int

    @property
    def on_time_share(self) -> float | None:
        """Resolved on time over resolved plus open overdue (None when nothing can be judged yet)."""
        judged = self.resolved + self.open_overdue
        return self.resolved_on_time / judged if judged else None

    @property
    def median(self) -> timedelta | None:
        """The median time to resolve as a duration."""
        return timedelta(hours=self.median_hours) if self.median_hours is not None else None

    @property
    def satisfaction(self) -> float | None:
        """Share of satisfied ratings (None without ratings)."""
        return self.satisfied / self.ratings if self.ratings else None


class PerformanceService:
    """Figures per responsible unit in three grouped queries, whatever the number of units."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def units(self, days: int = 90, lang: str = "vi") -> list[UnitPerformance]:
        """Every unit with cases or ratings in the last `days` days (30, 90 or 365), best on-time share first."""
        if days not in PERIODS:
            days = 90
        now = self.clock.now()
        since = now - timedelta(days=days)
        resolved = Case.resolved_at.is_not(None)
        on_time = and_(resolved, Case.due_at.is_not(None), Case.resolved_at <= Case.due_at, Case.escalation_level == 0)
        overdue = and_(Case.status.in_(OPEN_STATUSES), past_deadline(now))
        not_due = and_(Case.resolved_at.is_(None), Case.status.in_(OPEN_STATUSES), Case.escalation_level == 0,
                       (Case.due_at.is_(None)) | (Case.due_at >= now))
        in_period = and_(Case.responsible_unit_id.is_not(None), Case.created_at >= since,
                         Case.merged_into_id.is_(None))

        def count_if(condition) -> object:
            return func.sum(case((condition, 1), else_=0))

        counts = {row[0]: row[1:] for row in self.session.execute(
            select(Case.responsible_unit_id, func.count(), count_if(resolved), count_if(on_time), count_if(overdue),
                   count_if(not_due))
            .where(in_period).group_by(Case.responsible_unit_id))}
        durations: dict[int, list[float]] = {}
        for unit_id, created, done in self.session.execute(
                select(Case.responsible_unit_id, Case.created_at, Case.resolved_at).where(in_period, resolved)):
            durations.setdefault(unit_id, []).append((done - created).total_seconds() / 3600)
        ratings = {row[0]: row[1:] for row in self.session.execute(
            select(CaseRating.unit_id, func.count(), count_if(CaseRating.satisfied.is_(True)))
            .where(CaseRating.created_at >= since, CaseRating.unit_id.is_not(None)).group_by(CaseRating.unit_id))}
        ids = set(counts) | set(ratings)
        units = {u.id: u for u in self.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))} if ids else {}
        out = []
        for unit_id in ids:
            unit = units.get(unit_id)
            if unit is None:
                continue
            total, done, good, late, waiting = (int(v or 0) for v in counts.get(unit_id, (0, 0, 0, 0, 0)))
            given, pleased = (int(v or 0) for v in ratings.get(unit_id, (0, 0)))
            spans = durations.get(unit_id)
            out.append(UnitPerformance(unit.code, (unit.name_en or unit.name) if lang == "en" else unit.name,
                                       total, done, good, late, waiting, round(median(spans), 1) if spans else None,
                                       given, pleased))
        out.sort(key=lambda u: (u.on_time_share is None, -(u.on_time_share or 0), -u.cases, u.name))
        return out

    def province(self, days: int = 90) -> UnitPerformance:
        """The same figures for every case received in the last `days` days, whichever unit handled it."""
        if days not in PERIODS:
            days = 90
        units = self.units(days)
        since = self.clock.now() - timedelta(days=days)
        spans = [(done - created).total_seconds() / 3600 for created, done in self.session.execute(
            select(Case.created_at, Case.resolved_at).where(Case.responsible_unit_id.is_not(None), Case.created_at >= since,
                                                            Case.merged_into_id.is_(None), Case.resolved_at.is_not(None)))]

        def total(name: str) -> int:
            return sum(getattr(u, name) for u in units)

        return UnitPerformance("", "", total("cases"), total("resolved"), total("resolved_on_time"), total("open_overdue"),
                               total("open_not_due"), round(median(spans), 1) if spans else None, total("ratings"),
                               total("satisfied"))
