"""The administrative hierarchy: finding units, their ancestors, and who holds which role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import AdminUnit, Category, User, UserRole

PLACE_KINDS = {"province", "district", "commune", "ward", "special_zone"}
BODY_KINDS = {"committee", "department", "police", "centre"}


class UnitDirectory:
    """Read-only questions about units and the people in them."""

    def __init__(self, session: Session):
        self.session = session

    def by_code(self, code: str) -> AdminUnit | None:
        """The unit with this code, or None (remembered for the life of the session)."""
        cache = self.session.info.setdefault("ioc_unit_by_code", {})
        if code not in cache:
            cache[code] = self.session.scalar(select(AdminUnit).where(AdminUnit.code == code))
        return cache[code]

    def current(self, unit: AdminUnit) -> AdminUnit:
        """The unit that stands for `unit` today: itself, or the successor of a merged or dissolved unit.

        Running processes keep the unit codes they were started with (routing outputs, the place);
        following the successor sends their next tasks and notices to the unit that exists now.
        """
        seen = {unit.id}
        while not unit.active and unit.successor is not None and unit.successor.id not in seen:
            unit = unit.successor
            seen.add(unit.id)
        return unit

    def ancestors(self, unit: AdminUnit) -> list[AdminUnit]:
        """Parents of a unit, nearest first (any depth: commune → district → province)."""
        chain, seen = [], {unit.id}
        current = unit.parent
        while current is not None and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = current.parent
        return chain

    def descendant_ids(self, unit: AdminUnit) -> list[int]:
        """Ids of a unit and every unit below it."""
        ids, frontier = [unit.id], [unit.id]
        while frontier:
            frontier = list(self.session.scalars(select(AdminUnit.id).where(AdminUnit.parent_id.in_(frontier))))
            ids.extend(frontier)
        return ids

    def committee_of(self, place: AdminUnit) -> AdminUnit:
        """The People's Committee that governs a place (itself when it has none recorded)."""
        committee = self.session.scalar(select(AdminUnit).where(AdminUnit.parent_id == place.id,
                                                                AdminUnit.kind == "committee"))
        return committee or place

    def upper_unit(self, unit: AdminUnit, category: Category | None) -> AdminUnit:
        """The body one administrative level above `unit` that takes an escalated case.

        A commune's case goes up to the province, where the department of its field
        answers (the committee when the field has none); a provincial body's case goes
        to the provincial committee.
        """
        parent = unit.parent
        if unit.kind in BODY_KINDS or parent is None:
            province = parent if parent is not None and parent.kind in PLACE_KINDS else unit
            committee = self.committee_of(province)
            return committee if committee.id != unit.id else unit
        if parent.kind == "province":
            department = self.session.get(AdminUnit, category.department_id) if category and category.department_id else None
            if department is not None and department.id != unit.id:
                return department
            return self.committee_of(parent)
        return parent

    def holders(self, role: str, units: list[AdminUnit]) -> list[User]:
        """Active users holding `role` in any of `units`."""
        if not units:
            return []
        cache = self.session.info.setdefault("ioc_holders", {})
        key = (role, tuple(sorted(u.id for u in units)))
        if key not in cache:
            cache[key] = self._holders(role, units)
        return cache[key]

    def _holders(self, role: str, units: list[AdminUnit]) -> list[User]:
        return list(self.session.scalars(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, UserRole.unit_id.in_([u.id for u in units]), User.active.is_(True))
            .order_by(User.id).distinct()
        ))
