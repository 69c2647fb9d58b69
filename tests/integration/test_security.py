"""Security at the edges, on SQLite and PostgreSQL: protective headers on every answer, numbers too large
for the database in addresses and query strings (404 / a clamped page, never a 500), the error page after
a failed statement, and Open311's and the API's free text checked against the columns it goes to.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from engine.clock import FrozenClock
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.models import Case

HUGE = (2**63, 10**30, 2**63 - 1)


@pytest.fixture
def app(db_url, tmp_path):
    """The demo app; errors answer as in production (a 500 page) instead of propagating to the test."""
    app = make_workspace_app(db_url, FrozenClock(), FILES_DIR=str(tmp_path / "files"), PROPAGATE_EXCEPTIONS=False)
    yield app
    with app.app_context():
        db.engine.dispose()


def _csp(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_every_answer_carries_the_protective_headers(app):
    anonymous, official = app.test_client(), client_of(app, "dtv1")
    answers = [anonymous.get("/login"), anonymous.get("/resolutions/map.json"), anonymous.get("/no-such-page"),
               anonymous.get("/static/js/case.js"), official.get("/tasks/"), official.get("/api/v1/me")]
    for response in answers:
        csp = _csp(response)
        assert csp["script-src"] == "script-src 'self'", response.request.path  # no inline script, no eval
        assert csp["object-src"] == "object-src 'none'" and csp["frame-ancestors"] == "frame-ancestors 'none'"
        assert "base-uri" in csp and "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        response.close()  # the static file's handle


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        if "<int:" in rule.rule:
            yield rule


def test_ids_too_large_for_the_database_answer_404_on_every_route(app):
    """Every route with an integer in its path, crawled with 2⁶³, 10³⁰ and 2⁶³−1: 404 with a page, never 500."""
    code = new_case(app, triage=None)
    client = client_of(app, "admin")
    client.application.config["WTF_CSRF_ENABLED"] = False  # the POST routes too, without a form to read
    routes = list(_int_routes(app))
    assert {"cases.attachment", "cases.thumbnail", "public.media", "tasklist.delete_filter"} <= {
        r.endpoint for r in routes}
    for rule in routes:
        for number in HUGE:
            path = re.sub(r"<int:[^>]+>", str(number), rule.rule)
            path = re.sub(r"<(?:[a-z]+:)?[^>]+>", code, path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method)
                assert response.status_code == 404, (method, path, response.status_code)
                body = response.get_data(as_text=True)
                assert "Không tìm thấy" in body or "not_found" in body or "404" in body, (method, path)


@pytest.mark.parametrize("path", ["/tasks/", "/cases/", "/notifications/", "/resolutions/"])
def test_page_numbers_too_large_for_the_database_show_a_page(app, path):
    client = client_of(app, "dtv1")
    for number in (*HUGE, "1" * 5000, "-5", "²"):
        response = client.get(f"{path}?page={number}")
        assert response.status_code == 200, (path, number, response.status_code)


def test_notification_ids_too_large_are_refused_with_a_message(app):
    client = client_of(app, "dtv1")
    token = csrf_of(client.get("/notifications/").get_data(as_text=True))
    for number in HUGE[:2]:
        response = client.post("/notifications/read", data={"ids": str(number), "csrf_token": token})
        assert response.status_code == 303
        assert "không hợp lệ" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_error_page_shows_after_a_failed_statement(db_url, tmp_path):
    """A statement the database refuses aborts PostgreSQL's transaction; the 500 page still renders, menu and all."""
    app = make_workspace_app(db_url, FrozenClock(), FILES_DIR=str(tmp_path / "files"), PROPAGATE_EXCEPTIONS=False)

    def refused():
        db.session.execute(text("SELECT no_such_column FROM no_such_table"))

    app.add_url_rule("/_probe/refused", "probe_refused", refused)
    client = client_of(app, "dtv1")
    response = client.get("/_probe/refused")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Đã có lỗi xảy ra" in body and 'id="unread-count"' in body  # the full page, signed in
    with app.app_context():
        db.engine.dispose()


