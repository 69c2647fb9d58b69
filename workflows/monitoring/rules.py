"""The monitoring rule table: read from the newest deployed version of process `kpi_breach`, no code.

The table (decision `kpi_rules` in bpmn/kpi_rules.dmn, hit policy COLLECT) is evaluated once per indicator,
never per value: every matching row is a rule with its threshold and severity. A new version of kpi_breach
deployed with a changed table changes which values breach from the next evaluation on; the version number
goes with each breach found (Breach.rules_version).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.decisions import Decision
from engine.i18n import t

PROCESS_KEY = "kpi_breach"
DECISION_ID = "kpi_rules"
RULES = ("target", "pro_rata", "falling", "range", "outlier", "missing")
UNITS = ("percent", "points", "days")
METHODS = ("z", "modified_z")


class RuleTableError(ValueError):
    """A row of the rule table the evaluation cannot use (its message names the row and the cell)."""


@dataclass(frozen=True)
class RuleRow:
    """One matching row of the rule table."""

    rule: str
    severity: str
    threshold: float | None = None
    threshold_unit: str = "percent"
    lower: float | None = None
    upper: float | None = None
    periods: int | None = None
    z_limit: float | None = None
    method: str = "modified_z"
    open_after: int = 1
    recovery: float | None = None


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RuleTableError(t("a number cell holds %(value)s", value=repr(value)))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RuleTableError(t("a number cell holds %(value)s", value=repr(value))) from None


def _row(outputs: dict[str, Any]) -> RuleRow:
    from workflows.monitoring.fields import SEVERITY_RANK

    rule = str(outputs.get("rule") or "")
    if rule not in RULES:
        raise RuleTableError(t("rule %(rule)s is not one of %(choices)s", rule=repr(rule), choices=", ".join(RULES)))
    severity = str(outputs.get("severity") or "")
    if severity not in SEVERITY_RANK:
        raise RuleTableError(t("severity %(severity)s is not one of %(choices)s", severity=repr(severity),
                               choices=", ".join(SEVERITY_RANK)))
    unit = str(outputs.get("threshold_unit") or "percent")
    if unit not in UNITS:
        raise RuleTableError(t("threshold unit %(unit)s is not one of %(choices)s", unit=repr(unit),
                               choices=", ".join(UNITS)))
    method = str(outputs.get("method") or "modified_z")
    if method not in METHODS:
        raise RuleTableError(t("method %(method)s is not one of %(choices)s", method=repr(method),
                               choices=", ".join(METHODS)))
    periods = _number(outputs.get("periods"))
    open_after = _number(outputs.get("open_after"))
    return RuleRow(rule=rule, severity=severity, threshold=_number(outputs.get("threshold")), threshold_unit=unit,
                   lower=_number(outputs.get("lower")), upper=_number(outputs.get("upper")),
                   periods=int(periods) if periods is not None else None, z_limit=_number(outputs.get("z_limit")),
                   method=method, open_after=max(1, int(open_after or 1)), recovery=_number(outputs.get("recovery")))


class RuleTable:
    """The rule table of one deployed version of kpi_breach: the rows that apply to each indicator."""

    def __init__(self, version: int, decision: Decision | None):
        self.version = version
        self._decision = decision
        self._rows: dict[tuple, list[RuleRow]] = {}
        self._lock = threading.Lock()

    def rows_for(self, indicator) -> list[RuleRow]:
        """The rows of the table that match `indicator` (one evaluation per indicator and version)."""
        key = (indicator.code, indicator.field, indicator.period, indicator.direction)
        rows = self._rows.get(key)
        if rows is None:
            rows = self._evaluate(key)
            with self._lock:
                self._rows[key] = rows
        return rows

    def _evaluate(self, key: tuple) -> list[RuleRow]:
        if self._decision is None:
            return []
        code, field, period, direction = key
        result = self._decision.evaluate({"kpi_indicator": code, "kpi_field": field, "kpi_period_kind": period,
                                          "kpi_direction": direction})
        count = len(result.get("rule") or [])
        return [_row({name: values[i] for name, values in result.items()}) for i in range(count)]


_CACHE: dict[tuple[int, str], RuleTable] = {}
_CACHE_LOCK = threading.Lock()


def rule_table(session: Session) -> RuleTable | None:
    """The rule table of the newest deployed kpi_breach (None when kpi_breach is not deployed).

    Cached per definition version: parsing a DMN file once per version, not once per evaluation. The key
    holds the version's sha256 beside its id, so that a database made again (tests, a restored backup)
    whose ids repeat never gets another table's rows."""
    from engine.definitions import DefinitionService
    from workflows.roles import lane_roles
    from workflows.runtime import EVALUATOR, REGISTRY

    definition = DefinitionService(session, REGISTRY, lane_roles(), EVALUATOR).latest(PROCESS_KEY, missing_ok=True)
    if definition is None:
        return None
    key = (definition.id, definition.sha256)
    table = _CACHE.get(key)
    if table is None:
        files = definition.files or {}
        dmn = {name: text for name, text in files.items() if name.lower().endswith(".dmn")}
        decision = None
        if any(f'id="{DECISION_ID}"' in text for text in dmn.values()):
            decision = Decision(dmn, DECISION_ID, EVALUATOR)
        table = RuleTable(definition.version, decision)
        with _CACHE_LOCK:
            _CACHE[key] = table
    return table
