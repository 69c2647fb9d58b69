"""The engine's notion of "now", which tests can control.

SpiffWorkflow reads `datetime.now()` inside its timer module to start and check
timers. We install a `datetime` subclass there whose `now()` asks the clock of the
current context, so a test can move time forward without sleeping and the timer
maths stays SpiffWorkflow's own.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (for tests and benchmarks)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The frozen time."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (hours=2)."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a given aware moment."""
        self._now = moment


SYSTEM_CLOCK = SystemClock()
_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("ioc_clock", default=SYSTEM_CLOCK)


def now() -> datetime:
    """Now, by the clock of the current context."""
    return _current.get().now()


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Run a block with `clock` as the engine's clock."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class _ClockedDatetime(datetime):
    """`datetime` whose now() follows the context clock; installed into SpiffWorkflow."""

    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = _current.get()
        if current is SYSTEM_CLOCK:
            return datetime.now(tz)
        moment = current.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def install() -> None:
    """Point SpiffWorkflow's timer module at the context clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockedDatetime
