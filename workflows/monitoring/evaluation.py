"""Evaluating reported values against the rule table, and the cases a breach opens, follows up and closes.

- `preview(session, clock, rows)`: what would breach (a dry run shows it); nothing is written.
- `Evaluator(services, clock).evaluate(value_ids)`: the values stored or changed by an ingestion. Breaches
  are written (one row per indicator, unit, period and rule, with the rule table's version); the rules'
  memory (BreachState) counts consecutive breaching periods, and a case opens through CaseService.intake
  (channel "kpi", process kpi_breach) once a breach lasted `open_after` periods. At most one case is open per
  indicator and unit: a later period sends the case message `kpi_next_period` with the verdict `recovered`
  (back past the recovery threshold: the process closes the case) or `still_breaching` (it escalates).
  Between the recovery threshold and the breach threshold nothing opens and nothing closes (hysteresis).
- `Evaluator(...).check_missing(today)`: the missing rule (a unit that has not reported by the deadline);
  an open case of the indicator and unit gets the verdict `missing`, else a "missing" case opens; the late
  value then closes it (recovered) or keeps it (still breaching).

A recurrence after a close opens a NEW case linked to the previous one: BreachState.last_case_id, the start
data `kpi_previous_case`, and a `kpi_breach` history line naming it (a closed case keeps its history as it
was; the new one starts with the new period's facts).

Features are computed in bulk: per indicator, one query for the history of its units, one for its targets,
one for its breaches and one for its states; no query per value. The newest period of a unit in a batch
decides the case action (a backfill of many periods acts once, on its newest period; the older ones get
their breach rows and count toward the streak).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import ConflictError
from engine.i18n import Named, Text, t, to_json
from workflows.models import AdminUnit, Case, CaseEvent
from workflows.monitoring.fields import SEVERITY_RANK
from workflows.monitoring.models import Breach, BreachState, Indicator, Target, Value
from workflows.monitoring.periods import Period
from workflows.monitoring.rules import RuleRow, RuleTable, rule_table
from workflows.units import PLACE_KINDS

log = logging.getLogger(__name__)
_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CHUNK = 2000
# A case's priority by the breach's severity.
PRIORITY_OF = {"critical": "high", "high": "high", "medium": "normal", "low": "low"}
# Days after the next period's reporting deadline the case waits before its timer extends the wait.
WAIT_GRACE_DAYS = 7
# The fewest earlier values an outlier is measured against (the same period of earlier years: fewer exist).
MIN_HISTORY, MIN_SEASONAL_HISTORY = 6, 3
_SIZE = {"monthly": 12, "ytd": 12, "quarterly": 4, "yearly": 1}
# The rules' memory of a pair whose case action failed: older than any value, so the value is pending again.
NOT_EVALUATED = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))


@dataclass
class Finding:
    """A rule a value breaks (or a report missing): what a dry run shows and what a Breach row keeps."""

    indicator_code: str
    unit_id: int
    period: str
    rule: str
    severity: str
    value: float | None
    expected: float | None
    evidence: dict
    message: Text
    open_after: int = 1


@dataclass
class Assessment:
    """A value against every rule of its indicator: the findings, and whether each rule is back past its
    recovery threshold (rule → bool)."""

    findings: list[Finding]
    recovered: dict[str, bool]

    @property
    def primary(self) -> Finding | None:
        """The most severe finding (the first rule of the table among equals)."""
        if not self.findings:
            return None
        return max(self.findings, key=lambda f: SEVERITY_RANK[f.severity])


@dataclass
class EvaluationResult:
    """What one evaluation did."""

    values: int = 0
    breaches: int = 0
    opened: list[str] = field(default_factory=list)  # case codes
    recovered: list[str] = field(default_factory=list)
    still_breaching: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    pending: int = 0  # breaching, not yet for open_after periods
    failed: int = 0  # case actions that failed (logged; their values stay to be evaluated)
    rules_version: int | None = None
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------- numbers, periods
def _ordinal(kind: str, key: str, cache: dict) -> int | None:
    found = cache.get(key)
    if found is None:
        try:
            p = Period.from_key(kind, key)
        except ValueError:
            return None
        found = p.year * _SIZE[kind] + max(p.index, 1) - 1
        cache[key] = found
    return found


def _period_of(kind: str, ordinal: int) -> Period:
    size = _SIZE[kind]
    if kind == "yearly":
        return Period(ordinal, 0, kind)
    return Period(ordinal // size, ordinal % size + 1, kind)


def _fmt(x: float | None, decimals: int = 1) -> Named | str:
    """A number as each language writes it: 1.234,5 in Vietnamese, 1,234.5 in English."""
    if x is None:
        return "—"
    en = f"{x:,.{decimals}f}"
    return Named(en.replace(",", "\x00").replace(".", ",").replace("\x00", "."), en)


def _measure(value: float, expected: float, direction: str, unit: str) -> float | None:
    """How far `value` is worse than `expected` (positive: worse), in % of expected or in points."""
    worse = (expected - value) if direction != "lower" else (value - expected)
    if unit == "points":
        return worse
    if expected == 0:
        return None
    return worse / abs(expected) * 100


def _amount(measure: float, unit: str) -> Named:
    if unit == "points":
        en = f"{_fmt(abs(measure)).en} points"
        return Named(f"{_fmt(abs(measure))} điểm", en)
    return Named(f"{_fmt(abs(measure))} %", f"{_fmt(abs(measure)).en} %")


# ---------------------------------------------------------------------------------------------- the assessment
class _Context:
    """What assessing one indicator's values needs: its rows, targets, history and unit names."""

    def __init__(self, indicator: Indicator, rows: list[RuleRow], targets: Iterable[Target],
                 history: dict[int, dict[int, float]], units: dict[int, AdminUnit]):
        self.indicator, self.rows, self.history, self.units = indicator, rows, history, units
        self.kind = indicator.period
        self.by_rule: dict[str, list[RuleRow]] = defaultdict(list)
        for row in rows:
            self.by_rule[row.rule].append(row)
        for rule_rows in self.by_rule.values():  # the most severe first
            rule_rows.sort(key=lambda r: -SEVERITY_RANK[r.severity])
        self.targets: dict[tuple, tuple[str, float]] = {}
        for target in targets:
            self.targets[(target.unit_id, target.year, target.period)] = (target.kind, target.value)
        self.name = Named(indicator.name, indicator.name_en)
        self._periods: dict[int, Period] = {}
        # Units with targets of their own; the others share the targets for every unit (remembered per period).
        self._own = {target_unit for target_unit, _y, _p in self.targets if target_unit is not None}
        self._shared: dict[tuple[str, int], Any] = {}

    def expected(self, rule: str, unit_id: int, period: Period) -> Any:
        """expected_target or expected_pro_rata, remembered per period for the units without targets of their own."""
        if unit_id in self._own:
            return self.expected_target(unit_id, period) if rule == "target" else self.expected_pro_rata(unit_id, period)
        key = (rule, period)
        if key not in self._shared:
            self._shared[key] = (self.expected_target(unit_id, period) if rule == "target"
                                 else self.expected_pro_rata(unit_id, period))
        return self._shared[key]

    def _target(self, unit_id: int, year: int, period: str | None) -> tuple[str, float] | None:
        return self.targets.get((unit_id, year, period)) or self.targets.get((None, year, period))

    def expected_target(self, unit_id: int, period: Period) -> float | None:
        """The period's plan figure; else, for an indicator that is not cumulative, the yearly plan (a level
        that holds every period, e.g. a rate)."""
        own = self._target(unit_id, period.year, period.key)
        if own is not None and own[0] == "plan":
            return own[1]
        if own is None and self.kind != "ytd":
            yearly = self._target(unit_id, period.year, None)
            return yearly[1] if yearly is not None else None
        return None

    def expected_pro_rata(self, unit_id: int, period: Period) -> tuple[float, float] | None:
        """(the share of the yearly plan due by the period, the share in %), for a target of kind "share" or a
        cumulative indicator with a yearly plan."""
        yearly = self._target(unit_id, period.year, None)
        if yearly is None:
            return None
        own = self._target(unit_id, period.year, period.key)
        if own is not None and own[0] == "share":
            return yearly[1] * own[1] / 100, own[1]
        if self.kind == "ytd":
            return yearly[1] * period.share_of_year, period.share_of_year * 100
        return None

    def period(self, ordinal: int) -> Period:
        """The period of an ordinal (remembered: a batch has few distinct periods)."""
        found = self._periods.get(ordinal)
        if found is None:
            found = self._periods[ordinal] = _period_of(self.kind, ordinal)
        return found

    def unit_name(self, unit_id: int) -> Named | str:
        unit = self.units.get(unit_id)
        return Named(unit.name, unit.name_en or unit.name) if unit is not None else str(unit_id)

    # ------------------------------------------------------------------ one value
    def assess(self, unit_id: int, ordinal: int, value: float) -> Assessment:
        period = self.period(ordinal)
        findings: list[Finding] = []
        recovered: dict[str, bool] = {}
        history = self.history.get(unit_id, {})
        direction = self.indicator.direction
        head = _Head(self, unit_id, period)  # the message's names, made only for a finding

        def found(rule: str, row: RuleRow, expected: float | None, evidence: dict, message: Text) -> None:
            findings.append(Finding(self.indicator.code, unit_id, period.key, rule, row.severity, value, expected,
                                    evidence, message, row.open_after))

        for rule in ("target", "pro_rata"):
            rows = self.by_rule.get(rule)
            if not rows:
                continue
            if rule == "target":
                expected, share = self.expected("target", unit_id, period), None
            else:
                got = self.expected("pro_rata", unit_id, period)
                expected, share = (got if got is not None else (None, None))
            if expected is None:
                continue
            hit, back, measures = None, True, {}
            for row in rows:
                m = measures.get(row.threshold_unit, False)
                if m is False:
                    m = measures[row.threshold_unit] = _measure(value, expected, direction, row.threshold_unit)
                if m is None:
                    continue
                if hit is None and row.threshold is not None and m > row.threshold:
                    hit = (row, m)
                limit = row.recovery if row.recovery is not None else row.threshold
                if limit is not None and m > limit:
                    back = False
            recovered[rule] = back
            if hit is not None:
                row, m = hit
                worse = t("below") if direction != "lower" else t("above")
                evidence = {"measure": round(m, 4), "unit": row.threshold_unit, "threshold": row.threshold,
                            "direction": direction}
                if rule == "target":
                    message = t("%(indicator)s, %(unit)s, %(period)s: %(value)s is %(amount)s %(worse)s its target "
                                "%(expected)s", value=_fmt(value, 2), amount=_amount(m, row.threshold_unit),
                                worse=worse, expected=_fmt(expected, 2), **head)
                else:
                    evidence["share"] = share
                    message = t("%(indicator)s, %(unit)s, %(period)s: %(value)s is %(amount)s behind the %(share)s of "
                                "the yearly plan due by now (%(expected)s)", value=_fmt(value, 2),
                                amount=_amount(m, row.threshold_unit), share=_amount(share or 0, "percent"),
                                expected=_fmt(expected, 2), **head)
                found(rule, row, expected, evidence, message)

        rows = self.by_rule.get("range")
        if rows:
            hit, back = None, True
            for row in rows:
                low = row.lower is not None and value < row.lower
                high = row.upper is not None and value > row.upper
                if hit is None and (low or high):
                    hit = row
                margin = row.recovery or 0
                if (row.lower is not None and value < row.lower + margin) or \
                        (row.upper is not None and value > row.upper - margin):
                    back = False
            recovered["range"] = back
            if hit is not None:
                bound = hit.lower if (hit.lower is not None and value < hit.lower) else hit.upper
                found("range", hit, bound, {"lower": hit.lower, "upper": hit.upper},
                      t("%(indicator)s, %(unit)s, %(period)s: %(value)s is outside the range %(lower)s – %(upper)s",
                        value=_fmt(value, 2), lower=_fmt(hit.lower, 2), upper=_fmt(hit.upper, 2), **head))

        rows = self.by_rule.get("falling")
        if rows:
            # How many periods in a row the value got worse, counted back from this one (once for every row).
            run, later, o, longest = 0, value, ordinal, max(row.periods or 3 for row in rows)
            higher = direction != "lower"
            while run < longest:
                earlier = history.get(o - 1)
                if earlier is None or not (later < earlier if higher else later > earlier):
                    break
                run, later, o = run + 1, earlier, o - 1
            hit = None
            for row in rows:
                n = row.periods or 3
                if run >= n:
                    hit = (row, n, [*(history[ordinal - k] for k in range(n, 0, -1)), value])
                    break
            recovered["falling"] = hit is None
            if hit is not None:
                row, n, seq = hit
                found("falling", row, seq[0], {"periods": n, "values": seq},
                      t("%(indicator)s, %(unit)s, %(period)s: worse %(count)s periods in a row (%(values)s)",
                        count=n, values=Named(" → ".join(str(_fmt(v, 2)) for v in seq),
                                              " → ".join(_fmt(v, 2).en for v in seq)), **head))

        rows = self.by_rule.get("outlier")
        if rows:
            hit, scores = None, {}
            for row in rows:
                score = scores.get((row.method, row.periods))
                if (row.method, row.periods) not in scores:
                    score = self._score(history, ordinal, value, row)
                    scores[(row.method, row.periods)] = score
                if score is not None and row.z_limit is not None and abs(score[0]) > row.z_limit:
                    hit = (row, score)
                    break
            recovered["outlier"] = hit is None
            if hit is not None:
                row, (score, centre, count, seasonal) = hit
                evidence = {"score": round(score, 3), "method": row.method, "limit": row.z_limit, "centre": centre,
                            "history": count, "seasonal": seasonal}
                words = {"value": _fmt(value, 2), "score": _fmt(score, 2), "limit": _fmt(row.z_limit, 1),
                         "centre": _fmt(centre, 2), **head}
                message = (t("%(indicator)s, %(unit)s, %(period)s: %(value)s is unusual against the same period of "
                             "earlier years (score %(score)s, limit %(limit)s, usual %(centre)s)", **words)
                           if seasonal else
                           t("%(indicator)s, %(unit)s, %(period)s: %(value)s is unusual against the unit's own "
                             "history (score %(score)s, limit %(limit)s, usual %(centre)s)", **words))
                found("outlier", row, centre, evidence, message)
        return Assessment(findings, recovered)

    def _score(self, history: dict[int, float], ordinal: int, value: float,
               row: RuleRow) -> tuple[float, float, int, bool] | None:
        seasonal = bool(self.indicator.seasonal) and self.kind in ("monthly", "quarterly")
        n = row.periods or 12
        if seasonal:
            size = _SIZE[self.kind]
            sample = [history[o] for o in (ordinal - size * k for k in range(1, n + 1)) if o in history]
            need = MIN_SEASONAL_HISTORY
        else:
            sample = [history[o] for o in range(ordinal - n, ordinal) if o in history]
            need = MIN_HISTORY
        if len(sample) < need:
            return None
        if row.method == "z":
            centre, spread = statistics.fmean(sample), statistics.pstdev(sample)
            if spread == 0:
                return None
            return (value - centre) / spread, centre, len(sample), seasonal
        centre = _median(sample)
        mad = _median([abs(x - centre) for x in sample])
        if mad == 0:
            mean_ad = statistics.fmean(abs(x - centre) for x in sample)
            if mean_ad == 0:
                return None
            return (value - centre) / (1.253314 * mean_ad), centre, len(sample), seasonal
        return 0.6745 * (value - centre) / mad, centre, len(sample), seasonal


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    k = len(s) // 2
    return s[k] if len(s) % 2 else (s[k - 1] + s[k]) / 2


