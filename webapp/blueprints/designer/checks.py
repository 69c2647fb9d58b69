"""The designer workspace: checks of a bundle (what `ioc deploy` refuses; the to-do list of an import)."""

from __future__ import annotations

from flask import jsonify, request

from engine.errors import Problem
from engine.i18n import t
from webapp.blueprints.designer import bp, designer_required
from webapp.blueprints.designer.library import problem_json
from webapp.extensions import db
from webapp.runtime import runtime
from workflows.designer.checks import CheckService
from workflows.designer.library import upload_problems


@bp.post("/api/check")
@designer_required()
def api_check():
    """Check {"files": {name: xml}}: {"ok", "problems": [{"file", "element", "message", "code", "advice"}]}.

    The problems are the deploy's refusals and the import to-do list, each on its element, in the
    reader's language. Bad input (not JSON, no files, a name that is not .bpmn/.dmn, too large) is 400.
    """
    body = request.get_json(silent=True)
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return _refused([Problem("-", None, t("send a JSON object with \"files\": {file name: BPMN or DMN text}"),
                                 code="request.invalid")])
    checked, problems = upload_problems((name, text.encode("utf-8")) for name, text in files.items())
    if problems:
        return _refused(problems)
    outcome = CheckService(runtime().services(db.session).definitions).check(checked)
    db.session.rollback()  # a check writes nothing
    return jsonify(ok=outcome.ok, problems=[{**problem_json(p), "advice": outcome.is_advice(p)}
                                            for p in outcome.problems])


def _refused(problems: list[Problem]):
    return jsonify(ok=False, problems=[{**problem_json(p), "advice": False} for p in problems]), 400
