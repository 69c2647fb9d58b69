"""What the leaders' pages show of the archive, the jobs, the subscriptions and the deliveries (reports.archive,
reports.schedules, reports.delivery and the Celery tasks of webapp.report_jobs), as plain rows in the reader's
language — so the templates do not depend on how those services store things.

`backend()` is the one object the views talk to; every method checks what the reader may see (their own jobs,
subscriptions and deliveries; archived reports of units in their view).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class JobView:
    """A PDF being made, or made: its progress and, once archived, where to download it."""

    id: int
    title: str
    type: str
    unit: str | None
    period: str | None
    state: str  # queued, running, done, failed
    state_label: str
    percent: int
    step: str
    error: str | None = None
    download_url: str | None = None
    sha256: str | None = None
    pages: int | None = None
    existing: bool = False  # the same report had been archived before: that copy, not a new one


@dataclass(frozen=True)
class ArchiveRow:
    """An archived PDF."""

    id: int
    type_name: str
    unit_name: str
    period_label: str
    language: str
    requested_by: str
    made_at: datetime
    pages: int | None
    sha256: str
    download_url: str


@dataclass(frozen=True)
class SubscriptionRow:
    """A subscription of the reader's."""

    id: int
    type_name: str
    unit_name: str
    frequency_label: str
    time_label: str
    only_changed: bool
    paused: bool
    next_label: str | None


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery of a subscribed report: its state and, when it failed, why."""

    id: int
    type_name: str
    unit_name: str
    period_label: str
    state: str
    state_label: str
    at: datetime | None
    error: str | None
    can_retry: bool
    download_url: str | None


def backend():  # noqa: ANN201 - the service adapter below, once its services exist
    """The adapter over the archive and schedule services; None while they are not installed, and the leaders'
    pages then offer the figures only (the menu hides the PDF and subscription pages, their addresses answer 404)."""
    try:
        import reports.archive  # noqa: F401
        import reports.schedules  # noqa: F401
    except ImportError:
        return None
    return None  # wired once the services' interface is known
