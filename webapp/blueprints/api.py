"""The REST API under /api/v1: tasks, cases, comments, attachments and notifications, as JSON.

Machines send "Authorization: Bearer ioc_…" (a token made with `ioc token create`);
browsers use their session and send the page's CSRF token in an X-CSRFToken header on
every POST. Each route is declared once with `endpoint(...)`, which registers it and
documents it in the OpenAPI document at /api/v1/openapi.json.

What is outside the caller's view answers 404, exactly as what does not exist; what is in
view but not allowed to the caller's roles answers 403 with the reason.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from wtforms.validators import ValidationError

from engine.errors import ConflictError, FormError, NotFoundError
from engine.i18n import text_of
from webapp.downloads import attachment_response
from webapp.extensions import db
from webapp.i18n import translate
from webapp.openapi import BOOLEAN, INTEGER, JSON, STRING, ApiSpec, path, query, ref
from webapp.realtime import push_unread
from webapp.runtime import runtime
from webapp.security import csrf
from workflows.access import Actor
from workflows.case_view import AttachmentInfo, CaseViewService, CommentInfo
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.models import CHANNEL_PREFIX, PRIORITIES
from workflows.notification_service import NotificationService
from workflows.task_service import CASE_STATUSES, SORTS, TABS, TaskDetail, TaskFilter, TaskRow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Token callers cannot carry a CSRF token; browsers' POSTs are checked below, by header.
csrf.exempt(bp)

spec = ApiSpec(
    title="IOC Case Flow API", version="1.0.0", server="/api/v1",
    description="Cases, tasks, comments, attachments and notifications of the officials' workspace. "
                "Authenticate with a bearer token (`ioc token create USERNAME --name NAME`) or a browser session "
                "plus the X-CSRFToken header on POST. Messages come in the caller's language: `?lang=vi|en`, "
                "then `Accept-Language`, then the account's language, then Vietnamese. A resource outside your "
                "view answers 404 like one that does not exist; an action your roles do not allow answers 403.")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_PAGE = 100_000  # far beyond any list; a larger offset would overflow the database's integers
FIRST_YEAR, LAST_YEAR = 1900, 2999
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds (BIGINT ids are far from it in practice)
LANGUAGES = ("vi", "en")


class ApiError(Exception):
    """An answer other than success, with its status, code, message and per-field messages."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    """The JSON body every refusal of the API has."""
    return jsonify(error=code, message=message, fields=fields or {}), status


def _callers_language() -> str:
    """?lang, then Accept-Language, then the app's choice (the account's language, the lang cookie, vi)."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        return wanted
    if request.headers.get("Accept-Language"):
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return str(get_locale() or "vi")


def _actor() -> Actor:
    return current_user.actor


def _translated(fields: dict[str, Any]) -> dict[str, str]:
    return {name: translate(message) for name, message in fields.items()}


