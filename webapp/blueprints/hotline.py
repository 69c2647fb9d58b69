"""The 1022 hotline console: one-screen intake of a call, caller history, duplicate check."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import actor, require
from workflows.case_view import PRIORITY_LABELS, STATUS_LABELS
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.hotline_service import Call, HotlineService
from workflows.reference import categories, places

bp = Blueprint("hotline", __name__, url_prefix="/hotline")

# Operators take the calls; administrators may stand in.
OPERATOR_ROLES = ("operator", "admin")
TEXT_FIELDS = ("phone", "caller_name", "place", "address", "category", "priority", "description", "kind")


def _hotline() -> HotlineService:
    rt = runtime()
    return HotlineService(db.session, rt.services(db.session).cases, rt.clock)



def _unit_name(unit) -> str:
    """A unit's name in the reader's language."""
    return unit.name_en if reader_language() == "en" and unit.name_en else unit.name


def _console(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200):
    lang = reader_language()
    values = values or {}
    return render_template(
        "hotline/console.html", values=values, errors=errors or {}, answers=values.get("answers", {}),
        call_id=values.get("call_id") or uuid.uuid4().hex, lang=lang,
        categories=categories(db.session, internal=False), places=places(db.session), questions=_hotline().questions(lang),
        priorities={key: translate(label) for key, label in PRIORITY_LABELS.items()}), status


@bp.get("/")
@require(*OPERATOR_ROLES)
def console():
    """The console: phone first (with the caller's history), place, category and its questions, description."""
    return _console()


@bp.post("/calls")
@require(*OPERATOR_ROLES)
def take_call():
    """Take a call: a new case (an information request is closed as answered), or a line on the same case."""
    form = request.form
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    values["call_id"] = form.get("call_id", "")[:64]
    values["answers"] = {key[2:]: value for key, value in form.items() if key.startswith("q_")}
    hotline = _hotline()
    same_as = form.get("same_as", "").strip()
    try:
        if same_as:
            case = hotline.link_call(actor(), same_as, note=values["description"], caller_name=values["caller_name"])
            flash(_("Call recorded on case %(code)s. Tell the caller this code to follow it.", code=case.code),
                  "done")
            return redirect(url_for("hotline.console")), 303
        receipt = hotline.take_call(actor(), Call(
            phone=values["phone"], caller_name=values["caller_name"], category=values["category"],
            place=values["place"], address=values["address"], description=values["description"],
            kind=values["kind"] or "report", priority=values["priority"] or None, answers=values["answers"],
            call_id=values["call_id"] or None))
    except CaseNotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    except IntakeError as exc:
        return _console(values, {k: translate(v) for k, v in exc.fields.items()}, 400)
    case = receipt.case
    if case.status == "closed":
        flash(_("Information request %(code)s recorded and closed: answered on the phone.", code=case.code), "done")
    else:
        flash(_("Case %(code)s opened and sent to %(unit)s. Read the code to the caller: they will be called "
                "back when it is resolved.", code=case.code,
                unit=_unit_name(case.responsible_unit) if case.responsible_unit else _("the IOC")), "done")
    return redirect(url_for("hotline.console")), 303


@bp.get("/history")
@require(*OPERATOR_ROLES)
def history():
    """The caller's earlier cases as the number is typed (JSON, newest first)."""
    lang = reader_language()
    rows = _hotline().history(actor(), request.args.get("phone", "")[:40], lang)
    statuses = {key: translate(label) for key, label in STATUS_LABELS.items()}
    return jsonify(cases=[{"code": r.code, "status": r.status, "status_label": statuses.get(r.status, r.status),
                           "category": r.category, "title": r.title, "phone": r.phone,
                           "date": r.created_at.astimezone(runtime_zone()).strftime("%d/%m/%Y"),
                           "url": url_for("cases.case", code=r.code)} for r in rows])


@bp.get("/duplicates")
@require(*OPERATOR_ROLES)
def duplicates():
    """Open cases of the chosen category in the same commune/ward or within ~300 m (JSON)."""
    args = request.args
    try:
        lat = float(args["lat"]) if args.get("lat") else None
        lon = float(args["lon"]) if args.get("lon") else None
    except ValueError:
        return jsonify(error="bad_request", message=_("Latitude and longitude must be numbers.")), 400
    try:
        rows = _hotline().duplicates(actor(), args.get("category", ""), args.get("place", ""), lat, lon, reader_language())
    except IntakeError as exc:
        return jsonify(error="bad_request", fields={k: translate(v) for k, v in exc.fields.items()}), 400
    statuses = {key: translate(label) for key, label in STATUS_LABELS.items()}
    return jsonify(cases=[{"code": r.code, "title": r.title, "status_label": statuses.get(r.status, r.status),
                           "place": r.place, "metres": r.metres,
                           "date": r.created_at.astimezone(runtime_zone()).strftime("%d/%m/%Y"),
                           "url": url_for("cases.case", code=r.code)} for r in rows])


def runtime_zone():
    """The centre's time zone (dates are shown as people in Vietnam read them)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(runtime().timezone)
