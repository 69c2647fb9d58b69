"""The designer workspace: test runs of a draft in a sandbox with a simulated clock, kept as test cases."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.i18n import Named
from webapp.blueprints.designer import bp, designer_required, section
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import actor
from workflows.case_service import PROCESS_FOR_CHANNEL
from workflows.case_view import CHANNEL_LABELS, PRIORITY_LABELS, STATUS_LABELS, VALUE_LABELS
from workflows.designer.testrun import MOVES, KeptCaseService, RunView, TestRunError, TestRunService
from workflows.errors import CaseNotFoundError
from workflows.reference import categories, places

section("designer.testrun", _l("Test run"), order=30,
        description=_l("Run a draft in a sandbox on sample or copied case data: complete its tasks, move a simulated"
                       " clock so that timers fire, see the path on the diagram; keep runs as test cases."))


def _service() -> KeptCaseService:
    return KeptCaseService(db.session, runtime().clock)


def _source_files(source: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], str]:
    """(files, source as the page names it, title) of a draft or a deployed version."""
    if source.get("draft") not in (None, ""):
        from workflows.designer.drafts import DraftError, DraftService  # the modeler's drafts

        try:
            draft = DraftService(db.session, runtime().clock).get(int(source["draft"]))
        except DraftError as exc:
            raise TestRunError(exc.args[0]) from None
        except (ValueError, TypeError):
            raise TestRunError(_("There is no draft %(id)s; open one from the modeler.", id=source["draft"])) from None
        return dict(draft.files), {"draft": draft.id}, draft.title
    key = str(source.get("key") or "").strip()
    try:
        version = int(source["version"]) if source.get("version") not in (None, "") else None
    except (TypeError, ValueError):
        raise TestRunError(_("The version must be a whole number.")) from None
    if not key:
        raise TestRunError(_("Choose a draft or a deployed process to run."))
    files, row = _service().files_of_version(key, version)
    return files, {"key": row.process_key, "version": row.version}, f"{row.name or row.process_key} v{row.version}"


def _text(value: Any) -> str:
    return translate(value) if value not in (None, "") else ""


def _moment(value) -> dict[str, str] | None:
    if value is None:
        return None
    from flask import current_app

    return {"iso": value.isoformat(), "local": current_app.jinja_env.filters["local"](value)}


def _field(spec: dict[str, Any], options: list[tuple[str, str]], lang: str) -> dict[str, Any]:
    """A form field as the page draws it: label, type, required, its choices with their labels."""
    if spec.get("source"):
        choices = [[code, label] for code, label in options]
    else:
        choices = [[c, _text(VALUE_LABELS.get(c)) or c] for c in spec.get("choices", [])]
    return {"name": spec["name"], "type": spec.get("type", "text"), "required": bool(spec.get("required")),
            "label": spec.get("label_en") if lang == "en" else spec.get("label", spec["name"]),
            "options": choices}


def _view_json(view: RunView) -> dict[str, Any]:
    lang = reader_language()
    return {
        "start": view.start, "steps": view.steps, "process_key": view.process_key,
        "now": _moment(view.now), "case_code": view.case_code,
        "case_status": view.case_status, "case_status_label": _text(STATUS_LABELS.get(view.case_status, view.case_status)),
        "status": view.status, "responsible_unit": _text(view.responsible_unit), "case_due_at": _moment(view.case_due_at),
        "next_timer_at": _moment(view.next_timer_at),
        "tasks": [{"element_id": task.element_id, "name": _text(task.name), "role": _text(task.role),
                   "unit": _text(task.unit), "due_at": _moment(task.due_at), "performer": task.performer,
                   "instructions": task.instructions_en if lang == "en" and task.instructions_en else task.instructions,
                   "fields": [_field(f, task.options.get(f["name"], []), lang) for f in task.fields]}
                  for task in view.tasks],
        "xml": view.xml,
        "diagram": {"done": view.state.done, "active": view.state.active, "waiting": view.state.waiting,
                    "failed": view.state.failed, "flows": view.state.flows, "cancelled": view.cancelled},
        "events": [{"at": _moment(line.at), "kind": line.kind, "text": _text(line.text), "detail": _text(line.detail)}
                   for line in view.events],
        "path": [{"id": e, "name": _text(view.names.get(e, Named(e)))} for e in view.outcome.reached],
        "steps_read": [_step_label(step, view) for step in view.steps],
    }


def _step_label(step: dict[str, Any], view: RunView) -> str:
    """A step as the page lists it."""
    if step.get("kind") == "complete":
        return _("Completed: %(task)s", task=_text(view.names.get(step.get("element"), Named(step.get("element", "")))))
    from datetime import datetime

    moment = _moment(datetime.fromisoformat(step["to"]))
    return _("Clock %(move)s → %(when)s", move=_text(MOVES.get(step.get("move"), "")), when=moment["local"])


def _refused(exc: TestRunError):
    body: dict[str, Any] = {"message": _text(exc.message),
                            "fields": {name: _text(message) for name, message in exc.fields.items()}}
    if exc.problems:
        body["problems"] = [{"file": p.file, "element": p.element, "message": _text(p.message)} for p in exc.problems]
    return jsonify(body), 422


def _payload() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


def _start_of(body: dict[str, Any], service: TestRunService) -> dict[str, Any]:
    """The run's start: kept from an earlier answer, a copy of a real case, or the sample form."""
    if isinstance(body.get("start"), dict):
        return body["start"]
    sample = body.get("sample") if isinstance(body.get("sample"), dict) else {}
    if sample.get("case"):
        return service.copy_of_case(actor(), str(sample["case"]))
    return service.sample_start(sample)


