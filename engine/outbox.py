"""Delivering outbox rows: at least once, after the step that wrote them committed.

A handler gets the message id with its payload and must be idempotent on it
(an email carries it as Message-ID, a push carries it as event id), because a
crash between the handler and our commit delivers the message again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.models import OutboxMessage

log = logging.getLogger(__name__)

Handler = Callable[[int, dict[str, Any]], None]
MAX_ATTEMPTS = 12
# A message that failed MAX_ATTEMPTS times waits this long: in practice, until an administrator retries or drops it.
PARKED_FOR = timedelta(days=3650)


# A payload key listing the payload's fields to drop once the message is delivered.
FORGET_AFTER_DELIVERY = "forget_after_delivery"


class OutboxDispatcher:
    """Hands pending outbox rows to the handler of their topic, one commit per row."""

    def __init__(self, session_factory: Callable[[], Session], handlers: dict[str, Handler],
                 clock: Clock = SYSTEM_CLOCK):
        self.session_factory = session_factory
        self.handlers = handlers
        self.clock = clock

    def deliver_pending(self, limit: int = 500) -> int:
        """Deliver up to `limit` due messages; returns how many were delivered."""
        delivered = 0
        for _ in range(limit):
            outcome = self._deliver_one()
            if outcome is None:
                break
            delivered += outcome
        return delivered

    def _deliver_one(self) -> int | None:
        now = self.clock.now()
        with self.session_factory() as session:
            query = (select(OutboxMessage)
                     .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.dropped_at.is_(None),
                            (OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now))
                     .order_by(OutboxMessage.id).limit(1))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            msg = session.scalar(query)
            if msg is None:
                return None
            handler = self.handlers.get(msg.topic)
            try:
                if handler is not None:
                    handler(msg.id, msg.payload)
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried later
                msg.attempts += 1
                msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if msg.attempts >= MAX_ATTEMPTS:
                    # Parked: kept for an administrator, never retried in a hot loop.
                    msg.next_attempt_at = now + PARKED_FOR
                else:
                    msg.next_attempt_at = now + timedelta(seconds=min(3600, 2 ** msg.attempts))
                log.warning("outbox %s (%s) failed: %s", msg.id, msg.topic, msg.last_error)
                session.commit()
                return 0
            msg.attempts += 1
            msg.delivered_at = now
            secret = (msg.payload or {}).get(FORGET_AFTER_DELIVERY)
            if secret:
                # A secret needed only to send (a citizen's private link) is not kept once sent.
                msg.payload = {**{k: v for k, v in msg.payload.items() if k not in secret and k != FORGET_AFTER_DELIVERY},
                               "forgotten": sorted(secret)}
            session.commit()
            return 1
