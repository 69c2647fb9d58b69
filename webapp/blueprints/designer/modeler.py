"""The designer workspace: the modeler: BPMN and DMN files of a bundle edited in the browser, drafts saved.

`/designer/model` opens a deployed version (`?key=&version=`), a draft (`?draft=`), a new process (`?new=1`)
or, with none of these, the list of drafts and processes to start from (files from disk open there too).
The page's script is `frontend/pages/modeler.js`; drafts are saved through `/designer/api/drafts`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.blueprints.designer import bp, designer_required, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.designer.drafts import DraftError, DraftNotFoundError, DraftService, StaleDraftError

section("designer.modeler", _l("Modeler"), order=20,
        description=_l("Draw BPMN processes and edit DMN decision tables, alone or as a bundle; save drafts."))


def _service() -> DraftService:
    return DraftService(db.session, runtime().clock)


def _ui_text() -> dict[str, str]:
    """What the page's script says, in the reader's language (the script builds its nodes from these)."""
    return {
        "save": _("Save draft"), "saved": _("Draft saved (version %(version)s)."), "saving": _("Saving…"),
        "save_as_new": _("Save as a new draft"), "unsaved": _("Unsaved changes"),
        "check": _("Check"), "checked": _("Checked: no problem found."), "test": _("Test run"),
        "check_problems": _("Problems to look at (each is marked on its element):"),
        "compare": _("Compare with deployed"), "deploy": _("Deploy"), "add_files": _("Add files"),
        "remove": _("Remove"), "remove_question": _("Remove %(name)s from the bundle?"),
        "cancel": _("Cancel"), "confirm": _("Deploy anyway"), "ok": _("OK"),
        "not_bpmn_or_dmn": _("“%(name)s” is neither a BPMN nor a DMN file: only .bpmn and .dmn files go in a "
                             "bundle."),
        "name_taken": _("The bundle already holds a file named %(name)s: remove it first to open this one."),
        "open_failed": _("%(name)s could not be opened: %(reason)s"),
        "import_warnings": _("%(name)s is open, but the modeler could not read %(count)s of its parts: they may be "
                             "left out when it is saved. Check lists what the engine needs."),
        "no_files": _("The bundle is empty: add a .bpmn or .dmn file."),
        "no_base": _("This bundle was not opened from a deployed version."),
        "deploy_note": _("What changes in this version? (kept in the library)"),
        "deploy_question": _("Deploy this bundle as a new version?"),
        "deploy_confirm": _("Deploying would change other processes:"),
        "deploy_problems": _("The bundle was not deployed. Fix these problems first:"),
        "deploy_blocked": _("Not deployed: the checks show problems the engine would refuse. Fix them first:"),
        "deployed": _("Deployed: %(list)s. New cases take it; running ones keep their version."),
        "deploy_missing": _("Deploying from the browser is not available on this server yet (it answered 404): "
                            "use `ioc deploy` for now."),
        "server_error": _("The server answered %(status)s: %(message)s"),
        "network_error": _("The server could not be reached: your changes are still here; try again."),
        "leave": _("Your changes are not saved."),
        "title": _("Title"), "views": _("Views"), "diagram": _("Diagram"),
    }


@bp.get("/model")
@designer_required()
def modeler():
    """The modeler: the bundle's files in tabs, the properties panel, drafts, checks, test run, diff and deploy."""
    service = _service()
    bundle: dict[str, Any] | None = None
    try:
        if request.args.get("draft"):
            draft = service.get(_int_arg("draft"))
            bundle = {"title": draft.title, "files": draft.files, "draft": {"id": draft.id, "version": draft.version},
                      "base": draft.to_json()["base"]}
        elif request.args.get("key"):
            wanted = _int_arg("version") if request.args.get("version") else None
            found = service.files_of_version(request.args["key"], wanted)
            bundle = {"title": found.name, "files": found.files, "draft": None,
                      "base": {"key": found.key, "version": found.version}}
        elif request.args.get("new"):
            bundle = {"title": "", "files": {}, "draft": None, "base": None, "new": True}
    except DraftNotFoundError as exc:
        abort(404, description=translate(exc.args[0]))
    page = {"bundle": bundle, "text": _ui_text(),
            "urls": {"drafts": "/designer/api/drafts", "check": "/designer/api/check",
                     "deploy": "/designer/api/deploy", "test": "/designer/test", "compare": "/designer/compare",
                     "replay": "/designer/replay",
                     "model": "/designer/model"}}
    lists = {} if bundle else {"drafts": service.list(), "processes": service.deployed()}
    return render_template("designer/modeler.html", page=page, wide=bundle is not None, **lists)


def _int_arg(name: str) -> int:
    try:
        value = int(request.args[name])
    except ValueError:
        abort(404)
    if not 0 < value < 2**31:
        abort(404)
    return value


@bp.get("/api/drafts")
@designer_required()
def modeler_drafts():
    """The drafts, the most recently saved first (without their files)."""
    return jsonify({"drafts": [
        {"id": d.id, "title": d.title, "files": list(d.file_names), "updated_by": d.updated_by,
         "updated_at": d.updated_at.isoformat(),
         "base": {"key": d.base_key, "version": d.base_version} if d.base_key else None}
        for d in _service().list()]})


@bp.get("/api/drafts/<int:draft_id>")
@designer_required()
def modeler_draft(draft_id: int):
    """One draft with its files: {"id", "title", "files", "base", "version"}."""
    try:
        return jsonify(_service().get(draft_id).to_json())
    except DraftNotFoundError as exc:
        return jsonify({"error": translate(exc.args[0])}), 404


@bp.post("/api/drafts")
@designer_required()
def modeler_save_draft():
    """Save a draft: {"title", "files": {name: xml}, "id"?, "version"? (with id), "base"?} -> {"id", "version"}.

    A stale version answers 409 and writes nothing; what is wrong with the input answers 400.
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify({"error": _("Send the draft as a JSON object: {\"title\": …, \"files\": {\"name.bpmn\": "
                                   "\"<xml>\"}} with the header Content-Type: application/json.")}), 400
    draft_id = data.get("id")
    if draft_id is not None and (isinstance(draft_id, bool) or not isinstance(draft_id, int)):
        return jsonify({"error": _("The id of a draft is a number: leave it out to save a new draft.")}), 400
    try:
        draft = _service().save(title=data.get("title"), files=data.get("files"), actor=current_user.actor.username,
                                draft_id=draft_id, version=data.get("version"), base=data.get("base"))
        db.session.commit()
    except StaleDraftError as exc:
        db.session.rollback()
        return jsonify({"error": translate(exc.args[0]), "stale": True}), 409
    except DraftNotFoundError as exc:
        db.session.rollback()
        return jsonify({"error": translate(exc.args[0])}), 404
    except DraftError as exc:
        db.session.rollback()
        return jsonify({"error": translate(exc.args[0])}), 400
    return jsonify({"id": draft.id, "version": draft.version, "title": draft.title,
                    "updated_at": draft.updated_at.isoformat()})
