"""The timer sweep: find instances whose earliest timer is due, fire, save.

Several sweepers may run at once (Celery beat on many hosts, a thread in the
embedded server): on PostgreSQL `FOR UPDATE SKIP LOCKED` hands each due instance
to one of them; on SQLite the database lock serialises them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.instances import InstanceService
from engine.models import ProcessInstance, SweepHeartbeat

log = logging.getLogger(__name__)

# An instance whose timer step crashed is tried again after this long.
_RETRY_DELAY = timedelta(seconds=60)


class TimerSweep:
    """Fires due timers in batches.

    Fast path: the whole batch in one transaction with no autoflush and no savepoints,
    so rows are written in bulk at commit. If anything goes wrong, the batch is rolled
    back and redone carefully: a savepoint per instance, so one failure spoils nothing
    else and becomes that instance's incident or retry.
    """

    def __init__(self, session_factory: Callable[[], Session],
                 service_factory: Callable[[Session], InstanceService],
                 clock: Clock = SYSTEM_CLOCK, batch_size: int = 200, name: str = "timers",
                 prefetch: Callable[[Session, list[ProcessInstance]], Any] | None = None,
                 after_fired: Callable[[], None] | None = None):
        self.session_factory = session_factory
        self.service_factory = service_factory
        self.clock = clock
        self.batch_size = batch_size
        self.name = name
        # Loads what the operators of a batch will read (their cases), in one query; the
        # result is kept referenced for the batch so the session's identity map holds it.
        self.prefetch = prefetch
        # Called once after a run that moved anything (committed): the caller hands the
        # steps' outbox (reminders, escalations, pushes) to delivery at once.
        self.after_fired = after_fired

    def run_once(self) -> int:
        """Fire every timer due now (in batches); the number of instances that moved."""
        fired = 0
        while True:
            moved, seen = self._batch()
            fired += moved
            # A full batch in which nothing moved would be selected again: stop, not spin.
            if seen < self.batch_size or moved == 0:
                break
        if fired and self.after_fired is not None:
            self.after_fired()
        return fired

    def _due_rows(self, session: Session, now) -> list[ProcessInstance]:
        # Strictly earlier: SpiffWorkflow fires a timer only once its due time has passed.
        query = (select(ProcessInstance)
                 .where(ProcessInstance.next_timer_at < now,
                        ProcessInstance.status.in_(("running", "error")))
                 .order_by(ProcessInstance.next_timer_at)
                 .limit(self.batch_size))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=ProcessInstance)
        return list(session.scalars(query).unique().all())

    def _beat(self, session: Session, moved: int) -> None:
        beat = session.get(SweepHeartbeat, self.name) or SweepHeartbeat(name=self.name, fired=0)
        beat.at = self.clock.now()
        beat.fired = (beat.fired or 0) + moved
        session.merge(beat)

    def _batch(self) -> tuple[int, int]:
        now = self.clock.now()
        with self.session_factory() as session:
            try:
                rows = self._due_rows(session, now)
                service = self.service_factory(session)
                service.batch_mode = True
                with session.no_autoflush:
                    kept = self.prefetch(session, rows) if self.prefetch and rows else None  # noqa: F841
                    service.prefetch_open_tasks([r.id for r in rows])
                    moved = sum(1 for row in rows if service.fire_due_timers(row))
                self._beat(session, moved)
                session.commit()
                return moved, len(rows)
            except Exception:  # noqa: BLE001 - any failure: redo the batch the careful way
                session.rollback()
                log.info("timer sweep: fast batch failed, redoing it one instance at a time", exc_info=True)
        return self._careful_batch(now)

    def _careful_batch(self, now) -> tuple[int, int]:
        with self.session_factory() as session:
            rows = self._due_rows(session, now)
            service = self.service_factory(session)
            moved = 0
            for row in rows:
                try:
                    with session.begin_nested():
                        if service.fire_due_timers(row):
                            moved += 1
                except ConflictError:
                    continue  # a person completed a task of it meanwhile; next sweep sees it
                except Exception:  # noqa: BLE001 - one broken instance must not stop the others
                    log.exception("timer sweep: instance %s failed", row.id)
                    # Its timer stays due; push it back so we do not spin on it.
                    with session.begin_nested():
                        row.next_timer_at = now.replace(microsecond=0) + _RETRY_DELAY
            self._beat(session, moved)
            session.commit()
            return moved, len(rows)


class SweepThread(threading.Thread):
    """Runs a sweep every `interval` seconds in the embedded server."""

    def __init__(self, sweep: TimerSweep, interval: float = 1.0):
        super().__init__(name="ioc-timer-sweep", daemon=True)
        self.sweep = sweep
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:  # noqa: D102
        while not self._stop_event.is_set():
            try:
                self.sweep.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the thread
                log.exception("timer sweep failed; trying again")
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to end after its current sweep."""
        self._stop_event.set()
