"""The leaders' reports from the web layer: the Celery tasks' work, queueing it, and the progress pushes.

- `ioc.make_report(archive_id)` makes a PDF asked for on the leaders' page (reports.archive.make_report); each
  stage is pushed to the requester's pages (the room `user:<username>`, event "report") — from a worker through
  the Redis message queue, in the embedded mode straight to this server's clients. In the embedded mode (eager
  Celery) `enqueue_report` runs it in a thread, so the page that asked is already listening.
- `ioc.plan_report_deliveries()` (Celery beat, every REPORT_SCHEDULE_INTERVAL seconds) adds the due slots'
  delivery rows and queues `ioc.deliver_report` for each row due, including those whose worker died (its lease
  ran out).
- `ioc.deliver_report(delivery_id)` delivers one slot's report exactly once (reports.delivery).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, url_for
from werkzeug.routing import BuildError

from reports import archive, delivery, schedules
from reports.catalog import ReportParams
from reports.models import ReportArchive
from webapp.runtime import Runtime

log = logging.getLogger(__name__)

PROGRESS_EVENT = "report"


def link_for(app: Flask) -> Callable[[int], str]:
    """The absolute address of an archived PDF on the site (PUBLIC_URL + the leaders' download route)."""
    base = str(app.config["PUBLIC_URL"]).rstrip("/")

    def link(archive_id: int) -> str:
        try:
            with app.test_request_context():
                path = url_for("leaders.download", report_id=archive_id)
        except BuildError:
            path = f"/leaders/reports/{archive_id}.pdf"
        return base + path

    return link


def deliverer(app: Flask, rt: Runtime) -> delivery.Deliverer:
    """The deliverer over the application's database, mailer and clock."""
    return delivery.Deliverer(rt.session_factory, rt.handlers["email"], link_for(app), rt.clock,
                              after_commit=rt.enqueue_outbox, files=rt.files,
                              lease=timedelta(seconds=float(app.config["REPORT_LEASE_SECONDS"])))


def _pusher(app: Flask, username: str) -> Callable[[dict[str, Any]], None]:
    live = app.extensions.get("ioc_live")
    link = link_for(app)

    def push(status: dict[str, Any]) -> None:
        if live is None:
            return
        if status["state"] == "done":
            status = {**status, "download_url": link(status["job"]).removeprefix(
                str(app.config["PUBLIC_URL"]).rstrip("/"))}
        live.emit(PROGRESS_EVENT, status, [f"user:{username}"])

    return push


# ---------------------------------------------------------------------------------------------- the tasks' work
def make(app: Flask, rt: Runtime, archive_id: int, task_id: str | None = None) -> str | None:
    """Make an asked-for PDF, pushing its progress to the requester; the row's final state."""
    with rt.session_factory() as session:
        row = session.get(ReportArchive, archive_id)
        username = row.requested_by if row is not None else ""
    done = archive.make_report(rt.session_factory, archive_id, clock=rt.clock, files=rt.files,
                               on_progress=_pusher(app, username), task_id=task_id)
    return done.state if done is not None else None


def plan(app: Flask, rt: Runtime, queue: Callable[[int], Any], queue_report: Callable[[int], Any] | None = None,
         ) -> schedules.Plan:
    """Add the due delivery rows and queue each row due (`queue(delivery_id)`); and queue again the PDFs asked
    for whose making was lost (`queue_report(archive_id)`: a worker died, the broker lost the task)."""
    with rt.session_factory() as session:
        planned = schedules.plan_deliveries(session, rt.clock.now())
        lost = archive.stale_requests(session, rt.clock.now()) if queue_report else []
    for archive_id in lost:
        try:
            queue_report(archive_id)
        except Exception:  # noqa: BLE001 - the next planning run queues it again
            log.warning("report %s not queued again", archive_id, exc_info=True)
    for delivery_id in planned.due:
        try:
            queue(delivery_id)
        except Exception:  # noqa: BLE001 - the broker down: the next planning run queues it again
            log.warning("report delivery %s not queued; the next planning run will", delivery_id, exc_info=True)
    return planned


# ---------------------------------------------------------------------------------------------- from the pages
def enqueue_report(archive_id: int) -> None:
    """Queue the making of an asked-for PDF (a thread of this process in the embedded mode)."""
    from webapp.tasks import make_report

    app = current_app._get_current_object()
    if app.config["CELERY_EAGER"]:
        thread = threading.Thread(target=lambda: make_report.apply(args=(archive_id,)),
                                  name=f"report-{archive_id}", daemon=True)
        thread.start()
        app.extensions.setdefault("ioc_report_threads", []).append(thread)
        return
    make_report.delay(archive_id)


def ask_for_report(session: Any, params: ReportParams, username: str) -> ReportArchive:
    """A new archive row for `params` asked by `username`, its making queued (after the row committed)."""
    rt: Runtime = current_app.extensions["ioc"]
    row = archive.request_report(session, params, username, now=rt.clock.now())
    enqueue_report(row.id)
    return row


def retry_delivery(session: Any, delivery_id: int, user_id: int | None) -> bool:
    """Try a failed delivery again now (a user's own, or any for `user_id` None: an admin); queued at once."""
    from webapp.tasks import deliver_report

    rt: Runtime = current_app.extensions["ioc"]
    if not delivery.retry(session, delivery_id, rt.clock.now(), user_id):
        return False
    try:
        deliver_report.delay(delivery_id)
    except Exception:  # noqa: BLE001 - the planning run queues it
        log.warning("report delivery %s not queued; the next planning run will", delivery_id, exc_info=True)
    return True


# ---------------------------------------------------------------------------------------------- the embedded mode
class ScheduleThread(threading.Thread):
    """Celery beat's planning run in the embedded server (eager Celery, no beat): every `interval` seconds the due
    slots are planned and delivered in this thread."""

    def __init__(self, app: Flask, interval: float):
        super().__init__(name="ioc-report-schedules", daemon=True)
        self.app, self.interval = app, interval
        self._stop_event = threading.Event()

    def run(self) -> None:  # noqa: D102
        from webapp.tasks import plan_report_deliveries

        while not self._stop_event.wait(self.interval):
            try:
                plan_report_deliveries.apply()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the thread
                log.exception("planning the subscribed reports failed; trying again")

    def stop(self) -> None:
        """Ask the thread to end after its current run."""
        self._stop_event.set()


def start_schedule_thread(app: Flask) -> ScheduleThread | None:
    """In the embedded mode (eager Celery, the sweep in a thread) run the subscriptions' planning in a thread."""
    if not app.config["CELERY_EAGER"] or app.config["TIMER_SWEEP"] != "thread":
        return None
    thread = ScheduleThread(app, float(app.config["REPORT_SCHEDULE_INTERVAL"]))
    thread.start()
    app.extensions["ioc_report_schedules"] = thread
    return thread
