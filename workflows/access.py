"""Who may see and do what: roles bound to units, and the units each official's view covers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from workflows.models import AdminUnit, Case, User, UserRole

# Roles that work cases; citizens and designers see no case through the workspace.
OFFICIAL_ROLES = frozenset({"operator", "officer", "unit_head", "leader", "admin"})
# Who may open the designer's instance view of any case (read only).
INSTANCE_INSPECTORS = frozenset({"designer", "admin"})
# A role held in one of these bodies looks over the whole place the body serves:
# the operations centre watches the province, a People's Committee its commune or province.
PLACE_WIDE_KINDS = frozenset({"centre", "committee"})


@dataclass(frozen=True)
class Actor:
    """A signed-in user as the access rules see them: roles per unit, and the units in view."""

    user_id: int
    username: str
    full_name: str
    unit_id: int | None
    language: str | None
    bindings: frozenset[tuple[str, str]]  # (role, unit code) exactly as granted
    scope_ids: frozenset[int] = field(default_factory=frozenset)  # units whose cases and tasks are in view
    scope_codes: frozenset[str] = field(default_factory=frozenset)
    own_unit_ids: frozenset[int] = field(default_factory=frozenset)  # ids of own_unit_codes
    # Changes with the password: a session or remember-me cookie made before a new password stops working.
    session_stamp: str = ""

    @property
    def roles(self) -> frozenset[str]:
        """Every role the user holds, in any unit."""
        return frozenset(role for role, _ in self.bindings)

    def has_role(self, *roles: str) -> bool:
        """True if the user holds any of `roles` somewhere."""
        return bool(self.roles & set(roles))

    @property
    def is_official(self) -> bool:
        """True for the people who work cases."""
        return bool(self.roles & OFFICIAL_ROLES)

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return "admin" in self.roles

    @property
    def inspects_instances(self) -> bool:
        """True for process designers and administrators: the designer's instance view shows them any instance's
        diagram and step data, read only (designers see no case anywhere else)."""
        return bool(self.roles & INSTANCE_INSPECTORS)

    def holds(self, role: str, unit_code: str | None) -> bool:
        """True if the user holds `role` in exactly the unit `unit_code`."""
        return (role, unit_code) in self.bindings

    def units_with(self, *roles: str) -> frozenset[str]:
        """Codes of the units where the user holds any of `roles`."""
        return frozenset(code for role, code in self.bindings if role in roles)

    @property
    def own_unit_codes(self) -> frozenset[str]:
        """The units the user works in as an official (not the ones below)."""
        return self.units_with(*OFFICIAL_ROLES)

    def sees_unit(self, unit_id: int | None) -> bool:
        """True if unit `unit_id` is in the user's view."""
        return unit_id is not None and unit_id in self.scope_ids

    def sees_case(self, case: Case) -> bool:
        """True if the case is located in, or handled by, a unit in the user's view."""
        return self.sees_unit(case.responsible_unit_id) or self.sees_unit(case.admin_unit_id)


def session_stamp(password_hash: str | None) -> str:
    """A short digest of the password hash (argon2 salts it, so every new password changes it)."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


class AccessService:
    """Builds actors from the database (the unit tree is read once per call)."""

    def __init__(self, session: Session):
        self.session = session

    def actor(self, user_id: int) -> Actor | None:
        """The actor of an active user, or None."""
        # One query for the user, the roles and their units (every request of a signed-in user runs it).
        user = self.session.execute(select(User).where(User.id == user_id, User.active.is_(True))
                                    .options(joinedload(User.roles).joinedload(UserRole.unit))).unique().scalar()
        return self.actor_of(user) if user is not None else None

    def actor_of(self, user: User) -> Actor:
        """The actor of a loaded user."""
        bindings = frozenset((r.role, r.unit.code) for r in user.roles)
        roots: set[int] = set()
        every_unit = "admin" in {r.role for r in user.roles}
        for binding in user.roles:
            if binding.role not in OFFICIAL_ROLES:
                continue
            unit = binding.unit
            if unit.kind in PLACE_WIDE_KINDS and unit.parent_id is not None:
                roots.add(unit.parent_id)
            roots.add(unit.id)
        tree, codes = self._tree()
        scope: set[int] = set(tree) if every_unit else set()
        frontier = list(roots)
        while frontier:
            unit_id = frontier.pop()
            if unit_id not in scope:
                scope.add(unit_id)
                frontier.extend(tree.get(unit_id, ()))
        return Actor(user_id=user.id, username=user.username, full_name=user.full_name, unit_id=user.unit_id,
                     language=user.language, bindings=bindings, scope_ids=frozenset(scope),
                     scope_codes=frozenset(codes[i] for i in scope if i in codes),
                     own_unit_ids=frozenset(r.unit.id for r in user.roles if r.role in OFFICIAL_ROLES),
                     session_stamp=session_stamp(user.password_hash))

    def _tree(self) -> tuple[dict[int, list[int]], dict[int, str]]:
        """Children of every unit, and every unit's code, in one query."""
        children: dict[int, list[int]] = {}
        codes: dict[int, str] = {}
        for unit_id, parent_id, code in self.session.execute(select(AdminUnit.id, AdminUnit.parent_id, AdminUnit.code)):
            children.setdefault(unit_id, [])
            codes[unit_id] = code
            if parent_id is not None:
                children.setdefault(parent_id, []).append(unit_id)
        return children, codes
