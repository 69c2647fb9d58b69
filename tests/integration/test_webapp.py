"""The minimal web app: Vietnamese home page, /healthz, configuration checks."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from webapp import create_app
from webapp.config import ConfigError
from webapp.extensions import db
from workflows.demo import demo_data, load_reference_data


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    with app.app_context():
        load_reference_data(db.session, demo_data())
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_home_page_is_vietnamese_first_and_english_on_request(app):
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Trung tâm Giám sát, điều hành đô thị thông minh tỉnh Đắk Lắk" in page
    assert "Cách gửi phản ánh" in page and "Chưa có kết quả xử lý nào được công khai." in page
    assert "dữ liệu demo" in page  # demo data is clearly marked
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "How to report" in english and 'lang="en"' in english
    # The choice is remembered.
    assert "How to report" in client.get("/").get_data(as_text=True)


def test_healthz_reports_database_queue_and_sweep(app, clock):
    client = app.test_client()
    response = client.get("/healthz")
    report = response.get_json()
    assert response.status_code == 503  # the sweep has not run yet: timers would not fire
    assert report["database"]["ok"] and report["queue"] == {
        "ok": True, "mode": "eager", "detail": "tasks run inside the server (embedded mode)"}
    assert report["timer_sweep"]["ok"] is False
    app.extensions["ioc"].sweep().run_once()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["timer_sweep"]["ok"] is True
    clock.advance(seconds=30)  # a sweep that stopped running shows as down
    assert client.get("/healthz").status_code == 503


def test_production_refuses_embedded_settings_and_says_what_to_set(tmp_path):
    with pytest.raises(ConfigError) as err:
        create_app({"PRODUCTION": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    message = str(err.value)
    assert "IOC_DATABASE_URL=postgresql" in message and "IOC_REDIS_URL" in message and "IOC_SECRET_KEY" in message


def test_production_starts_with_postgres_and_redis(postgres_database):
    app = create_app({"PRODUCTION": True, "DATABASE_URL": postgres_database, "REDIS_URL": "redis://127.0.0.1:6379/15",
                      "SECRET_KEY": "x" * 40})
    assert app.config["CELERY_EAGER"] is False
    assert app.extensions["celery"].conf.broker_url == "redis://127.0.0.1:6379/15"


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("IOC_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("IOC_PORT", "5099")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db") and app.config["PORT"] == 5099
    assert app.config["CELERY_EAGER"] is True and app.config["TIMER_SWEEP"] == "thread"


def test_disabling_eager_celery_without_a_broker_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="IOC_REDIS_URL"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CELERY_EAGER": False})


def test_times_are_shown_in_vietnam_time(db_url, clock):
    from tests.workspace import client_of, make_workspace_app

    app = make_workspace_app(db_url, clock)
    app.extensions["ioc"].sweep().run_once()  # the sweep's last run is shown on the administrators' status page
    page = client_of(app, "admin").get("/admin/status").get_data(as_text=True)
    local = clock.now().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert local.strftime("%H:%M:%S %d/%m/%Y") in page and "Asia/Ho_Chi_Minh" in page
    with app.app_context():
        db.engine.dispose()


def test_an_unknown_time_zone_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="Asia/Ho_Chi_Minh"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "TIMEZONE": "Mars/Olympus"})


def test_gunicorn_serves_the_wsgi_entry_point(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "IOC_DATABASE_URL": f"sqlite:///{tmp_path}/g.sqlite3", "IOC_TIMER_SWEEP": "off"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "webapp.wsgi:app"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                break
            except OSError as exc:  # refused until the server is up; an HTTP error status is an answer too
                if getattr(exc, "code", None):
                    assert exc.code == 503, exc.read().decode()
                    body = exc.read().decode()
                    break
                assert time.monotonic() < deadline, proc.stderr.read().decode() if proc.poll() is not None else exc
                time.sleep(0.2)
        # No `ioc db upgrade` was run: /healthz says so instead of failing.
        assert "run `ioc db upgrade`" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()


def test_unknown_pages_answer_in_vietnamese_first(app):
    client = app.test_client()
    response = client.get("/khong-co")
    assert response.status_code == 404 and "Không tìm thấy trang" in response.get_data(as_text=True)
    assert "Page not found" in client.get("/nope?lang=en").get_data(as_text=True)


def test_the_public_home_page_shows_nothing_of_the_system_nor_of_open_cases(db_url, clock):
    """The home page is for citizens: no open case, task, incident, account, process key or timer sweep. What runs
    is on the administrators' status page."""
    from tests.workspace import client_of, make_workspace_app, new_case

    app = make_workspace_app(db_url, clock)
    code = new_case(app, category="traffic", title="Ổ gà trước nhà ông Nguyễn Văn An")
    page = app.test_client().get("/?lang=en").get_data(as_text=True)
    for internal in (code, "Nguyễn Văn An", "field_report", "incidents", "What runs", "open tasks", "Timer sweep",
                     "Deployed processes"):
        assert internal not in page, internal
    status = client_of(app, "admin").get("/admin/status?lang=en")
    assert status.status_code == 200
    body = status.get_data(as_text=True)
    assert code in body and "Deployed processes" in body and "Nguyễn Văn An" not in body
    assert app.test_client().get("/admin/status").status_code in (302, 401, 403)
    with app.app_context():
        db.engine.dispose()
