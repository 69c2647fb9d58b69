"""Administering accounts: create, edit, disable or enable, reset a password, grant and revoke roles in units.

Every change is recorded in the audit log in the same commit (workflows/admin/audit.py). Roles and units
are checked against the live lists here, whatever the form offered: a role or unit that is not in them is
refused with a message and nothing is stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from workflows.accounts import _EMAIL, _USERNAME, MIN_PASSWORD, hash_password
from workflows.admin.audit import Acting, Target, record
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import AdminUnit, User, UserRole
from workflows.roles import ROLES

LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class NewUser:
    """The account form: who, how to reach them, their language, a first role in a unit (optional)."""

    username: str
    full_name: str
    email: str = ""
    language: str = ""  # vi, en, or "" for the centre's default
    password: str = ""  # "" = generate one, shown once
    role: str = ""
    unit: str = ""  # a unit code, with `role`


@dataclass(frozen=True)
class UnitChoice:
    """A unit as the pickers offer it: code, names, kind and depth in the tree."""

    id: int
    code: str
    name: str
    name_en: str
    kind: str
    depth: int


def generated_password() -> str:
    """A random password of 16 characters from an unambiguous alphabet, to hand over once."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def user_state(user: User) -> dict[str, Any]:
    """What the audit log keeps of an account (never its password hash)."""
    return {"username": user.username, "full_name": user.full_name, "email": user.email or "",
            "language": user.language or "", "active": bool(user.active),
            "unit": user.unit.code if user.unit is not None else None,
            "roles": sorted(f"{r.role}@{r.unit.code}" for r in user.roles)}