@bp.get("/test")
@designer_required()
def testrun():
    """The test-run page for a draft (?draft=) or a deployed version (?key=&version=), or the list to choose from."""
    service = _service()
    source_args = {k: request.args.get(k) for k in ("draft", "key", "version") if request.args.get(k)}
    if not source_args:
        return render_template("designer/test_choose.html", processes=service.processes())
    initial = None
    try:
        _files, source, title = _source_files(source_args)
        if request.args.get("case", "").isdigit():  # a kept test case, opened to replay it on these files
            row = service.kept_case(int(request.args["case"]))
            initial = {"start": row.start, "steps": row.steps, "name": row.name, "name_en": row.name_en}
    except TestRunError as exc:
        flash(_text(exc.message), "error")
        return redirect(url_for("designer.testrun"))
    lang = reader_language()
    lists = {
        "channels": [[code, _text(label)] for code, label in CHANNEL_LABELS.items() if code in ("field_report", "hotline")],
        "categories": [[c.code, c.label(lang)] for c in categories(db.session)],
        "places": [[c.code, c.label(lang)] for c in places(db.session)],
        "priorities": [[code, _text(label)] for code, label in PRIORITY_LABELS.items()],
        "moves": [[code, _text(label)] for code, label in MOVES.items()],
        # The channel whose cases the process handles comes first chosen (hotline_call: the hotline).
        "defaults": {"channel": next((c for c, key in PROCESS_FOR_CHANNEL.items() if key == source.get("key")),
                                     "field_report")},
    }
    return render_template("designer/test_run.html", source=source, title=title, lists=lists, initial=initial,
                           kept=service.kept(source.get("key")) if source.get("key") else [])


@bp.post("/api/test/run")
@designer_required()
def testrun_run():
    """Replay a run's steps in a fresh sandbox and take one more (JSON): the run's state, or 422 with what to fix."""
    body = _payload()
    service = _service()
    try:
        files, _source, _title = _source_files(body.get("source") or {})
        start = _start_of(body, service)
        steps = body.get("steps") if isinstance(body.get("steps"), list) else []
        action = body.get("action") if isinstance(body.get("action"), dict) else None
        view = service.run(files, start, steps, action, reader_language())
    except TestRunError as exc:
        return _refused(exc)
    except CaseNotFoundError as exc:
        return jsonify({"message": _text(exc.args[0]), "fields": {"case": _text(exc.args[0])}}), 422
    return jsonify(_view_json(view))


@bp.post("/api/test/cases")
@designer_required()
def testrun_keep():
    """Keep a run as a test case of its process (JSON: source, start, steps, name, name_en)."""
    body = _payload()
    service = _service()
    try:
        files, _source, _title = _source_files(body.get("source") or {})
        start = body.get("start") if isinstance(body.get("start"), dict) else {}
        steps = body.get("steps") if isinstance(body.get("steps"), list) else []
        row = service.keep(files, start, steps, str(body.get("name") or ""), str(body.get("name_en") or ""),
                           actor().username)
    except TestRunError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify({"id": row.id, "process_key": row.process_key,
                    "list": url_for("designer.testrun_cases", key=row.process_key)})


@bp.get("/test/cases")
@designer_required()
def testrun_cases():
    """The kept test cases (of one process), with their last result and a button to run them all."""
    key = request.args.get("key") or None
    service = _service()
    return render_template("designer/test_cases.html", key=key, cases=service.kept(key),
                           processes=service.processes())


@bp.post("/test/cases/run")
@designer_required()
def testrun_run_all():
    """Re-run every kept test case of a process on its newest deployed version (or a draft) and keep the results."""
    key = (request.form.get("key") or "").strip()
    service = _service()
    try:
        source = {"draft": request.form["draft"]} if request.form.get("draft") else {"key": key}
        files, _source, title = _source_files(source)
        results = service.rerun(key, files, record=True)
    except TestRunError as exc:
        flash(_text(exc.message), "error")
        return redirect(url_for("designer.testrun_cases", key=key or None))
    db.session.commit()
    failed = [r for r in results if not r.passed]
    if failed:
        flash(_("%(failed)s of %(total)s test cases failed on %(files)s.", failed=len(failed), total=len(results),
                files=title), "error")
    else:
        flash(_("All %(total)s test cases passed on %(files)s.", total=len(results), files=title))
    return redirect(url_for("designer.testrun_cases", key=key or None))


@bp.post("/test/cases/<int:case_id>/delete")
@designer_required()
def testrun_forget(case_id: int):
    """Delete a kept test case."""
    key = request.form.get("key") or None
    try:
        _service().forget(case_id)
    except TestRunError as exc:
        flash(_text(exc.message), "error")
        return redirect(url_for("designer.testrun_cases", key=key))
    db.session.commit()
    flash(_("The test case was deleted."))
    return redirect(url_for("designer.testrun_cases", key=key))