def _refusal(exc: Exception) -> ApiError:
    """The answer a domain error gets (IntakeError/FormError → 422, AccessDenied → 403, …)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, (IntakeError, FormError)):
        return ApiError(422, "invalid", _("Some fields are not right; see fields. Nothing was changed."),
                        _translated(exc.fields))
    if isinstance(exc, (CaseNotFoundError, NotFoundError)):
        return ApiError(404, "not_found", translate(text_of(exc)))
    if isinstance(exc, AccessDeniedError):
        return ApiError(403, "forbidden", translate(text_of(exc)))
    if isinstance(exc, ConflictError):
        return ApiError(409, "conflict", translate(text_of(exc)))
    if isinstance(exc, RequestEntityTooLarge):
        return _too_large()
    if isinstance(exc, BadRequest):  # e.g. a multipart body that cannot be parsed
        return ApiError(400, "bad_request", _("The request could not be read; check its format and headers."))
    raise exc


def _too_large(limit_mb: int | None = None) -> ApiError:
    limit = limit_mb or current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return ApiError(413, "too_large", _("The upload is larger than this server accepts (%(mb)s MB); send a "
                                        "smaller file.", mb=limit), {"file": _("at most %(mb)s MB", mb=limit)})


def endpoint(method: str, route: str, *, official: bool = True, public: bool = False, errors: Sequence[int] = (),
             **doc: Any) -> Callable[[Callable], Callable]:
    """Declare an API route: registered on the blueprint, documented, signed-in (and official) callers only.

    The view runs in the caller's language; domain errors become JSON refusals.
    """
    statuses = set(errors)
    if not public:
        statuses.add(401)
    if official:
        statuses.add(403)
    # Every route checks its parameters first (_check_parameters: a NUL in one is a 400), and a POST's CSRF
    # header of browser sessions or a body that is not JSON is a 400 too.
    statuses.add(400)
    if "{" in route:
        statuses.add(404)  # a path naming nothing in the caller's view (or an id past the database's integers)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(**kwargs: Any):
            with force_locale(_callers_language()):
                try:
                    if not public:
                        _admit(official)
                    _check_parameters()
                    return view(**kwargs)
                except Exception as exc:  # noqa: BLE001 - _refusal re-raises what is not a refusal
                    refusal = _refusal(exc)
                    db.session.rollback()
                    return error_response(refusal.status, refusal.code, refusal.message, refusal.fields)

        return spec.operation(bp, method, route, errors=sorted(statuses), public=public, **doc)(wrapped)

    return decorator


def _admit(official: bool) -> None:
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", _("Sign in, or send an API token as 'Authorization: Bearer <token>'."))
    if official and not current_user.actor.is_official:
        raise ApiError(403, "forbidden", _("Your account has no official role; the API's cases and tasks are for "
                                           "officials."))


@bp.before_request
def browser_posts_carry_the_csrf_token():
    """A browser session's POST must carry the page's CSRF token in X-CSRFToken (tokens need none)."""
    if request.method in SAFE_METHODS or not current_user.is_authenticated or current_user.via_token:
        return None
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        with force_locale(_callers_language()):
            return error_response(400, "csrf_failed", _(
                "The X-CSRFToken header is missing or no longer valid. Send the CSRF token of the page "
                "(meta csrf-token) in it, or reload the page; nothing was changed."))
    return None


# --------------------------------------------------------------------------- input
def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", _("Send a JSON object with the header Content-Type: application/json."))
    bad = _nul_fields(data)
    if bad:
        raise ApiError(422, "invalid", _("Some fields are not right; see fields. Nothing was changed."),
                       dict.fromkeys(sorted(bad), _("must not contain the character NUL (0x00)")))
    return data


def _nul_fields(value: Any, name: str = "body") -> set[str]:
    """Names of the fields holding a NUL character (PostgreSQL refuses it in text: a 500 otherwise)."""
    if isinstance(value, str):
        return {name} if "\x00" in value else set()
    if isinstance(value, dict):
        return set().union(*(_nul_fields(v, str(k)) | _nul_fields(str(k), str(k)) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_nul_fields(v, name) for v in value))
    return set()


def _check_parameters() -> None:
    """No NUL in parameters, no id beyond the database's integers: bad input answers 400/404, never 500."""
    if any(isinstance(v, int) and not 0 < v <= MAX_ID for v in (request.view_args or {}).values()):
        raise ApiError(404, "not_found", _("Nothing with this number exists; check the address."))
    given = [*request.args.items(multi=True), *(request.view_args or {}).items()]
    bad = sorted({name for name, value in given if isinstance(value, str) and "\x00" in value})
    if bad:
        raise ApiError(400, "invalid_parameter", _("A query parameter is not right; see fields."),
                       dict.fromkeys(bad, _("must not contain the character NUL (0x00)")))


def _page_number() -> int:
    raw = request.args.get("page", "1")
    try:
        number = int(raw) if len(raw) < 10 else 0
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PAGE:
        raise ApiError(400, "invalid_parameter", _("A query parameter is not right; see fields."),
                       {"page": _("must be a whole number from 1 to %(max)s", max=MAX_PAGE)})
    return number


def _bad_parameters(exc: IntakeError) -> ApiError:
    return ApiError(400, "invalid_parameter", _("A query parameter is not right; see fields."),
                    _translated(exc.fields))