class UserAdmin:
    """The console's account administration; knows nothing of HTTP."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    # ------------------------------------------------------------------ reading
    def search(self, text: str = "", role: str = "", unit: str = "", status: str = "", limit: int = 200) -> list[User]:
        """Accounts matching a name/username/email part, a role, a unit code and active/disabled; by username."""
        query = select(User).options(selectinload(User.roles).selectinload(UserRole.unit), selectinload(User.unit))
        text = (text or "").strip()
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
            query = query.where(or_(func.lower(User.username).like(pattern, escape="\\"),
                                    func.lower(User.full_name).like(pattern, escape="\\"),
                                    func.lower(User.email).like(pattern, escape="\\")))
        if role or unit:
            binding = select(UserRole.user_id).join(AdminUnit, AdminUnit.id == UserRole.unit_id)
            if role:
                binding = binding.where(UserRole.role == role)
            if unit:
                binding = binding.where(AdminUnit.code == unit)
            query = query.where(User.id.in_(binding))
        if status == "active":
            query = query.where(User.active.is_(True))
        elif status == "disabled":
            query = query.where(User.active.is_(False))
        return list(self.session.scalars(query.order_by(User.username).limit(limit)))

    def user(self, user_id: int) -> User:
        """One account, or CaseNotFoundError."""
        user = self.session.get(User, user_id)
        if user is None:
            raise CaseNotFoundError(t("no user %(user)s; check the username", user=user_id))
        return user

    def unit_choices(self) -> list[UnitChoice]:
        """The units that exist today, as a tree (parents before children, siblings by name)."""
        rows = self.session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en,
                                           AdminUnit.kind, AdminUnit.parent_id)
                                    .where(AdminUnit.active.is_(True))).all()
        children: dict[int | None, list] = {}
        ids = {row.id for row in rows}
        for row in rows:
            children.setdefault(row.parent_id if row.parent_id in ids else None, []).append(row)
        out: list[UnitChoice] = []

        def walk(parent: int | None, depth: int) -> None:
            for row in sorted(children.get(parent, ()), key=lambda r: (r.kind in ("committee", "department",
                                                                                  "police", "centre"), r.name)):
                out.append(UnitChoice(row.id, row.code, row.name, row.name_en or row.name, row.kind, depth))
                walk(row.id, depth + 1)

        walk(None, 0)
        return out

    # ------------------------------------------------------------------ changing
    def create(self, actor: Acting, form: NewUser, note: str = "") -> tuple[User, str | None]:
        """A new active account (with its first role when given); the generated password, if any, is returned once."""
        username = (form.username or "").strip().lower()
        errors: dict[str, Text] = {}
        if not _USERNAME.match(username):
            errors["username"] = t("3 to 40 lower-case letters, digits, dots, dashes or underscores, e.g. nguyen.van.a")
        elif self.session.scalar(select(User.id).where(User.username == username)) is not None:
            errors["username"] = t("this username is taken; choose another")
        full_name, email, language = self._details(form.full_name, form.email, form.language, errors)
        password = form.password or ""
        if password and len(password) < MIN_PASSWORD:
            errors["password"] = t("at least %(n)s characters", n=MIN_PASSWORD)
        unit = None
        if form.role or form.unit:
            unit = self._binding(form.role, form.unit, errors)
        if errors:
            raise IntakeError(errors)
        generated = None if password else generated_password()
        user = User(username=username, full_name=full_name, email=email or None, language=language or None,
                    password_hash=hash_password(password or generated), active=True, is_demo=False,
                    unit_id=unit.id if unit is not None else None)
        if unit is not None:
            user.roles.append(UserRole(role=form.role, unit=unit))
        self.session.add(user)
        try:
            self.session.flush()
        except IntegrityError:  # the same username created a moment ago
            self.session.rollback()
            raise IntakeError({"username": t("this username is taken; choose another")}) from None
        record(self.session, actor, "user.create", Target("user", user.id, user.username), None, user_state(user),
               note, self.clock)
        self.session.commit()
        return user, generated

    def update(self, actor: Acting, user_id: int, full_name: str, email: str, language: str, note: str = "") -> User:
        """Change an account's name, email and language."""
        user = self.user(user_id)
        errors: dict[str, Text] = {}
        full_name, email, language = self._details(full_name, email, language, errors)
        if errors:
            raise IntakeError(errors)
        before = user_state(user)
        user.full_name, user.email, user.language = full_name, email or None, language or None
        return self._done(actor, "user.update", user, before, note)

    def set_active(self, actor: Acting, user_id: int, active: bool, note: str = "") -> User:
        """Disable an account (no sign-in; its sessions and API tokens stop working at once) or enable it again."""
        user = self.user(user_id)
        if not active and user.id == getattr(actor, "user_id", None):
            raise IntakeError({"active": t("you cannot disable your own account; ask another administrator")})
        before = user_state(user)
        user.active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
        return self._done(actor, "user.enable" if active else "user.disable", user, before, note)

    def reset_password(self, actor: Acting, user_id: int, password: str = "", note: str = "") -> str | None:
        """Set a new password (or generate one, returned once) and lift a sign-in lock."""
        user = self.user(user_id)
        if password and len(password) < MIN_PASSWORD:
            raise IntakeError({"password": t("at least %(n)s characters", n=MIN_PASSWORD)})
        generated = None if password else generated_password()
        before = {"password": "set" if user.password_hash else "none", "locked": user.locked_until is not None}
        user.password_hash = hash_password(password or generated)
        user.failed_logins, user.locked_until = 0, None
        record(self.session, actor, "user.reset_password", Target("user", user.id, user.username), before,
               {"password": "reset (generated)" if generated else "reset", "locked": False}, note, self.clock)
        self.session.commit()
        return generated

    def grant(self, actor: Acting, user_id: int, role: str, unit_code: str, note: str = "") -> User:
        """Give a role in a unit (both from the live lists); the first unit becomes the account's own unit."""
        user = self.user(user_id)
        errors: dict[str, Text] = {}
        unit = self._binding(role, unit_code, errors)
        if unit is not None and any(r.role == role and r.unit_id == unit.id for r in user.roles):
            errors["role"] = t("%(user)s already holds this role in this unit", user=user.username)
        if errors:
            raise IntakeError(errors)
        before = user_state(user)
        user.roles.append(UserRole(role=role, unit=unit))
        if user.unit_id is None:
            user.unit = unit
        return self._done(actor, "user.grant_role", user, before, note)

    def revoke(self, actor: Acting, user_id: int, binding_id: int, note: str = "") -> User:
        """Take a role binding away (an administrator cannot take away their own administrator role)."""
        user = self.user(user_id)
        binding = next((r for r in user.roles if r.id == binding_id), None)
        if binding is None:
            raise CaseNotFoundError(t("%(user)s holds no such role; reload the page", user=user.username))
        if binding.role == "admin" and user.id == getattr(actor, "user_id", None):
            raise IntakeError({"role": t("you cannot take away your own administrator role; ask another administrator")})
        before = user_state(user)
        user.roles.remove(binding)
        return self._done(actor, "user.revoke_role", user, before, note)

    # ------------------------------------------------------------------ helpers
    def _done(self, actor: Acting, action: str, user: User, before: dict[str, Any], note: str) -> User:
        self.session.flush()
        record(self.session, actor, action, Target("user", user.id, user.username), before, user_state(user), note,
               self.clock)
        self.session.commit()
        return user

    def _details(self, full_name: str, email: str, language: str,
                 errors: dict[str, Text]) -> tuple[str, str, str]:
        full_name, email, language = (full_name or "").strip(), (email or "").strip(), (language or "").strip()
        if not full_name:
            errors["full_name"] = t("required")
        elif len(full_name) > 255:
            errors["full_name"] = t("at most 255 characters; shorten it")
        if email and (not _EMAIL.match(email) or len(email) > 255):
            errors["email"] = t("write an email address such as ten@example.vn")
        if language and language not in LANGUAGES:
            errors["language"] = t("language must be vi or en")
        return full_name, email, language

    def _binding(self, role: str, unit_code: str, errors: dict[str, Text]) -> AdminUnit | None:
        """The unit of a role binding, when the role and the unit are both in the live lists."""
        if role not in ROLES:
            errors["role"] = t("choose a role from the list")
        unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == (unit_code or "").strip(),
                                                           AdminUnit.active.is_(True))) if unit_code else None
        if unit is None:
            errors["unit"] = t("choose a unit from the list (units that exist today)")
        return unit if role in ROLES else None


