"""The audit of administrators' actions: recorded in the action's own transaction, listed and filtered.

Every console action calls `record` before its commit, so the change and its audit line are stored
together or not at all. Actions are stored as keys (``user.create``) and shown through `action_label`
in the reader's language; each part of the console registers its keys with `register_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from workflows.admin.models import AdminAuditEntry

# Action key → its label (English msgid; translated when shown). Parts of the console add theirs.
ACTION_LABELS: dict[str, Text] = {
    "user.create": t("create user"),
    "user.update": t("edit user"),
    "user.disable": t("disable user"),
    "user.enable": t("enable user"),
    "user.reset_password": t("reset password"),
    "user.grant_role": t("grant role"),
    "user.revoke_role": t("revoke role"),
    "user.change_own_password": t("change own password"),
    "open311_key.create": t("create Open311 key"),
    "open311_key.revoke": t("revoke Open311 key"),
    "api_token.create": t("create API token"),
    "api_token.revoke": t("revoke API token"),
}
# Target type → its label.
TARGET_LABELS: dict[str, Text] = {
    "user": t("user"),
    "open311_key": t("Open311 key"),
    "api_token": t("API token"),
}


def register_actions(actions: dict[str, Text], targets: dict[str, Text] | None = None) -> None:
    """Make a part of the console's action keys (and target types) known, with their labels."""
    ACTION_LABELS.update(actions)
    TARGET_LABELS.update(targets or {})


def action_label(key: str) -> Text | str:
    """The label of an action key (the key itself when no part registered it)."""
    return ACTION_LABELS.get(key, key)


def target_label(kind: str) -> Text | str:
    """The label of a target type (the type itself when unknown)."""
    return TARGET_LABELS.get(kind, kind)


class Acting(Protocol):
    """Who acts: an access Actor (user_id) or a User row (id); both have a username."""

    username: str


@dataclass(frozen=True)
class Target:
    """What an action was done to: its type (user, unit, category…), id and a readable label."""

    type: str
    id: str | int
    label: str = ""


@dataclass(frozen=True)
class Change:
    """One field of a before/after pair, for showing them side by side."""

    field: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        """True when the value differs."""
        return self.before != self.after


@dataclass(frozen=True)
class AuditLine:
    """One audit entry as the log page shows it."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    before: Any
    after: Any
    note: str

    @property
    def action_label(self) -> Text | str:
        """The action in words (translate when shown)."""
        return action_label(self.action)

    @property
    def target_type_label(self) -> Text | str:
        """The target type in words (translate when shown)."""
        return target_label(self.target_type)

    def changes(self) -> list[Change]:
        """The fields of before and after, in a stable order (non-dict states come as one field "value")."""
        before, after = self.before, self.after
        if not isinstance(before, dict) and not isinstance(after, dict):
            return [Change("value", before, after)] if (before, after) != (None, None) else []
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        keys = list(before) + [k for k in after if k not in before]
        return [Change(k, before.get(k), after.get(k)) for k in keys]


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the log: any left empty matches everything. Dates are local days, inclusive."""

    actor: str = ""
    action: str = ""
    target_type: str = ""
    target: str = ""  # part of the target's id or label
    since: date | None = None
    until: date | None = None


def jsonable(value: Any) -> Any:
    """`value` reduced to what a JSON column holds (dates as ISO text, sets as sorted lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def record(session: Session, actor: Acting, action: str, target: Target, before: Any = None, after: Any = None,
           note: str = "", clock: Clock = SYSTEM_CLOCK) -> AdminAuditEntry:
    """Add the audit line of an action to the session (the caller commits it with the action itself)."""
    actor_id = getattr(actor, "user_id", None) or getattr(actor, "id", None)
    entry = AdminAuditEntry(at=clock.now(), actor_id=actor_id, actor_username=actor.username[:120], action=action[:60],
                            target_type=target.type[:40], target_id=str(target.id)[:64],
                            target_label=(target.label or "")[:255], before=jsonable(before), after=jsonable(after),
                            note=(note or "").strip())
    session.add(entry)
    return entry


class AuditLog:
    """Reading the audit log: filtered pages of lines and the live lists the filters choose from."""

    def __init__(self, session: Session, timezone: str = "Asia/Ho_Chi_Minh"):
        self.session = session
        self.timezone = timezone

    def search(self, query: AuditQuery, limit: int = 50, offset: int = 0) -> tuple[list[AuditLine], int]:
        """The lines matching `query`, newest first, and how many match in all."""
        where = self._where(query)
        total = self.session.scalar(select(func.count()).select_from(AdminAuditEntry).where(*where)) or 0
        rows = self.session.scalars(select(AdminAuditEntry).where(*where)
                                    .order_by(AdminAuditEntry.at.desc(), AdminAuditEntry.id.desc())
                                    .limit(limit).offset(offset))
        return [_line(row) for row in rows], total

    def for_target(self, target_type: str, target_id: str | int, limit: int = 20) -> list[AuditLine]:
        """The latest lines about one thing (for its own page)."""
        rows = self.session.scalars(select(AdminAuditEntry)
                                    .where(AdminAuditEntry.target_type == target_type,
                                           AdminAuditEntry.target_id == str(target_id))
                                    .order_by(AdminAuditEntry.at.desc(), AdminAuditEntry.id.desc()).limit(limit))
        return [_line(row) for row in rows]

    def actors(self) -> list[str]:
        """Usernames that appear in the log (the actor filter's choices)."""
        return list(self.session.scalars(select(AdminAuditEntry.actor_username).distinct()
                                         .order_by(AdminAuditEntry.actor_username)))

    def actions(self) -> list[str]:
        """Action keys known to the console or found in the log (the action filter's choices)."""
        used = set(self.session.scalars(select(AdminAuditEntry.action).distinct()))
        return sorted(used | set(ACTION_LABELS))

    def target_types(self) -> list[str]:
        """Target types known to the console or found in the log."""
        used = set(self.session.scalars(select(AdminAuditEntry.target_type).distinct()))
        return sorted(used | set(TARGET_LABELS))

    def _where(self, query: AuditQuery) -> list:
        where = []
        if query.actor:
            where.append(AdminAuditEntry.actor_username == query.actor)
        if query.action:
            where.append(AdminAuditEntry.action == query.action)
        if query.target_type:
            where.append(AdminAuditEntry.target_type == query.target_type)
        if query.target:
            pattern = "%" + query.target.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(or_(AdminAuditEntry.target_id.ilike(pattern, escape="\\"),
                             AdminAuditEntry.target_label.ilike(pattern, escape="\\")))
        if query.since:
            where.append(AdminAuditEntry.at >= self._start_of(query.since))
        if query.until:
            where.append(AdminAuditEntry.at < self._start_of(query.until + timedelta(days=1)))
        return where

    def _start_of(self, day: date) -> datetime:
        from zoneinfo import ZoneInfo

        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)


def _line(row: AdminAuditEntry) -> AuditLine:
    return AuditLine(row.id, row.at, row.actor_id, row.actor_username, row.action, row.target_type, row.target_id,
                     row.target_label, row.before, row.after, row.note or "")
