"""The designer workspace: the instance view (any case's diagram, element states, data per step)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from engine.i18n import text_of
from webapp.blueprints.designer import bp, designer_required, section
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import actor
from workflows.designer.instances import STATE_LABELS, STATES, STATUS_LABELS, InstanceInspector
from workflows.errors import AccessDeniedError, CaseNotFoundError

section("designer.instances", _l("Instances"), order=70,
        description=_l("Any case's process on its diagram: what is done, active, waiting or failed, "
                       "and the data at each step."))


def _inspector() -> InstanceInspector:
    rt = runtime()
    return InstanceInspector(db.session, rt.services(db.session).instances, rt.clock)


@bp.get("/instances")
@designer_required()
def instances():
    """Open an instance by case code or number; the newest instances, failed ones first."""
    ref = request.args.get("ref", "").strip()
    if ref:
        return redirect(url_for("designer.instances_view", ref=ref))
    return render_template("designer/instances.html", recent=_inspector().recent(), statuses=STATUS_LABELS)


@bp.get("/instances/<ref>")
@designer_required()
def instances_view(ref: str):
    """A case's (or instance's) diagram fitted to the screen: element states, the path taken, data per step."""
    try:
        view = _inspector().view(actor(), ref, reader_language())
    except CaseNotFoundError as exc:
        return render_template("designer/instances.html", recent=_inspector().recent(), statuses=STATUS_LABELS,
                               error=translate(text_of(exc)), ref=ref), 404
    except AccessDeniedError:
        abort(403)
    labels = {state: translate(label) for state, label in STATE_LABELS.items()}
    data = {
        "xml": view.xml,
        "states": {state: view.ids_in(state) for state in STATES},
        "flows": view.flows,
        "elements": {e.element_id: {"name": translate(e.name), "state": e.state,
                                    "reason": translate(e.reason) if e.reason else "",
                                    "runs": [{"order": r.order, "state": r.state, "data": r.data} for r in e.runs]}
                     for e in view.elements.values()},
        "labels": labels,
    }
    return render_template("designer/instance.html", view=view, data=data, labels=labels, statuses=STATUS_LABELS)
