"""Deliveries that did not go: outbox messages (emails, live updates) that failed, and what an administrator does.

The outbox (engine/outbox.py) retries a failed message with a growing pause, and after `MAX_ATTEMPTS`
failures parks it. Nobody would know without this page: a mail server that refuses, an address that
does not exist, a wrong password. An administrator sees each undelivered message with why it failed
(in words, and the server's own answer), retries it after a fix (one or all: the attempts start over
and the delivery runs at once), or gives it up with a note. Each action is audited.

What the page shows of a message is its kind, its recipient and its subject: never its body or a
citizen's private link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.i18n import Text, from_json, t
from engine.models import OutboxMessage
from engine.outbox import MAX_ATTEMPTS
from workflows.access import Actor
from workflows.admin.audit import Target, record, register_actions
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError

DELIVERY_ROLES = ("admin",)
PAGE_SIZE = 50
STATES = ("undelivered", "dropped")
MAX_NOTE = 2000
MAX_ID = 2**63 - 1

TOPIC_LABELS: dict[str, Text] = {
    "email": t("email"),
    "task.assigned": t("task list update"),
    "task.created": t("task list update"),
    "task.closed": t("task list update"),
    "notification.created": t("notification on screen"),
    "case.comment": t("case page update"),
    "case.attachment": t("case page update"),
}

# Why a delivery failed, in words, from the exception's class the outbox wrote first in `last_error`.
_REASONS: tuple[tuple[tuple[str, ...], Text], ...] = (
    (("ConnectionRefusedError", "SMTPConnectError", "SMTPServerDisconnected", "gaierror"),
     t("the mail server could not be reached: check IOC_SMTP_HOST and IOC_SMTP_PORT and that the server runs")),
    (("TimeoutError", "timeout", "socket.timeout"), t("the mail server did not answer in time")),
    (("SMTPRecipientsRefused",), t("the mail server refused the recipient's address")),
    (("SMTPSenderRefused",), t("the mail server refused the sender's address (IOC_MAIL_FROM)")),
    (("SMTPAuthenticationError",), t("the mail server refused to let the system sign in")),
    (("SMTPDataError",), t("the mail server refused the message")),
)

_OTHER_REASON = t("the delivery failed; the server's answer is below")

register_actions({"delivery.retry": t("retry a delivery"), "delivery.retry_all": t("retry every undelivered message"),
                  "delivery.drop": t("give up a delivery")},
                 {"delivery": t("delivery")})


class DeliveryNotFoundError(CaseNotFoundError):
    """No outbox message with that id."""


def failure_reason(last_error: str | None) -> Text | None:
    """Why a delivery failed, in words (translate when shown); None when it has not failed."""
    if not last_error:
        return None
    kind = last_error.split(":", 1)[0].strip()
    for kinds, reason in _REASONS:
        if kind in kinds or kind.rsplit(".", 1)[-1] in kinds:
            return reason
    return _OTHER_REASON


@dataclass(frozen=True)
class DeliveryRow:
    """One message as the page lists it."""

    id: int
    topic: str
    topic_label: Text | str  # translate when shown
    recipient: str
    subject: Text | str  # translate when shown (a stored message), or the text as written
    case_code: str | None
    created_at: datetime
    attempts: int
    reason: Text | None  # translate when shown
    error: str  # the server's own answer, as recorded
    next_attempt_at: datetime | None
    parked: bool  # failed MAX_ATTEMPTS times: no automatic try any more
    dropped_at: datetime | None
    dropped_by: str | None
    drop_note: str | None


@dataclass(frozen=True)
class DeliveryPage:
    """A page of messages with the counts the tabs show."""

    rows: list[DeliveryRow]
    state: str
    page: int
    pages: int
    total: int
    undelivered: int
    parked: int
    causes: list[tuple[Text, int]]  # why the undelivered messages failed, in words, most frequent first


def _undelivered() -> tuple[Any, ...]:
    return (OutboxMessage.delivered_at.is_(None), OutboxMessage.dropped_at.is_(None), OutboxMessage.attempts > 0)


def undelivered_count(session: Session) -> int:
    """How many messages failed and are not delivered yet (nor given up)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(*_undelivered())) or 0


def _parked_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(*_undelivered(), OutboxMessage.attempts >= MAX_ATTEMPTS)) or 0


def outbox_health(session: Session) -> dict[str, Any]:
    """For /healthz: how many messages failed and wait, and how many are no longer tried by themselves
    (ok only when none is)."""
    undelivered = undelivered_count(session)
    parked = _parked_count(session) if undelivered else 0
    return {"ok": parked == 0, "undelivered": undelivered, "waiting_for_a_person": parked,
            "detail": "failed messages are listed at /admin/deliveries"}


