"""Subscriptions' slots in Asia/Ho_Chi_Minh (no daylight saving time; local midnight is 17:00 UTC the day before),
month ends, ISO week 53, and the planning run: one row per slot whatever runs it how often, a catch-up after beat
was down (older slots recorded as skipped, not dropped), two planners at once, paused and edited subscriptions."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from reports import schedules
from reports.models import ReportDelivery
from reports.schedules import Schedule, SubscriptionError
from workflows.models import User

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # Monday 2 November 2026, 10:00 in Đắk Lắk


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Spec:
    type: str = "operations"
    unit: str | None = "P-BUON-MA-THUOT"
    frequency: str = "weekly"
    hour: int = 7
    minute: int = 0
    weekday: int | None = 0
    day_of_month: int | None = None
    language: str = "vi"
    only_changed: bool = False


# --------------------------------------------------------------------------- slots


def test_weekly_slots_are_local_times_seven_days_apart_all_year_and_cover_the_last_week():
    monday_7 = Schedule("weekly", 7, 0, weekday=0)
    slots = monday_7.slots(utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(slots) == 52 and slots[0] == utc(2026, 1, 5, 0, 0)  # Monday 07:00 local = 00:00 UTC
    assert {b - a for a, b in zip(slots, slots[1:], strict=False)} == {timedelta(days=7)}  # no DST shift
    # The week from Monday 28/12/2026 holds the slot of ISO week 53 of 2026.
    assert schedules.period_of("weekly", utc(2027, 1, 4, 0, 0)).key == "2026-W53"
    assert schedules.period_of("weekly", utc(2026, 12, 28, 0, 0)).key == "2026-W52"
    # Sunday 06:30 local is Saturday 23:30 UTC: the slot is on the local day, and covers the week before it.
    sunday = Schedule("weekly", 6, 30, weekday=6)
    first = sunday.slots(utc(2026, 11, 1, 0, 0), utc(2026, 11, 9))
    assert first == [utc(2026, 11, 7, 23, 30)]
    assert schedules.period_of("weekly", first[0]).key == "2026-W44"  # 26/10–1/11, the last complete week


def test_monthly_slots_keep_to_month_ends_and_local_midnight():
    day_31 = Schedule("monthly", 7, 30, day_of_month=31)
    slots = day_31.slots(utc(2027, 1, 1), utc(2028, 4, 1))
    local_days = [(s + timedelta(hours=7)).date().isoformat() for s in slots]
    assert local_days[:4] == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    assert "2028-02-29" in local_days and "2027-02-28" in local_days  # leap year, and not
    assert all((s + timedelta(hours=7)).time().isoformat() == "07:30:00" for s in slots)
    # The 1st at 00:15 local is 17:15 UTC the last day of the month before: it covers the month just ended.
    first = Schedule("monthly", 0, 15, day_of_month=1)
    slot = first.slots(utc(2026, 11, 15), utc(2026, 12, 15))[0]
    assert slot == utc(2026, 11, 30, 17, 15)
    assert schedules.period_of("monthly", slot).key == "2026-11"
    assert first.next_after(slot) == utc(2026, 12, 31, 17, 15)
    # The slot of January covers December of the year before.
    assert schedules.period_of("monthly", first.next_after(utc(2026, 12, 31, 18))).key == "2027-01"


# --------------------------------------------------------------------------- planning


def leader(session) -> int:
    return session.scalar(select(User.id).where(User.username == "ld.buonmathuot"))


def rows(session, subscription_id: int) -> list[ReportDelivery]:
    session.expire_all()
    found = list(session.scalars(select(ReportDelivery).where(ReportDelivery.subscription_id == subscription_id)
                                 .order_by(ReportDelivery.slot)))
    session.rollback()
    return found


def test_a_subscription_is_checked(session, reference_data):
    with pytest.raises(SubscriptionError) as refused:
        schedules.subscribe(session, leader(session), Spec(type="dossier", unit="X-NOWHERE", weekday=9, hour=25), T0)
    assert set(refused.value.errors) == {"type", "weekday", "time"}
    with pytest.raises(SubscriptionError) as refused:
        schedules.subscribe(session, leader(session), Spec(unit="X-NOWHERE", frequency="daily"), T0)
    assert set(refused.value.errors) == {"unit", "frequency"}
    session.rollback()


def test_planning_adds_one_row_per_due_slot_however_often_it_runs_and_catches_up(session, reference_data):
    sub = schedules.subscribe(session, leader(session), Spec(), T0)  # Mondays 07:00 local
    assert schedules.plan_deliveries(session, T0).added == 0  # the first slot is after subscribing

    monday = utc(2026, 11, 9, 0, 0)
    assert schedules.plan_deliveries(session, monday - timedelta(seconds=1)).added == 0
    plan = schedules.plan_deliveries(session, monday)
    assert (plan.added, plan.skipped) == (1, 0)
    [row] = rows(session, sub.id)
    assert (row.slot, row.period_key, row.status) == (monday, "2026-W45", "pending") and plan.due == [row.id]
    # Beat running every minute, or restarted: the same slot finds its row there.
    for late in (monday, monday + timedelta(minutes=1), monday + timedelta(hours=6)):
        again = schedules.plan_deliveries(session, late)
        assert again.added == 0 and again.due == [row.id]
    assert len(rows(session, sub.id)) == 1

    # Beat down for five weeks: the last three slots are delivered, the two before recorded as missed.
    back = monday + timedelta(days=35, hours=2)
    plan = schedules.plan_deliveries(session, back)
    assert (plan.added, plan.skipped) == (3, 2)
    found = rows(session, sub.id)
    assert [r.slot for r in found] == [monday + timedelta(days=7 * n) for n in range(6)]
    assert [r.status for r in found] == ["pending", "skipped", "skipped", "pending", "pending", "pending"]
    assert found[1].last_error["msgid"] == "missed while the scheduler was not running"
    assert [r.period_key for r in found[3:]] == ["2026-W48", "2026-W49", "2026-W50"]
    assert plan.due == [found[0].id, *[r.id for r in found[3:]]]
    assert schedules.plan_deliveries(session, back).added == 0


def test_paused_edited_and_resumed_subscriptions_count_their_slots_from_the_change(session, reference_data):
    sub = schedules.subscribe(session, leader(session), Spec(frequency="monthly", weekday=None, day_of_month=3), T0)
    schedules.plan_deliveries(session, utc(2026, 12, 3, 1))  # 3 December 08:00 local: the slot of 07:00
    assert [r.period_key for r in rows(session, sub.id)] == ["2026-10", "2026-11"]
    schedules.set_active(session, sub, False, utc(2026, 12, 10))
    assert schedules.plan_deliveries(session, utc(2027, 2, 10)).added == 0  # paused: nothing planned
    schedules.set_active(session, sub, True, utc(2027, 2, 10))  # resumed: January's slot is not sent late
    schedules.plan_deliveries(session, utc(2027, 3, 3, 1))
    assert [r.period_key for r in rows(session, sub.id)] == ["2026-10", "2026-11", "2027-02"]
    # An edited time counts from the edit: no second slot for the same day, none from before.
    schedules.update_subscription(session, sub, Spec(frequency="monthly", weekday=None, day_of_month=3, hour=9),
                                  utc(2027, 3, 3, 1, 30))
    schedules.plan_deliveries(session, utc(2027, 4, 3, 3))
    found = rows(session, sub.id)
    assert [(r.period_key, r.slot, r.status) for r in found[-2:]] == [
        ("2027-02", utc(2027, 3, 3, 2, 0), "skipped"), ("2027-03", utc(2027, 4, 3, 2, 0), "pending")]
    assert found[-2].last_error["msgid"] == "this period's report was already planned at an earlier time"


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_planners_at_once_add_each_slot_once(session_factory, session, reference_data):
    subs = [schedules.subscribe(session, leader(session), Spec(weekday=day), T0).id for day in range(7)]
    now = T0 + timedelta(days=21)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def planner() -> None:
        try:
            with session_factory() as own:
                barrier.wait()
                schedules.plan_deliveries(own, now)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=planner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    counts = dict(session.execute(select(ReportDelivery.subscription_id, func.count())
                                  .group_by(ReportDelivery.subscription_id)).all())
    assert counts == {sub: 3 for sub in subs}
