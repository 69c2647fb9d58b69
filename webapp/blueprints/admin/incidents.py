"""Incidents: the failed steps of every case; retry after a fix, skip with a note, or cancel with a reason."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.errors import ConflictError, EngineError
from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import actor
from workflows.admin.incidents import (
    INCIDENT_ROLES,
    STATES,
    VALUE_KINDS,
    Correction,
    IncidentNotFoundError,
    IncidentService,
)
from workflows.errors import IntakeError

section("admin.incidents", _l("Incidents"), roles=INCIDENT_ROLES, order=50,
        description=_l("Failed steps of processes: retry after a fix, skip with a note, or cancel the instance."))


def _service() -> IncidentService:
    return runtime().services(db.session).incidents


def _number(value: str | None) -> int:
    raw = (value or "1").strip()
    return max(1, min(int(raw), 100_000)) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


@bp.get("/incidents")
@admin_required(*INCIDENT_ROLES)
def incidents():
    """Open incidents newest first (`?state=resolved` or `all` for the others), each with its case and step."""
    state = request.args.get("state", "open")
    page = _service().list(state if state in STATES else "open", _number(request.args.get("page")))
    return render_template("admin/incidents.html", page=page)


@bp.get("/incidents/<int:incident_id>")
@admin_required(*INCIDENT_ROLES)
def incident(incident_id: int):
    """One incident: the whole account, the failed step's data, and the three ways out."""
    return _detail(incident_id)


def _detail(incident_id: int, errors: dict | None = None, form: dict | None = None, action: str = "", status: int = 200):
    try:
        detail = _service().detail(incident_id)
    except IncidentNotFoundError:
        abort(404)
    return render_template("admin/incident.html", detail=detail, errors=errors or {}, form=form or {},
                           action=action, kinds=VALUE_KINDS), status


@bp.post("/incidents/<int:incident_id>/<any(retry, skip, cancel):action>")
@admin_required(*INCIDENT_ROLES)
def act(incident_id: int, action: str):
    """Retry (with an optional corrected variable), skip with a note, or cancel with a reason."""
    form = {k: (request.form.get(k) or "") for k in ("variable", "value", "kind", "note")}
    service = _service()
    try:
        if action == "retry":
            row = service.retry(incident_id, actor(), Correction(form["variable"], form["value"], form["kind"] or "text"),
                                note=form["note"])
        elif action == "skip":
            row = service.skip(incident_id, actor(), form["note"])
        else:
            row = service.cancel(incident_id, actor(), form["note"])
    except IncidentNotFoundError:
        abort(404)
    except IntakeError as exc:
        db.session.rollback()
        errors = {k: translate(v) for k, v in exc.fields.items()}
        return _detail(incident_id, errors, form, action, 400)
    except (ConflictError, EngineError) as exc:
        db.session.rollback()
        flash(translate(exc.args[0]) if exc.args else str(exc), "error")
        return redirect(url_for("admin.incident", incident_id=incident_id)), 303
    messages = {"retry": _("The step was run again."), "skip": _("The step was skipped; the process went on."),
                "cancel": _("The process instance was cancelled and its case closed.")}
    flash(messages[action])
    if action == "retry" and service.has_open(row.instance_id):
        flash(_("The step failed again: a new incident is open."), "error")
    return redirect(url_for("admin.incidents")), 303
