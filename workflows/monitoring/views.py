"""What the monitoring pages show: the indicators of a unit and its sub-units with status lights, an
indicator's trend for one unit, who has not reported this period, and the history of a value.

Each view is a handful of queries whatever the number of units: the unit tree once, the indicators once,
then one query each for the values, breaches, rules' memory, targets and cases of the units in question
(`ix_kpi_value_unit_period`, `uq_kpi_value`, `ix_kpi_breach_indicator_period`). Only the units in the
actor's view are shown; asking for another raises AccessDeniedError.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from workflows.errors import AccessDeniedError, CaseNotFoundError
from workflows.models import AdminUnit, Case
from workflows.monitoring.catalogue import TargetBook
from workflows.monitoring.models import Breach, BreachState, Indicator, Upload, Value, ValueChange
from workflows.monitoring.periods import Period

LIGHTS = ("red", "amber", "grey", "green")  # worst first: how rows sort
LIGHT_WORDS: dict[str, Text] = {"green": t("on track"), "amber": t("watch"), "red": t("breaching"),
                                "grey": t("no value")}
CLOSED_STATUSES = ("closed", "rejected", "merged", "cancelled")


@dataclass(frozen=True)
class UnitRow:
    """A unit as the pages show and pick it: id, code, names, kind, parent and depth in the tree."""

    id: int
    code: str
    name: str
    name_en: str
    kind: str
    parent_id: int | None
    depth: int = 0

    def label(self, language: str | None) -> str:
        """The unit's name in `language`."""
        return self.name_en if language == "en" and self.name_en else self.name


@dataclass(frozen=True)
class CaseLink:
    """A case raised for an indicator: its code, status and whether it is still open."""

    id: int
    code: str
    status: str
    open: bool


@dataclass
class StatusRow:
    """One indicator of one unit in the overview: its newest period, value, target and light."""

    indicator: Indicator
    unit: UnitRow
    period: Period
    value: float | None = None
    value_id: int | None = None
    target: float | None = None
    light: str = "grey"
    reason: Text = LIGHT_WORDS["grey"]
    rules: list[str] = field(default_factory=list)
    case: CaseLink | None = None
    late: bool = False

    @property
    def light_word(self) -> Text:
        """The light in words (never colour alone)."""
        return LIGHT_WORDS[self.light]


@dataclass
class Overview:
    """The overview of a unit: its rows (the unit's own first), the light counts, the sub-units to drill into."""

    unit: UnitRow
    path: list[UnitRow]  # from the top of the actor's view down to the unit
    children: list[UnitRow]
    rows: list[StatusRow]
    counts: dict[str, int]
    today: date


@dataclass(frozen=True)
class TrendPoint:
    """One period of an indicator's trend for a unit."""

    period: Period
    value: float | None
    value_id: int | None
    target: float | None
    breaches: tuple[tuple[str, str], ...]  # (rule, severity)
    cases: tuple[str, ...]  # codes of the cases its breaches raised


@dataclass
class Trend:
    """An indicator's values for one unit, with targets, breaches and the cases raised."""

    indicator: Indicator
    unit: UnitRow
    points: list[TrendPoint]
    cases: list[CaseLink]
    state: BreachState | None
    units: list[UnitRow]  # the units in view that have values of this indicator (to switch unit)


@dataclass(frozen=True)
class ChangeLine:
    """One report of a value: who, when, old → new, from which upload."""

    at: datetime
    by: str
    old: float | None
    new: float
    source: str
    upload_id: int | None
    filename: str | None


@dataclass
class ValueHistory:
    """A value with every report of it, oldest first."""

    value: Value
    indicator: Indicator
    unit: UnitRow
    period: Period
    changes: list[ChangeLine]


@dataclass(frozen=True)
class ReportLine:
    """A unit that reported (on time or late) or has not reported an indicator's period."""

    unit: UnitRow
    reported_at: datetime | None
    late: bool
    value_id: int | None