def _filter() -> TaskFilter:
    try:
        flt = TaskFilter.parse(request.args)
    except IntakeError as exc:
        raise _bad_parameters(exc) from None
    # TaskFilter.parse takes any ISO date, but a day at the ends of the calendar overflows
    # when it becomes a moment in the centre's time zone (a 500 otherwise).
    far = {name: _("must be a date between the years %(first)s and %(last)s", first=FIRST_YEAR, last=LAST_YEAR)
           for name in ("date_from", "date_to")
           if getattr(flt, name) is not None and not FIRST_YEAR <= getattr(flt, name).year <= LAST_YEAR}
    if far:
        raise ApiError(400, "invalid_parameter", _("A query parameter is not right; see fields."), far)
    return flt


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _lang() -> str:
    """The language this answer is written in (the caller's, forced for the request by `endpoint`)."""
    return str(get_locale() or "vi")


# --------------------------------------------------------------------------- documentation of parameters
FILTER_PARAMS = (
    query("channel", {"type": "string", "enum": list(CHANNEL_PREFIX)}, "Cases of this channel."),
    query("category", STRING, "Cases of this category (its code, e.g. street_lighting)."),
    query("place", STRING, "Cases located in this unit (code) or below it."),
    query("priority", {"type": "string", "enum": list(PRIORITIES)}, "Cases of this priority."),
    query("status", {"type": "string", "enum": list(CASE_STATUSES)}, "Cases in this status."),
    query("date_from", {"type": "string", "format": "date"}, "Cases received on or after this local date."),
    query("date_to", {"type": "string", "format": "date"}, "Cases received on or before this local date."),
    query("q", {"type": "string", "maxLength": 120}, "A case code, or words of its title."),
)
PAGE_PARAM = query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number.")
LANG_PARAM = query("lang", {"type": "string", "enum": list(LANGUAGES)}, "Language of messages and labels.")
TASK_ID = path("task_id", STRING, "The task's id (from a task list).")
CASE_CODE = path("code", STRING, "The case's code, e.g. PA-2026-000123.")


def _ok(schema: str, description: str = "OK", status: int = 200) -> tuple[int, str, dict[str, Any]]:
    return status, description, {JSON: ref(schema)}


# --------------------------------------------------------------------------- meta and account
@endpoint("GET", "/openapi.json", public=True, official=False, tag="meta", summary="This OpenAPI 3.1 document",
          ok=(200, "The document", {JSON: {"type": "object"}}))
def openapi_document():
    """The OpenAPI document of this API."""
    return jsonify(spec.document())


@endpoint("GET", "/me", official=False, tag="account", summary="Who is calling: user, roles per unit, scope",
          params=(LANG_PARAM,), ok=_ok("Me"))
def me():
    """The caller's account, roles per unit and how many units are in view."""
    who = _actor()
    return jsonify(user={"id": who.user_id, "username": who.username, "full_name": who.full_name,
                         "language": who.language, "unit_id": who.unit_id},
                   roles=[{"role": role, "unit": unit} for role, unit in sorted(who.bindings)],
                   scope={"units": len(who.scope_ids)}, official=who.is_official,
                   via_token=bool(current_user.via_token))


# --------------------------------------------------------------------------- tasks
def _task(row: TaskRow, now: datetime) -> dict[str, Any]:
    en = _lang() == "en"
    return {
        "id": row.task_id, "title": translate(row.title), "element_id": row.element_id,
        "case": {"code": row.case_code, "title": row.case_title, "channel": row.channel,
                 "category_name": row.category_en if en and row.category_en else row.category,
                 "place": row.place, "priority": row.priority, "status": row.case_status},
        "candidate_role": row.candidate_role, "candidate_unit": row.candidate_unit, "assignee": row.assignee,
        "state": row.state, "due_at": _moment(row.due_at),
        "due_in_seconds": int((row.due_at - now).total_seconds()) if row.due_at else None,
        "created_at": _moment(row.created_at), "completed_at": _moment(row.completed_at),
        "claimable": row.claimable, "mine": row.mine,
    }


