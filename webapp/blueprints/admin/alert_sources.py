"""Alert sources in the console: the systems that post alerts, where their alerts go, their tokens (shown once)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.admin.users import UserAdmin
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.monitoring.fields import FIELDS
from workflows.monitoring.sources import AlertSourceAdmin, NewSource

section("admin.alert_sources", _l("Alert sources"), order=45,
        description=_l("Systems that post alerts (Alertmanager, sensors): the unit and category of their cases, "
                       "their tokens."))

FORM_FIELDS = ("code", "name", "name_en", "field", "unit", "category")


def _admin() -> AlertSourceAdmin:
    return AlertSourceAdmin(db.session, runtime().clock)


def _page(admin: AlertSourceAdmin, status: int = 200, **extra):
    english = str(get_locale()) == "en"
    fields = [(key, en if english else vi, category) for key, (vi, en, category) in FIELDS.items()]
    categories = [(c.code, c.label("en" if english else "vi")) for c in admin.categories()]
    context = {"sources": admin.sources(), "fields": fields, "field_names": {k: n for k, n, _c in fields},
               "categories": categories, "category_names": dict(categories),
               "units": UserAdmin(db.session).unit_choices(), "errors": {}, "values": {}, "secret": None, **extra}
    return render_template("admin/alert_sources.html", **context), status


def _note() -> str:
    return (request.form.get("note") or "").strip()[:1000]


@bp.get("/alert-sources")
@admin_required()
def alert_sources():
    """The alert sources, with the form for a new one."""
    return _page(_admin())


@bp.post("/alert-sources")
@admin_required()
def alert_sources_create():
    """A new source; its token is shown on this answer only."""
    admin = _admin()
    values = {name: (request.form.get(name) or "").strip() for name in FORM_FIELDS}
    try:
        source, token = admin.create(g.actor, NewSource(**values), _note())
    except IntakeError as exc:
        db.session.rollback()
        return _page(admin, 400, errors={k: translate(v) for k, v in exc.fields.items()}, values=values)
    return _page(admin, 201, secret={"label": source.code, "value": token})


@bp.post("/alert-sources/<int:source_id>/rotate")
@admin_required()
def alert_sources_rotate(source_id: int):
    """A new token for a source, shown on this answer only; the old one stops working at once."""
    admin = _admin()
    try:
        source, token = admin.rotate(g.actor, source_id, _note())
    except CaseNotFoundError:
        abort(404)
    return _page(admin, 200, secret={"label": source.code, "value": token})


@bp.post("/alert-sources/<int:source_id>/<any(disable, enable):action>")
@admin_required()
def alert_sources_active(source_id: int, action: str):
    """Disable a source (its calls are refused, what it sent is kept) or enable it again."""
    try:
        source = _admin().set_active(g.actor, source_id, action == "enable", _note())
    except CaseNotFoundError:
        abort(404)
    flash(_("The alert source %(code)s is enabled.", code=source.code) if source.active
          else _("The alert source %(code)s is disabled: its calls are refused.", code=source.code))
    return redirect(url_for("admin.alert_sources"))
