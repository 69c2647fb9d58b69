"""What the leaders' pages show of the archive, the jobs, the subscriptions and the deliveries (reports.archive,
reports.schedules, reports.delivery and the Celery tasks of webapp.report_jobs), as plain rows in the reader's
language — so the templates do not depend on how those services store things.

`backend()` is the one object the views talk to; every method checks what the reader may see (their own jobs,
subscriptions and deliveries; archived reports of units in their view).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from engine.i18n import Named, from_json, t
from reports import archive, catalog, schedules
from reports.catalog import ReportParams
from reports.models import ReportArchive, ReportDelivery, ReportSubscription
from reports.periods import LOCAL, ReportPeriod
from webapp import report_jobs
from workflows.access import Actor
from workflows.models import AdminUnit, User


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
    case: str | None = None  # a dossier's case


@dataclass(frozen=True)
class DossierRow:
    """A case's dossier as its page lists it."""

    id: int
    made_at: datetime
    language: str
    requested_by: str
    pages: int | None
    download_url: str


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
    owner: str = ""  # the subscriber's name (on the administrators' list of failed deliveries)


DELIVERY_LABELS = {"pending": t("waiting"), "sending": t("being sent"), "sent": t("sent"),
                   "skipped": t("skipped: nothing changed"), "retry": t("failed, will be tried again"),
                   "failed": t("failed")}


class Subscriptions:
    """A leader's subscriptions, changed through the schedule service (reports.schedules checks and commits each
    change: a new or changed schedule and a resumption count their slots from now), and their deliveries, a failed
    one tried again through webapp.report_jobs.retry_delivery (queued at once). Only the owner sees or changes a
    subscription or a delivery."""

    def subscriptions(self, session: Any, who: Actor, translate: Any, labels: dict[str, Any]) -> list[SubscriptionRow]:
        """The reader's subscriptions, newest first, each with when its next report is due."""
        names = _names(session)
        now = _now()
        found = []
        for sub in sorted(schedules.subscriptions_of(session, who.user_id), key=lambda r: -r.id):
            when = (translate(labels["weekdays"][sub.weekday]) if sub.frequency == "weekly" and sub.weekday is not None
                    else translate(t("day %(day)s", day=sub.day_of_month)) if sub.day_of_month else "")
            found.append(SubscriptionRow(
                id=sub.id, type_name=_type_name(sub.report_type, translate),
                unit_name=translate(names.get(sub.unit_code or "", sub.unit_code or "")),
                frequency_label=translate(labels["frequencies"].get(sub.frequency, sub.frequency)),
                time_label=f"{when} {sub.hour:02d}:{sub.minute:02d}".strip(), only_changed=sub.only_changed,
                paused=not sub.active, next_label=_local_label(self.next_slot(sub, now))))
        return found

    @staticmethod
    def next_slot(sub: ReportSubscription, now: datetime) -> datetime | None:
        """When an active subscription's next report is due."""
        if not sub.active:
            return None
        start = sub.schedule_from or now
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return schedules.Schedule.of(sub).next_after(max(now, start))

    def subscription(self, session: Any, who: Actor, subscription_id: int) -> dict[str, Any] | None:
        """One of the reader's subscriptions as its form shows it."""
        sub = schedules.owned(session, who.user_id, subscription_id)
        if sub is None:
            return None
        return {"type": sub.report_type, "unit": sub.unit_code, "frequency": sub.frequency,
                "weekday": "" if sub.weekday is None else str(sub.weekday),
                "day_of_month": "" if sub.day_of_month is None else str(sub.day_of_month),
                "time": f"{sub.hour:02d}:{sub.minute:02d}", "language": sub.language, "only_changed": sub.only_changed}

    def subscribe(self, session: Any, who: Actor, form: Any, now: datetime) -> int:
        return schedules.subscribe(session, who.user_id, form, now).id

    def update(self, session: Any, who: Actor, subscription_id: int, form: Any, now: datetime) -> bool:
        row = schedules.owned(session, who.user_id, subscription_id)
        if row is None:
            return False
        schedules.update_subscription(session, row, form, now)
        return True

    def pause(self, session: Any, who: Actor, subscription_id: int, paused: bool, now: datetime) -> bool:
        row = schedules.owned(session, who.user_id, subscription_id)
        if row is None:
            return False
        schedules.set_active(session, row, not paused, now)
        return True

    def delete(self, session: Any, who: Actor, subscription_id: int) -> bool:
        row = schedules.owned(session, who.user_id, subscription_id)
        if row is None:
            return False
        schedules.delete_subscription(session, row)
        return True

    def retry(self, session: Any, who: Actor, delivery_id: int, now: datetime) -> bool:
        return report_jobs.retry_delivery(session, delivery_id, who.user_id)

    def deliveries(self, session: Any, who: Actor | None, translate: Any, limit: int = 50) -> list[DeliveryRow]:
        """The latest deliveries of the reader's subscriptions, a failed one with its reason; `who` None: the
        failed ones (and those waiting for another try) of every subscriber, for the administrators."""
        names = _names(session)
        query = (session.query(ReportDelivery, ReportSubscription, User.full_name)
                 .join(ReportSubscription, ReportSubscription.id == ReportDelivery.subscription_id)
                 .join(User, User.id == ReportSubscription.user_id)
                 .filter(ReportSubscription.user_id == who.user_id if who is not None
                         else ReportDelivery.status.in_(("failed", "retry")))
                 .order_by(ReportDelivery.slot.desc(), ReportDelivery.id.desc()).limit(limit))
        rows = []
        for delivery, sub, owner in query:
            period = _period(delivery.period_key)
            rows.append(DeliveryRow(
                id=delivery.id, type_name=_type_name(sub.report_type, translate),
                unit_name=translate(names.get(sub.unit_code or "", sub.unit_code or "")),
                period_label=translate(period.label()) if period else delivery.period_key,
                state=delivery.status, state_label=translate(DELIVERY_LABELS.get(delivery.status, delivery.status)),
                at=delivery.sent_at or delivery.updated_at or delivery.slot,
                error=translate(from_json(delivery.last_error)) if delivery.last_error else None,
                can_retry=delivery.status in ("failed", "retry"),
                download_url=url_for("leaders.download", report_id=delivery.archive_id) if delivery.archive_id
                else None, owner=owner or ""))
        return rows


