"""Live updates: what one official does reaches the open pages of the others concerned, without reload.

Each person is a Flask test client signed in through the real form plus a Socket.IO test
client sharing its cookies. Tasks are completed through the real task pages; the outbox is
delivered eagerly right after each commit (the embedded mode), and its handlers push the
events. The last test runs a real Celery worker and a real Socket.IO server bound to Redis.
"""

from __future__ import annotations

import io
import queue
import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.models import HumanTask
from tests.integration.celery_process import REDIS_TEST_URL, flush_redis, read_log, start_worker, stop_worker, worker_env
from tests.working_time import advance_working
from tests.workspace import csrf_of, demo_hash, make_workspace_app, new_case, open_task, sign_in
from webapp.extensions import db, socketio
from webapp.realtime import rooms_of
from workflows.access import AccessService
from workflows.models import AdminUnit, User, UserRole

WARD = "P-BUON-MA-THUOT"


class Person:
    """A signed-in official with an open page: HTTP through the test client, live events through Socket.IO."""

    def __init__(self, app, username: str):
        self.username = username
        self.http = app.test_client()
        assert sign_in(self.http, username).status_code == 302, f"{username} could not sign in"
        self.socket = socketio.test_client(app, flask_test_client=self.http)
        assert self.socket.is_connected(), f"{username}'s Socket.IO connection was refused"
        self._unread: list[dict] = []

    def events(self, name: str) -> list[dict]:
        """The `name` events received since the last call for that name, oldest first."""
        self._unread.extend(self.socket.get_received())
        wanted = [e["args"][0] for e in self._unread if e["name"] == name]
        self._unread = [e for e in self._unread if e["name"] != name]
        return wanted

    def forget(self) -> None:
        """Drop every event received so far."""
        self.socket.get_received()
        self._unread = []

    def unit_list(self) -> str:
        """The task list's "My unit" tab as the live refresh fetches it."""
        response = self.http.get("/tasks/fragment?tab=unit")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def unread(self) -> int:
        return self.http.get("/notifications/count").get_json()["unread"]

    def complete(self, task_id: str, **form: str):
        """Complete a task through its page's form."""
        token = csrf_of(self.http.get(f"/tasks/{task_id}").get_data(as_text=True))
        response = self.http.post(f"/tasks/{task_id}/complete", data={"csrf_token": token, **form})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return response


def add_official(app, username: str, unit_code: str, role: str = "officer") -> None:
    """A second official of a unit (the demo has one officer per ward)."""
    with app.app_context():
        unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == unit_code))
        user = User(username=username, full_name="Lê Thị Hai", unit=unit, password_hash=demo_hash(), is_demo=True)
        user.roles.append(UserRole(role=role, unit=unit))
        db.session.add(user)
        db.session.commit()


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    add_official(app, "cb2.buonmathuot", WARD)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def row_of(task_id: str) -> str:
    return f'data-task-id="{task_id}"'


def test_a_task_completed_by_one_officer_leaves_the_colleagues_list_and_reaches_the_next_role_live(app):
    officer_a, officer_b = Person(app, "cb.buonmathuot"), Person(app, "cb2.buonmathuot")
    operator = Person(app, "dtv2")  # the IOC's operators triage, and get the case back when a unit returns it
    ioc_head = Person(app, "tp.ioc")  # the IOC's view covers the whole province
    outsider = Person(app, "cb.tanan")  # an officer of another ward
    triager = Person(app, "dtv1")

    code = new_case(app, unit=WARD, triage=None)
    triage = open_task(app, code)
    for watcher in (operator, ioc_head):
        created = watcher.events("task")
        assert [(e["change"], e["task_id"], e["case_code"]) for e in created] == [("created", triage.id, code)]
    assert officer_a.events("task") == [], "the ward hears of the case once it is routed there"

    # -- triage through the task page: the ward's officers see the new task arrive
    triager.complete(triage.id, decision="accept")
    handle = open_task(app, code)
    assert (handle.element_id, handle.candidate_unit) == ("handle", WARD)
    for officer in (officer_a, officer_b):
        events = officer.events("task")
        assert [(e["change"], e["task_id"], e["unit"], e["role"]) for e in events] == [
            ("created", handle.id, WARD, "officer")], officer.username
        assert row_of(handle.id) in officer.unit_list()
    for watcher in (ioc_head, operator):  # the IOC's view covers the province
        assert [(e["change"], e["task_id"]) for e in watcher.events("task")] == [
            ("closed", triage.id), ("created", handle.id)], watcher.username

    # -- officer A completes "handle" (returning the case: not the ward's); B's list loses it live
    officer_a.complete(handle.id, outcome="returned",
                       resolution="Đèn do Sở Xây dựng quản lý, không thuộc thẩm quyền của phường.")
    closed = officer_b.events("task")
    assert [(e["change"], e["task_id"], e["state"]) for e in closed] == [("closed", handle.id, "completed")]
    assert row_of(handle.id) not in officer_b.unit_list()
    assert row_of(handle.id) not in officer_b.http.get("/tasks/?tab=unit").get_data(as_text=True)
    assert {e["change"] for e in officer_b.events("case") if e["case_code"] == code} == {"task.created", "task.closed"}

    # … and the next role's list gains the case again, live
    again = open_task(app, code)
    assert (again.element_id, again.candidate_unit, again.candidate_role) == ("triage", "IOC-DLK", "operator")
    arrived = operator.events("task")
    assert [(e["change"], e["task_id"], e["case_code"]) for e in arrived] == [
        ("closed", handle.id, code), ("created", again.id, code)]
    # The operators' inbox: the first triage task, the return, and the triage task again.
    assert [(e["kind"], e["case_code"]) for e in operator.events("notification")] == [
        ("task_created", code), ("returned", code), ("task_created", code)]
    assert operator.unread() == 2  # the first triage task is done: its "new task" is no longer unread news
    assert row_of(again.id) in operator.unit_list()
    assert row_of(again.id) in operator.http.get("/tasks/?tab=unit").get_data(as_text=True)

    # Nothing of this case reached the other ward.
    assert outsider.events("task") == [] and outsider.events("notification") == []
    assert all(e["case_code"] != code for e in outsider.events("case"))


