"""The administration console over HTTP: who gets in, and the audit log of every action with before and after."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, sign_in
from webapp.extensions import db
from workflows.admin.audit import Target, record
from workflows.admin.models import AdminAuditEntry
from workflows.models import ApiToken, Open311Client, User


def _app(url: str):
    return make_workspace_app(url, FrozenClock(datetime(2026, 12, 3, 10, 0, tzinfo=UTC)))


@pytest.fixture
def app(db_url):
    """The demo's people on SQLite and PostgreSQL, the clock at 10:00 on 3 December 2026 (Vietnam 17:00)."""
    app = _app(db_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def lite(tmp_path):
    """The same on SQLite only, for what does not depend on the database (each sign-in hashes on purpose)."""
    app = _app(f"sqlite:///{tmp_path / 'admin.sqlite3'}")
    yield app
    with app.app_context():
        db.engine.dispose()


def _record(app, action: str, target: Target, before, after, note: str = "") -> None:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        record(db.session, admin, action, target, before, after, note, clock=app.extensions["ioc"].clock)
        db.session.commit()


def test_the_console_lets_in_administrators_only(lite):
    admin, officer, designer = client_of(lite, "admin"), client_of(lite, "cb.tanlap"), client_of(lite, "thietke")
    assert admin.get("/admin/").status_code == 200
    assert admin.get("/admin/audit").status_code == 200
    assert officer.get("/admin/").status_code == 403  # no section for an officer
    for client in (officer, designer):  # a designer has sections of their own (incidents), not the audit log
        assert client.get("/admin/audit").status_code == 403
    visitor = lite.test_client().get("/admin/audit")
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


def test_an_audit_line_is_stored_with_the_action_or_not_at_all(lite):
    with lite.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        record(db.session, admin, "user.update", Target("user", admin.id, "admin"), {"full_name": "A"},
               {"full_name": "B"})
        db.session.rollback()  # the action failed: its audit line goes with it
        assert db.session.scalar(select(AdminAuditEntry)) is None


# ---------------------------------------------------------------------------------------------- helpers
def _post(client, path: str, data: dict | None = None):
    token = csrf_of(client.get("/admin/users").get_data(as_text=True) if "/admin/" in path
                    else client.get("/account/profile").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _secret(response) -> str:
    found = re.findall(r'id="secret-once">([^<]+)<', response.get_data(as_text=True))
    assert len(found) == 1, "the secret is shown once on the answer"
    return found[0]


def _errors(response) -> list[str]:
    return re.findall(r'class="error">([^<]+)<', response.get_data(as_text=True))


def _audit(lite, action: str) -> list[AdminAuditEntry]:
    with lite.app_context():
        rows = list(db.session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == action)
                                       .order_by(AdminAuditEntry.id)))
        db.session.expunge_all()
        return rows


def _user(lite, username: str) -> User | None:
    with lite.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None:
            _ = [(r.role, r.unit.code) for r in user.roles]
            db.session.expunge_all()
        return user


def _user_id(lite, username: str) -> int:
    return _user(lite, username).id


# ---------------------------------------------------------------------------------------------- users
ACTIONS = [("GET", "/admin/users"), ("GET", "/admin/users/new"), ("POST", "/admin/users/new"),
           ("GET", "/admin/users/{id}"), ("POST", "/admin/users/{id}/edit"), ("POST", "/admin/users/{id}/disable"),
           ("POST", "/admin/users/{id}/enable"), ("POST", "/admin/users/{id}/password"),
           ("POST", "/admin/users/{id}/roles"), ("POST", "/admin/users/{id}/roles/1/revoke"),
           ("GET", "/admin/keys"), ("POST", "/admin/keys/open311"), ("POST", "/admin/keys/open311/1/revoke"),
           ("POST", "/admin/keys/tokens"), ("POST", "/admin/keys/tokens/1/revoke"), ("GET", "/admin/status"),
           ("GET", "/admin/deliveries"), ("POST", "/admin/deliveries/1/retry"), ("POST", "/admin/deliveries/1/drop"),
           ("POST", "/admin/deliveries/retry-all")]


