"""Citizens: submit a field report, follow it by its tracking code, an optional account."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.extensions import db, limiter
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import SignedInUser, actor, require
from workflows.access import AccessService
from workflows.accounts import AccountService
from workflows.case_service import IntakeRequest
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.media import Upload
from workflows.portal_service import PortalService

bp = Blueprint("portal", __name__)
_TEXT_FIELDS = ("category", "title", "description", "address", "admin_unit", "lat", "lon", "reporter_name",
                "reporter_phone", "reporter_email")


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def _clean(value: str | None) -> str:
    """Text as a person typed it: control characters (NUL, which PostgreSQL refuses) dropped, edges trimmed."""
    return (value or "").translate(_CONTROL).strip()


def _submit_limit() -> str:
    return current_app.config["PORTAL_RATE_LIMIT"]


def _lookup_limit() -> str:
    return current_app.config["PORTAL_LOOKUP_RATE_LIMIT"]


def _service() -> PortalService:
    return PortalService(db.session, runtime().services(db.session).cases, runtime().clock)



def _citizen_id() -> int | None:
    """The signed-in citizen's user id (reports and follows are kept on their list), else None."""
    if current_user.is_authenticated and not current_user.via_token and current_user.actor.has_role("citizen"):
        return current_user.actor.user_id
    return None


# ------------------------------------------------------------------ the form's token
def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="portal-report-form")


def _new_form_token(nonce: str | None = None) -> str:
    """A signed token for one filling of the form: its nonce (one case per form) and when it was shown."""
    return _serializer().dumps({"n": nonce or secrets.token_urlsafe(16), "t": runtime().clock.now().timestamp()})


def _read_form_token(token: str) -> dict[str, Any] | None:
    try:
        data = _serializer().loads(token or "")
    except BadSignature:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("n"), str) else None


