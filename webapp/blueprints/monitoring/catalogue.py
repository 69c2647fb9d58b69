"""The indicator catalogue: every official and designer reads it; designers and administrators edit the
indicators and their targets (each change checked on the server and audited)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.monitoring import CATALOGUE_EDITORS, _l, bp, monitoring_required, section
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from workflows.access import OFFICIAL_ROLES
from workflows.admin.audit import AuditLog
from workflows.errors import AccessDeniedError
from workflows.monitoring.catalogue import Catalogue, CatalogueError, IndicatorForm, TargetForm
from workflows.monitoring.fields import DIRECTIONS, FIELDS, LEVELS, PERIOD_KINDS
from workflows.monitoring.views import MonitoringViews

READERS = (*sorted(OFFICIAL_ROLES), "designer")
section("monitoring.catalogue", _l("Indicator catalogue"), roles=READERS, order=50)

TEXT_FIELDS = ("code", "name", "name_en", "field", "period", "direction", "measure_unit", "measure_unit_en",
               "department", "deadline_days", "min_value", "max_value", "decimals", "category", "description")


def _catalogue() -> Catalogue:
    return Catalogue(db.session, runtime().clock)


def _words(table: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    english = reader_language() == "en"
    return [(k, v[1] if english else v[0]) for k, v in table.items()]


def _posted() -> IndicatorForm:
    values = {k: (request.form.get(k) or "").strip() for k in TEXT_FIELDS}
    return IndicatorForm(levels=tuple(request.form.getlist("levels")), seasonal=bool(request.form.get("seasonal")),
                         active=bool(request.form.get("active")), **values)


def _can_edit() -> bool:
    return g.actor.has_role(*CATALOGUE_EDITORS)


def _form_page(catalogue: Catalogue, template: str, form: IndicatorForm, errors: dict[str, str] | None = None,
               status: int = 200, **extra: Any):
    return render_template(template, form=form, errors=errors or {}, departments=catalogue.departments(),
                           categories=catalogue.categories(), fields=_words(FIELDS), periods=_words(PERIOD_KINDS),
                           directions=_words(DIRECTIONS), levels=_words(LEVELS), language=reader_language(),
                           can_edit=_can_edit(), field_category={k: v[2] for k, v in FIELDS.items()}, **extra), status


def _errors(exc: CatalogueError) -> dict[str, str]:
    return {k: translate(v) for k, v in exc.fields.items()}


def _indicator_extra(catalogue: Catalogue, code: str, target_form: dict[str, str] | None = None,
                     target_errors: dict[str, str] | None = None) -> dict[str, Any]:
    views = MonitoringViews(db.session, runtime().clock, current_app.config["TIMEZONE"])
    return {"indicator": catalogue.get(code), "targets": catalogue.targets(code),
            "units": [u for u in views.units().values()], "target_form": target_form or {"kind": "plan",
                                                                                       "year": str(views.today().year)},
            "target_errors": target_errors or {},
            "history": AuditLog(db.session, current_app.config["TIMEZONE"]).for_target("indicator", code)}


@bp.get("/catalogue")
@monitoring_required(*READERS)
def catalogue():
    """Every indicator: field, period, direction, department, levels, deadline, targets, state."""
    return render_template("monitoring/catalogue.html", rows=_catalogue().rows(), fields=dict(_words(FIELDS)),
                           periods=dict(_words(PERIOD_KINDS)), levels=dict(_words(LEVELS)),
                           language=reader_language(), can_edit=_can_edit())


@bp.route("/catalogue/new", methods=["GET", "POST"])
@monitoring_required(*CATALOGUE_EDITORS)
def catalogue_new():
    """Add an indicator; a refused form comes back with every problem and what was typed."""
    catalogue = _catalogue()
    if request.method == "GET":
        return _form_page(catalogue, "monitoring/indicator_new.html",
                          IndicatorForm(code="", name="", name_en="", field="", period="monthly"))
    form = _posted()
    try:
        indicator = catalogue.create(g.actor, form)
    except CatalogueError as exc:
        db.session.rollback()
        return _form_page(catalogue, "monitoring/indicator_new.html", form, _errors(exc), 400)
    flash(_("Indicator %(code)s added to the catalogue.", code=indicator.code))
    return redirect(url_for("monitoring.catalogue_edit", code=indicator.code), 303)


@bp.route("/catalogue/<code>", methods=["GET", "POST"])
@monitoring_required(*READERS)
def catalogue_edit(code: str):
    """One indicator: its form (read only for those who do not edit the catalogue), its targets, its audit lines."""
    catalogue = _catalogue()
    indicator = catalogue.get(code[:40])
    if indicator is None:
        abort(404)
    if request.method == "GET":
        return _form_page(catalogue, "monitoring/indicator.html", catalogue.form_of(indicator),
                          **_indicator_extra(catalogue, indicator.code))
    if not _can_edit():
        abort(403)
    form = _posted()
    try:
        catalogue.update(g.actor, indicator.code, form)
    except CatalogueError as exc:
        db.session.rollback()
        return _form_page(catalogue, "monitoring/indicator.html", form, _errors(exc), 400,
                          **_indicator_extra(catalogue, indicator.code))
    flash(_("Indicator saved."))
    return redirect(url_for("monitoring.catalogue_edit", code=indicator.code), 303)


@bp.post("/catalogue/<code>/targets")
@monitoring_required(*CATALOGUE_EDITORS)
def catalogue_target(code: str):
    """Set a target (the yearly plan, or a period's plan figure or share) for a unit or every unit."""
    catalogue = _catalogue()
    indicator = catalogue.get(code[:40])
    if indicator is None:
        abort(404)
    typed = {k: (request.form.get(k) or "").strip()[:64] for k in ("year", "unit", "period", "kind", "value")}
    try:
        catalogue.set_target(g.actor, indicator.code, TargetForm(**typed))
    except CatalogueError as exc:
        db.session.rollback()
        return _form_page(catalogue, "monitoring/indicator.html", catalogue.form_of(indicator), {}, 400,
                          **_indicator_extra(catalogue, indicator.code, typed, _errors(exc)))
    except AccessDeniedError:
        abort(403)
    flash(_("Target saved."))
    return redirect(url_for("monitoring.catalogue_edit", code=indicator.code, _anchor="targets"), 303)


@bp.post("/catalogue/<code>/targets/<int:target_id>/delete")
@monitoring_required(*CATALOGUE_EDITORS)
def catalogue_target_delete(code: str, target_id: int):
    """Remove a target."""
    catalogue = _catalogue()
    indicator = catalogue.get(code[:40])
    if indicator is None:
        abort(404)
    try:
        catalogue.delete_target(g.actor, indicator.code, target_id)
    except CatalogueError:
        db.session.rollback()
        abort(404)
    flash(_("Target removed."))
    return redirect(url_for("monitoring.catalogue_edit", code=indicator.code, _anchor="targets"), 303)
