"""Officials' task lists and what they do with a task: claim, release, reassign, complete.

Every list is one indexed query over the human-task index joined to the case by its
code, plus one count per tab; nothing here deserialises a workflow. Filters test the case
fields copied onto each task (HumanTask.case_*), so they are index conditions, not one case
look-up per queued task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Bundle, Session, aliased, joinedload

from engine.clock import SYSTEM_CLOCK, Clock
from engine.forms import BoundSources
from engine.i18n import Named, t
from engine.models import HumanTask
from workflows.access import Actor
from workflows.calendar.store import due_soon_until
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.models import (
    CHANNEL_PREFIX,
    PRIORITIES,
    PRIORITY_RANK,
    AdminUnit,
    Case,
    Category,
    SavedFilter,
    User,
    UserRole,
)
from workflows.review import ReviewContext, review_context

TABS = ("mine", "unit", "overdue", "due_soon", "done")
SORTS = ("due", "newest", "priority")
CASE_STATUSES = ("received", "in_progress", "escalated", "returned", "resolved", "published", "reopened",
                 "closed", "rejected", "merged")
DONE_WINDOW = timedelta(days=30)
PAGE_SIZE = 50
# Counting a tab stops here: an exact "18,236" costs a scan of the queue and helps nobody.
COUNT_CAP = 1000
# A form field named after one of these starts with the case's current value (triage's priority and category).
_CASE_VALUES = {"priority": Case.priority, "category": Case.category_code}


# What a list row reads of a task: plain columns, not the mapped object with its form JSON.
_ROW_COLUMNS = Bundle("task", HumanTask.id, HumanTask.title, HumanTask.title_en, HumanTask.element_id, HumanTask.candidate_role,
                      HumanTask.candidate_unit, HumanTask.assignee, HumanTask.state, HumanTask.due_at,
                      HumanTask.created_at, HumanTask.completed_at)


@dataclass(frozen=True)
class TaskFilter:
    """What an official narrows a task list to; every field optional."""

    channel: str | None = None
    category: str | None = None
    place: str | None = None  # a unit code: cases located in it or below it
    priority: str | None = None
    status: str | None = None
    date_from: date | None = None  # cases received on or after (local date)
    date_to: date | None = None  # … on or before
    q: str | None = None  # a case code or words of its title

    FIELDS = ("channel", "category", "place", "priority", "status", "date_from", "date_to", "q")

    @classmethod
    def parse(cls, args: dict[str, Any]) -> TaskFilter:
        """A filter from query arguments, or IntakeError naming each argument to fix."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name in cls.FIELDS:
            raw = args.get(name)
            raw = raw.strip() if isinstance(raw, str) else raw
            if raw in (None, ""):
                continue
            if isinstance(raw, str) and "\x00" in raw:  # PostgreSQL refuses NUL in text
                errors[name] = t("contains a character that is not allowed; retype it")
            elif name == "channel" and raw not in CHANNEL_PREFIX:
                errors[name] = t("must be one of: %(choices)s", choices=", ".join(CHANNEL_PREFIX))
            elif name == "priority" and raw not in PRIORITIES:
                errors[name] = t("must be one of: %(choices)s", choices=", ".join(PRIORITIES))
            elif name == "status" and raw not in CASE_STATUSES:
                errors[name] = t("must be one of: %(choices)s", choices=", ".join(CASE_STATUSES))
            elif name in ("date_from", "date_to"):
                try:
                    day = date.fromisoformat(str(raw))
                except ValueError:
                    errors[name] = t("must be a date like 2026-11-25")
                else:
                    # Far dates would overflow the day arithmetic (and mean nothing here).
                    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
                        errors[name] = t("must be a date between 1900 and 2999")
                    values[name] = day
                continue
            elif name in ("category", "place", "q") and len(str(raw)) > 120:
                errors[name] = t("is longer than %(max)s characters; shorten it", max=120)
            values[name] = str(raw)
        if errors:
            raise IntakeError(errors)
        return cls(**values)

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments (what a saved filter stores)."""
        return {name: str(getattr(self, name)) for name in self.FIELDS if getattr(self, name) not in (None, "")}

    @property
    def empty(self) -> bool:
        """True when nothing narrows the list."""
        return not self.as_args()


@dataclass(frozen=True)
class TaskRow:
    """One line of a task list."""

    task_id: str
    title: Named | str  # shown with |tr: the element's name in the reader's language
    element_id: str
    case_id: int
    case_code: str
    case_title: str
    channel: str
    category: str
    category_en: str
    place: str
    priority: str
    case_status: str
    candidate_role: str | None
    candidate_unit: str | None
    assignee: str | None
    state: str
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    claimable: bool
    mine: bool
    place_en: str = ""  # the place's English name, shown in English lists


@dataclass(frozen=True)
class TaskPage:
    """A page of a tab, with the count of every tab under the same filter."""

    tab: str
    sort: str
    filter: TaskFilter
    rows: list[TaskRow]
    counts: dict[str, int]
    page: int
    pages: int
    now: datetime
    soon_until: datetime | None = None  # where "due soon" ends (workflows.calendar.store.due_soon_until)


@dataclass(frozen=True)
class TaskDetail:
    """An open or closed task with its form, and what the viewer may do with it."""

    row: TaskRow
    form: dict[str, Any]
    can_claim: bool
    can_release: bool
    can_complete: bool
    can_reassign: bool
    colleagues: list[tuple[str, str]] = field(default_factory=list)  # (username, full name) who may take it
    unit_name: Named | str = ""  # the candidate unit's name (shown with |tr)
    review: ReviewContext | None = None  # the head's review: the result under review, or the refused results' notes
    # The options of each choice@list field (value, label), from the live list in the reader's language.
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # What the form starts with: the case's current values of the fields named after them (priority, category).
    initial: dict[str, str] = field(default_factory=dict)


class TaskService:
    """Task lists and task actions for officials; every method checks the actor's roles and units."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, cases: Any = None, instances: Any = None,
                 timezone: str = "Asia/Ho_Chi_Minh"):
        self.session = session
        self.clock = clock
        self.zone = ZoneInfo(timezone)  # the local day of date filters
        self.cases = cases  # CaseService, for completion (one transaction per step)
        self.instances = instances  # InstanceService, for claim / release / reassign

    # ------------------------------------------------------------------ lists
    def page(self, actor: Actor, tab: str = "mine", flt: TaskFilter | None = None, sort: str = "due",
             page: int = 1) -> TaskPage:
        """One page of a tab of the actor's task list, and the counts of every tab."""
        flt = flt or TaskFilter()
        if tab not in TABS:
            raise IntakeError({"tab": t("must be one of: %(choices)s", choices=", ".join(TABS))})
        if sort not in SORTS:
            raise IntakeError({"sort": t("must be one of: %(choices)s", choices=", ".join(SORTS))})
        now = self.clock.now()
        conditions = self.task_conditions(flt)
        counts = self._counts(actor, flt, conditions, now)
        pages = max(1, -(-counts[tab] // PAGE_SIZE))
        page = min(max(1, page), pages)
        query = self._select_rows(_ROW_COLUMNS).where(*self._tab_conditions(actor, tab, now), *conditions)
        query = query.order_by(*self._order(tab, sort)).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        rows = [self._row(actor, r) for r in self.session.execute(query)]
        return TaskPage(tab, sort, flt, rows, counts, page, pages, now, due_soon_until(self.session, now))

    def detail(self, actor: Actor, task_id: str, language: str = "vi") -> TaskDetail:
        """A task the actor may see, with its form (its lists in `language`) and the actions open to them."""
        result = self.session.execute(self._select_rows().where(HumanTask.id == task_id)).first()
        if result is None:
            raise CaseNotFoundError(t("no task %(task)s; check the task id", task=task_id))
        row = self._row(actor, result)
        if not self._visible(actor, row):
            raise AccessDeniedError(t("this task belongs to a unit outside your view"))
        task = result[0]
        is_open = row.state == "open"
        can_reassign = is_open and self._heads(actor, row.candidate_unit)
        colleagues = self._colleagues(row.candidate_role, row.candidate_unit) if can_reassign else []
        form = task.form or {}
        return TaskDetail(row=row, form=form, can_claim=row.claimable,
                          can_release=is_open and row.assignee is not None and (row.mine or can_reassign),
                          can_complete=is_open and (row.mine or row.claimable),
                          can_reassign=can_reassign, colleagues=colleagues,
                          unit_name=self._unit_name(row.candidate_unit),
                          review=review_context(self.session, row.case_code, form) if is_open else None,
                          **(self._form_start(form, row, language) if row.state == "open" else {}))

    def _unit_name(self, code: str | None) -> Named | str:
        """A unit's name in both languages (shown with |tr), or its code when it is not known."""
        names = self.session.execute(select(AdminUnit.name, AdminUnit.name_en).where(AdminUnit.code == code)).first()
        return Named(names[0], names[1]) if names else (code or "")

    def _form_start(self, form: dict[str, Any], row: TaskRow, language: str) -> dict[str, Any]:
        """The options of the form's list fields and the case values it starts with."""
        fields = form.get("fields", [])
        lists = BoundSources(self.instances.registry.lists, self.session) if self.instances is not None else None
        options = {f["name"]: lists.options(f["source"], language) for f in fields if f.get("source") and lists}
        names = {f["name"] for f in fields} & set(_CASE_VALUES)
        initial: dict[str, str] = {}
        if names:
            values = self.session.execute(select(*(_CASE_VALUES[n] for n in sorted(names)))
                                          .where(Case.id == row.case_id)).first()
            initial = {n: v for n, v in zip(sorted(names), values or (), strict=False) if v}
        return {"options": options, "initial": initial}

    def case_tasks(self, case_code: str) -> list[HumanTask]:
        """Every task of a case, newest first (the case page shows them)."""
        return list(self.session.scalars(select(HumanTask).where(HumanTask.business_key == case_code)
                                          .order_by(HumanTask.created_at.desc())))

    # ------------------------------------------------------------------ actions
    def claim(self, actor: Actor, task_id: str) -> None:
        """Take a task of one's unit for oneself."""
        detail = self.detail(actor, task_id)
        if not detail.can_claim and not detail.row.mine:
            raise AccessDeniedError(self._why_not(detail.row, actor))
        self._commit(lambda: self.instances.claim(task_id, actor.username))

    def release(self, actor: Actor, task_id: str) -> None:
        """Give a held task back to the unit's queue (its holder, or the unit head)."""
        detail = self.detail(actor, task_id)
        if not detail.can_release:
            raise AccessDeniedError(t("only the official holding this task or the unit head can release it"))
        self._commit(lambda: self.instances.release(task_id, actor.username))

    def reassign(self, actor: Actor, task_id: str, username: str) -> None:
        """Give a task to a colleague who holds its role in its unit (unit heads only)."""
        detail = self.detail(actor, task_id)
        if not detail.can_reassign:
            raise AccessDeniedError(t("only the head of the task's unit can reassign it"))
        if username not in {name for name, _ in detail.colleagues}:
            raise IntakeError({"assignee": t("%(user)s does not hold this task's role in its unit; choose a colleague"
                                             " from the list", user=username)})
        self._commit(lambda: self.instances.reassign(task_id, username, actor.username))

    def complete(self, actor: Actor, task_id: str, data: dict[str, Any]) -> None:
        """Complete a task with its form's data (claiming it first when it is free)."""
        detail = self.detail(actor, task_id)
        if not detail.can_complete:
            raise AccessDeniedError(self._why_not(detail.row, actor))
        self.cases.complete_task(task_id, data, actor=actor.username)

    # ------------------------------------------------------------------ saved filters
    def saved_filters(self, actor: Actor) -> list[SavedFilter]:
        """The filters saved in the actor's units (shared with everyone there)."""
        unit_ids = self._own_unit_ids(actor)
        if not unit_ids:
            return []
        # The page names each filter's owner: loaded with the filters, not one query per filter.
        return list(self.session.scalars(select(SavedFilter).where(SavedFilter.unit_id.in_(unit_ids))
                                         .options(joinedload(SavedFilter.owner)).order_by(SavedFilter.name)))

    def save_filter(self, actor: Actor, name: str, flt: TaskFilter) -> SavedFilter:
        """Save a filter under a name for the actor's unit (the same name replaces it)."""
        name = (name or "").strip()
        if not name or len(name) > 80:
            raise IntakeError({"name": t("give the filter a name of 1 to 80 characters")})
        if flt.empty:
            raise IntakeError({"name": t("choose at least one filter before saving it")})
        if actor.unit_id is None or actor.unit_id not in self._own_unit_ids(actor):
            raise AccessDeniedError(t("only officials of a unit can share filters with it"))
        row = self.session.scalar(select(SavedFilter).where(SavedFilter.unit_id == actor.unit_id,
                                                            SavedFilter.name == name))
        if row is None:
            row = SavedFilter(unit_id=actor.unit_id, owner_id=actor.user_id, name=name, created_at=self.clock.now())
            self.session.add(row)
        row.query = flt.as_args()
        self.session.commit()
        return row

    def delete_filter(self, actor: Actor, filter_id: int) -> None:
        """Delete a saved filter of one's unit."""
        row = self.session.get(SavedFilter, filter_id)
        if row is None or row.unit_id not in self._own_unit_ids(actor):
            raise CaseNotFoundError(t("no saved filter %(id)s in your unit", id=filter_id))
        self.session.delete(row)
        self.session.commit()

    # ------------------------------------------------------------------ internals
    def _select_rows(self, task: Any = HumanTask):
        place = aliased(AdminUnit)
        return (select(task, Case.id, Case.code, Case.title, Case.channel, Category.name, Category.name_en,
                       place.name, Case.priority, Case.status, place.name_en)
                .join(Case, Case.code == HumanTask.business_key)
                .join(Category, Category.code == Case.category_code)
                .join(place, place.id == Case.admin_unit_id))

    def _row(self, actor: Actor, r) -> TaskRow:
        task = r[0]
        claimable = (task.state == "open" and task.assignee is None
                     and actor.holds(task.candidate_role or "", task.candidate_unit))
        return TaskRow(task_id=task.id, title=Named(task.title, task.title_en), element_id=task.element_id,
                       case_id=r[1], case_code=r[2],
                       case_title=r[3], channel=r[4], category=r[5], category_en=r[6], place=r[7], priority=r[8],
                       case_status=r[9], candidate_role=task.candidate_role, candidate_unit=task.candidate_unit,
                       assignee=task.assignee, state=task.state, due_at=task.due_at, created_at=task.created_at,
                       completed_at=task.completed_at, claimable=claimable, mine=task.assignee == actor.username,
                       place_en=r[10] or "")

    def _tab_conditions(self, actor: Actor, tab: str, now: datetime) -> list:
        open_ = HumanTask.state == "open"
        if tab == "mine":
            return [HumanTask.assignee == actor.username, open_]
        if tab == "unit":
            return [open_, HumanTask.candidate_unit.in_(sorted(actor.own_unit_codes))]
        if tab == "overdue":
            return [open_, HumanTask.candidate_unit.in_(sorted(actor.scope_codes)), HumanTask.due_at < now]
        if tab == "due_soon":
            return [open_, HumanTask.candidate_unit.in_(sorted(actor.scope_codes)), HumanTask.due_at >= now,
                    HumanTask.due_at < due_soon_until(self.session, now)]
        # Only a completion sets completed_by: no state test, so the count reads the index alone.
        return [HumanTask.completed_by == actor.username, HumanTask.completed_at >= now - DONE_WINDOW]

    def _order(self, tab: str, sort: str) -> list:
        if tab == "done":
            return [HumanTask.completed_at.desc(), HumanTask.id]
        if sort == "newest":
            return [HumanTask.created_at.desc(), HumanTask.id]
        # NULLS LAST, not a CASE on due_at: the open-tasks index (due_at) then yields the page in
        # order, instead of the whole tab being read and sorted (docs/BENCHMARKS.md).
        if sort == "priority":
            return [HumanTask.case_priority_rank, HumanTask.due_at.asc().nulls_last(), HumanTask.id]
        return [HumanTask.due_at.asc().nulls_last(), HumanTask.id]

    def _counts(self, actor: Actor, flt: TaskFilter, conditions: list, now: datetime) -> dict[str, int]:
        """How many tasks each tab holds, counted up to COUNT_CAP + 1 (shown as "1000+"), in one statement."""
        counts = []
        for tab in TABS:
            rows = select(HumanTask.id)
            if flt.status:  # the one filter on what changes after intake: the case's own status
                rows = rows.join(Case, Case.code == HumanTask.business_key)
            rows = rows.where(*self._tab_conditions(actor, tab, now), *conditions).limit(COUNT_CAP + 1).subquery()
            counts.append(select(func.count()).select_from(rows).scalar_subquery().label(tab))
        return {tab: n or 0 for tab, n in self.session.execute(select(*counts)).one()._mapping.items()}

    def task_conditions(self, flt: TaskFilter) -> list:
        """SQL conditions on the tasks for a filter: the case fields copied onto them, the status on Case."""
        return self._conditions(
            flt, channel=HumanTask.case_channel, category=HumanTask.case_category, status=Case.status,
            place=HumanTask.case_place_id, received=HumanTask.case_received_at, code=HumanTask.business_key,
            priority=lambda p: HumanTask.case_priority_rank == PRIORITY_RANK[p],
            words=lambda w: HumanTask.case_title_lower.like(f"%{_escape_like(w.lower())}%", escape="\\"))

    def case_conditions(self, flt: TaskFilter) -> list:
        """SQL conditions on Case for a filter (the case list reuses them: filters mean the same)."""
        return self._conditions(
            flt, channel=Case.channel, category=Case.category_code, status=Case.status, place=Case.admin_unit_id,
            received=Case.created_at, code=Case.code, priority=lambda p: Case.priority == p,
            words=lambda w: Case.title.ilike(f"%{_escape_like(w)}%", escape="\\"))

    def _conditions(self, flt: TaskFilter, channel, category, status, place, received, code,
                    priority: Callable[[str], Any], words: Callable[[str], Any]) -> list:
        conditions: list = []
        if flt.channel:
            conditions.append(channel == flt.channel)
        if flt.category:
            conditions.append(category == flt.category)
        if flt.priority:
            conditions.append(priority(flt.priority))
        if flt.status:
            conditions.append(status == flt.status)
        if flt.place:
            conditions.append(place.in_(self._place_ids(flt.place)))
        zone = self.zone
        if flt.date_from:
            conditions.append(received >= datetime.combine(flt.date_from, time.min, zone))
        if flt.date_to:
            conditions.append(received < datetime.combine(flt.date_to + timedelta(days=1), time.min, zone))
        if flt.q:
            text = flt.q.strip()
            conditions.append(code == text.upper() if text.upper().startswith(tuple(CHANNEL_PREFIX.values()))
                              else words(text))
        return conditions

    def _place_ids(self, code: str) -> list[int]:
        root = self.session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))
        if root is None:
            raise IntakeError({"place": t("no place %(code)s; choose one from the list", code=code)})
        ids, frontier = [root], [root]
        while frontier:
            frontier = list(self.session.scalars(select(AdminUnit.id).where(AdminUnit.parent_id.in_(frontier))))
            ids.extend(frontier)
        return ids

    def _visible(self, actor: Actor, row: TaskRow) -> bool:
        return (row.assignee == actor.username or row.candidate_unit in actor.scope_codes
                or (row.state != "open" and row.candidate_unit in actor.scope_codes))

    def _heads(self, actor: Actor, unit_code: str | None) -> bool:
        return actor.is_admin or actor.holds("unit_head", unit_code)

    def _colleagues(self, role: str | None, unit_code: str | None) -> list[tuple[str, str]]:
        if not role or not unit_code:
            return []
        rows = self.session.execute(
            select(User.username, User.full_name).join(UserRole, UserRole.user_id == User.id)
            .join(AdminUnit, AdminUnit.id == UserRole.unit_id)
            .where(UserRole.role == role, AdminUnit.code == unit_code, User.active.is_(True))
            .order_by(User.full_name)).all()
        return [(username, name) for username, name in rows]

    def _own_unit_ids(self, actor: Actor) -> list[int]:
        return sorted(actor.own_unit_ids)

    def _why_not(self, row: TaskRow, actor: Actor) -> str:
        if row.state != "open":
            return t("task %(task)s is already %(state)s; reload the task list", task=row.task_id, state=t(row.state))
        if row.assignee and row.assignee != actor.username:
            return t("task %(task)s is held by %(assignee)s or closed", task=row.task_id, assignee=row.assignee)
        return t("this task is for the role %(role)s of unit %(unit)s", role=row.candidate_role or "—",
                 unit=row.candidate_unit or "—")

    def _commit(self, work) -> None:
        try:
            work()
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise
        if self.cases is not None and self.cases.after_commit is not None:
            self.cases.after_commit()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

