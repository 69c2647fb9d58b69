"""What citizens do on the portal: send a report, find duplicates, follow a case and read its public timeline.

Nothing here ever returns a reporter's name, phone or email, an official's name, an internal note
or a comment: the public timeline is built from public case events only, and other citizens' cases
are shown by category, place, status, date and their title with personal data masked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from engine.models import OutboxMessage
from workflows.case_service import CaseService, IntakeRequest, Receipt, key_digest
from workflows.case_view import CLOSE_REASONS, STATUS_LABELS
from workflows.citizen_mail import follow_email
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import (
    AdminUnit,
    Attachment,
    Case,
    CaseEvent,
    CaseFollower,
    Category,
    Publication,
    Reporter,
    User,
)
from workflows.nearby import NearCase, distance_metres, open_cases_in, open_cases_near
from workflows.publication_service import PublicationService
from workflows.questions import Question, parse_questions
from workflows.redaction import redact

# A report this close to an open case of its category is probably the same problem.
DUPLICATE_METRES = 200
CITIZEN_PLACE_KINDS = ("ward", "commune", "special_zone")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE = re.compile(r"^[A-Z]{2,4}-\d{4}-\d{1,9}$")
# The case events a citizen may read, in words without names (an official's action is the unit's).
PUBLIC_KINDS = ("assigned", "escalated", "resolved", "published", "reopened", "closed", "feedback", "merged",
                "merged_from")


@dataclass(frozen=True)
class Choice:
    """A category or a place as the form offers it."""

    code: str
    name: str


@dataclass(frozen=True)
class CategoryForm:
    """A category and its extra questions."""

    code: str
    name: str
    questions: list[Question]


@dataclass(frozen=True)
class PublicSummary:
    """Another citizen's open case as the portal may show it (no reporter; title with personal data masked)."""

    code: str
    category: str
    place: str
    status: str
    status_label: Text
    created_at: datetime
    title: str
    metres: int | None


@dataclass(frozen=True)
class PublicEvent:
    """One line of the public timeline."""

    at: datetime
    kind: str
    label: Text


@dataclass(frozen=True)
class PublicCase:
    """What anyone may read of a case by its tracking code."""

    code: str
    category: str
    place: str
    status: str
    status_label: Text
    created_at: datetime
    responsible_unit: str | None
    due_at: datetime | None
    overdue: bool
    events: list[PublicEvent]
    # The published resolution (None until published, or once withdrawn by a reopening).
    title: str | None
    summary: str | None
    resolution: str | None
    published_at: datetime | None
    feedback_until: datetime | None
    feedback_open: bool
    photo_ids: list[int]
    merged_into: str | None


@dataclass(frozen=True)
class Following:
    """A follower of a case as its holder sees it."""

    follower_id: int
    is_reporter: bool
    has_email: bool
    subscribed: bool


@dataclass(frozen=True)
class MyCase:
    """A case on a signed-in citizen's list."""

    code: str
    category: str
    place: str
    status: str
    status_label: Text
    created_at: datetime
    title: str | None  # the citizen's own words for their own reports; None for cases they follow
    is_reporter: bool