class DeliveryService:
    """Lists undelivered outbox messages, and retries them or gives them up (audited)."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, after_commit: Callable[[], None] | None = None):
        self.session = session
        self.clock = clock
        self.after_commit = after_commit or (lambda: None)

    # ------------------------------------------------------------------ reading
    def list(self, state: str = "undelivered", page: int = 1) -> DeliveryPage:
        """Undelivered messages (oldest failure first: the longest waiting) or the given-up ones (newest first)."""
        state = state if state in STATES else "undelivered"
        if state == "undelivered":
            where, order = _undelivered(), (OutboxMessage.created_at, OutboxMessage.id)
        else:
            where = (OutboxMessage.dropped_at.is_not(None),)
            order = (OutboxMessage.dropped_at.desc(), OutboxMessage.id.desc())
        total = self.session.scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = self.session.scalars(select(OutboxMessage).where(*where).order_by(*order)
                                    .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        undelivered = total if state == "undelivered" else undelivered_count(self.session)
        parked = _parked_count(self.session)
        return DeliveryPage([_row(r) for r in rows], state, page, pages, total, undelivered, parked, self._causes())

    def _causes(self) -> list[tuple[Text, int]]:
        counts: dict[str, tuple[Text, int]] = {}
        for error, count in self.session.execute(select(OutboxMessage.last_error, func.count())
                                                 .where(*_undelivered()).group_by(OutboxMessage.last_error)
                                                 .order_by(func.count().desc()).limit(200)):
            reason = failure_reason(error) or _OTHER_REASON
            known, seen = counts.get(reason.msgid, (reason, 0))
            counts[reason.msgid] = (known, seen + count)
        return sorted(counts.values(), key=lambda pair: -pair[1])

    # ------------------------------------------------------------------ acting
    def retry(self, message_id: int, actor: Actor) -> DeliveryRow:
        """Try the message again now, its attempts starting over (after the cause was fixed)."""
        self._allowed(actor)
        msg = self._message(message_id)
        self._still_undelivered(msg)
        before = _state(msg)
        msg.attempts, msg.next_attempt_at = 0, self.clock.now()
        return self._commit(actor, "delivery.retry", msg, before, "")

    def retry_all(self, actor: Actor) -> int:
        """Try every undelivered message again now (after the mail server was mended); returns how many."""
        self._allowed(actor)
        now = self.clock.now()
        try:
            count = self.session.execute(update(OutboxMessage).where(*_undelivered())
                                         .values(attempts=0, next_attempt_at=now)
                                         .execution_options(synchronize_session=False)).rowcount or 0
            if count:
                record(self.session, actor, "delivery.retry_all", Target("delivery", "*", ""),
                       after={"messages": count}, clock=self.clock)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        if count:
            self.after_commit()
        return count

    def drop(self, message_id: int, actor: Actor, note: str) -> DeliveryRow:
        """Give the message up for good (a note says why: the address is wrong, the news is old); kept for the record."""
        self._allowed(actor)
        note = (note or "").strip()
        if not note:
            raise IntakeError({"note": t("say why the message is given up")})
        if len(note) > MAX_NOTE:
            raise IntakeError({"note": t("the note is longer than %(max)s characters", max=MAX_NOTE)})
        msg = self._message(message_id)
        self._still_undelivered(msg)
        before = _state(msg)
        msg.dropped_at, msg.dropped_by, msg.drop_note = self.clock.now(), actor.username[:80], note
        return self._commit(actor, "delivery.drop", msg, before, note, notify=False)

    # ------------------------------------------------------------------ internals
    def _allowed(self, actor: Actor) -> None:
        if not actor.has_role(*DELIVERY_ROLES):
            raise AccessDeniedError(t("only administrators may retry or give up deliveries"))

    def _message(self, message_id: int) -> OutboxMessage:
        msg = self.session.get(OutboxMessage, message_id) if 0 < message_id <= MAX_ID else None
        if msg is None:
            raise DeliveryNotFoundError(t("no message %(id)s; reload the deliveries page", id=message_id))
        return msg

    def _still_undelivered(self, msg: OutboxMessage) -> None:
        if msg.delivered_at is not None:
            raise ConflictError(t("message %(id)s was delivered meanwhile; reload the page", id=msg.id))
        if msg.dropped_at is not None:
            raise ConflictError(t("message %(id)s was already given up by %(who)s; reload the page",
                                  id=msg.id, who=msg.dropped_by or "—"))

    def _commit(self, actor: Actor, action: str, msg: OutboxMessage, before: dict[str, Any], note: str,
                notify: bool = True) -> DeliveryRow:
        try:
            self.session.flush()
            row = _row(msg)
            record(self.session, actor, action, Target("delivery", msg.id, _label(row)), before=before,
                   after=_state(msg), note=note, clock=self.clock)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        if notify:
            self.after_commit()
        return row


def _subject(payload: dict[str, Any]) -> Text | str:
    stored = payload.get("message") or {}
    if isinstance(stored, dict) and "title" in stored:
        try:
            return from_json(stored["title"])
        except (TypeError, ValueError, KeyError):
            pass
    return str(payload.get("subject") or payload.get("title") or "")


def _row(msg: OutboxMessage) -> DeliveryRow:
    payload = msg.payload if isinstance(msg.payload, dict) else {}
    recipient = payload.get("to") if msg.topic == "email" else payload.get("username")
    error = msg.last_error or ""
    return DeliveryRow(
        id=msg.id, topic=msg.topic, topic_label=TOPIC_LABELS.get(msg.topic, msg.topic),
        recipient=str(recipient or ""), subject=_subject(payload),
        case_code=payload.get("case_code") if isinstance(payload.get("case_code"), str) else None,
        created_at=msg.created_at, attempts=msg.attempts or 0, reason=failure_reason(error), error=error,
        next_attempt_at=msg.next_attempt_at, parked=(msg.attempts or 0) >= MAX_ATTEMPTS,
        dropped_at=msg.dropped_at, dropped_by=msg.dropped_by, drop_note=msg.drop_note)


def _label(row: DeliveryRow) -> str:
    return f"{row.topic} → {row.recipient}" if row.recipient else row.topic


def _state(msg: OutboxMessage) -> dict[str, Any]:
    return {"attempts": msg.attempts, "next_attempt_at": msg.next_attempt_at, "last_error": msg.last_error,
            "dropped_at": msg.dropped_at}
