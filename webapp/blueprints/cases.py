"""The officials' case pages: the list, a case with its history, comments, files, map and diagram."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from engine.i18n import text_of
from webapp.downloads import attachment_response, thumbnail_response
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.params import page_number as page_arg
from webapp.runtime import runtime
from webapp.security import actor, require
from workflows.case_view import CHANNEL_LABELS, PRIORITY_LABELS, STATUS_LABELS, CaseViewService
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.task_service import CASE_STATUSES, TaskFilter

T = TypeVar("T")

bp = Blueprint("cases", __name__)


@bp.context_processor
def case_labels() -> dict[str, Any]:
    """Labels of channels, statuses and priorities (messages of the case layer), and task links."""
    return {"labels": {"channel": CHANNEL_LABELS, "status": STATUS_LABELS, "priority": PRIORITY_LABELS},
            "task_url": task_url}


def task_url(task_id: str) -> str:
    """The page of a task (the task list's; a plain path while that blueprint has no such page)."""
    try:
        return url_for("tasklist.task", task_id=task_id)
    except BuildError:
        return f"/tasks/{task_id}"


def _view() -> CaseViewService:
    rt = runtime()
    return CaseViewService(db.session, rt.clock, timezone=rt.timezone)



def _case_or_abort(code: str):
    """The case if the user may see it; 404 for none, 403 for a case outside the user's view."""
    try:
        return _view().case(actor(), code)
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)


def _attachment_limit() -> int:
    return int(current_app.config["MAX_ATTACHMENT_MB"]) * 1024 * 1024


def _page(code: str, status: int = 200, **form_state: Any):
    """The case page (404 / 403 for a case that does not exist or is outside the user's view)."""
    try:
        detail = _view().get(actor(), code, reader_language())
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    from webapp.blueprints.cameras.case_panel import camera_context
    from webapp.blueprints.leaders import LANGUAGE_OPTIONS
    from webapp.blueprints.leaders_backend import backend

    camera = camera_context(detail, actor(), runtime().services(db.session))
    return render_template("cases/page.html", case=detail, now=runtime().clock.now(), **map_context(detail), **camera,
                           max_mb=current_app.config["MAX_ATTACHMENT_MB"], form_state=form_state,
                           dossiers=backend().dossiers(db.session, detail.code), reader_lang=reader_language(),
                           languages=dict(LANGUAGE_OPTIONS)), status


def map_context(detail) -> dict[str, Any]:
    """What the case map (cases/_macros.html `location_map`, js/case.js) needs: base map and the open cases nearby."""
    config = current_app.config
    related = [{"code": r.code, "title": r.title, "lat": r.lat, "lon": r.lon, "metres": r.metres,
                "url": url_for("cases.case", code=r.code)} for r in detail.related]
    return {"related_json": related, "map_tiles": config.get("MAP_TILES_URL") or "",
            "map_attribution": config.get("MAP_ATTRIBUTION") or ""}


@bp.get("/cases/")
@require(official=True)
def index():
    """Cases in the official's view, newest first, with filters (status, category, place, words)."""
    errors: dict[str, str] = {}
    try:
        flt = TaskFilter.parse(request.args)
    except IntakeError as exc:
        errors, flt = {k: translate(v) for k, v in exc.fields.items()}, TaskFilter()
    page_number = page_arg(request.args)
    view = _view()
    try:
        page = view.list_cases(actor(), flt, page_number, reader_language())
    except IntakeError as exc:  # a place code that does not exist
        errors.update({k: translate(v) for k, v in exc.fields.items()})
        flt = TaskFilter()
        page = view.list_cases(actor(), flt, page_number, reader_language())
    from workflows.reference import categories, places

    return render_template("cases/index.html", page=page, errors=errors, statuses=CASE_STATUSES,
                           categories=categories(db.session), places=places(db.session, actor().scope_ids),
                           query=flt.as_args(), now=runtime().clock.now()), (400 if errors else 200)


@bp.get("/cases/<code>")
@require(official=True)
def case(code: str):
    """A case: summary, map, photos and videos, open tasks, diagram, deadlines, history, comments, files."""
    return _page(code)


@bp.post("/cases/<code>/dossier")
@require(official=True)
def dossier(code: str):
    """Make the case's dossier for the records (a PDF: the case, who did what and when, photos, the resolution,
    the ratings; never the reporter's details) in the language chosen; its page follows the making."""
    from reports import catalog
    from reports.catalog import ReportParamsError
    from webapp.blueprints.leaders_backend import backend

    case = _case_or_abort(code)
    language = request.form.get("language") or reader_language()
    try:
        params = catalog.validate_params(db.session, {"type": "dossier", "case": case.code, "language": language,
                                                      "unit": None, "period": None})
    except ReportParamsError as exc:
        db.session.rollback()
        return _page(case.code, 400, dossier_error="; ".join(translate(m) for m in exc.errors.values()))
    job_id, _existing = backend().start(db.session, actor(), params)
    return redirect(url_for("cases.dossier_job", code=case.code, job_id=job_id)), 303


