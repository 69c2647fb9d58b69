"""The 1022 hotline: a caller's earlier cases, the duplicate check, and turning a call into a case.

The operator classifies the call while talking, so a call opens a `hotline` case whose process
(bpmn/hotline_call.bpmn) has no triage: an information request is closed at once as answered on
the phone; a report is routed, handled, called back and published.

A call about a case that is already open ("this is the same case") opens nothing new: it is
recorded in that case's history (who took it, what the caller said, names and numbers masked), so
the unit sees that more people are affected, and the operator reads the existing code to the caller.
The caller's number is not kept there: a case has one reporter, and the callback goes to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import t
from workflows.access import Actor
from workflows.case_service import CaseService, IntakeRequest, Receipt, phone_key
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.models import AdminUnit, Case, CaseEvent, Category, Reporter
from workflows.nearby import OPEN_STATUSES, open_cases_in, open_cases_near
from workflows.questions import parse_questions
from workflows.redaction import redact
from workflows.units import PLACE_KINDS, UnitDirectory

CALL_KINDS = ("report", "information")
# A caller's history is looked up from this many digits on (a shorter prefix matches too many people).
HISTORY_MIN_DIGITS = 8
HISTORY_MAX = 20
DUPLICATE_METRES = 300
DUPLICATES_MAX = 10
TITLE_MAX = 80
DESCRIPTION_MAX = 10_000


@dataclass(frozen=True)
class Call:
    """What the operator typed during a call."""

    phone: str
    category: str
    place: str
    description: str
    kind: str = "report"  # report, or information (answered on the phone)
    priority: str | None = None  # None: the category's usual priority
    caller_name: str = ""
    address: str = ""
    title: str = ""  # made from the description when left out
    lat: float | None = None
    lon: float | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None  # the console form's id: the same call sent twice opens one case


@dataclass(frozen=True)
class CallerCase:
    """One of the caller's earlier cases."""

    code: str
    status: str
    category: str
    title: str
    created_at: datetime
    phone: str
    channel: str


@dataclass(frozen=True)
class Duplicate:
    """An open case that may be the one the caller is talking about."""

    code: str
    title: str
    status: str
    place: str
    created_at: datetime
    metres: int | None  # None: found by its commune or ward, not by distance