def _task_detail(detail: TaskDetail) -> dict[str, Any]:
    en = _lang() == "en"
    fields = [{"name": f["name"], "type": f["type"], "required": bool(f.get("required")),
               "choices": list(f.get("choices") or []),
               "label": (f.get("label_en") if en else f.get("label")) or f.get("label") or f["name"]}
              for f in detail.form.get("fields", [])]
    return {**_task(detail.row, runtime().clock.now()),
            "form": {"fields": fields, "instructions": detail.form.get("instructions") or None},
            "actions": {"claim": detail.can_claim, "release": detail.can_release, "complete": detail.can_complete,
                        "reassign": detail.can_reassign},
            "colleagues": [{"username": u, "full_name": n} for u, n in detail.colleagues]}


def _visible_task(task_id: str) -> TaskDetail:
    """The task if the caller may see it; 404 alike for one outside their view and one that does not exist."""
    try:
        return runtime().services(db.session).tasks.detail(_actor(), task_id)
    except (CaseNotFoundError, AccessDeniedError):
        raise ApiError(404, "not_found", _("No task %(id)s in your view; check the id.", id=task_id)) from None


@endpoint("GET", "/tasks", tag="tasks", summary="A page of one tab of the caller's task list",
          description="The same tabs, filters and sort as the task list page; `counts` has every tab under the "
                      "same filter. 50 tasks a page.",
          params=(query("tab", {"type": "string", "enum": list(TABS), "default": "mine"},
                        "mine: held by you; unit: open in your units (claimable); overdue / due_soon: open in your "
                        "view; done: completed by you in the last 30 days."),
                  query("sort", {"type": "string", "enum": list(SORTS), "default": "due"}, "Order of the rows."),
                  *FILTER_PARAMS, PAGE_PARAM, LANG_PARAM),
          ok=_ok("TaskPage"))
def tasks():
    """A tab of the task list, filtered and sorted, with the counts of every tab."""
    flt, number = _filter(), _page_number()
    try:
        page = runtime().services(db.session).tasks.page(_actor(), request.args.get("tab", "mine"), flt,
                                                         request.args.get("sort", "due"), number)
    except IntakeError as exc:
        raise _bad_parameters(exc) from None
    return jsonify(tab=page.tab, sort=page.sort, page=page.page, pages=page.pages, counts=page.counts,
                   filter=page.filter.as_args(), items=[_task(row, page.now) for row in page.rows])


@endpoint("GET", "/tasks/{task_id}", tag="tasks", summary="A task with its form and the actions open to you",
          params=(TASK_ID, LANG_PARAM), ok=_ok("TaskDetail"), errors=(404,))
def task(task_id: str):
    """A task in the caller's view, with its BPMN form and what they may do with it."""
    return jsonify(_task_detail(_visible_task(task_id)))


def _task_action(task_id: str, action: Callable[[Actor], None]):
    row = _visible_task(task_id).row
    if row.state != "open":  # a colleague or a deadline closed it: not a question of rights
        raise ApiError(409, "conflict", _("Task %(id)s is closed already (%(state)s); reload your task list. "
                                          "Nothing was changed.", id=task_id, state=translate(row.state)))
    action(_actor())
    return jsonify(_task_detail(_visible_task(task_id)))


@endpoint("POST", "/tasks/{task_id}/claim", tag="tasks", summary="Take a task of your unit",
          params=(TASK_ID, LANG_PARAM), ok=_ok("TaskDetail", "The task, now yours"), errors=(404, 409))
def claim(task_id: str):
    """Take an open task of one's unit for oneself."""
    return _task_action(task_id, lambda who: runtime().services(db.session).tasks.claim(who, task_id))


@endpoint("POST", "/tasks/{task_id}/release", tag="tasks", summary="Give a held task back to the unit's queue",
          description="Its holder, or the head of its unit.",
          params=(TASK_ID, LANG_PARAM), ok=_ok("TaskDetail", "The task, back in the queue"), errors=(404, 409))
