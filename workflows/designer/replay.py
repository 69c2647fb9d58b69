"""Replaying routing and deadline tables against the cases of the last 30 days: "with this table, Phường X
would have received N cases (was M), mean deadline D h (was E h)", per unit and overall, with the cases whose
unit or deadline would change. Nothing is written: the tables are evaluated in the engine's sandbox on each
case's data as its process starts with it (workflows/case_service.py), and deadlines are counted in working
hours from the case's reception with the working calendar, as the `assign` operator does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from engine.clock import SYSTEM_CLOCK, Clock
from engine.decisions import Decision, decision_ids
from engine.errors import EngineError
from engine.expressions import RestrictedEvaluator
from engine.i18n import Named, Text, t
from engine.models import ProcessDefinition
from workflows.calendar.store import working_calendar
from workflows.case_service import IOC_UNIT_CODE, PROCESS_FOR_CHANNEL
from workflows.models import AdminUnit, Case

DAYS = 30
# What each kind of table decides: the output the replay compares.
ROUTING_OUTPUT = "responsible_unit"
DEADLINE_OUTPUT = "sla_hours"


class ReplayError(Exception):
    """The replay cannot run: no such version or draft, or no routing or deadline table in either."""


@dataclass(frozen=True)
class CaseOutcome:
    """What the old and the new tables decide for one case."""

    code: str
    title: str
    received_at: datetime
    old_unit: str | None
    new_unit: str | None
    old_hours: float | None  # hours from reception to the deadline (calendar time, nights and holidays included)
    new_hours: float | None
    old_sla: float | None  # working hours the table gives
    new_sla: float | None
    error: Text | None = None

    @property
    def changed(self) -> bool:
        """Whether the unit or the deadline would differ."""
        return self.old_unit != self.new_unit or self.old_sla != self.new_sla


@dataclass
class UnitFigures:
    """One unit's cases and mean deadline under the old and the new tables."""

    code: str
    name: Named | str
    old_cases: int = 0
    new_cases: int = 0
    old_hours: list[float] = field(default_factory=list)
    new_hours: list[float] = field(default_factory=list)

    @property
    def old_mean(self) -> float | None:
        """Mean hours to the deadline of the cases the old table gave this unit."""
        return _mean(self.old_hours)

    @property
    def new_mean(self) -> float | None:
        """Mean hours to the deadline of the cases the new table gives this unit."""
        return _mean(self.new_hours)

    @property
    def changed(self) -> bool:
        """Whether the unit's figures differ."""
        return self.old_cases != self.new_cases or self.old_mean != self.new_mean


@dataclass(frozen=True)
class Replay:
    """The replay of a version's (or draft's) tables against the cases of the last 30 days."""

    process_key: str
    old_label: str
    new_label: str
    since: datetime
    decisions: list[str]
    cases: list[CaseOutcome]
    units: list[UnitFigures]

    @property
    def changed_cases(self) -> list[CaseOutcome]:
        """The cases whose unit or deadline would change."""
        return [c for c in self.cases if c.changed]

    @property
    def old_mean(self) -> float | None:
        """Mean hours to the deadline over every case, old tables."""
        return _mean([c.old_hours for c in self.cases if c.old_hours is not None])

    @property
    def new_mean(self) -> float | None:
        """Mean hours to the deadline over every case, new tables."""
        return _mean([c.new_hours for c in self.cases if c.new_hours is not None])


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _hours(calendar: Any, received: datetime, sla: float | None) -> float | None:
    """Hours from reception to the deadline `sla` working hours later (the `assign` operator's due moment)."""
    if sla is None:
        return None
    due = calendar.add_working_hours(received, sla)
    return round((due - received).total_seconds() / 3600, 2)


def start_data(case: Case, ioc_unit: str = IOC_UNIT_CODE) -> dict[str, Any]:
    """The data a case's process reads its tables with (as intake starts it, with the case's category and
    priority as triage left them)."""
    return {"case_id": case.id, "case_code": case.code, "category": case.category_code,
            "admin_unit": case.admin_unit.code, "admin_unit_kind": case.admin_unit.kind, "priority": case.priority,
            "ioc_unit": ioc_unit, "outcome": "", "override_unit": ""}


