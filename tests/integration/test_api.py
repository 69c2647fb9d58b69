"""The REST API under /api/v1: tokens and sessions, tasks, cases, comments, files, notifications, OpenAPI."""

from __future__ import annotations

import copy
import io

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.media_samples import WINDOWS_EXE, jpeg_with_gps, png
from tests.workspace import csrf_of, make_workspace_app, new_case, open_task, sign_in
from webapp.extensions import db
from workflows.models import Attachment, CaseComment, Notification, User
from workflows.tokens import TokenService


@pytest.fixture
def app(db_url, clock, tmp_path):
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"), MAX_ATTACHMENT_MB=1,
                             MAX_CONTENT_LENGTH=3 * 1024 * 1024)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def document(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def token_of(app, username: str) -> str:
    with app.app_context():
        _info, token = TokenService(db.session).create(username, "test machine")
        return token


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


class Machine:
    """A test client calling the API with one user's token."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        self.headers = bearer(token_of(app, username))

    def get(self, url: str, **kw):
        return self.client.get(f"/api/v1{url}", headers=self.headers, **kw)

    def post(self, url: str, **kw):
        return self.client.post(f"/api/v1{url}", headers=self.headers, **kw)


def conforms(document: dict, schema: str, body) -> None:
    """`body` fits the document's schema, with no property the schema does not declare."""
    components = copy.deepcopy(document["components"])

    def strict(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                strict(value)
        elif isinstance(node, list):
            for value in node:
                strict(value)

    strict(components["schemas"])
    validator = jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": components},
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(body)


def refused(response, status: int, code: str) -> dict:
    """The JSON error body of a refusal with this status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code and body["message"] and isinstance(body["fields"], dict)
    return body


def task_state(app, task_id):
    from engine.models import HumanTask

    with app.app_context():
        row = db.session.get(HumanTask, task_id)
        return row.state, row.assignee


# --------------------------------------------------------------------------- authentication
def test_a_token_acts_as_its_user_and_a_revoked_or_garbage_token_gets_401(app, document):
    token = token_of(app, "cb.buonmathuot")
    client = app.test_client()
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and "Set-Cookie" not in me.headers  # a machine gets no session
    body = me.get_json()
    conforms(document, "Me", body)
    assert body["user"]["username"] == "cb.buonmathuot" and body["via_token"] is True
    assert body["roles"] == [{"role": "officer", "unit": "P-BUON-MA-THUOT"}] and body["scope"]["units"] >= 1
    # A client whose cookie jar holds someone's (or a stale) session still acts as its token says.
    browser = app.test_client()
    sign_in(browser, "tp.tanlap")
    as_token = browser.get("/api/v1/me", headers=bearer(token)).get_json()
    assert as_token["user"]["username"] == "cb.buonmathuot" and as_token["via_token"] is True
    unknown = browser.delete("/api/v1/me", headers=bearer(token))
    refused(unknown, 405, "method_not_allowed")
    refused(client.get("/api/v1/no-such-thing", headers=bearer(token)), 404, "not_found")
    for header in ({}, bearer("ioc_" + "x" * 43), bearer("not-a-token"), {"Authorization": token}):
        refused(client.get("/api/v1/tasks", headers=header), 401, "unauthorized")
    with app.app_context():
        service = TokenService(db.session)
        [info] = service.list("cb.buonmathuot")
        assert info.name == "test machine" and info.active
        service.revoke(info.id)
    body = refused(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")
    assert "Bearer" in body["message"]
    conforms(document, "Error", body)


def test_ioc_token_commands_create_list_and_revoke(app, db_url):
    from click.testing import CliRunner

    from webapp.cli import main

    def ioc(*args):
        return CliRunner().invoke(main, ["token", *args], env={"IOC_DATABASE_URL": db_url, "IOC_LANG": "en"},
                                  catch_exceptions=False)

    made = ioc("create", "cb.buonmathuot", "--name", "dashboard")
    assert made.exit_code == 0 and "cannot be shown again" in made.stderr
    token = made.stdout.strip()  # the token alone on stdout: TOKEN=$(ioc token create …) works
    assert token.startswith("ioc_") and token not in made.stderr
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["user"]["username"] == "cb.buonmathuot"
    listed = ioc("list", "cb.buonmathuot")
    assert "dashboard" in listed.stdout and "active" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert ioc("revoke", token_id).exit_code == 0 and "revoked" in ioc("list", "cb.buonmathuot").stdout
    refused(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")
    for args, reason in ((("create", "nobody", "--name", "x"), "no user nobody"),
                         (("create", "cb.buonmathuot", "--name", " "), "give the token a name"),
                         (("revoke", "999"), "no API token 999"), (("list", "nobody"), "no user nobody")):
        result = ioc(*args)
        assert result.exit_code == 1 and reason in result.stderr, args


def test_a_browser_session_must_send_the_csrf_header_on_post(app):
    code = new_case(app)
    task = open_task(app, code)
    browser = app.test_client()
    sign_in(browser, "cb.buonmathuot")
    assert browser.get("/api/v1/me").get_json()["via_token"] is False
    body = refused(browser.post(f"/api/v1/tasks/{task.id}/claim"), 400, "csrf_failed")
    assert "X-CSRFToken" in body["message"]
    refused(browser.post(f"/api/v1/tasks/{task.id}/claim", headers={"X-CSRFToken": "forged"}), 400, "csrf_failed")
    assert task_state(app, task.id) == ("open", None)
    token = csrf_of(browser.get("/tasks/").get_data(as_text=True))
    claimed = browser.post(f"/api/v1/tasks/{task.id}/claim", headers={"X-CSRFToken": token})
    assert claimed.status_code == 200 and claimed.get_json()["mine"] is True


def test_messages_follow_lang_then_accept_language(app):
    machine = Machine(app, "cb.buonmathuot")
    assert "phải là" in machine.get("/tasks?priority=urgent").get_json()["fields"]["priority"]
    english = machine.client.get("/api/v1/tasks?priority=urgent", headers={**machine.headers, "Accept-Language": "en"})
    assert english.get_json()["fields"]["priority"] == "must be one of: low, normal, high"
    forced = machine.client.get("/api/v1/tasks?priority=urgent&lang=vi",
                                headers={**machine.headers, "Accept-Language": "en-GB,en;q=0.9"})
    assert "phải là" in forced.get_json()["fields"]["priority"]


def test_accounts_without_an_official_role_reach_only_their_own_inbox(app):
    designer = Machine(app, "thietke")
    assert designer.get("/me").status_code == 200
    assert designer.get("/notifications").status_code == 200
    for url in ("/tasks", "/cases"):
        refused(designer.get(url), 403, "forbidden")


# --------------------------------------------------------------------------- tasks
def test_a_task_journey_over_the_api(app, document):
    code = new_case(app)
    task = open_task(app, code)
    officer, stranger = Machine(app, "cb.buonmathuot"), Machine(app, "cb.tanlap")
    unit = officer.get("/tasks?tab=unit").get_json()
    conforms(document, "TaskPage", unit)
    assert [t["id"] for t in unit["items"]] == [task.id] and unit["counts"]["unit"] == 1
    assert unit["items"][0]["claimable"] and unit["items"][0]["case"]["code"] == code
    assert stranger.get("/tasks?tab=unit").get_json()["items"] == []
    # Another ward's officer: the task is not in their view, so it does not exist for them.
    refused(stranger.get(f"/tasks/{task.id}"), 404, "not_found")
    refused(stranger.post(f"/tasks/{task.id}/claim"), 404, "not_found")
    refused(stranger.post(f"/tasks/{task.id}/complete", json={"data": {"outcome": "resolved", "resolution": "x"}}),
            404, "not_found")
    assert task_state(app, task.id) == ("open", None)

    detail = officer.get(f"/tasks/{task.id}").get_json()
    conforms(document, "TaskDetail", detail)
    assert {f["name"] for f in detail["form"]["fields"]} >= {"outcome", "resolution"}
    assert detail["actions"] == {"claim": True, "release": False, "complete": True, "reassign": False}
    claimed = officer.post(f"/tasks/{task.id}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "cb.buonmathuot"
    assert [t["id"] for t in officer.get("/tasks?tab=mine").get_json()["items"]] == [task.id]

    # Wrong types and missing values: 422 with a message per field, and nothing changes.
    wrong = refused(officer.post(f"/tasks/{task.id}/complete",
                                 json={"data": {"outcome": 5, "resolution": ["x"], "extra": 1}}), 422, "invalid")
    assert set(wrong["fields"]) == {"outcome", "resolution", "extra"}
    assert "bắt buộc" in refused(officer.post(f"/tasks/{task.id}/complete", json={"data": {"outcome": "resolved"}}),
                                 422, "invalid")["fields"]["resolution"]
    refused(officer.post(f"/tasks/{task.id}/complete", json={"data": "resolved"}), 422, "invalid")
    refused(officer.post(f"/tasks/{task.id}/complete", data="not json", content_type="text/plain"), 400, "bad_json")
    assert task_state(app, task.id) == ("open", "cb.buonmathuot")

    # A unit head reassigns only to a colleague holding the role; an officer cannot reassign.
    head = Machine(app, "tp.buonmathuot")
    assert refused(head.post(f"/tasks/{task.id}/reassign", json={"assignee": "cb.tanlap"}), 422,
                   "invalid")["fields"]["assignee"]
    refused(officer.post(f"/tasks/{task.id}/reassign", json={"assignee": "cb.buonmathuot"}), 403, "forbidden")
    refused(stranger.post(f"/tasks/{task.id}/release"), 404, "not_found")
    assert task_state(app, task.id) == ("open", "cb.buonmathuot")

    done = officer.post(f"/tasks/{task.id}/complete",
                        json={"data": {"outcome": "resolved", "resolution": "Đã thay bóng đèn"}})
    assert done.status_code == 200 and done.get_json()["state"] == "completed"
    conforms(document, "TaskDetail", done.get_json())
    assert task_state(app, task.id) == ("completed", "cb.buonmathuot")
    assert [t["id"] for t in officer.get("/tasks?tab=done").get_json()["items"]] == [task.id]
    # Completing or releasing it again: it is closed, a conflict rather than a question of rights.
    again = refused(officer.post(f"/tasks/{task.id}/complete", json={"data": {"outcome": "resolved",
                                                                              "resolution": "x"}}), 409, "conflict")
    assert task.id in again["message"] and "hoàn thành" in again["message"]
    refused(head.post(f"/tasks/{task.id}/release"), 409, "conflict")


def test_task_list_parameters_are_checked(app):
    officer = Machine(app, "cb.buonmathuot")
    for query, field in (("tab=nope", "tab"), ("sort=random", "sort"), ("page=abc", "page"), ("page=0", "page"),
                         ("date_from=25/11/2026", "date_from"), ("channel=fax", "channel"),
                         ("place=NOWHERE", "place"), ("date_to=9999-12-31", "date_to"),
                         ("date_from=0001-01-01", "date_from"), ("q=a%00b", "q"), ("page=" + "9" * 30, "page")):
        body = refused(officer.get(f"/tasks?{query}"), 400, "invalid_parameter")
        assert field in body["fields"], query
    assert officer.get("/tasks?tab=overdue&sort=priority&channel=field_report&page=9").status_code == 200
    for url in ("/cases?date_to=9999-12-31", "/cases?page=0", "/cases/PA%00", "/tasks/a%00b"):
        refused(officer.get(url), 400, "invalid_parameter")
    refused(officer.get("/cases/PA-2026-000001/attachments/" + "9" * 20), 404, "not_found")


# --------------------------------------------------------------------------- cases, comments, files
def test_cases_are_listed_and_shown_within_the_callers_view(app, document):
    mine, theirs = new_case(app), new_case(app, unit="P-TAN-LAP", title="Ổ gà")
    officer = Machine(app, "cb.buonmathuot")
    listed = officer.get("/cases").get_json()
    conforms(document, "CasePage", listed)
    assert [c["code"] for c in listed["items"]] == [mine]
    assert officer.get("/cases?place=P-TAN-LAP").get_json()["items"] == []
    refused(officer.get("/cases?status=lost"), 400, "invalid_parameter")
    case = officer.get(f"/cases/{mine}").get_json()
    conforms(document, "Case", case)
    assert case["place"]["code"] == "P-BUON-MA-THUOT" and case["reporter"]["phone"] == "0912345678"
    timeline = officer.get(f"/cases/{mine}/timeline").get_json()
    conforms(document, "Timeline", timeline)
    assert {"task_created", "task_completed"} <= {e["kind"] for e in timeline["items"]}
    for url in (f"/cases/{theirs}", f"/cases/{theirs}/timeline", f"/cases/{theirs}/comments",
                f"/cases/{theirs}/attachments", "/cases/PA-2026-999999"):
        body = refused(officer.get(url), 404, "not_found")
        assert "Ổ gà" not in str(body)
    # The province's leader sees both cases, but not the reporter's contact (not the handling unit, not the IOC).
    leader = Machine(app, "ct.ubnd").get(f"/cases/{mine}").get_json()
    assert leader["reporter"] is None and leader["reporter_hidden"] is True
    operator = Machine(app, "dtv1").get(f"/cases/{mine}").get_json()
    assert operator["reporter"]["name"] == "Nguyễn Văn A"


def comment_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CaseComment))


def test_comments_over_the_api_stay_within_the_view(app, document):
    from webapp.extensions import socketio

    code = new_case(app)
    officer, stranger = Machine(app, "cb.buonmathuot"), Machine(app, "cb.tanlap")
    page = app.test_client()  # the unit head has the case open in a browser
    sign_in(page, "tp.buonmathuot")
    live = socketio.test_client(app, flask_test_client=page)
    live.get_received()
    added = officer.post(f"/cases/{code}/comments", json={"body": "  Đã liên hệ người dân  "})
    assert added.status_code == 201
    pushed = [e["args"][0] for e in live.get_received() if e["name"] == "case"]
    assert [(e["case_code"], e["change"]) for e in pushed] == [(code, "case.comment")]
    live.disconnect()
    conforms(document, "Comment", added.get_json())
    assert added.get_json()["body"] == "Đã liên hệ người dân" and added.get_json()["username"] == "cb.buonmathuot"
    head = Machine(app, "tp.buonmathuot")
    listed = head.get(f"/cases/{code}/comments").get_json()
    conforms(document, "Comments", listed)
    assert [c["body"] for c in listed["items"]] == ["Đã liên hệ người dân"]
    refused(stranger.post(f"/cases/{code}/comments", json={"body": "xin chào"}), 404, "not_found")
    refused(stranger.get(f"/cases/{code}/comments"), 404, "not_found")
    assert "body" in refused(officer.post(f"/cases/{code}/comments", json={"body": "   "}), 422, "invalid")["fields"]
    assert "body" in refused(officer.post(f"/cases/{code}/comments", json={"body": "x" * 5001}), 422,
                             "invalid")["fields"]
    refused(officer.post(f"/cases/{code}/comments", data="body=x"), 400, "bad_json")
    assert "body" in refused(officer.post(f"/cases/{code}/comments", json={"body": "a\x00b"}), 422,
                             "invalid")["fields"]
    assert comment_count(app) == 1


def multipart(content: bytes, filename: str = "video.mp4") -> dict:
    """A multipart body built in memory (the test client spools large ones to a file it never closes)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), filename, content_type="video/mp4")})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def attachment_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Attachment))


def test_an_after_photo_over_the_api_is_marked_and_a_program_refused(app, document):
    code = new_case(app)
    officer = Machine(app, "cb.buonmathuot")
    after = officer.post(f"/cases/{code}/attachments", data={"stage": "resolution",
                                                             "file": (io.BytesIO(jpeg_with_gps()), "sau.jpg", "image/jpeg")})
    assert after.status_code == 201
    conforms(document, "Attachment", after.get_json())
    assert (after.get_json()["stage"], after.get_json()["public"], after.get_json()["media"]) == ("resolution", True, "image")
    program = refused(officer.post(f"/cases/{code}/attachments",
                                   data={"file": (io.BytesIO(WINDOWS_EXE), "anh.jpg", "image/jpeg")}), 422, "invalid")
    assert program["fields"]["file"].startswith("anh.jpg")
    bad_stage = refused(officer.post(f"/cases/{code}/attachments",
                                     data={"stage": "later", "file": (io.BytesIO(png()), "a.png", "image/png")}), 422,
                        "invalid")
    assert "stage" in bad_stage["fields"]
    assert attachment_count(app) == 1


def test_files_upload_and_download_over_the_api(app, document):
    code, other = new_case(app), new_case(app, unit="P-TAN-LAP")
    officer, stranger = Machine(app, "cb.buonmathuot"), Machine(app, "cb.tanlap")
    photo = png()
    uploaded = officer.post(f"/cases/{code}/attachments",
                            data={"file": (io.BytesIO(photo), "../den-hong.png", "image/png")})
    assert uploaded.status_code == 201
    info = uploaded.get_json()
    conforms(document, "Attachment", info)
    assert info["filename"] == "den-hong.png" and info["media"] == "image" and info["size"] == len(photo)
    listed = officer.get(f"/cases/{code}/attachments").get_json()
    conforms(document, "Attachments", listed)
    assert [a["id"] for a in listed["items"]] == [info["id"]]
    with officer.client.get(info["url"], headers=officer.headers) as download:
        assert download.status_code == 200 and download.data == photo
        assert download.headers["X-Content-Type-Options"] == "nosniff" and download.mimetype == "image/png"
    # A web page is refused (it could run script); a document is downloaded, never shown.
    page = refused(officer.post(f"/cases/{code}/attachments",
                                data={"file": (io.BytesIO(b"<script>alert(1)</script>"), "x.png", "image/png")}),
                   422, "invalid")
    assert page["fields"]["file"].startswith("x.png")
    document = officer.post(f"/cases/{code}/attachments",
                            data={"file": (io.BytesIO(b"just words"), "x.html", "text/html")})
    with officer.client.get(document.get_json()["url"], headers=officer.headers) as fetched:
        assert fetched.mimetype == "application/octet-stream"
        assert "attachment" in fetched.headers["Content-Disposition"]
    # Outside the view, or through another case's code: as if it did not exist.
    refused(stranger.client.get(info["url"], headers=stranger.headers), 404, "not_found")
    refused(Machine(app, "tp.tanlap").get(f"/cases/{other}/attachments/{info['id']}"), 404, "not_found")
    refused(stranger.post(f"/cases/{code}/attachments", data={"file": (io.BytesIO(b"x"), "x.txt")}), 404,
            "not_found")
    count = attachment_count(app)
    # Over the attachment limit (1 MB here), over the request limit (3 MB), no file, an empty file.
    big = refused(officer.post(f"/cases/{code}/attachments", **multipart(b"0" * (1024 * 1024 + 1))), 413,
                  "too_large")
    assert "1 MB" in big["message"] and "file" in big["fields"]
    refused(officer.post(f"/cases/{code}/attachments", **multipart(b"0" * (4 * 1024 * 1024))), 413, "too_large")
    assert "file" in refused(officer.post(f"/cases/{code}/attachments", data={"note": "x"}), 422, "invalid")["fields"]
    assert "file" in refused(officer.post(f"/cases/{code}/attachments", data={"file": (io.BytesIO(b""), "a.png")}),
                             422, "invalid")["fields"]
    assert attachment_count(app) == count