def release(task_id: str):
    """Give a task back to the unit's queue."""
    return _task_action(task_id, lambda who: runtime().services(db.session).tasks.release(who, task_id))


@endpoint("POST", "/tasks/{task_id}/reassign", tag="tasks", summary="Give a task to a colleague (unit heads)",
          description="The assignee must hold the task's role in its unit (see TaskDetail.colleagues).",
          params=(TASK_ID, LANG_PARAM), body={JSON: ref("Reassign")},
          ok=_ok("TaskDetail", "The task, now the colleague's"), errors=(404, 409, 422))
def reassign(task_id: str):
    """Give a task to a colleague holding its role in its unit."""
    assignee = _body().get("assignee")
    if not isinstance(assignee, str) or not assignee.strip():
        raise ApiError(422, "invalid", _("Some fields are not right; see fields. Nothing was changed."),
                       {"assignee": _("give the username of a colleague")})
    return _task_action(task_id, lambda who: runtime().services(db.session).tasks.reassign(
        who, task_id, assignee.strip()))


@endpoint("POST", "/tasks/{task_id}/complete", tag="tasks", summary="Complete a task with its form's data",
          description="A free task of your unit is claimed and completed in one step. Wrong or missing values "
                      "answer 422 with a message per field, and nothing changes.",
          params=(TASK_ID, LANG_PARAM), body={JSON: ref("CompleteTask")},
          ok=_ok("TaskDetail", "The completed task"), errors=(404, 409, 422))
def complete(task_id: str):
    """Complete a task with the data its BPMN form declares."""
    data = _body().get("data")
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", _("Some fields are not right; see fields. Nothing was changed."),
                       {"data": _("must be an object with one value per field of the task's form")})
    return _task_action(task_id, lambda who: runtime().services(db.session).tasks.complete(who, task_id, data))


# --------------------------------------------------------------------------- cases
def _views() -> CaseViewService:
    rt = runtime()
    return CaseViewService(db.session, rt.clock, timezone=rt.timezone)


def _visible_case(code: str) -> str:
    """The case's code if the caller may see it; 404 alike for one outside their view and one that does not exist."""
    try:
        return _views().case(_actor(), code).code
    except (CaseNotFoundError, AccessDeniedError):
        raise ApiError(404, "not_found", _("No case %(code)s in your view; check the code.", code=code)) from None


def _attachment(info: AttachmentInfo, code: str) -> dict[str, Any]:
    return {"id": info.id, "filename": info.filename, "content_type": info.content_type, "size": info.size,
            "media": info.media, "public": info.public, "stage": info.stage, "uploaded_by": info.uploaded_by,
            "created_at": _moment(info.created_at),
            "url": url_for("api.case_file", code=code, attachment_id=info.id)}


def _unit(ref_: Any) -> dict[str, str] | None:
    return {"code": ref_.code, "name": ref_.name} if ref_ is not None else None


def _comment(c: CommentInfo) -> dict[str, Any]:
    return {"id": c.id, "author": c.author, "username": c.username, "body": c.body,
            "created_at": _moment(c.created_at)}


@endpoint("GET", "/cases", tag="cases", summary="Cases in your view, newest first",
          description="The same filters as the task list; 50 cases a page (`has_next` says if there are more).",
          params=(*FILTER_PARAMS, PAGE_PARAM, LANG_PARAM), ok=_ok("CasePage"))
def cases():
    """A page of the cases in the caller's view, narrowed by the filters."""
    flt, number = _filter(), _page_number()
    try:
        page = _views().list_cases(_actor(), flt, number, lang=_lang())
    except IntakeError as exc:
        raise _bad_parameters(exc) from None
    return jsonify(page=page.page, has_next=page.has_next, filter=page.filter.as_args(),
                   items=[{"code": r.code, "title": r.title, "channel": r.channel, "category": r.category,
                           "place": r.place, "status": r.status, "priority": r.priority, "unit": r.unit,
                           "due_at": _moment(r.due_at), "created_at": _moment(r.created_at), "overdue": r.overdue}
                          for r in page.rows])


