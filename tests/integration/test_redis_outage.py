"""Redis down for a few seconds in production mode: intake keeps accepting, the outbox catches up.

The test starts a Redis server of its own (redis-server on a free port, in a temporary
directory) so it can stop it. The web application runs as in production (Celery on that Redis,
not eager; Flask-Limiter's storage on that Redis; PostgreSQL) behind a real HTTP server, and a
real Celery worker (with its beat) delivers the outbox to a real SMTP server. Citizens' reports
come in through the portal and Open311 from a few threads while Redis is stopped and started
again: no answer is a 5xx, every report accepted is stored, /healthz says the queue is down
meanwhile, and once Redis is back every outbox message (the receipts by email among them) is
delivered, those whose Celery enqueue failed during the outage included.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from engine.clock import SYSTEM_CLOCK
from engine.models import OutboxMessage
from tests.integration.celery_process import read_log, start_worker, stop_worker, worker_env
from tests.integration.test_celery_worker import Inbox, free_port, start_smtp
from tests.integration.test_live_updates import wait_for
from tests.workspace import make_workspace_app
from webapp.extensions import db
from workflows.models import Case
from workflows.open311_service import DEMO_API_KEY, Open311Service

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")]

THREADS = 3


class RedisServer:
    """A redis-server process of the test's own, on a free port, with no persistence."""

    def __init__(self, directory: Path):
        self.directory, self.port = directory, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.directory / "redis.log", "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                          "--dir", str(self.directory), "--save", "", "--appendonly", "no"],
                                         stdout=log, stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class LiveServer:
    """The Flask app behind Werkzeug's threaded HTTP server, in a thread of the test."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", free_port(), app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def portal_report(base: str, n: int) -> tuple[int, str | None]:
    """A citizen's report through the portal form (CSRF, form token); (status, tracking code)."""
    with requests.Session() as browser:
        page = browser.get(f"{base}/report", timeout=30)
        if page.status_code != 200:
            return page.status_code, None
        hidden = {name: re.search(rf'name="{name}" value="([^"]+)"', page.text).group(1)
                  for name in ("csrf_token", "form_token")}
        sent = browser.post(f"{base}/report", timeout=30, data={
            **hidden, "category": "street_lighting", "title": f"Đèn đường không sáng {n}",
            "description": "Ba bóng tắt từ tối qua", "admin_unit": "P-BUON-MA-THUOT", "address": f"{n} Lê Duẩn",
            "consent": "1", "duplicate_choice": "send",  # a new report even beside similar ones nearby
            "reporter_name": "Phạm Thị Hoa", "reporter_email": f"hoa{n}@example.vn",
            "q_street_lighting__pole_number": f"C-{n}", "q_street_lighting__lights_out": "3",
            "q_street_lighting__extent": "several"})
        match = re.search(r'id="tracking-code">([^<]+)<', sent.text)
        return sent.status_code, match.group(1) if match else None


def open311_report(base: str, n: int) -> tuple[int, str | None]:
    """A report from an Open311 client app; (status, the request's id)."""
    sent = requests.post(f"{base}/open311/v2/requests.json", timeout=30, data={
        "api_key": DEMO_API_KEY, "service_code": "street_lighting", "lat": "12.668", "long": "108.041",
        "description": f"Cột đèn số {n} trước chợ không sáng", "email": f"app{n}@example.vn",
        "attribute[lights_out]": "3", "attribute[extent]": "several"})
    if sent.status_code >= 300:
        return sent.status_code, None
    body = sent.json()
    return sent.status_code, str(body[0].get("service_request_id") or body[0].get("token"))


