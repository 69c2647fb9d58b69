"""A throwaway database for a test run: the schema from the models, a copy of the live reference data,
the project's real services on it and a clock that moves only when told.

Nothing a run does leaves it: cases, tasks, notifications, publications and outbox rows (e-mails and
pushes) are written to an in-memory SQLite database that nobody delivers from, and that is gone when
the sandbox closes. The live session is only read (units, people and their roles, categories, the
calendar), never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from engine.clock import FrozenClock
from engine.database import make_engine, make_session_factory
from engine.db import Base
from engine.definitions import SpecCache
from engine.models import ProcessDefinition, ProcessInstance
from workflows.calendar.store import working_calendar
from workflows.runtime import Services, make_services, make_sweep

# The live tables a run reads, parents first; the people's password hashes are never copied.
REFERENCE_TABLES = ("admin_unit", "user_account", "user_role", "category", "calendar_exception", "working_hours")
_SECRET_COLUMNS = {"user_account": {"password_hash": None, "failed_logins": 0, "locked_until": None}}
# A clock move fires the timers due on the way one at a time, at their moment; a cycle timer could
# fire forever, so a move stops after this many.
MAX_FIRINGS_PER_MOVE = 500


def _models() -> None:
    import engine.models  # noqa: F401
    import workflows.models  # noqa: F401


def copy_reference_rows(live: Session) -> dict[str, list[dict]]:
    """The live reference rows as plain values, by table (read once per run)."""
    _models()
    tables = Base.metadata.tables
    copied: dict[str, list[dict]] = {}
    for name in REFERENCE_TABLES:
        table = tables[name]
        rows = [dict(r) for r in live.execute(select(table)).mappings()]
        for row in rows:
            row.update(_SECRET_COLUMNS.get(name, {}))
        copied[name] = rows
    return copied


class Sandbox:
    """One test run's database, services and clock (close it when done; `with Sandbox(...)` does)."""

    def __init__(self, reference: Mapping[str, list[dict]], start_at: datetime):
        _models()
        # One connection shared by every session of the run (the sweep's too): an in-memory database
        # lives as long as its connection.
        self.engine = make_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        Base.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("PRAGMA defer_foreign_keys=ON"))  # units name their parents and successors
            for name in REFERENCE_TABLES:
                if reference.get(name):
                    conn.execute(insert(Base.metadata.tables[name]), list(reference[name]))
        self.session_factory = make_session_factory(self.engine)
        self.session: Session = self.session_factory()
        self.clock = FrozenClock(start_at)
        self.started_at = start_at
        self.services: Services = make_services(self.session, self.clock)
        # Parsed specs of the run's own: the process-wide cache keeps every version it saw, and each edit of a
        # draft is a new one; a run parses its files once (its deploy checks them anyway).
        self.services.definitions.cache = SpecCache()
        self.process_key: str | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        """Drop the run's database."""
        self.session.close()
        self.engine.dispose()

    def deploy(self, files: Mapping[str, str]) -> ProcessDefinition:
        """Check and deploy `files` in the sandbox (DeploymentError with every problem when they do not pass)."""
        deployment = self.services.definitions.deploy(dict(files), deployed_by="test-run")
        self.session.commit()
        self.process_key = deployment.definition.process_key
        return deployment.definition

    def start_as(self, channel_process: str) -> None:
        """Make intake start the deployed process even when the channel names another one (a new process)."""
        if self.process_key is None or self.process_key == channel_process:
            return
        original = self.services.instances.start
        key = self.process_key
        # Only this sandbox's service object is changed: intake stays the real one, its process is the draft's.
        self.services.instances.start = lambda _key, data, business_key=None, actor=None: original(  # type: ignore[method-assign]
            key, data, business_key=business_key, actor=actor)

    def next_timer_at(self) -> datetime | None:
        """The earliest timer still waiting in the sandbox."""
        return self.session.scalar(select(func.min(ProcessInstance.next_timer_at))
                                   .where(ProcessInstance.status.in_(("running", "error"))))

    def move_clock(self, to: datetime) -> int:
        """Move the clock to `to`, firing each timer due on the way at its own moment; the number fired.

        A timer due exactly at `to` fires too (the clock then stops one second later): the engine fires a timer
        once its moment has passed, and a designer moving "3 days" onto a 3-day deadline expects it to fire.
        """
        sweep = make_sweep(self.session_factory, self.clock)
        fired = 0
        for _ in range(MAX_FIRINGS_PER_MOVE):
            due = self.next_timer_at()
            if due is None or due > to:
                break
            # The sweep fires what is strictly earlier than now: one second past the timer.
            self.clock.set(max(self.clock.now(), due + timedelta(seconds=1)))
            moved = sweep.run_once()
            self.session.expire_all()
            fired += moved
            if not moved:
                break
        self.clock.set(max(self.clock.now(), to))
        fired += sweep.run_once()
        self.session.expire_all()
        return fired

    def working_day_after(self, moment: datetime) -> datetime:
        """One working day (the office hours of a day) after `moment`, by the copied calendar."""
        return working_calendar(self.session).add_working_days(moment, 1)