def test_case_pages_hear_that_their_case_changed(app):
    officer = Person(app, "cb.buonmathuot")
    leader = Person(app, "ld.buonmathuot")  # the ward's leader watches the ward's cases
    code = new_case(app, unit=WARD)
    for person in (officer, leader):
        changes = [e for e in person.events("case") if e["case_code"] == code]
        assert changes and {e["change"] for e in changes} <= {"task.created", "task.closed"}, person.username
    handle = open_task(app, code)
    officer.complete(handle.id, outcome="resolved", resolution="Đã thay bóng đèn.")
    assert [e["change"] for e in leader.events("case") if e["case_code"] == code] == ["task.closed"]
    # A comment between officials reaches the open pages of the case too; another ward hears nothing.
    outsider = Person(app, "cb.tanlap")
    token = csrf_of(officer.http.get(f"/cases/{code}").get_data(as_text=True))
    assert officer.http.post(f"/cases/{code}/comments", data={"csrf_token": token,
                                                             "body": "Đã kiểm tra lại buổi tối."}).status_code == 303
    comments = [e for e in leader.events("case") if e["change"] == "case.comment"]
    assert [(e["case_code"], e["author"]) for e in comments] == [(code, "cb.buonmathuot")]
    # … and so does a new file.
    token = csrf_of(officer.http.get(f"/cases/{code}").get_data(as_text=True))
    sent = officer.http.post(f"/cases/{code}/attachments", content_type="multipart/form-data",
                             data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4 bien ban"), "bien-ban.pdf")})
    assert sent.status_code == 303
    files = [e for e in leader.events("case") if e["change"] == "case.attachment"]
    assert [(e["case_code"], e["author"]) for e in files] == [(code, "cb.buonmathuot")]
    assert outsider.events("case") == []


def test_visitors_and_signed_out_users_are_refused(app):
    visitor = app.test_client()
    assert not socketio.test_client(app, flask_test_client=visitor).is_connected()
    assert not socketio.test_client(app).is_connected()

    person = Person(app, "cb.buonmathuot")
    token = csrf_of(person.http.get("/notifications/").get_data(as_text=True))
    assert person.http.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert not socketio.test_client(app, flask_test_client=person.http).is_connected()


def test_rooms_follow_roles_units_and_view(app):
    with app.app_context():
        access = AccessService(db.session)
        officer = rooms_of(access.actor(db.session.scalar(select(User.id).where(User.username == "cb.buonmathuot"))))
        ioc_head = rooms_of(access.actor(db.session.scalar(select(User.id).where(User.username == "tp.ioc"))))
    assert {"user:cb.buonmathuot", f"unit:{WARD}", f"role:officer@{WARD}", f"scope:{WARD}"} <= set(officer)
    assert "scope:IOC-DLK" not in officer and "scope:P-TAN-AN" not in officer
    assert {"user:tp.ioc", "unit:IOC-DLK", "role:unit_head@IOC-DLK", f"scope:{WARD}", "scope:DLK"} <= set(ioc_head)
    assert f"unit:{WARD}" not in ioc_head, "the IOC watches the ward, it does not work in it"


def test_reminders_and_escalations_reach_the_people_concerned_with_their_unread_count(app, clock):
    officer, head, leader = (Person(app, name) for name in ("cb.buonmathuot", "tp.buonmathuot", "ld.buonmathuot"))
    runtime = app.extensions["ioc"]
    code = new_case(app, unit=WARD)  # normal priority: reminder after 60 h, escalation at 72 h
    handle = open_task(app, code)
    for person in (officer, head, leader):
        person.forget()
    assert officer.unread() == 1  # the new task itself

    def sweep() -> None:
        assert runtime.sweep().run_once() == 1  # and hands the outbox to delivery at once

    advance_working(clock, 60, seconds=1)  # working hours (workflows/calendar)
    sweep()
    reminders = officer.events("notification")
    assert [(e["kind"], e["case_code"]) for e in reminders] == [("reminder", code)]
    assert code in reminders[0]["title"]
    assert officer.unread() == 2
    assert re.search(r'id="unread-count">2<', officer.http.get("/notifications/").get_data(as_text=True))
    assert head.events("notification") == [] and leader.events("notification") == []

    advance_working(clock, 12)
    sweep()
    l1 = open_task(app, code)
    assert (l1.element_id, l1.candidate_role, l1.candidate_unit) == ("handle_l1", "unit_head", WARD)
    assert [(e["change"], e["task_id"]) for e in head.events("task")] == [("closed", handle.id), ("created", l1.id)]
    assert [(e["change"], e["task_id"], e["state"]) for e in officer.events("task")] == [
        ("closed", handle.id, "cancelled"), ("created", l1.id, "open")]
    assert [(e["kind"], e["case_code"]) for e in head.events("notification")] == [("task_created", code)]
    alerts = leader.events("notification")
    assert [(e["kind"], e["case_code"]) for e in alerts] == [("leader_alert", code)]
    assert leader.unread() == 1

    # Marking read in one tab updates the count in the person's other open pages.
    token = csrf_of(leader.http.get("/notifications/").get_data(as_text=True))
    assert leader.http.post("/notifications/read", data={"csrf_token": token, "all": "1"}).status_code == 303
    assert [e["unread"] for e in leader.events("notification")] == [0]
    assert officer.events("notification") == []


# --------------------------------------------------------------------------- a real worker, Redis and server


def free_port() -> int:
    import socket as sockets

    with sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float = 20.0, proc=None):
    """Poll `check()` until it returns something truthy; fail when time runs out or the worker died."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if proc is not None:
            assert proc.poll() is None, f"the worker exited with {proc.returncode} while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def subscribers() -> int:
    """Socket.IO servers listening on the Redis message queue's channel."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        return dict(client.pubsub_numsub("flask-socketio")).get(b"flask-socketio", 0)
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(90)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_event_emitted_by_a_celery_worker_reaches_a_browser_through_the_redis_queue(db_url, clock, tmp_path: Path):
    import socketio as python_socketio
    from werkzeug.serving import make_server

    flush_redis()
    app = make_workspace_app(db_url, clock, REDIS_URL=REDIS_TEST_URL, SECRET_KEY="live-updates-test")
    assert app.config["CELERY_EAGER"] is False and app.config["SOCKETIO_MESSAGE_QUEUE"] == REDIS_TEST_URL
    log_path = tmp_path / "worker.log"
    proc = start_worker([], worker_env(db_url, IOC_TIMER_SWEEP="off"), log_path)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="socketio-test-server", daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}"
    client = python_socketio.Client(reconnection=False)
    received: queue.Queue = queue.Queue()
    client.on("task", lambda data: received.put(data))
    try:
        wait_for("the worker to be ready", lambda: " ready." in read_log(log_path), proc=proc)
        # Sign in over HTTP as a browser would, then open the Socket.IO connection with that cookie.
        browser = app.test_client()
        browser.environ_base["HTTP_USER_AGENT"] = "ioc-live-test"  # the session is bound to the browser's agent
        assert sign_in(browser, "cb.buonmathuot").status_code == 302
        cookie = browser.get_cookie("session")
        client.connect(url, headers={"Cookie": f"session={cookie.value}", "User-Agent": "ioc-live-test"},
                       transports=["websocket"], wait_timeout=10)
        wait_for("the web server to listen on the message queue", lambda: subscribers() >= 1)

        code = new_case(app, unit=WARD)  # the outbox rows go to the worker through the broker
        handle = open_task(app, code)
        event = received.get(timeout=20)
        while event["task_id"] != handle.id:
            event = received.get(timeout=20)
        assert (event["change"], event["case_code"], event["unit"]) == ("created", code, WARD)
        wait_for("the worker's delivery run in its log", lambda: "Task ioc.deliver_outbox[" in read_log(log_path))
        with app.app_context():
            row = db.session.scalar(select(HumanTask).where(HumanTask.id == handle.id))
            assert row.state == "open"
            db.session.remove()
    except BaseException:
        print(read_log(log_path))
        raise
    finally:
        if client.connected:
            client.disconnect()
        server.shutdown()
        serving.join(timeout=10)
        stop_worker(proc)
        app.extensions["celery"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        flush_redis()