class _Head:
    """The names a finding's message starts with (indicator, unit, period), as keyword arguments of t()."""

    def __init__(self, ctx: _Context, unit_id: int, period: Period):
        self.ctx, self.unit_id, self.period = ctx, unit_id, period

    def keys(self) -> list[str]:
        return ["indicator", "unit", "period"]

    def __getitem__(self, name: str) -> Any:
        if name == "indicator":
            return self.ctx.name
        if name == "unit":
            return self.ctx.unit_name(self.unit_id)
        return self.period.label()


def _history(session: Session, code: str, unit_ids: Iterable[int], kind: str, cache: dict,
             since: int | None = None) -> dict[int, dict[int, float]]:
    """unit → period ordinal → value: the stored values of an indicator for these units (one query per chunk)."""
    out: dict[int, dict[int, float]] = defaultdict(dict)
    ids = sorted(set(unit_ids))
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        rows = session.execute(select(Value.unit_id, Value.period, Value.value)
                               .where(Value.indicator_code == code, Value.unit_id.in_(chunk)))
        for unit_id, key, value in rows:
            o = _ordinal(kind, key, cache)
            if o is not None and (since is None or o >= since):
                out[unit_id][o] = value
    return out


def _units(session: Session, ids: Iterable[int]) -> dict[int, AdminUnit]:
    ids = sorted(set(ids))
    out: dict[int, AdminUnit] = {}
    for i in range(0, len(ids), CHUNK):
        out.update({u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids[i:i + CHUNK])))})
    return out


