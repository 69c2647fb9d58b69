"""The officials' task list: tabs, filters, saved filters, and a task's page with its BPMN form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.errors import ConflictError, FormError, NotFoundError
from engine.i18n import text_of
from engine.instances import TASK_STATES
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.params import page_number as page_arg
from webapp.runtime import runtime
from webapp.security import actor, require
from workflows.case_view import CHANNEL_LABELS, PRIORITY_LABELS, VALUE_LABELS
from workflows.case_view import STATUS_LABELS as CASE_STATUS_LABELS
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.roles import ROLES
from workflows.task_service import CASE_STATUSES, SORTS, TABS, TaskFilter

bp = Blueprint("tasklist", __name__, url_prefix="/tasks")

TAB_LABELS = {"mine": _l("My tasks"), "unit": _l("My unit"), "overdue": _l("Overdue"), "due_soon": _l("Due soon"),
              "done": _l("Recently done")}
SORT_LABELS = {"due": _l("Deadline first"), "newest": _l("Newest first"), "priority": _l("Priority first")}
# Labels of channels, priorities, case and task states and form choices: the case layer's, one set.
STATUS_LABELS = {**CASE_STATUS_LABELS, **TASK_STATES}


def _services():
    return runtime().services(db.session)


def _message(exc: Exception) -> str:
    return translate(text_of(exc))


def _field_errors(exc: IntakeError | FormError) -> dict[str, str]:
    return {name: translate(message) for name, message in exc.fields.items()}


# The shared labels per language, translated on first use: the catalogs do not change while the
# process runs (Flask-Babel keeps them loaded for its life too).
_LABELS_IN: dict[str, dict[str, dict[str, str]]] = {}


@bp.app_context_processor
def labels() -> dict[str, Any]:
    """Labels the task pages and the case pages share, translated once per language (not once per row)."""
    from flask_babel import get_locale

    language = str(get_locale())
    translated = _LABELS_IN.get(language)
    if translated is None:
        def now(labels: dict) -> dict:
            return {key: translate(value) for key, value in labels.items()}

        translated = _LABELS_IN[language] = {
            "TAB_LABELS": now(TAB_LABELS), "SORT_LABELS": now(SORT_LABELS), "CHANNEL_LABELS": now(CHANNEL_LABELS),
            "PRIORITY_LABELS": now(PRIORITY_LABELS), "STATUS_LABELS": now(STATUS_LABELS),
            "CHOICE_LABELS": now(VALUE_LABELS)}
    return {**translated, "role_label": role_label, "now": lambda: runtime().clock.now()}


def role_label(role: str | None) -> str:
    """A role's name in the reader's language."""
    from flask_babel import get_locale

    names = ROLES.get(role or "")
    if names is None:
        return role or "—"
    return names[1] if str(get_locale()) == "en" else names[0]


def _list_context(fragment: bool) -> tuple[dict[str, Any], int]:
    args = request.args
    tab = args.get("tab", "mine")
    sort = args.get("sort", "due")
    errors: dict[str, str] = {}
    try:
        flt = TaskFilter.parse(args)
    except IntakeError as exc:
        errors, flt = _field_errors(exc), TaskFilter()
    if tab not in TABS:
        errors["tab"], tab = _("Unknown tab; showing your tasks."), "mine"
    if sort not in SORTS:
        errors["sort"], sort = _("Unknown sort order; sorting by deadline."), "due"
    page_number = page_arg(args)
    tasks = _services().tasks
    try:
        page = tasks.page(actor(), tab, flt, sort, page_number)
    except IntakeError as exc:  # a place code that does not exist
        errors.update(_field_errors(exc))
        flt = TaskFilter()
        page = tasks.page(actor(), tab, flt, sort, page_number)
    if "tab" not in args and not page.counts["mine"] and page.counts["unit"]:
        # Nothing held yet: open on the unit's queue, where there is work to take.
        page = tasks.page(actor(), "unit", flt, sort, page_number)
    context = {"page": page, "errors": errors, "fragment": fragment,
               "query": {**flt.as_args(), "sort": sort}}
    if not fragment:
        reference = _reference_lists()
        context.update(reference, saved=tasks.saved_filters(actor()), sorts=SORTS, statuses=CASE_STATUSES)
    return context, (400 if errors else 200)


def _reference_lists() -> dict[str, Any]:
    from workflows.reference import categories, places

    return {"categories": categories(db.session), "places": places(db.session, actor().scope_ids)}


@bp.get("/")
@require(official=True)
def index():
    """The task list: tabs with counts, filters, sort, saved filters, SLA countdowns."""
    context, status = _list_context(fragment=False)
    return render_template("tasklist/index.html", **context), status


@bp.get("/fragment")
@require(official=True)
def fragment():
    """The tabs and rows only, for the live refresh of an open task list."""
    context, status = _list_context(fragment=True)
    return render_template("tasklist/_list.html", **context), status


@bp.get("/<task_id>")
@require(official=True)
def task(task_id: str):
    """A task: its case in brief, its form, and claim / release / reassign."""
    try:
        detail = _services().tasks.detail(actor(), task_id, reader_language())
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    # The form starts with the case's current values (triage: its priority and category; a camera case's
    # verification: the situation its incident's kind suggests).
    context = _case_context(detail)
    suggested = context.pop("verify_initial", None) or {}
    values = {**suggested, **detail.initial} if detail.row.element_id == "verify" else detail.initial
    return render_template("tasklist/task.html", detail=detail, values=values, field_errors={}, **context)


def _case_context(detail) -> dict[str, Any]:
    """The case beside its task: description, photos and map (the case page's pieces)."""
    from webapp.blueprints.cases import map_context
    from workflows.case_view import CaseViewService

    rt = runtime()
    try:
        case = CaseViewService(db.session, rt.clock, timezone=rt.timezone).get(actor(), detail.row.case_code,
                                                                                reader_language())
    except (CaseNotFoundError, AccessDeniedError):  # a task one sees without its case: the form alone
        return {"case": None}
    from webapp.blueprints.cameras.case_panel import camera_context

    return {"case": case, **map_context(case), **camera_context(case)}  # the form is this page's own


def _back(task_id: str):
    target = request.form.get("next")
    if target and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("tasklist.task", task_id=task_id))


