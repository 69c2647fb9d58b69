"""A camera's drawing page: its region of interest and lanes drawn on a live snapshot (pages/camera-regions.js),
saved as normalised polygons; the snapshot itself; the reference view the "moved camera" check compares with.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from vision.sources import SourceError, grab_snapshot
from webapp.blueprints.cameras import EDITORS, STATUSES, VIEWERS, bp, detail_words, registry
from webapp.extensions import db
from webapp.i18n import translate
from webapp.security import require
from workflows.cameras.registry import CameraForm
from workflows.errors import CaseNotFoundError, IntakeError

SNAPSHOT_TIMEOUT_S = 5.0


def _camera(code: str):
    try:
        return registry().get(code[:40])
    except CaseNotFoundError:
        abort(404)


def _text() -> dict[str, Any]:
    """The drawing's words in the reader's language (the script reads them from the page)."""
    return {
        "overlay": _("Drawing over the camera's picture"), "roi": _("Region of interest"), "lane_base": _("Lane"),
        "point": _("Point %(n)s (%(x)s %% across, %(y)s %% down): arrow keys move it, Delete removes it",
                   n="{n}", x="{x}", y="{y}"),
        "arrow": _("Direction of the traffic in %(name)s: drag the arrow's tip", name="{name}"),
        "edit_lane": _("Draw this lane"), "name_label": _("Name"), "rotate_left": _("Turn ↺"),
        "rotate_right": _("Turn ↻"), "reverse": _("Reverse ⇅"), "delete_lane": _("Delete lane"),
        "drawing_roi": _("Now drawing: the region of interest. Click or tap the picture to add points."),
        "drawing_lane": _("Now drawing: %(name)s. Click or tap the picture to add points; drag the arrow's tip to "
                          "set the traffic's direction.", name="{name}"),
        "whole_picture": _("No region of interest: the whole picture is watched."),
        "problems": {
            "few_points": _("%(name)s needs at least 3 points.", name="{name}"),
            "no_name": _("Lane %(name)s needs a name.", name="{name}"),
            "same_name": _("Two lanes are named %(name)s.", name="{name}"),
            "no_direction": _("%(name)s has no direction yet: drag its arrow's tip.", name="{name}"),
        },
    }


def _page(camera, roi_text: str, lanes_text: str, errors: dict[str, str] | None = None, status: int = 200):
    return render_template("cameras/regions.html", camera=camera, roi_text=roi_text, lanes_text=lanes_text,
                           errors=errors or {}, can_edit=g.actor.has_role(*EDITORS), text=_text(),
                           status_words=STATUSES.get(camera.status, camera.status),
                           detail=detail_words(camera.status_detail)), status


def _dumps(value: Any) -> str:
    return "" if value in (None, []) else json.dumps(value, ensure_ascii=False)


@bp.get("/<code>/regions")
@require(*VIEWERS)
def regions(code: str):
    """The drawing page: the live snapshot with the region of interest and the lanes over it."""
    camera = _camera(code)
    return _page(camera, _dumps(camera.roi), _dumps(list(camera.lanes or [])))


@bp.post("/<code>/regions")
@require(*EDITORS)
def regions_save(code: str):
    """Save the region of interest and the lanes (JSON of normalised polygons, checked by the registry); a refused
    drawing comes back as it was drawn, with the reason."""
    camera = _camera(code)
    roi_text = (request.form.get("roi") or "").strip()[:20000]
    lanes_text = (request.form.get("lanes") or "").strip()[:100000]
    form = CameraForm.of(camera)
    form.roi, form.lanes = roi_text or None, lanes_text or []
    try:
        registry().update(g.actor, camera.code, form)
    except IntakeError as exc:
        db.session.rollback()
        errors = {k: translate(v) for k, v in exc.fields.items()}
        return _page(_camera(code), roi_text, lanes_text, errors, 400)
    flash(_("The region of interest and the lanes of %(code)s are saved; the vision service uses them from its "
            "next reading of the camera.", code=camera.code))
    return redirect(url_for("cameras.regions", code=camera.code), 303)


def _problem(exc: SourceError):
    status = 504 if exc.reason == "timeout" else 502
    words = detail_words(exc.reason)
    response = jsonify(error=exc.reason, message=_("The camera cannot give a picture now: %(why)s. Check its "
                                                   "stream URL and that it is switched on, then reload the page.",
                                                   why=words))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<code>/snapshot.jpg")
@require(*VIEWERS)
def snapshot(code: str):
    """What the camera sees now, as a JPEG (a JSON reason with 502/504 when it cannot be reached)."""
    camera = _camera(code)
    try:
        data = grab_snapshot(camera.stream_url, timeout_s=SNAPSHOT_TIMEOUT_S)
    except SourceError as exc:
        return _problem(exc)
    response = make_response(data)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<code>/reference.jpg")
@require(*VIEWERS)
def reference(code: str):
    """The camera's reference view (what "turned away" is measured against)."""
    camera = _camera(code)
    if not camera.reference_jpeg:
        abort(404)
    response = make_response(camera.reference_jpeg)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/<code>/reference")
@require(*EDITORS)
def reference_save(code: str):
    """Keep what the camera sees now as its reference view (after it was installed or turned back)."""
    camera = _camera(code)
    try:
        data = grab_snapshot(camera.stream_url, timeout_s=SNAPSHOT_TIMEOUT_S)
    except SourceError as exc:
        flash(_("The reference view was not changed: the camera cannot give a picture now (%(why)s).",
                why=detail_words(exc.reason)), "error")
        return redirect(url_for("cameras.regions", code=camera.code), 303)
    form = CameraForm.of(camera)
    form.reference_jpeg = data
    try:
        registry().update(g.actor, camera.code, form)
    except IntakeError as exc:
        db.session.rollback()
        flash("; ".join(translate(v) for v in exc.fields.values()), "error")
        return redirect(url_for("cameras.regions", code=camera.code), 303)
    flash(_("What the camera sees now is its reference view: it is reported as turned away when its picture no "
            "longer matches it."))
    return redirect(url_for("cameras.regions", code=camera.code), 303)