class _Tables:
    """The routing and deadline decisions of one set of files (either may be missing)."""

    def __init__(self, files: Mapping[str, str], evaluator: RestrictedEvaluator):
        self.routing: Decision | None = None
        self.deadline: Decision | None = None
        for decision_id in decision_ids(files):
            decision = Decision(files, decision_id, evaluator)
            if ROUTING_OUTPUT in decision.outputs and self.routing is None:
                self.routing = decision
            elif DEADLINE_OUTPUT in decision.outputs and self.deadline is None:
                self.deadline = decision

    def ids(self) -> list[str]:
        return [d.decision_id for d in (self.routing, self.deadline) if d is not None]

    def decide(self, data: dict[str, Any]) -> tuple[str | None, float | None]:
        unit = self.routing.evaluate(data).get(ROUTING_OUTPUT) if self.routing else None
        sla = self.deadline.evaluate(data).get(DEADLINE_OUTPUT) if self.deadline else None
        return (str(unit) if unit not in (None, "") else None), (float(sla) if sla not in (None, "") else None)


class ReplayService:
    """Replays decision tables against recent cases; reads only."""

    def __init__(self, session: Session, evaluator: RestrictedEvaluator, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.evaluator = evaluator
        self.clock = clock

    def version_files(self, process_key: str, version: int | None) -> tuple[ProcessDefinition, ProcessDefinition | None]:
        """A version (the newest when none is named) and the one before it."""
        rows = list(self.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key)
                                         .order_by(ProcessDefinition.version.desc())))
        for i, row in enumerate(rows):
            if version is None or row.version == version:
                return row, rows[i + 1] if i + 1 < len(rows) else None
        raise ReplayError(t("process %(key)s has no version %(version)s; choose one of the list",
                            key=process_key, version=version) if rows else
                          t("no process %(key)s is deployed; choose one of the list", key=repr(process_key)))

    def replay(self, process_key: str, old_files: Mapping[str, str], new_files: Mapping[str, str],
               old_label: str, new_label: str) -> Replay:
        """What the new files' tables would have decided for the last 30 days' cases, against the old files'."""
        try:
            old, new = _Tables(old_files, self.evaluator), _Tables(new_files, self.evaluator)
        except EngineError as exc:
            raise ReplayError(t("the decision tables cannot be read: %(reason)s", reason=str(exc))) from None
        if not (old.ids() or new.ids()):
            raise ReplayError(t("neither version has a routing table (output %(routing)s) or a deadline table"
                                " (output %(deadline)s) to replay", routing=ROUTING_OUTPUT, deadline=DEADLINE_OUTPUT))
        since = self.clock.now() - timedelta(days=DAYS)
        channels = [c for c, key in PROCESS_FOR_CHANNEL.items() if key == process_key]
        query = (select(Case).options(joinedload(Case.admin_unit)).where(Case.created_at >= since)
                 .order_by(Case.created_at))
        if channels:
            query = query.where(Case.channel.in_(channels))
        calendar = working_calendar(self.session)
        outcomes = []
        for case in self.session.scalars(query):
            data = start_data(case)
            try:
                old_unit, old_sla = old.decide(data)
                new_unit, new_sla = new.decide(data)
            except EngineError as exc:
                outcomes.append(CaseOutcome(case.code or str(case.id), case.title, case.created_at, None, None,
                                            None, None, None, None, error=exc.args[0]))
                continue
            outcomes.append(CaseOutcome(case.code or str(case.id), case.title, case.created_at, old_unit, new_unit,
                                        _hours(calendar, case.created_at, old_sla),
                                        _hours(calendar, case.created_at, new_sla), old_sla, new_sla))
        return Replay(process_key, old_label, new_label, since, sorted(set(old.ids()) | set(new.ids())), outcomes,
                      self._units(outcomes))

    def _units(self, outcomes: list[CaseOutcome]) -> list[UnitFigures]:
        codes = {c for o in outcomes for c in (o.old_unit, o.new_unit) if c}
        names = {u.code: Named(u.name, u.name_en or None) for u in
                 self.session.scalars(select(AdminUnit).where(AdminUnit.code.in_(codes)))} if codes else {}
        figures: dict[str, UnitFigures] = {}

        def unit(code: str | None) -> UnitFigures:
            key = code or ""
            if key not in figures:
                figures[key] = UnitFigures(key, names.get(key, key or "—"))
            return figures[key]

        for o in outcomes:
            if o.error is not None:
                continue
            old = unit(o.old_unit)
            old.old_cases += 1
            if o.old_hours is not None:
                old.old_hours.append(o.old_hours)
            new = unit(o.new_unit)
            new.new_cases += 1
            if o.new_hours is not None:
                new.new_hours.append(o.new_hours)
        return sorted(figures.values(), key=lambda f: (-max(f.old_cases, f.new_cases), str(f.name)))