class Reports:
    """The PDFs on demand through the archive service: a row asked for (reports.archive.request_report), made by
    the Celery task ioc.make_report (webapp.report_jobs, a thread in the embedded mode) whose progress is pushed
    to the requester's pages as "report" events; the archive, its PDFs exactly as stored."""

    PROGRESS_EVENT = report_jobs.PROGRESS_EVENT

    def __init__(self) -> None:
        self.store = Subscriptions()

    def start(self, session: Any, who: Actor, params: ReportParams) -> tuple[int, bool]:
        """Ask for the report `params` names; (its row's id, True when the archived copy of a period that has
        ended is offered instead of making it again)."""
        period = params.report_period()
        if period is not None and period.utc_range()[1] <= _now():
            done = archive.find_done(session, params)
            if done is not None:
                return done.id, True
        return report_jobs.ask_for_report(session, params, who.username).id, False

    def job(self, session: Any, who: Actor, job_id: int, translate: Any) -> JobView | None:
        """A report the reader asked for (an administrator sees every one)."""
        row = archive.get(session, job_id)
        if row is None or (row.requested_by != who.username and not who.is_admin):
            return None
        status = archive.status_of(row, _reader_language())
        done = row.state == "done"
        return JobView(id=row.id, title=row.title or _describe(session, row.params, translate), type=row.report_type,
                       unit=row.unit_code, period=row.period_key, state=row.state, state_label=status["state_label"],
                       percent=int(row.percent or 0), step=status["step"], error=status["error"], sha256=row.sha256,
                       pages=row.pages, download_url=url_for("leaders.download", report_id=row.id) if done else None,
                       case=row.case_code)

    def archived(self, session: Any, who: Actor, codes: set[str], translate: Any) -> list[ArchiveRow]:
        """The PDFs of units in the reader's view, newest first (reports of no unit, case dossiers, are the case
        pages')."""
        rows = [r for r in archive.list_archive(session, units=codes, limit=100).rows if r.unit_code]
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

    def pdf(self, session: Any, who: Actor, report_id: int) -> tuple[str | None, str | None, str, bytes] | None:
        """(the report's unit, its case, its file name, the PDF as archived) of a done report."""
        found = archive.pdf_of(session, report_id)
        if found is None:
            return None
        row, content = found
        return row.unit_code, row.case_code, archive.file_name(row), content

    def dossiers(self, session: Any, case_code: str, limit: int = 10) -> list[DossierRow]:
        """The dossiers made of a case, newest first, with who asked for each (for the case page)."""
        rows = session.scalars(select(ReportArchive).where(ReportArchive.case_code == case_code,
                                                           ReportArchive.report_type == "dossier",
                                                           ReportArchive.state == "done")
                               .order_by(ReportArchive.id.desc()).limit(limit)).all()
        wanted = sorted({r.requested_by for r in rows})
        people = {username: name for username, name in session.execute(
            select(User.username, User.full_name).where(User.username.in_(wanted)))} if wanted else {}
        return [DossierRow(id=r.id, made_at=r.finished_at or r.requested_at, language=r.language,
                           requested_by=people.get(r.requested_by, r.requested_by), pages=r.pages,
                           download_url=url_for("leaders.download", report_id=r.id)) for r in rows]


def _type_name(code: str, translate: Any) -> str:
    types = catalog.report_types()
    return translate(types[code].name) if code in types else code


def _names(session: Any) -> dict[str, Named]:
    return {code: Named(name, name_en) for code, name, name_en in
            session.execute(select(AdminUnit.code, AdminUnit.name, AdminUnit.name_en))}


def _now() -> datetime:
    return current_app.extensions["ioc"].clock.now()


def _local_label(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL).strftime("%H:%M %d/%m/%Y") if moment else None


def _period(key: str | None) -> ReportPeriod | None:
    try:
        return ReportPeriod.parse(key) if key else None
    except ValueError:
        return None


def _reader_language() -> str:
    from webapp.i18n import reader_language

    return reader_language()


def _describe(session: Any, params: dict[str, Any], translate: Any) -> str:
    """A report's name, unit and period in words (once made, its title is the PDF's)."""
    names = _names(session)
    period = _period(params.get("period"))
    return " — ".join(part for part in (
        _type_name(params["type"], translate), translate(names.get(params.get("unit") or "", "")),
        translate(period.label()) if period else "") if part)


_SERVICES = Reports()


def backend() -> Reports:
    """The services the PDF and subscription pages use."""
    return _SERVICES
