"""Starting and stopping real Celery worker processes for the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import WORKER_INDEX

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{14 - 2 * WORKER_INDEX}"  # the broker: beside this worker's REDIS_URL


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker process: ours without IOC_* settings, then the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update({"IOC_DATABASE_URL": database_url, "IOC_REDIS_URL": REDIS_TEST_URL,
                "IOC_SECRET_KEY": f"test-{uuid.uuid4().hex}", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def start_worker(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start `celery -A webapp.worker worker …` in its own process group, logging to `log_path`."""
    command = [sys.executable, "-m", "celery", "-A", "webapp.worker", "worker", "--loglevel=INFO", "--concurrency=1",
               "-n", f"ioc-test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", *args]
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_worker(proc: subprocess.Popen, grace: float = 8.0) -> None:
    """SIGTERM (warm shutdown), then SIGKILL the worker's whole process group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the pool children and the beat process, if any remain
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(timeout=5)


def read_log(log_path: Path) -> str:
    return log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else "(no log)"