def test_every_console_action_refuses_non_administrators_and_changes_nothing(lite):
    target = _user_id(lite, "cb.tanlap")
    for username in ("cb.tanlap", "tp.ioc", "thietke", "dan.tranthimai"):
        client = client_of(lite, username)
        token = csrf_of(client.get("/tasks/" if username != "dan.tranthimai" else "/my-reports").get_data(as_text=True))
        for method, path in ACTIONS:
            url = path.format(id=target)
            data = {"csrf_token": token, "username": "x.moi", "full_name": "X", "role": "admin", "unit": "IOC-DLK",
                    "name": "x"}
            response = client.get(url) if method == "GET" else client.post(url, data=data)
            assert response.status_code == 403, (username, method, url, response.status_code)
    with lite.app_context():
        assert db.session.scalar(select(AdminAuditEntry)) is None
        assert db.session.scalar(select(User).where(User.username == "x.moi")) is None
        assert db.session.scalar(select(User.active).where(User.id == target)) is True


def test_an_admin_creates_an_officer_of_a_ward_who_signs_in_with_the_password_shown_once(app):
    admin = client_of(app, "admin")
    form = admin.get("/admin/users/new").get_data(as_text=True)
    assert 'value="P-TAN-LAP"' in form and 'value="officer"' in form  # units and roles come from the live lists
    created = _post(admin, "/admin/users/new", {"username": "cb.moi", "full_name": "Nguyễn Thị Mới",
                                                "email": "moi@daklak.gov.vn", "language": "vi", "role": "officer",
                                                "unit": "P-TAN-LAP"})
    assert created.status_code == 201
    password = _secret(created)
    user = _user(app, "cb.moi")
    assert user.active and [(r.role, r.unit.code) for r in user.roles] == [("officer", "P-TAN-LAP")]
    assert password not in (user.password_hash or "")  # only the argon2 hash is kept
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert password not in page  # shown once, never again
    assert sign_in(app.test_client(), "cb.moi", password).status_code == 302
    [line] = _audit(app, "user.create")
    assert line.actor_username == "admin" and line.target_id == str(user.id) and line.before is None
    assert line.after["roles"] == ["officer@P-TAN-LAP"] and line.after["email"] == "moi@daklak.gov.vn"
    assert "password" not in str(line.after)
    # A typed password is taken as it is (and then nothing is shown).
    typed = _post(admin, "/admin/users/new", {"username": "cb.moi2", "full_name": "B", "password": "mat-khau-dai-1"})
    assert typed.status_code == 201 and 'id="secret-once"' not in typed.get_data(as_text=True)
    assert sign_in(app.test_client(), "cb.moi2", "mat-khau-dai-1").status_code == 302


