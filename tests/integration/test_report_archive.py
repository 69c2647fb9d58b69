"""The archive of PDF reports: asked for, made with progress, kept with its sha256 and the parameters that made it,
never made again; listed and filtered; a report that cannot be made says why. On SQLite and PostgreSQL; then the
same through the web layer in the embedded mode (eager Celery), its progress pushed over Socket.IO."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from engine.i18n import from_json
from reports import archive
from reports.catalog import ReportParams
from reports.i18n import translator
from reports.models import ReportArchive
from tests.integration.reports_helpers import ISSUED, pages_text
from workflows.models import AdminUnit, Category

MONTH = ReportParams(type="operations", unit="P-BUON-MA-THUOT", period="2026-11", language="vi")


def make_cases_in(session, count: int) -> None:
    """`count` cases of November 2026 in Buôn Ma Thuột (reports.bench writes them as the real tables hold them)."""
    from reports.bench import make_cases

    place = session.scalar(select(AdminUnit.id).where(AdminUnit.code == "P-BUON-MA-THUOT"))
    categories = list(session.scalars(select(Category.code).where(Category.internal.is_(False))))[:4]
    make_cases(session, count, datetime(2026, 10, 31, 17, 0, tzinfo=UTC), datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
               [place], [place], categories, seed=count, now=ISSUED)
    session.commit()


def test_a_report_is_made_once_archived_with_its_sha256_and_parameters(session_factory, session, reference_data):
    make_cases_in(session, 40)
    clock = FrozenClock(ISSUED)
    row = archive.request_report(session, MONTH, "ld.buonmathuot", now=clock.now())
    assert (row.state, row.number, row.params) == ("queued", f"{row.id:02d}/BC-IOC", MONTH.as_dict())

    heard: list[dict] = []
    done = archive.make_report(session_factory, row.id, clock=clock, on_progress=heard.append)
    assert done.state == "done" and done.error is None
    percents = [h["percent"] for h in heard]
    assert percents == sorted(percents) and percents[-1] == 100 and len(heard) >= 5
    assert heard[-1]["state"] == "done" and heard[-1]["state_label"]
    assert {h["step"] for h in heard} >= {translator("vi")(from_json(done.step))}

    pdf = archive.pdf_of(session, row.id)[1]
    assert hashlib.sha256(pdf).hexdigest() == done.sha256 and done.size == len(pdf)
    assert done.pages == len(pages_text(pdf)) >= 1
    assert f"{row.id:02d}/BC-IOC" in pages_text(pdf)[0]
    assert done.summary["unit"] == "P-BUON-MA-THUOT" and done.summary["period"] == "2026-11"
    assert 35 <= done.summary["received"] <= 40  # a few generated cases are merged duplicates
    assert archive.file_name(done) == f"bao-cao-operations-P-BUON-MA-THUOT-2026-11-{row.id}.pdf"

    # Never made again: the task run a second time (the broker gave it back) leaves the archived PDF alone.
    heard.clear()
    make_cases_in(session, 5)
    again = archive.make_report(session_factory, row.id, clock=FrozenClock(ISSUED + timedelta(hours=1)),
                                on_progress=heard.append)
    assert heard == [] and (again.sha256, again.finished_at) == (done.sha256, done.finished_at)
    assert archive.pdf_of(session, row.id)[1] == pdf

    # Asked again, it is a new row with its own number: the archived copy is found, and stays as it was.
    assert archive.find_done(session, MONTH).id == row.id
    second = archive.request_report(session, MONTH, "ct.ubnd", now=clock.now())
    second_done = archive.make_report(session_factory, second.id, clock=clock)
    assert second_done.summary["received"] > done.summary["received"] and second_done.sha256 != done.sha256
    assert archive.find_done(session, MONTH).id == second.id
    assert session.scalar(select(ReportArchive.sha256).where(ReportArchive.id == row.id)) == done.sha256


def test_the_archive_is_listed_filtered_and_kept_to_the_readers_view(session_factory, session, reference_data):
    clock = FrozenClock(ISSUED)
    made = {}
    for unit, period, who in [("P-BUON-MA-THUOT", "2026-11", "ld.buonmathuot"), ("P-TAN-LAP", "2026-11", "ld.tanlap"),
                              ("P-BUON-MA-THUOT", "2026-W48", "ld.buonmathuot")]:
        row = archive.request_report(session, ReportParams("operations", unit, period, None, "en"), who, now=clock.now())
        made[(unit, period)] = archive.make_report(session_factory, row.id, clock=clock).id
    queued = archive.request_report(session, MONTH, "ld.tanlap", now=clock.now())

    everything = archive.list_archive(session)
    assert everything.total == 3 and [r.id for r in everything.rows] == sorted(made.values(), reverse=True)
    assert queued.id not in {r.id for r in everything.rows}
    mine = archive.list_archive(session, units={"P-BUON-MA-THUOT"})
    assert {(r.unit_code, r.period_key) for r in mine.rows} == {("P-BUON-MA-THUOT", "2026-11"),
                                                                 ("P-BUON-MA-THUOT", "2026-W48")}
    assert [r.id for r in archive.list_archive(session, period="2026-W48").rows] == [made[("P-BUON-MA-THUOT",
                                                                                          "2026-W48")]]
    assert archive.list_archive(session, requested_by="ld.tanlap").total == 1
    assert archive.list_archive(session, states=("queued",)).rows[0].id == queued.id
    page = archive.list_archive(session, limit=2, offset=2)
    assert page.total == 3 and len(page.rows) == 1


def test_a_report_that_cannot_be_made_says_why_and_is_not_retried_silently(session_factory, session, reference_data):
    clock = FrozenClock(ISSUED)
    # A unit code no longer in the list (the parameters were checked when asked; the unit went since).
    row = archive.request_report(session, ReportParams("operations", "X-GONE", "2026-11", None, "en"), "admin",
                                 now=clock.now())
    failed = archive.make_report(session_factory, row.id, clock=clock)
    assert failed.state == "failed" and failed.sha256 is None and archive.pdf_of(session, row.id) is None
    session.rollback()  # on SQLite every transaction holds the write lock: end the test's before the task runs
    assert failed.error["msgid"] == "the report could not be made (%(error)s)"
    assert translator("en")(from_json(failed.error)).startswith("the report could not be made (")
    status = archive.status_of(failed, "vi")
    assert status["state"] == "failed" and status["error"].startswith("không tạo được báo cáo (")
    # A failed row is not made again by a second run of its task either.
    assert archive.make_report(session_factory, failed.id, clock=clock).state == "failed"


def test_a_report_whose_worker_died_is_queued_again_and_made_by_the_next(session_factory, session, reference_data):
    asked = ISSUED - timedelta(minutes=30)
    row = archive.request_report(session, MONTH, "ld.buonmathuot", now=asked)
    row_id = row.id
    assert archive.stale_requests(session, asked + timedelta(minutes=10)) == []
    assert archive.stale_requests(session, ISSUED) == [row_id]  # queued for 30 minutes: its task was lost
    # A worker took it and died at once (its claim committed, nothing more).
    assert archive._claim(session_factory, row_id, asked + timedelta(minutes=1), "dead-task")
    assert archive.make_report(session_factory, row_id, clock=FrozenClock(asked + timedelta(minutes=2))).state == \
        "running"  # still being made, as far as anyone knows
    assert archive.stale_requests(session, asked + timedelta(minutes=5)) == []
    assert archive.stale_requests(session, ISSUED) == [row_id]
    done = archive.make_report(session_factory, row_id, clock=FrozenClock(ISSUED), task_id="next-task")
    assert (done.state, done.task_id, done.number) == ("done", "next-task", f"{row_id:02d}/BC-IOC")
    assert archive.stale_requests(session, ISSUED + timedelta(days=1)) == []


# --------------------------------------------------------------------------- through the web layer, embedded


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_in_the_embedded_mode_the_report_is_made_in_a_thread_and_its_progress_pushed(db_url, tmp_path):
    from tests.workspace import make_workspace_app, sign_in
    from webapp.extensions import db, socketio
    from webapp.report_jobs import PROGRESS_EVENT, ask_for_report

    app = make_workspace_app(db_url, FrozenClock(ISSUED), FILES_DIR=str(tmp_path / "files"))
    assert app.config["CELERY_EAGER"] is True
    http = app.test_client()
    assert sign_in(http, "ld.buonmathuot").status_code == 302
    page = socketio.test_client(app, flask_test_client=http)
    assert page.is_connected()
    with app.app_context():
        row = ask_for_report(db.session, MONTH, "ld.buonmathuot")
        row_id = row.id
    for thread in app.extensions["ioc_report_threads"]:
        thread.join(timeout=60)
    pushes = [e["args"][0] for e in page.get_received() if e["name"] == PROGRESS_EVENT]
    assert pushes and all(p["job"] == row_id for p in pushes)
    assert pushes[-1]["state"] == "done" and pushes[-1]["percent"] == 100
    assert pushes[-1]["download_url"].endswith(f"{row_id}.pdf") and len(pushes[-1]["sha256"]) == 64
    assert [p["percent"] for p in pushes] == sorted(p["percent"] for p in pushes)
    with app.app_context():
        stored = db.session.get(ReportArchive, row_id)
        assert stored.state == "done" and hashlib.sha256(stored.pdf).hexdigest() == stored.sha256


# --------------------------------------------------------------------------- a real worker, pushes through Redis


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(180)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_real_worker_makes_the_report_and_its_progress_reaches_the_browser_through_redis(db_url, tmp_path):
    import queue
    import threading

    import socketio as python_socketio
    from werkzeug.serving import make_server

    from tests.integration.celery_process import REDIS_TEST_URL, flush_redis, read_log, start_worker, stop_worker, worker_env
    from tests.integration.test_celery_worker import free_port, wait_for
    from tests.integration.test_live_updates import subscribers
    from tests.workspace import make_workspace_app, sign_in
    from webapp.extensions import db
    from webapp.report_jobs import PROGRESS_EVENT, ask_for_report

    flush_redis()
    app = make_workspace_app(db_url, FrozenClock(ISSUED), REDIS_URL=REDIS_TEST_URL, SECRET_KEY="reports-push-test")
    assert app.config["CELERY_EAGER"] is False
    log_path = tmp_path / "worker.log"
    proc = start_worker([], worker_env(db_url, IOC_TIMER_SWEEP="off"), log_path)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="socketio-test-server", daemon=True)
    serving.start()
    client = python_socketio.Client(reconnection=False)
    received: queue.Queue = queue.Queue()
    client.on(PROGRESS_EVENT, lambda data: received.put(data))
    try:
        wait_for("the worker to be ready", lambda: " ready." in read_log(log_path), proc)
        browser = app.test_client()
        browser.environ_base["HTTP_USER_AGENT"] = "ioc-report-test"
        assert sign_in(browser, "ld.buonmathuot").status_code == 302
        cookie = browser.get_cookie("session")
        client.connect(f"http://127.0.0.1:{server.server_port}", transports=["websocket"], wait_timeout=10,
                       headers={"Cookie": f"session={cookie.value}", "User-Agent": "ioc-report-test"})
        wait_for("the web server to listen on the message queue", lambda: subscribers() >= 1, proc)
        with app.app_context():
            row_id = ask_for_report(db.session, MONTH, "ld.buonmathuot").id
            db.session.remove()
        pushes = [received.get(timeout=90)]
        while pushes[-1]["state"] not in ("done", "failed"):
            pushes.append(received.get(timeout=90))
        assert all(p["job"] == row_id for p in pushes) and pushes[-1]["state"] == "done", pushes
        assert [p["percent"] for p in pushes] == sorted(p["percent"] for p in pushes) and len(pushes) >= 5
        assert pushes[-1]["download_url"] == f"/leaders/reports/{row_id}.pdf"
        with app.app_context():
            stored = db.session.get(ReportArchive, row_id)
            assert (stored.state, stored.sha256, stored.task_id is not None) == ("done", pushes[-1]["sha256"], True)
            db.session.remove()
    except BaseException:
        print(read_log(log_path)[-5000:])
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