def _context(session: Session, table: RuleTable, indicator: Indicator, unit_ids: Iterable[int],
             units: dict[int, AdminUnit], cache: dict) -> _Context | None:
    rows = table.rows_for(indicator)
    if not [r for r in rows if r.rule != "missing"]:
        return None
    targets = session.scalars(select(Target).where(Target.indicator_code == indicator.code))
    history = _history(session, indicator.code, unit_ids, indicator.period, cache)
    return _Context(indicator, rows, targets, history, units)


# ---------------------------------------------------------------------------------------------- preview
def preview(session: Session, clock: Clock, rows: list[tuple[str, int, str, float]]) -> list[Finding]:
    """The findings the rows (indicator code, unit id, period key, value) would give; nothing is written.

    The rows are assessed against the stored history with the rows themselves in it (a file of several periods
    is judged as if stored), with the rule table of the newest deployed kpi_breach ([] when none is)."""
    table = rule_table(session)
    if table is None or not rows:
        return []
    by_indicator: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
    for code, unit_id, key, value in rows:
        by_indicator[code].append((int(unit_id), key, float(value)))
    units = _units(session, [r[1] for r in rows])
    out: list[Finding] = []
    for code, items in by_indicator.items():
        indicator = session.get(Indicator, code)
        if indicator is None:
            continue
        cache: dict = {}
        ctx = _context(session, table, indicator, [u for u, _k, _v in items], units, cache)
        if ctx is None:
            continue
        ordered = []
        for unit_id, key, value in items:
            o = _ordinal(indicator.period, key, cache)
            if o is not None:
                ctx.history.setdefault(unit_id, {})[o] = value
                ordered.append((unit_id, o, value))
        for unit_id, o, value in ordered:
            out.extend(ctx.assess(unit_id, o, value).findings)
    return out