def _follow_key(nonce: str) -> str:
    """The reporter's follow key derived from the form's nonce: a double submission shows the same link."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), b"follow:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


# ------------------------------------------------------------------ submitting
def _form_page(values: dict[str, Any], errors: dict[str, str] | None = None, token: str | None = None,
               duplicates: list | None = None, notice: str | None = None, status: int = 200):
    service = _service()
    lang = reader_language()
    config = current_app.config
    return render_template(
        "portal/report.html", values=values, answers=values.get("answers", {}), errors=errors or {},
        form_token=token or _new_form_token(), categories=service.categories(lang), places=service.places(lang),
        duplicates=duplicates or [], notice=notice, lang=lang,
        map_tiles=config.get("MAP_TILES_URL") or "", map_attribution=config.get("MAP_ATTRIBUTION") or "",
        max_photos=config.get("MEDIA_MAX_PHOTOS", 6), max_videos=config.get("MEDIA_MAX_VIDEOS", 2),
        max_photo_mb=config.get("MEDIA_MAX_PHOTO_MB", 10), max_video_mb=config.get("MEDIA_MAX_VIDEO_MB", 50)), status


def _float(value: str | None) -> float | None:
    try:
        number = float((value or "").strip().replace(",", "."))
    except ValueError:
        return None
    return number if number == number else None  # NaN is no position


def _answers_of(values: dict[str, Any]) -> dict[str, str]:
    """The answers to the chosen category's questions (fields q_<category>__<question>; the others are ignored)."""
    prefix = f"{values['category']}__"
    return {key[len(prefix):]: value for key, value in values["answers"].items() if key.startswith(prefix)}


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(_submit_limit, methods=["POST"])
def report():
    """The report form; a POST opens the case (or shows what to fix, keeping what was typed)."""
    if request.method == "GET":
        values: dict[str, Any] = {"category": _clean(request.args.get("category"))[:40]}
        citizen = _citizen_id()
        if citizen is not None:  # updates by email come from the account's address unless changed here
            values["reporter_name"], values["reporter_email"] = _service().contact_of(citizen)
        return _form_page(values)
    form = request.form
    values = {name: _clean(form.get(name)) for name in _TEXT_FIELDS}
    values["answers"] = {_clean(key[2:]): _clean(value) for key, value in form.items() if key.startswith("q_")}
    values["consent"] = bool(form.get("consent"))
    if form.get("website"):
        # A field people never see was filled: a bot. It gets a page like success and opens nothing,
        # so it learns nothing to adapt to.
        current_app.logger.info("portal: a report refused by the honeypot from %s", request.remote_addr)
        return render_template("portal/sent.html", receipt=None, code=None, link=None, created=True)
    token = _read_form_token(form.get("form_token", ""))
    if token is None:
        return _form_page(values, notice=_("The form had expired. Check what you wrote and send it again."))
    elapsed = runtime().clock.now().timestamp() - float(token.get("t") or 0)
    if elapsed < float(current_app.config["PORTAL_MIN_FILL_SECONDS"]):
        # People who type the report take longer; a person with autofill only has to press once more.
        return _form_page(values, token=_new_form_token(token["n"]),
                          notice=_("The form was sent very quickly after it opened. Check it and press Send again."))
    files = tuple(Upload(_clean(f.filename), _clean(f.mimetype), f.read()) for f in request.files.getlist("files")
                  if f and f.filename)
    service = _service()
    lat, lon = _float(values["lat"]), _float(values["lon"])
    errors: dict[str, str] = {}
    if (values["lat"] and lat is None) or (values["lon"] and lon is None):
        errors["location"] = _("Pick the place on the map again (the position could not be read).")
    admin_unit = values["admin_unit"]
    if not admin_unit and lat is not None and lon is not None:
        place = service.nearest_place(lat, lon, reader_language())
        admin_unit = place.code if place else ""
    if not values["consent"]:
        errors["consent"] = _("Tick this box to send the report.")
    if "send" not in form.getlist("duplicate_choice"):
        duplicates = service.duplicates(values["category"], lat, lon, admin_unit, reader_language(),
                                        idempotency_key=f"portal:{token['n']}")
        if duplicates:
            return _form_page(values, errors=errors, token=form.get("form_token"), duplicates=duplicates)
    request_ = IntakeRequest(
        channel="field_report", source="portal", category=values["category"], title=values["title"],
        description=values["description"], admin_unit=admin_unit, lat=lat, lon=lon, address=values["address"],
        # Not cut to the columns: intake says which is too long, and the form keeps what was typed.
        reporter_name=values["reporter_name"], reporter_phone=values["reporter_phone"],
        reporter_email=values["reporter_email"], answers=_answers_of(values), files=files,
        reporter_user_id=_citizen_id(), idempotency_key=f"portal:{token['n']}",
        follow_key=_follow_key(token["n"]))
    if errors:
        # Every field to fix in one answer: intake's own checks too (nothing is opened).
        errors = {**{k: translate(v) for k, v in service.problems(request_).items()}, **errors}
        return _form_page(values, errors=errors, token=form.get("form_token"), status=422)
    try:
        receipt = service.submit(request_)
    except IntakeError as exc:
        return _form_page(values, errors={k: translate(v) for k, v in exc.fields.items()},
                          token=form.get("form_token"), status=422)
    code = receipt.case.code
    # A repeated submission of the same form (double click, reload) names the same case and link.
    key = receipt.follow_key or (_follow_key(token["n"]) if receipt.case.reporter is not None else None)
    link = url_for("portal.track", code=code, key=key, _external=True) if key else None
    response = current_app.make_response(render_template(
        "portal/sent.html", code=code, link=link, created=receipt.created,
        emailed=bool(values["reporter_email"] and key)))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(413)
def too_large(_error):
    """A request larger than the server reads: back to the form, saying why (what was typed could not be read)."""
    if request.endpoint != "portal.report":
        return render_template("error.html", code=413, title=_("The file is too large"),
                               message=_("The upload is larger than this server accepts (%(mb)s MB); send a smaller"
                                         " file.", mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))), 413
    page, _status = _form_page({}, notice=_(
        "The photos and videos together were larger than this site accepts (%(mb)s MB), so nothing was sent or kept."
        " Choose fewer or smaller files and fill in the form again.",
        mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)))
    return page, 413


@bp.get("/report/nearby.json")
@limiter.limit(_lookup_limit)
def nearby():
    """For the form: the commune or ward of a picked point, and open cases of the category near it."""
    service = _service()
    lang = reader_language()
    lat, lon = _float(request.args.get("lat")), _float(request.args.get("lon"))
    if lat is not None and not (-90 <= lat <= 90 and -180 <= (lon or 0) <= 180):
        lat = lon = None
    place = service.nearest_place(lat, lon, lang) if lat is not None and lon is not None else None
    cases = service.duplicates(_clean(request.args.get("category"))[:40], lat, lon,
                               _clean(request.args.get("place"))[:64] or (place.code if place else None), lang)
    return jsonify(place={"code": place.code, "name": place.name} if place else None, cases=[{
        "code": c.code, "category": c.category, "place": c.place, "status": translate(c.status_label),
        "date": c.created_at.astimezone(_zone()).strftime("%d/%m/%Y"), "title": c.title, "metres": c.metres,
        "url": url_for("portal.track", code=c.code), "follow": url_for("portal.follow", code=c.code)} for c in cases])


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(runtime().timezone)