@dataclass
class MissingRow:
    """One indicator's last due period: its deadline, the units that have not reported, the late ones."""

    indicator: Indicator
    period: Period
    deadline: date
    current: Period
    current_deadline: date
    expected: int
    missing: list[ReportLine]
    late: list[ReportLine]
    on_time: int


class MonitoringViews:
    """Read-only queries behind the monitoring pages, limited to the actor's view."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, timezone: str = "Asia/Ho_Chi_Minh"):
        self.session = session
        self.clock = clock
        self.zone = ZoneInfo(timezone)
        self._units: dict[int, UnitRow] | None = None

    # ------------------------------------------------------------------ units
    def today(self) -> date:
        """Today in the centre's time zone."""
        return self.clock.now().astimezone(self.zone).date()

    def units(self) -> dict[int, UnitRow]:
        """Every active unit, parents before children (one query, kept for the view's life)."""
        if self._units is None:
            rows = self.session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en,
                                               AdminUnit.kind, AdminUnit.parent_id)
                                        .where(AdminUnit.active.is_(True))).all()
            ids = {r.id for r in rows}
            children: dict[int | None, list] = defaultdict(list)
            for r in rows:
                children[r.parent_id if r.parent_id in ids else None].append(r)
            ordered: dict[int, UnitRow] = {}

            def walk(parent: int | None, depth: int) -> None:
                for r in sorted(children.get(parent, ()), key=lambda r: (r.kind in ("committee", "department",
                                                                                    "police", "centre"), r.name)):
                    ordered[r.id] = UnitRow(r.id, r.code, r.name, r.name_en or r.name, r.kind,
                                            r.parent_id if r.parent_id in ids else None, depth)
                    walk(r.id, depth + 1)

            walk(None, 0)
            self._units = ordered
        return self._units

    def units_in_view(self, actor: Any) -> list[UnitRow]:
        """The units the actor may look at, as a tree (depth counted from the top of their view)."""
        units = self.units()
        rows = [u for u in units.values() if u.id in actor.scope_ids]
        tops = {u.id for u in rows if u.parent_id not in actor.scope_ids}
        out: list[UnitRow] = []
        depth: dict[int, int] = {}
        for u in rows:
            depth[u.id] = 0 if u.id in tops else depth.get(u.parent_id, 0) + 1
            out.append(UnitRow(u.id, u.code, u.name, u.name_en, u.kind, u.parent_id, depth[u.id]))
        return out

    def unit_for(self, actor: Any, code: str | None) -> UnitRow:
        """The unit `code` if the actor sees it; with no code, the top of their view."""
        units = self.units()
        if code:
            unit = next((u for u in units.values() if u.code == code), None)
            if unit is None:
                raise CaseNotFoundError(t("no unit %(code)s; choose one from the list", code=code))
            if unit.id not in actor.scope_ids:
                raise AccessDeniedError(t("the unit %(code)s is not in your view", code=code))
            return unit
        for unit in units.values():  # parents come first: the first unit in view is a top
            if unit.id in actor.scope_ids:
                return unit
        raise AccessDeniedError(t("no unit is in your view"))

    def subtree(self, unit: UnitRow) -> list[UnitRow]:
        """The unit and every active unit below it, parents first."""
        units = self.units()
        below: dict[int | None, list[int]] = defaultdict(list)
        for u in units.values():
            below[u.parent_id].append(u.id)
        out, frontier = [], [unit.id]
        while frontier:
            unit_id = frontier.pop(0)
            out.append(units[unit_id])
            frontier.extend(below.get(unit_id, ()))
        return out

    def path(self, actor: Any, unit: UnitRow) -> list[UnitRow]:
        """From the top of the actor's view down to `unit`."""
        units = self.units()
        out = [unit]
        while out[-1].parent_id is not None and out[-1].parent_id in actor.scope_ids and out[-1].parent_id in units:
            out.append(units[out[-1].parent_id])
        return out[::-1]

    # ------------------------------------------------------------------ overview
    def overview(self, actor: Any, unit_code: str | None = None, field_key: str | None = None,
                 light: str | None = None, as_of: datetime | None = None) -> Overview:
        """The indicators of a unit and its sub-units: each one's newest period, value, target and light.

        `as_of` (with the view's clock set to it): as the page stood then — only the values first reported and
        the breaches found before it (the leaders' indicator report of a past month, reports/indicators.py)."""
        unit = self.unit_for(actor, unit_code)
        subtree = [u for u in self.subtree(unit) if u.id in actor.scope_ids]
        ids = [u.id for u in subtree]
        today = self.today()
        query = select(Indicator).where(Indicator.active.is_(True)).order_by(Indicator.field, Indicator.code)
        if field_key:
            query = query.where(Indicator.field == field_key)
        indicators = list(self.session.scalars(query))
        reported_then = _first_report() < as_of if as_of is not None else true()
        newest = dict(self.session.execute(
            select(Value.indicator_code, func.max(Value.period)).where(Value.unit_id.in_(ids), reported_then)
            .group_by(Value.indicator_code)).all()) if indicators else {}
        periods: dict[str, Period] = {}
        for ind in indicators:
            due = Period.last_due(ind.period, today, ind.deadline_days)
            reported = Period.from_key(ind.period, newest[ind.code]) if ind.code in newest else None
            periods[ind.code] = max(due, reported) if reported is not None else due
        pairs = [and_(Value.indicator_code == code, Value.period == p.key) for code, p in periods.items()]
        # Plain rows, not ORM objects: a province's page holds thousands of them.
        values = {(v.indicator_code, v.unit_id): v for v in self.session.execute(
            select(Value.id, Value.indicator_code, Value.unit_id, Value.value, _first_report().label("first"))
            .where(Value.unit_id.in_(ids), or_(*pairs), reported_then))} if pairs else {}
        breach_pairs = [and_(Breach.indicator_code == code, Breach.period == p.key) for code, p in periods.items()]
        breaches: dict[tuple[str, int], list[str]] = defaultdict(list)
        if breach_pairs:
            for code, unit_id, rule in self.session.execute(select(Breach.indicator_code, Breach.unit_id, Breach.rule)
                                                            .where(Breach.unit_id.in_(ids), or_(*breach_pairs),
                                                                   Breach.found_at < as_of if as_of is not None
                                                                   else true())):
                breaches[(code, unit_id)].append(rule)
        states = {(s.indicator_code, s.unit_id): (s, code, status) for s, code, status in self.session.execute(
            select(BreachState, Case.code, Case.status).outerjoin(Case, Case.id == BreachState.case_id)
            .where(BreachState.unit_id.in_(ids)))}
        book = TargetBook.load(self.session, list(periods), {p.year for p in periods.values()})
        rows: list[StatusRow] = []
        for ind in indicators:
            period = periods[ind.code]
            for u in subtree:
                key = (ind.code, u.id)
                if key not in values and key not in states and not _reports(ind, u):
                    continue
                row = StatusRow(ind, u, period, target=book.target(ind, u.id, period))
                value = values.get(key)
                if value is not None:
                    row.value, row.value_id = value.value, value.id
                    row.late = _local_day(value.first, self.zone) > period.deadline(ind.deadline_days)
                state = states.get(key)
                if state is not None and state[0].case_id is not None and state[1]:
                    row.case = CaseLink(state[0].case_id, state[1], state[2] or "", state[2] not in CLOSED_STATUSES)
                row.rules = breaches.get(key, [])
                _light(row, state[0] if state else None, today)
                rows.append(row)
        counts = {name: 0 for name in LIGHTS}  # before the light filter: the page links each count to its rows
        for r in rows:
            counts[r.light] += 1
        if light in LIGHTS:
            rows = [r for r in rows if r.light == light]
        order = {u.id: n for n, u in enumerate(subtree)}
        # The unit's own rows first, then the worst first: the first page shows what needs attention.
        rows.sort(key=lambda r: (r.unit.id != unit.id, LIGHTS.index(r.light), r.indicator.field, r.indicator.code,
                                 order[r.unit.id]))
        children = [u for u in subtree if u.parent_id == unit.id]
        return Overview(unit, self.path(actor, unit), children, rows, counts, today)

    # ------------------------------------------------------------------ trend
    def trend(self, actor: Any, code: str, unit_code: str | None = None, periods: int = 36) -> Trend:
        """An indicator's newest `periods` values for a unit, with targets, breaches and the cases raised."""
        indicator = self.session.get(Indicator, (code or "")[:40])
        if indicator is None:
            raise CaseNotFoundError(t("no indicator %(code)s; choose one from the catalogue", code=code))
        unit = self.unit_for(actor, unit_code)
        values = list(self.session.scalars(select(Value).where(Value.indicator_code == indicator.code,
                                                               Value.unit_id == unit.id)
                                           .order_by(Value.period.desc()).limit(periods)))[::-1]
        breach_rows = list(self.session.execute(
            select(Breach.period, Breach.rule, Breach.severity, Breach.case_id, Case.code)
            .outerjoin(Case, Case.id == Breach.case_id)
            .where(Breach.indicator_code == indicator.code, Breach.unit_id == unit.id)))
        state = self.session.scalar(select(BreachState).where(BreachState.indicator_code == indicator.code,
                                                              BreachState.unit_id == unit.id))
        by_period: dict[str, list] = defaultdict(list)
        for row in breach_rows:
            by_period[row.period].append(row)
        keys = sorted({v.period for v in values} | set(by_period))[-periods:]
        shown = {v.period: v for v in values}
        parsed = {k: Period.from_key(indicator.period, k) for k in keys}
        book = TargetBook.load(self.session, [indicator.code], {p.year for p in parsed.values()})
        points = [TrendPoint(parsed[k], shown[k].value if k in shown else None, shown[k].id if k in shown else None,
                             book.target(indicator, unit.id, parsed[k]),
                             tuple((b.rule, b.severity) for b in by_period.get(k, ())),
                             tuple(sorted({b.code for b in by_period.get(k, ()) if b.code}))) for k in keys]
        case_ids = {b.case_id for b in breach_rows if b.case_id}
        if state is not None:
            case_ids |= {i for i in (state.case_id, state.last_case_id) if i}
        cases = [CaseLink(c.id, c.code, c.status, c.status not in CLOSED_STATUSES) for c in self.session.execute(
            select(Case.id, Case.code, Case.status).where(Case.id.in_(case_ids)).order_by(Case.id))] if case_ids else []
        reporters = set(self.session.scalars(select(Value.unit_id).where(Value.indicator_code == indicator.code)
                                             .distinct()))
        units = [u for u in self.units_in_view(actor) if u.id in reporters or u.id == unit.id]
        return Trend(indicator, unit, points, cases, state, units)

    # ------------------------------------------------------------------ one value
    def value_history(self, actor: Any, value_id: int) -> ValueHistory:
        """Every report of one value: who, when, old → new, from which upload."""
        value = self.session.get(Value, value_id)
        if value is None or value.unit_id not in actor.scope_ids:
            raise CaseNotFoundError(t("no value %(id)s in your view", id=value_id))
        indicator = self.session.get(Indicator, value.indicator_code)
        lines = [ChangeLine(c.changed_at, c.changed_by, c.old_value, c.new_value, c.source, c.upload_id, filename)
                 for c, filename in self.session.execute(
                     select(ValueChange, Upload.filename).outerjoin(Upload, Upload.id == ValueChange.upload_id)
                     .where(ValueChange.value_id == value.id).order_by(ValueChange.changed_at, ValueChange.id))]
        unit = self.units().get(value.unit_id)
        if unit is None:  # a unit that has since ended
            row = self.session.get(AdminUnit, value.unit_id)
            unit = UnitRow(row.id, row.code, row.name, row.name_en or row.name, row.kind, row.parent_id)
        return ValueHistory(value, indicator, unit, Period.from_key(indicator.period, value.period), lines)

    # ------------------------------------------------------------------ missing reports
    def missing(self, actor: Any, unit_code: str | None = None, today: date | None = None) -> tuple[UnitRow, list[MissingRow]]:
        """Per active indicator, its last due period: the units in view below `unit_code` that have not
        reported it, and those that reported after the deadline."""
        unit = self.unit_for(actor, unit_code)
        subtree = [u for u in self.subtree(unit) if u.id in actor.scope_ids]
        ids = [u.id for u in subtree]
        today = today or self.today()
        indicators = list(self.session.scalars(select(Indicator).where(Indicator.active.is_(True))
                                               .order_by(Indicator.field, Indicator.code)))
        due = {i.code: Period.last_due(i.period, today, i.deadline_days) for i in indicators}
        pairs = [and_(Value.indicator_code == code, Value.period == p.key) for code, p in due.items()]
        reported: dict[tuple[str, int], tuple[int, datetime]] = {}
        if pairs:
            for value_id, code, unit_id, first_at in self.session.execute(
                    select(Value.id, Value.indicator_code, Value.unit_id, _first_report())
                    .where(Value.unit_id.in_(ids), or_(*pairs))):
                reported[(code, unit_id)] = (value_id, first_at)
        out: list[MissingRow] = []
        for ind in indicators:
            period = due[ind.code]
            deadline = period.deadline(ind.deadline_days)
            current = Period.containing(ind.period, today)
            expected = [u for u in subtree if _reports(ind, u)]
            missing, late, on_time = [], [], 0
            for u in expected:
                got = reported.get((ind.code, u.id))
                if got is None:
                    missing.append(ReportLine(u, None, True, None))
                elif _local_day(got[1], self.zone) > deadline:
                    late.append(ReportLine(u, got[1], True, got[0]))
                else:
                    on_time += 1
            out.append(MissingRow(ind, period, deadline, current, current.deadline(ind.deadline_days),
                                  len(expected), missing, late, on_time))
        return unit, out