def test_a_role_or_unit_that_is_not_in_the_lists_is_refused_and_nothing_is_stored(app):
    admin = client_of(app, "admin")
    refused = _post(admin, "/admin/users/new", {"username": "cb.sai", "full_name": "Nguyễn Văn Sai",
                                                "role": "officer", "unit": "P-TAN-LAPP"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert any("chọn một đơn vị trong danh sách" in e for e in _errors(refused))
    assert 'value="Nguyễn Văn Sai"' in page and 'value="cb.sai"' in page  # what was typed is kept
    refused = _post(admin, "/admin/users/new", {"username": "cb.sai", "full_name": "X", "role": "superuser",
                                                "unit": "P-TAN-LAP"})
    assert refused.status_code == 400 and any("chọn một vai trò" in e for e in _errors(refused))
    assert _user(app, "cb.sai") is None

    target = _user_id(app, "cb.tanlap")
    for role, unit, message in (("officer", "P-KHONG-CO", "chọn một đơn vị trong danh sách"),
                                ("boss", "P-TAN-LAP", "chọn một vai trò"), ("officer", "", "chọn một đơn vị")):
        response = _post(admin, f"/admin/users/{target}/roles", {"role": role, "unit": unit})
        alert = response.get_data(as_text=True).split('class="errors" role="alert">', 1)[-1].split("</div>", 1)[0]
        assert response.status_code == 400 and message in alert, (role, unit)
    assert [(r.role, r.unit.code) for r in _user(app, "cb.tanlap").roles] == [("officer", "P-TAN-LAP")]
    assert _audit(app, "user.create") == [] and _audit(app, "user.grant_role") == []


def test_roles_are_granted_and_revoked_in_units_with_before_and_after(lite):
    admin = client_of(lite, "admin")
    target = _user_id(lite, "cb.tanlap")
    assert _post(admin, f"/admin/users/{target}/roles", {"role": "unit_head", "unit": "P-TAN-LAP"}).status_code == 302
    again = _post(admin, f"/admin/users/{target}/roles", {"role": "unit_head", "unit": "P-TAN-LAP"})
    assert again.status_code == 400  # already held: refused, not doubled
    roles = {(r.role, r.unit.code): r.id for r in _user(lite, "cb.tanlap").roles}
    assert set(roles) == {("officer", "P-TAN-LAP"), ("unit_head", "P-TAN-LAP")}
    [granted] = _audit(lite, "user.grant_role")
    assert granted.before["roles"] == ["officer@P-TAN-LAP"]
    assert granted.after["roles"] == ["officer@P-TAN-LAP", "unit_head@P-TAN-LAP"]
    revoke = f"/admin/users/{target}/roles/{roles[('officer', 'P-TAN-LAP')]}/revoke"
    assert _post(admin, revoke, {"note": "chuyển vị trí"}).status_code == 302
    [revoked] = _audit(lite, "user.revoke_role")
    assert revoked.after["roles"] == ["unit_head@P-TAN-LAP"] and revoked.note == "chuyển vị trí"
    # The audit log page shows them, before and after side by side.
    log = admin.get("/admin/audit?target=cb.tanlap").get_data(as_text=True)
    assert 'data-action="user.grant_role"' in log and 'data-action="user.revoke_role"' in log
    assert "unit_head@P-TAN-LAP" in log
    # An administrator cannot take their own administrator role away.
    me = _user(lite, "admin")
    own = next(r.id for r in me.roles if r.role == "admin")
    assert _post(admin, f"/admin/users/{me.id}/roles/{own}/revoke").status_code == 400
    assert any(r.role == "admin" for r in _user(lite, "admin").roles)


def test_a_disabled_user_cannot_sign_in_and_their_sessions_and_tokens_stop_working(lite):
    officer = client_of(lite, "cb.tanlap")
    remembered = lite.test_client()
    token = csrf_of(remembered.get("/login").get_data(as_text=True))
    remembered.post("/login", data={"username": "cb.tanlap", "password": "demo1022", "remember": "1",
                                    "csrf_token": token})
    admin = client_of(lite, "admin")
    _post(admin, "/admin/keys/tokens", {"username": "cb.tanlap", "name": "máy đọc"})
    with lite.app_context():
        from workflows.tokens import TokenService

        _info, api_token = TokenService(db.session).create("cb.tanlap", "thử")
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert lite.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    assert officer.get("/tasks/").status_code == 200

    target = _user_id(lite, "cb.tanlap")
    assert _post(admin, f"/admin/users/{target}/disable", {"note": "nghỉ việc"}).status_code == 302
    assert officer.get("/tasks/").status_code == 302  # the open session ends
    remembered.delete_cookie("session")
    assert remembered.get("/tasks/").status_code == 302  # the remember-me cookie no longer signs in
    assert lite.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    assert sign_in(lite.test_client(), "cb.tanlap").status_code == 401
    [line] = _audit(lite, "user.disable")
    assert line.before["active"] is True and line.after["active"] is False and line.note == "nghỉ việc"
    assert "Vô hiệu hoá" in admin.get("/admin/audit").get_data(as_text=True)
    # An administrator cannot disable themselves.
    assert _post(admin, f"/admin/users/{_user_id(lite, 'admin')}/disable").status_code == 400
    assert _user(lite, "admin").active

    assert _post(admin, f"/admin/users/{target}/enable").status_code == 302
    assert sign_in(lite.test_client(), "cb.tanlap").status_code == 302
    assert lite.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    [line] = _audit(lite, "user.enable")
    assert line.before["active"] is False and line.after["active"] is True


def test_a_password_reset_lifts_the_lock_and_the_details_are_edited(lite):
    for _ in range(5):
        sign_in(lite.test_client(), "cb.tanlap", "wrong")
    admin = client_of(lite, "admin")
    target = _user_id(lite, "cb.tanlap")
    assert _user(lite, "cb.tanlap").locked_until is not None
    reset = _post(admin, f"/admin/users/{target}/password")
    assert reset.status_code == 200
    password = _secret(reset)
    assert sign_in(lite.test_client(), "cb.tanlap", password).status_code == 302
    assert sign_in(lite.test_client(), "cb.tanlap").status_code == 401  # the old one no longer works
    short = _post(admin, f"/admin/users/{target}/password", {"password": "ngan"})
    assert short.status_code == 400 and _errors(short)
    [line] = _audit(lite, "user.reset_password")
    assert line.before == {"password": "set", "locked": True} and line.after["locked"] is False
    assert password not in str(line.after)

    edited = _post(admin, f"/admin/users/{target}/edit", {"full_name": "Hồ Tấn Phong (mới)", "email": "sai-email",
                                                         "language": "en"})
    assert edited.status_code == 400 and 'value="sai-email"' in edited.get_data(as_text=True)
    assert _post(admin, f"/admin/users/{target}/edit", {"full_name": "Hồ Tấn Phong (mới)", "email": "p@x.vn",
                                                       "language": "en"}).status_code == 302
    user = _user(lite, "cb.tanlap")
    assert (user.full_name, user.email, user.language) == ("Hồ Tấn Phong (mới)", "p@x.vn", "en")
    [line] = _audit(lite, "user.update")
    assert line.before["full_name"] == "Hồ Tấn Phong" and line.after["full_name"] == "Hồ Tấn Phong (mới)"
    assert line.before["language"] != "en" and line.after["language"] == "en"


def test_the_user_list_searches_by_name_role_unit_and_state(app):
    admin = client_of(app, "admin")

    def names(query: str) -> set[str]:
        return set(re.findall(r'data-username="([^"]+)"', admin.get("/admin/users?" + query).get_data(as_text=True)))

    assert names("unit=P-TAN-LAP") == {"cb.tanlap", "tp.tanlap", "ld.tanlap"}
    assert names("unit=P-TAN-LAP&role=unit_head") == {"tp.tanlap"}
    assert "cb.tanlap" in names("q=Tấn Phong") and "admin" not in names("q=Tấn Phong")
    assert names("status=disabled") == set()
    _post(admin, f"/admin/users/{_user_id(app, 'tp.tanlap')}/disable")
    assert names("status=disabled") == {"tp.tanlap"}


# ---------------------------------------------------------------------------------------------- keys
def test_open311_keys_are_created_shown_once_and_revoked_with_the_audit(lite):
    admin = client_of(lite, "admin")
    assert _post(admin, "/admin/keys/open311", {"name": ""}).status_code == 400
    created = _post(admin, "/admin/keys/open311", {"name": "Ứng dụng Buôn Ma Thuột"})
    assert created.status_code == 201
    key = _secret(created)
    assert key not in admin.get("/admin/keys").get_data(as_text=True)
    post = {"api_key": key, "service_code": "street_lighting", "lat": "12.668", "long": "108.041",
            "description": "Đèn đường không sáng"}
    assert lite.test_client().post("/open311/v2/requests.json", data=post).status_code == 200
    with lite.app_context():
        client_id = db.session.scalar(select(Open311Client.id).where(Open311Client.name == "Ứng dụng Buôn Ma Thuột"))
    assert _post(admin, f"/admin/keys/open311/{client_id}/revoke").status_code == 302
    assert lite.test_client().post("/open311/v2/requests.json", data=post).status_code == 403
    assert _post(admin, "/admin/keys/open311/999999/revoke").status_code == 404
    [made] = _audit(lite, "open311_key.create")
    [revoked] = _audit(lite, "open311_key.revoke")
    assert made.after["name"] == "Ứng dụng Buôn Ma Thuột" and key not in str(made.after)
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]


def test_api_tokens_are_created_for_a_listed_account_shown_once_and_revoked_with_the_audit(lite):
    admin = client_of(lite, "admin")
    unknown = _post(admin, "/admin/keys/tokens", {"username": "khong.co", "name": "máy"})
    assert unknown.status_code == 400 and _errors(unknown)
    created = _post(admin, "/admin/keys/tokens", {"username": "cb.tanlap", "name": "Bảng điều khiển phường"})
    assert created.status_code == 201
    token = _secret(created)
    me = lite.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["user"]["username"] == "cb.tanlap"
    with lite.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Bảng điều khiển phường"))
    assert f'data-token="{token_id}"' in admin.get("/admin/keys").get_data(as_text=True)
    assert _post(admin, f"/admin/keys/tokens/{token_id}/revoke").status_code == 302
    assert lite.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    [made] = _audit(lite, "api_token.create")
    [revoked] = _audit(lite, "api_token.revoke")
    assert made.after["user"] == "cb.tanlap" and token not in str(made.after)
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]