@bp.get("/cases/<code>/dossier/<int:job_id>")
@require(official=True)
def dossier_job(code: str, job_id: int):
    """A dossier being made: its progress (pushed by the worker), then the download link."""
    from webapp.blueprints.leaders_backend import backend

    case = _case_or_abort(code)
    job = backend().job(db.session, actor(), job_id, translate)
    if job is None or job.case != case.code:
        abort(404)
    return render_template("cases/dossier.html", case=case, job=job, event=backend().PROGRESS_EVENT)


@bp.post("/cases/<code>/comments")
@require(official=True)
def comment(code: str):
    """Add a comment between officials; an empty or too long one comes back with the reason."""
    body = request.form.get("body", "")
    try:
        _view().add_comment(actor(), code, body)
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    except IntakeError as exc:
        return _page(code, 400, comment_body=body, comment_error=translate(exc.fields.get("body", text_of(exc))))
    runtime().enqueue_outbox()  # the push to the case's open pages
    flash(_("Comment added."))
    return redirect(url_for("cases.case", code=code, _anchor="comments")), 303


@bp.post("/cases/<code>/attachments")
@require(official=True)
def upload(code: str):
    """Attach a photo, video or document; a file over the limit is refused whole and nothing is stored."""
    _case_or_abort(code)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _page(code, 400, upload_error=_("Choose a file to attach."))
    limit = _attachment_limit()
    data = sent.stream.read(limit + 1)  # never more than the limit (plus one byte to tell) in memory
    if len(data) > limit:
        return _page(code, 413, upload_error=_("The file is larger than %(mb)s MB; send a smaller one. "
                                               "Nothing was stored.", mb=current_app.config["MAX_ATTACHMENT_MB"]))
    content_type = sent.mimetype
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(sent.filename)[0] or "application/octet-stream"
    cases = runtime().services(db.session).cases
    try:
        stored = cases.add_attachment(code, sent.filename, content_type, data, uploaded_by=actor().username,
                                      public=request.form.get("public") == "1",
                                      stage=request.form.get("stage", "report"))
    except IntakeError as exc:
        return _page(code, 400, upload_error="; ".join(translate(v) for v in exc.fields.values()),
                     upload_stage=request.form.get("stage", "report"))
    flash(_("File attached: %(name)s", name=stored.filename))
    return redirect(url_for("cases.case", code=code, _anchor="files")), 303


@bp.post("/cases/<code>/merge")
@require("operator", "unit_head", "admin")
def merge(code: str):
    """Merge this case (a duplicate) into another one the official also sees; the reason comes back on refusal."""
    into = request.form.get("into", "").strip()[:40]
    try:
        kept = runtime().services(db.session).cases.merge(code, into, actor())
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    except IntakeError as exc:
        return _page(code, 400, merge_into=into, merge_error="; ".join(translate(v) for v in exc.fields.values()))
    flash(_("Case %(code)s was merged into %(into)s; its followers now follow %(into)s.", code=code.upper(),
            into=kept.code))
    return redirect(url_for("cases.case", code=kept.code)), 303


@bp.get("/cases/<code>/attachments/<int:attachment_id>")
@require(official=True)
def attachment(code: str, attachment_id: int):
    """A file of a case in the official's view: photos and videos shown in the page, anything else downloaded."""
    info, sha256 = _found(lambda: _view().attachment(actor(), code, attachment_id))
    return attachment_response(_stored(sha256), info, sha256)


@bp.get("/cases/<code>/attachments/<int:attachment_id>/thumbnail")
@require(official=True)
def thumbnail(code: str, attachment_id: int):
    """The small JPEG of a photo or video of a case in the official's view (the page's gallery)."""
    sha256 = _found(lambda: _view().thumbnail(actor(), code, attachment_id))
    return thumbnail_response(_stored(sha256), sha256)


def _found(look_up: Callable[[], T]) -> T:
    """What `look_up` finds in the official's view; 404 for what does not exist, 403 outside the view."""
    try:
        return look_up()
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)


def _stored(sha256: str) -> Path:
    """Where the file store keeps a file (404 when it is missing from the disk)."""
    path = runtime().files.path(sha256)
    if not path.is_file():
        abort(404)
    return path


@bp.get("/cases/<code>/diagram.json")
@require(official=True)
def diagram(code: str):
    """The BPMN of the case's process and the element ids done, active, waiting and failed, for the viewer."""
    try:
        view = _view().diagram(actor(), code, reader_language())
    except CaseNotFoundError as exc:
        return jsonify(error="not_found", message=translate(text_of(exc))), 404
    except AccessDeniedError:
        abort(403)
    state = view.state
    return jsonify(process=view.process_key, version=view.version, xml=view.xml, done=state.done,
                   active=state.active, waiting=state.waiting, failed=state.failed, flows=state.flows)
