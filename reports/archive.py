"""The archive of PDF reports: asking for one, making it (in a Celery task), listing and downloading.

A report is asked for (`request_report`: a row in state "queued", committed) and made elsewhere
(`make_report`, run by the Celery task `ioc.make_report`, or at once in the embedded mode): the row goes to
"running", its progress is written at each stage of reports.render.render_report and handed to `on_progress`
(the web layer pushes it to the requester's pages over Socket.IO), and the PDF is stored with its sha256, size,
page count, headline figures and the parameters that made it ("done"), or the reason it could not be made is
kept as a message ("failed").

An archived report is never made again: `make_report` leaves a done row alone, and making the same report again
is a new row with its own number (`find_done` lets a page offer the copy already archived instead).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.clock import SYSTEM_CLOCK, Clock, using
from engine.i18n import Text, from_json, t, to_json
from reports.catalog import ReportParams
from reports.i18n import translator
from reports.models import ReportArchive

log = logging.getLogger(__name__)

# A row left "running" longer than this by a worker that died is made by the next task that takes it.
STALE_AFTER = timedelta(minutes=15)
NUMBER_SUFFIX = "BC-IOC"

Progress = Callable[[dict[str, Any]], None]


class ArchiveError(Exception):
    """A report that cannot be asked for or made; `message` says why (a Text)."""

    def __init__(self, message: Text):
        super().__init__(str(message))
        self.message = message


def document_number(archive_id: int) -> str:
    """The number printed under the issuing body: "12/BC-IOC" (the archive's row id: unique, never reused)."""
    return f"{archive_id:02d}/{NUMBER_SUFFIX}"


def request_report(session: Session, params: ReportParams, requested_by: str, *, now: datetime,
                   origin: str = "on_demand", subscription_id: int | None = None,
                   commit: bool = True) -> ReportArchive:
    """A new "queued" row for the report `params` (validated by catalog.validate_params) asked by `requested_by`."""
    row = ReportArchive(report_type=params.type, unit_code=params.unit, period_key=params.period,
                        case_code=params.case, language=params.language, params=params.as_dict(), origin=origin,
                        subscription_id=subscription_id, requested_by=requested_by, requested_at=now, state="queued",
                        percent=0, step=to_json(t("Waiting for its turn")))
    session.add(row)
    session.flush()
    row.number = document_number(row.id)
    if commit:
        session.commit()
    return row


def find_done(session: Session, params: ReportParams) -> ReportArchive | None:
    """The newest archived (done) report made of exactly these parameters, if any."""
    rows = session.scalars(select(ReportArchive).where(
        ReportArchive.state == "done", ReportArchive.report_type == params.type,
        _equal(ReportArchive.unit_code, params.unit), _equal(ReportArchive.period_key, params.period),
        _equal(ReportArchive.case_code, params.case), ReportArchive.language == params.language)
        .order_by(ReportArchive.id.desc()))
    wanted = params.as_dict()
    return next((row for row in rows if row.params == wanted), None)


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


# ---------------------------------------------------------------------------------------------- making
def status_of(row: ReportArchive, language: str = "vi") -> dict[str, Any]:
    """A row's progress as the requester's page hears it (texts in `language`)."""
    translate = translator(language)
    labels = {"queued": t("Waiting for its turn"), "running": t("Being made"), "done": t("Ready"),
              "failed": t("Failed")}
    return {"job": row.id, "state": row.state, "state_label": translate(labels[row.state]),
            "percent": row.percent, "step": translate(from_json(row.step)) if row.step else "",
            "error": translate(from_json(row.error)) if row.error else None,
            "sha256": row.sha256, "pages": row.pages}


def _claim(session_factory: sessionmaker, archive_id: int, now: datetime, task_id: str | None) -> bool:
    """Take a queued row (or one left running by a dead worker) for this worker: a conditional update."""
    with session_factory() as session:
        taken = session.execute(
            update(ReportArchive)
            .where(ReportArchive.id == archive_id,
                   or_(ReportArchive.state == "queued",
                       (ReportArchive.state == "running") & (ReportArchive.started_at < now - STALE_AFTER)))
            .values(state="running", started_at=now, percent=1, step=to_json(t("Collecting the figures")),
                    task_id=task_id, error=None)
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
        return bool(taken)


def make_report(session_factory: sessionmaker, archive_id: int, *, clock: Clock = SYSTEM_CLOCK, files: Any = None,
                on_progress: Progress | None = None, task_id: str | None = None) -> ReportArchive | None:
    """Make the PDF of a queued archive row, writing and announcing its progress; the row as it ends.

    A row already done (or being made by another live worker) is left as it is: an archived PDF is never made
    again. A failure is kept on the row as a message (the requester's page says why) and not raised.
    """
    from reports.render import render_report

    now = clock.now()
    if not _claim(session_factory, archive_id, now, task_id):
        with session_factory() as session:
            row = session.get(ReportArchive, archive_id)
            if row is not None:
                session.expunge(row)
            return row

    def write(session: Session, **values: Any) -> None:
        # Committed by the rendering's own session: on SQLite every transaction holds the write lock, so a second
        # session could not write while the rendering's is open.
        session.execute(update(ReportArchive).where(ReportArchive.id == archive_id, ReportArchive.state == "running")
                        .values(**values).execution_options(synchronize_session=False))
        session.commit()
        session.expire_all()  # the factory's sessions keep objects after a commit: read the row as written
        row = session.get(ReportArchive, archive_id)
        if on_progress is not None and row is not None:
            try:
                on_progress(status_of(row, row.language))
            except Exception:  # noqa: BLE001 - a lost push never stops the report; the page asks for the status
                log.warning("report %s: progress not pushed", archive_id, exc_info=True)

    with session_factory() as session:
        write(session, percent=1)
        row = session.get(ReportArchive, archive_id)
        params = ReportParams(**row.params)
        number = row.number or document_number(archive_id)
        translate = translator(params.language)
        try:
            with using(clock):
                report = render_report(session, params, translate, number=number, issued_at=now, files=files,
                                       progress=lambda percent, step: write(session, step=to_json(step),
                                                                            percent=max(1, min(99, int(percent)))))
        except Exception as exc:  # noqa: BLE001 - any failure is the requester's to read, the trace the log's
            log.exception("report %s (%s) could not be made", archive_id, params.as_dict())
            session.rollback()
            write(session, state="failed", finished_at=clock.now(),
                  error=to_json(t("the report could not be made (%(error)s)", error=type(exc).__name__)))
            return get(session, archive_id)
        session.rollback()  # the rendering only read
        write(session, state="done", percent=100, step=to_json(t("Done")), finished_at=clock.now(), pdf=report.pdf,
              sha256=report.sha256, size=len(report.pdf), pages=report.pages, title=report.title[:500],
              summary=report.summary)
        return get(session, archive_id)


def store_rendered(session: Session, row: ReportArchive, report: Any, now: datetime) -> None:
    """Keep a rendered report (reports.render.RenderedReport) on its row, done (the caller commits)."""
    assert hashlib.sha256(report.pdf).hexdigest() == report.sha256
    row.state, row.percent, row.step, row.finished_at = "done", 100, to_json(t("Done")), now
    row.pdf, row.sha256, row.size, row.pages = report.pdf, report.sha256, len(report.pdf), report.pages
    row.title, row.summary = report.title[:500], report.summary


def stale_requests(session: Session, now: datetime) -> list[int]:
    """Rows whose making was lost: queued or left running by a dead worker for longer than STALE_AFTER (the
    planning run queues them again; a second task for a row that is being made changes nothing)."""
    limit = now - STALE_AFTER
    found = list(session.scalars(select(ReportArchive.id).where(
        ReportArchive.origin == "on_demand",
        or_((ReportArchive.state == "queued") & (ReportArchive.requested_at < limit),
            (ReportArchive.state == "running") & (ReportArchive.started_at < limit)))
        .order_by(ReportArchive.id)))
    session.rollback()
    return found


# ---------------------------------------------------------------------------------------------- reading
def get(session: Session, archive_id: int) -> ReportArchive | None:
    """One row (without its PDF loaded), as stored now, detached so it can be read after the session ends."""
    row = session.get(ReportArchive, archive_id, populate_existing=True)
    if row is not None:
        session.expunge(row)
    return row


def pdf_of(session: Session, archive_id: int) -> tuple[ReportArchive, bytes] | None:
    """A done report and its PDF, exactly as archived (None when there is none, or it is not done)."""
    row = session.get(ReportArchive, archive_id, populate_existing=True)
    if row is None or row.state != "done" or row.pdf is None:
        return None
    return row, row.pdf


def file_name(row: ReportArchive) -> str:
    """A download's file name: bao-cao-<type>-<unit>-<period>-<id>.pdf."""
    parts = ("bao-cao", row.report_type, row.unit_code, row.period_key, row.case_code, str(row.id))
    return "-".join(p for p in parts if p) + ".pdf"


@dataclass(frozen=True)
class ArchivePage:
    """A page of the archive, newest first."""

    rows: list[ReportArchive]
    total: int


def list_archive(session: Session, *, units: Iterable[str] | None = None, report_type: str | None = None,
                 unit: str | None = None, period: str | None = None, requested_by: str | None = None,
                 origin: str | None = None, states: Iterable[str] = ("done",), limit: int = 50,
                 offset: int = 0) -> ArchivePage:
    """Archived reports, newest first, filtered; `units` (the reader's view) keeps reports of those units and
    reports of no unit (a case dossier: its own page checks the case)."""
    conditions: list[Any] = [ReportArchive.state.in_(list(states))]
    if units is not None:
        conditions.append(or_(ReportArchive.unit_code.is_(None), ReportArchive.unit_code.in_(sorted(set(units)))))
    for column, value in ((ReportArchive.report_type, report_type), (ReportArchive.unit_code, unit),
                          (ReportArchive.period_key, period), (ReportArchive.requested_by, requested_by),
                          (ReportArchive.origin, origin)):
        if value:
            conditions.append(column == value)
    total = session.scalar(select(func.count()).select_from(ReportArchive).where(*conditions)) or 0
    rows = list(session.scalars(select(ReportArchive).where(*conditions)
                                .order_by(ReportArchive.id.desc()).limit(limit).offset(offset)))
    for row in rows:
        session.expunge(row)
    return ArchivePage(rows, total)