class PortalService:
    """The citizens' side of cases; knows nothing of HTTP."""

    def __init__(self, session: Session, cases: CaseService, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.cases = cases
        self.clock = clock

    # ------------------------------------------------------------------ the form
    def categories(self, lang: str = "vi") -> list[CategoryForm]:
        """The active categories with their extra questions, by name."""
        rows = self.session.scalars(select(Category).where(Category.active.is_(True), Category.internal.is_(False)))
        out = [CategoryForm(c.code, _name(c, lang), parse_questions(c.questions)) for c in rows]
        return sorted(out, key=lambda c: (c.code == "other", c.name))

    def places(self, lang: str = "vi") -> list[Choice]:
        """The communes and wards a report may name, by name."""
        rows = self.session.scalars(select(AdminUnit).where(AdminUnit.kind.in_(CITIZEN_PLACE_KINDS),
                                                            AdminUnit.active.is_(True)))
        return sorted((Choice(u.code, _name(u, lang)) for u in rows), key=lambda c: c.name)

    def nearest_place(self, lat: float, lon: float, lang: str = "vi") -> Choice | None:
        """The commune or ward whose centre is nearest to a point (the citizen confirms it on the form)."""
        rows = self.session.execute(select(AdminUnit.code, AdminUnit.name, AdminUnit.name_en, AdminUnit.lat,
                                           AdminUnit.lon).where(AdminUnit.kind.in_(CITIZEN_PLACE_KINDS),
                                                                AdminUnit.active.is_(True), AdminUnit.lat.is_not(None),
                                                                AdminUnit.lon.is_not(None))).all()
        if not rows:
            return None
        best = min(rows, key=lambda r: distance_metres(lat, lon, r.lat, r.lon))
        return Choice(best.code, best.name_en if lang == "en" and best.name_en else best.name)

    def contact_of(self, user_id: int) -> tuple[str, str]:
        """A signed-in citizen's (full name, email), to fill the form's contact fields."""
        row = self.session.execute(select(User.full_name, User.email).where(User.id == user_id)).first()
        return (row.full_name or "", row.email or "") if row else ("", "")

    def problems(self, request: IntakeRequest) -> dict:
        """What intake would refuse in `request`, opening nothing (the form's own checks come on top)."""
        return self.cases.problems(request)

    def submit(self, request: IntakeRequest) -> Receipt:
        """Open the case (intake checks everything, files included, before storing anything)."""
        return self.cases.intake_receipt(request)

    # ------------------------------------------------------------------ duplicates
    def duplicates(self, category: str, lat: float | None, lon: float | None, place: str | None,
                   lang: str = "vi", idempotency_key: str | None = None) -> list[PublicSummary]:
        """Open cases of `category` within 200 m of the point, or in the commune when there is no point.

        `idempotency_key`: the submission being checked; a case it opened already (a double click)
        is not its own duplicate.
        """
        if not category:
            return []
        own = (self.session.scalar(select(Case.id).where(Case.idempotency_key == idempotency_key))
               if idempotency_key else None)
        if lat is not None and lon is not None:
            near = open_cases_near(self.session, category, lat, lon, DUPLICATE_METRES, exclude_id=own, limit=5)
        else:
            unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == place)) if place else None
            near = open_cases_in(self.session, category, unit.id, exclude_id=own, limit=5) if unit is not None else []
        return self._summaries(near, lang)

    def _summaries(self, near: list[NearCase], lang: str) -> list[PublicSummary]:
        if not near:
            return []
        ids = [n.id for n in near]
        names = dict(self.session.execute(select(Reporter.case_id, Reporter.name).where(Reporter.case_id.in_(ids))).all())
        categories = self._category_names(lang)
        places = self._unit_names({n.admin_unit_id for n in near}, lang)
        return [PublicSummary(n.code, categories.get(n.category_code, n.category_code), places.get(n.admin_unit_id, "—"),
                              n.status, STATUS_LABELS.get(n.status, Text(n.status)), n.created_at,
                              redact(n.title, [names[n.id]] if names.get(n.id) else []), n.metres) for n in near]

    def follow(self, code: str, email: str = "", user_id: int | None = None) -> str:
        """Follow an open case (a duplicate of what the citizen saw): their own follow key, shown once.

        With an email, a confirmation carrying the private link goes out in the same transaction.
        """
        case = self._case(code)
        email = (email or "").strip()
        if email and (len(email) > 255 or not _EMAIL.match(email)):
            raise IntakeError({"email": t("write an email address such as ten@example.vn")})
        if case.status in ("closed", "rejected", "merged"):
            raise IntakeError({"code": t("case %(code)s is closed; send your report instead", code=case.code)})
        if user_id is not None:
            existing = self.session.scalar(select(CaseFollower).where(CaseFollower.case_id == case.id,
                                                                      CaseFollower.user_id == user_id))
            if existing is not None:
                raise IntakeError({"code": t("you already follow case %(code)s; see My reports", code=case.code)})
        key = secrets.token_urlsafe(18)
        now = self.clock.now()
        self.session.add(CaseFollower(case_id=case.id, email=email, user_id=user_id, key_sha256=key_digest(key),
                                      is_reporter=False, created_at=now))
        if email:
            self.session.add(OutboxMessage(topic="email", created_at=now, payload=follow_email(case.code, email, key)))
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise
        self.cases.after_commit()
        return key

    # ------------------------------------------------------------------ tracking
    def public_case(self, code: str, lang: str = "vi") -> PublicCase:
        """A case as anyone may read it by its code; CaseNotFoundError when there is none."""
        case = self._case(code)
        now = self.clock.now()
        units = self._unit_names({case.admin_unit_id, case.responsible_unit_id}, lang)
        pub = self.session.get(Publication, case.id)
        shown = pub is not None and pub.withdrawn_at is None and case.published_at is not None
        photos: list[int] = []
        if shown:
            photos = list(self.session.scalars(select(Attachment.id).where(
                Attachment.case_id == case.id, Attachment.public_sha256.is_not(None), Attachment.kind == "image")
                .order_by(Attachment.stage, Attachment.id)))
        events = [self._event(e, lang) for e in self.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True),
                                    CaseEvent.kind.in_(PUBLIC_KINDS)).order_by(CaseEvent.at, CaseEvent.id))]
        # A citizen's answer is written after the step it caused (a reopening): it comes first.
        events.sort(key=lambda e: (e.at, e.kind != "feedback"))
        events.insert(0, PublicEvent(case.created_at, "received", t("Report received")))
        is_open = case.status in ("received", "in_progress", "escalated", "returned", "reopened")
        return PublicCase(
            code=case.code, category=self._category_names(lang).get(case.category_code, case.category_code),
            place=units.get(case.admin_unit_id, "—"), status=case.status,
            status_label=STATUS_LABELS.get(case.status, Text(case.status)), created_at=case.created_at,
            responsible_unit=units.get(case.responsible_unit_id) if case.responsible_unit_id else None,
            due_at=case.due_at if is_open else None, overdue=bool(is_open and case.due_at and case.due_at < now),
            events=events, title=pub.title if shown else None, summary=pub.summary if shown else None,
            resolution=pub.resolution if shown else None, published_at=pub.published_at if shown else None,
            feedback_until=pub.feedback_until if shown else None,
            feedback_open=bool(shown and case.status == "published" and pub.feedback_until > now),
            photo_ids=photos, merged_into=case.merged_into.code if case.merged_into_id is not None else None)

    def following(self, code: str, key: str | None = None, user_id: int | None = None) -> Following | None:
        """Who follows `code` with this key (or as this signed-in citizen); None for anyone else."""
        follower = self._follower(code, key, user_id)
        if follower is None:
            return None
        return Following(follower.id, follower.is_reporter, bool(follower.email), follower.unsubscribed_at is None)

    def may_rate(self, code: str, key: str | None = None, user_id: int | None = None) -> bool:
        """True when this follower may rate the published resolution now (the form is offered)."""
        return PublicationService(self.session, self.clock).may_rate(code, key or "", user_id)

    def unsubscribe(self, code: str, key: str | None = None, user_id: int | None = None) -> bool:
        """Stop the emails of one follower (by key or signed-in citizen); False when none matches."""
        follower = self._follower(code, key, user_id)
        if follower is None:
            return False
        if follower.unsubscribed_at is None:
            follower.unsubscribed_at = self.clock.now()
            self.session.commit()
        return True

    def my_cases(self, user_id: int, lang: str = "vi") -> list[MyCase]:
        """The cases a signed-in citizen reported or follows, newest first."""
        rows = self.session.execute(
            select(Case, CaseFollower.is_reporter).join(CaseFollower, CaseFollower.case_id == Case.id)
            .where(CaseFollower.user_id == user_id).order_by(Case.id.desc()).limit(200)).all()
        reported = set(self.session.scalars(select(Reporter.case_id).where(Reporter.user_id == user_id)))
        categories = self._category_names(lang)
        places = self._unit_names({case.admin_unit_id for case, _ in rows}, lang)
        seen: set[int] = set()
        out = []
        for case, is_reporter in rows:
            if case.id in seen:
                continue
            seen.add(case.id)
            own = bool(is_reporter) or case.id in reported
            out.append(MyCase(case.code, categories.get(case.category_code, case.category_code),
                              places.get(case.admin_unit_id, "—"), case.status,
                              STATUS_LABELS.get(case.status, Text(case.status)), case.created_at,
                              case.title if own else None, own))
        return out

    # ------------------------------------------------------------------ helpers
    def _case(self, code: str) -> Case:
        code = (code or "").strip().upper()
        case = self.session.scalar(select(Case).where(Case.code == code)) if _CODE.match(code) else None
        if case is None:
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=code[:40]))
        return case

    def _follower(self, code: str, key: str | None, user_id: int | None) -> CaseFollower | None:
        if not key and user_id is None:
            return None
        return PublicationService(self.session, self.clock).follower_of(code, (key or "")[:200], user_id)

    def _event(self, event: CaseEvent, lang: str) -> PublicEvent:
        d = event.detail or {}
        unit = self._unit_names_by_code(d.get("unit"), lang) or d.get("unit_name") or "—"
        kind = event.kind
        if kind == "assigned":
            label = t("Assigned to %(unit)s", unit=unit)
        elif kind == "escalated":
            label = t("Escalated to level %(level)s: %(unit)s", level=d.get("level", "?"), unit=unit)
        elif kind == "resolved":
            label = t("Resolution recorded")
        elif kind == "published":
            label = t("Resolution published on the citizens' portal")
        elif kind == "reopened":
            label = t("Reopened: the citizen says it is not resolved")
        elif kind == "closed" and d.get("reason") == "rejected" and d.get("note"):
            # The reason the IOC gave (redacted when it was written), not a bare "rejected".
            label = t("Not accepted for handling: %(reason)s", reason=str(d["note"]))
        elif kind == "closed":
            label = t("Closed (%(reason)s)", reason=CLOSE_REASONS.get(str(d.get("reason")), t("closed")))
        elif kind == "feedback":
            label = t("The citizen answered: satisfied") if d.get("satisfied") else t(
                "The citizen answered: not resolved")
        elif kind == "merged":
            label = t("Merged into %(code)s (a duplicate)", code=d.get("into", "—"))
        else:
            label = t("Duplicate %(code)s merged into this case", code=d.get("from", "—"))
        return PublicEvent(event.at, kind, label)

    def _unit_names_by_code(self, code: object, lang: str) -> str | None:
        if not code:
            return None
        row = self.session.scalar(select(AdminUnit).where(AdminUnit.code == str(code)))
        return _name(row, lang) if row is not None else None

    def _unit_names(self, ids: set[int | None], lang: str) -> dict[int, str]:
        wanted = sorted(i for i in ids if i is not None)
        if not wanted:
            return {}
        rows = self.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(wanted)))
        return {u.id: _name(u, lang) for u in rows}

    def _category_names(self, lang: str) -> dict[str, str]:
        return {c.code: _name(c, lang) for c in self.session.scalars(select(Category))}


def _name(row: AdminUnit | Category, lang: str) -> str:
    return row.name_en if lang == "en" and row.name_en else row.name
