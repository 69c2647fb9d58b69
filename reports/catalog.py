"""The report types, their parameters and the data a type collects for its template.

Each type's module registers a `ReportType` at import; `report_types()` imports the modules listed in
`MODULES` (so the catalogue is the same in the web app, a Celery worker, the command line and a test).
`validate_params` checks what a person or a schedule asked for against the live lists (types, units, cases)
and says per field, in words, what is wrong.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import now as clock_now
from engine.i18n import Text, t
from reports.periods import PeriodError, ReportPeriod
from workflows.models import AdminUnit, Case

MODULES: tuple[str, ...] = ("reports.operations", "reports.dossier", "reports.indicators", "reports.cameras")
LANGUAGES = ("vi", "en")
FIELDS = ("unit", "period", "case")

_TYPES: dict[str, ReportType] = {}


@dataclass
class ReportData:
    """What a report type collected: the headline figures, tables, charts and anything else its template needs.

    `summary` is JSON-able: the leaders' page shows it and "only when something changed" compares it.
    `charts` are Vega-Lite specs with their data inline — the page hands them to vega-embed, the PDF turns the
    same spec into SVG — so the figures on screen and on paper cannot disagree.
    """

    title: Text | str
    subtitle: Text | str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportParams:
    """What a report is made of: its type, and the unit, period and case it is about, in a language."""

    type: str
    unit: str | None = None
    period: str | None = None
    case: str | None = None
    language: str = "vi"

    def as_dict(self) -> dict[str, Any]:
        """The parameters as JSON (archived with the PDF that they made)."""
        return {"type": self.type, "unit": self.unit, "period": self.period, "case": self.case,
                "language": self.language}

    def report_period(self) -> ReportPeriod | None:
        """The period, parsed (the parameters were validated)."""
        return ReportPeriod.parse(self.period) if self.period else None


Collect = Callable[[Session, ReportParams, Callable[[Any], str]], ReportData]


@dataclass(frozen=True)
class ReportType:
    """A kind of report: `needs` lists the parameters it requires (of "unit", "period", "case");
    `collect(session, params, translate)` gathers its data; `template` is its file under reports/templates."""

    code: str
    name: Text
    needs: tuple[str, ...]
    collect: Collect
    template: str
    period_kinds: tuple[str, ...] = ("week", "month")


class ReportParamsError(ValueError):
    """Parameters that cannot make a report; `errors` maps each field to what is wrong with it, in words."""

    def __init__(self, errors: dict[str, Text]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def register(report_type: ReportType) -> ReportType:
    """Add a type to the catalogue (a module calls it at import; registering again replaces it)."""
    _TYPES[report_type.code] = report_type
    return report_type


def report_types() -> dict[str, ReportType]:
    """Every report type, by code, in the order the modules register them."""
    for module in MODULES:
        importlib.import_module(module)
    return dict(_TYPES)


def get(code: str) -> ReportType:
    """The type with this code (KeyError if there is none)."""
    return report_types()[code]


def _clean(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _check_code(session: Session, column: Any, code: str | None, errors: dict[str, Text], name: str,
                empty: Text, unknown: Text) -> None:
    """Note in `errors` a missing code, or one `column` does not hold."""
    if not code:
        errors[name] = empty
    elif session.scalar(select(column).where(column == code).limit(1)) is None:
        errors[name] = unknown


def validate_params(session: Session, raw: Mapping[str, Any]) -> ReportParams:
    """The parameters `raw` asks for, checked against the live lists; ReportParamsError says what is wrong.

    The type must exist; a unit must be an existing administrative unit's code; a period must parse and must
    not lie in the future; a case must be an existing case code; the language is vi or en. A type gets only the
    parameters it needs (the others are dropped, so two requests for the same report archive the same
    parameters).
    """
    errors: dict[str, Text] = {}
    types = report_types()
    code = _clean(raw.get("type"))
    report_type = types.get(code or "")
    if report_type is None:
        errors["type"] = (t("choose a report type") if not code
                          else t("there is no report type %(code)s", code=code))
    needs = report_type.needs if report_type else ()
    language = _clean(raw.get("language")) or "vi"
    if language not in LANGUAGES:
        errors["language"] = t("the language must be vi or en")
    values: dict[str, str | None] = {name: _clean(raw.get(name)) for name in FIELDS}

    unit = values["unit"]
    if "unit" in needs:
        _check_code(session, AdminUnit.code, unit, errors, "unit", t("choose a unit"),
                    t("there is no unit with the code %(code)s", code=unit))
    period = values["period"]
    if "period" in needs:
        if not period:
            errors["period"] = t("choose a period")
        else:
            try:
                parsed = ReportPeriod.parse(period)
            except PeriodError as exc:
                errors["period"] = exc.message
            else:
                if report_type and parsed.kind not in report_type.period_kinds:
                    errors["period"] = t("this report covers a month, not a week")
                elif parsed.is_future(clock_now()):
                    errors["period"] = t("%(period)s has not begun yet", period=parsed.label())
                else:
                    period = parsed.key
    case = values["case"]
    if "case" in needs:
        _check_code(session, Case.code, case, errors, "case", t("give a case code"),
                    t("there is no case with the code %(code)s", code=case))
    if errors:
        raise ReportParamsError(errors)
    assert report_type is not None
    return ReportParams(type=report_type.code,
                        unit=unit if "unit" in needs else None,
                        period=period if "period" in needs else None,
                        case=case if "case" in needs else None,
                        language=language)
