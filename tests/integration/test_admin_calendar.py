"""The working calendar in the console: the year's holidays, days off and make-up days, office hours; all audited."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from tests.working_time import local
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.admin.models import AdminAuditEntry
from workflows.calendar.models import CalendarException, WorkingHoursSetting
from workflows.models import Case


@pytest.fixture
def app(db_url):
    """The demo's people; the clock at 10:00 on Wednesday 2 December 2026 in Vietnam."""
    app = make_workspace_app(db_url, FrozenClock(local(2026, 12, 2, 10)))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _audit(app, action):
    with app.app_context():
        return db.session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == action)).all()


def test_the_page_lists_the_years_holidays_in_both_languages_with_tet(app):
    admin = client_of(app, "admin")
    page = html.unescape(admin.get("/admin/calendar?year=2027").get_data(as_text=True))
    assert 'data-holiday="2027-02-06"' in page and "Tết Nguyên Đán" in page and "Lunar New Year" in page
    for day in range(4, 11):  # the whole Tết break, Thursday 4 to Wednesday 10 February
        assert f'data-holiday="2027-02-{day:02d}"' in page
    assert "07:00-11:30, 13:30-17:00" in page
    assert 'data-workday="2026-08-22"' in html.unescape(admin.get("/admin/calendar?year=2026").get_data(as_text=True))
    assert "/admin/calendar" in admin.get("/admin/").get_data(as_text=True)  # in the console's navigation


def test_only_administrators_reach_it(app):
    officer = client_of(app, "cb.buonmathuot")
    assert officer.get("/admin/calendar").status_code == 403
    token = csrf_of(officer.get("/tasks/").get_data(as_text=True))
    refused = officer.post("/admin/calendar/exceptions", data={"csrf_token": token, "day": "2026-12-03",
                                                               "kind": "off", "note": "x"})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(CalendarException)) is None


def test_a_day_off_added_on_the_page_moves_deadlines_is_audited_and_can_be_removed(app):
    admin = client_of(app, "admin")
    token = csrf_of(admin.get("/admin/calendar").get_data(as_text=True))
    added = admin.post("/admin/calendar/exceptions", data={
        "csrf_token": token, "day": "2026-12-03", "kind": "off", "note": "Quyết định 12/QĐ-UBND: nghỉ bù"})
    assert added.status_code == 303
    page = html.unescape(admin.get("/admin/calendar?year=2026").get_data(as_text=True))
    assert 'data-exception="2026-12-03"' in page and "Quyết định 12/QĐ-UBND: nghỉ bù" in page

    # A case triaged now (Wednesday 10:00, 72 working hours) skips Thursday 3 December.
    code = new_case(app)
    with app.app_context():
        due = db.session.scalar(select(Case.due_at).where(Case.code == code))
    assert due == local(2026, 12, 16, 10)  # without the day off: Tuesday the 15th, 10:00

    [line] = _audit(app, "calendar.exception_add")
    assert (line.actor_username, line.target_id, line.before) == ("admin", "2026-12-03", None)
    assert line.after == {"day": "2026-12-03", "working": False, "note": "Quyết định 12/QĐ-UBND: nghỉ bù"}
    log = html.unescape(admin.get("/admin/audit").get_data(as_text=True))
    assert "thêm ngày nghỉ / ngày làm bù" in log and "03/12/2026" in log

    with app.app_context():
        exception_id = db.session.scalar(select(CalendarException.id))
    assert admin.post(f"/admin/calendar/exceptions/{exception_id}/delete",
                      data={"csrf_token": token}).status_code == 303
    [removed] = _audit(app, "calendar.exception_remove")
    assert removed.before["day"] == "2026-12-03" and removed.after is None
    with app.app_context():
        assert db.session.scalar(select(CalendarException)) is None
    assert admin.post(f"/admin/calendar/exceptions/{exception_id}/delete",
                      data={"csrf_token": token}).status_code == 404
    assert admin.post("/admin/calendar/exceptions/99999999999999999999/delete",
                      data={"csrf_token": token}).status_code == 404
    assert admin.get("/admin/calendar?year=99999999999999999999").status_code == 404


def test_a_make_up_saturday_without_a_reason_is_refused_keeping_what_was_typed(app):
    admin = client_of(app, "admin")
    token = csrf_of(admin.get("/admin/calendar").get_data(as_text=True))
    refused = admin.post("/admin/calendar/exceptions", data={"csrf_token": token, "day": "2026-12-05",
                                                             "kind": "working", "note": "  "})
    assert refused.status_code == 400
    page = html.unescape(refused.get_data(as_text=True))
    assert 'value="2026-12-05"' in page and '<option value="working" selected>' in page and 'class="error"' in page
    no_date = admin.post("/admin/calendar/exceptions", data={"csrf_token": token, "day": "", "note": "x"})
    assert no_date.status_code == 400
    admin.post("/admin/calendar/exceptions", data={"csrf_token": token, "day": "2026-12-05", "kind": "working",
                                                   "note": "Làm bù"})
    twice = admin.post("/admin/calendar/exceptions", data={"csrf_token": token, "day": "2026-12-05",
                                                           "kind": "off", "note": "Lần nữa"})
    assert twice.status_code == 400
    with app.app_context():
        assert [(e.working, e.note) for e in db.session.scalars(select(CalendarException))] == [(True, "Làm bù")]
    assert len(_audit(app, "calendar.exception_add")) == 1


def test_office_hours_are_changed_audited_and_checked(app):
    admin = client_of(app, "admin")
    token = csrf_of(admin.get("/admin/calendar").get_data(as_text=True))
    bad = admin.post("/admin/calendar/hours", data={"csrf_token": token, "periods": "11:30-07:00",
                                                    "weekdays": ["0", "1", "2", "3", "4"]})
    assert bad.status_code == 400 and 'value="11:30-07:00"' in bad.get_data(as_text=True)
    none = admin.post("/admin/calendar/hours", data={"csrf_token": token, "periods": "07:30-11:30, 13:30-17:00"})
    assert none.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(WorkingHoursSetting)) is None

    saved = admin.post("/admin/calendar/hours", data={"csrf_token": token, "periods": "07:30-11:30, 13:30-17:00",
                                                      "weekdays": ["0", "1", "2", "3", "4", "5"]})
    assert saved.status_code == 303
    [line] = _audit(app, "calendar.hours")
    assert line.before == {"periods": "07:00-11:30, 13:30-17:00", "weekdays": [0, 1, 2, 3, 4]}
    assert line.after == {"periods": "07:30-11:30, 13:30-17:00", "weekdays": [0, 1, 2, 3, 4, 5]}
    # Wednesday 10:00 + 72 working hours of 7.5 a day, Saturdays working: Saturday the 12th, 16:30
    code = new_case(app)
    with app.app_context():
        assert db.session.scalar(select(Case.due_at).where(Case.code == code)) == local(2026, 12, 12, 16, 30)