def submit_batch(base: str, start: int, count: int) -> list[tuple[str, int, str | None]]:
    """`count` reports, half through each channel, from a few threads at once."""
    jobs = [("portal" if n % 2 else "open311", n) for n in range(start, start + count)]
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [(kind, pool.submit(portal_report if kind == "portal" else open311_report, base, n))
                   for kind, n in jobs]
        return [(kind, *future.result()) for kind, future in futures]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_intake_goes_on_while_redis_is_down_and_the_outbox_catches_up(db_url, tmp_path):
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    inbox, smtp_port = Inbox(), free_port()
    smtp = start_smtp(inbox, smtp_port)
    # Production mode: Celery on Redis (not eager), the rate limits' storage on Redis, PostgreSQL.
    app = make_workspace_app(db_url, SYSTEM_CLOCK, REDIS_URL=redis_server.url, TESTING=False, PRODUCTION=True,
                             SECRET_KEY=f"outage-{uuid.uuid4().hex}", SESSION_COOKIE_SECURE=False,
                             RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=None, PORTAL_MIN_FILL_SECONDS=0,
                             PORTAL_RATE_LIMIT="1000 per minute", OPEN311_RATE_LIMIT="1000 per minute",
                             SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, FILES_DIR=str(tmp_path / "files"))
    assert app.config["CELERY_EAGER"] is False and app.config["RATELIMIT_STORAGE_URI"] == redis_server.url
    with app.app_context():
        Open311Service(db.session, app.extensions["ioc"].services(db.session).cases, SYSTEM_CLOCK).seed_demo_client()
    server = LiveServer(app)
    log_path = tmp_path / "worker.log"
    worker_args = ["-B", "--schedule", str(tmp_path / "beat-schedule")]
    env = worker_env(db_url, IOC_REDIS_URL=redis_server.url, IOC_TIMER_SWEEP="beat", IOC_OUTBOX_INTERVAL="1",
                     IOC_SMTP_HOST="127.0.0.1", IOC_SMTP_PORT=str(smtp_port))
    worker = start_worker(worker_args, env, log_path)
    try:
        wait_for("the worker to be ready", lambda: " ready." in read_log(log_path), 30, worker)
        assert requests.get(f"{server.url}/healthz", timeout=10).json()["queue"]["ok"] is True
        results = submit_batch(server.url, 0, 6)

        # -- Redis goes away for a few seconds, under load
        redis_server.stop()
        health = requests.get(f"{server.url}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["queue"]["ok"] is False, health.text
        results += submit_batch(server.url, 100, 12)
        with app.app_context():
            stuck = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.delivered_at.is_(None)))
            db.session.remove()
        assert stuck > 0, "messages written during the outage wait in the outbox"

        # -- Redis is back: intake as before, and the outbox catches up by itself (the worker's beat)
        redis_server.start()
        results += submit_batch(server.url, 200, 4)

        failures = [r for r in results if r[1] >= 500]
        assert not failures, f"answers 5xx while Redis was down: {failures}"
        accepted = [r for r in results if r[1] < 300 and r[2]]
        assert len(accepted) == len(results), f"reports not accepted: {[r for r in results if r not in accepted]}"
        with app.app_context():
            stored = db.session.scalar(select(func.count()).select_from(Case))
            db.session.remove()
        assert stored == len(results)

        def delivered() -> bool:
            with app.app_context():
                pending = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.delivered_at.is_(None)))
                db.session.remove()
            return pending == 0

        if worker.poll() is not None:
            # Kombu can die of Redis going away while it acks a task on the connection it has just reset
            # ("Unrecoverable error: AttributeError: 'NoneType' object has no attribute 'hostname'"; celery/kombu
            # #582; seen once in CI under load). Production restarts such a worker (systemd, the container
            # runtime), and so does this test; what matters here is that nothing written meanwhile is lost.
            # A worker that died of anything else fails the test.
            died_of = read_log(log_path)
            assert "Unrecoverable error: AttributeError" in died_of, died_of[-4000:]
            worker = start_worker(worker_args, env, tmp_path / "worker-restarted.log")
        wait_for("every outbox message to be delivered", delivered, 60, worker)
        receipts = {rcpt[0] for rcpt, _message in inbox.received()}
        assert {f"hoa{n}@example.vn" for n in range(101, 112, 2)} <= receipts, sorted(receipts)
        assert requests.get(f"{server.url}/healthz", timeout=10).json()["queue"]["ok"] is True
    finally:
        stop_worker(worker)
        server.stop()
        redis_server.stop()
        smtp.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
