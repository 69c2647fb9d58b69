"""Published resolutions as the public sees them, and citizens' ratings of them.

Nothing here reads the reporter: the texts come from `Publication` (redacted when published),
the photos are the public copies only, and a rating's comment is redacted before it is kept.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.i18n import Text, t
from workflows.case_service import CaseService, followed_digests, key_digest
from workflows.errors import CaseNotFoundError
from workflows.models import AdminUnit, Attachment, Case, CaseEvent, CaseFollower, CaseRating, Category, Publication
from workflows.redaction import public_position, redact
from workflows.reference import Choice

PAGE_SIZE = 20
MAP_LIMIT = 1000
COMMENT_MAX = 1000
# What the public timeline tells (the internal events — reminders, leaders, returns, comments — stay inside).
PUBLIC_KINDS = ("assigned", "escalated", "resolved", "published", "feedback", "reopened", "closed", "merged",
                "merged_from")


class RatingError(Exception):
    """A rating that cannot be taken; `reason` is one of: key, expired, already, closed, comment."""

    def __init__(self, reason: str, message: Text):
        self.reason = reason
        self.message = message
        super().__init__(str(message))


@dataclass(frozen=True)
class PublicFilter:
    """The filters of the public list: category, place (commune/ward) and responsible unit codes."""

    category: str = ""
    place: str = ""
    unit: str = ""

    @classmethod
    def parse(cls, args: Any) -> PublicFilter:
        """From query arguments; anything longer than a code is cut (an unknown code finds nothing)."""
        def clean(name: str) -> str:
            return "".join(c for c in str(args.get(name, "") or "").strip()[:64] if c.isprintable())
        return cls(clean("category"), clean("place"), clean("unit"))

    def as_args(self) -> dict[str, str]:
        """The filters that are set, for links."""
        return {k: v for k, v in (("category", self.category), ("place", self.place), ("unit", self.unit)) if v}


@dataclass(frozen=True)
class Timing:
    """Received → resolved against the deadline of the last assignment."""

    received_at: datetime
    resolved_at: datetime | None
    deadline: datetime | None
    taken: timedelta | None
    on_time: bool | None
    late_by: timedelta | None


@dataclass(frozen=True)
class Ratings:
    """Ratings of the current publication."""

    satisfied: int = 0
    unsatisfied: int = 0

    @property
    def total(self) -> int:
        """How many ratings."""
        return self.satisfied + self.unsatisfied


@dataclass(frozen=True)
class PublicItem:
    """A published resolution in the list and on its page."""

    code: str
    title: str
    summary: str
    resolution: str
    category: str
    place: str
    unit: str
    status: str  # published (feedback open) or closed
    published_at: datetime
    feedback_until: datetime
    timing: Timing
    before: list[int]
    after: list[int]
    ratings: Ratings
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class PublicEvent:
    """A line of the public timeline."""

    at: datetime
    label: Text


@dataclass(frozen=True)
class PublicComment:
    """A citizen's rating with its (redacted) comment."""

    at: datetime
    satisfied: bool
    comment: str


@dataclass(frozen=True)
class PublicDetail:
    """The page of one published resolution."""

    item: PublicItem
    timeline: list[PublicEvent]
    comments: list[PublicComment]
    feedback_open: bool


@dataclass(frozen=True)
class PublicPage:
    """A page of the public list, with the choices of its filters."""

    items: list[PublicItem]
    page: int
    has_next: bool
    filter: PublicFilter
    categories: list[Choice] = field(default_factory=list)
    places: list[Choice] = field(default_factory=list)
    units: list[Choice] = field(default_factory=list)