@endpoint("GET", "/cases/{code}", tag="cases", summary="A case: summary, place, deadlines, files, open tasks",
          description="The reporter's contact is given only to officials of the responsible unit and of the "
                      "operations centre. The history and comments have their own routes.",
          params=(CASE_CODE, LANG_PARAM), ok=_ok("Case"), errors=(404,))
def case(code: str):
    """A case in the caller's view."""
    code = _visible_case(code)
    d = _views().get(_actor(), code, lang=_lang())
    reporter = d.reporter
    return jsonify(
        code=d.code, title=d.title, description=d.description, channel=d.channel, category=d.category,
        place=_unit(d.place), address=d.address, lat=d.lat, lon=d.lon, priority=d.priority, status=d.status,
        status_label=translate(d.status_label), responsible_unit=_unit(d.responsible_unit),
        escalation_level=d.escalation_level, due_at=_moment(d.due_at), overdue=d.overdue,
        created_at=_moment(d.created_at), resolution=d.resolution, resolved_at=_moment(d.resolved_at),
        closed_at=_moment(d.closed_at),
        reporter={"name": reporter.name, "phone": reporter.phone, "email": reporter.email} if reporter else None,
        reporter_hidden=d.reporter_hidden, attachments=[_attachment(a, d.code) for a in d.attachments],
        open_tasks=[{"id": k.id, "title": translate(k.title), "element_id": k.element_id,
                     "role": translate(k.role) if k.role is not None else None, "unit": k.unit,
                     "assignee": k.assignee, "due_at": _moment(k.due_at), "created_at": _moment(k.created_at),
                     "overdue": k.overdue} for k in d.open_tasks],
        escalation=[{"level": e.level, "label": translate(e.label), "unit": e.unit, "state": e.state,
                     "since": _moment(e.since), "due_at": _moment(e.due_at)} for e in d.escalation],
        related=[{"code": r.code, "title": r.title, "status": r.status, "lat": r.lat, "lon": r.lon,
                  "metres": r.metres} for r in d.related],
        has_process=d.has_process, incident=d.incident)


@endpoint("GET", "/cases/{code}/timeline", tag="cases", summary="A case's history, newest first",
          description="The case's own events and its process's audit (who completed which task with what).",
          params=(CASE_CODE, LANG_PARAM), ok=_ok("Timeline"), errors=(404,))
def case_timeline(code: str):
    """The history of a case in the caller's view."""
    code = _visible_case(code)
    entries = _views().timeline(_actor(), code, lang=_lang())
    return jsonify(items=[{"at": _moment(e.at), "source": e.source, "kind": e.kind, "label": translate(e.label),
                           "actor": e.actor, "public": e.public,
                           "facts": [{"label": translate(k), "value": translate(v)} for k, v in e.facts]}
                          for e in entries])


@endpoint("GET", "/cases/{code}/comments", tag="cases", summary="Comments between officials, oldest first",
          params=(CASE_CODE, LANG_PARAM), ok=_ok("Comments"), errors=(404,))
def case_comments(code: str):
    """The comments on a case in the caller's view."""
    code = _visible_case(code)
    return jsonify(items=[_comment(c) for c in _views().comments(_actor(), code)])


@endpoint("POST", "/cases/{code}/comments", tag="cases", summary="Add a comment between officials",
          description="Never public. 1 to 5000 characters. Pages open on the case hear of it live.",
          params=(CASE_CODE, LANG_PARAM), body={JSON: ref("NewComment")},
          ok=_ok("Comment", "The new comment", 201), errors=(404, 422))
def add_case_comment(code: str):
    """Add a comment to a case in the caller's view."""
    body = _body().get("body")
    code = _visible_case(code)
    views, who = _views(), _actor()
    added = views.add_comment(who, code, body if isinstance(body, str) else "")
    runtime().enqueue_outbox()  # the push to the case's open pages
    comment = next(c for c in views.comments(who, code) if c.id == added.id)
    return jsonify(_comment(comment)), 201


@endpoint("GET", "/cases/{code}/attachments", tag="cases", summary="The files of a case",
          params=(CASE_CODE, LANG_PARAM), ok=_ok("Attachments"), errors=(404,))
