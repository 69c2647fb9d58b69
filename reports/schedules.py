"""Subscriptions and their scheduled moments ("slots"), in local time (Asia/Ho_Chi_Minh).

A weekly subscription has a slot each week on its weekday at its local time, covering the last complete week; a
monthly one on its day of the month (past a month's end: that month's last day — 31 means the 30th in April and
the 28th or 29th in February) covering the last complete month.

`plan_deliveries` (run by Celery beat every minute, `ioc.plan_report_deliveries`) adds one `report_delivery` row
for every slot that is due and has none: it counts from the subscription's last slot that has a row (or from
when its schedule was set), so after beat was down it catches up — the last `CATCH_UP` slots are delivered, older
ones are recorded as skipped, never silently dropped — and it never adds a second row for a slot: the row is
inserted under UNIQUE(subscription_id, slot), so a beat that runs twice, restarts, or runs beside another beat
finds it there. Asia/Ho_Chi_Minh keeps no daylight saving time: a local time names one moment, every day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.i18n import Text, t, to_json
from reports import catalog
from reports.models import FREQUENCIES, ReportDelivery, ReportSubscription
from reports.periods import LOCAL, ReportPeriod
from workflows.models import AdminUnit

CATCH_UP = 3  # after a downtime, at most this many missed slots of a subscription are still delivered
KIND = {"weekly": "week", "monthly": "month"}


class SubscriptionError(ValueError):
    """A subscription that cannot be kept; `errors` maps each field to what is wrong, in words."""

    def __init__(self, errors: dict[str, Text]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Schedule:
    """When a subscription's report is due: weekly on `weekday` (0 = Monday) or monthly on `day_of_month`, at
    `hour`:`minute` local time."""

    frequency: str
    hour: int
    minute: int
    weekday: int | None = None
    day_of_month: int | None = None

    @classmethod
    def of(cls, subscription: Any) -> Schedule:
        return cls(subscription.frequency, subscription.hour, subscription.minute, subscription.weekday,
                   subscription.day_of_month)

    def _local(self, day: date) -> datetime:
        return datetime.combine(day, time(self.hour, self.minute), LOCAL).astimezone(UTC)

    def _candidates(self, first_day: date) -> Iterator[datetime]:
        """Every slot from the week or month holding `first_day` on, in order."""
        if self.frequency == "weekly":
            day = first_day - timedelta(days=first_day.weekday()) + timedelta(days=self.weekday or 0)
            while True:
                yield self._local(day)
                day += timedelta(days=7)
        year, month = first_day.year, first_day.month
        while True:
            last = calendar.monthrange(year, month)[1]
            yield self._local(date(year, month, min(self.day_of_month or 1, last)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def slots(self, after: datetime, until: datetime) -> list[datetime]:
        """The slots in (after, until], oldest first (UTC)."""
        found = []
        for slot in self._candidates(after.astimezone(LOCAL).date()):
            if slot > until:
                break
            if slot > after:
                found.append(slot)
        return found

    def next_after(self, moment: datetime) -> datetime:
        """The first slot after `moment`."""
        return next(s for s in self._candidates(moment.astimezone(LOCAL).date()) if s > moment)


def period_of(frequency: str, slot: datetime) -> ReportPeriod:
    """The period a slot's report covers: the last complete week or month at that moment."""
    return ReportPeriod.last_complete(KIND[frequency], slot)


# ---------------------------------------------------------------------------------------------- subscriptions
def check(session: Session, spec: Any) -> dict[str, Any]:
    """The columns of a subscription `spec` asks for (type, unit, frequency, hour, minute, weekday,
    day_of_month, language, only_changed), checked; SubscriptionError otherwise."""
    errors: dict[str, Text] = {}
    types = catalog.report_types()
    report_type = types.get(spec.type)
    frequency = spec.frequency
    if report_type is None or "period" not in report_type.needs:
        errors["type"] = t("there is no periodic report type %(code)s", code=spec.type)
    if frequency not in FREQUENCIES:
        errors["frequency"] = t("choose weekly or monthly")
    elif report_type is not None and KIND[frequency] not in report_type.period_kinds:
        errors["frequency"] = t("this report covers a month, not a week")
    if report_type is not None and "unit" in report_type.needs:
        if not spec.unit:
            errors["unit"] = t("choose a unit")
        elif session.scalar(select(AdminUnit.id).where(AdminUnit.code == spec.unit)) is None:
            errors["unit"] = t("there is no unit with the code %(code)s", code=spec.unit)
    if not (0 <= int(spec.hour) <= 23 and 0 <= int(spec.minute) <= 59):
        errors["time"] = t("give a time of day such as 07:30")
    if frequency == "weekly" and not (spec.weekday is not None and 0 <= int(spec.weekday) <= 6):
        errors["weekday"] = t("choose the day of the week")
    if frequency == "monthly" and not (spec.day_of_month is not None and 1 <= int(spec.day_of_month) <= 31):
        errors["day_of_month"] = t("give a day of the month from 1 to 31")
    if spec.language not in catalog.LANGUAGES:
        errors["language"] = t("the language must be vi or en")
    if errors:
        raise SubscriptionError(errors)
    return {"report_type": spec.type, "unit_code": spec.unit, "frequency": frequency, "hour": int(spec.hour),
            "minute": int(spec.minute), "weekday": int(spec.weekday) if frequency == "weekly" else None,
            "day_of_month": int(spec.day_of_month) if frequency == "monthly" else None, "language": spec.language,
            "only_changed": bool(spec.only_changed)}


