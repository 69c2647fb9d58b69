"""Alert processing from the web layer: the processor over the application's runtime, and queueing it."""

from __future__ import annotations

from flask import current_app

from workflows.monitoring.alerts import AlertProcessor


def alert_processor(rt) -> AlertProcessor:
    """The alert processor over a Runtime's sessions and services (its outbox delivered after each run)."""
    return AlertProcessor(rt.session_factory, rt.services, rt.clock, after_commit=rt.enqueue_outbox)


def enqueue_alert_processing() -> None:
    """Queue `ioc.process_alerts` after a webhook call committed its receipt (run at once in the embedded mode).

    Never fails the call: the receipt is kept, and the periodic run takes it if this one is not queued or fails.
    """
    if current_app.config["ALERT_PROCESSING"] != "queue":
        return
    from webapp.tasks import process_alerts

    try:
        process_alerts.delay()
    except Exception:  # noqa: BLE001 - the broker down, or an eager run that failed: the periodic run retries
        current_app.logger.warning("alert processing not queued or failed; the periodic run will take the receipts",
                                   exc_info=True)