class HotlineService:
    """The operator's console: history by phone, duplicates, taking and linking calls."""

    def __init__(self, session: Session, cases: CaseService, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.cases = cases
        self.clock = clock

    # ------------------------------------------------------------------ look-ups
    def history(self, actor: Actor, phone: str, lang: str = "vi") -> list[CallerCase]:
        """Cases reported from this number (or numbers starting with these digits), newest first."""
        key = phone_key(phone)
        if len(key) < HISTORY_MIN_DIGITS:
            return []
        # A range on the indexed key rather than LIKE: digits compare the same under every collation,
        # and PostgreSQL uses a plain b-tree index for it.
        conditions = [Reporter.phone_key >= key]
        if above := _successor(key):
            conditions.append(Reporter.phone_key < above)
        if not actor.is_admin:
            scope = sorted(actor.scope_ids)
            conditions.append(or_(Case.responsible_unit_id.in_(scope), Case.admin_unit_id.in_(scope)))
        rows = self.session.execute(
            select(Case.code, Case.status, Category.name, Category.name_en, Case.title, Case.created_at,
                   Reporter.phone, Case.channel)
            .join(Reporter, Reporter.case_id == Case.id).join(Category, Category.code == Case.category_code)
            .where(and_(*conditions)).order_by(Case.created_at.desc(), Case.id.desc()).limit(HISTORY_MAX)).all()
        return [CallerCase(code, status, _named(name, name_en, lang), title, created, phone_, channel)
                for code, status, name, name_en, title, created, phone_, channel in rows]

    def duplicates(self, actor: Actor, category: str, place: str, lat: float | None = None,
                   lon: float | None = None, lang: str = "vi") -> list[Duplicate]:
        """Open cases of the category in the same commune or ward, or within ~300 m of the point."""
        cat = self.session.get(Category, category) if category else None
        unit = self._place(place)
        errors = {}
        if cat is None or not cat.active:
            errors["category"] = t("choose one of the listed categories")
        if unit is None:
            errors["place"] = t("choose the commune or ward where it happened")
        if errors:
            raise IntakeError(errors)
        scope = None if actor.is_admin else actor.scope_ids
        found = {}
        if lat is not None and lon is not None:
            for near in open_cases_near(self.session, cat.code, lat, lon, DUPLICATE_METRES, scope_ids=scope,
                                        limit=DUPLICATES_MAX):
                found[near.id] = near
        for inside in open_cases_in(self.session, cat.code, unit.id, limit=DUPLICATES_MAX):
            if actor.is_admin or actor.sees_unit(inside.admin_unit_id):
                found.setdefault(inside.id, inside)
        places = self._place_names({n.admin_unit_id for n in found.values()}, lang)
        return [Duplicate(n.code, n.title, n.status, places.get(n.admin_unit_id, ""), n.created_at, n.metres)
                for n in list(found.values())[:DUPLICATES_MAX]]

    def questions(self, lang: str = "vi") -> dict[str, list[dict[str, Any]]]:
        """Every active category's extra questions as form fields in `lang` (the console shows the chosen one's)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for code, raw in self.session.execute(select(Category.code, Category.questions)
                                              .where(Category.active.is_(True))):
            try:
                questions = parse_questions(raw)
            except ValueError:  # broken questions: the category asks none rather than breaking the console
                questions = []
            out[code] = [{"name": q.name, "label": q.label_in(lang), "type": q.type, "required": q.required,
                          "choices": q.choices_in(lang)} for q in questions]
        return out

    # ------------------------------------------------------------------ calls
    def take_call(self, actor: Actor, call: Call) -> Receipt:
        """Open a hotline case for the call; an information request is closed at once as answered."""
        errors: dict[str, Any] = {}
        if not phone_key(call.phone):
            errors["phone"] = t("write the caller's phone number, such as 0912 345 678")
        description = (call.description or "").strip()
        if not description:
            errors["description"] = t("write what the caller reports or asks")
        elif len(description) > DESCRIPTION_MAX:
            errors["description"] = t("at most 10,000 characters; shorten it")
        request = IntakeRequest(
            channel="hotline", source="hotline", category=call.category, admin_unit=call.place,
            title=(call.title or "").strip() or make_title(description), description=description,
            address=call.address, lat=call.lat, lon=call.lon, reporter_name=call.caller_name,
            reporter_phone=call.phone, answers=dict(call.answers), priority=call.priority or None,
            idempotency_key=f"hotline:{call.call_id}"[:120] if call.call_id else None,
            process_data={"call_kind": call.kind})
        # Every message in one answer, under the console's names for the intake's fields.
        errors = {**{_FIELD_NAMES.get(k, k): v for k, v in self.cases.problems(request).items()}, **errors}
        if call.kind not in CALL_KINDS:
            errors["kind"] = t("choose a report or an information request")
        if errors:
            raise IntakeError(errors)
        try:
            return self.cases.intake_receipt(request)
        except IntakeError as exc:
            raise IntakeError({_FIELD_NAMES.get(k, k): v for k, v in exc.fields.items()}) from None

    def link_call(self, actor: Actor, code: str, note: str = "", caller_name: str = "") -> Case:
        """Record a call about an open case ("this is the same case") in that case's history."""
        case = self.session.scalar(select(Case).where(Case.code == (code or "").strip().upper())) if code else None
        if case is None:
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=code))
        if not actor.is_official or not actor.sees_case(case):
            raise AccessDeniedError(t("case %(code)s belongs to a unit outside your view", code=case.code))
        if case.status not in OPEN_STATUSES or case.merged_into_id is not None:
            raise IntakeError({"link": t("case %(code)s is no longer open; take the call as a new case",
                                         code=case.code)})
        if len(note or "") > DESCRIPTION_MAX:
            raise IntakeError({"description": t("at most 10,000 characters; shorten it")})
        names = [caller_name] if caller_name.strip() else []
        now = self.clock.now()
        try:
            self.session.add(CaseEvent(case_id=case.id, at=now, kind="hotline_call", actor=actor.username,
                                       public=False, detail={"note": redact((note or "").strip(), names)[:2000]}))
            case.updated_at = now
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return case

    # ------------------------------------------------------------------ helpers
    def _place(self, code: str) -> AdminUnit | None:
        unit = UnitDirectory(self.session).by_code(code) if code else None
        return unit if unit is not None and unit.kind in PLACE_KINDS and unit.active else None

    def _place_names(self, ids: set[int], lang: str) -> dict[int, str]:
        if not ids:
            return {}
        rows = self.session.execute(select(AdminUnit.id, AdminUnit.name, AdminUnit.name_en)
                                    .where(AdminUnit.id.in_(sorted(ids))))
        return {unit_id: _named(name, name_en, lang) for unit_id, name, name_en in rows}


# Intake's field names → the console's (so each message lands beside its input).
_FIELD_NAMES = {"admin_unit": "place", "reporter_phone": "phone", "reporter_name": "caller_name",
                "call_kind": "kind", "title": "description"}  # the title is made from the description


def make_title(description: str) -> str:
    """A case title from the first line of what the caller said (cut at a word, at most 80 characters)."""
    line = " ".join(description.strip().splitlines()[0].split()) if description.strip() else ""
    if len(line) <= TITLE_MAX:
        return line
    cut = line[:TITLE_MAX - 1].rsplit(" ", 1)[0] or line[:TITLE_MAX - 1]
    return cut.rstrip(" ,.;:") + "…"


def _successor(digits: str) -> str:
    """The smallest digit string above every string starting with `digits` ("0919" → "092"; "999" → "")."""
    stripped = digits.rstrip("9")
    return stripped[:-1] + str(int(stripped[-1]) + 1) if stripped else ""


def _named(name: str, name_en: str, lang: str) -> str:
    return name_en if lang == "en" and name_en else name