class PublicationService:
    """Reads published resolutions for everyone, and takes citizens' ratings."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, cases: CaseService | None = None):
        self.session = session
        self.clock = clock
        self.cases = cases

    # ------------------------------------------------------------------ reading
    def _query(self, flt: PublicFilter):
        place, unit = aliased(AdminUnit), aliased(AdminUnit)
        query = (select(Publication, Case, Category, place, unit)
                 .join(Case, Case.id == Publication.case_id)
                 .join(Category, Category.code == Case.category_code)
                 .join(place, place.id == Case.admin_unit_id)
                 .outerjoin(unit, unit.id == Case.responsible_unit_id)
                 .where(Publication.withdrawn_at.is_(None), Case.merged_into_id.is_(None)))
        if flt.category:
            query = query.where(Case.category_code == flt.category)
        if flt.place:
            query = query.where(place.code == flt.place)
        if flt.unit:
            query = query.where(unit.code == flt.unit)
        return query

    def page(self, flt: PublicFilter | None = None, page: int = 1, lang: str = "vi") -> PublicPage:
        """Published resolutions, newest first, PAGE_SIZE a page, with the filter choices."""
        flt = flt or PublicFilter()
        page = max(1, min(page, 10_000))
        rows = self.session.execute(self._query(flt).order_by(Publication.published_at.desc(), Case.id.desc())
                                    .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
        items = self._items(rows[:PAGE_SIZE], lang)
        return PublicPage(items, page, len(rows) > PAGE_SIZE, flt, *self._choices(lang))

    def points(self, flt: PublicFilter | None = None, lang: str = "vi") -> list[dict[str, Any]]:
        """Map points of the published resolutions (public fields only), newest MAP_LIMIT."""
        rows = self.session.execute(self._query(flt or PublicFilter()).where(Case.lat.is_not(None))
                                    .order_by(Publication.published_at.desc()).limit(MAP_LIMIT)).all()
        return [{"code": case.code, "title": pub.title, "category": _name(category, lang), "unit": _unit_name(unit, pub, lang),
                 **dict(zip(("lat", "lon"), public_position(case.lat, case.lon), strict=True)),
                 "closed": case.status == "closed"}
                for pub, case, category, _place, unit in rows]

    def detail(self, code: str, lang: str = "vi") -> PublicDetail:
        """One published resolution with its public timeline and ratings; CaseNotFoundError otherwise."""
        row = self.session.execute(self._query(PublicFilter()).where(Case.code == _code(code))).first()
        if row is None:
            raise CaseNotFoundError(t("no published resolution for %(code)s", code=code))
        item = self._items([row], lang)[0]
        pub, case = row[0], row[1]
        events = self.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True),
                                                              CaseEvent.kind.in_(PUBLIC_KINDS))
                                      .order_by(CaseEvent.at, CaseEvent.id)).all()
        units = {u.code: _name(u, lang) for u in self.session.scalars(select(AdminUnit).where(
            AdminUnit.code.in_({str((e.detail or {}).get("unit")) for e in events})))}
        timeline = [PublicEvent(e.at, _event_label(e, units)) for e in events]
        comments = [PublicComment(r.created_at, r.satisfied, r.comment) for r in self.session.scalars(
            select(CaseRating).where(CaseRating.case_id == case.id).order_by(CaseRating.created_at.desc()).limit(100))]
        return PublicDetail(item, timeline, comments, self._feedback_open(case, pub))

    def merged_into(self, code: str) -> str | None:
        """The code of the case a merged duplicate went into (for a link), or None."""
        into = aliased(Case)
        return self.session.scalar(select(into.code).join(Case, Case.merged_into_id == into.id)
                                   .where(Case.code == _code(code)))

    def _items(self, rows: list, lang: str) -> list[PublicItem]:
        ids = [row[1].id for row in rows]
        photos: dict[int, dict[str, list[int]]] = {i: {"report": [], "resolution": []} for i in ids}
        deadlines: dict[int, list[tuple[datetime, datetime | None]]] = {i: [] for i in ids}
        ratings: dict[int, dict[bool, int]] = {i: {True: 0, False: 0} for i in ids}
        if ids:
            for attachment_id, case_id, stage in self.session.execute(
                    select(Attachment.id, Attachment.case_id, Attachment.stage)
                    .where(Attachment.case_id.in_(ids), Attachment.public.is_(True),
                           Attachment.public_sha256.is_not(None), Attachment.kind == "image")
                    .order_by(Attachment.id)):
                photos[case_id]["resolution" if stage == "resolution" else "report"].append(attachment_id)
            for case_id, at, detail in self.session.execute(
                    select(CaseEvent.case_id, CaseEvent.at, CaseEvent.detail)
                    .where(CaseEvent.case_id.in_(ids), CaseEvent.kind == "assigned").order_by(CaseEvent.at)):
                deadlines[case_id].append((at, _parse((detail or {}).get("due_at"))))
            for case_id, satisfied, count in self.session.execute(
                    select(CaseRating.case_id, CaseRating.satisfied, func.count())
                    .join(Publication, Publication.case_id == CaseRating.case_id)
                    .where(CaseRating.case_id.in_(ids), CaseRating.created_at >= Publication.published_at)
                    .group_by(CaseRating.case_id, CaseRating.satisfied)):
                ratings[case_id][bool(satisfied)] = count
        items = []
        for pub, case, category, place, unit in rows:
            lat, lon = public_position(case.lat, case.lon)
            items.append(PublicItem(
                code=case.code, title=pub.title, summary=pub.summary, resolution=pub.resolution,
                category=_name(category, lang), place=_name(place, lang), unit=_unit_name(unit, pub, lang),
                status="closed" if case.status == "closed" else "published", published_at=pub.published_at,
                feedback_until=pub.feedback_until, timing=_timing(case, deadlines[case.id]),
                before=photos[case.id]["report"], after=photos[case.id]["resolution"],
                ratings=Ratings(ratings[case.id][True], ratings[case.id][False]),
                lat=lat, lon=lon))
        return items

    def _choices(self, lang: str) -> tuple[list[Choice], list[Choice], list[Choice]]:
        """Categories, places and units that have published resolutions (one grouped query each)."""
        base = (select(Case.category_code, Case.admin_unit_id, Case.responsible_unit_id)
                .join(Publication, Publication.case_id == Case.id)
                .where(Publication.withdrawn_at.is_(None), Case.merged_into_id.is_(None)).distinct().subquery())
        categories = self.session.scalars(select(Category).where(Category.code.in_(select(base.c.category_code)))).all()
        unit_ids = select(base.c.admin_unit_id).union(select(base.c.responsible_unit_id))
        units = {u.id: u for u in self.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(unit_ids)))}
        place_ids = set(self.session.scalars(select(base.c.admin_unit_id)))
        resp_ids = set(self.session.scalars(select(base.c.responsible_unit_id)))

        def choices(rows) -> list[Choice]:
            return sorted((Choice(r.code, r.name, r.name_en or r.name) for r in rows), key=lambda c: c.label(lang))
        return (choices(categories), choices(units[i] for i in place_ids if i in units),
                choices(units[i] for i in resp_ids if i in units))

    # ------------------------------------------------------------------ ratings
    def follower_of(self, code: str, key: str = "", user_id: int | None = None) -> CaseFollower | None:
        """The follower of this case holding `key` (also through merged duplicates) or signed in as `user_id`."""
        case = self.session.scalar(select(Case).where(Case.code == _code(code)))
        if case is None:
            return None
        if key:
            original = self.session.scalar(select(CaseFollower).where(CaseFollower.key_sha256 == key_digest(key[:200])))
            if original is not None:
                digests = followed_digests(original.key_sha256, self._merge_chain(original.case_id))
                found = self.session.scalar(select(CaseFollower).where(CaseFollower.case_id == case.id,
                                                                       CaseFollower.key_sha256.in_(digests)))
                if found is not None:
                    return found
        if user_id is not None:
            return self.session.scalar(select(CaseFollower).where(CaseFollower.case_id == case.id,
                                                                  CaseFollower.user_id == user_id)
                                       .order_by(CaseFollower.id).limit(1))
        return None

    def may_rate(self, code: str, key: str = "", user_id: int | None = None) -> bool:
        """True if this key or user may rate the resolution now (the form is offered)."""
        try:
            self._check(code, key, user_id)
        except (RatingError, CaseNotFoundError):
            return False
        return True

    def rate(self, code: str, satisfied: bool, comment: str = "", key: str = "", user_id: int | None = None,
             source: str = "portal") -> CaseRating:
        """Record a follower's rating and send it to the process (one transaction); "not resolved" reopens."""
        text = (comment or "").strip()
        if len(text) > COMMENT_MAX:
            raise RatingError("comment", t("a comment is at most %(max)s characters; shorten it", max=COMMENT_MAX))
        case, pub, follower = self._check(code, key, user_id)
        names = [case.reporter.name] if case.reporter else []
        clean = redact(text, names)
        rating = CaseRating(case_id=case.id, follower_id=follower.id, unit_id=case.responsible_unit_id,
                            satisfied=bool(satisfied), comment=clean, source=source[:20], created_at=self.clock.now())
        if self.cases is None:
            raise RuntimeError("this PublicationService was built without a CaseService")
        try:
            self.cases.citizen_feedback(case.code, bool(satisfied), clean, record=lambda _case: self.session.add(rating))
        except ConflictError:
            # The process stopped waiting between the check and the message (closed by someone else).
            raise RatingError("closed", t("this resolution no longer takes ratings")) from None
        return rating

    def _check(self, code: str, key: str, user_id: int | None) -> tuple[Case, Publication, CaseFollower]:
        row = self.session.execute(select(Case, Publication).join(Publication, Publication.case_id == Case.id)
                                   .where(Case.code == _code(code))).first()
        if row is None or row[1].withdrawn_at is not None or row[0].merged_into_id is not None:
            raise CaseNotFoundError(t("no published resolution for %(code)s", code=code))
        case, pub = row
        follower = self.follower_of(code, key, user_id)
        if follower is None:
            raise RatingError("key", t("this tracking link does not belong to %(code)s; open the link you received "
                                       "when you sent the report", code=case.code))
        already = self.session.scalar(select(func.count()).select_from(CaseRating).where(
            CaseRating.case_id == case.id, CaseRating.follower_id == follower.id,
            CaseRating.created_at >= pub.published_at))
        if already:
            raise RatingError("already", t("you have already rated this resolution; thank you"))
        if self.clock.now() > pub.feedback_until:
            raise RatingError("expired", t("ratings were taken until %(until)s; this resolution no longer takes them",
                                           until=pub.feedback_until.strftime("%d/%m/%Y")))
        if not self._feedback_open(case, pub):
            raise RatingError("closed", t("this resolution no longer takes ratings"))
        return case, pub, follower

    def _feedback_open(self, case: Case, pub: Publication) -> bool:
        """The process waits for a citizen's answer: published, not withdrawn, within the window."""
        return case.status == "published" and pub.withdrawn_at is None and self.clock.now() <= pub.feedback_until

    def _merge_chain(self, case_id: int) -> list[int]:
        """The ids a case was merged into, in order (a duplicate of a duplicate…)."""
        chain: list[int] = []
        current = case_id
        for _ in range(20):
            nxt = self.session.scalar(select(Case.merged_into_id).where(Case.id == current))
            if nxt is None or nxt in chain:
                break
            chain.append(nxt)
            current = nxt
        return chain