def case_attachments(code: str):
    """The files of a case in the caller's view."""
    code = _visible_case(code)
    return jsonify(items=[_attachment(a, code) for a in _views().get(_actor(), code, lang=_lang()).attachments])


@endpoint("POST", "/cases/{code}/attachments", tag="cases", summary="Upload a file to a case",
          description="multipart/form-data with the field `file` (and `stage`: `report` or `resolution`, the "
                      "unit's \"after\" photo published with the resolution). The same content twice is one "
                      "attachment. Checked by content: programs, scripts and web pages, damaged photos and videos "
                      "are refused (422). Larger than the server's limit (IOC_MAX_ATTACHMENT_MB, 25 MB by "
                      "default): 413.",
          params=(CASE_CODE, LANG_PARAM), body={"multipart/form-data": ref("Upload")},
          ok=_ok("Attachment", "The attachment", 201), errors=(404, 413, 422))
def upload_case_file(code: str):
    """Attach a file to a case in the caller's view."""
    upload = request.files.get("file")  # a body over MAX_CONTENT_LENGTH stops here with 413
    code = _visible_case(code)
    if upload is None:
        raise ApiError(422, "invalid", _("Some fields are not right; see fields. Nothing was changed."),
                       {"file": _("choose a file and send it as the multipart field 'file'")})
    limit = runtime().max_attachment_bytes
    data = upload.read(limit + 1)  # one byte more than allowed is enough to refuse it
    if len(data) > limit:
        raise _too_large(limit // (1024 * 1024))
    name = (upload.filename or "").replace("\x00", "")  # PostgreSQL refuses NUL in text
    content_type = (upload.mimetype or "").replace("\x00", "")
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    who = _actor()
    added = runtime().services(db.session).cases.add_attachment(code, name, content_type, data,
                                                                uploaded_by=who.username,
                                                                stage=request.form.get("stage", "report"))
    info, _sha = _views().attachment(who, code, added.id)
    return jsonify(_attachment(info, code)), 201


@endpoint("GET", "/cases/{code}/attachments/{attachment_id}", tag="cases", summary="Download a file of a case",
          params=(CASE_CODE, path("attachment_id", INTEGER, "The attachment's id."), LANG_PARAM),
          ok=(200, "The file (images and videos inline, anything else as a download)",
              {"application/octet-stream": {"type": "string", "contentMediaType": "application/octet-stream"}}),
          errors=(404,))
def case_file(code: str, attachment_id: int):
    """The content of a file of a case in the caller's view."""
    code = _visible_case(code)
    info, sha256 = _views().attachment(_actor(), code, attachment_id)
    stored = runtime().files.path(sha256)
    if not stored.is_file():
        raise ApiError(404, "not_found", _("The file %(name)s is missing from the file store; tell the IOC's "
                                           "administrator.", name=info.filename))
    return attachment_response(stored, info, sha256)


# --------------------------------------------------------------------------- notifications
def _inbox() -> NotificationService:
    return NotificationService(db.session, runtime().clock)


def _flag(name: str) -> bool:
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ApiError(400, "invalid_parameter", _("A query parameter is not right; see fields."),
                   {name: _("must be true or false")})


@endpoint("GET", "/notifications", official=False, tag="notifications", summary="Your notifications, newest first",
          params=(query("unread", BOOLEAN, "Only the unread ones."), PAGE_PARAM, LANG_PARAM),
          ok=_ok("NotificationPage"))
def notifications():
    """A page of the caller's inbox (30 a page)."""
    unread_only, number = _flag("unread"), _page_number()
    page = _inbox().inbox(_actor().user_id, unread_only=unread_only, page=number)
    return jsonify(page=page.page, pages=page.pages, total=page.total, unread=page.unread,
                   items=[{"id": n.id, "kind": n.kind, "title": translate(n.title), "body": translate(n.body),
                           "case_code": n.case_code,
                           "created_at": _moment(n.created_at), "read_at": _moment(n.read_at), "unread": n.unread}
                          for n in page.rows])


@endpoint("POST", "/notifications/read", official=False, tag="notifications",
          summary="Mark your notifications read: some by id, or all",
          description="An id that is not in your inbox answers 404 and marks nothing.",
          params=(LANG_PARAM,), body={JSON: ref("MarkRead")}, ok=_ok("Marked"), errors=(404, 422))
def mark_read():
    """Mark the given notifications of the caller (or all of them) read."""
    body = _body()
    everything = body.get("all") is True
    ids = body.get("ids", [])
    if not everything and (not isinstance(ids, list) or not all(type(i) is int and 0 < i < 2**63 for i in ids)):
        raise ApiError(422, "invalid", _("Some fields are not right; see fields. Nothing was changed."),
                       {"ids": _("must be a list of notification numbers")})
    who, inbox = _actor(), _inbox()
    try:
        changed = inbox.mark_read(who.user_id, ids, everything=everything)
    except CaseNotFoundError as exc:
        raise ApiError(404, "not_found", translate(text_of(exc))) from None
    unread = inbox.unread_count(who.user_id)
    push_unread(who.username, unread)
    return jsonify(marked=changed, unread=unread)



# --------------------------------------------------------------------------- monitoring: indicator values
KPI_REPORTERS = ("officer", "unit_head", "operator", "admin")  # webapp.blueprints.monitoring.REPORTERS


def _kpi_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"index": e["index"], "field": e["field"], "message": translate(e["message"])} for e in errors]


