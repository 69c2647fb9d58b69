"""Open311 GeoReport v2 for third-party citizen apps: services, their questions, requests and tokens.

Plain service over a session, no Flask: the web layer (webapp/blueprints/open311.py) parses the
URL and form, calls one method, and renders what comes back as JSON or XML. Every refusal is an
`Open311Error` carrying the HTTP code the specification gives it (400, 403, 404).

Privacy: a request is shown with its description redacted (workflows/redaction.py), its commune or ward
as its address and its position rounded as on the public map (`public_position`);
the reporter's name, phone, email, device and account ids are kept apart and never returned.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from workflows.case_service import CaseService, IntakeRequest
from workflows.errors import CaseError, CaseNotFoundError, IntakeError
from workflows.media import Upload
from workflows.models import AdminUnit, Attachment, Case, CaseEvent, Category, Open311Client, Publication
from workflows.questions import Question, parse_questions
from workflows.redaction import public_position, redact

JURISDICTION = "daklak.gov.vn"
# The demo's key, published in the README so a third-party client can try the demo at once.
DEMO_API_KEY = "demo-open311-daklak"
DEMO_CLIENT_NAME = "Demo Open311 client (demo data)"
# The spec's defaults for GET requests: a span of 90 days, at most 1000 requests.
DEFAULT_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 100
# Open311 has two statuses; ours map onto them.
OPEN_STATUSES = ("received", "in_progress", "escalated", "returned", "reopened", "resolved")
CLOSED_STATUSES = ("published", "closed", "rejected", "merged")
# Channels whose cases citizens started: what Open311 lists (indicator and camera cases are not service requests).
CITIZEN_CHANNELS = ("field_report", "hotline")
PLACE_UNIT_KINDS = ("commune", "ward", "special_zone")
# A point farther than this from every commune's centre is outside the province.
MAX_PLACE_KM = 60.0
MAX_DESCRIPTION = 4000  # the spec's limit
MAX_NAME = 120
# What an Open311 POST adds to the case's history besides intake's fields, and how long each may be.
DETAIL_LIMITS = {"device_id": 120, "account_id": 120, "media_url": 500}
_NAME_PREFIXES = ("phuong ", "xa ", "dac khu ", "thi tran ")
# W3C's ISO 8601 profile: a date, or a date and time with an optional zone (Z or ±hh:mm).
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


class Open311Error(CaseError):
    """A refusal in the spec's terms: the HTTP code (400, 403, 404) and what to fix, one message per problem."""

    def __init__(self, code: int, *messages: Text):
        self.code = code
        self.messages = messages
        super().__init__("; ".join(messages))


@dataclass(frozen=True)
class ServiceInfo:
    """One service type (a category of reports) as GET services lists it."""

    service_code: str
    service_name: str
    description: Text
    metadata: bool
    keywords: str
    group: str
    type: str = "realtime"


@dataclass(frozen=True)
class AttributeInfo:
    """One attribute of a service definition: an extra question of the category."""

    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    datatype_description: Text | None
    order: int
    description: str
    values: tuple[tuple[str, str], ...] = ()  # (key, name)
    variable: bool = True


@dataclass(frozen=True)
class ServiceDefinition:
    """GET services/{service_code}: the attributes a request of this service may carry."""

    service_code: str
    attributes: tuple[AttributeInfo, ...]


@dataclass(frozen=True)
class RequestInfo:
    """One service request as GET requests shows it: nothing of the reporter."""

    service_request_id: str
    status: str  # open or closed
    status_notes: Text | str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    # (case code, attachment id) of the published photo; the web layer turns it into a URL.
    media: tuple[str, int] | None = None


@dataclass(frozen=True)
class NewRequest:
    """What a POST requests carries (strings as the client sent them)."""

    api_key: str = ""
    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    description: str = ""
    media_url: str = ""
    # Photos sent as multipart `media` (the common GeoReport v2 extension), checked like the portal's.
    media: tuple[Upload, ...] = ()
    # The client's Idempotency-Key header: a retried POST answers the first request instead of a second case.
    idempotency_key: str = ""


@dataclass(frozen=True)
class Posted:
    """What POST requests answers: the new request's id, a notice, and its token."""

    service_request_id: str
    service_notice: Text
    token: str
    account_id: str | None = None


