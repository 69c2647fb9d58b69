"""Each person's inbox: notifications of new tasks, reminders, escalations and leader alerts.

Every query is bounded by the user id (index `ix_notification_inbox` on user_id, read_at),
so nobody reads or marks another person's notifications, whatever ids they send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import t
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import Case, Notification

PAGE_SIZE = 30
# A request marking more rows than this by id is refused; "all" has no such limit.
MAX_IDS = 500


class NotificationNotFoundError(CaseNotFoundError):
    """A notification id that is not in the user's inbox (another person's, or none)."""


@dataclass(frozen=True)
class NotificationRow:
    """One line of an inbox."""

    id: int
    kind: str
    title: str
    body: str
    case_code: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        """True until the user marks it read."""
        return self.read_at is None


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
            conditions.append(Notification.read_at.is_(None))
        total = self.session.scalar(select(func.count()).select_from(Notification).where(*conditions)) or 0
        unread = total if unread_only else self.unread_count(user_id)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        query = (select(Notification.id, Notification.kind, Notification.title, Notification.body, Case.code,
                        Notification.created_at, Notification.read_at)
                 .outerjoin(Case, Case.id == Notification.case_id)
                 .where(*conditions)
                 .order_by(Notification.created_at.desc(), Notification.id.desc())
                 .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
        rows = [NotificationRow(*r) for r in self.session.execute(query)]
        return InboxPage(rows, page, pages, total, unread, unread_only)

    def unread_count(self, user_id: int) -> int:
        """How many of the user's notifications are unread (one indexed count)."""
        return self.session.scalar(select(func.count()).select_from(Notification)
                                   .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0

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