def test_open311_refuses_fields_longer_than_their_columns(app):
    from workflows.open311_service import DEMO_API_KEY, Open311Service

    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        Open311Service(db.session, services.cases).seed_demo_client()
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Case))
    client = app.test_client()
    good = {"api_key": DEMO_API_KEY, "service_code": "street_lighting", "lat": "12.6800", "long": "108.0400",
            "description": "Đèn đường hỏng", "email": "hoa@example.vn", "first_name": "Hoa", "last_name": "Trần"}
    too_long = {"email": "a" * 250 + "@example.vn", "first_name": "H" * 300, "last_name": "T" * 300,
                "address_string": "Đường " * 100, "phone": "0" * 40, "device_id": "d" * 121,
                "account_id": "a" * 121, "media_url": "https://example.vn/" + "x" * 500}
    for name, value in too_long.items():
        response = client.post("/open311/v2/requests.json", data={**good, name: value})
        assert response.status_code == 400, (name, response.get_data(as_text=True))
        errors = response.get_json()
        assert errors[0]["code"] == 400 and name.split("_")[0] in errors[0]["description"], (name, errors)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == before  # nothing stored
    assert client.post("/open311/v2/requests.json", data=good).status_code == 200


def test_the_policy_lets_in_the_base_map_tiles_and_nothing_else_from_outside():
    from webapp.security import content_security_policy

    assert "img-src 'self' data: blob:;" in content_security_policy("")
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org;" in content_security_policy(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://*.tile.example.vn:8443;" in content_security_policy(
        "https://{s}.tile.example.vn:8443/{z}/{x}/{y}.png")


def test_the_1022_console_refuses_a_name_or_address_longer_than_its_column(app):
    """Intake checks the reporter's and the place's text against the columns: a message, the form kept, nothing stored."""
    client = client_of(app, "dtv1")
    page = client.get("/hotline/").get_data(as_text=True)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Case))
    form = {"csrf_token": csrf_of(page), "phone": "0912 345 678", "caller_name": "Bình " * 60,
            "place": "P-BUON-MA-THUOT", "address": "Số 12 Lê Duẩn " * 40, "category": "traffic", "kind": "report",
            "description": "Ổ gà lớn trước số 12 Lê Duẩn", "q_hazard": "pothole"}
    response = client.post("/hotline/calls", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert body.count("tối đa") >= 2 and "Số 12 Lê Duẩn Số 12" in body  # both fields named, the text kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_the_api_refuses_over_long_writes_with_a_message(app):
    """The API's writes check their lengths (comments, reassignment, task data, file names): 4xx, never a 500."""
    import io

    from tests.workspace import open_task
    from workflows.tokens import TokenService

    code = new_case(app, triage=None)
    task = open_task(app, code)
    with app.app_context():
        _info, token = TokenService(db.session).create("dtv1", "lengths")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    long = "x" * 300
    comment = client.post(f"/api/v1/cases/{code}/comments", headers=headers, json={"body": "y" * 100_000})
    assert comment.status_code == 422 and "body" in comment.get_json()["fields"]
    reassign = client.post(f"/api/v1/tasks/{task.id}/reassign", headers=headers, json={"username": long})
    assert reassign.status_code == 422
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers).status_code == 200
    complete = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers,
                           json={"data": {"decision": "accept", "note": long * 100}})
    assert complete.status_code == 422 and "note" in complete.get_json()["fields"]
    upload = client.post(f"/api/v1/cases/{code}/attachments", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"%PDF-1.4 bien ban"), long + ".pdf", "application/" + long)})
    assert upload.status_code == 201
    assert len(upload.get_json()["filename"]) <= 255 and len(upload.get_json()["content_type"]) <= 120


def test_numbers_too_large_in_any_query_string_never_give_a_500(app):
    """Every page without path parameters, asked with huge page, year, day and id numbers, as an admin."""
    client = client_of(app, "admin")
    big = 10**30
    query = f"?page={big}&year={big}&days={big}&id={big}&ids={big}&filter={big}&limit={big}&offset={big}&unread=1"
    paths = sorted(rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and "<" not in rule.rule and not rule.rule.startswith("/static"))
    assert len(paths) > 20
    for path in paths:
        response = client.get(path + query)
        assert response.status_code != 500, (path, response.status_code)
        response.close()