# ---------------------------------------------------------------------------------------------- the evaluator
@dataclass
class _Action:
    kind: str  # open | message
    indicator: Indicator
    unit_id: int
    period: str
    finding: Finding | None = None
    verdict: str = ""
    state_id: int | None = None
    previous_period: str | None = None  # the memory's period before this evaluation (restored if the action fails)


class Evaluator:
    """Evaluates stored values, writes breaches and the rules' memory, and opens and follows up cases."""

    def __init__(self, services, clock: Clock):
        self.services = services
        self.session: Session = services.session
        self.clock = clock

    # ------------------------------------------------------------------ values
    def evaluate(self, value_ids: list[int]) -> EvaluationResult:
        """Evaluate the kpi_value rows `value_ids` (commits; opens, follows up, closes or escalates cases)."""
        started = time.perf_counter()
        result = EvaluationResult()
        session = self.session
        table = rule_table(session)
        if table is None:
            log.warning("kpi_breach is not deployed: %s values left to evaluate", len(value_ids))
            return result
        result.rules_version = table.version
        ids = sorted(set(int(i) for i in value_ids))
        values: list[tuple[int, str, int, str, float]] = []
        columns = (Value.id, Value.indicator_code, Value.unit_id, Value.period, Value.value)
        if ids and ids[-1] - ids[0] < 2 * len(ids):
            # The ids of one upload are mostly a run: one range query, the few others filtered out here.
            wanted = set(ids)
            values = [r for r in session.execute(select(*columns).where(Value.id.between(ids[0], ids[-1])))
                      if r[0] in wanted]
        else:
            for i in range(0, len(ids), CHUNK):
                values.extend(session.execute(select(*columns).where(Value.id.in_(ids[i:i + CHUNK]))).all())
        result.values = len(values)
        by_indicator: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
        for _id, code, unit_id, key, value in values:
            by_indicator[code].append((unit_id, key, value))
        units = _units(session, [v[2] for v in values])
        actions: list[_Action] = []
        now = self.clock.now()
        for code, items in sorted(by_indicator.items()):
            indicator = session.get(Indicator, code)
            if indicator is None:
                continue
            actions.extend(self._evaluate_indicator(table, indicator, items, units, now, result))
        session.commit()
        for action in actions:
            self._act(action, result)
        result.seconds = time.perf_counter() - started
        return result

    def _evaluate_indicator(self, table: RuleTable, indicator: Indicator, items: list[tuple[int, str, float]],
                            units: dict[int, AdminUnit], now: datetime, result: EvaluationResult) -> list[_Action]:
        session = self.session
        cache: dict = {}
        ctx = _context(session, table, indicator, [u for u, _k, _v in items], units, cache)
        if ctx is None:  # no rule reads values: evaluated all the same (pending_value_ids no longer lists them)
            self._states(indicator.code, {u for u, _k, _v in items}, now)
            return []
        # Per unit, its periods of the batch in order, assessed.
        per_unit: dict[int, list[tuple[int, float, Assessment]]] = defaultdict(list)
        for unit_id, key, value in items:
            o = _ordinal(indicator.period, key, cache)
            if o is None:
                continue
            per_unit[unit_id].append((o, value, ctx.assess(unit_id, o, value)))
        for lst in per_unit.values():
            lst.sort(key=lambda x: x[0])

        # Breach rows: the batch's (unit, period) pairs get exactly their findings (a "missing" row stays: history).
        keys = {(u, ctx.period(o).key) for u, lst in per_unit.items() for o, _v, _a in lst}
        periods = sorted({k for _u, k in keys})
        existing: dict[tuple, Breach] = {}
        for i in range(0, len(periods), CHUNK):
            for b in session.scalars(select(Breach).where(Breach.indicator_code == indicator.code,
                                                          Breach.period.in_(periods[i:i + CHUNK]))):
                if (b.unit_id, b.period) in keys:
                    existing[(b.unit_id, b.period, b.rule)] = b
        wanted: dict[tuple, Finding] = {}
        for lst in per_unit.values():
            for _o, _v, assessment in lst:
                for f in assessment.findings:
                    wanted[(f.unit_id, f.period, f.rule)] = f
        stale = [b.id for k, b in existing.items() if k not in wanted and b.rule != "missing"]
        for i in range(0, len(stale), CHUNK):
            session.execute(delete(Breach).where(Breach.id.in_(stale[i:i + CHUNK])))
        new_rows = []
        for k, f in wanted.items():
            row = existing.get(k)
            if row is not None:
                row.severity, row.value, row.expected = f.severity, f.value, f.expected
                row.evidence, row.rules_version, row.found_at = _evidence(f), table.version, now
            else:
                new_rows.append({"indicator_code": f.indicator_code, "unit_id": f.unit_id, "period": f.period,
                                 "rule": f.rule, "severity": f.severity, "value": f.value, "expected": f.expected,
                                 "evidence": _evidence(f), "rules_version": table.version, "found_at": now})
        for i in range(0, len(new_rows), CHUNK):
            session.execute(insert(Breach), new_rows[i:i + CHUNK])
        result.breaches += len(wanted)

        # The rules' memory and the case actions (the newest period of each unit decides).
        states = self._states(indicator.code, set(per_unit), now)
        actions: list[_Action] = []
        for unit_id, lst in per_unit.items():
            state = states[unit_id]
            state.updated_at = now
            last = _ordinal(indicator.period, state.last_period, cache) if state.last_period else None
            before = state.last_period
            fresh = [x for x in lst if last is None or x[0] >= last]
            if not fresh:
                continue  # an older period corrected: its breach rows are rewritten, the memory stays
            # Worked out in locals, written once (a backfill of a hundred periods per unit is common).
            status, streak, last_rule, last_severity = state.status, state.streak, state.last_rule, state.last_severity
            for o, _value, assessment in fresh:
                primary = assessment.primary
                if o == last and last_rule and status != "open":
                    streak = max(0, streak - 1)  # the newest period corrected: counted once
                if status == "open":
                    if primary is not None:
                        last_severity = primary.severity
                else:
                    streak = streak + 1 if primary is not None else 0
                    last_rule = primary.rule if primary is not None else None
                    last_severity = primary.severity if primary is not None else None
                    status = "pending" if primary is not None else "ok"
                last = o
            o, _value, assessment = fresh[-1]
            key = ctx.period(o).key
            state.status, state.streak, state.last_rule, state.last_severity = status, streak, last_rule, last_severity
            state.last_period = key
            primary = assessment.primary
            if state.status == "open" and state.case_id is not None:
                case_rule = state.last_rule or ""
                back = primary is None and assessment.recovered.get(case_rule, True)
                # The period the case already heard of, reported again (a correction, a retry): only a recovery
                # is news; still breaching would escalate the case twice for one period.
                if back or key != before:
                    actions.append(_Action("message", indicator, unit_id, key, primary,
                                           "recovered" if back else "still_breaching", state.id, before))
            elif primary is not None and state.streak >= primary.open_after:
                actions.append(_Action("open", indicator, unit_id, key, primary, state_id=state.id))
            elif primary is not None:
                result.pending += 1
        return actions

    def _states(self, code: str, unit_ids: set[int], now: datetime) -> dict[int, BreachState]:
        """The rules' memory of an indicator for these units, made where missing, marked evaluated now."""
        session = self.session
        states = {s.unit_id: s for s in session.scalars(select(BreachState).where(BreachState.indicator_code == code))}
        new_rows = [{"indicator_code": code, "unit_id": u, "status": "ok", "streak": 0, "updated_at": now}
                    for u in sorted(unit_ids) if u not in states]
        for i in range(0, len(new_rows), CHUNK):
            session.execute(insert(BreachState), new_rows[i:i + CHUNK])
        if new_rows:
            made = [r["unit_id"] for r in new_rows]
            for i in range(0, len(made), CHUNK):
                states.update({s.unit_id: s for s in session.scalars(
                    select(BreachState).where(BreachState.indicator_code == code,
                                              BreachState.unit_id.in_(made[i:i + CHUNK])))})
        for unit_id in unit_ids:
            states[unit_id].updated_at = now
        return states

    # ------------------------------------------------------------------ cases
    def _act(self, action: _Action, result: EvaluationResult) -> None:
        session = self.session
        state = session.get(BreachState, action.state_id)
        try:
            if action.kind == "open":
                case = self._open(action, state)
                result.opened.append(case.code)
            else:
                code = self._follow_up(action, state)
                if code:
                    getattr(result, action.verdict).append(code)
        except Exception:
            session.rollback()
            log.exception("monitoring: the case action %s for %s / unit %s / %s failed; its value stays to be "
                          "evaluated (pending_value_ids) and is tried again", action.kind, action.indicator.code,
                          action.unit_id, action.period)
            result.failed += 1
            try:  # marked not evaluated: the periodic re-evaluation takes the value again, as news
                values: dict[str, Any] = {"updated_at": NOT_EVALUATED}
                if action.kind == "message" and action.verdict != "missing":
                    values["last_period"] = action.previous_period
                session.execute(update(BreachState).where(BreachState.id == action.state_id).values(**values))
                session.commit()
            except Exception:  # noqa: BLE001 - the database itself is failing: logged above, retried later
                session.rollback()

    def _open(self, action: _Action, state: BreachState) -> Case:
        from workflows.case_service import IntakeRequest

        finding, indicator = action.finding, action.indicator
        session = self.session
        unit = session.get(AdminUnit, action.unit_id)
        place, responsible = self._places(unit, indicator)
        previous = session.get(Case, state.last_case_id) if state.last_case_id else None
        period = Period.from_key(indicator.period, action.period)
        wait_until = _wait_until(period, indicator.deadline_days)
        title = f"{indicator.name} — {unit.name} — {_vi_rule(finding.rule)} ({action.period})"[:255]
        description = (f"{str(finding.message)}\n\nChỉ tiêu: {indicator.name} ({indicator.code}); đơn vị: {unit.name}; "
                       f"kỳ: {action.period}; quy tắc: {finding.rule}; mức độ: {finding.severity}.")
        process_data = {
            "kpi_indicator": indicator.code, "kpi_indicator_name": indicator.name, "kpi_field": indicator.field,
            "kpi_period_kind": indicator.period, "kpi_direction": indicator.direction, "kpi_unit": unit.code,
            "kpi_responsible_unit": responsible.code, "kpi_period": action.period, "kpi_rule": finding.rule,
            "kpi_severity": finding.severity,
            "kpi_value": "" if finding.value is None else repr(float(finding.value)),
            "kpi_expected": "" if finding.expected is None else repr(float(finding.expected)),
            "kpi_message": str(finding.message)[:500], "kpi_previous_case": previous.code if previous else "",
            "kpi_wait_until": wait_until,
        }
        request = IntakeRequest(channel="kpi", category=indicator.category_code, title=title, admin_unit=place.code,
                                description=description, priority=PRIORITY_OF.get(finding.severity, "normal"),
                                source="kpi",
                                idempotency_key=f"kpi:{indicator.code}:{unit.id}:{action.period}:{finding.rule}",
                                process_data=process_data)
        case, _created = self.services.cases.intake(request)
        state = session.get(BreachState, action.state_id)
        state.case_id, state.status, state.last_rule = case.id, "open", finding.rule
        state.last_severity, state.updated_at = finding.severity, self.clock.now()
        session.execute(update(Breach).where(Breach.indicator_code == indicator.code,
                                             Breach.unit_id == unit.id, Breach.period == action.period)
                        .values(case_id=case.id))
        session.commit()
        return case

    def _places(self, unit: AdminUnit, indicator: Indicator) -> tuple[AdminUnit, AdminUnit]:
        """(the case's place, the unit that explains): a commune, ward or department explains its own value; a
        province's (or district's) value is the indicator's department's to explain. The place is the unit, or
        the nearest place above it (a department's is its province)."""
        place = unit
        while place is not None and place.kind not in PLACE_KINDS:
            place = place.parent
        place = place or unit
        if unit.kind in ("province", "district") and indicator.department_id:
            responsible = self.session.get(AdminUnit, indicator.department_id)
        else:
            responsible = unit
        return place, responsible

    def _follow_up(self, action: _Action, state: BreachState) -> str | None:
        """Send the open case the verdict; a case closed meanwhile (by hand) is forgotten. The case's code when
        the verdict was delivered, None when the case does not wait for it now (the plan is not in yet: the value
        is recorded in its history, the next period decides)."""
        session = self.session
        case = session.get(Case, state.case_id)
        if case is None or case.status in ("closed", "rejected", "merged") or case.process_instance_id is None:
            self._forget(state, case)
            session.commit()
            if action.finding is not None:  # the breach goes on: a new case, linked to the closed one
                if state.streak >= action.finding.open_after:
                    self._open(action, state)
            return None
        finding = action.finding
        payload = {"verdict": action.verdict, "period": action.period,
                   "severity": finding.severity if finding else "",
                   "value": finding.value if finding else None,
                   "message": str(finding.message)[:500] if finding else "",
                   "wait_until": _wait_until(Period.from_key(action.indicator.period, action.period),
                                             action.indicator.deadline_days)}
        if finding is None:
            value = session.scalar(select(Value.value).where(Value.indicator_code == action.indicator.code,
                                                             Value.unit_id == action.unit_id,
                                                             Value.period == action.period))
            payload["value"] = value
        instance_id = case.process_instance_id

        def work() -> None:
            self.services.instances.send_message(instance_id, "kpi_next_period", payload, actor="kpi")

        try:
            self.services.cases._transaction(work)
        except ConflictError:
            # Not waiting (the plan is not in yet): the value is in the history; the next period decides.
            session.add(CaseEvent(case_id=case.id, at=self.clock.now(), kind="kpi_followup_waiting", public=False,
                                  detail={k: payload[k] for k in ("verdict", "period", "severity", "value")}))
            session.commit()
            return None
        session.refresh(case)
        state = session.get(BreachState, action.state_id)
        if case.status == "closed":
            self._forget(state, case)
            state.streak, state.last_rule, state.last_severity = 0, None, None
        else:
            session.execute(update(Breach).where(Breach.indicator_code == action.indicator.code,
                                                 Breach.unit_id == action.unit_id, Breach.period == action.period)
                            .values(case_id=case.id))
        session.commit()
        return case.code

    def _forget(self, state: BreachState, case: Case | None) -> None:
        state.last_case_id = case.id if case is not None else state.last_case_id
        state.case_id, state.status, state.updated_at = None, "ok", self.clock.now()

    # ------------------------------------------------------------------ the missing rule
    def check_missing(self, today: date | None = None) -> EvaluationResult:
        """Open (or tell the open case of) every unit of an indicator's levels with no value for the newest
        period whose deadline has passed. Idempotent: run it daily, several times if need be."""
        started = time.perf_counter()
        result = EvaluationResult()
        session = self.session
        table = rule_table(session)
        if table is None:
            return result
        result.rules_version = table.version
        today = today or self.clock.now().astimezone(_LOCAL).date()
        now = self.clock.now()
        actions: list[_Action] = []
        for indicator in session.scalars(select(Indicator).where(Indicator.active.is_(True))
                                         .order_by(Indicator.code)).all():
            rows = [r for r in table.rows_for(indicator) if r.rule == "missing"]
            if not rows or not indicator.levels:
                continue
            period = Period.last_due(indicator.period, today, indicator.deadline_days)
            deadline = period.deadline(indicator.deadline_days)
            late = (today - deadline).days
            row = next((r for r in sorted(rows, key=lambda r: -SEVERITY_RANK[r.severity])
                        if late > (r.threshold or 0)), None)
            if row is None:
                continue
            query = select(AdminUnit).where(AdminUnit.kind.in_(list(indicator.levels)), AdminUnit.active.is_(True))
            reporting = list(session.scalars(query))
            if indicator.department_id is not None and "department" in indicator.levels:
                reporting = [u for u in reporting if u.kind != "department" or u.id == indicator.department_id]
            reported = set(session.scalars(select(Value.unit_id).where(Value.indicator_code == indicator.code,
                                                                       Value.period == period.key)))
            # A unit is late only for an indicator it reports (it did before): a new indicator, or a level added,
            # does not open a case for every unit of the province at once.
            reporters = set(session.scalars(select(Value.unit_id).where(Value.indicator_code == indicator.code)
                                            .distinct()))
            absent = [u for u in reporting if u.id in reporters and u.id not in reported]
            if not absent:
                continue
            existing = {b.unit_id: b for b in session.scalars(select(Breach).where(
                Breach.indicator_code == indicator.code, Breach.period == period.key, Breach.rule == "missing"))}
            states = {s.unit_id: s for s in session.scalars(select(BreachState)
                                                            .where(BreachState.indicator_code == indicator.code))}
            for unit in absent:
                message = t("%(indicator)s, %(unit)s, %(period)s: not reported by the deadline %(deadline)s "
                            "(%(days)s days late)", indicator=Named(indicator.name, indicator.name_en),
                            unit=Named(unit.name, unit.name_en or unit.name), period=period.label(),
                            deadline=deadline.strftime("%d/%m/%Y"), days=late)
                finding = Finding(indicator.code, unit.id, period.key, "missing", row.severity, None, None,
                                  {"deadline": deadline.isoformat(), "days_late": late}, message, row.open_after)
                breach = existing.get(unit.id)
                if breach is not None:
                    if SEVERITY_RANK[row.severity] > SEVERITY_RANK.get(breach.severity, 0):
                        breach.severity, breach.evidence = row.severity, _evidence(finding)
                        breach.rules_version = table.version
                    continue  # found before: its case was told then
                session.add(Breach(indicator_code=indicator.code, unit_id=unit.id, period=period.key, rule="missing",
                                   severity=row.severity, value=None, expected=None, evidence=_evidence(finding),
                                   rules_version=table.version, found_at=now))
                result.breaches += 1
                state = states.get(unit.id)
                if state is None:
                    state = BreachState(indicator_code=indicator.code, unit_id=unit.id, status="ok", streak=0,
                                        updated_at=now)
                    session.add(state)
                    session.flush()
                    states[unit.id] = state
                if state.status == "open" and state.case_id is not None:
                    actions.append(_Action("message", indicator, unit.id, period.key, finding, "missing", state.id))
                else:
                    state.status, state.streak, state.last_rule = "pending", state.streak, "missing"
                    actions.append(_Action("open", indicator, unit.id, period.key, finding, state_id=state.id))
        session.commit()
        for action in actions:
            self._act(action, result)
        result.seconds = time.perf_counter() - started
        return result