def _first_report():
    """When a value was first reported (a correction later does not make it late): its oldest change, read per
    value through ix_kpi_value_change_value_id; the value's own time when it has no change row."""
    oldest = (select(func.min(ValueChange.changed_at)).where(ValueChange.value_id == Value.id)
              .correlate(Value).scalar_subquery())
    return func.coalesce(oldest, Value.reported_at)


def _reports(indicator: Indicator, unit: UnitRow) -> bool:
    """Whether `unit` is expected to report `indicator`: its level is one that reports it; at department level,
    only the responsible department reports."""
    levels = set(indicator.levels or ())
    if unit.kind == "department" or unit.kind in ("police", "centre"):
        return "department" in levels and unit.id == indicator.department_id
    return unit.kind in levels


def _local_day(moment: datetime | None, zone: ZoneInfo) -> date:
    if moment is None:
        return date.max
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def _light(row: StatusRow, state: BreachState | None, today: date) -> None:
    """Set the row's light and the reason in words."""
    if row.case is not None and row.case.open:
        row.light, row.reason = "red", t("a case is open")
        return
    if row.rules:
        row.light, row.reason = "red", t("breaks a rule this period")
        return
    if row.value is None:
        overdue = today > row.period.deadline(row.indicator.deadline_days)
        row.light = "grey"
        row.reason = t("not reported, past the deadline") if overdue else t("not reported yet")
        return
    if state is not None and state.status == "pending":
        row.light, row.reason = "amber", t("breaching, not yet long enough to open a case")
        return
    if row.target is not None:
        better = row.value >= row.target if row.indicator.direction == "higher" else row.value <= row.target
        if not better:
            row.light, row.reason = "amber", t("short of its target")
            return
        if row.target and abs(row.value - row.target) <= abs(row.target) * NEAR_TARGET:
            row.light, row.reason = "amber", t("just at its target")
            return
    row.light, row.reason = "green", t("on track") if row.target is not None else t("reported, no target")


NEAR_TARGET = 0.02  # within 2 % of its target on the right side: amber, "just at its target"
