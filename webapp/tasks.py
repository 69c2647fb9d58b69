"""Celery tasks: thin edges over the engine's sweep and outbox."""

from __future__ import annotations

from celery import shared_task

from webapp.runtime import runtime
from workflows.designer.migration import run_migration_job


@shared_task(name="ioc.sweep_timers", ignore_result=True)
def sweep_timers() -> int:
    """Fire due BPMN timers (Celery beat runs this every second)."""
    return runtime().sweep().run_once()


@shared_task(name="ioc.deliver_outbox", ignore_result=True)
def deliver_outbox() -> int:
    """Deliver pending outbox messages (queued after each commit, and periodically)."""
    return runtime().outbox().deliver_pending()


@shared_task(name="ioc.migrate_instances", ignore_result=True)
def migrate_instances(job_id: int) -> int:
    """Move the instances of a designer's migration job, one transaction each (eager in the embedded mode)."""
    rt = runtime()
    return run_migration_job(rt.session_factory, rt.services, rt.clock, job_id).moved


@shared_task(name="ioc.process_alerts", ignore_result=True)
def process_alerts(retry_failed: bool = False) -> int:
    """Turn the pending alert receipts into alerts and cases (after each webhook call, and periodically with
    `retry_failed` for the receipts that failed)."""
    from webapp.alert_jobs import alert_processor

    return alert_processor(runtime()).run(retry_failed=retry_failed).alerts


@shared_task(name="ioc.evaluate_kpi", ignore_result=True, bind=True, max_retries=3, default_retry_delay=30)
def evaluate_kpi(self, value_ids: list[int]) -> int:
    """Evaluate indicator values against the deployed rule table, after the ingestion that stored them committed
    (webapp/monitoring_jobs.py). A failure is logged and retried; the values also stay to be evaluated by the sweep."""
    import logging

    from workflows.monitoring.evaluation import Evaluator

    rt = runtime()
    try:
        with rt.session_factory() as session:
            return Evaluator(rt.services(session), rt.clock).evaluate(value_ids).values
    except Exception as exc:
        logging.getLogger(__name__).exception("evaluating %s indicator values failed", len(value_ids))
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc) from exc


@shared_task(name="ioc.make_report", ignore_result=True, bind=True)
def make_report(self, archive_id: int) -> str | None:
    """Make a PDF report asked for on the leaders' page, its progress pushed to the requester (webapp/report_jobs.py)."""
    from flask import current_app

    from webapp.report_jobs import make

    return make(current_app._get_current_object(), runtime(), archive_id, task_id=self.request.id)


@shared_task(name="ioc.plan_report_deliveries", ignore_result=True)
def plan_report_deliveries() -> int:
    """Add the subscriptions' due delivery rows and queue each one due, and the PDFs asked for whose making was
    lost (Celery beat, every minute)."""
    from flask import current_app

    from webapp.report_jobs import plan

    return len(plan(current_app._get_current_object(), runtime(), deliver_report.delay, make_report.delay).due)


@shared_task(name="ioc.deliver_report", ignore_result=True)
def deliver_report(delivery_id: int) -> str:
    """Deliver one subscription's report for one slot, exactly once (reports/delivery.py; acks_late)."""
    from flask import current_app

    from webapp.report_jobs import deliverer

    return deliverer(current_app._get_current_object(), runtime()).deliver(delivery_id)


@shared_task(name="ioc.retry_camera_incidents", ignore_result=True)
def retry_camera_incidents() -> int:
    """Open the cases of the camera incidents kept without one whose next try has come (Celery beat, every
    CAMERA_RETRY_INTERVAL seconds; the vision runners try them too): the number opened."""
    from workflows.cameras.incidents import CameraIncidents

    rt = runtime()
    with rt.session_factory() as session:
        sink = CameraIncidents(session, rt.clock, services_factory=rt.services, after_commit=rt.enqueue_outbox)
        return sink.retry_due()[0]
