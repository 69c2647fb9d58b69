"""Open311 GeoReport v2 under /open311/v2 for third-party citizen apps (JSON and XML).

The format is the URL's extension (`services.json`, `services.xml`); refusals come in the spec's
shape (`[{"code": 400, "description": "…"}]` or `<errors><error>…`) with its HTTP codes, and in
the caller's language (`?lang=vi|en`, then Accept-Language, then Vietnamese). Machines post with
an `api_key` (made by `ioc open311 create-key NAME`), so the blueprint takes no CSRF token.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from engine.i18n import Text
from webapp.extensions import db, limiter
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import csrf
from workflows.media import Upload
from workflows.open311_service import AttributeInfo, NewRequest, Open311Error, Open311Service, RequestInfo

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
LANGUAGES = ("vi", "en")
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API last changed in a way clients see (discovery's changeset).
CHANGESET = "2026-11-29T00:00:00Z"
# The element each list holds in XML (JSON has plain arrays).
ITEM_TAGS = {"services": "service", "attributes": "attribute", "values": "value", "endpoints": "endpoint",
             "formats": "format", "service_requests": "request", "errors": "error"}
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")


# --------------------------------------------------------------------------- rendering
def _language() -> str:
    """?lang, then Accept-Language, then Vietnamese (the province's language)."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        return wanted
    return request.accept_languages.best_match(LANGUAGES) or "vi"


def _plain(value: Any) -> Any:
    """A value as JSON carries it: texts translated, times in the centre's zone with their offset."""
    if isinstance(value, Text):
        return translate(value)
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).isoformat(timespec="seconds")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _element(tag: str, value: Any) -> ET.Element:
    """An XML element for `value`: dicts keep their key order, lists repeat ITEM_TAGS[tag]."""
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(ITEM_TAGS[tag], item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))
    return element


