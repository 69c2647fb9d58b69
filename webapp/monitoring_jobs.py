"""Evaluation of reported indicator values from the web layer: queueing it after an ingestion committed.

`enqueue_evaluation` is what the upload pages and the API pass as IngestService's `after_commit`: it queues
Celery task `ioc.evaluate_kpi` with the ids of the values stored or changed (run at once in the embedded
mode). It never fails the upload: when the broker is down or the task fails, the values stay to be evaluated
(their indicator and unit's BreachState is older than the report) and the timer sweep evaluates them within
ten minutes (workflows/runtime.py, CaseSweep._monitoring), with a warning in the log each time.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def enqueue_evaluation(value_ids: list[int]) -> None:
    """Queue the evaluation of `value_ids` (after the commit that stored them)."""
    if not value_ids:
        return
    from webapp.tasks import evaluate_kpi

    try:
        evaluate_kpi.delay([int(i) for i in value_ids])
    except Exception:  # noqa: BLE001 - the broker down, or an eager run that failed: the sweep evaluates them later
        log.warning("evaluation of %s values not queued or failed; the sweep will evaluate them", len(value_ids),
                    exc_info=True)