@endpoint("POST", "/kpi/values", tag="monitoring", summary="Report indicator values (with a dry run)",
          description="`values`: a list of `{indicator, unit, period, value}` (codes of the catalogue and of units "
                      "in your view; a period as 2026-03, 03/2026, Q1/2026 or 2026; a number, or a text such as "
                      "\"1.234,5\"). `mode`: `all_or_nothing` (default: one wrong value and nothing is stored, "
                      "400) or `keep_good` (the good values are stored and the wrong ones listed; 400 when none "
                      "is good). `dry_run`: true checks and reports what would change and which rules would "
                      "breach, storing nothing (200 with the errors listed). Stored values are evaluated against "
                      "the rules after the commit. Every wrong value is listed in `errors` with its index, field "
                      "and what is wrong, in the caller's language. A text holding the character NUL answers "
                      "422 and nothing is stored.",
          params=(LANG_PARAM,), body={JSON: ref("KpiValues")}, ok=_ok("KpiReport"), errors=(400, 422))
def kpi_values():
    """Check and store (or only check) a batch of indicator values."""
    from engine.i18n import from_json
    from webapp.monitoring_jobs import enqueue_evaluation
    from workflows.monitoring.ingest import IngestService

    who = _actor()
    if not who.has_role(*KPI_REPORTERS):
        raise ApiError(403, "forbidden", _("Only officers, unit heads, the IOC's operators and administrators "
                                           "report indicator values."))
    outcome = IngestService(db.session, runtime().clock, after_commit=enqueue_evaluation).submit_json(_body(), who)
    errors = _kpi_errors(outcome.errors)
    if not outcome.ok:
        return jsonify(error="invalid", message=_("Some values are not right; see errors. Nothing was stored."),
                       fields={}, errors=errors), 400
    upload = outcome.upload
    changes = (upload.report or {}).get("changes") or {}
    findings = (upload.report or {}).get("findings") or []
    return jsonify(
        upload_id=upload.id, dry_run=not outcome.stored, stored=outcome.stored, decision=upload.decision,
        total=upload.rows_total, good=upload.rows_good, bad=upload.rows_bad,
        new=upload.new_values if outcome.stored else changes.get("new", 0),
        changed=upload.changed_values if outcome.stored else changes.get("changed", 0),
        unchanged=changes.get("unchanged", 0), errors=errors,
        would_breach=[{"indicator": f["indicator"], "unit_id": f["unit_id"], "period": f["period"], "rule": f["rule"],
                       "severity": f["severity"], "value": f["value"], "expected": f["expected"],
                       "message": translate(from_json(f["message"]))} for f in findings])
