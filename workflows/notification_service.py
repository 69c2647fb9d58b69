"""Each person's inbox: notifications of new tasks, reminders, escalations and leader alerts.

Every query is bounded by the user id (index `ix_notification_inbox` on user_id, read_at),
so nobody reads or marks another person's notifications, whatever ids they send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, from_json, t, to_json
from engine.models import HumanTask
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import Case, Notification, User

PAGE_SIZE = 30
# A request marking more rows than this by id is refused; "all" has no such limit.
MAX_IDS = 500


def notification_for(user: User, case: Case | None, kind: str, title: Text | str, body: Text | str, at: datetime,
                     dedupe: str, task_id: str | None = None) -> tuple[Notification, dict[str, Any], dict[str, Any] | None]:
    """A notification to `user` kept as its message (shown in the reader's language), with the outbox payloads
    of its push and, when the user has an email address, of its email in the user's language."""
    message = {"title": to_json(title), "body": to_json(body)}
    note = Notification(user_id=user.id, case=case, case_id=case.id if case is not None else None, kind=kind,
                        title=str(title)[:255], body=str(body), message=message, task_id=task_id, created_at=at,
                        dedupe_key=dedupe)
    push = {"user_id": user.id, "username": user.username, "case_id": case.id if case is not None else None,
            "case_code": case.code if case is not None else None, "kind": kind, "title": str(title),
            "message": message, "lang": user.language}
    email = ({"to": user.email, "subject": str(title), "body": str(body), "message": message, "lang": user.language}
             if user.email else None)
    return note, push, email


def shown(stored: dict[str, Any] | None, part: str, fallback: str) -> Text | str:
    """One part (title, body) of a stored message, to be rendered in the reader's language (`fallback`: the
    text of a notification written before messages were kept)."""
    if not stored or part not in stored:
        return fallback
    return from_json(stored[part])


class NotificationNotFoundError(CaseNotFoundError):
    """A notification id that is not in the user's inbox (another person's, or none)."""


@dataclass(frozen=True)
class NotificationRow:
    """One line of an inbox."""

    id: int
    kind: str
    title: Text | str  # shown with |tr: in the reader's language
    body: Text | str
    case_code: str | None
    created_at: datetime
    read_at: datetime | None
    task_done: bool = False  # a "new task" whose task is closed: nothing to do any more

    @property
    def unread(self) -> bool:
        """True until the user marks it read, or until the task it announces is closed."""
        return self.read_at is None and not self.task_done


@dataclass(frozen=True)
class InboxPage:
    """A page of a user's inbox, newest first, with the counts the page shows."""

    rows: list[NotificationRow]
    page: int
    pages: int
    total: int
    unread: int
    unread_only: bool


class NotificationService:
    """Reads and marks one user's notifications; never anyone else's."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def inbox(self, user_id: int, unread_only: bool = False, page: int = 1) -> InboxPage:
        """One page of the user's notifications, newest first (unread ones only if asked)."""
        conditions = [Notification.user_id == user_id]
        if unread_only:
            conditions += self._unread()
        total = self.session.scalar(select(func.count()).select_from(Notification).where(*conditions)) or 0
        unread = total if unread_only else self.unread_count(user_id)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        query = (select(Notification.id, Notification.kind, Notification.title, Notification.body, Case.code,
                        Notification.created_at, Notification.read_at, Notification.message, HumanTask.state)
                 .outerjoin(Case, Case.id == Notification.case_id)
                 .outerjoin(HumanTask, HumanTask.id == Notification.task_id)
                 .where(*conditions)
                 .order_by(Notification.created_at.desc(), Notification.id.desc())
                 .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
        rows = [NotificationRow(id_, kind, shown(message, "title", title), shown(message, "body", body), code, at,
                                read_at, task_state is not None and task_state != "open")
                for id_, kind, title, body, code, at, read_at, message, task_state in self.session.execute(query)]
        return InboxPage(rows, page, pages, total, unread, unread_only)

    def unread_count(self, user_id: int) -> int:
        """How many of the user's notifications are unread (one indexed count)."""
        return self.session.scalar(select(func.count()).select_from(Notification)
                                   .where(Notification.user_id == user_id, *self._unread())) or 0

    @staticmethod
    def _unread() -> list[Any]:
        # A "new task" whose task was done or cancelled meanwhile is news no longer (an operator saw a dozen
        # of them for tasks finished long ago); marking it read is not needed for that.
        task = aliased(HumanTask)
        task_closed = (select(task.id).where(task.id == Notification.task_id, task.state != "open")
                       .correlate(Notification))
        return [Notification.read_at.is_(None), ~task_closed.exists()]

    def mark_read(self, user_id: int, ids: Iterable[int] | None = None, everything: bool = False) -> int:
        """Mark the given notifications (or all) of the user read; returns how many changed.

        An id that is not the user's raises NotificationNotFoundError and nothing is marked.
        """
        now = self.clock.now()
        query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        if not everything:
            wanted = sorted(set(ids or ()))
            if not wanted:
                raise IntakeError({"ids": t("choose at least one notification, or mark all as read")})
            if len(wanted) > MAX_IDS:
                raise IntakeError({"ids": t("at most %(max)s notifications at a time; mark all as read instead",
                                            max=MAX_IDS)})
            owned = set(self.session.scalars(select(Notification.id).where(Notification.user_id == user_id,
                                                                           Notification.id.in_(wanted))))
            missing = [i for i in wanted if i not in owned]
            if missing:
                raise NotificationNotFoundError(t("no notification %(id)s in your inbox", id=missing[0]))
            query = query.where(Notification.id.in_(wanted))
        try:
            changed = self.session.execute(query.values(read_at=now)
                                           .execution_options(synchronize_session=False)).rowcount
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise
        return changed