def subscribe(session: Session, user_id: int, spec: Any, now: datetime) -> ReportSubscription:
    """A new active subscription of `user_id` (its first slot is the first after `now`); committed."""
    row = ReportSubscription(user_id=user_id, active=True, created_at=now, schedule_from=now, updated_at=now,
                             **check(session, spec))
    session.add(row)
    session.commit()
    return row


def owned(session: Session, user_id: int, subscription_id: int) -> ReportSubscription | None:
    """A subscription of `user_id` (None for anyone else's)."""
    row = session.get(ReportSubscription, subscription_id)
    return row if row is not None and row.user_id == user_id else None


def update_subscription(session: Session, row: ReportSubscription, spec: Any, now: datetime) -> ReportSubscription:
    """Change a subscription; a changed schedule counts its slots from `now` (no slot twice, none from before)."""
    values = check(session, spec)
    before = Schedule.of(row)
    for key, value in values.items():
        setattr(row, key, value)
    if Schedule.of(row) != before:
        row.schedule_from = now
    row.updated_at = now
    session.commit()
    return row


def set_active(session: Session, row: ReportSubscription, active: bool, now: datetime) -> ReportSubscription:
    """Pause or resume; resumed, its slots count from `now` (a pause's slots are not delivered afterwards)."""
    if active and not row.active:
        row.schedule_from = now
    row.active, row.updated_at = active, now
    session.commit()
    return row


def delete_subscription(session: Session, row: ReportSubscription) -> None:
    """Delete a subscription and its deliveries (the PDFs stay in the archive)."""
    session.delete(row)
    session.commit()


def subscriptions_of(session: Session, user_id: int) -> list[ReportSubscription]:
    """A user's subscriptions, oldest first."""
    return list(session.scalars(select(ReportSubscription).where(ReportSubscription.user_id == user_id)
                                .order_by(ReportSubscription.id)))


# ---------------------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class Plan:
    """What a planning run did: rows added (to deliver, and skipped as too old), and the rows due to deliver."""

    added: int
    skipped: int
    due: list[int]


def _insert(session: Session, row: ReportDelivery) -> bool:
    """Insert a delivery row unless its (subscription, slot) is there already (the UNIQUE constraint decides)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def plan_deliveries(session: Session, now: datetime, lease_grace: timedelta = timedelta(0)) -> Plan:
    """Add the delivery rows of every active subscription's due slots, and list the rows due to be delivered
    (pending; retries whose time came; "sending" rows whose worker's lease ran out); committed."""
    added = skipped = 0
    for sub in session.scalars(select(ReportSubscription).where(ReportSubscription.active.is_(True))
                               .order_by(ReportSubscription.id)):
        last = session.execute(select(ReportDelivery.slot, ReportDelivery.period_key)
                               .where(ReportDelivery.subscription_id == sub.id)
                               .order_by(ReportDelivery.slot.desc()).limit(1)).first()
        after = max(sub.schedule_from, last.slot) if last is not None else sub.schedule_from
        planned = {last.period_key} if last is not None else set()
        slots = Schedule.of(sub).slots(after, now)
        for index, slot in enumerate(slots):
            period = period_of(sub.frequency, slot).key
            reason = None
            if index < len(slots) - CATCH_UP:
                reason = t("missed while the scheduler was not running")
            elif period in planned:  # the schedule changed after this period's slot: not a second report
                reason = t("this period's report was already planned at an earlier time")
            planned.add(period)
            row = ReportDelivery(subscription_id=sub.id, slot=slot, period_key=period,
                                 status="skipped" if reason else "pending", next_attempt_at=None if reason else slot,
                                 created_at=now, updated_at=now, last_error=to_json(reason) if reason else None)
            if _insert(session, row):
                added += 0 if reason else 1
                skipped += 1 if reason else 0
    session.commit()
    due = list(session.scalars(select(ReportDelivery.id).where(or_(
        ReportDelivery.status == "pending",
        (ReportDelivery.status == "retry") & (ReportDelivery.next_attempt_at <= now),
        (ReportDelivery.status == "sending") & (ReportDelivery.lease_until < now - lease_grace)))
        .order_by(ReportDelivery.slot, ReportDelivery.id)))
    session.rollback()
    return Plan(added, skipped, due)