@dataclass(frozen=True)
class ClientInfo:
    """An Open311 client as `ioc open311 list` shows it: never its key."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


def open311_status(status: str) -> str:
    """Our case status as Open311's open or closed."""
    return "closed" if status in CLOSED_STATUSES else "open"


def api_key_digest(key: str) -> str:
    """What is kept of an api_key: its sha256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_w3c(value: str, name: str) -> datetime:
    """A W3C ISO 8601 date or time (a time without a zone is UTC); Open311Error(400) says how to write it."""
    text = (value or "").strip()
    if not _W3C.match(text):
        raise Open311Error(400, t("%(name)s must be a date in ISO 8601 (W3C) form, e.g. 2026-05-01T08:00:00+07:00",
                                  name=name))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, t("%(name)s must be a date in ISO 8601 (W3C) form, e.g. 2026-05-01T08:00:00+07:00",
                                  name=name)) from None
    if not 1900 <= moment.year <= 2999:
        raise Open311Error(400, t("%(name)s must be a year between 1900 and 2999", name=name))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _plain(text: str) -> str:
    """Lower case without accents (Buôn Ma Thuột → buon ma thuot), for matching place names."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9']+", " ", bare).split())


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Kilometres between two nearby points (equirectangular: ample for picking the nearest commune)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371.0 * math.hypot(x, y)


