"""Intake of cases and the actions people take on them, each one transaction."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.i18n import t
from engine.instances import BatchAbort, InstanceService
from engine.models import OutboxMessage
from workflows.access import Actor
from workflows.attachments import FileStore
from workflows.citizen_mail import receipt_email
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.media import MediaFile, MediaLimits, Upload, check_document, check_uploads, inspect, safe_name
from workflows.models import (
    CHANNEL_PREFIX,
    CITIZEN_CHANNELS,
    PRIORITIES,
    Attachment,
    Case,
    CaseEvent,
    CaseFollower,
    Category,
    Publication,
    Reporter,
)
from workflows.questions import clean_answers, parse_questions
from workflows.units import PLACE_KINDS, UnitDirectory

T = TypeVar("T")
PROCESS_FOR_CHANNEL = {"field_report": "field_report", "hotline": "hotline_call", "kpi": "kpi_breach",
                       "alert": "monitoring_alert", "camera": "camera_incident"}
# Extra start data a channel's process reads, taken from IntakeRequest.process_data: name → allowed
# values, the first being the default; () takes any text (at most 500 characters, default ""), for what
# a system raises (an indicator's code, a period). Only declared names are taken, so no channel sets case_id & co.
START_DATA: dict[str, dict[str, tuple[str, ...]]] = {
    # hotline_call: the operator classified the call; an information request is closed as answered.
    "hotline": {"call_kind": ("report", "information")},
    # monitoring_alert: what the alert's source said (workflows/monitoring/alerts.py); severity decides the deadline
    # and whether leaders hear of it, responsible_unit is the source's unit (checked when the source was set up).
    "alert": {"severity": ("medium", "low", "high", "critical"), "responsible_unit": (), "alert_source": (),
              "alertname": (), "fingerprint": ()},
    # camera_incident: what the vision service saw (workflows/cameras/incidents.py): the kind and the situation the
    # operator is offered first, the camera and its maintainer (routing of a camera fault), the incident's key; the
    # verification's optional note ("" until the operator writes one).
    "camera": {"camera_kind": ("stopped_vehicle", "congestion", "camera_fault"),
               "situation": ("breakdown", "accident", "congestion", "obstacle", "camera_fault"),
               "camera": (), "camera_name": (), "camera_maintainer": (), "camera_subtype": (), "incident_key": (),
               "verify_note": ()},
}
IOC_UNIT_CODE = "IOC-DLK"
# Who may merge duplicates (when they see both cases), and which cases may be merged away.
MERGE_ROLES = ("operator", "unit_head", "admin")
MERGEABLE_STATUSES = ("received", "in_progress", "escalated", "returned", "reopened")
# Statuses a refused merge names (the status labels' msgids; workflows/case_view.py has them all).
_STATUS_WORDS = {"resolved": t("resolved"), "published": t("published"), "closed": t("closed"),
                 "rejected": t("rejected"), "merged": t("merged")}
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# The reporter's and the place's free text, at most as long as the columns that keep it (Reporter, Case).
TEXT_LIMITS = {"reporter_name": 255, "reporter_phone": 32, "reporter_email": 255, "address": 500}
ATTACHMENT_STAGES = ("report", "resolution")  # before (sent with the case) / after (the unit's, with the resolution)
_PHONE = re.compile(r"^\+?[0-9 .-]{8,16}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# kpi_breach: what the monitoring evaluation found (workflows/monitoring/evaluation.py): the indicator and its rule
# table's inputs, the reporting unit and the unit that explains, the period, rule, severity, value and target, the
# message in plain words, the previous case of a recurrence and how long the case waits for the next period.
START_DATA["kpi"] = {
    "kpi_severity": ("medium", "low", "high", "critical"),
    **{name: () for name in ("kpi_indicator", "kpi_indicator_name", "kpi_field", "kpi_period_kind", "kpi_direction",
                             "kpi_unit", "kpi_responsible_unit", "kpi_period", "kpi_rule", "kpi_value",
                             "kpi_expected", "kpi_message", "kpi_previous_case", "kpi_wait_until")},
}


def phone_key(phone: str) -> str:
    """A phone number in one national form for look-ups: digits only, +84/84 → 0 (0912 345 678 → 0912345678)."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits[:20]


