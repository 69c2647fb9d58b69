"""The officials' task list through the real pages: tabs, scope, claim / release / reassign, the BPMN form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.models import AuditEvent, HumanTask
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, open_task, sign_in
from webapp.extensions import db
from workflows.models import Case, SavedFilter, User


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    yield app
    with app.app_context():
        db.engine.dispose()



def post(client, url, data=None, page="/tasks/"):
    token = csrf_of(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})})


def task_row(app, task_id):
    with app.app_context():
        row = db.session.get(HumanTask, task_id)
        return {"state": row.state, "assignee": row.assignee, "completed_by": row.completed_by}


def test_unit_list_shows_the_units_tasks_to_its_officers_only(app, clock):
    code = new_case(app)  # a street-lighting report in ward Buôn Ma Thuột → the ward's officer
    officer = client_of(app, "cb.buonmathuot")
    page = officer.get("/tasks/?tab=unit").get_data(as_text=True)
    assert code in page and "Nhận việc" in page  # claimable, in Vietnamese
    # Holding nothing yet, the officer lands on the unit's queue.
    assert 'aria-current="page">Đơn vị tôi' in officer.get("/tasks/").get_data(as_text=True)
    assert 'data-count="unit">1<' in page and 'data-count="mine">0<' in page
    # Another ward's officer and a department's officer never see it, nor open it.
    for stranger in ("cb.tanlap", "cb.sxd"):
        other = client_of(app, stranger)
        assert code not in other.get("/tasks/?tab=unit").get_data(as_text=True)
        assert code not in other.get("/tasks/?tab=overdue").get_data(as_text=True)
        task = open_task(app, code)
        assert other.get(f"/tasks/{task.id}").status_code == 403
    # Past its deadline, the province's IOC sees it among the overdue tasks of its whole scope.
    ioc = client_of(app, "tp.ioc")
    assert code not in ioc.get("/tasks/?tab=overdue").get_data(as_text=True)
    clock.advance(days=20)
    page = ioc.get("/tasks/?tab=overdue").get_data(as_text=True)
    assert code in page and "quá hạn" in page


def test_citizens_and_visitors_cannot_reach_the_task_list(app):
    assert app.test_client().get("/tasks/").status_code == 302  # to the sign-in page
    designer = client_of(app, "thietke")
    assert designer.get("/tasks/").status_code == 403


def test_claim_release_and_reassign_follow_the_unit_rules(app):
    code = new_case(app)
    task = open_task(app, code)
    officer = client_of(app, "cb.buonmathuot")
    response = post(officer, f"/tasks/{task.id}/claim")
    assert response.status_code == 303 and task_row(app, task.id)["assignee"] == "cb.buonmathuot"
    page = officer.get("/tasks/?tab=mine").get_data(as_text=True)
    assert code in page and 'data-count="mine">1<' in page
    # An officer of another ward cannot take it nor give it back.
    stranger = client_of(app, "cb.tanlap")
    assert post(stranger, f"/tasks/{task.id}/claim").status_code == 403
    assert post(stranger, f"/tasks/{task.id}/release").status_code == 403
    assert task_row(app, task.id)["assignee"] == "cb.buonmathuot"
    # The unit head may reassign, but only to someone holding the task's role in the unit.
    head = client_of(app, "tp.buonmathuot")
    post(head, f"/tasks/{task.id}/reassign", {"assignee": "cb.tanlap"}, page=f"/tasks/{task.id}")
    assert task_row(app, task.id)["assignee"] == "cb.buonmathuot"
    assert "không giữ vai trò" in head.get(f"/tasks/{task.id}").get_data(as_text=True)
    post(head, f"/tasks/{task.id}/release", page=f"/tasks/{task.id}")
    assert task_row(app, task.id)["assignee"] is None
    post(head, f"/tasks/{task.id}/reassign", {"assignee": "cb.buonmathuot"}, page=f"/tasks/{task.id}")
    assert task_row(app, task.id)["assignee"] == "cb.buonmathuot"
    # An officer of the unit cannot reassign (heads only).
    assert post(officer, f"/tasks/{task.id}/reassign", {"assignee": "cb.buonmathuot"}).status_code == 403
    with app.app_context():
        kinds = list(db.session.scalars(select(AuditEvent.kind).where(AuditEvent.business_key == code)
                                        .order_by(AuditEvent.id)))
    assert {"task_claimed", "task_released", "task_reassigned"} <= set(kinds)


def test_completion_uses_the_bpmn_form_and_bad_input_changes_nothing(app):
    code = new_case(app)
    task = open_task(app, code)
    officer = client_of(app, "cb.buonmathuot")
    page = officer.get(f"/tasks/{task.id}").get_data(as_text=True)
    # The form the BPMN declares: outcome choice, required resolution, internal note.
    assert 'name="outcome"' in page and 'name="resolution"' in page and 'name="resolution_note"' in page
    token = csrf_of(page)
    missing = officer.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "outcome": "resolved"})
    assert missing.status_code == 422 and "bắt buộc" in missing.get_data(as_text=True)
    wrong = officer.post(f"/tasks/{task.id}/complete",
                         data={"csrf_token": token, "outcome": "done-ish", "resolution": "x"})
    assert wrong.status_code == 422 and "resolved, returned" in wrong.get_data(as_text=True)
    forged = officer.post(f"/tasks/{task.id}/complete", data={"csrf_token": "forged", "outcome": "resolved",
                                                              "resolution": "Đã sửa"})
    assert forged.status_code == 400 and "hết hạn" in forged.get_data(as_text=True)
    assert task_row(app, task.id)["state"] == "open"
    # Someone outside the unit cannot complete it.
    stranger = client_of(app, "cb.tanlap")
    assert post(stranger, f"/tasks/{task.id}/complete", {"outcome": "resolved", "resolution": "x"}).status_code == 403
    assert task_row(app, task.id)["state"] == "open"
    done = officer.post(f"/tasks/{task.id}/complete",
                        data={"csrf_token": token, "outcome": "resolved", "resolution": "Đã thay bóng đèn"})
    assert done.status_code == 303
    assert task_row(app, task.id) == {"state": "completed", "assignee": None, "completed_by": "cb.buonmathuot"}
    with app.app_context():
        assert db.session.scalar(select(Case.status).where(Case.code == code)) == "published"
    assert code in officer.get("/tasks/?tab=done").get_data(as_text=True)
    # Completing it twice gives a clear message, not an error page.
    again = post(officer, f"/tasks/{task.id}/complete", {"outcome": "resolved", "resolution": "x"})
    assert again.status_code in (303, 403)


def test_filters_narrow_every_tab_and_bad_values_say_what_to_fix(app):
    lighting = new_case(app, title="Đèn hỏng đường Lê Duẩn")
    sanitation = new_case(app, category="sanitation", title="Rác tồn đọng")
    officer = client_of(app, "cb.buonmathuot")
    page = officer.get("/tasks/?tab=unit&category=sanitation").get_data(as_text=True)
    assert sanitation in page and lighting not in page and 'data-count="unit">1<' in page
    page = officer.get("/tasks/?tab=unit&q=Lê Duẩn").get_data(as_text=True)
    assert lighting in page and sanitation not in page
    page = officer.get(f"/tasks/?tab=unit&q={lighting}").get_data(as_text=True)
    assert lighting in page and sanitation not in page
    page = officer.get("/tasks/?tab=unit&place=P-TAN-LAP").get_data(as_text=True)
    assert lighting not in page and sanitation not in page
    bad = officer.get("/tasks/?tab=unit&channel=fax&date_from=25/11/2026&place=NOWHERE")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "phải là một trong" in text and "2026-11-25" in text
    assert officer.get("/tasks/?tab=nonsense&sort=sideways").status_code == 400
    # Values that would break the database or the day arithmetic get a message, not an error page.
    for nasty in ("date_to=9999-12-31", "date_from=0001-01-01", "q=%00", "place=%00x", "category=a%00"):
        response = officer.get(f"/tasks/?tab=unit&{nasty}")
        assert response.status_code == 400, nasty
    assert officer.get("/tasks/?tab=unit&page=99999999999999999999").status_code == 200


def test_tasks_carry_their_case_fields_for_the_filters_and_the_priority_sort(app):
    urgent = new_case(app, title="Cây đổ chắn đường Phan Bội Châu", priority="high")
    plain = new_case(app, category="sanitation", title="Rác tồn đọng", priority="low")
    with app.app_context():
        # Triage and handling both carry the fields, copied when the engine created each task.
        for code in (urgent, plain):
            case = db.session.scalar(select(Case).where(Case.code == code))
            for task in db.session.scalars(select(HumanTask).where(HumanTask.business_key == code)):
                assert (task.case_channel, task.case_category, task.case_place_id, task.case_title_lower) == (
                    case.channel, case.category_code, case.admin_unit_id, case.title.lower())
                assert task.case_received_at == case.created_at
                assert task.case_priority_rank == {"high": 0, "low": 2}[case.priority]
    officer = client_of(app, "cb.buonmathuot")
    page = officer.get("/tasks/?tab=unit&sort=priority").get_data(as_text=True)
    assert page.index(urgent) < page.index(plain)
    page = officer.get("/tasks/?tab=unit&priority=low&channel=field_report").get_data(as_text=True)
    assert plain in page and urgent not in page
    page = officer.get("/tasks/?tab=unit&status=in_progress&q=Phan Bội").get_data(as_text=True)
    assert urgent in page and plain not in page and 'data-count="unit">1<' in page
    page = officer.get("/tasks/?tab=unit&status=closed").get_data(as_text=True)
    assert urgent not in page and 'data-count="unit">0<' in page
    page = officer.get("/tasks/?tab=unit&date_from=2000-01-01&date_to=2000-01-02").get_data(as_text=True)
    assert urgent not in page and plain not in page


def test_saved_filters_are_shared_within_the_unit_only(app):
    new_case(app)
    officer = client_of(app, "cb.buonmathuot")
    post(officer, "/tasks/filters", {"name": "Chiếu sáng", "category": "street_lighting"})
    head = client_of(app, "tp.buonmathuot")
    assert "Chiếu sáng" in head.get("/tasks/").get_data(as_text=True)
    other = client_of(app, "cb.tanlap")
    assert "Chiếu sáng" not in other.get("/tasks/").get_data(as_text=True)
    with app.app_context():
        saved = db.session.scalar(select(SavedFilter))
        assert saved.query == {"category": "street_lighting"}
        saved_id = saved.id
    assert post(other, f"/tasks/filters/{saved_id}/delete").status_code == 404
    # A filter without a condition is refused with a message, nothing saved.
    post(officer, "/tasks/filters", {"name": "Trống"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SavedFilter)) == 1
    post(head, f"/tasks/filters/{saved_id}/delete")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SavedFilter)) == 0


def _sign_in_error(response) -> str:
    page = response.get_data(as_text=True)
    return page.split('role="alert">', 1)[1].split("</div>", 1)[0]


def test_sign_in_locks_an_account_after_repeated_failures(app):
    client = app.test_client()
    for _ in range(5):
        response = sign_in(client, "cb.buonmathuot", "wrong")
        assert response.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)
    locked = sign_in(client, "cb.buonmathuot")  # the right password, but locked now
    assert locked.status_code == 401 and "bị khóa" in locked.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.locked_until).where(User.username == "cb.buonmathuot")) is not None
    # The lock-out does not tell which usernames exist: an unknown name tried as often gets the very same answer.
    for _ in range(5):
        sign_in(client, "khong.ton.tai", "wrong")
    unknown = sign_in(client, "khong.ton.tai", "wrong")
    assert unknown.status_code == 401
    assert _sign_in_error(unknown) == _sign_in_error(locked) == _sign_in_error(sign_in(client, "cb.tanlap", "wrong"))


@pytest.mark.parametrize("production", [False, True])
def test_the_remember_me_cookie_is_same_site_and_secure_in_production(tmp_path, clock, production):
    app = make_workspace_app(f"sqlite:///{tmp_path / 'remember.sqlite3'}", clock, PRODUCTION=production)
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "cb.tanlap", "password": "demo1022", "remember": "1",
                                           "csrf_token": token})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert ("Secure" in cookie) is production
    with app.app_context():
        db.engine.dispose()


def test_sign_in_is_rate_limited_per_address(db_url, clock):
    app = make_workspace_app(db_url, clock, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [sign_in(client, "nobody", "x").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    with app.app_context():
        db.engine.dispose()


def test_language_is_chosen_per_user_and_redirects_stay_on_site(app):
    officer = client_of(app, "cb.buonmathuot")
    post(officer, "/language", {"lang": "en", "next": "/tasks/"})
    assert "My tasks" in officer.get("/tasks/").get_data(as_text=True)
    # A fresh browser of the same user gets English too (remembered on the account).
    fresh = client_of(app, "cb.buonmathuot")
    fresh.delete_cookie("lang")
    assert "My tasks" in fresh.get("/tasks/").get_data(as_text=True)
    # After sign-in, only paths of this site are followed.
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=https://evil.example/x", data={"username": "cb.tanlap",
                                                                        "password": "demo1022", "csrf_token": token})
    assert response.headers["Location"] == "/tasks/"


def _place_options(page: str) -> list[str]:
    select_html = page.split('name="place"', 1)[1].split("</select>", 1)[0]
    return [chunk.split('"', 1)[0] for chunk in select_html.split('<option value="')[1:] if chunk.split('"', 1)[0]]


def test_the_place_filter_offers_only_the_places_in_the_officials_view(app):
    """A ward's officer is offered their ward, not every commune of the province; a department (cases from
    anywhere) and the operations centre are offered every place. Tasks and cases lists alike."""
    for path in ("/tasks/", "/cases/"):
        ward = _place_options(client_of(app, "cb.tanlap").get(path).get_data(as_text=True))
        assert ward == ["P-TAN-LAP"], (path, ward)
        everywhere = _place_options(client_of(app, "dtv1").get(path).get_data(as_text=True))
        assert {"P-TAN-LAP", "P-BUON-MA-THUOT", "X-HOA-PHU"} <= set(everywhere) and len(everywhere) > 10
        department = _place_options(client_of(app, "cb.sxd").get(path).get_data(as_text=True))
        assert set(department) == set(everywhere)


def test_an_english_list_names_the_place_in_english(app):
    code = new_case(app)  # in Phường Buôn Ma Thuột
    officer = client_of(app, "cb.buonmathuot")
    assert ">Phường Buôn Ma Thuột</td>" in officer.get("/tasks/?tab=unit").get_data(as_text=True)
    post(officer, "/language", {"lang": "en", "next": "/tasks/"})
    page = officer.get("/tasks/?tab=unit").get_data(as_text=True)
    assert code in page and ">Buôn Ma Thuột Ward</td>" in page and ">Phường Buôn Ma Thuột</td>" not in page
