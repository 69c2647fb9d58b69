"""What the leaders' pages show of the archive, the jobs, the subscriptions and the deliveries (reports.archive,
reports.schedules, reports.delivery and the Celery tasks of webapp.report_jobs), as plain rows in the reader's
language — so the templates do not depend on how those services store things.

`backend()` is the one object the views talk to; every method checks what the reader may see (their own jobs,
subscriptions and deliveries; archived reports of units in their view).

Until the archive and schedule services are installed, `LocalReports` stands in for the PDFs on demand: a PDF is
made in a thread of the web process (reports.render.render_report, its progress pushed to the requester's pages
over Socket.IO) and archived as files — `<FILES_DIR>/leaders-reports/<n>.pdf` with `<n>.json` (its parameters,
who asked, when, sha256, pages; also the job's state, so every web process of the machine reads it). A report
of a period that has ended is made once: asking again offers the archived copy. Subscriptions need the schedule
service: without it their page is not offered.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from engine.clock import using
from engine.i18n import Named, t
from reports import catalog
from reports.catalog import ReportParams
from reports.i18n import translator
from reports.periods import LOCAL, ReportPeriod
from workflows.access import Actor
from workflows.models import AdminUnit, User

log = logging.getLogger(__name__)


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




STATE_LABELS = {"queued": t("Waiting for its turn"), "running": t("Being made"), "done": t("Ready"),
                "failed": t("Failed")}


class LocalReports:
    """PDFs on demand made in a thread and archived as files (see the module's docstring)."""

    PROGRESS_EVENT = "report"
    subscriptions_available = False
    store: SubscriptionStore | None = None

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ records
    def _path(self, number: int, suffix: str) -> Path:
        return self.folder / f"{number}{suffix}"

    def _read(self, number: int) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(number, ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write(self, record: dict[str, Any]) -> None:
        temporary = self._path(record["id"], ".json.tmp")
        temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self._path(record["id"], ".json"))

    def _records(self) -> list[dict[str, Any]]:
        found = []
        for path in self.folder.glob("*.json"):
            if path.stem.isdigit():
                record = self._read(int(path.stem))
                if record:
                    found.append(record)
        return sorted(found, key=lambda r: -r["id"])

    def _new_record(self, record: dict[str, Any]) -> int:
        """Take the next free number (an exclusive create, so two processes never share one)."""
        number = max((r["id"] for r in self._records()), default=0) + 1
        while True:
            try:
                fd = os.open(self._path(number, ".json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                number += 1
                continue
            os.close(fd)
            record["id"] = number
            self._write(record)
            return number

    # ------------------------------------------------------------------ making a PDF
    def start(self, session: Any, who: Actor, params: ReportParams) -> tuple[int, bool]:
        """Start making the report `params` names; (its number, True when an archived copy is offered instead:
        a report of a period that has ended is made once, and asked again it is that copy)."""
        rt = current_app.extensions["ioc"]
        period = params.report_period()
        if period is not None and period.utc_range()[1] <= rt.clock.now():
            for record in self._records():
                if record["params"] == params.as_dict() and record["state"] == "done":
                    return record["id"], True
        number = self._new_record({
            "params": params.as_dict(), "username": who.username, "requested_by": who.full_name,
            "created_at": rt.clock.now().isoformat(), "state": "queued", "percent": 0, "step": "", "error": None})
        app = current_app._get_current_object()
        threading.Thread(target=self._make, args=(app, number), name=f"leaders-report-{number}", daemon=True).start()
        return number, False

    def _make(self, app: Any, number: int) -> None:
        """Make the PDF in its own application context and session, pushing each stage to the requester."""
        from reports.render import render_report
        from webapp.extensions import db

        record = self._read(number) or {}
        params = ReportParams(**record["params"])
        translate = translator(params.language)
        live = app.extensions["ioc_live"]
        rooms = [f"user:{record['username']}"]

        def push(state: str, percent: int, step: str, **extra: Any) -> None:
            record.update(state=state, percent=percent, step=step, **extra)
            self._write(record)
            live.emit(self.PROGRESS_EVENT, {"job": number, "state": state, "percent": percent, "step": step,
                                            "state_label": translate(STATE_LABELS[state]), **extra}, rooms)

        with app.app_context():
            rt = app.extensions["ioc"]
            try:
                with using(rt.clock):
                    push("running", 1, translate(t("Collecting the figures")))
                    report = render_report(db.session, params, translate, number=f"{number:02d}/BC-IOC",
                                           issued_at=rt.clock.now(), files=rt.files,
                                           progress=lambda percent, step: push("running", percent, translate(step)))
                self._path(number, ".pdf").write_bytes(report.pdf)
                record.update(sha256=report.sha256, pages=report.pages, title=report.title,
                              finished_at=rt.clock.now().isoformat())
                push("done", 100, translate(t("Done")))
            except Exception as exc:  # the reason is shown on the job's page; the log keeps the trace
                log.exception("leaders' report %s failed", number)
                push("failed", int(record.get("percent") or 0), record.get("step") or "",
                     error=translate(t("the report could not be made (%(error)s)", error=type(exc).__name__)))
            finally:
                db.session.remove()

    # ------------------------------------------------------------------ reading
    def job(self, session: Any, who: Actor, job_id: int, translate: Any) -> JobView | None:
        """A job the reader started (an administrator sees every one)."""
        record = self._read(job_id)
        if record is None or (record["username"] != who.username and not who.is_admin):
            return None
        params = record["params"]
        done = record["state"] == "done"
        return JobView(id=record["id"], title=record.get("title") or _describe(session, params, translate),
                       type=params["type"], unit=params.get("unit"), period=params.get("period"),
                       state=record["state"], state_label=translate(STATE_LABELS[record["state"]]),
                       percent=int(record.get("percent") or 0), step=record.get("step") or "",
                       error=record.get("error"), sha256=record.get("sha256"), pages=record.get("pages"),
                       download_url=url_for("leaders.download", report_id=record["id"]) if done else None)

    def archived(self, session: Any, who: Actor, codes: set[str], translate: Any) -> list[ArchiveRow]:
        """The PDFs made of units in the reader's view, newest first."""
        names = _names(session)
        rows = []
        for record in self._records():
            params = record["params"]
            if record["state"] != "done" or (params.get("unit") and params["unit"] not in codes):
                continue
            period = ReportPeriod.parse(params["period"]) if params.get("period") else None
            rows.append(ArchiveRow(
                id=record["id"], type_name=_type_name(params["type"], translate),
                unit_name=translate(names.get(params.get("unit") or "", params.get("unit") or "")),
                period_label=translate(period.label()) if period else "", language=params.get("language") or "",
                requested_by=record.get("requested_by") or record["username"],
                made_at=datetime.fromisoformat(record.get("finished_at") or record["created_at"]),
                pages=record.get("pages"), sha256=record.get("sha256") or "",
                download_url=url_for("leaders.download", report_id=record["id"])))
        return rows

    def pdf(self, session: Any, who: Actor, report_id: int) -> tuple[str | None, str, bytes] | None:
        """(the report's unit, a file name, the PDF as archived) of a finished report."""
        record = self._read(report_id)
        path = self._path(report_id, ".pdf")
        if record is None or record["state"] != "done" or not path.exists():
            return None
        params = record["params"]
        name = "-".join(str(v) for v in ("bao-cao", params["type"], params.get("unit"), params.get("period"),
                                         record["id"]) if v)
        return params.get("unit"), f"{name}.pdf", path.read_bytes()


def _type_name(code: str, translate: Any) -> str:
    types = catalog.report_types()
    return translate(types[code].name) if code in types else code


def _names(session: Any) -> dict[str, Named]:
    return {code: Named(name, name_en) for code, name, name_en in
            session.execute(AdminUnit.__table__.select().with_only_columns(
                AdminUnit.code, AdminUnit.name, AdminUnit.name_en))}


DELIVERY_LABELS = {"pending": t("waiting"), "sending": t("being sent"), "sent": t("sent"),
                   "skipped": t("skipped: nothing changed"), "retry": t("failed, will be tried again"),
                   "failed": t("failed")}


class SubscriptionStore:
    """A leader's subscriptions and their deliveries, in the schedule service's tables (reports.models).

    Only the owner sees, changes or deletes a subscription; a new one, a changed schedule and a resumption count
    their slots from now (`schedule_from`), so none is delivered for a moment before it was asked for."""

    def __init__(self, models: Any):
        self.m = models

    def _mine(self, session: Any, who: Actor, subscription_id: int) -> Any:
        found = session.get(self.m.ReportSubscription, subscription_id)
        return found if found is not None and found.user_id == who.user_id else None

    def subscriptions(self, session: Any, who: Actor, translate: Any, labels: dict[str, Any]) -> list[SubscriptionRow]:
        """The reader's subscriptions, newest first."""
        names = _names(session)
        model = self.m.ReportSubscription
        found = []
        for sub in session.query(model).filter(model.user_id == who.user_id).order_by(model.id.desc()):
            when = (translate(labels["weekdays"][sub.weekday]) if sub.frequency == "weekly" and sub.weekday is not None
                    else translate(t("day %(day)s", day=sub.day_of_month)) if sub.day_of_month else "")
            found.append(SubscriptionRow(
                id=sub.id, type_name=_type_name(sub.report_type, translate),
                unit_name=translate(names.get(sub.unit_code or "", sub.unit_code or "")),
                frequency_label=translate(labels["frequencies"].get(sub.frequency, sub.frequency)),
                time_label=f"{when} {sub.hour:02d}:{sub.minute:02d}".strip(), only_changed=sub.only_changed,
                paused=not sub.active, next_label=_local_label(self.next_slot(sub, _now()))))
        return found

    def next_slot(self, sub: Any, now: datetime) -> datetime | None:
        """When the subscription's next report is due (unknown without the schedule service)."""
        return None

    def subscription(self, session: Any, who: Actor, subscription_id: int) -> dict[str, Any] | None:
        """One of the reader's subscriptions as its form shows it."""
        sub = self._mine(session, who, subscription_id)
        if sub is None:
            return None
        return {"type": sub.report_type, "unit": sub.unit_code, "frequency": sub.frequency,
                "weekday": "" if sub.weekday is None else str(sub.weekday),
                "day_of_month": "" if sub.day_of_month is None else str(sub.day_of_month),
                "time": f"{sub.hour:02d}:{sub.minute:02d}", "language": sub.language, "only_changed": sub.only_changed}

    def subscribe(self, session: Any, who: Actor, form: Any, now: datetime) -> int:
        sub = self.m.ReportSubscription(user_id=who.user_id, created_at=now, updated_at=now, schedule_from=now)
        self._fill(sub, form)
        session.add(sub)
        session.flush()
        return sub.id

    def update(self, session: Any, who: Actor, subscription_id: int, form: Any, now: datetime) -> bool:
        sub = self._mine(session, who, subscription_id)
        if sub is None:
            return False
        before = (sub.frequency, sub.hour, sub.minute, sub.weekday, sub.day_of_month)
        self._fill(sub, form)
        if (sub.frequency, sub.hour, sub.minute, sub.weekday, sub.day_of_month) != before:
            sub.schedule_from = now
        sub.updated_at = now
        return True

    @staticmethod
    def _fill(sub: Any, form: Any) -> None:
        sub.report_type, sub.unit_code, sub.frequency = form.type, form.unit, form.frequency
        sub.hour, sub.minute, sub.language, sub.only_changed = form.hour, form.minute, form.language, form.only_changed
        sub.weekday = form.weekday if form.frequency == "weekly" else None
        sub.day_of_month = form.day_of_month if form.frequency == "monthly" else None

    def pause(self, session: Any, who: Actor, subscription_id: int, paused: bool, now: datetime) -> bool:
        sub = self._mine(session, who, subscription_id)
        if sub is None:
            return False
        if sub.active == paused:  # a change
            sub.active = not paused
            if not paused:
                sub.schedule_from = now  # resumed: no catching up on what was missed while paused
            sub.updated_at = now
        return True

    def delete(self, session: Any, who: Actor, subscription_id: int) -> bool:
        sub = self._mine(session, who, subscription_id)
        if sub is None:
            return False
        session.delete(sub)
        return True

    def deliveries(self, session: Any, who: Actor, translate: Any, limit: int = 50) -> list[DeliveryRow]:
        """The latest deliveries of the reader's subscriptions."""
        from engine.i18n import from_json

        m = self.m
        names = _names(session)
        query = (session.query(m.ReportDelivery, m.ReportSubscription)
                 .join(m.ReportSubscription, m.ReportSubscription.id == m.ReportDelivery.subscription_id)
                 .filter(m.ReportSubscription.user_id == who.user_id)
                 .order_by(m.ReportDelivery.slot.desc(), m.ReportDelivery.id.desc()).limit(limit))
        rows = []
        for delivery, sub in query:
            period = _period(delivery.period_key)
            archive = delivery.archive_id
            rows.append(DeliveryRow(
                id=delivery.id, type_name=_type_name(sub.report_type, translate),
                unit_name=translate(names.get(sub.unit_code or "", sub.unit_code or "")),
                period_label=translate(period.label()) if period else delivery.period_key,
                state=delivery.status, state_label=translate(DELIVERY_LABELS.get(delivery.status, delivery.status)),
                at=delivery.sent_at or delivery.updated_at or delivery.slot,
                error=translate(from_json(delivery.last_error)) if delivery.last_error else None,
                can_retry=delivery.status == "failed",
                download_url=url_for("leaders.download", report_id=archive) if archive and self.archive_served
                else None))
        return rows

    archive_served = False  # the download view serves the schedule service's archive once it is wired

    def retry(self, session: Any, who: Actor, delivery_id: int, now: datetime) -> bool:
        """A failed delivery of the reader's, due again now (the beat's next pass sends it)."""
        delivery = session.get(self.m.ReportDelivery, delivery_id)
        if delivery is None or delivery.subscription.user_id != who.user_id or delivery.status != "failed":
            return False
        delivery.status, delivery.next_attempt_at, delivery.attempts = "retry", now, 0
        delivery.updated_at = now
        return True


def _now() -> datetime:
    return current_app.extensions["ioc"].clock.now()


def _local_label(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL).strftime("%H:%M %d/%m/%Y") if moment else None


def _period(key: str | None) -> ReportPeriod | None:
    try:
        return ReportPeriod.parse(key) if key else None
    except ValueError:
        return None


class ServiceSubscriptions(SubscriptionStore):
    """The subscriptions through the schedule service (reports.schedules, which checks and commits each change)
    and a retry through the delivery service (webapp.report_jobs.retry_delivery, which queues it at once)."""

    def __init__(self, models: Any, schedules: Any, jobs: Any):
        super().__init__(models)
        self.schedules, self.jobs = schedules, jobs
        self.archive_served = True

    def subscribe(self, session: Any, who: Actor, form: Any, now: datetime) -> int:
        return self.schedules.subscribe(session, who.user_id, form, now).id

    def update(self, session: Any, who: Actor, subscription_id: int, form: Any, now: datetime) -> bool:
        row = self.schedules.owned(session, who.user_id, subscription_id)
        if row is None:
            return False
        self.schedules.update_subscription(session, row, form, now)
        return True

    def pause(self, session: Any, who: Actor, subscription_id: int, paused: bool, now: datetime) -> bool:
        row = self.schedules.owned(session, who.user_id, subscription_id)
        if row is None:
            return False
        self.schedules.set_active(session, row, not paused, now)
        return True

    def delete(self, session: Any, who: Actor, subscription_id: int) -> bool:
        row = self.schedules.owned(session, who.user_id, subscription_id)
        if row is None:
            return False
        self.schedules.delete_subscription(session, row)
        return True

    def retry(self, session: Any, who: Actor, delivery_id: int, now: datetime) -> bool:
        return self.jobs.retry_delivery(session, delivery_id, who.user_id)

    def next_slot(self, sub: Any, now: datetime) -> datetime | None:
        if not sub.active:
            return None
        schedule_from = sub.schedule_from
        if schedule_from is not None and schedule_from.tzinfo is None:
            schedule_from = schedule_from.replace(tzinfo=UTC)
        return self.schedules.Schedule.of(sub).next_after(max(now, schedule_from or now))


class ServiceReports:
    """The PDFs on demand through the archive service: a row asked for (reports.archive.request_report), made by
    the Celery task ioc.make_report (webapp.report_jobs, a thread in the embedded mode) whose progress is pushed
    to the requester's pages as "report" events; the archive, its PDFs exactly as stored."""

    subscriptions_available = True

    def __init__(self, archive: Any, jobs: Any, store: ServiceSubscriptions):
        self.archive, self.jobs, self.store = archive, jobs, store
        self.PROGRESS_EVENT = jobs.PROGRESS_EVENT

    def start(self, session: Any, who: Actor, params: ReportParams) -> tuple[int, bool]:
        """Ask for the report `params` names; (its row's id, True when the archived copy of a period that has
        ended is offered instead of making it again)."""
        rt = current_app.extensions["ioc"]
        period = params.report_period()
        if period is not None and period.utc_range()[1] <= rt.clock.now():
            done = self.archive.find_done(session, params)
            if done is not None:
                return done.id, True
        row = self.jobs.ask_for_report(session, params, who.username)
        return row.id, False

    def job(self, session: Any, who: Actor, job_id: int, translate: Any) -> JobView | None:
        """A report the reader asked for (an administrator sees every one)."""
        row = self.archive.get(session, job_id)
        if row is None or (row.requested_by != who.username and not who.is_admin):
            return None
        status = self.archive.status_of(row, _language_of(translate))
        done = row.state == "done"
        return JobView(id=row.id, title=row.title or _describe(session, row.params, translate), type=row.report_type,
                       unit=row.unit_code, period=row.period_key, state=row.state, state_label=status["state_label"],
                       percent=int(row.percent or 0), step=status["step"], error=status["error"], sha256=row.sha256,
                       pages=row.pages,
                       download_url=url_for("leaders.download", report_id=row.id) if done else None)

    def archived(self, session: Any, who: Actor, codes: set[str], translate: Any) -> list[ArchiveRow]:
        """The PDFs of units in the reader's view (reports of no unit, case dossiers, are the case pages'), newest
        first."""
        rows = [r for r in self.archive.list_archive(session, units=codes, limit=100).rows if r.unit_code]
        names = _names(session)
        wanted = sorted({r.requested_by for r in rows})
        people = {username: name for username, name in session.execute(
            select(User.username, User.full_name).where(User.username.in_(wanted)))} if wanted else {}
        return [ArchiveRow(
            id=r.id, type_name=_type_name(r.report_type, translate),
            unit_name=translate(names.get(r.unit_code or "", r.unit_code or "")),
            period_label=translate(_period(r.period_key).label()) if _period(r.period_key) else "",
            language=r.language, requested_by=people.get(r.requested_by, r.requested_by),
            made_at=r.finished_at or r.requested_at, pages=r.pages, sha256=r.sha256 or "",
            download_url=url_for("leaders.download", report_id=r.id)) for r in rows]

    def pdf(self, session: Any, who: Actor, report_id: int) -> tuple[str | None, str, bytes] | None:
        """(the report's unit, its file name, the PDF as archived) of a done report."""
        found = self.archive.pdf_of(session, report_id)
        if found is None:
            return None
        row, content = found
        return row.unit_code, self.archive.file_name(row), content


def _language_of(translate: Any) -> str:
    return getattr(translate, "language", None) or _reader_language()


def _reader_language() -> str:
    from webapp.i18n import reader_language

    return reader_language()


def _describe(session: Any, params: dict[str, Any], translate: Any) -> str:
    """A report's name, unit and period in words (its title once made is the PDF's)."""
    names = _names(session)
    period = _period(params.get("period"))
    return " — ".join(part for part in (
        _type_name(params["type"], translate), translate(names.get(params.get("unit") or "", "")),
        translate(period.label()) if period else "") if part)


def backend() -> LocalReports | ServiceReports | None:
    """The services the PDF and subscription pages use: the archive and schedule services (reports.archive,
    reports.schedules, webapp.report_jobs) when they are installed; until then the files-backed stand-in under
    FILES_DIR, with the subscriptions on the schedule service's tables when those exist."""
    app = current_app._get_current_object()
    found = app.extensions.get("ioc_leaders_reports")
    if found is not None:
        return found
    try:
        import reports.archive as archive
        import reports.models as models
        import reports.schedules as schedules
        import webapp.report_jobs as jobs
    except ImportError:
        pass
    else:
        found = app.extensions["ioc_leaders_reports"] = ServiceReports(
            archive, jobs, ServiceSubscriptions(models, schedules, jobs))
        return found
    if app.config.get("FILES_DIR"):
        found = app.extensions["ioc_leaders_reports"] = LocalReports(Path(app.config["FILES_DIR"]) / "leaders-reports")
        try:
            import reports.models as models
        except ImportError:
            pass
        else:
            found.store = SubscriptionStore(models)
            found.subscriptions_available = True
    return found
