"""Published resolutions, citizens' ratings, merging duplicates and units' performance, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, TaskNotReadyError
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from tests.integration.test_field_report import _resolve, only_task, open_tasks, sweep, triage
from tests.working_time import advance_working, working
from workflows.access import AccessService
from workflows.case_service import IntakeRequest
from workflows.dashboard import DashboardService
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.models import Case, CaseEvent, CaseFollower, CaseRating, Publication, User
from workflows.performance import PerformanceService
from workflows.publication_service import PublicationService, PublicFilter, RatingError


def reported(services, **extra):
    """A case with a reporter who has a follow key; (case, key)."""
    receipt = services.cases.intake_receipt(IntakeRequest(
        channel="field_report", category=extra.pop("category", "traffic"), admin_unit=extra.pop("unit", "P-BUON-MA-THUOT"),
        title=extra.pop("title", "Ổ gà trên đường Lê Duẩn"), lat=12.6801234, lon=108.0409876,
        description=extra.pop("description", "Ổ gà sâu. Tôi là Nguyễn Văn An, gọi 0912 345 678."),
        reporter_name="Nguyễn Văn An", reporter_phone="0912345678", reporter_email="an.nv@example.vn", **extra))
    return receipt.case, receipt.follow_key


def published(services, session, **extra):
    """A case driven to publication; (case, key)."""
    case, key = reported(services, **extra)
    triage(services, session, case)
    _resolve(services, session, case)
    session.refresh(case)
    assert case.status == "published"
    return case, key


def actor(session, username):
    return AccessService(session).actor(session.scalar(select(User.id).where(User.username == username)))


def publication(services, session):
    return PublicationService(session, services.cases.clock, cases=services.cases)


# ------------------------------------------------------------------ the public record
def test_the_public_list_and_page_carry_no_personal_data_and_say_how_long_it_took(services, session, clock):
    case, _key = published(services, session)
    other, _ = reported(services, title="Cây đổ", category="other")  # not published: not listed
    service = publication(services, session)
    page = service.page()
    assert [item.code for item in page.items] == [case.code]
    item = page.items[0]
    for secret in ("Nguyễn Văn An", "0912", "an.nv@example.vn"):
        assert secret not in item.title + item.summary + item.resolution
    assert item.unit == "Phường Buôn Ma Thuột" and item.status == "published"
    assert (item.lat, item.lon) == (12.6801, 108.041)  # rounded: a map mark, not a doorstep
    assert item.timing.on_time is True and item.timing.taken == timedelta(0) and item.timing.late_by is None
    assert item.timing.deadline == working(case.created_at, 72)
    assert [c.code for c in page.units] == ["P-BUON-MA-THUOT"] and [c.code for c in page.categories] == ["traffic"]
    assert service.page(PublicFilter(category="other")).items == []
    assert [p["code"] for p in service.points()] == [case.code]
    detail = service.detail(case.code.lower())
    assert detail.feedback_open and [e.label.msgid for e in detail.timeline][:2] == [
        "Assigned to %(unit)s", "Resolution recorded"]
    with pytest.raises(CaseNotFoundError):
        service.detail(other.code)


def test_a_late_resolution_says_by_how_much(services, session, clock, session_factory):
    case, _ = reported(services)
    triage(services, session, case)
    clock.set(working(clock.now(), 72) + timedelta(hours=8))  # 8 h past the deadline; the escalation timer would fire if swept
    _resolve(services, session, case)
    item = publication(services, session).page().items[0]
    assert item.timing.on_time is False and item.timing.late_by == timedelta(hours=8)


# ------------------------------------------------------------------ ratings
def test_rating_with_the_follow_key_closes_or_reopens_and_is_taken_once(services, session, clock):
    case, key = published(services, session)
    service = publication(services, session)
    with pytest.raises(RatingError) as wrong:
        service.rate(case.code, True, key="not-the-key")
    assert wrong.value.reason == "key"
    rating = service.rate(case.code, False, "Vẫn còn ổ gà, gọi tôi 0987 654 321 — Nguyễn Văn An", key=key)
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.status == "in_progress" and case.reopen_count == 1  # the BPMN message reopened it
    stored = session.get(CaseRating, rating.id)
    assert not stored.satisfied and stored.unit_id == case.responsible_unit_id
    assert "0987" not in stored.comment and "Nguyễn Văn An" not in stored.comment
    with pytest.raises(CaseNotFoundError):  # withdrawn while it is handled again
        service.rate(case.code, True, key=key)

    # Resolved and published again: a new round, the same key rates once more, once.
    clock.advance(hours=5)
    _resolve(services, session, case, text="Đã thảm lại mặt đường.")
    service.rate(case.code, True, "Cảm ơn", key=key)
    session.expire_all()
    assert session.get(Case, case.id).status == "closed"
    with pytest.raises(RatingError) as again:
        service.rate(case.code, True, key=key)
    assert again.value.reason == "already"
    assert session.scalar(select(func.count()).select_from(CaseRating).where(CaseRating.case_id == case.id)) == 2


def test_a_rating_after_the_window_or_after_the_case_closed_is_refused(services, session, clock):
    case, key = published(services, session)
    clock.advance(days=8)
    with pytest.raises(RatingError) as late:
        publication(services, session).rate(case.code, False, key=key)
    assert late.value.reason == "expired"
    assert session.get(Case, case.id).status == "published"
    assert session.scalar(select(func.count()).select_from(CaseRating)) == 0


def test_a_signed_in_follower_rates_without_the_key(services, session):
    citizen = session.scalar(select(User).where(User.username == "dan.tranthimai"))
    case, _ = published(services, session, reporter_user_id=citizen.id)
    service = publication(services, session)
    assert service.may_rate(case.code, user_id=citizen.id) and not service.may_rate(case.code, user_id=citizen.id + 1)
    service.rate(case.code, True, user_id=citizen.id)
    assert session.get(Case, case.id).status == "closed"


def test_the_rating_and_the_process_step_commit_together(services, session, monkeypatch):
    case, key = published(services, session)

    def refuse(*args, **kwargs):
        raise ConflictError("someone else answered first")

    monkeypatch.setattr(services.instances, "send_message", refuse)
    with pytest.raises(RatingError):
        publication(services, session).rate(case.code, False, key=key)
    assert session.scalar(select(func.count()).select_from(CaseRating)) == 0


# ------------------------------------------------------------------ merging duplicates
def test_merging_a_duplicate_stops_its_process_and_its_followers_follow_the_other(services, session):
    main, _ = reported(services)
    duplicate, key = reported(services, title="Ổ gà Lê Duẩn (báo lại)")
    triage(services, session, main)
    task = only_task(session, duplicate, "triage")
    operator = actor(session, "dtv1")
    kept = services.cases.merge(duplicate.code, main.code, operator)
    assert kept.id == main.id
    session.expire_all()
    duplicate = session.get(Case, duplicate.id)
    assert (duplicate.status, duplicate.merged_into_id, duplicate.close_reason) == ("merged", main.id, "merged")
    instance = session.get(ProcessInstance, duplicate.process_instance_id)
    assert instance.status == "cancelled" and instance.next_timer_at is None
    assert session.get(HumanTask, task.id).state == "cancelled" and open_tasks(session, duplicate) == {}
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.instance_id == instance.id, AuditEvent.kind == "cancelled")) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.topic == "task.closed", OutboxMessage.payload["task_id"].as_string() == task.id)) == 1
    copied = session.scalars(select(CaseFollower).where(CaseFollower.case_id == main.id)).all()
    assert len(copied) == 2 and {f.email for f in copied} == {"an.nv@example.vn"}
    kinds = dict(session.execute(select(CaseEvent.case_id, CaseEvent.kind).where(CaseEvent.kind.like("merged%"))).all())
    assert kinds == {duplicate.id: "merged", main.id: "merged_from"}
    with pytest.raises(ConflictError):  # nothing moves a cancelled instance any more
        services.cases.citizen_feedback(duplicate.code, satisfied=False)

    # The duplicate's reporter rates the main case's resolution with their own tracking key.
    _resolve(services, session, main)
    service = publication(services, session)
    assert service.may_rate(main.code, key=key)
    service.rate(main.code, True, key=key)
    assert session.get(Case, main.id).status == "closed"
    assert service.merged_into(duplicate.code) == main.code


def test_merge_refusals_say_why_and_change_nothing(services, session):
    a, _ = reported(services)
    b, _ = reported(services, title="Báo lại")
    far, _ = reported(services, unit="P-TAN-LAP", title="Ở phường khác")
    operator = actor(session, "dtv1")
    with pytest.raises(IntakeError, match="itself"):
        services.cases.merge(a.code, a.code, operator)
    with pytest.raises(AccessDeniedError):
        services.cases.merge(a.code, b.code, actor(session, "cb.buonmathuot"))  # an officer: not their role
    with pytest.raises(IntakeError, match="no case"):
        services.cases.merge(a.code, far.code, actor(session, "tp.buonmathuot"))  # the other ward is out of view
    with pytest.raises(CaseNotFoundError):
        services.cases.merge("PA-2026-999999", a.code, operator)
    services.cases.merge(b.code, a.code, operator)
    with pytest.raises(IntakeError, match="merged"):
        services.cases.merge(far.code, b.code, operator)  # into a merged case
    with pytest.raises(IntakeError, match="no longer open"):
        services.cases.merge(b.code, far.code, operator)  # the merged one again
    session.expire_all()
    assert [session.get(Case, c.id).status for c in (a, far)] == ["received", "received"]


# ------------------------------------------------------------------ performance
def test_performance_counts_open_overdue_cases_as_not_on_time(services, session, clock):
    fast, key = published(services, session)                       # resolved at once: on time
    publication(services, session).rate(fast.code, True, key=key)
    slow, _ = reported(services)
    triage(services, session, slow)
    waiting, _ = reported(services)
    triage(services, session, waiting)
    advance_working(clock, 73)                                       # `waiting` is now open and overdue
    fresh, _ = reported(services)
    triage(services, session, fresh)                                 # open, not yet due: not judged
    _resolve(services, session, slow)                                # late by an hour
    rows = {r.code: r for r in PerformanceService(session, clock).units(30)}
    ward = rows["P-BUON-MA-THUOT"]
    assert (ward.cases, ward.resolved, ward.resolved_on_time, ward.open_overdue, ward.open_not_due) == (4, 2, 1, 1, 1)
    assert ward.on_time_share == pytest.approx(1 / 3)
    # 0 h and 265 h: 73 working hours from Monday 08:00 end on Friday 09:00 of the next week
    assert ward.median_hours == pytest.approx(132.5)
    assert (ward.ratings, ward.satisfied, ward.satisfaction) == (1, 1, 1.0)
    clock.advance(days=40)
    assert "P-BUON-MA-THUOT" not in {r.code for r in PerformanceService(session, clock).units(30)}
    assert PerformanceService(session, clock).units(90)[0].cases == 4
    assert session.get(Publication, fast.id) is not None


def test_performance_counts_an_open_escalated_case_as_late(services, session, session_factory, clock):
    case, _ = reported(services)
    triage(services, session, case)
    advance_working(clock, 72, seconds=1)
    sweep(session_factory, clock, session)                           # escalated: the head has a new deadline
    session.expire_all()
    escalated = session.get(Case, case.id)
    assert escalated.status == "escalated" and escalated.due_at > clock.now()
    ward = {r.code: r for r in PerformanceService(session, clock).units(30)}["P-BUON-MA-THUOT"]
    assert (ward.open_overdue, ward.open_not_due, ward.on_time_share) == (1, 0, 0)
    # The dashboard counts it the same way (it said 0: the head's new deadline is still ahead).
    board = DashboardService(session, clock).figures(actor(session, "tp.buonmathuot"))
    assert board.overdue == 1 and {u.code: u.overdue for u in board.by_unit}["P-BUON-MA-THUOT"] == 1
    point = {p.code: p for p in DashboardService(session, clock).map_points(actor(session, "tp.buonmathuot"))}
    assert point[case.code].overdue


def test_a_cancelled_instance_fires_no_timer_and_takes_no_task(services, session, session_factory, clock):
    main, _ = reported(services)
    duplicate, _ = reported(services, title="Báo lại")
    triage(services, session, duplicate)                       # handling: deadline and reminder timers wait
    handle = only_task(session, duplicate, "handle")
    row = session.get(ProcessInstance, duplicate.process_instance_id)
    assert row.next_timer_at is not None
    services.cases.merge(duplicate.code, main.code, actor(session, "tp.buonmathuot"))
    clock.advance(days=10)
    sweep(session_factory, clock, session)
    session.expire_all()
    assert session.get(ProcessInstance, row.id).status == "cancelled"
    assert session.get(Case, duplicate.id).escalation_level == 0  # no escalation fired
    with pytest.raises(TaskNotReadyError):
        services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "x"}, actor="cb.buonmathuot")
    with pytest.raises(ConflictError, match="cancelled"):
        services.instances.cancel(row.id, "again")


# ------------------------------------------------------------------ the outcome and the review, through the pages
def test_through_the_pages_an_empty_outcome_is_refused_and_a_refused_result_shows_the_heads_note(db_url, clock):
    from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, open_task
    from webapp.extensions import db

    app = make_workspace_app(db_url, clock)
    try:
        code = new_case(app, category="traffic", title="Ổ gà giữa ngã tư", priority="high")
        handle = open_task(app, code)
        officer = client_of(app, "cb.buonmathuot")
        token = csrf_of(officer.get(f"/tasks/{handle.id}").get_data(as_text=True))
        empty = officer.post(f"/tasks/{handle.id}/complete", data={"csrf_token": token, "resolution": "Đã vá tạm."})
        assert empty.status_code == 422 and "bắt buộc" in empty.get_data(as_text=True)
        assert open_task(app, code).id == handle.id  # still open, nothing done
        done = officer.post(f"/tasks/{handle.id}/complete",
                            data={"csrf_token": token, "outcome": "resolved", "resolution": "Đã vá tạm."})
        assert done.status_code == 303

        review = open_task(app, code)
        assert review.element_id == "review"
        head = client_of(app, "tp.buonmathuot")
        page = head.get(f"/tasks/{review.id}").get_data(as_text=True)
        assert "Đã vá tạm." in page and 'name="review_decision"' in page
        token = csrf_of(page)
        bare = head.post(f"/tasks/{review.id}/complete", data={"csrf_token": token, "review_decision": "refuse"})
        assert bare.status_code == 422 and open_task(app, code).id == review.id
        assert head.post(f"/tasks/{review.id}/complete", data={
            "csrf_token": token, "review_decision": "refuse", "review_note": "Phải vá hẳn, không vá tạm."}
        ).status_code == 303

        again = open_task(app, code)
        assert again.element_id == "handle"
        assert "Phải vá hẳn, không vá tạm." in officer.get(f"/tasks/{again.id}").get_data(as_text=True)
        # In the officials' history, not on the public page.
        assert "Phải vá hẳn" in head.get(f"/cases/{code}").get_data(as_text=True)
        assert "Phải vá hẳn" not in app.test_client().get(f"/resolutions/{code}").get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()
