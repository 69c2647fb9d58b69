"""The monthly indicator report of a unit and everything below it.

It tells the leaders what the monitoring pages (workflows/monitoring/views.py) showed at the end of the month,
with the same definitions and the same helpers (which period is due, who is expected to report, the target
book, the status light, the trend chart's Vega-Lite spec):

- indicators: for each active indicator, the newest period due by the end of the month (its deadline passed;
  or a newer one already reported then), the unit's own value against its target with its status, and how
  many units of the subtree are on track, to watch, breaching or without a value;
- breaches: those the rules found in the month (`Breach.found_at`), with the case each raised;
- KPI cases: the cases of indicator breaches raised in the month (channel "kpi"), the unit's remedial plan
  (the newest `kpi_plan` event), whether the plan is past its date, the next period's verdict, the state;
- late reporting: for each indicator's period due by the end of the month, the units expected to report it
  that reported after the deadline, or had not reported by the end of the month.

A value counts from its first report (`_first_report`: a correction later does not make it late); values and
breaches after the end of the month are left out, so a past month says the same when made again. The cases'
states and plans are those known when the report is made. Every figure comes from a few set-based queries
(the unit tree, the indicators, then one each for values, breaches, states, targets, cases and their
events), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.clock import FrozenClock
from engine.clock import now as clock_now
from engine.i18n import Named, t
from reports import charts
from reports.cameras import in_sentence_period
from reports.catalog import ReportData, ReportParams, ReportType, register
from reports.i18n import Translate, language_of
from reports.operations import _is_demo, as_of_for, in_sentence
from reports.periods import LOCAL
from workflows.case_view import STATUS_LABELS
from workflows.models import AdminUnit, Case, CaseEvent
from workflows.monitoring.charts import rule_word, trend_spec
from workflows.monitoring.fields import SEVERITIES
from workflows.monitoring.models import Breach, Indicator, Value
from workflows.monitoring.periods import Period
from workflows.monitoring.views import (
    CLOSED_STATUSES,
    LIGHT_WORDS,
    LIGHTS,
    MonitoringViews,
    StatusRow,
    UnitRow,
    _first_report,
    _local_day,
    _reports,
)
from workflows.units import PLACE_KINDS

BREACH_ROWS = 200  # the newest first; the count covers them all
LATE_ROWS = 300
NAMES_PER_UNIT = 6  # the indicators a unit is late with, named in its line
TREND_CHARTS = 4  # the unit's own indicators that need attention first
TREND_PERIODS = 12


def _severity(code: str | None, language: str) -> str:
    if code in SEVERITIES:
        return SEVERITIES[code][1 if language == "en" else 0]
    return code or ""


class IndicatorQueries:
    """The report's queries for one unit's subtree, as the monitoring pages ask them, up to `as_of`."""

    def __init__(self, session: Session, unit_code: str, as_of: datetime):
        self.session = session
        self.views = MonitoringViews(session, FrozenClock(as_of))
        units = self.views.units()
        self.unit = next((u for u in units.values() if u.code == unit_code), None)
        if self.unit is None:  # a unit no longer active (merged away): its own rows only, no unit below it
            row = session.scalar(select(AdminUnit).where(AdminUnit.code == unit_code))
            self.unit = UnitRow(row.id, row.code, row.name, row.name_en or row.name, row.kind, row.parent_id)
            units[row.id] = self.unit
        self.subtree = self.views.subtree(self.unit)
        self.ids = [u.id for u in self.subtree]
        self.actor = SimpleNamespace(scope_ids=set(self.ids))  # the whole subtree: the report is about it
        self.as_of = as_of
        # The day the page is looked at: the day after the period (its end, exclusive), or today.
        self.today = as_of.astimezone(LOCAL).date()

    def indicators(self) -> list[Indicator]:
        """The active indicators, by field and code."""
        return list(self.session.scalars(select(Indicator).where(Indicator.active.is_(True))
                                         .order_by(Indicator.field, Indicator.code)))

    def due(self, indicators: list[Indicator]) -> dict[str, Period]:
        """Per indicator, the newest period due by `as_of` (whose late and missing reports are listed)."""
        return {i.code: Period.last_due(i.period, self.today, i.deadline_days) for i in indicators}

    def overview(self) -> list[StatusRow]:
        """The monitoring overview's rows as the page stood at `as_of`: one per indicator and unit that reports
        it (or has a value or a memory), with the period shown, value, target and light."""
        return self.views.overview(self.actor, self.unit.code, as_of=self.as_of).rows

    def values(self, periods: dict[str, Period]) -> dict[tuple[str, int], tuple[int, float, datetime]]:
        """(indicator, unit) → (value id, value, first reported) of the given periods, reported by `as_of`."""
        pairs = [and_(Value.indicator_code == code, Value.period == p.key) for code, p in periods.items()]
        if not pairs:
            return {}
        first = _first_report()
        return {(code, unit_id): (value_id, value, at) for value_id, code, unit_id, value, at in self.session.execute(
            select(Value.id, Value.indicator_code, Value.unit_id, Value.value, first)
            .where(Value.unit_id.in_(self.ids), or_(*pairs), first < self.as_of))}

    def breaches_found(self, start: datetime, end: datetime) -> list[Any]:
        """The breaches found in [start, end) in the subtree, the newest first, with their case's code."""
        return list(self.session.execute(
            select(Breach.indicator_code, Breach.unit_id, Breach.period, Breach.rule, Breach.severity, Breach.value,
                   Breach.expected, Breach.found_at, Case.code.label("case_code"))
            .outerjoin(Case, Case.id == Breach.case_id)
            .where(Breach.unit_id.in_(self.ids), Breach.found_at >= start, Breach.found_at < end)
            .order_by(Breach.found_at.desc(), Breach.id.desc())))

    def cases_raised(self, start: datetime, end: datetime) -> list[Any]:
        """The indicator-breach cases raised in [start, end) whose place or responsible unit is in the subtree."""
        scope = or_(Case.admin_unit_id.in_(self.ids), Case.responsible_unit_id.in_(self.ids))
        return list(self.session.execute(
            select(Case.id, Case.code, Case.title, Case.status, Case.admin_unit_id, Case.responsible_unit_id,
                   Case.created_at, Case.closed_at, Case.escalation_level)
            .where(Case.channel == "kpi", Case.created_at >= start, Case.created_at < end, scope)
            .order_by(Case.created_at, Case.id)))

    def case_events(self, case_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Per case: the newest remedial plan (`kpi_plan`) and next period's verdict (`kpi_followup`) recorded
        by `as_of`, and how many plans were made."""
        out: dict[int, dict[str, Any]] = {i: {"plans": 0} for i in case_ids}
        if not case_ids:
            return out
        for case_id, kind, at, detail in self.session.execute(
                select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.at, CaseEvent.detail)
                .where(CaseEvent.case_id.in_(case_ids), CaseEvent.kind.in_(("kpi_plan", "kpi_followup")),
                       CaseEvent.at < self.as_of)
                .order_by(CaseEvent.at, CaseEvent.id)):
            entry = out[case_id]
            if kind == "kpi_plan":
                entry["plans"] += 1
                entry["plan"] = dict(detail or {}, at=at)
            else:
                entry["followup"] = dict(detail or {}, at=at)
        return out


def collect(session: Session, params: ReportParams, translate: Translate) -> ReportData:
    """Every figure of the indicator report, its tables and its charts."""
    language = language_of(translate)
    period = params.report_period()
    if not params.unit or period is None:
        raise ValueError("the indicator report needs a unit and a period (validate_params checks them)")
    start, end = period.utc_range()
    as_of = as_of_for(period, clock_now())
    queries = IndicatorQueries(session, params.unit, as_of)
    unit = queries.unit
    units = {u.id: u for u in queries.subtree}
    indicators = queries.indicators()
    due = queries.due(indicators)
    rows = queries.overview()
    shown = {row.indicator.code: row.period for row in rows}

    def unit_name(unit_id: int | None) -> str:
        found = units.get(unit_id) if unit_id is not None else None
        return found.label(language) if found else translate(t("Not assigned yet"))

    def ind_name(ind: Indicator) -> str:
        return Named(ind.name, ind.name_en).in_language(language)

    by_code = {i.code: i for i in indicators}
    lights = {name: 0 for name in LIGHTS}
    per_indicator: dict[str, dict[str, Any]] = {}
    for row in rows:
        lights[row.light] += 1
        entry = per_indicator.setdefault(row.indicator.code, {name: 0 for name in LIGHTS} | {"own": None})
        entry[row.light] += 1
        if row.unit.id == unit.id:
            entry["own"] = row
    indicator_rows = []
    for ind in indicators:
        entry = per_indicator.get(ind.code)
        if entry is None:
            continue  # nobody in the subtree reports it
        own: StatusRow | None = entry["own"]
        measure = (ind.measure_unit_en if language == "en" else ind.measure_unit) or ""
        indicator_rows.append({
            "code": ind.code, "label": ind_name(ind), "measure": measure, "decimals": int(ind.decimals or 0),
            "period": shown[ind.code].key, "period_label": translate(shown[ind.code].label()),
            "value": own.value if own else None, "target": own.target if own else None,
            "light": own.light if own else None, "status": translate(own.reason) if own else "",
            "case": own.case.code if own and own.case else "",
            **{name: entry[name] for name in LIGHTS}, "units": sum(entry[name] for name in LIGHTS)})
    # The unit's own indicators that need attention first, then by field and code.
    indicator_rows.sort(key=lambda r: (LIGHTS.index(r["light"]) if r["light"] else len(LIGHTS), -r["red"],
                                       by_code[r["code"]].field, r["code"]))

    # Breaches found in the month.
    found = queries.breaches_found(start, end)
    by_severity: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    for b in found:
        by_severity[b.severity] = by_severity.get(b.severity, 0) + 1
        by_rule[b.rule] = by_rule.get(b.rule, 0) + 1
    breach_rows = []
    for n, b in enumerate(found[:BREACH_ROWS], start=1):
        ind = by_code.get(b.indicator_code)
        decimals = int(ind.decimals or 0) if ind else 2
        label = translate(Period.from_key(ind.period, b.period).label()) if ind else b.period
        breach_rows.append({
            "n": n, "indicator": ind_name(ind) if ind else b.indicator_code, "unit": unit_name(b.unit_id),
            "period": b.period, "period_label": label, "rule": b.rule, "rule_label": translate(rule_word(b.rule)),
            "severity": b.severity, "severity_label": _severity(b.severity, language), "value": b.value,
            "expected": b.expected, "decimals": decimals, "case": b.case_code or "",
            "found": b.found_at.astimezone(LOCAL).strftime("%d/%m/%Y")})

    # Cases raised in the month, with their plans.
    raised = queries.cases_raised(start, end)
    events = queries.case_events([c.id for c in raised])
    as_of_day = as_of.astimezone(LOCAL).date()
    case_rows = []
    plans_in = plans_late = cases_open = 0
    for c in raised:
        entry = events[c.id]
        plan = entry.get("plan")
        followup = entry.get("followup")
        is_open = c.status not in CLOSED_STATUSES
        cases_open += is_open
        plan_due = date.fromisoformat(plan["plan_due"]) if plan and plan.get("plan_due") else None
        late_plan = bool(is_open and plan_due is not None and plan_due < as_of_day)
        plans_in += plan is not None
        plans_late += late_plan
        if plan is None:
            plan_state = translate(t("no plan yet"))
        elif late_plan:
            plan_state = translate(t("past its date, not yet recovered"))
        elif is_open:
            plan_state = translate(t("under way"))
        else:
            plan_state = translate(t("carried out"))
        verdict = (followup or {}).get("verdict")
        case_rows.append({
            "code": c.code, "title": c.title, "unit": unit_name(c.responsible_unit_id or c.admin_unit_id),
            "raised": c.created_at.astimezone(LOCAL).strftime("%d/%m/%Y"),
            "status": c.status, "status_label": translate(STATUS_LABELS.get(c.status, t(c.status))), "open": is_open,
            "escalation_level": c.escalation_level or 0, "plan": (plan or {}).get("plan", ""),
            "plan_due": plan_due.strftime("%d/%m/%Y") if plan_due else "", "plans": entry["plans"],
            "plan_state": plan_state, "late_plan": late_plan,
            "verdict": verdict or "", "verdict_label": translate(VERDICT_WORDS[verdict]) if verdict in VERDICT_WORDS
            else ""})

    # Units that reported late, or had not reported, the periods due by the end of the month: one line per unit.
    due_values = queries.values(due)
    per_unit: dict[int, dict[str, Any]] = {}
    late_count = missing_count = expected_count = 0
    for ind in indicators:
        due_period = due[ind.code]
        deadline = due_period.deadline(ind.deadline_days)
        for u in queries.subtree:
            if not _reports(ind, u):
                continue
            expected_count += 1
            got = due_values.get((ind.code, u.id))
            day = _local_day(got[2], LOCAL) if got else None
            line = per_unit.setdefault(u.id, {"unit": u.label(language), "unit_code": u.code, "due": 0, "late": [],
                                              "missing": [], "days_late": 0})
            line["due"] += 1
            if got is not None and day <= deadline:
                continue
            name = f"{ind_name(ind)} ({translate(due_period.label())})"
            if got is None:
                missing_count += 1
                line["missing"].append(name)
                line["days_late"] = max(line["days_late"], (as_of_day - deadline).days)
            else:
                late_count += 1
                line["late"].append(name)
                line["days_late"] = max(line["days_late"], (day - deadline).days)
    late_rows = [{**line, "late_count": len(line["late"]), "missing_count": len(line["missing"]),
                  "indicators": "; ".join((line["missing"] + line["late"])[:NAMES_PER_UNIT]),
                  "more": max(0, len(line["missing"]) + len(line["late"]) - NAMES_PER_UNIT)}
                 for line in per_unit.values() if line["late"] or line["missing"]]
    late_rows.sort(key=lambda r: (-r["missing_count"], -r["late_count"], -r["days_late"], r["unit"]))

    summary: dict[str, Any] = {
        "unit": unit.code, "period": period.key, "as_of": as_of.isoformat(),
        "indicators": len(indicator_rows), "rows": len(rows), "lights": lights,
        "breaches": len(found), "breaches_by_severity": by_severity, "breaches_by_rule": by_rule,
        "cases_raised": len(raised), "cases_open": cases_open, "plans_in": plans_in, "plans_late": plans_late,
        "expected_reports": expected_count, "late_reports": late_count, "missing_reports": missing_count,
    }
    chart_specs: dict[str, dict[str, Any]] = {}
    if len(rows) > len(indicator_rows):  # several units: how they stand
        chart_specs["lights"] = charts.bar_chart(
            [{"label": translate(LIGHT_WORDS[name]), "count": lights[name]} for name in LIGHTS],
            category="label", value="count", language=language,
            title=translate(t("Indicators of the units by status")), category_title=translate(t("Status")),
            value_title=translate(t("Indicators")))
    for row in [r for r in indicator_rows if r["light"] is not None][:TREND_CHARTS]:
        trend = queries.views.trend(queries.actor, row["code"], unit.code, periods=TREND_PERIODS + 6)
        last = shown[row["code"]]
        points = [p for p in trend.points if p.period <= last][-TREND_PERIODS:]
        if not any(p.value is not None for p in points):
            continue
        spec = trend_spec(replace(trend, points=points), translate, language, width="container", height=200)
        spec["config"]["font"] = charts.FONT  # the report's serif, embedded in the PDF
        chart_specs[f"trend_{row['code']}"] = spec
    unit_label = Named(in_sentence(unit.name), unit.name_en)
    return ReportData(
        title=t("Monitoring of indicators: %(unit)s", unit=unit_label), subtitle=period.label(), summary=summary,
        tables={"indicators": indicator_rows, "breaches": breach_rows, "cases": case_rows,
                "late": late_rows[:LATE_ROWS]},
        charts=chart_specs,
        extra={"unit_code": unit.code, "unit_name": translate(unit_label), "period_label": translate(period.label()),
               "period_in_sentence": in_sentence_period(translate(period.label()), language), "as_of": as_of,
               "light_words": {k: translate(v) for k, v in LIGHT_WORDS.items()},
               "breaches_more": max(0, len(found) - len(breach_rows)),
               "late_more": max(0, len(late_rows) - LATE_ROWS), "demo": _is_demo(session),
               "trend_codes": [k for k in chart_specs if k.startswith("trend_")],
               "recipients": [translate(t("People's Committee of %(unit)s (to report)", unit=unit_label)
                                        if unit.kind in PLACE_KINDS else
                                        t("Leaders of %(unit)s (to report)", unit=unit_label))]})


VERDICT_WORDS = {"recovered": t("recovered"), "still_breaching": t("still breaching"), "missing": t("no value")}

register(ReportType(code="indicators", name=t("Indicator report"), needs=("unit", "period"), collect=collect,
                    template="indicators.html", period_kinds=("month",)))
