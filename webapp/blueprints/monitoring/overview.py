"""Monitoring views: the indicators of a unit and its sub-units with status lights, an indicator's trend
chart for a unit, the units that have not reported this period, and the history of a value."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request

from webapp.blueprints.monitoring import REPORTERS, _l, bp, monitoring_required, section
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.params import page_number
from webapp.runtime import runtime
from webapp.security import actor
from workflows.errors import AccessDeniedError, CaseNotFoundError
from workflows.monitoring.charts import rule_word, trend_rows, trend_spec
from workflows.monitoring.fields import FIELDS, SEVERITIES
from workflows.monitoring.views import LIGHT_WORDS, LIGHTS, MonitoringViews

section("monitoring.index", _l("Indicators by unit"), order=10)
PAGE_SIZE = 200  # rows of the overview per page: a province holds thousands (indicators × communes)
section("monitoring.missing", _l("Missing reports"), order=20)


def _views() -> MonitoringViews:
    return MonitoringViews(db.session, runtime().clock, current_app.config["TIMEZONE"])


def _found(call, *args: Any, **kwargs: Any) -> Any:
    """The view's answer; 404 for what does not exist, 403 for a unit outside the actor's view."""
    try:
        return call(*args, **kwargs)
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)


def _arg(name: str, limit: int = 64) -> str:
    return (request.args.get(name) or "").strip()[:limit]


def _common() -> dict[str, Any]:
    language = reader_language()
    return {"language": language, "field_words": {k: v[1] if language == "en" else v[0] for k, v in FIELDS.items()},
            "light_words": {k: translate(v) for k, v in LIGHT_WORDS.items()}, "lights": LIGHTS,
            "severity_words": {k: v[1] if language == "en" else v[0] for k, v in SEVERITIES.items()},
            "rule_word": lambda rule: translate(rule_word(rule)), "translate": translate}


@bp.get("/")
@monitoring_required()
def index():
    """The indicators of a unit and its sub-units: newest period, value against target, light, open case."""
    views = _views()
    field = _arg("field", 30)
    light = _arg("light", 10)
    overview = _found(views.overview, actor(), _arg("unit") or None, field if field in FIELDS else None,
                      light if light in LIGHTS else None)
    pages = max(1, -(-len(overview.rows) // PAGE_SIZE))
    page = min(page_number(request.args), pages)
    return render_template("monitoring/overview.html", overview=overview, units=views.units_in_view(actor()),
                           field=field if field in FIELDS else "", light=light if light in LIGHTS else "",
                           rows=overview.rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], page=page, pages=pages,
                           **_common())


@bp.get("/indicators/<code>")
@monitoring_required()
def trend(code: str):
    """An indicator's trend for a unit: the chart (values, target, breaches, cases) and the same figures as a table."""
    views = _views()
    trend = _found(views.trend, actor(), code[:40], _arg("unit") or None)
    language = reader_language()
    return render_template("monitoring/trend.html", trend=trend, rows=trend_rows(trend, translate, language),
                           spec=trend_spec(trend, translate, language), **_common())


@bp.get("/missing")
@monitoring_required()
def missing():
    """Per indicator, the units below the chosen one that have not reported its last due period, and the late ones."""
    views = _views()
    unit, rows = _found(views.missing, actor(), _arg("unit") or None)
    return render_template("monitoring/missing.html", unit=unit, rows=rows, units=views.units_in_view(actor()),
                           today=views.today(), **_common())


@bp.get("/values/<int:value_id>")
@monitoring_required()
def value(value_id: int):
    """The history of one value: who reported it, when, old → new, from which upload."""
    history = _found(_views().value_history, actor(), value_id)
    return render_template("monitoring/value.html", history=history, reporter=actor().has_role(*REPORTERS),
                           **_common())


@bp.app_template_filter("kpi_number")
def kpi_number(value: float | None, decimals: int = 2) -> str:
    """A figure in the reader's locale (Vietnamese: 1.234,5) with the indicator's decimals, as the chart shows it."""
    if value is None:
        return "—"
    text = f"{value:,.{max(0, min(int(decimals), 6))}f}"
    if reader_language() == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
