"""The 1022 hotline: the console's service on SQLite and PostgreSQL, the process end to end, the web console.

Time is a FrozenClock the test moves; the real timer sweep fires the timers.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from tests.working_time import advance_working, working
from tests.workspace import client_of, csrf_of, make_workspace_app
from webapp.extensions import db
from workflows.access import AccessService
from workflows.case_service import IntakeRequest
from workflows.errors import AccessDeniedError, IntakeError
from workflows.hotline_service import Call, HotlineService, make_title
from workflows.models import Case, CaseEvent, CaseRating, Publication, Reporter, User
from workflows.runtime import make_sweep

HOTLINE_FILES = ("hotline_call.bpmn", "field_report_routing.dmn", "field_report_sla.dmn", "field_report_review.dmn")


def deploy_hotline(definitions) -> None:
    """Deploy hotline_call with the decision tables it shares with field_report."""
    definitions.deploy({name: (BPMN_DIR / name).read_text(encoding="utf-8") for name in HOTLINE_FILES},
                       deployed_by="test")


@pytest.fixture
def hotline(services, session, clock):
    """The hotline service over the test database, with hotline_call deployed."""
    deploy_hotline(services.definitions)
    session.commit()
    return HotlineService(session, services.cases, clock)


def actor_of(session, username):
    user_id = session.scalar(select(User.id).where(User.username == username))
    return AccessService(session).actor(user_id)


def a_call(**overrides):
    values = dict(phone="0912 345 678", caller_name="Trần Thị Bình", category="traffic", place="P-BUON-MA-THUOT",
                  description="Ổ gà lớn trước số 12 Lê Duẩn, xe máy dễ ngã.", kind="report",
                  answers={"hazard": "pothole", "blocks_traffic": "yes"})
    values.update(overrides)
    return Call(**values)


def open_tasks(session, case):
    rows = session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                   HumanTask.state == "open")).all()
    return {t.element_id: t for t in rows}


def only_task(session, case, element_id):
    session.expire_all()
    tasks = open_tasks(session, case)
    assert set(tasks) == {element_id}, f"expected only {element_id}, open: {sorted(tasks)}"
    return tasks[element_id]


# ---------------------------------------------------------------------------- the service

def test_history_appears_as_the_number_is_typed(hotline, services, session, clock):
    dtv1 = actor_of(session, "dtv1")
    first = hotline.take_call(dtv1, a_call()).case
    clock.advance(hours=1)
    second = hotline.take_call(dtv1, a_call(phone="+84 912.345.678", category="street_lighting",
                                            description="Đèn đường tắt cả tuần", answers={})).case
    hotline.take_call(dtv1, a_call(phone="0987 654 321", description="Người khác gọi"))
    # A field report from the same number counts too: history is by the caller, not by the channel.
    services.cases.intake(IntakeRequest(channel="field_report", category="traffic", admin_unit="X-HOA-PHU",
                                        title="Qua cổng", reporter_phone="0912345678"))

    assert hotline.history(dtv1, "0912 345") == []  # too few digits to say who is calling
    typed = hotline.history(dtv1, "0912 345 6")
    assert len(typed) == 3 and {c.phone for c in typed} == {"0912 345 678", "+84 912.345.678", "0912345678"}
    full = hotline.history(dtv1, "0912345678", lang="en")
    assert [c.code for c in full][1:] == [second.code, first.code]  # newest first
    assert full[1].category == "Street lighting" and full[1].status == "in_progress"
    assert full[1].title == "Đèn đường tắt cả tuần" and full[1].created_at == second.created_at
    assert [c.code for c in hotline.history(dtv1, "+84912345678")] == [c.code for c in full]
    assert hotline.history(dtv1, "0999 999 999") == []


def test_duplicate_check_by_commune_and_by_distance(hotline, services, session):
    dtv1 = actor_of(session, "dtv1")
    same_ward = hotline.take_call(dtv1, a_call()).case
    near = hotline.take_call(dtv1, a_call(place="P-TAN-LAP", lat=12.6800, lon=108.0400)).case
    hotline.take_call(dtv1, a_call(place="P-TAN-LAP", lat=12.7000, lon=108.0400))  # ~2 km away
    hotline.take_call(dtv1, a_call(category="street_lighting", answers={}))  # another category
    answered = hotline.take_call(dtv1, a_call(kind="information")).case  # closed at once: not a duplicate

    found = hotline.duplicates(dtv1, "traffic", "P-BUON-MA-THUOT", lat=12.6815, lon=108.0410)
    codes = {d.code: d for d in found}
    assert set(codes) == {same_ward.code, near.code} and answered.code not in codes
    assert codes[near.code].metres is not None and codes[near.code].metres < 300
    assert codes[same_ward.code].metres is None and codes[same_ward.code].place
    assert [d.code for d in hotline.duplicates(dtv1, "traffic", "P-BUON-MA-THUOT")] == [same_ward.code]
    with pytest.raises(IntakeError) as err:
        hotline.duplicates(dtv1, "no_such", "SXD")
    assert set(err.value.fields) == {"category", "place"}


def test_information_request_is_closed_answered_with_no_task(hotline, session):
    receipt = hotline.take_call(actor_of(session, "dtv1"), a_call(kind="information", description="Hỏi giờ làm "
                                                                  "việc của bộ phận một cửa phường"))
    case = receipt.case
    session.refresh(case)
    assert case.code.startswith("HL-") and receipt.created
    assert (case.status, case.close_reason, case.channel, case.source) == ("closed", "answered", "hotline", "hotline")
    assert open_tasks(session, case) == {}
    assert case.reporter.phone_key == "0912345678" and case.reporter.name == "Trần Thị Bình"
    assert case.process_instance.status == "completed"


def test_an_urgent_call_gets_the_short_deadline_and_alerts_the_leaders(hotline, session, clock):
    case = hotline.take_call(actor_of(session, "dtv1"), a_call(priority="high")).case
    handle = only_task(session, case, "handle")
    assert case.priority == "high" and handle.due_at == working(clock.now(), 24)
    alerted = session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "leaders_notified"))
    assert alerted == 1


def test_the_same_call_sent_twice_opens_one_case(hotline, session):
    dtv1 = actor_of(session, "dtv1")
    first = hotline.take_call(dtv1, a_call(call_id="form-1"))
    again = hotline.take_call(dtv1, a_call(call_id="form-1"))
    assert not again.created and again.case.id == first.case.id
    assert session.scalar(select(func.count()).select_from(Case)) == 1


@pytest.mark.parametrize("overrides, fields", [
    ({"phone": ""}, {"phone"}),
    ({"phone": "abc-123"}, {"phone"}),
    ({"phone": "09123"}, {"phone"}),
    ({"description": "   "}, {"description"}),
    ({"kind": "chat"}, {"kind"}),
    ({"category": "no_such"}, {"category"}),
    ({"place": "SXD"}, {"place"}),  # a department, not a commune or ward
    ({"answers": {"hazard": "volcano"}}, {"answers.hazard"}),
    ({"priority": "urgent"}, {"priority"}),
    # Every mistake in one answer, so the operator fixes them in one go.
    ({"phone": "12ab", "place": "", "category": "", "description": ""}, {"phone", "place", "category", "description"}),
])
def test_bad_calls_say_what_to_fix_and_store_nothing(hotline, session, overrides, fields):
    with pytest.raises(IntakeError) as err:
        hotline.take_call(actor_of(session, "dtv1"), a_call(**overrides))
    assert set(err.value.fields) == fields
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_make_title_cuts_at_a_word():
    assert make_title("Đèn hỏng\nchi tiết") == "Đèn hỏng"
    long = "Cây xanh " * 20
    title = make_title(long)
    assert len(title) <= 80 and title.endswith("…") and not title.endswith(" …")


def test_linking_a_call_to_an_open_case(hotline, session):
    dtv1 = actor_of(session, "dtv1")
    case = hotline.take_call(dtv1, a_call()).case
    hotline.link_call(dtv1, case.code, note="Bà Lan 0905 111 222 cũng báo ổ gà này", caller_name="Lan")
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "hotline_call"))
    assert event.actor == "dtv1" and not event.public
    assert "0905" not in event.detail["note"] and "Lan" not in event.detail["note"]
    assert session.scalar(select(func.count()).select_from(Case)) == 1
    answered = hotline.take_call(dtv1, a_call(kind="information")).case
    with pytest.raises(IntakeError):
        hotline.link_call(dtv1, answered.code)  # closed: take it as a new case
    with pytest.raises(AccessDeniedError):
        hotline.link_call(actor_of(session, "cb.tanlap"), case.code)


# ---------------------------------------------------------------------------- the process, end to end

def test_a_call_to_resolution_callback_publication_reopening_and_close(hotline, services, session, session_factory,
                                                                        clock):
    dtv1 = actor_of(session, "dtv1")
    case = hotline.take_call(dtv1, a_call()).case
    # No triage: the operator classified the call; the ward handles its roads (field_report_routing.dmn).
    handle = only_task(session, case, "handle")
    assert (handle.candidate_role, handle.candidate_unit) == ("officer", "P-BUON-MA-THUOT")
    assert handle.due_at == working(clock.now(), 72)  # field_report_sla.dmn, normal priority: working hours
    services.cases.complete_task(handle.id, {"outcome": "resolved",
                                             "resolution": "Đã vá ổ gà, trả lại mặt đường."}, actor="cb.buonmathuot")

    callback = only_task(session, case, "callback")
    assert (callback.candidate_role, callback.candidate_unit) == ("operator", "IOC-DLK")
    assert callback.due_at == working(clock.now(), 8)  # the callback within a working day
    assert {f["name"] for f in callback.form["fields"]} == {"reached", "callback_answer", "callback_note"}
    session.refresh(case)
    assert case.status == "resolved"
    # The citizen says on the phone it is not fixed: the case goes back to the unit.
    clock.advance(hours=2)
    services.cases.complete_task(callback.id, {"reached": "yes", "callback_answer": "not_resolved",
                                               "callback_note": "Vẫn còn ổ gà phía bên kia đường"}, actor="dtv1")
    handle = only_task(session, case, "handle")
    session.refresh(case)
    assert (case.status, case.reopen_count) == ("in_progress", 1)
    reopened = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "reopened"))
    assert reopened.detail["comment"] == "Vẫn còn ổ gà phía bên kia đường"
    rating = session.scalar(select(CaseRating).where(CaseRating.case_id == case.id))
    assert (rating.satisfied, rating.source, rating.unit_id) == (False, "hotline", case.responsible_unit_id)

    services.cases.complete_task(handle.id, {"outcome": "resolved",
                                             "resolution": "Đã vá cả hai bên đường."}, actor="cb.buonmathuot")
    callback = only_task(session, case, "callback")
    services.cases.complete_task(callback.id, {"reached": "yes", "callback_answer": "satisfied"}, actor="dtv2")
    session.expire_all()
    assert open_tasks(session, case) == {}
    session.refresh(case)
    assert case.status == "published"
    publication = session.get(Publication, case.id)
    assert publication.resolution == "Đã vá cả hai bên đường." and "Bình" not in publication.summary

    # A web rating still works on a hotline case: "not resolved" reopens it, as for field reports.
    services.cases.citizen_feedback(case.code, satisfied=False, comment="Lại hỏng sau mưa")
    handle = only_task(session, case, "handle")
    session.refresh(case)
    assert (case.status, case.reopen_count) == ("in_progress", 2)
    assert session.get(Publication, case.id).withdrawn_at is not None

    services.cases.complete_task(handle.id, {"outcome": "resolved",
                                             "resolution": "Đã thảm lại đoạn đường."}, actor="cb.buonmathuot")
    callback = only_task(session, case, "callback")
    services.cases.complete_task(callback.id, {"reached": "no", "callback_answer": "no_answer"}, actor="dtv1")
    services.cases.citizen_feedback(case.code, satisfied=True)
    session.expire_all()
    session.refresh(case)
    assert (case.status, case.close_reason) == ("closed", "satisfied")
    assert open_tasks(session, case) == {}
    kinds = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                             .order_by(CaseEvent.id))]
    assert kinds.count("callback") == 3 and kinds.count("reopened") == 2 and "closed" in kinds[-2:]
    assert session.scalar(select(func.count()).select_from(CaseRating).where(CaseRating.case_id == case.id)) == 2


def test_silence_after_publication_closes_and_an_overdue_callback_shows(hotline, services, session,
                                                                         session_factory, clock):
    case = hotline.take_call(actor_of(session, "dtv1"), a_call(category="health", place="X-HOA-PHU",
                                                               answers={})).case
    handle = only_task(session, case, "handle")
    assert handle.candidate_unit == "SYT"  # health → the department of health
    services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Đã kiểm tra cơ sở."}, actor="cb.syt")
    callback = only_task(session, case, "callback")
    services.cases.complete_task(callback.id, {"reached": "yes", "callback_answer": "satisfied"}, actor="dtv1")
    clock.advance(days=7, seconds=1)
    session.rollback()
    make_sweep(session_factory, clock).run_once()
    session.expire_all()
    session.refresh(case)
    assert (case.status, case.close_reason) == ("closed", "no_feedback")


def test_a_returned_call_is_rerouted_by_the_operator(hotline, services, session):
    case = hotline.take_call(actor_of(session, "dtv1"), a_call()).case
    handle = only_task(session, case, "handle")
    services.cases.complete_task(handle.id, {"outcome": "returned", "resolution": "Đường do tỉnh quản lý"},
                                 actor="cb.buonmathuot")
    reroute = only_task(session, case, "reroute")
    assert (reroute.candidate_role, reroute.candidate_unit) == ("operator", "IOC-DLK")
    services.cases.complete_task(reroute.id, {"override_unit": "SXD"}, actor="dtv1")
    handle = only_task(session, case, "handle")
    assert handle.candidate_unit == "SXD"


def test_callback_form_refuses_a_missing_answer(hotline, services, session):
    from engine.errors import FormError

    case = hotline.take_call(actor_of(session, "dtv1"), a_call()).case
    handle = only_task(session, case, "handle")
    services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Xong"}, actor="cb.buonmathuot")
    callback = only_task(session, case, "callback")
    with pytest.raises(FormError) as err:
        services.cases.complete_task(callback.id, {"reached": "yes"}, actor="dtv1")
    assert "callback_answer" in err.value.fields


# ---------------------------------------------------------------------------- the web console

@pytest.fixture
def app(db_url, clock, tmp_path):
    """The workspace app with hotline_call deployed too."""
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"))
    with app.app_context():
        deploy_hotline(app.extensions["ioc"].services(db.session).definitions)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def _form(page: str, **fields):
    data = {"csrf_token": csrf_of(page), "phone": "0912 345 678", "caller_name": "Trần Thị Bình",
            "place": "P-BUON-MA-THUOT", "category": "traffic", "kind": "report",
            "description": "Ổ gà lớn trước số 12 Lê Duẩn", "q_hazard": "pothole"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_console_takes_a_call_and_is_ready_for_the_next(app):
    client = client_of(app, "dtv1")
    page = client.get("/hotline/").get_data(as_text=True)
    assert "Tổng đài 1022" in page and 'name="phone"' in page and 'name="call_id"' in page
    response = client.post("/hotline/calls", data=_form(page))
    assert response.status_code == 303
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    code = re.search(r"HL-\d{4}-\d{6}", done).group(0)
    assert 'name="phone"' in done and 'value=""' in done  # a blank form for the next call
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.channel, case.answers) == ("hotline", {"hazard": "pothole"})
        assert case.reporter.phone_key == "0912345678"

    history = client.get("/hotline/history?phone=0912+3456").get_json()
    assert [c["code"] for c in history["cases"]] == [code] and history["cases"][0]["url"].endswith(code)
    dupes = client.get("/hotline/duplicates?category=traffic&place=P-BUON-MA-THUOT").get_json()
    assert [d["code"] for d in dupes["cases"]] == [code]
    assert client.get("/hotline/duplicates?category=nope&place=P-BUON-MA-THUOT").status_code == 400


def test_console_answers_an_information_request_on_the_phone(app):
    client = client_of(app, "dtv2")
    page = client.get("/hotline/").get_data(as_text=True)
    response = client.post("/hotline/calls", data=_form(page, kind="information", description="Hỏi thủ tục"),
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    code = re.search(r"HL-\d{4}-\d{6}", text).group(0)
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.status, case.close_reason) == ("closed", "answered")
        assert not db.session.scalar(select(func.count()).select_from(HumanTask)
                                     .where(HumanTask.business_key == code, HumanTask.state == "open"))
    # Its page does not say a unit is still to come.
    case_page = client.get(f"/cases/{code}").get_data(as_text=True)
    assert "đã đóng mà không chuyển cho đơn vị nào" in case_page
    assert "chưa giao" not in case_page.lower() and "IOC phân loại phản ánh trước" not in case_page


def test_console_links_a_call_to_the_same_case(app):
    client = client_of(app, "dtv1")
    page = client.get("/hotline/").get_data(as_text=True)
    first = client.post("/hotline/calls", data=_form(page), follow_redirects=True).get_data(as_text=True)
    code = re.search(r"HL-\d{4}-\d{6}", first).group(0)
    page = client.get("/hotline/").get_data(as_text=True)
    response = client.post("/hotline/calls", data=_form(page, phone="0905 111 222", same_as=code,
                                                        description="Cũng báo ổ gà này"), follow_redirects=True)
    assert response.status_code == 200 and code in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1
        assert db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "hotline_call")) == 1


@pytest.mark.parametrize("fields, message", [
    ({"phone": "abc"}, "0912 345 678"),
    ({"phone": "12ab", "description": ""}, "such as 0912 345 678"),
    ({"description": ""}, "what the caller"),
    ({"category": "no_such"}, "categor"),
    ({"place": "NOWHERE"}, "commune"),
])
def test_console_refuses_bad_calls_with_a_message(app, fields, message):
    client = client_of(app, "dtv1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_of(client.get("/hotline/").get_data(as_text=True)),
                                   "next": "/hotline/"})
    page = client.get("/hotline/").get_data(as_text=True)
    response = client.post("/hotline/calls", data=_form(page, **fields))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert 'value="Trần Thị Bình"' in response.get_data(as_text=True)  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_console_refuses_non_operators_and_missing_csrf(app):
    officer = client_of(app, "cb.buonmathuot")
    assert officer.get("/hotline/").status_code == 403
    assert officer.get("/hotline/history?phone=0912345678").status_code == 403
    assert client_of(app, "admin").get("/hotline/").status_code == 200
    client = client_of(app, "dtv1")
    page = client.get("/hotline/").get_data(as_text=True)
    data = _form(page)
    del data["csrf_token"]
    assert client.post("/hotline/calls", data=data).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reporter)) == 0


def test_callback_task_renders_in_the_operators_task_list(app, clock):
    client = client_of(app, "dtv1")
    page = client.get("/hotline/").get_data(as_text=True)
    text = client.post("/hotline/calls", data=_form(page), follow_redirects=True).get_data(as_text=True)
    code = re.search(r"HL-\d{4}-\d{6}", text).group(0)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        services.cases.complete_task(task.id, {"outcome": "resolved", "resolution": "Đã vá"}, actor="cb.buonmathuot")
        callback = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code,
                                                             HumanTask.state == "open"))
        callback_id = callback.id
    listing = client.get("/tasks/?tab=unit").get_data(as_text=True)
    assert "Gọi lại cho người dân" in listing and code in listing
    form = client.get(f"/tasks/{callback_id}").get_data(as_text=True)
    assert "Chưa được xử lý (mở lại phản ánh)" in form and "Hài lòng" in form


def test_a_call_through_the_web_to_publication_rating_reopening_and_close(app):
    """The console, the task pages and the public resolution page, as the people concerned use them."""
    operator, officer = client_of(app, "dtv1"), client_of(app, "cb.buonmathuot")

    def open_task_id(code):
        with app.app_context():
            return db.session.scalar(select(HumanTask.id).where(HumanTask.business_key == code,
                                                               HumanTask.state == "open"))

    def complete(client, task_id, **data):
        page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
        response = client.post(f"/tasks/{task_id}/complete", data={"csrf_token": csrf_of(page), **data})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]

    page = operator.get("/hotline/").get_data(as_text=True)
    text = operator.post("/hotline/calls", data=_form(page, caller_name="Trần Thị Bình",
                                                       description="Ổ gà trước nhà bà Bình, 0912 345 678"),
                         follow_redirects=True).get_data(as_text=True)
    code = re.search(r"HL-\d{4}-\d{6}", text).group(0)
    complete(officer, open_task_id(code), outcome="resolved", resolution="Đã vá ổ gà.")
    # The citizen says on the phone it is not fixed: back to the ward.
    complete(operator, open_task_id(code), reached="yes", callback_answer="not_resolved",
             callback_note="Mới vá một nửa")
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.status, case.reopen_count) == ("in_progress", 1)
    complete(officer, open_task_id(code), outcome="resolved", resolution="Đã vá hết ổ gà.")
    complete(operator, open_task_id(code), reached="yes", callback_answer="satisfied")

    public = app.test_client().get(f"/resolutions/{code}")
    assert public.status_code == 200
    shown = public.get_data(as_text=True)
    assert "Đã vá hết ổ gà." in shown and "Bình" not in shown and "0912" not in shown

    # A later "not resolved" (the citizen_feedback message, as a web rating sends it) reopens it once more.
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.cases.citizen_feedback(code, satisfied=False, comment="Lại hỏng")
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.status, case.reopen_count) == ("in_progress", 2)
        ratings = db.session.scalars(select(CaseRating.satisfied).where(CaseRating.case_id == case.id)).all()
        assert sorted(ratings) == [False, True]  # the two answers on the phone
    assert app.test_client().get(f"/resolutions/{code}").status_code == 404  # withdrawn while reopened
    complete(officer, open_task_id(code), outcome="resolved", resolution="Đã thảm lại mặt đường.")
    complete(operator, open_task_id(code), reached="yes", callback_answer="satisfied")
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.cases.citizen_feedback(code, satisfied=True)
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.status, case.close_reason) == ("closed", "satisfied")
    timeline = operator.get(f"/cases/{code}").get_data(as_text=True)
    assert "Đã gọi lại cho người dân: Chưa được xử lý (mở lại phản ánh)" in timeline


def test_reminder_and_escalation_as_for_field_reports(hotline, services, session, session_factory, clock):
    case = hotline.take_call(actor_of(session, "dtv1"), a_call()).case
    only_task(session, case, "handle")
    advance_working(clock, 60, seconds=1)  # normal priority: 72 working hours, reminded 12 before
    session.rollback()
    make_sweep(session_factory, clock).run_once()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "reminder")) == 1
    advance_working(clock, 12)
    session.rollback()
    make_sweep(session_factory, clock).run_once()
    l1 = only_task(session, case, "handle_l1")
    assert (l1.candidate_role, l1.candidate_unit) == ("unit_head", "P-BUON-MA-THUOT")
    # The unit head resolves it: the callback follows, as after the officer's resolution.
    services.cases.complete_task(l1.id, {"resolution": "Đã chỉ đạo vá xong."}, actor="tp.buonmathuot")
    only_task(session, case, "callback")


def test_twenty_reopenings_on_the_phone_run_then_the_next_goes_to_people(hotline, services, session):
    """Every round really runs (SpiffWorkflow's depth limit is far), and operators.reopen stops the 21st."""
    from workflows.operators import MAX_REOPENS

    case = hotline.take_call(actor_of(session, "dtv1"), a_call()).case
    for round_ in range(MAX_REOPENS + 1):
        services.cases.complete_task(only_task(session, case, "handle").id,
                                     {"outcome": "resolved", "resolution": f"Lần {round_ + 1}"}, actor="cb.buonmathuot")
        services.cases.complete_task(only_task(session, case, "callback").id,
                                     {"reached": "yes", "callback_answer": "not_resolved"}, actor="dtv1")
    view = services.instances.view(case.process_instance_id)
    assert view.status == "error"
    assert any(f"reopened {MAX_REOPENS} times" in m for m in view.incidents), view.incidents
    session.refresh(case)
    assert case.reopen_count == MAX_REOPENS


def test_a_high_priority_call_is_reviewed_by_the_head_before_the_callback(hotline, services, session):
    from workflows.review import review_context

    case = hotline.take_call(actor_of(session, "dtv1"), a_call(priority="high")).case
    handle = only_task(session, case, "handle")
    services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Đã rào chắn ổ gà."},
                                 actor="cb.buonmathuot")
    review = only_task(session, case, "review")
    assert (review.candidate_role, review.candidate_unit) == ("unit_head", "P-BUON-MA-THUOT") and review.due_at
    services.cases.complete_task(review.id, {"review_decision": "refuse", "review_note": "Rào chắn chưa đủ, phải vá."},
                                 actor="tp.buonmathuot")
    handle = only_task(session, case, "handle")
    assert [n.note for n in review_context(session, case.code, handle.form).refusals] == ["Rào chắn chưa đủ, phải vá."]
    services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Đã vá ổ gà."}, actor="cb.buonmathuot")
    review = only_task(session, case, "review")
    services.cases.complete_task(review.id, {"review_decision": "approve"}, actor="tp.buonmathuot")
    only_task(session, case, "callback")  # then, as for any call, the citizen is called back before publication
    session.refresh(case)
    assert (case.status, case.resolution) == ("resolved", "Đã vá ổ gà.")


def test_a_normal_call_goes_to_the_callback_without_review(hotline, services, session):
    case = hotline.take_call(actor_of(session, "dtv1"), a_call()).case
    handle = only_task(session, case, "handle")
    services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Đã vá."}, actor="cb.buonmathuot")
    only_task(session, case, "callback")
