"""The designer workspace: the library of definitions: processes, versions, downloads, deploys."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import abort, g, jsonify, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.bundles import ConfirmationNeededError
from engine.errors import DeploymentError, NotFoundError, Problem
from engine.i18n import t
from webapp.blueprints.designer import bp, designer_required, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.designer.library import MAX_FILE_BYTES, MAX_FILES, LibraryService, upload_problems

section("designer.library", _l("Library"), order=10,
        description=_l("Every deployed process with its versions, notes and running instances; download, compare,"
                       " deploy files from disk."))


def _library() -> LibraryService:
    return LibraryService(db.session, runtime().services(db.session).definitions, runtime().clock)


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem as the check and deploy APIs give it, its message in the reader's language."""
    return {"file": problem.file, "element": problem.element_id, "message": translate(problem.message),
            "code": getattr(problem, "code", None)}


def _deploy(files: dict[str, str], note: str, confirm: bool, draft_id: int | None, source: str):
    """Deploy through the library; ("deployed", rows) | ("confirm", messages) | ("problems", problems)."""
    try:
        deployed = _library().deploy(files, g.actor, note=note, confirm=confirm, draft_id=draft_id, source=source)
        db.session.commit()
    except ConfirmationNeededError as asked:
        db.session.rollback()
        return "confirm", [translate(m) for m in asked.messages]
    except DeploymentError as refused:
        db.session.rollback()
        return "problems", [problem_json(p) for p in refused.problems]
    return "deployed", [{"key": d.definition.process_key, "version": d.definition.version, "created": d.created,
                         "name": d.definition.name} for d in deployed]


@bp.get("/library")
@designer_required()
def library():
    """Every deployed process with its versions (who, when, note, digest, running instances) and the upload form."""
    return render_template("designer/library.html", processes=_library().processes(), max_files=MAX_FILES)


@bp.post("/library/deploy")
@designer_required()
def library_deploy():
    """Deploy files chosen from disk (or, on the confirm step, the same files sent back with the form)."""
    uploads = []
    for upload in request.files.getlist("files"):
        if upload.filename:
            uploads.append((upload.filename, upload.read(MAX_FILE_BYTES + 1)))
        upload.close()  # a large file is spooled to a temporary file: close it now
    kept = [(key[len("file:"):], value.encode("utf-8")) for key, value in request.form.items(multi=True)
            if key.startswith("file:")]
    files, problems = upload_problems(uploads + kept)
    note = (request.form.get("note") or "").strip()[:2000]
    if problems:
        outcome, result = "problems", [problem_json(p) for p in problems]
    else:
        outcome, result = _deploy(files, note, request.form.get("confirm") == "1", None, "browser")
    status = {"deployed": 200, "confirm": 409, "problems": 422}[outcome]
    return render_template("designer/library.html", processes=_library().processes(), max_files=MAX_FILES,
                           outcome=outcome, result=result, files=files if outcome == "confirm" else {},
                           note=note), status


@bp.get("/library/<key>/<int:version>/download")
@designer_required()
def library_download(key: str, version: int):
    """A version's file (?file=name) exactly as deployed, or the whole version as a .zip, as an attachment."""
    try:
        found = _library().download(key[:120], version, request.args.get("file"))
    except NotFoundError:
        abort(404)
    return send_file(BytesIO(found.data), mimetype=found.mimetype, as_attachment=True, download_name=found.name,
                     max_age=0)


@bp.post("/api/deploy")
@designer_required()
def api_deploy():
    """Deploy {"files": {name: xml}, "note", "confirm", "draft"}: 200 deployed, 409 confirm, 422 problems."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict) or not all(
            isinstance(v, str) for v in body["files"].values()):
        return jsonify(problems=[problem_json(Problem("-", None, t(
            "send a JSON object with \"files\": {file name: BPMN or DMN text}")))]), 400
    draft = body.get("draft")
    if draft is not None and (not isinstance(draft, int) or isinstance(draft, bool) or not 0 < draft < 2**31):
        draft = None
    note = body.get("note") if isinstance(body.get("note"), str) else ""
    files, problems = upload_problems((name, text.encode("utf-8")) for name, text in body["files"].items())
    if problems:
        return jsonify(problems=[problem_json(p) for p in problems]), 422
    outcome, result = _deploy(files, note.strip()[:2000], body.get("confirm") is True, draft, "browser")
    if outcome == "confirm":
        return jsonify(confirm=result), 409
    if outcome == "problems":
        return jsonify(problems=result), 422
    return jsonify(deployed=result)


@bp.get("/api/definitions/<key>/<int:version>")
@designer_required()
def api_definition(key: str, version: int):
    """A deployed version's files: {"key", "version", "files": {name: text}}."""
    try:
        files = _library().files_of(key[:120], version)
    except NotFoundError:
        return jsonify(error=_("no such version; choose one from the library")), 404
    return jsonify(key=key, version=version, files=files)