def _refused(exc: AccessDeniedError):
    """403 with the service's reason (whose task it is), in the reader's language."""
    return render_template("error.html", code=403, title=_("Not allowed"), message=_message(exc)), 403


def _act(task_id: str, action, done_message: str):
    try:
        action()
    except (CaseNotFoundError, NotFoundError):
        abort(404)
    except AccessDeniedError as exc:
        return _refused(exc)
    except IntakeError as exc:
        flash("; ".join(_field_errors(exc).values()), "error")
        return _back(task_id), 303
    except ConflictError as exc:
        flash(_message(exc), "error")
        return _back(task_id), 303
    flash(done_message)
    return _back(task_id), 303


@bp.post("/<task_id>/claim")
@require(official=True)
def claim(task_id: str):
    """Take a task of one's unit."""
    return _act(task_id, lambda: _services().tasks.claim(actor(), task_id), _("The task is yours now."))


@bp.post("/<task_id>/release")
@require(official=True)
def release(task_id: str):
    """Give a task back to the unit's queue."""
    return _act(task_id, lambda: _services().tasks.release(actor(), task_id),
                _("The task is back in the unit's queue."))


@bp.post("/<task_id>/reassign")
@require(official=True)
def reassign(task_id: str):
    """Give a task to a colleague (unit heads)."""
    username = (request.form.get("assignee") or "").strip()
    return _act(task_id, lambda: _services().tasks.reassign(actor(), task_id, username),
                _("The task was given to %(user)s.", user=username))


@bp.post("/<task_id>/complete")
@require(official=True)
def complete(task_id: str):
    """Complete a task with the form its BPMN user task declares; errors come back on the form."""
    services = _services()
    try:
        detail = services.tasks.detail(actor(), task_id, reader_language())
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    fields = detail.form.get("fields", [])
    data = {}
    for field in fields:
        value = request.form.get(field["name"])
        if field["type"] == "bool":
            value = "true" if value else "false"
        if value is not None:
            data[field["name"]] = value
    try:
        services.tasks.complete(actor(), task_id, data)
    except FormError as exc:
        return render_template("tasklist/task.html", detail=detail, values=request.form,
                               field_errors=_field_errors(exc), **_case_context(detail)), 422
    except AccessDeniedError as exc:
        return _refused(exc)
    except (ConflictError, NotFoundError) as exc:
        flash(_message(exc), "error")
        return redirect(url_for("tasklist.index")), 303
    flash(_("Task completed: %(title)s (%(code)s).", title=detail.row.title, code=detail.row.case_code))
    return redirect(url_for("tasklist.index", tab=request.args.get("tab", "mine"))), 303


@bp.post("/filters")
@require(official=True)
def save_filter():
    """Save the current filter for everyone in one's unit."""
    try:
        flt = TaskFilter.parse(request.form)
        _services().tasks.save_filter(actor(), request.form.get("name", ""), flt)
    except IntakeError as exc:
        flash("; ".join(_field_errors(exc).values()), "error")
    except AccessDeniedError as exc:
        return _refused(exc)
    else:
        flash(_("Filter saved for your unit."))
    kept = {name: value for name in TaskFilter.FIELDS if (value := request.form.get(name, "").strip())}
    return redirect(url_for("tasklist.index", **kept)), 303


@bp.post("/filters/<int:filter_id>/delete")
@require(official=True)
def delete_filter(filter_id: int):
    """Delete a saved filter of one's unit."""
    try:
        _services().tasks.delete_filter(actor(), filter_id)
    except CaseNotFoundError:
        abort(404)
    flash(_("Filter deleted."))
    return redirect(url_for("tasklist.index")), 303


@bp.app_template_filter("sla")
def sla(due, now=None) -> str:
    """Time left before a deadline ("2 h 05 min", "overdue 1 d 3 h"), for the SLA column."""
    if due is None:
        return "—"
    now = now or runtime().clock.now()
    seconds = int((due - now).total_seconds())
    late, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    phrases = _sla_phrases()
    if days:
        text = phrases["days"] % {"d": days, "h": hours}
    elif hours:
        text = phrases["hours"] % {"h": hours, "m": minutes}
    else:
        text = phrases["minutes"] % {"m": minutes}
    return phrases["late"] % {"time": text} if late else text


def _sla_phrases() -> dict[str, str]:
    """The SLA column's phrases in the reader's language, translated once per request (a list has 50 rows)."""
    if "ioc_sla_phrases" not in g:
        g.ioc_sla_phrases = {"days": _("%(d)s d %(h)s h"), "hours": _("%(h)s h %(m)02d min"),
                             "minutes": _("%(m)s min"), "late": _("overdue %(time)s")}
    return g.ioc_sla_phrases

