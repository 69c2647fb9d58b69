"""Camera incidents without a case (/cameras/incidents): the incidents the vision service raised whose case could
not be opened (workflows/cameras/failures.py), each with its camera, kind, time, snapshot and the reason in the
reader's language, its tries and the next automatic one; a person retries one now or dismisses it with a note
(both audited). Operators and administrators, who watch the cameras, see and act; the cameras list shows the count.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.cameras import VIEWERS, bp
from webapp.blueprints.cameras.evidence import kind_words
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import require
from workflows.cameras import failures
from workflows.cameras.failures import CaseOpenError
from workflows.cameras.incidents import CameraIncidents
from workflows.cameras.models import CameraIncident

NOTE_LIMIT = 2000


def _sink() -> CameraIncidents:
    rt = runtime()
    return CameraIncidents(db.session, rt.clock, services_factory=rt.services, after_commit=rt.enqueue_outbox)


def _lines(items: list[failures.Waiting]) -> list[dict]:
    language = reader_language()
    soon = runtime().clock.now() + timedelta(minutes=1)
    return [{"row": w.row, "camera": w.camera,
             "camera_name": w.camera.name_en if language == "en" and w.camera.name_en else w.camera.name,
             "what": kind_words(w.row.kind, w.row.subtype), "reason": translate(w.reason), "stopped": w.stopped,
             "soon": w.row.retry_at is not None and w.row.retry_at <= soon}
            for w in items]


def _page(errors: dict | None = None, notes: dict | None = None, status: int = 200):
    return render_template("cameras/waiting.html", waiting=_lines(failures.waiting(db.session)),
                           dismissed=_lines(failures.dismissed(db.session)), errors=errors or {}, notes=notes or {},
                           give_up_after=failures.GIVE_UP_AFTER), status


@bp.get("/incidents")
@require(*VIEWERS)
def waiting():
    """The incidents waiting for their case, newest first, and the latest ones dismissed."""
    return _page()


@bp.get("/incidents/<int:row_id>/snapshot.jpg")
@require(*VIEWERS)
def waiting_snapshot(row_id: int):
    """The snapshot of an incident without a case, from the file store (private: never cached by others)."""
    row = db.session.get(CameraIncident, row_id)
    if row is None or row.case_id is not None or not row.snapshot_sha256:
        abort(404)
    files = runtime().files
    try:
        data = files.read(row.snapshot_sha256) if files is not None else None
    except (OSError, ValueError):
        data = None
    if not data:
        abort(404)
    response = current_app.response_class(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.post("/incidents/<int:row_id>/retry")
@require(*VIEWERS)
def waiting_retry(row_id: int):
    """Try to open the incident's case now (audited); the page again, saying what happened."""
    try:
        case = _sink().retry(row_id, actor=g.actor)
    except CaseOpenError:
        db.session.rollback()
        row = db.session.get(CameraIncident, row_id)
        words = translate(failures.reason(row.failure, row.failure_params)) if row is not None else ""
        flash(_("The case still cannot be opened: %(reason)s", reason=words), "error")
        return redirect(url_for("cameras.waiting"), 303)
    if case is None:
        flash(_("This incident no longer waits: its case was opened or it was dismissed meanwhile."), "info")
    else:
        flash(_("Case %(code)s opened for the incident.", code=case.code), "success")
    return redirect(url_for("cameras.waiting"), 303)


@bp.post("/incidents/<int:row_id>/dismiss")
@require(*VIEWERS)
def waiting_dismiss(row_id: int):
    """Set the incident aside with a note (required; audited): no case is opened for it."""
    note = (request.form.get("note") or "").strip()
    if not note or len(note) > NOTE_LIMIT:
        message = _("Say why it is dismissed.") if not note else \
            _("At most %(n)s characters; shorten it.", n=NOTE_LIMIT)
        return _page(errors={row_id: message}, notes={row_id: note[:NOTE_LIMIT * 2]}, status=400)
    row = _sink().dismiss(row_id, g.actor, note)
    if row is None:
        flash(_("This incident no longer waits: its case was opened or it was dismissed meanwhile."), "info")
    else:
        current_app.logger.info("camera incident %s dismissed by %s", row.key, g.actor.username)
        flash(_("The incident was dismissed; no case will be opened for it."), "success")
    return redirect(url_for("cameras.waiting"), 303)