class Open311Service:
    """Answers the Open311 GeoReport v2 methods over the case layer."""

    def __init__(self, session: Session, cases: CaseService, clock: Clock = SYSTEM_CLOCK,
                 jurisdiction: str = JURISDICTION):
        self.session = session
        self.cases = cases
        self.clock = clock
        self.jurisdiction = jurisdiction

    # ------------------------------------------------------------------ checks
    def check_jurisdiction(self, jurisdiction_id: str | None) -> None:
        """Accept our jurisdiction_id or none; another one is not served here (404)."""
        if jurisdiction_id not in (None, "", self.jurisdiction):
            raise Open311Error(404, t("jurisdiction_id %(given)s is not served here; use %(ours)s or leave it out",
                                      given=repr(jurisdiction_id[:60]), ours=self.jurisdiction))

    # ------------------------------------------------------------------ services
    def services(self, lang: str = "vi") -> list[ServiceInfo]:
        """Every active category as a service type, in order of its name."""
        departments = self._unit_names(lang)
        rows = self.session.scalars(select(Category).where(Category.active.is_(True), Category.internal.is_(False))
                                    .order_by(Category.code))
        services = []
        for category in rows:
            name, other = (category.name_en, category.name) if lang == "en" else (category.name, category.name_en)
            group = departments.get(category.department_id, "")
            services.append(ServiceInfo(
                service_code=category.code, service_name=name,
                description=t("Reports about %(field)s; answered by %(body)s", field=name, body=group or "—"),
                metadata=bool(category.questions), keywords=", ".join(k for k in (other, category.code) if k),
                group=group))
        return sorted(services, key=lambda s: _plain(s.service_name))

    def definition(self, service_code: str, lang: str = "vi") -> ServiceDefinition:
        """The attributes of a service: its category's extra questions (404 for an unknown code)."""
        category = self._category(service_code)
        attributes = tuple(self._attribute(q, order, lang)
                           for order, q in enumerate(parse_questions(category.questions), start=1))
        return ServiceDefinition(category.code, attributes)

    def _attribute(self, q: Question, order: int, lang: str) -> AttributeInfo:
        if q.type == "choice":
            return AttributeInfo(q.name, "singlevaluelist", q.required, None, order, q.label_in(lang),
                                 tuple(q.choices_in(lang)))
        if q.type == "yesno":
            yes, no = (("Yes", "No") if lang == "en" else ("Có", "Không"))
            return AttributeInfo(q.name, "singlevaluelist", q.required, None, order, q.label_in(lang),
                                 (("true", yes), ("false", no)))
        if q.type == "number":
            return AttributeInfo(q.name, "number", q.required, t("a number, e.g. 3 or 2.5"), order,
                                 q.label_in(lang))
        return AttributeInfo(q.name, "string", q.required, t("text of at most 500 characters"), order,
                             q.label_in(lang))

    def _category(self, service_code: str) -> Category:
        category = self.session.get(Category, service_code) if service_code else None
        if category is None or not category.active or category.internal:
            raise Open311Error(404, t("service_code %(code)s is not a service of this server; see GET services",
                                      code=repr((service_code or "")[:60])))
        return category

    # ------------------------------------------------------------------ POST requests
    def submit(self, new: NewRequest) -> Posted:
        """Open a field report from an Open311 client; refusals change nothing and start no case."""
        client = self.client_of(new.api_key)
        if not new.service_code:
            raise Open311Error(400, t("service_code is required; see GET services for the codes"))
        try:
            category = self._category(new.service_code)
        except Open311Error as exc:
            raise Open311Error(400, *exc.messages) from None  # an argument of the POST, not an address: 400
        sent = {**{k: v for k, v in vars(new).items() if isinstance(v, str)},
                **{f"attribute[{k}]": v for k, v in (new.attributes or {}).items()}}
        with_nul = sorted(name for name, value in sent.items() if "\x00" in str(value))
        if with_nul:
            # PostgreSQL refuses NUL in text: say so rather than fail.
            raise Open311Error(400, *(t("%(name)s must not contain the character NUL (0x00)", name=n) for n in with_nul))
        if len(new.description or "") > MAX_DESCRIPTION:
            raise Open311Error(400, t("description: at most %(n)s characters; shorten it", n=MAX_DESCRIPTION))
        too_long = [t("%(field)s: %(message)s", field=name, message=t("at most %(n)s characters; shorten it", n=limit))
                    for name, limit in DETAIL_LIMITS.items() if len((getattr(new, name) or "").strip()) > limit]
        if too_long:  # kept in the case's history, checked like intake checks the columns
            raise Open311Error(400, *too_long)
        retry_key = (new.idempotency_key or "").strip()
        if len(retry_key) > 80:
            raise Open311Error(400, t("the Idempotency-Key header must be 1 to 80 characters"))
        lat, lon, place = self._location(new)
        name = " ".join(p.strip() for p in (new.first_name, new.last_name) if p and p.strip())
        description = (new.description or "").strip()
        title = (description.splitlines()[0] if description else category.name)[:120]
        request = IntakeRequest(
            channel="field_report", category=category.code, title=title, admin_unit=place.code,
            description=description, lat=lat, lon=lon, address=(new.address_string or "").strip(),
            reporter_name=name, reporter_phone=(new.phone or "").strip(), reporter_email=(new.email or "").strip(),
            answers=dict(new.attributes or {}), source="open311", files=tuple(new.media),
            # Per client, so two apps choosing the same key never meet.
            idempotency_key=f"open311:{client.id}:{retry_key}" if retry_key else None,
            # Written with the case, so a crash never leaves a case the client cannot look up by its token.
            request_token=secrets.token_hex(16))
        try:
            receipt = self.cases.intake_receipt(request)
        except IntakeError as exc:
            raise Open311Error(400, *_intake_messages(exc)) from None
        case = receipt.case
        notice = t("Received by the Đắk Lắk IOC as %(code)s: it is checked, then given to the responsible unit "
                   "with a deadline (expected_datetime).", code=case.code)
        if not receipt.created:
            return Posted(case.code, notice, case.request_token)  # a retry: the first answer again
        # Second step, once the case exists: how it came (client, device, media link), for officials
        # only; losing it to a crash loses neither the report nor its token.
        client.last_used_at = self.clock.now()
        detail = {"client": client.name, "device_id": (new.device_id or "").strip(),
                  "account_id": (new.account_id or "").strip(), "media_url": (new.media_url or "").strip()}
        self.session.add(CaseEvent(case_id=case.id, at=self.clock.now(), kind="open311_received", actor=None,
                                   public=False, detail={k: v for k, v in detail.items() if v}))
        self.session.commit()
        return Posted(case.code, notice, case.request_token)

    def client_of(self, api_key: str) -> Open311Client:
        """The active client holding `api_key`; 403 when it is missing, unknown or revoked."""
        if not api_key:
            raise Open311Error(403, t("api_key is required to post a request; ask the IOC for one"))
        client = self.session.scalar(select(Open311Client).where(Open311Client.key_sha256 == api_key_digest(api_key)))
        if client is None or client.revoked_at is not None:
            raise Open311Error(403, t("api_key is not valid (unknown or revoked); ask the IOC for a new one"))
        return client

    def _location(self, new: NewRequest) -> tuple[float | None, float | None, AdminUnit]:
        """(lat, long, commune or ward): from lat/long (the nearest), address_id (a unit code) or address_string."""
        lat = lon = None
        if (new.lat or "").strip() or (new.long or "").strip():
            try:
                lat, lon = float(new.lat), float(new.long)
            except (TypeError, ValueError):
                raise Open311Error(400, t("lat and long must both be decimal degrees, e.g. lat=12.6675&long=108.0378")) from None
            if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
                raise Open311Error(400, t("lat must be within ±90 and long within ±180"))
            place = self.nearest_place(lat, lon)
            if place is None:
                raise Open311Error(400, t("the location is outside the area this server covers (%(area)s)",
                                          area=self.jurisdiction))
            return lat, lon, place
        if (new.address_id or "").strip():
            place = self._places().get(new.address_id.strip().upper())
            if place is None:
                raise Open311Error(400, t("address_id %(id)s is not the code of a commune or ward here",
                                          id=repr(new.address_id.strip()[:60])))
            return None, None, place
        if (new.address_string or "").strip():
            place = self.place_named_in(new.address_string)
            if place is None:
                raise Open311Error(400, t("address_string must name the commune or ward (e.g. \"12 Lê Duẩn, "
                                          "Phường Buôn Ma Thuột\"), or send lat and long"))
            return None, None, place
        raise Open311Error(400, t("a location is required: lat and long, address_string or address_id"))

    def _places(self) -> dict[str, AdminUnit]:
        cache = self.session.info.get("ioc_open311_places")
        if cache is None:
            rows = self.session.scalars(select(AdminUnit).where(AdminUnit.kind.in_(PLACE_UNIT_KINDS),
                                                                AdminUnit.active.is_(True)))
            cache = self.session.info["ioc_open311_places"] = {u.code: u for u in rows}
        return cache

    def nearest_place(self, lat: float, lon: float) -> AdminUnit | None:
        """The commune or ward whose centre is nearest, or None when every one is over 60 km away."""
        best = min(((_km(lat, lon, u.lat, u.lon), u.code, u) for u in self._places().values()
                    if u.lat is not None and u.lon is not None), default=None)
        return best[2] if best is not None and best[0] <= MAX_PLACE_KM else None

    def place_named_in(self, address: str) -> AdminUnit | None:
        """The commune or ward an address names (accents and the Phường/Xã prefix optional); the longest name wins."""
        words = f" {_plain(address)} "
        found = []
        for unit in self._places().values():
            for candidate in (unit.name, unit.name_en):
                plain = _plain(candidate)
                for prefix in _NAME_PREFIXES:
                    if plain.startswith(prefix):
                        plain = plain[len(prefix):]
                plain = plain.removesuffix(" ward").removesuffix(" commune")
                if plain and f" {plain} " in words:
                    found.append((len(plain), unit.code, unit))
        return max(found)[2] if found else None

    # ------------------------------------------------------------------ GET requests
    def requests(self, args: Mapping[str, str], lang: str = "vi") -> list[RequestInfo]:
        """GET requests with the spec's filters; without dates the last 90 days, at most 1000, newest first."""
        query = select(Case).where(Case.channel.in_(CITIZEN_CHANNELS))
        ids = [i.strip() for i in (args.get("service_request_id") or "").split(",") if i.strip()]
        if ids:
            # The spec: when ids are given, the other filters are ignored.
            if len(ids) > MAX_IDS:
                raise Open311Error(400, t("at most %(n)s service_request_id values at once", n=MAX_IDS))
            query = query.where(Case.code.in_(ids))
        else:
            codes = [c.strip() for c in (args.get("service_code") or "").split(",") if c.strip()]
            if codes:
                query = query.where(Case.category_code.in_(codes))
            start = parse_w3c(args["start_date"], "start_date") if args.get("start_date") else None
            end = parse_w3c(args["end_date"], "end_date") if args.get("end_date") else None
            if start is None and end is None:
                end = self.clock.now()
            if start is None:
                start = end - DEFAULT_SPAN
            if end is None:
                end = start + DEFAULT_SPAN
            if end < start:
                raise Open311Error(400, t("end_date must not be before start_date"))
            query = query.where(Case.created_at >= start, Case.created_at <= end)
            wanted = {s.strip().lower() for s in (args.get("status") or "").split(",") if s.strip()}
            if wanted - {"open", "closed"}:
                raise Open311Error(400, t("status must be open, closed or both (open,closed)"))
            if wanted == {"open"}:
                query = query.where(Case.status.in_(OPEN_STATUSES))
            elif wanted == {"closed"}:
                query = query.where(Case.status.in_(CLOSED_STATUSES))
        cases = list(self.session.scalars(query.options(selectinload(Case.reporter))
                                          .order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)))
        return self._infos(cases, lang)

    def request(self, service_request_id: str, lang: str = "vi") -> RequestInfo:
        """GET requests/{id}: one request (404 when there is none)."""
        case = self.session.scalar(select(Case).where(Case.code == (service_request_id or "").strip(),
                                                      Case.channel.in_(CITIZEN_CHANNELS)))
        if case is None:
            raise Open311Error(404, t("no service request %(id)s; check the service_request_id",
                                      id=repr((service_request_id or "")[:60])))
        return self._infos([case], lang)[0]

    def token(self, token: str) -> tuple[str, str]:
        """GET tokens/{token}: (service_request_id, token); 404 for a token never handed out."""
        case = self.session.scalar(select(Case).where(Case.request_token == token)) if token else None
        if case is None:
            raise Open311Error(404, t("no request was made with token %(token)s", token=repr((token or "")[:64])))
        return case.code, token

    def _infos(self, cases: list[Case], lang: str) -> list[RequestInfo]:
        if not cases:
            return []
        ids = [c.id for c in cases]
        names = self._category_names(lang)
        units, codes = self._unit_names(lang), self._unit_codes()
        pubs = {p.case_id: p for p in self.session.scalars(select(Publication).where(Publication.case_id.in_(ids)))}
        media = self._published_media([c for c in cases if c.id in pubs])
        infos = []
        for case in cases:
            reporter = [case.reporter.name] if case.reporter is not None and case.reporter.name else []
            pub = pubs.get(case.id)
            live = pub is not None and pub.withdrawn_at is None
            lat, lon = public_position(case.lat, case.lon)
            infos.append(RequestInfo(
                service_request_id=case.code, status=open311_status(case.status),
                status_notes=self._notes(case, pub if live else None, reporter),
                service_name=names.get(case.category_code, case.category_code), service_code=case.category_code,
                description=redact(case.description or case.title, reporter),
                agency_responsible=units.get(case.responsible_unit_id, ""),
                service_notice="", requested_datetime=case.created_at, updated_datetime=case.updated_at,
                expected_datetime=case.due_at,
                # The commune or ward, never the address the citizen typed (a house number is a doorstep).
                address=units.get(case.admin_unit_id, ""), address_id=codes.get(case.admin_unit_id, ""),
                zipcode="", lat=lat, long=lon,
                media=(case.code, media[case.id]) if live and case.id in media else None))
        return infos

    def _notes(self, case: Case, pub: Publication | None, reporter: list[str]) -> Text | str:
        if pub is not None:
            return redact(pub.resolution, reporter)
        if case.merged_into_id is not None and case.merged_into is not None:
            return t("merged into %(code)s, which goes on", code=case.merged_into.code)
        if case.status == "rejected":
            if case.close_note:  # the IOC's reason, redacted when it was written
                return t("not accepted for handling: %(reason)s", reason=case.close_note)
            return t("not accepted for handling")
        if case.status == "reopened":
            return t("reopened: the citizen said it was not resolved")
        return ""

    def _published_media(self, cases: list[Case]) -> dict[int, int]:
        """The first public photo (its EXIF-free copy exists) of each published case: case id → attachment id."""
        if not cases:
            return {}
        rows = self.session.execute(
            select(Attachment.case_id, Attachment.id)
            .where(Attachment.case_id.in_([c.id for c in cases]), Attachment.public.is_(True),
                   Attachment.public_sha256.is_not(None), Attachment.kind == "image")
            # "resolution" before "report": the unit's after photo first, else the citizen's.
            .order_by(Attachment.case_id, Attachment.stage.desc(), Attachment.id))
        found: dict[int, int] = {}
        for case_id, attachment_id in rows:
            found.setdefault(case_id, attachment_id)
        return found

    def _category_names(self, lang: str) -> dict[str, str]:
        cache = self.session.info.setdefault("ioc_open311_categories", {})
        if lang not in cache:
            cache[lang] = {code: (en if lang == "en" and en else vi)
                           for code, vi, en in self.session.execute(select(Category.code, Category.name, Category.name_en))}
        return cache[lang]

    def _unit_names(self, lang: str) -> dict[int, str]:
        cache = self.session.info.setdefault("ioc_open311_units", {})
        if lang not in cache:
            cache[lang] = {i: (en if lang == "en" and en else vi) for i, vi, en in
                           self.session.execute(select(AdminUnit.id, AdminUnit.name, AdminUnit.name_en))}
        return cache[lang]

    def _unit_codes(self) -> dict[int, str]:
        cache = self.session.info.setdefault("ioc_open311_units", {})
        if "codes" not in cache:
            cache["codes"] = dict(self.session.execute(select(AdminUnit.id, AdminUnit.code)).all())
        return cache["codes"]

    # ------------------------------------------------------------------ api keys
    def create_client(self, name: str, key: str | None = None, commit: bool = True) -> tuple[ClientInfo, str]:
        """A new client with a fresh api_key; the key is returned once and only its sha256 kept.

        `commit=False` only flushes, so the console stores the key and its audit line in one commit.
        """
        label = (name or "").strip()
        if not label or len(label) > MAX_NAME:
            raise IntakeError({"name": t("give the client a name of 1 to %(max)s characters (the app that uses it)",
                                         max=MAX_NAME)})
        key = key or "o311_" + secrets.token_urlsafe(24)
        row = Open311Client(name=label, key_sha256=api_key_digest(key), created_at=self.clock.now())
        self.session.add(row)
        if commit:
            self.session.commit()
        else:
            self.session.flush()
        return _client_info(row), key

    def clients(self) -> list[ClientInfo]:
        """Every client, newest first, revoked ones included."""
        rows = self.session.scalars(select(Open311Client).order_by(Open311Client.created_at.desc(),
                                                                   Open311Client.id.desc()))
        return [_client_info(r) for r in rows]

    def revoke_client(self, client_id: int, commit: bool = True) -> ClientInfo:
        """Revoke a client's key at once (again: no change); `commit=False` leaves the commit to the caller."""
        row = self.session.get(Open311Client, client_id)
        if row is None:
            raise CaseNotFoundError(t("no Open311 client %(id)s; see `ioc open311 list`", id=client_id))
        if row.revoked_at is None:
            row.revoked_at = self.clock.now()
            if commit:
                self.session.commit()
        return _client_info(row)

    def seed_demo_client(self) -> bool:
        """Add the demo's published key when it is missing; True when added."""
        if self.session.scalar(select(Open311Client).where(Open311Client.key_sha256 == api_key_digest(DEMO_API_KEY))):
            return False
        self.create_client(DEMO_CLIENT_NAME, DEMO_API_KEY)
        return True


def _client_info(row: Open311Client) -> ClientInfo:
    return ClientInfo(row.id, row.name, row.created_at, row.last_used_at, row.revoked_at)


# Intake's field names as an Open311 client knows them.
_FIELD_NAMES = {"reporter_email": "email", "reporter_phone": "phone", "title": "description",
                "reporter_name": "first_name + last_name", "address": "address_string",
                "description": "description", "location": "lat/long", "admin_unit": "address_string",
                "category": "service_code", "files": "media"}


def _intake_messages(exc: IntakeError) -> list[Text]:
    """A message per field to fix, with Open311's names (attribute[x], email, …)."""
    messages = []
    for name, message in exc.fields.items():
        shown = f"attribute[{name[len('answers.'):]}]" if name.startswith("answers.") else _FIELD_NAMES.get(name, name)
        messages.append(t("%(field)s: %(message)s", field=shown, message=message))
    return messages
