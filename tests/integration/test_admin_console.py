"""The administration console over HTTP: who gets in, and the audit log of every action with before and after."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from tests.workspace import client_of, make_workspace_app
from webapp.extensions import db
from workflows.admin.audit import Target, record
from workflows.admin.models import AdminAuditEntry
from workflows.models import User


@pytest.fixture
def app(db_url):
    """The demo's people on SQLite and PostgreSQL, the clock at 10:00 on 3 December 2026 (Vietnam 17:00)."""
    app = make_workspace_app(db_url, FrozenClock(datetime(2026, 12, 3, 10, 0, tzinfo=UTC)))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _record(app, action: str, target: Target, before, after, note: str = "") -> None:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        record(db.session, admin, action, target, before, after, note, clock=app.extensions["ioc"].clock)
        db.session.commit()


def test_the_console_lets_in_administrators_only(app):
    admin, officer, designer = client_of(app, "admin"), client_of(app, "cb.tanlap"), client_of(app, "thietke")
    assert admin.get("/admin/").status_code == 200
    assert admin.get("/admin/audit").status_code == 200
    for client in (officer, designer):
        assert client.get("/admin/").status_code == 403
        assert client.get("/admin/audit").status_code == 403
    visitor = app.test_client().get("/admin/audit")
    assert visitor.status_code == 302 and "/login" in visitor.headers["Location"]
    # The main menu shows the console to administrators only.
    assert 'href="/admin/"' in admin.get("/tasks/").get_data(as_text=True)
    assert 'href="/admin/"' not in officer.get("/tasks/").get_data(as_text=True)


def test_the_audit_log_shows_who_when_what_and_before_after_side_by_side(app):
    _record(app, "user.disable", Target("user", 7, "cb.tanlap"), {"active": True, "email": "a@x.vn"},
            {"active": False, "email": "a@x.vn"}, note="Nghỉ việc")
    _record(app, "api_token.revoke", Target("api_token", 3, "máy đọc"), {"revoked_at": None}, {"revoked_at": "now"})
    client = client_of(app, "admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "17:00:00 03/12/2026" in page  # the engine clock's time, shown in Vietnam time
    assert "Vô hiệu hoá người dùng" in page and "Nghỉ việc" in page  # the stored key, shown in Vietnamese
    row = page[page.index('data-action="user.disable"'):]
    row = row[:row.index("</tr>\n    <tr") if "</tr>\n    <tr" in row else len(row)]
    assert '<tr class="changed"><td>active</td><td class="before">có</td><td class="after">không</td>' in row
    assert '<tr class=""><td>email</td><td class="before">a@x.vn</td><td class="after">a@x.vn</td>' in row
    english = client.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "disable user" in english

    only = client.get("/admin/audit?action=api_token.revoke").get_data(as_text=True)
    assert 'data-action="api_token.revoke"' in only and 'data-action="user.disable"' not in only
    assert 'data-action="user.disable"' in client.get("/admin/audit?target=tanlap&actor=admin").get_data(as_text=True)
    assert "data-action=" not in client.get("/admin/audit?actor=nobody").get_data(as_text=True)
    assert 'data-action="user.disable"' in client.get("/admin/audit?since=2026-12-03&until=2026-12-03").get_data(
        as_text=True)
    assert "data-action=" not in client.get("/admin/audit?since=2026-12-04").get_data(as_text=True)
    # Nonsense in the query string is ignored with a word, never a server error.
    odd = client.get("/admin/audit?since=31/12&page=99999999999999999999999")
    assert odd.status_code == 200 and "was not understood" in odd.get_data(as_text=True)  # in English since ?lang=en


def test_an_audit_line_is_stored_with_the_action_or_not_at_all(app):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        record(db.session, admin, "user.update", Target("user", admin.id, "admin"), {"full_name": "A"},
               {"full_name": "B"})
        db.session.rollback()  # the action failed: its audit line goes with it
        assert db.session.scalar(select(AdminAuditEntry)) is None
