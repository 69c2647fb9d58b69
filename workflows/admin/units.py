"""Administrative units over time: add, rename, merge or dissolve a unit from an effective date.

Vietnam reorganises its units (on 1 July 2025 districts were abolished and communes merged), so a
unit is never deleted: it gets `valid_to` and, when merged, a successor. From the effective day (a
local day in Asia/Ho_Chi_Minh) the open cases and tasks of an ended unit belong to its successor,
its children hang under the successor (merge) or its parent (dissolution), and its role bindings
move there or stay flagged for the administrator. Closed cases keep the old unit.

A change dated today or earlier is applied at once; a later one waits as a pending
`AdminUnitChange` until `apply_due` finds it due (the timer sweep asks every run, and applying is
idempotent: a change is applied once, under a row lock on PostgreSQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from engine.models import HumanTask, OutboxMessage
from workflows.admin.audit import Target, record, register_actions
from workflows.admin.unit_models import AdminUnitChange, AdminUnitPeriod
from workflows.errors import IntakeError
from workflows.models import AdminUnit, Case, CaseEvent, Category, SavedFilter, User, UserRole

# A case in one of these states is finished: it keeps the unit it had (history).
FINISHED_STATUSES = ("closed", "rejected", "merged", "cancelled")
UNIT_KINDS = ("province", "district", "commune", "ward", "special_zone",
              "committee", "department", "police", "centre")
KIND_LABELS: dict[str, Text] = {
    "province": t("province"), "district": t("district (abolished 2025)"), "commune": t("commune"),
    "ward": t("ward"), "special_zone": t("special zone"), "committee": t("People's Committee"),
    "department": t("department"), "police": t("police"), "centre": t("operations centre"),
}
CHANGE_LABELS: dict[str, Text] = {"add": t("added"), "rename": t("renamed"), "merge": t("merged into another unit"),
                                  "dissolve": t("dissolved")}
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,63}$")
# Session caches of units that a change makes stale (workflows/units.py, open311_service.py).
_UNIT_CACHES = ("ioc_unit_by_code", "ioc_holders", "ioc_open311_places", "ioc_open311_units")

register_actions({"unit.add": t("add unit"), "unit.rename": t("rename unit"), "unit.merge": t("merge unit"),
                  "unit.dissolve": t("dissolve unit"), "unit.cancel_change": t("cancel a unit change")},
                 {"unit": t("administrative unit")})


class UnitChangeError(IntakeError):
    """A unit change is not acceptable; `fields` maps each field of the form to what to fix."""


@dataclass(frozen=True)
class NewUnit:
    """The add-a-unit form."""

    code: str
    name: str
    name_en: str = ""
    kind: str = "commune"
    parent: str = ""  # the parent's code, chosen from the live list
    effective_on: str | date = ""
    lat: str | float | None = None
    lon: str | float | None = None


@dataclass
class UnitNode:
    """One unit of the tree as the console shows it, with its dates, successor and pending changes."""

    unit: AdminUnit
    depth: int
    former_names: list[AdminUnitPeriod] = field(default_factory=list)
    pending: list[AdminUnitChange] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        """True once the unit no longer exists (merged or dissolved)."""
        return not self.unit.active and self.unit.valid_to is not None and not self.pending_add

    @property
    def pending_add(self) -> bool:
        """True for a unit added with a future date."""
        return any(c.kind == "add" for c in self.pending)


class UnitAdmin:
    """The administrator's changes to the unit tree (plain service over a session)."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, timezone: str = "Asia/Ho_Chi_Minh"):
        self.session = session
        self.clock = clock
        self.zone = ZoneInfo(timezone)

    def today(self) -> date:
        """Today in the centre's time zone: the day effective dates are compared with."""
        return self.clock.now().astimezone(self.zone).date()

    # ------------------------------------------------------------------ reading
    def tree(self) -> list[UnitNode]:
        """Every unit, ended ones included, parents before children (depth first, by name)."""
        units = list(self.session.scalars(select(AdminUnit).order_by(AdminUnit.name)))
        periods: dict[int, list[AdminUnitPeriod]] = {}
        for period in self.session.scalars(select(AdminUnitPeriod).order_by(AdminUnitPeriod.valid_to)):
            periods.setdefault(period.unit_id, []).append(period)
        pending: dict[int, list[AdminUnitChange]] = {}
        for change in self.pending_changes():
            pending.setdefault(change.unit_id, []).append(change)
        children: dict[int | None, list[AdminUnit]] = {}
        ids = {u.id for u in units}
        for unit in units:
            children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
        nodes: list[UnitNode] = []
        stack = [(u, 0) for u in reversed(children.get(None, []))]
        seen: set[int] = set()
        while stack:
            unit, depth = stack.pop()
            if unit.id in seen:
                continue
            seen.add(unit.id)
            nodes.append(UnitNode(unit, depth, periods.get(unit.id, []), pending.get(unit.id, [])))
            stack.extend((c, depth + 1) for c in reversed(children.get(unit.id, [])))
        return nodes

    def live_units(self, kinds: tuple[str, ...] | None = None) -> list[AdminUnit]:
        """Units valid now (the choices of every form), by name."""
        query = select(AdminUnit).where(AdminUnit.active.is_(True)).order_by(AdminUnit.name)
        if kinds:
            query = query.where(AdminUnit.kind.in_(kinds))
        return list(self.session.scalars(query))

    def pending_changes(self) -> list[AdminUnitChange]:
        """Changes waiting for their day, soonest first."""
        return list(self.session.scalars(select(AdminUnitChange).where(
            AdminUnitChange.applied_at.is_(None), AdminUnitChange.cancelled_at.is_(None))
            .order_by(AdminUnitChange.effective_on, AdminUnitChange.id)))

    def recent_changes(self, limit: int = 50) -> list[AdminUnitChange]:
        """Applied and pending changes, newest effective day first."""
        return list(self.session.scalars(select(AdminUnitChange).where(AdminUnitChange.cancelled_at.is_(None))
                                         .order_by(AdminUnitChange.effective_on.desc(), AdminUnitChange.id.desc())
                                         .limit(limit)))

    def flagged_bindings(self) -> list[UserRole]:
        """Role bindings left on units that no longer exist: the administrator should move or revoke them."""
        return list(self.session.scalars(
            select(UserRole).join(AdminUnit, AdminUnit.id == UserRole.unit_id)
            .join(User, User.id == UserRole.user_id)
            .where(AdminUnit.active.is_(False), AdminUnit.valid_to.is_not(None), User.active.is_(True))
            .order_by(AdminUnit.name, User.username)))

    def name_on(self, unit: AdminUnit, day: date) -> tuple[str, str]:
        """The unit's (name, English name) on `day`: a renamed unit keeps its old name for the period before."""
        period = self.session.scalar(select(AdminUnitPeriod).where(
            AdminUnitPeriod.unit_id == unit.id, AdminUnitPeriod.valid_to > day)
            .order_by(AdminUnitPeriod.valid_to).limit(1))
        if period is not None and (period.valid_from is None or period.valid_from <= day):
            return period.name, period.name_en
        return unit.name, unit.name_en

    # ------------------------------------------------------------------ changes
    def add(self, actor: Any, form: NewUnit) -> AdminUnit:
        """Add a unit under a live parent, valid from its effective day (at once when that day has come)."""
        errors: dict[str, Text] = {}
        code = form.code.strip().upper()
        if not _CODE.match(code):
            errors["code"] = t("write a code of 2 to 64 capital letters, digits and hyphens, such as X-EA-TIEU")
        elif self.session.scalar(select(AdminUnit.id).where(AdminUnit.code == code)) is not None:
            errors["code"] = t("the code %(code)s is taken; choose another", code=code)
        name, name_en = self._names(form.name, form.name_en, errors)
        if form.kind not in UNIT_KINDS:
            errors["kind"] = t("choose the kind of unit from the list")
        parent = None
        if form.parent:
            parent = self._live(form.parent, "parent", errors)
        elif form.kind != "province":
            errors["parent"] = t("choose the unit it belongs to from the list")
        lat, lon = _coordinate(form.lat, -90, 90, "lat", errors), _coordinate(form.lon, -180, 180, "lon", errors)
        day = self._day(form.effective_on, errors)
        if errors:
            raise UnitChangeError(errors)
        unit = AdminUnit(code=code, name=name, name_en=name_en, kind=form.kind, parent=parent, lat=lat, lon=lon,
                         valid_from=day, active=day <= self.today())
        self.session.add(unit)
        self.session.flush()
        change = AdminUnitChange(kind="add", unit_id=unit.id, effective_on=day, detail={"parent": form.parent},
                                 created_by=actor.username, created_at=self.clock.now())
        self.session.add(change)
        if unit.active:
            change.applied_at, change.result = self.clock.now(), {}
        record(self.session, actor, "unit.add", Target("unit", code, name), None, _state(unit), clock=self.clock)
        self._forget()
        self.session.commit()
        return unit

    def rename(self, actor: Any, code: str, name: str, name_en: str, effective_on: str | date) -> AdminUnitChange:
        """Rename a live unit from a day on; before that day it keeps its old name."""
        errors: dict[str, Text] = {}
        unit = self._live(code, "unit", errors)
        name, name_en = self._names(name, name_en, errors)
        day = self._day(effective_on, errors)
        if unit is not None and day is not None:
            since = self._name_since(unit)
            if since is not None and day <= since:
                errors["effective_on"] = t("the unit has had its current name since %(day)s; choose a later day",
                                           day=since.isoformat())
            if unit.valid_to is not None and day >= unit.valid_to:
                errors["effective_on"] = t("the unit ends on %(day)s; choose an earlier day", day=unit.valid_to.isoformat())
        if errors:
            raise UnitChangeError(errors)
        change = AdminUnitChange(kind="rename", unit_id=unit.id, effective_on=day,
                                 detail={"name": name, "name_en": name_en, "old_name": unit.name,
                                         "old_name_en": unit.name_en},
                                 created_by=actor.username, created_at=self.clock.now())
        return self._schedule(actor, "unit.rename", change, {"name": unit.name, "name_en": unit.name_en},
                              {"name": name, "name_en": name_en, "effective_on": day})

    def merge(self, actor: Any, code: str, successor: str, effective_on: str | date,
              move_roles: bool = True) -> AdminUnitChange:
        """Merge a unit into a live successor from a day on (at once when that day has come)."""
        return self._end(actor, "merge", code, successor, effective_on, move_roles)

    def dissolve(self, actor: Any, code: str, successor: str, effective_on: str | date,
                 move_roles: bool = True) -> AdminUnitChange:
        """Dissolve a unit from a day on: its children go to its parent, its open work to `successor` (or the parent)."""
        return self._end(actor, "dissolve", code, successor, effective_on, move_roles)

    def cancel(self, actor: Any, change_id: int) -> AdminUnitChange:
        """Withdraw a change that has not taken effect yet."""
        change = self.session.get(AdminUnitChange, change_id)
        if change is None or change.applied_at is not None or change.cancelled_at is not None:
            raise UnitChangeError({"change": t("that change is not waiting any more; reload the page")})
        unit = change.unit
        before = _state(unit)
        change.cancelled_at = self.clock.now()
        if change.kind in ("merge", "dissolve"):
            unit.valid_to, unit.successor = None, None
        elif change.kind == "add":  # a unit that never came to be: ended on the day it was to begin
            unit.valid_to = unit.valid_from
        record(self.session, actor, "unit.cancel_change", Target("unit", unit.code, unit.name), before,
               {**_state(unit), "cancelled": change.kind, "effective_on": change.effective_on}, clock=self.clock)
        self.session.commit()
        return change

    def apply_due(self) -> list[AdminUnitChange]:
        """Apply every pending change whose day has come (idempotent; safe with several sweepers)."""
        query = (select(AdminUnitChange).where(AdminUnitChange.applied_at.is_(None),
                                               AdminUnitChange.cancelled_at.is_(None),
                                               AdminUnitChange.effective_on <= self.today())
                 .order_by(AdminUnitChange.effective_on, AdminUnitChange.id))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        applied = []
        for change in self.session.scalars(query).all():
            self._apply(change)
            applied.append(change)
        if applied:
            self._forget()
        self.session.commit()
        return applied

    # ------------------------------------------------------------------ internals
    def _end(self, actor: Any, kind: str, code: str, successor_code: str, effective_on: str | date,
             move_roles: bool) -> AdminUnitChange:
        errors: dict[str, Text] = {}
        unit = self._live(code, "unit", errors)
        successor = None
        if successor_code:
            successor = self._live(successor_code, "successor", errors)
        elif kind == "merge":
            errors["successor"] = t("choose the unit it merges into from the list")
        elif unit is not None:
            successor = unit.parent
            if successor is None:
                errors["successor"] = t("a unit without a parent needs a unit to take over its open cases")
        day = self._day(effective_on, errors)
        if unit is not None and successor is not None:
            if successor.id == unit.id:
                errors["successor"] = t("a unit cannot merge into itself; choose another unit")
            elif successor.id in self._subtree(unit):
                errors["successor"] = t("%(unit)s lies inside the unit that ends; choose a unit outside it",
                                        unit=successor.name)
        if unit is not None and self._pending_end(unit) is not None:
            errors["unit"] = t("%(unit)s already has a merger or dissolution waiting; cancel it first", unit=unit.name)
        if unit is not None and day is not None:
            since = unit.valid_from or self._name_since(unit)
            if since is not None and day <= since:
                errors["effective_on"] = t("choose a day after %(day)s", day=since.isoformat())
        if errors:
            raise UnitChangeError(errors)
        change = AdminUnitChange(kind=kind, unit_id=unit.id, successor_id=successor.id, effective_on=day,
                                 detail={"move_roles": bool(move_roles), "successor": successor.code},
                                 created_by=actor.username, created_at=self.clock.now())
        before = _state(unit)
        unit.valid_to, unit.successor = day, successor  # the plan shows in the tree until it applies
        return self._schedule(actor, f"unit.{kind}", change, before,
                              {**_state(unit), "successor": successor.code, "move_roles": bool(move_roles)})

    def _schedule(self, actor: Any, action: str, change: AdminUnitChange, before: Any, after: Any) -> AdminUnitChange:
        self.session.add(change)
        self.session.flush()
        if change.effective_on <= self.today():
            self._apply(change)
            self._forget()
        unit = change.unit
        record(self.session, actor, action, Target("unit", unit.code, unit.name), before,
               {**after, **({"moved": change.result} if change.result else {})}, clock=self.clock)
        self.session.commit()
        return change

    def _apply(self, change: AdminUnitChange) -> None:
        unit, day, now = change.unit, change.effective_on, self.clock.now()
        result: dict[str, Any] = {}
        if change.kind == "add":
            unit.active = True
        elif change.kind == "rename":
            self.session.add(AdminUnitPeriod(unit_id=unit.id, valid_from=self._name_since(unit), valid_to=day,
                                             name=unit.name, name_en=unit.name_en, parent_id=unit.parent_id))
            unit.name, unit.name_en = change.detail["name"], change.detail.get("name_en", "")
        else:
            successor = change.successor
            new_parent = successor if change.kind == "merge" else unit.parent
            unit.active, unit.valid_to, unit.successor = False, day, successor
            result = self._move_work(unit, successor, day, now, change)
            children = list(self.session.scalars(select(AdminUnit).where(AdminUnit.parent_id == unit.id,
                                                                         AdminUnit.valid_to.is_(None))))
            for child in children:
                self.session.add(AdminUnitPeriod(unit_id=child.id, valid_from=self._name_since(child), valid_to=day,
                                                 name=child.name, name_en=child.name_en, parent_id=child.parent_id))
                child.parent = new_parent
            result["children"] = len(children)
        change.applied_at, change.result = now, result
        self.session.flush()

    def _move_work(self, unit: AdminUnit, successor: AdminUnit, day: date, now: datetime,
                   change: AdminUnitChange) -> dict[str, Any]:
        """Open cases and tasks of `unit` go to `successor`; role bindings move or stay flagged."""
        live = Case.status.not_in(FINISHED_STATUSES)
        cases = list(self.session.scalars(select(Case).where(
            live, (Case.responsible_unit_id == unit.id) | (Case.admin_unit_id == unit.id))))
        for case in cases:
            moved = {}
            if case.responsible_unit_id == unit.id:
                case.responsible_unit_id, moved["unit"] = successor.id, successor.code
            if case.admin_unit_id == unit.id:
                case.admin_unit_id, moved["place"] = successor.id, successor.code
            self.session.add(CaseEvent(case_id=case.id, at=now, kind="unit_succeeded", actor=change.created_by,
                                       public=False, detail={"from": unit.code, "from_name": unit.name,
                                                             "to": successor.code, "to_name": successor.name,
                                                             "change": change.kind, "on": day.isoformat(), **moved}))
        tasks = list(self.session.scalars(select(HumanTask).where(HumanTask.state == "open",
                                                                  HumanTask.candidate_unit == unit.code)))
        for task in tasks:
            task.candidate_unit = successor.code
            # The open task lists of both units change live (delivered after the commit, once each).
            for side, code in (("from", unit.code), ("to", successor.code)):
                self.session.add(OutboxMessage(
                    topic="task.assigned", created_at=now, dedupe_key=f"unit-change:{change.id}:{task.id}:{side}",
                    payload={"task_id": task.id, "business_key": task.business_key, "element_id": task.element_id,
                             "title": task.title, "role": task.candidate_role, "unit": code,
                             "assignee": task.assignee, "state": task.state}))
        self.session.execute(update(HumanTask).where(HumanTask.state == "open", HumanTask.case_place_id == unit.id)
                             .values(case_place_id=successor.id))
        self.session.execute(update(Category).where(Category.department_id == unit.id)
                             .values(department_id=successor.id))
        bindings = list(self.session.scalars(select(UserRole).where(UserRole.unit_id == unit.id)))
        moved_roles, flagged = 0, 0
        if change.detail.get("move_roles", True):
            held = {(r.user_id, r.role) for r in self.session.scalars(
                select(UserRole).where(UserRole.unit_id == successor.id))}
            for binding in bindings:
                if (binding.user_id, binding.role) in held:
                    self.session.delete(binding)  # they hold it there already
                else:
                    binding.unit_id = successor.id
                    held.add((binding.user_id, binding.role))
                moved_roles += 1
            self.session.execute(update(User).where(User.unit_id == unit.id).values(unit_id=successor.id))
            # The unit's saved task-list filters go with its people (a name the successor uses stays behind).
            taken = set(self.session.scalars(select(SavedFilter.name).where(SavedFilter.unit_id == successor.id)))
            self.session.execute(update(SavedFilter).where(SavedFilter.unit_id == unit.id,
                                                           SavedFilter.name.not_in(taken) if taken else true())
                                 .values(unit_id=successor.id))
        else:
            flagged = len(bindings)
        return {"cases": len(cases), "tasks": len(tasks), "roles_moved": moved_roles, "roles_flagged": flagged}

    def _live(self, code: str, name: str, errors: dict[str, Text]) -> AdminUnit | None:
        unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == str(code or "").strip().upper()))
        if unit is None or not unit.active:
            errors[name] = t("choose a unit that exists today from the list")
            return None
        return unit

    def _names(self, name: str, name_en: str, errors: dict[str, Text]) -> tuple[str, str]:
        name, name_en = (name or "").strip(), (name_en or "").strip()
        if not name:
            errors["name"] = t("write the unit's name in Vietnamese")
        elif len(name) > 255:
            errors["name"] = t("at most %(n)s characters; shorten it", n=255)
        if len(name_en) > 255:
            errors["name_en"] = t("at most %(n)s characters; shorten it", n=255)
        return name, name_en

    def _day(self, value: str | date, errors: dict[str, Text]) -> date | None:
        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors["effective_on"] = t("choose the day the change takes effect")
            return None
        if not 1900 < day.year < 2200:
            errors["effective_on"] = t("choose the day the change takes effect")
            return None
        return day

    def _name_since(self, unit: AdminUnit) -> date | None:
        """The day the unit's current name and parent took effect."""
        last = self.session.scalar(select(AdminUnitPeriod.valid_to).where(AdminUnitPeriod.unit_id == unit.id)
                                   .order_by(AdminUnitPeriod.valid_to.desc()).limit(1))
        return last or unit.valid_from

    def _pending_end(self, unit: AdminUnit) -> AdminUnitChange | None:
        return self.session.scalar(select(AdminUnitChange).where(
            AdminUnitChange.unit_id == unit.id, AdminUnitChange.kind.in_(("merge", "dissolve")),
            AdminUnitChange.applied_at.is_(None), AdminUnitChange.cancelled_at.is_(None)).limit(1))

    def _subtree(self, unit: AdminUnit) -> set[int]:
        ids, frontier = {unit.id}, [unit.id]
        while frontier:
            frontier = [i for i in self.session.scalars(select(AdminUnit.id).where(AdminUnit.parent_id.in_(frontier)))
                        if i not in ids]
            ids.update(frontier)
        return ids

    def _forget(self) -> None:
        for key in _UNIT_CACHES:
            self.session.info.pop(key, None)


def _coordinate(value: Any, low: float, high: float, name: str, errors: dict[str, Text]) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        errors[name] = t("write a number between %(low)s and %(high)s", low=low, high=high)
        return None
    return number


def _state(unit: AdminUnit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind,
            "parent": unit.parent.code if unit.parent is not None else None, "active": unit.active,
            "valid_from": unit.valid_from, "valid_to": unit.valid_to,
            "successor": unit.successor.code if unit.successor is not None else None}
