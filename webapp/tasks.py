"""Celery tasks: thin edges over the engine's sweep and outbox."""

from __future__ import annotations

from celery import shared_task

from webapp.runtime import runtime


@shared_task(name="ioc.sweep_timers", ignore_result=True)
def sweep_timers() -> int:
    """Fire due BPMN timers (Celery beat runs this every second)."""
    return runtime().sweep().run_once()


@shared_task(name="ioc.deliver_outbox", ignore_result=True)
def deliver_outbox() -> int:
    """Deliver pending outbox messages (queued after each commit, and periodically)."""
    return runtime().outbox().deliver_pending()
