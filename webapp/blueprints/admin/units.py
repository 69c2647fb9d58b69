"""Administrative units in the console: the tree with its dates, and add / rename / merge / dissolve forms."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.admin.units import CHANGE_LABELS, KIND_LABELS, UNIT_KINDS, NewUnit, UnitAdmin, UnitChangeError

section("admin.units", _l("Administrative units"), order=20,
        description=_l("The tree of units with their dates: add, rename, merge or dissolve from an effective day."))

FORMS = {
    "add": ("code", "name", "name_en", "kind", "parent", "effective_on", "lat", "lon"),
    "rename": ("unit", "name", "name_en", "effective_on"),
    "merge": ("unit", "successor", "effective_on", "move_roles"),
    "dissolve": ("unit", "successor", "effective_on", "move_roles"),
}
_DONE = {
    "add": _l("Unit added."),
    "rename": _l("Rename saved."),
    "merge": _l("Merger saved."),
    "dissolve": _l("Dissolution saved."),
}


def _admin() -> UnitAdmin:
    return UnitAdmin(db.session, runtime().clock, current_app.config["TIMEZONE"])


def _page(admin: UnitAdmin, form: str = "", values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status: int = 200):
    return render_template("admin/units.html", tree=admin.tree(), live=admin.live_units(), today=admin.today(),
                           changes=admin.recent_changes(), flagged=admin.flagged_bindings(),
                           kinds=[(k, translate(KIND_LABELS[k])) for k in UNIT_KINDS],
                           kind_label=lambda k: translate(KIND_LABELS.get(k, k)),
                           change_label=lambda k: translate(CHANGE_LABELS.get(k, k)),
                           users_page="admin.users_detail" in current_app.view_functions,
                           form=form, values=values or {}, errors=errors or {}), status


@bp.get("/units")
@admin_required()
def units():
    """The unit tree (ended units too) with dates, successors, pending changes, and the forms."""
    return _page(_admin())


@bp.post("/units/<any(add, rename, merge, dissolve):form>")
@admin_required()
def units_change(form: str):
    """Add, rename, merge or dissolve a unit; units are chosen from the live list and checked again here."""
    values = {k: (request.form.get(k) or "").strip() for k in FORMS[form]}
    admin = _admin()
    try:
        _apply(admin, form, values)
    except UnitChangeError as exc:
        db.session.rollback()
        return _page(admin, form, values, {k: translate(v) for k, v in exc.fields.items()}, 400)
    runtime().enqueue_outbox()  # the moved tasks' live updates
    flash(str(_DONE[form]))
    return redirect(url_for("admin.units"), 303)


def _apply(admin: UnitAdmin, form: str, values: dict[str, Any]) -> None:
    if form == "add":
        admin.add(g.actor, NewUnit(**values))
    elif form == "rename":
        admin.rename(g.actor, values["unit"], values["name"], values["name_en"], values["effective_on"])
    else:
        ending = admin.merge if form == "merge" else admin.dissolve
        ending(g.actor, values["unit"], values["successor"], values["effective_on"], move_roles=bool(values["move_roles"]))


@bp.post("/units/changes/<int:change_id>/cancel")
@admin_required()
def units_cancel(change_id: int):
    """Withdraw a change that has not taken effect yet."""
    try:
        _admin().cancel(g.actor, change_id if change_id < 2**31 else 0)
    except UnitChangeError as exc:
        db.session.rollback()
        flash(translate(next(iter(exc.fields.values()))), "error")
        return redirect(url_for("admin.units"), 303)
    flash(_("Change withdrawn."))
    return redirect(url_for("admin.units"), 303)