def key_digest(key: str) -> str:
    """The sha256 kept for a follow key (the key itself is only ever shown to its holder)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _status_word(status: str):
    """A status as a translatable word (the key itself when it has none)."""
    return _STATUS_WORDS.get(status, status)


def merged_digest(digest: str, into_id: int) -> str:
    """The digest of a follower copied onto the case a duplicate was merged into (unique per case)."""
    return hashlib.sha256(f"{digest}:{into_id}".encode()).hexdigest()


def followed_digests(digest: str, chain: list[int]) -> list[str]:
    """The digests a follow key has along a chain of merges (case ids merged into, in order)."""
    out = [digest]
    for case_id in chain:
        out.append(merged_digest(out[-1], case_id))
    return out


@dataclass(frozen=True)
class IntakeRequest:
    """What any channel hands in to open a case."""

    channel: str
    category: str
    title: str
    admin_unit: str
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    priority: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    idempotency_key: str | None = None
    # Answers to the category's extra questions (workflows/questions.py), checked at intake.
    answers: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # portal, open311, hotline, api, demo
    reporter_user_id: int | None = None  # a citizen signed in to follow their reports
    # Photos and videos (workflows/media.py): all checked before anything is stored.
    files: tuple[Upload, ...] = ()
    # The token the channel hands back with the request (Open311 tokens/{token}), written with the case.
    request_token: str | None = None
    # What the channel's process reads besides the case (START_DATA), e.g. the hotline's call_kind.
    process_data: dict[str, str] = field(default_factory=dict)
    # The secret of the reporter's tracking link when the channel makes it (the portal derives it
    # from its form, so a double submission shows the same link); else a random one.
    follow_key: str | None = None


def start_data(request: IntakeRequest) -> tuple[dict[str, str], dict[str, Any]]:
    """(data, errors): the extra start data of the request's channel (START_DATA), checked."""
    declared = START_DATA.get(request.channel, {})
    sent = request.process_data or {}
    data: dict[str, str] = {}
    errors: dict[str, Any] = {name: t("channel %(channel)s takes no %(name)s", channel=request.channel, name=name)
                              for name in sorted(set(sent) - set(declared))}
    for name, allowed in declared.items():
        if not allowed:
            value = str(sent.get(name) if sent.get(name) is not None else "")
            if len(value) <= 500:
                data[name] = value
            else:
                errors[name] = t("at most %(count)s characters", count=500)
            continue
        value = str(sent.get(name) or allowed[0])
        if value in allowed:
            data[name] = value
        else:
            errors[name] = t("must be one of %(choices)s", choices=", ".join(allowed))
    return data, errors


@dataclass(frozen=True)
class Receipt:
    """What intake hands back: the case, whether it is new, and the reporter's follow key.

    `follow_key` is the secret of the reporter's tracking link (shown once; only its sha256
    is kept); None when the case existed already (a retry) or no one reports it.
    """

    case: Case
    created: bool
    follow_key: str | None = None


def _citizen_or(source: str) -> str:
    """Who sent the files of an intake: "citizen" for the public channels, else the channel (hotline, api, demo)."""
    return "citizen" if source in ("", "portal", "open311") else source[:120]