# ---------------------------------------------------------------------------------------------- status, profile
def test_the_system_status_is_for_administrators(lite):
    page = client_of(lite, "admin").get("/admin/status").get_data(as_text=True)
    for part in ("open tasks", "incidents", "accounts", "field_report", "Timer sweep"):
        assert part in client_of(lite, "admin").get("/admin/status?lang=en").get_data(as_text=True), part
    assert "field_report" in page
    assert client_of(lite, "cb.tanlap").get("/admin/status").status_code == 403


def test_the_status_page_names_places_and_units_in_the_reader_s_language(lite):
    code = new_case(lite)  # in Phường Buôn Ma Thuột, accepted at triage: the ward handles it
    admin = client_of(lite, "admin")
    row = admin.get("/admin/status?lang=en").get_data(as_text=True).split(code, 1)[1].split("</tr>", 1)[0]
    assert row.count("Buôn Ma Thuột Ward") == 2 and "Phường" not in row  # the place and the responsible unit
    assert "Phường Buôn Ma Thuột" in admin.get("/admin/status?lang=vi").get_data(as_text=True)


def test_everyone_changes_their_own_password_with_the_current_one_and_their_language(lite):
    citizen = client_of(lite, "dan.tranthimai")
    page = citizen.get("/account/profile")
    assert page.status_code == 200 and "Người dân · Phường Buôn Ma Thuột" in page.get_data(as_text=True)  # roles by name
    wrong = _post(citizen, "/account/profile", {"current": "not-it", "new": "mat-khau-moi-1", "again": "mat-khau-moi-1"})
    assert wrong.status_code == 400 and _errors(wrong)
    differ = _post(citizen, "/account/profile", {"current": "demo1022", "new": "mat-khau-moi-1", "again": "khac-1234567"})
    assert differ.status_code == 400
    assert sign_in(lite.test_client(), "dan.tranthimai").status_code == 302  # nothing changed yet
    done = _post(citizen, "/account/profile", {"current": "demo1022", "new": "mat-khau-moi-1", "again": "mat-khau-moi-1"})
    assert done.status_code == 302
    assert sign_in(lite.test_client(), "dan.tranthimai").status_code == 401
    assert sign_in(lite.test_client(), "dan.tranthimai", "mat-khau-moi-1").status_code == 302
    [line] = _audit(lite, "user.change_own_password")
    assert line.actor_username == "dan.tranthimai" and "mat-khau" not in str(line.after)
    # The language is kept on the account.
    token = csrf_of(citizen.get("/account/profile").get_data(as_text=True))
    citizen.post("/language", data={"csrf_token": token, "lang": "en", "next": "/account/profile"})
    assert _user(lite, "dan.tranthimai").language == "en"
    assert "Change my password" in citizen.get("/account/profile").get_data(as_text=True)
    assert lite.test_client().get("/account/profile").status_code == 302  # visitors sign in first