# --------------------------------------------------------------------------- notifications
def add_notifications(app, username: str, count: int) -> list[int]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        rows = [Notification(user_id=user_id, kind="new_task", title=f"Việc mới {i}", body="") for i in range(count)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def unread_of(app, username: str) -> int:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        return db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.user_id == user_id, Notification.read_at.is_(None)))


def test_notifications_list_and_mark_read_only_ones_own(app, document):
    mine = add_notifications(app, "cb.buonmathuot", 3)
    theirs = add_notifications(app, "cb.tanlap", 2)
    officer = Machine(app, "cb.buonmathuot")
    inbox = officer.get("/notifications").get_json()
    conforms(document, "NotificationPage", inbox)
    assert sorted(n["id"] for n in inbox["items"]) == mine and inbox["unread"] == 3
    refused(officer.get("/notifications?unread=maybe"), 400, "invalid_parameter")
    # Someone else's id: 404, and not even one's own ids in the same request are marked.
    refused(officer.post("/notifications/read", json={"ids": [mine[0], theirs[0]]}), 404, "not_found")
    assert unread_of(app, "cb.buonmathuot") == 3 and unread_of(app, "cb.tanlap") == 2
    for body in ({"ids": ["1"]}, {"ids": 5}, {}, {"ids": [True]}, {"ids": [10**30]}, {"all": "yes"}):
        refused(officer.post("/notifications/read", json=body), 422, "invalid")
    marked = officer.post("/notifications/read", json={"ids": [mine[0]]})
    assert marked.status_code == 200 and marked.get_json() == {"marked": 1, "unread": 2}
    conforms(document, "Marked", marked.get_json())
    unread = officer.get("/notifications?unread=true").get_json()
    assert sorted(n["id"] for n in unread["items"]) == mine[1:] and all(n["unread"] for n in unread["items"])
    assert officer.post("/notifications/read", json={"all": True}).get_json() == {"marked": 2, "unread": 0}
    assert unread_of(app, "cb.tanlap") == 2


# --------------------------------------------------------------------------- the document
def test_the_openapi_document_is_valid_and_matches_the_routes(app, document):
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")
    assert {"bearerAuth", "cookieAuth"} <= set(document["components"]["securitySchemes"])
    assert {"Case", "CaseSummary", "Task", "TaskFormField", "Comment", "Attachment", "Notification",
            "Error"} <= set(document["components"]["schemas"])
    prefix = document["servers"][0]["url"]
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix + "/"):
            path = rule.rule[len(prefix):]
            for argument in rule.arguments:
                path = path.replace(f"<int:{argument}>", f"{{{argument}}}").replace(f"<{argument}>",
                                                                                   f"{{{argument}}}")
            routed |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routed == documented
    # Every filter of the task list is a documented parameter of the task and case lists.
    from workflows.task_service import TaskFilter

    for path in ("/tasks", "/cases"):
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert set(TaskFilter.FIELDS) | {"page"} <= names
    # Every operation but the document itself needs authentication and says what a refusal looks like.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path == "/openapi.json":
                assert operation["security"] == []
            else:
                assert "security" not in operation and "401" in operation["responses"]
            if method == "post":
                assert "400" in operation["responses"]