class CaseService:
    """Opens cases and moves them on; commits, then lets the outbox deliver."""

    def __init__(self, session: Session, instances: InstanceService, clock: Clock = SYSTEM_CLOCK,
                 after_commit: Callable[[], None] | None = None, ioc_unit: str = IOC_UNIT_CODE,
                 files: FileStore | None = None, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
                 media_limits: MediaLimits | None = None):
        self.session = session
        self.instances = instances
        self.clock = clock
        self.after_commit = after_commit or (lambda: None)
        self.ioc_unit = ioc_unit
        self.files = files
        self.max_attachment_bytes = max_attachment_bytes
        self.media_limits = media_limits or MediaLimits()

    # ------------------------------------------------------------------ intake
    def intake(self, request: IntakeRequest) -> tuple[Case, bool]:
        """Open a case and start its process; (case, created). Same idempotency key → same case."""
        receipt = self.intake_receipt(request)
        return receipt.case, receipt.created

    def intake_receipt(self, request: IntakeRequest) -> Receipt:
        """Open a case and start its process; the receipt carries the reporter's follow key."""
        # No look-up first: the unique idempotency key refuses a second insert, and then
        # the first case is returned (a retry is rare; a look-up on every intake is not).
        category, unit, priority, answers, media = self._validate(request)
        if media and self.files is None:
            raise RuntimeError("this CaseService was built without a file store")
        follow_key: list[str] = []

        try:
            case = self._transaction(lambda: self._open(request, category, unit, priority, answers, media, follow_key))
        except IntegrityError:
            # Two submissions with one key raced, or this is a retry: return the first case.
            existing = self._by_key(request.idempotency_key) if request.idempotency_key else None
            if existing is None:
                raise
            return Receipt(existing, False)
        return Receipt(case, True, follow_key[-1] if follow_key else None)

    def open_case(self, request: IntakeRequest) -> Case:
        """Open a case and start its process in the caller's transaction, committing nothing: for a channel that
        writes rows of its own with its cases in one commit (monitoring alerts). IntakeError when refused."""
        category, unit, priority, answers, media = self._validate(request)
        if media:
            raise ValueError("open_case takes no files; use intake")
        return self._open(request, category, unit, priority, answers, media, [])

    def _open(self, request: IntakeRequest, category: Category, unit: Any, priority: str, answers: dict[str, Any],
              media: list[MediaFile], follow_key: list[str]) -> Case:
        """The case of a checked request, its reporter, files and process, added to the session."""
        now = self.clock.now()
        case = Case(channel=request.channel, category_code=category.code, title=request.title.strip(),
                    description=request.description.strip(), lat=request.lat, lon=request.lon,
                    address=request.address.strip(), admin_unit_id=unit.id, priority=priority,
                    status="received", idempotency_key=request.idempotency_key, created_at=now, updated_at=now,
                    answers=answers, source=request.source[:20], request_token=request.request_token)
        # A channel that makes the reporter a follow key wants them to follow (and rate) even anonymously.
        if (request.reporter_name or request.reporter_phone or request.reporter_email or request.reporter_user_id
                or request.follow_key):
            case.reporter = Reporter(name=request.reporter_name.strip(), phone=request.reporter_phone.strip(),
                                     email=request.reporter_email.strip(), user_id=request.reporter_user_id,
                                     phone_key=phone_key(request.reporter_phone))
        # The id comes first, so the code is known and everything is written in one flush.
        case.id = self._next_case_id()
        case.code = f"{CHANNEL_PREFIX[request.channel]}-{now.year}-{case.id:06d}"
        # Reception is the case's created_at (and channel): no history row of its own.
        self.session.add(case)
        if case.reporter is not None:
            key = request.follow_key or secrets.token_urlsafe(18)
            follow_key.append(key)
            self.session.add(CaseFollower(case=case, email=case.reporter.email, user_id=request.reporter_user_id,
                                          key_sha256=key_digest(key), is_reporter=True, created_at=now))
            if case.reporter.email:  # the receipt with the private link goes out with the case, or not at all
                self.session.add(OutboxMessage(topic="email", created_at=now, dedupe_key=f"receipt:{case.code}",
                                               payload=receipt_email(case.code, case.reporter.email, key)))
        self._store_media(case, media, stage="report", uploaded_by=_citizen_or(request.source), now=now)
        case.process_instance = self.instances.start(PROCESS_FOR_CHANNEL[request.channel], {
            "case_id": case.id, "case_code": case.code, "category": category.code,
            "admin_unit": unit.code, "admin_unit_kind": unit.kind, "priority": priority,
            "ioc_unit": self.ioc_unit,
            # Values for the form fields the process reads before anyone fills them in, so its conditions
            # and decision tables always see one: triage's optional override_unit, and handle's outcome, which
            # is required and has no default ("" is neither resolved nor returned: nothing slips through).
            "outcome": "", "override_unit": "",
            **start_data(request)[0],
        }, business_key=case.code)
        return case

    def problems(self, request: IntakeRequest) -> dict[str, Any]:
        """What intake would refuse in `request` (field → message), opening nothing: for a channel that
        checks fields of its own too and wants every message in one answer."""
        try:
            self._validate(request)
        except IntakeError as exc:
            return dict(exc.fields)
        return {}

    def _transaction(self, work: Callable[[], T]) -> T:
        """Run `work` and commit, then let the outbox deliver.

        The fast way first: operators run without savepoints. If one fails, its
        half-writes cannot be told apart, so everything is rolled back and done once
        more the careful way, where the failure becomes the instance's incident.
        """
        for careful in (False, True):
            self.instances.batch_mode = not careful
            try:
                result = work()
                self.session.commit()
            except BatchAbort:
                self.session.rollback()
                continue
            except StaleDataError:
                self.session.rollback()
                raise ConflictError(t("the case was changed by someone else at the same time; reload and try again")) from None
            except BaseException:
                self.session.rollback()
                raise
            finally:
                self.instances.batch_mode = False
            self.after_commit()
            return result
        raise AssertionError("the careful pass never aborts")

    def _next_case_id(self) -> int:
        """A new case id: the table's sequence on PostgreSQL (never rolled back, so never
        reused), the next rowid on SQLite (safe: BEGIN IMMEDIATE makes this writer the only one)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return self.session.scalar(text("SELECT nextval(pg_get_serial_sequence('case_record', 'id'))"))
        with self.session.no_autoflush:
            return (self.session.scalar(select(func.max(Case.id))) or 0) + 1

    def _category(self, code: str) -> Category | None:
        cache = self.session.info.setdefault("ioc_category", {})  # categories change rarely
        if code not in cache:
            cache[code] = self.session.get(Category, code)
        return cache[code]

    def _by_key(self, key: str) -> Case | None:
        return self.session.scalar(select(Case).where(Case.idempotency_key == key))

    def _store_media(self, case: Case, media: list[MediaFile], stage: str, uploaded_by: str | None,
                     now: Any, public: bool = True) -> list[Attachment]:
        """Write each checked file's original, public copy and thumbnail, and add its Attachment row.

        Called inside the transaction, after every file was checked: a refused file never gets here.
        If the transaction then fails, the files written stay as unreferenced copies, harmless and
        reused by the next upload of the same content.
        """
        rows: list[Attachment] = []
        seen: set[str] = set()
        if media and case in self.session.new:
            self.session.flush()  # the case row first: attachments refer to it by id, not by relationship
        for item in media:
            digest = self.files.put(item.original)
            if digest in seen:  # the same photo twice in one submission is one attachment
                continue
            seen.add(digest)
            row = Attachment(case_id=case.id, sha256=digest, filename=item.filename, content_type=item.content_type,
                             size=len(item.original), kind=item.kind, stage=stage,
                             public=public and item.public is not None,
                             public_sha256=self.files.put(item.public) if item.public is not None else None,
                             thumb_sha256=self.files.put(item.thumbnail) if item.thumbnail is not None else None,
                             uploaded_by=uploaded_by, created_at=now)
            self.session.add(row)
            rows.append(row)
        return rows

    def _validate(self, r: IntakeRequest) -> tuple[Category, Any, str, dict[str, Any], list[MediaFile]]:
        errors: dict[str, str] = {}
        media: list[MediaFile] = []
        if r.files:
            # Every file is read and checked before anything is written (nothing stored, no case, if one is bad).
            try:
                media = check_uploads(r.files, self.media_limits)
            except IntakeError as exc:
                errors.update(exc.fields)
        if r.channel not in PROCESS_FOR_CHANNEL:
            errors["channel"] = t("channel %(channel)s is not open for intake (open: %(open)s)",
                                  channel=repr(r.channel), open=", ".join(PROCESS_FOR_CHANNEL))
        category = self._category(r.category) if r.category else None
        if category is None or not category.active or (category.internal and r.channel in CITIZEN_CHANNELS):
            errors["category"] = t("choose one of the listed categories")
        unit = UnitDirectory(self.session).by_code(r.admin_unit) if r.admin_unit else None
        if unit is None or unit.kind not in PLACE_KINDS or not unit.active:
            errors["admin_unit"] = t("choose the commune or ward where it happened")
        if not r.title or not r.title.strip():
            errors["title"] = t("required")
        elif len(r.title) > 255:
            errors["title"] = t("at most 255 characters; shorten it")
        if len(r.description) > 10_000:
            errors["description"] = t("at most 10,000 characters; shorten it")
        if (r.lat is None) != (r.lon is None):
            errors["location"] = t("give both latitude and longitude, or neither")
        elif r.lat is not None and not (-90 <= r.lat <= 90 and -180 <= r.lon <= 180):
            errors["location"] = t("latitude must be within ±90 and longitude within ±180")
        priority = r.priority or (category.default_priority if category else "normal")
        if priority not in PRIORITIES:
            errors["priority"] = t("must be one of %(choices)s", choices=", ".join(PRIORITIES))
        if r.reporter_phone and not _PHONE.match(r.reporter_phone.strip()):
            errors["reporter_phone"] = t("write a phone number such as 0912 345 678")
        if r.reporter_email and not _EMAIL.match(r.reporter_email.strip()):
            errors["reporter_email"] = t("write an email address such as ten@example.vn")
        for name, limit in TEXT_LIMITS.items():
            # Longer than its column: PostgreSQL refuses the row (a 500) and SQLite stores it all.
            if len((getattr(r, name) or "").strip()) > limit:
                errors[name] = t("at most %(n)s characters; shorten it", n=limit)
        if r.idempotency_key is not None and not (0 < len(r.idempotency_key) <= 120):
            errors["idempotency_key"] = t("must be 1 to 120 characters")
        answers: dict[str, Any] = {}
        if category is not None:
            answers, wrong = clean_answers(parse_questions(category.questions), r.answers or {})
            errors.update({f"answers.{name}": message for name, message in wrong.items()})
        errors.update(start_data(r)[1])
        if errors:
            raise IntakeError(errors)
        return category, unit, priority, answers, media

    # ------------------------------------------------------------------ actions
    def complete_task(self, task_id: str, data: dict[str, Any], actor: str | None) -> None:
        """Complete a human task of a case (the engine's audit records who did it, for the history)."""
        self._transaction(lambda: self.instances.complete_task(task_id, data, actor=actor))

    def add_attachment(self, code: str, filename: str, content_type: str, data: bytes,
                       uploaded_by: str | None = None, public: bool = False, stage: str = "report") -> Attachment:
        """Attach an official's file to a case, stored once by its sha256; the same file twice is one attachment.

        Photos and videos are checked like a citizen's (public copy, thumbnail); other documents
        (PDF, office files, text) are kept as they are; programs, scripts and web pages are refused.
        `stage` "resolution" marks the unit's "after" photo, published with the resolution.
        """
        case = self._case_of(code)
        if case is None:
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=code))
        name = safe_name(filename)  # never a path
        errors = {}
        if stage not in ATTACHMENT_STAGES:
            errors["stage"] = t("must be one of %(choices)s", choices=", ".join(ATTACHMENT_STAGES))
        if not name:
            errors["file"] = t("the file has no name")
        if not data:
            errors["file"] = t("the file is empty")
        elif len(data) > self.max_attachment_bytes:
            errors["file"] = t("the file is larger than %(limit)s MB; send a smaller one",
                               limit=self.max_attachment_bytes // (1024 * 1024))
        if errors:
            raise IntakeError(errors)
        upload = Upload(name, content_type, data)
        found = check_document(upload)
        media: MediaFile | None = None
        if found.kind in ("image", "video"):
            # An official's photo may be as large as any attachment; the photo/video limits are the citizens'.
            limits = MediaLimits(max_image_bytes=self.max_attachment_bytes, max_video_bytes=self.max_attachment_bytes)
            try:
                media = inspect(upload, limits)
            except IntakeError as exc:
                raise IntakeError({"file": exc.fields["files"]}) from None
        if self.files is None:
            raise RuntimeError("this CaseService was built without a file store")
        if media is None:
            # Not a photo or video: the sender's type, unless it claims to be something a browser would show.
            kind = "file"
            stored_type = (content_type or "application/octet-stream")[:120]
            if stored_type.startswith(("image/", "video/", "text/html", "application/xhtml")):
                stored_type = found.content_type
        else:
            kind, stored_type = media.kind, media.content_type
        publish = public or (stage == "resolution" and kind == "image")

        def work() -> Attachment:
            digest = hashlib.sha256(data).hexdigest()
            existing = self.session.scalar(select(Attachment).where(Attachment.case_id == case.id,
                                                                    Attachment.sha256 == digest))
            if existing is not None:
                return existing
            now = self.clock.now()
            if media is not None:
                attachment = self._store_media(case, [media], stage=stage, uploaded_by=uploaded_by, now=now,
                                               public=publish)[0]
            else:
                self.files.put(data)
                attachment = Attachment(case_id=case.id, sha256=digest, filename=name, content_type=stored_type,
                                        size=len(data), kind=kind, stage=stage, public=publish,
                                        uploaded_by=uploaded_by, created_at=now)
                self.session.add(attachment)
            self.session.add(CaseEvent(case_id=case.id, at=now, kind="attachment_added",
                                       actor=uploaded_by, public=attachment.public,
                                       detail={"filename": name, "sha256": digest, "stage": stage}))
            # Open pages of the case hear of it (delivered after the commit).
            units = [u.code for u in (case.responsible_unit, case.admin_unit) if u is not None]
            self.session.add(OutboxMessage(topic="case.attachment", created_at=now, payload={
                "case_code": case.code, "units": units, "author": uploaded_by}))
            return attachment

        return self._transaction(work)

    def public_file(self, code: str, attachment_id: int, thumb: bool = False) -> tuple[bytes, str, str]:
        """The public copy (or its thumbnail) of a published case's photo: (bytes, content type, file name).

        Only a copy made without metadata is ever answered, and only while the case's publication
        stands; anything else is CaseNotFoundError, as if it did not exist. Never an original.
        """
        case = self._case_of(code)
        row = self.session.get(Attachment, attachment_id) if case is not None else None
        publication = self.session.get(Publication, case.id) if case is not None else None
        if (row is None or row.case_id != case.id or not row.public or row.public_sha256 is None
                or publication is None or publication.withdrawn_at is not None):
            raise CaseNotFoundError(t("no published photo %(id)s of case %(code)s", id=attachment_id, code=code))
        digest = row.thumb_sha256 if thumb else row.public_sha256
        if digest is None or self.files is None:
            raise CaseNotFoundError(t("no published photo %(id)s of case %(code)s", id=attachment_id, code=code))
        try:
            data = self.files.read(digest)
        except FileNotFoundError:
            raise CaseNotFoundError(t("no published photo %(id)s of case %(code)s", id=attachment_id, code=code)) from None
        # A neutral name: the citizen's own file name may carry their name or the place they live.
        return data, "image/jpeg", f"{case.code}-{row.id}{'-thumb' if thumb else ''}.jpg"

    def citizen_feedback(self, code: str, satisfied: bool, comment: str = "",
                         record: Callable[[Case], None] | None = None) -> Case:
        """A citizen's answer to a published resolution; "not resolved" reopens the case.

        `record(case)` runs in the same transaction before the message (the rating row), so
        the rating and the process step commit together or not at all.
        """
        case = self._case_of(code)
        if case is None or case.process_instance_id is None:
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=code))
        instance_id = case.process_instance_id

        def work() -> Case:
            if record is not None:
                record(case)
            # Before the message: the answer comes first in the history, then the close or reopening it causes.
            self.session.add(CaseEvent(case_id=case.id, at=self.clock.now(), kind="feedback", public=True,
                                       detail={"satisfied": bool(satisfied)}))
            self.instances.send_message(instance_id, "citizen_feedback",
                                        {"satisfied": bool(satisfied), "comment": comment[:2000]}, actor="citizen")
            return case

        return self._transaction(work)

    def merge(self, duplicate_code: str, into_code: str, actor: Actor) -> Case:
        """Merge a duplicate into the case that goes on: its process stops, its followers follow the other.

        For operators, unit heads and administrators who see both cases; the duplicate must be open
        and the other neither closed nor merged itself. Returns the case that goes on.
        """
        duplicate = self._case_of((duplicate_code or "").strip().upper())
        into = self._case_of((into_code or "").strip().upper())
        if duplicate is None:
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=duplicate_code))
        if not actor.has_role(*MERGE_ROLES) or not actor.sees_case(duplicate):
            raise AccessDeniedError(t("only operators, unit heads and administrators who see both cases may merge them"))
        if into is None or not actor.sees_case(into):
            # A case outside the actor's view is answered as one that does not exist.
            raise IntakeError({"into": t("no case %(code)s in your view; check the code of the case to merge into",
                                         code=(into_code or "").strip() or "—")})
        if into.id == duplicate.id:
            raise IntakeError({"into": t("a case cannot be merged into itself; give the code of the other case")})
        if duplicate.status not in MERGEABLE_STATUSES:
            raise IntakeError({"into": t("case %(code)s is no longer open (%(status)s); only an open case can be merged",
                                         code=duplicate.code, status=_status_word(duplicate.status))})
        if into.status in ("closed", "rejected", "merged") or into.merged_into_id is not None:
            raise IntakeError({"into": t("case %(code)s is %(status)s; merge into a case that is still open",
                                         code=into.code, status=_status_word(into.status))})
        instance_id = duplicate.process_instance_id

        def work() -> Case:
            now = self.clock.now()
            if instance_id is not None:
                self.instances.cancel(instance_id, f"merged into {into.code}", actor=actor.username)
            duplicate.status, duplicate.merged_into_id = "merged", into.id
            duplicate.closed_at, duplicate.close_reason, duplicate.updated_at = now, "merged", now
            followers = self.session.scalars(select(CaseFollower).where(
                CaseFollower.case_id == duplicate.id, CaseFollower.unsubscribed_at.is_(None))).all()
            for follower in followers:
                # The copy's secret is derived from the original's digest, so the same tracking
                # key also opens (and rates) the case that goes on (see followed_digests).
                self.session.add(CaseFollower(case_id=into.id, email=follower.email, user_id=follower.user_id,
                                              key_sha256=merged_digest(follower.key_sha256, into.id),
                                              is_reporter=False, created_at=now))
            self.session.add(CaseEvent(case_id=duplicate.id, at=now, kind="merged", actor=actor.username, public=True,
                                       detail={"into": into.code}))
            self.session.add(CaseEvent(case_id=into.id, at=now, kind="merged_from", actor=actor.username, public=True,
                                       detail={"from": duplicate.code, "followers": len(followers)}))
            into.updated_at = now
            units = sorted({u.code for c in (duplicate, into) for u in (c.responsible_unit, c.admin_unit) if u})
            self.session.add(OutboxMessage(topic="case.merged", created_at=now, payload={
                "case_code": duplicate.code, "into": into.code, "units": units, "author": actor.username}))
            return into

        return self._transaction(work)

    def _case_of(self, code: str | None) -> Case | None:
        return self.session.scalar(select(Case).where(Case.code == code)) if code else None