def _code(code: str) -> str:
    return (code or "").strip().upper()[:32]


def _name(row: Any, lang: str) -> str:
    return (row.name_en or row.name) if lang == "en" else row.name


def _unit_name(unit: AdminUnit | None, pub: Publication, lang: str) -> str:
    return _name(unit, lang) if unit is not None else pub.unit_name


def _parse(iso: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(iso)) if iso else None
    except ValueError:
        return None


def _timing(case: Case, assignments: list[tuple[datetime, datetime | None]]) -> Timing:
    """Time taken and the deadline of the assignment in force when the case was resolved."""
    resolved = case.resolved_at
    deadline = None
    if assignments:
        moments = [at for at, _ in assignments]
        index = bisect_right(moments, resolved) - 1 if resolved else len(assignments) - 1
        deadline = assignments[max(index, 0)][1]
    if deadline is None:
        deadline = case.due_at
    taken = resolved - case.created_at if resolved else None
    on_time = (resolved <= deadline) if resolved and deadline else None
    late_by = (resolved - deadline) if on_time is False else None
    return Timing(case.created_at, resolved, deadline, taken, on_time, late_by)


def _event_label(event: CaseEvent, units: dict[str, str]) -> Text:
    d = event.detail or {}
    unit = units.get(str(d.get("unit")), d.get("unit_name") or "—")
    kind = event.kind
    if kind == "assigned":
        return t("Assigned to %(unit)s", unit=unit)
    if kind == "escalated":
        return t("Escalated to %(unit)s", unit=unit)
    if kind == "resolved":
        return t("Resolution recorded")
    if kind == "published":
        return t("Resolution published")
    if kind == "feedback":
        return t("A citizen rated the resolution: satisfied") if d.get("satisfied") else t(
            "A citizen rated the resolution: not resolved")
    if kind == "reopened":
        return t("Reopened: a citizen says it is not resolved")
    if kind == "merged":
        return t("Merged into %(code)s", code=d.get("into", "—"))
    if kind == "merged_from":
        return t("A duplicate report was merged into this one")
    return t("Closed")
