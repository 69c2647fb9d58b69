"""The web server's own vision runner: the cameras of the registry watched in a daemon thread of `ioc demo` (and of
`ioc serve` with IOC_VISION=thread), so the embedded demo shows its cameras online with their frame rates and opens
cases as their videos play, without Redis or a separate `ioc vision` process.

It is vision.runner.Runner as `ioc vision` runs it in registry mode (CameraLister, CameraIncidents), with its leases
and health in this process's memory (vision.leases.LocalStore) when no Redis is configured, or in Redis with the
other workers when IOC_REDIS_URL is set. The runner calls the sink from this thread only, over a session of its
own. A failure of the runner itself is logged and the runner is built again a little later: it never reaches the
server; a camera's failure is that camera's status.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from flask import Flask

log = logging.getLogger("ioc.vision")

RESTART_S = 10.0  # a runner that failed is built again after this long
STOP_WAIT_S = 8.0  # how long the server waits for its cameras to stop (their statuses go to "offline")


def vision_mode(config: Any, default: str = "off") -> str:
    """IOC_VISION as set, else the command's default (thread for `ioc demo`, off for `ioc serve`)."""
    return config.get("VISION") or default


class VisionThread(threading.Thread):
    """Runs the vision runner over the app's registry until stop()."""

    def __init__(self, app: Flask, **runner_options: Any):
        """`runner_options`: more keywords for vision.runner.Runner (tests: tick_s, realtime=False…)."""
        super().__init__(name="ioc-vision", daemon=True)
        from vision.leases import LocalStore, RedisStore

        self.app = app
        url = app.config.get("REDIS_URL")
        if url:
            import redis as redis_lib

            self.store = RedisStore(redis_lib.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))
        else:
            self.store = LocalStore()
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-server"
        self.options = runner_options
        self.runner = None
        self._stop_event = threading.Event()

    def _build(self):
        from vision.runner import Runner
        from workflows.cameras.incidents import CameraIncidents, CameraLister

        wiring = self.app.extensions["ioc"]
        session = wiring.session_factory()
        sink = CameraIncidents(session, wiring.clock, services_factory=wiring.services,
                               after_commit=wiring.enqueue_outbox)
        runner = Runner(CameraLister(wiring.session_factory), sink, store=self.store, worker_id=self.worker_id,
                        clock=wiring.clock, **self.options)
        return runner, session

    def run(self) -> None:  # noqa: D102
        while not self._stop_event.is_set():
            session = None
            try:
                with self.app.app_context():  # the sink's eager Celery tasks (outbox) run in this thread
                    self.runner, session = self._build()
                    if self._stop_event.is_set():
                        break
                    self.runner.run()
            except Exception:  # noqa: BLE001 - the server goes on; the runner is built again
                log.exception("the server's vision runner failed; starting it again in %s s", RESTART_S)
            finally:
                if session is not None:
                    session.close()
            self._stop_event.wait(RESTART_S)

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Stop the cameras (each reported "offline"/"stopped") and wait for them a little; a daemon thread all
        the same, so a source stuck in a network read never holds the server's exit."""
        self._stop_event.set()
        runner = self.runner
        if runner is not None:
            runner.stop()
        if self.is_alive():
            self.join(wait_s)

    def report(self) -> dict:
        """What this runner's store says now (vision.runner.read_health's shape)."""
        return self.store.read()


def start_vision(app: Flask, default: str = "off") -> VisionThread | None:
    """Start the server's vision thread when IOC_VISION (or the command's default) says "thread"."""
    if vision_mode(app.config, default) != "thread":
        return None
    thread = VisionThread(app)
    thread.start()
    app.extensions["ioc_vision"] = thread
    return thread


def vision_report(app: Flask) -> dict | None:
    """The vision workers' health as pages read it: this server's own thread's when it runs one in memory, else
    the workers' in Redis; None when there is neither. May raise when Redis does not answer."""
    thread = app.extensions.get("ioc_vision")
    if thread is not None:
        return thread.report()
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    from vision.runner import read_health, redis_client

    return read_health(redis_client(url))