# ------------------------------------------------------------------ tracking
@bp.get("/track")
@limiter.limit(_lookup_limit)
def track_lookup():
    """Look a case up by its tracking code."""
    code = _clean(request.args.get("code")).upper()
    if not code:
        return render_template("portal/lookup.html", code="", error=None)
    try:
        _service().public_case(code)
    except CaseNotFoundError:
        return render_template("portal/lookup.html", code=code[:40],
                               error=_("No case has this code. Check it (for example PA-2026-000123).")), 404
    return redirect(url_for("portal.track", code=code))


@bp.get("/track/<code>")
@limiter.limit(_lookup_limit)
def track(code: str):
    """A case's public timeline; with its private key, the follower's actions (rating, emails)."""
    service = _service()
    try:
        case = service.public_case(code, reader_language())
    except CaseNotFoundError:
        abort(404)
    key = (request.args.get("key") or "")[:100]
    following = service.following(case.code, key or None, _citizen_id())
    views = current_app.view_functions
    # (full picture, thumbnail): the public copies only, served by the public pages.
    photos = ([(url_for("public.media", code=case.code, attachment_id=i),
                url_for("public.media", code=case.code, attachment_id=i, size="thumb")) for i in case.photo_ids]
              if "public.media" in views else [])
    response = current_app.make_response(render_template(
        "portal/track.html", case=case, following=following, key=key if following else "",
        may_rate=bool(following and "public.rate" in views and service.may_rate(case.code, key, _citizen_id())),
        photos=photos,
        resolutions_url=url_for("public.index") if "public.index" in views else None))
    # The key is in this page's address: no other site may receive it as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    if key:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/track/<code>/follow")
@limiter.limit(_submit_limit)
def follow(code: str):
    """Follow an open case (instead of reporting it again): a private link of one's own."""
    email = _clean(request.form.get("email"))
    try:
        key = _service().follow(code, email, _citizen_id())
    except CaseNotFoundError:
        abort(404)
    except IntakeError as exc:
        return render_template("portal/followed.html", code=code.upper()[:40], link=None, email=email,
                               error="; ".join(translate(v) for v in exc.fields.values())), 422
    link = url_for("portal.track", code=code.upper(), key=key, _external=True)
    response = current_app.make_response(render_template("portal/followed.html", code=code.upper(), link=link,
                                                         email=email, error=None))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/track/<code>/unsubscribe")
@limiter.limit(_submit_limit)
def unsubscribe(code: str):
    """Stop the update emails of one follower (by their private key, or as the signed-in citizen)."""
    key = (request.form.get("key") or "")[:100]
    if not _service().unsubscribe(code, key or None, _citizen_id()):
        abort(404)
    return render_template("portal/unsubscribed.html", code=code.upper()[:40],
                           back=url_for("portal.track", code=code.upper(), key=key or None))


# ------------------------------------------------------------------ accounts
@bp.route("/account/register", methods=["GET", "POST"])
@limiter.limit(_submit_limit, methods=["POST"])
def register():
    """A citizen's own account, to find their reports and followed cases in one list."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("portal.my_reports"))
    values = {name: _clean(request.form.get(name)) for name in ("username", "full_name", "email")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = AccountService(db.session, runtime().clock).register_citizen(
                values["username"], values["full_name"], values["email"], request.form.get("password") or "",
                request.form.get("password_again") or "")
        except IntakeError as exc:
            errors = {k: translate(v) for k, v in exc.fields.items()}
        else:
            login_user(SignedInUser(AccessService(db.session).actor_of(user)))
            return redirect(url_for("portal.my_reports"))
    return render_template("portal/register.html", values=values, errors=errors), (422 if errors else 200)


@bp.get("/my-reports")
@require()
def my_reports():
    """The reports the signed-in citizen made or follows."""
    who = actor()
    cases = _service().my_cases(who.user_id, reader_language())
    return render_template("portal/my_reports.html", cases=cases)


@bp.app_context_processor
def portal_menu() -> dict[str, Any]:
    """The menu's citizen links: the public resolutions when that part of the site is installed."""
    views = current_app.view_functions
    return {"portal_menu": {"resolutions": url_for("public.index") if "public.index" in views else None}}