def _evidence(finding: Finding) -> dict[str, Any]:
    return {**finding.evidence, "message": to_json(finding.message), "open_after": finding.open_after}


def _wait_until(period: Period, deadline_days: int) -> str:
    """How long a case of `period` waits for the next period's value: its deadline and a grace, at 17:00."""
    day = period.next().deadline(deadline_days) + timedelta(days=WAIT_GRACE_DAYS)
    return datetime.combine(day, dtime(17, 0), tzinfo=_LOCAL).isoformat()


_VI_RULES = {"target": "không đạt chỉ tiêu", "pro_rata": "chậm tiến độ kế hoạch năm", "falling": "giảm liên tiếp",
             "range": "ngoài ngưỡng", "outlier": "bất thường", "missing": "chưa báo cáo đúng hạn"}


def _vi_rule(rule: str) -> str:
    return _VI_RULES.get(rule, rule)


def pending_value_ids(session: Session, since: datetime, limit: int = 200_000) -> list[int]:
    """The values reported since `since` that no evaluation has taken yet (the queued task failed or was never
    queued, or a case action failed): their indicator and unit's memory is older than the report, or missing."""
    query = (select(Value.id).outerjoin(BreachState, (BreachState.indicator_code == Value.indicator_code)
                                        & (BreachState.unit_id == Value.unit_id))
             .where(Value.reported_at >= since,
                    (BreachState.id.is_(None)) | (BreachState.updated_at < Value.reported_at))
             .order_by(Value.id).limit(limit))
    return list(session.scalars(query))