def render(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    """`value` as JSON (a list or an object) or as XML under `root`, with the UTF-8 content type."""
    plain = _plain(value)
    if fmt == "xml":
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(_element(root, plain), encoding="unicode")
    else:
        body = json.dumps(plain, ensure_ascii=False)  # the spec's key order (Flask's own dumps sorts keys)
    return Response(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(code: int, *descriptions: str, fmt: str | None = None) -> Response:
    """Refusals in the spec's form: a list of {code, description}, XML for .xml addresses, else JSON."""
    if fmt not in CONTENT_TYPES:
        fmt = "xml" if request.path.endswith(".xml") else "json"
    return render(fmt, "errors", [{"code": code, "description": d} for d in descriptions], code)


def open311_view(view: Callable[..., Response]) -> Callable[..., Response]:
    """Check the format and jurisdiction, run `view(service, fmt, …)` in the caller's language, refuse per spec."""

    @wraps(view)
    def wrapped(fmt: str, **kwargs: Any) -> Response:
        with force_locale(_language()):
            if fmt not in CONTENT_TYPES:
                return error_response(400, _("Unknown format .%(fmt)s; ask for .json or .xml", fmt=fmt[:20]),
                                      fmt="json")
            app = runtime()
            service = Open311Service(db.session, app.services(db.session).cases, app.clock,
                                     current_app.config["OPEN311_JURISDICTION"])
            try:
                service.check_jurisdiction(request.values.get("jurisdiction_id"))
                return view(service, fmt, **kwargs)
            except Open311Error as exc:
                db.session.rollback()
                return error_response(exc.code, *(translate(m) for m in exc.messages), fmt=fmt)

    return wrapped


# --------------------------------------------------------------------------- routes
@bp.get("/discovery.<fmt>")
@open311_view
def discovery(service: Open311Service, fmt: str) -> Response:
    """Service discovery: where the GeoReport v2 endpoint is, its formats, whom to ask for a key."""
    base = url_for("open311.services", fmt="json", _external=True).rsplit("/", 1)[0] + "/"
    return render(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": current_app.config["OPEN311_CONTACT"],
        "key_service": _("Ask the IOC of Đắk Lắk for an api_key (the administrator makes one with "
                         "`ioc open311 create-key NAME`)."),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    })


@bp.get("/services.<fmt>")
@open311_view
def services(service: Open311Service, fmt: str) -> Response:
    """GET services: every category citizens can report."""
    lang = _language()
    return render(fmt, "services", [
        {"service_code": s.service_code, "service_name": s.service_name, "description": s.description,
         "metadata": s.metadata, "type": s.type, "keywords": s.keywords, "group": s.group}
        for s in service.services(lang)])


def _attribute(a: AttributeInfo) -> dict[str, Any]:
    return {"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
            "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
            "values": [{"key": key, "name": name} for key, name in a.values]}


@bp.get("/services/<service_code>.<fmt>")
@open311_view
def service_definition(service: Open311Service, fmt: str, service_code: str) -> Response:
    """GET services/{service_code}: the category's extra questions as attributes."""
    definition = service.definition(service_code, _language())
    return render(fmt, "service_definition", {"service_code": definition.service_code,
                                              "attributes": [_attribute(a) for a in definition.attributes]})


def _request(info: RequestInfo) -> dict[str, Any]:
    media_url = None
    if info.media is not None and "public.media" in current_app.view_functions:
        media_url = url_for("public.media", code=info.media[0], attachment_id=info.media[1], _external=True)
    return {"service_request_id": info.service_request_id, "status": info.status, "status_notes": info.status_notes,
            "service_name": info.service_name, "service_code": info.service_code, "description": info.description,
            "agency_responsible": info.agency_responsible, "service_notice": info.service_notice,
            "requested_datetime": info.requested_datetime, "updated_datetime": info.updated_datetime,
            "expected_datetime": info.expected_datetime, "address": info.address, "address_id": info.address_id,
            "zipcode": info.zipcode, "lat": info.lat, "long": info.long, "media_url": media_url}


@bp.get("/requests.<fmt>")
@open311_view
def requests(service: Open311Service, fmt: str) -> Response:
    """GET requests: by ids, or by service_code, dates and status (the last 90 days, 1000 at most)."""
    return render(fmt, "service_requests", [_request(i) for i in service.requests(request.args, _language())])


def _rate_key() -> str:
    """POSTs are counted per api_key and address (one app's many users are not one person)."""
    key = request.form.get("api_key") or ""
    return f"open311:{hashlib.sha256(key.encode()).hexdigest()[:16]}:{get_remote_address()}"


@bp.post("/requests.<fmt>")
@limiter.limit(lambda: current_app.config["OPEN311_RATE_LIMIT"], key_func=_rate_key)
@open311_view
def post_request(service: Open311Service, fmt: str) -> Response:
    """POST requests: a new field report from an Open311 client (api_key required)."""
    form = request.form
    attributes: dict[str, Any] = {}
    for name in form:
        match = _ATTRIBUTE.match(name)
        if match:
            values = form.getlist(name)
            attributes[match.group(1)] = values[0] if len(values) == 1 else values
    media = tuple(Upload(f.filename or "", f.mimetype or "", f.read()) for f in request.files.getlist("media") if f)
    new = NewRequest(attributes=attributes, media=media, idempotency_key=request.headers.get("Idempotency-Key", ""),
                     **{k: form.get(k, "") for k in (
        "api_key", "service_code", "lat", "long", "address_string", "address_id", "email", "device_id",
        "account_id", "first_name", "last_name", "phone", "description", "media_url")})
    posted = service.submit(new)
    return render(fmt, "service_requests", [{"service_request_id": posted.service_request_id,
                                             "service_notice": posted.service_notice,
                                             "account_id": posted.account_id, "token": posted.token}])


@bp.get("/requests/<service_request_id>.<fmt>")
@open311_view
def request_by_id(service: Open311Service, fmt: str, service_request_id: str) -> Response:
    """GET requests/{service_request_id}: one request, as a list of one (the spec's shape)."""
    return render(fmt, "service_requests", [_request(service.request(service_request_id, _language()))])


@bp.get("/tokens/<token>.<fmt>")
@open311_view
def token(service: Open311Service, fmt: str, token: str) -> Response:
    """GET tokens/{token}: the service_request_id a token became."""
    request_id, known = service.token(token)
    return render(fmt, "service_requests", [{"service_request_id": request_id, "token": known}])



def app_refusal(code: int, message: str) -> Response:
    """The application's 404/405/413/429/500 under /open311 (unknown address, limit reached…) in the spec's form."""
    with force_locale(_language()):
        own = {
            404: _("No such Open311 address; the endpoints are listed at /open311/v2/discovery.json"),
            405: _("This address does not take a %(method)s request", method=request.method),
            413: _("The request is larger than this server accepts"),
            429: _("Too many requests from this api_key and address in a short time; wait a minute and try again"),
            500: _("Something went wrong on the server; the error is logged. Try again in a moment"),
        }
        return error_response(code, own.get(code, message))