def test_a_new_password_ends_the_other_sessions_of_the_account(lite):
    """After a reset by an administrator (a password thought stolen) nobody stays signed in with the old one;
    after the user's own change, their other sessions end and the one they changed it in goes on."""
    stolen = client_of(lite, "cb.tanlap")
    remembered = lite.test_client()
    token = csrf_of(remembered.get("/login").get_data(as_text=True))
    remembered.post("/login", data={"username": "cb.tanlap", "password": "demo1022", "remember": "1",
                                    "csrf_token": token})
    remembered.delete_cookie("session")  # only the remember-me cookie is left
    assert stolen.get("/tasks/").status_code == 200 and remembered.get("/tasks/").status_code == 200
    admin = client_of(lite, "admin")
    password = _secret(_post(admin, f"/admin/users/{_user_id(lite, 'cb.tanlap')}/password"))
    assert stolen.get("/tasks/").status_code == 302
    remembered.delete_cookie("session")
    assert remembered.get("/tasks/").status_code == 302

    mine, other = lite.test_client(), lite.test_client()
    for client in (mine, other):
        assert sign_in(client, "cb.tanlap", password).status_code == 302
    assert other.get("/tasks/").status_code == 200
    changed = _post(mine, "/account/profile", {"current": password, "new": "mat-khau-moi-2", "again": "mat-khau-moi-2"})
    assert changed.status_code == 302
    assert mine.get("/tasks/").status_code == 200  # still signed in where the password was changed
    assert other.get("/tasks/").status_code == 302
