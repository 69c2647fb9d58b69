"""`ioc vision`: many cameras in one process, spread over several processes or machines.

Each camera this worker holds a lease on (vision/leases.py) runs in its own thread:
its source (vision/sources.py) decodes frames (PyAV lets go of the GIL while it decodes,
so the threads share the cores) and its CameraPipeline analyses them.  A source that
fails makes the camera "offline" with the reason as its status detail, and the thread
tries again after an exponential back-off with jitter; the other cameras go on.

The main thread does everything that is not thread-safe or not per camera: it renews
and takes leases, reads the camera list (CameraLister) and calls the IncidentSink —
both are the registry's (workflows/cameras), which hold a database session — and it
writes the health keys that /healthz and the cameras page read (read_health).

Leases and health go through a store (vision/leases.py): Redis, shared by every worker, or the
process's memory (LocalStore: the web server's own vision thread in the embedded demo).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from engine.clock import SYSTEM_CLOCK, Clock
from vision.config import CameraConfig
from vision.events import Frame, Incident, IncidentSink
from vision.leases import RedisStore, fair_share, preference
from vision.sources import SourceError, open_source

log = logging.getLogger("ioc.vision")

TICK_S = 0.5  # the main loop's period: leases, sink, idle pipelines, health
LEASE_TTL_MS = 6000  # a dead worker's cameras are taken over within about this long
LIST_REFRESH_S = 15.0  # how often the camera list is read again
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
STABLE_S = 10.0  # a source that gave frames this long resets the back-off
STATUS_FPS_EVERY_S = 60.0  # the registry's fps column is refreshed this often (Redis health every tick)
PIPELINE_RETRY_S = 60.0  # a camera whose pipeline could not be built is tried again after this long
IDLE_AFTER_S = 1.0  # a camera without a frame this long gets pipeline.idle() on each tick
SINK_RETRY_S = 30.0  # how often the sink's retry_due() (incidents whose case could not be opened) is called


class CameraLister(Protocol):
    """The cameras to watch (workflows/cameras implements it from the registry)."""

    def cameras(self) -> list[CameraConfig]: ...


def backoff_delay(attempt: int, base_s: float = BACKOFF_BASE_S, max_s: float = BACKOFF_MAX_S,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait before the attempt-th retry: doubling up to max_s, with "equal jitter" (half fixed,
    half random) so cameras that failed together do not all knock again at the same moment."""
    ceiling = min(max_s, base_s * (2 ** max(attempt, 0)))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


class CameraWorker:
    """One camera in its thread: source → pipeline, reconnecting with back-off; events go to a queue."""

    def __init__(self, config: CameraConfig, pipeline, events: queue.Queue, clock: Clock,
                 opener: Callable[[CameraConfig], Any], *, backoff_base_s: float = BACKOFF_BASE_S,
                 backoff_max_s: float = BACKOFF_MAX_S, once: bool = False):
        self.config = config
        self.code = config.code
        self.pipeline = pipeline
        self.lock = threading.Lock()  # the pipeline is used by this thread and, when idle, by the main loop
        self.events = events
        self.clock = clock
        self.opener = opener
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.once = once  # read the source once to its end (a video file), no reconnecting
        self.stop_event = threading.Event()
        self.status = "starting"
        self.detail = ""
        self.frames = 0
        self.attempts = 0
        self.last_frame_at: datetime | None = None
        self.last_frame_mono: float | None = None
        self.last_t = 0.0
        self._recent: deque[float] = deque(maxlen=64)  # monotonic times of the latest frames, for fps
        self.source = None
        self.thread = threading.Thread(target=self._run, name=f"camera-{self.code}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to stop (from any thread): a source waiting for its next frame's time returns at once;
        one blocked in a network read returns within its read timeout."""
        self.stop_event.set()
        source = self.source
        if source is not None:
            source.interrupt()

    def fps(self) -> float:
        """Frames analysed per second over the last few seconds (0 when none came lately)."""
        now = time.monotonic()
        recent = [t for t in list(self._recent) if now - t <= 5.0]  # list(): a copy taken under the GIL
        if len(recent) < 2:
            return 0.0
        return round((len(recent) - 1) / max(now - recent[0], 1e-6), 2)

    def _set_status(self, status: str, detail: str) -> None:
        if (status, detail) != (self.status, self.detail):
            self.status, self.detail = status, detail
            self.events.put(("status", self.code, status, detail, self.clock.now(), self.fps() or None))

    def _publish(self, incidents: list[Incident]) -> None:
        for incident in incidents:
            self.events.put(("incident", incident))

    def _run(self) -> None:
        rng = random.Random(hash((self.code, os.getpid(), time.monotonic())))
        while not self.stop_event.is_set():
            source = None
            began = time.monotonic()
            offset: float | None = None
            reason = "ended"
            try:
                source = self.source = self.opener(self.config)
                if self.stop_event.is_set():
                    break
                for frame in source.frames():
                    if offset is None:  # a new source starts its clock anywhere: keep the pipeline's monotonic
                        gap = time.monotonic() - self.last_frame_mono if self.last_frame_mono else 0.0
                        offset = (self.last_t + gap) - frame.t if self.frames else -frame.t
                    frame = dataclasses.replace(frame, t=frame.t + offset)
                    with self.lock:
                        incidents = self.pipeline.process(frame)
                    self._seen(frame)
                    if self.status != "online":
                        self._set_status("online", "")
                    if self.attempts and time.monotonic() - began >= STABLE_S:
                        self.attempts = 0
                    self._publish(incidents)
                    if self.stop_event.is_set():
                        break
            except SourceError as exc:
                reason = exc.reason
                log.info("camera %s: %s", self.code, exc)
            except Exception:  # noqa: BLE001 - one camera's failure must not stop the others
                reason = "analysis_failed"
                log.exception("camera %s: analysis failed", self.code)
            finally:
                self.source = None
                if source is not None:
                    source.close()
            if self.stop_event.is_set():
                break
            self._set_status("faulty" if reason == "analysis_failed" else "offline", reason)
            if self.once:
                break
            delay = backoff_delay(self.attempts, self.backoff_base_s, self.backoff_max_s, rng)
            self.attempts += 1
            self.stop_event.wait(delay)

    def _seen(self, frame: Frame) -> None:
        self.frames += 1
        self.last_t = frame.t
        self.last_frame_at = frame.at
        self.last_frame_mono = time.monotonic()
        self._recent.append(self.last_frame_mono)

    def idle(self) -> list[Incident]:
        """The main loop's tick when no frame came lately: the pipeline notices missing frames."""
        if self.last_frame_mono is not None and time.monotonic() - self.last_frame_mono < IDLE_AFTER_S:
            return []
        if not self.lock.acquire(blocking=False):
            return []
        try:
            gap = time.monotonic() - self.last_frame_mono if self.last_frame_mono else 0.0
            return self.pipeline.idle(self.clock.now(), self.last_t + gap)
        finally:
            self.lock.release()

    def stopped(self) -> bool:
        return not self.thread.is_alive()

    def close(self) -> list[Incident]:
        """Flush the pipeline once the thread has stopped (pending clips; no "cleared" is invented)."""
        return self.pipeline.close() if self.stopped() else []


def _default_pipeline(config: CameraConfig):
    from vision.pipeline import CameraPipeline

    return CameraPipeline(config)


class Runner:
    """The `ioc vision` loop of one worker."""

    def __init__(self, lister: CameraLister, sink: IncidentSink, redis=None, *, store=None,
                 worker_id: str | None = None,
                 clock: Clock = SYSTEM_CLOCK, max_cameras: int | None = None, slack: int = 1,
                 lease_ttl_ms: int = LEASE_TTL_MS, tick_s: float = TICK_S, list_refresh_s: float = LIST_REFRESH_S,
                 realtime: bool = True, backoff_base_s: float = BACKOFF_BASE_S, backoff_max_s: float = BACKOFF_MAX_S,
                 pipeline_factory: Callable[[CameraConfig], Any] = _default_pipeline,
                 opener: Callable[[CameraConfig], Any] | None = None, once: bool = False):
        self.lister = lister
        self.sink = sink
        if store is None and redis is None:
            raise ValueError("the runner needs a store of leases and health: redis= or store=")
        self.redis = redis
        self.store = store if store is not None else RedisStore(redis)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.clock = clock
        self.max_cameras = max_cameras
        self.slack = slack
        self.leases = self.store.leases(self.worker_id, lease_ttl_ms)
        self.tick_s = tick_s
        self.renew_s = max(tick_s, lease_ttl_ms / 1000 / 3)
        self.list_refresh_s = list_refresh_s
        self.backoff = (backoff_base_s, backoff_max_s)
        self.pipeline_factory = pipeline_factory
        self.opener = opener or (lambda config: open_source(config, self.clock, realtime=realtime))
        self.once = once  # every camera's source read once to its end, then the runner stops
        self.done: set[str] = set()  # once: cameras read to their end (not taken again)
        self.unbuildable: dict[str, float] = {}  # cameras whose pipeline failed to build: not before this time
        self.events: queue.Queue = queue.Queue()
        self.workers: dict[str, CameraWorker] = {}
        # cameras told to stop whose thread is still finishing its read: (worker, release, report, restart)
        self.stopping: dict[str, tuple[CameraWorker, bool, bool, bool]] = {}
        self.configs: dict[str, CameraConfig] = {}
        self.started_at = clock.now()
        self.stop_event = threading.Event()
        self._listed_at = -1e9
        self._renewed_at = -1e9
        self._redis_ok_at = time.monotonic()
        self._status_fps_at: dict[str, float] = {}
        self._sink_retry_at = -1e9  # the first tick retries what a previous run kept
        self.quota = 0
        self.live = 1
        self._rounds = 0

    # -- the loop ---------------------------------------------------------------------------------------------
    def run(self, for_seconds: float | None = None) -> None:
        """Watch cameras until stop() (or SIGTERM via the CLI), or for_seconds."""
        deadline = time.monotonic() + for_seconds if for_seconds is not None else None
        log.info("vision worker %s starting", self.worker_id)
        try:
            self._announce()
            # let workers started together see each other before the first share is taken
            self.stop_event.wait(random.uniform(0, self.tick_s))
            while not self.stop_event.is_set():
                began = time.monotonic()
                self.tick()
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if self.once and not self.workers and not self.stopping and self._rounds > 1:
                    break
                self.stop_event.wait(max(0.0, self.tick_s - (time.monotonic() - began)))
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.stop_event.set()

    def tick(self) -> None:
        """One round: camera list, leases, idle pipelines, events to the sink, health."""
        now = time.monotonic()
        if now - self._listed_at >= self.list_refresh_s:
            self._refresh_list()
            self._listed_at = now
        try:
            if now - self._renewed_at >= self.renew_s:
                self._renew()
                self.live = max(len(self.leases.live_workers()), 1)
                self._renewed_at = now
            self._balance()
            self._redis_ok_at = now
        except Exception as exc:  # noqa: BLE001 - Redis away: keep watching until the leases would have expired
            log.warning("vision worker %s: Redis: %s", self.worker_id, exc)
            if now - self._redis_ok_at > self.leases.ttl_ms / 1000:
                log.warning("vision worker %s: leases cannot be renewed; stopping its cameras", self.worker_id)
                for code in list(self.workers):
                    self._stop_camera(code, release=False)
        if self.once:
            for code, worker in list(self.workers.items()):
                if worker.stopped():
                    self.done.add(code)
                    self._stop_camera(code, report=False)
        self._reap()
        self._rounds += 1
        for worker in list(self.workers.values()):
            self._put_all(worker.idle())
        self._drain()
        self._retry_sink(now)
        try:
            self._write_health()
        except Exception as exc:  # noqa: BLE001
            log.warning("vision worker %s: health not written: %s", self.worker_id, exc)

    def _put_all(self, incidents: list[Incident]) -> None:
        for incident in incidents:
            self.events.put(("incident", incident))

    def _retry_sink(self, now: float) -> None:
        """Let the sink try again what it keeps (workflows/cameras: incidents whose case could not be opened,
        stored in the database, so a restarted runner or the beat task finds them too), every SINK_RETRY_S."""
        retry = getattr(self.sink, "retry_due", None)
        if retry is None or now - self._sink_retry_at < SINK_RETRY_S:
            return
        self._sink_retry_at = now
        try:
            retry()
        except Exception:  # noqa: BLE001 - the database away: the next round tries again
            log.exception("vision worker %s: the sink's retries failed", self.worker_id)

    def _refresh_list(self) -> None:
        try:
            configs = {c.code: c for c in self.lister.cameras()}
        except Exception:  # noqa: BLE001 - keep the last list; the next refresh tries again
            log.exception("vision worker %s: the camera list could not be read", self.worker_id)
            return
        self.configs = configs
        for code, worker in list(self.workers.items()):
            if code not in configs:
                self._stop_camera(code)  # removed or disabled
            elif configs[code] != worker.config:
                # changed: started again with the new settings once the old thread has stopped, lease kept
                self._stop_camera(code, release=False, restart=True)

    def _renew(self) -> None:
        self._announce()
        held = self.leases.renew(list(self.workers) + list(self.stopping))
        for code in [c for c in self.workers if c not in held]:
            log.warning("vision worker %s: lost the lease of camera %s", self.worker_id, code)
            self._stop_camera(code, release=False, report=False)

    def _balance(self) -> None:
        self.quota = fair_share(len(self.configs), self.live, self.slack)
        if self.max_cameras is not None:
            self.quota = min(self.quota, self.max_cameras)
        mine = sorted(self.workers, key=lambda c: preference(self.worker_id, c))
        for code in mine[self.quota:]:  # a worker joined: give back the least preferred extras
            self._stop_camera(code)
        room = self.quota - len(self.workers)
        if room <= 0:
            return
        candidates = sorted((c for c in self.configs
                             if c not in self.workers and c not in self.stopping and c not in self.done
                             and self.unbuildable.get(c, 0) <= time.monotonic()),
                            key=lambda c: preference(self.worker_id, c))
        holders = self.leases.holders(candidates)
        for code in candidates:
            if room <= 0:
                break
            if holders.get(code) is None and self.leases.acquire(code):
                self._start_camera(self.configs[code])
                room -= 1

    def _start_camera(self, config: CameraConfig) -> None:
        try:
            pipeline = self.pipeline_factory(config)
        except Exception:  # noqa: BLE001 - a camera whose settings the pipeline refuses
            log.exception("camera %s: the pipeline could not be built", config.code)
            if config.code not in self.unbuildable:
                self.events.put(("status", config.code, "faulty", "analysis_failed", self.clock.now(), None))
            # not taken again for a while (by this worker); the lease is given back for the others to try
            self.unbuildable[config.code] = time.monotonic() + PIPELINE_RETRY_S
            self.leases.release([config.code])
            return
        self.unbuildable.pop(config.code, None)
        worker = CameraWorker(config, pipeline, self.events, self.clock, self.opener,
                              backoff_base_s=self.backoff[0], backoff_max_s=self.backoff[1], once=self.once)
        self.workers[config.code] = worker
        log.info("vision worker %s: watching camera %s", self.worker_id, config.code)
        worker.start()

    def _stop_camera(self, code: str, release: bool = True, report: bool = True, restart: bool = False) -> None:
        """Tell a camera's thread to stop; it is finished off by _reap once its current read returns
        (a blocked read lasts up to the read timeout: the loop does not wait for it)."""
        worker = self.workers.pop(code, None)
        if worker is None:
            return
        worker.stop()
        self.stopping[code] = (worker, release, report, restart)

    def _reap(self) -> None:
        for code, (worker, release, report, restart) in list(self.stopping.items()):
            if not worker.stopped():
                continue
            del self.stopping[code]
            try:
                self._put_all(worker.close())
            except Exception:  # noqa: BLE001
                log.exception("camera %s: the pipeline failed while closing", code)
            if restart and code in self.configs:
                self._start_camera(self.configs[code])
                continue
            if report:
                self.events.put(("status", code, "offline", "stopped", self.clock.now(), None))
            self._drain()
            if release:
                try:
                    self.leases.release([code])
                    self.store.forget_camera(code)
                except Exception as exc:  # noqa: BLE001 - it expires anyway
                    log.warning("vision worker %s: lease of %s not released: %s", self.worker_id, code, exc)

    def _drain(self) -> None:
        """Hand the cameras' events to the sink, from this (the main) thread only."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            try:
                if event[0] == "incident":
                    self.sink.publish(event[1])
                else:
                    _kind, code, status, detail, at, fps = event
                    self.sink.camera_status(code, status, detail, at, fps)
                    self._status_fps_at[code] = time.monotonic()
            except Exception:  # noqa: BLE001 - the sink's failure is logged; cameras go on
                log.exception("vision worker %s: the sink refused %s", self.worker_id, event[:2])

    # -- health -----------------------------------------------------------------------------------------------
    def _announce(self) -> None:
        self.store.announce(self.worker_id, {"started_at": self.started_at.isoformat(),
                                             "at": self.clock.now().isoformat(), "cameras": len(self.workers),
                                             "quota": self.quota}, self.leases.ttl_ms)

    def _write_health(self) -> None:
        rows = {}
        now = time.monotonic()
        for code, worker in self.workers.items():
            fps = worker.fps()
            rows[code] = {"worker": self.worker_id, "status": worker.status, "detail": worker.detail, "fps": fps,
                          "frames": worker.frames, "attempts": worker.attempts,
                          "last_frame_at": worker.last_frame_at.isoformat() if worker.last_frame_at else ""}
            if worker.status == "online" and now - self._status_fps_at.get(code, 0) >= STATUS_FPS_EVERY_S:
                self.events.put(("status", code, "online", "", self.clock.now(), fps))
        self.store.put_cameras(rows, self.leases.ttl_ms)
        self._drain()

    def shutdown(self) -> None:
        """Stop every camera, hand the last events to the sink, give the leases back."""
        for code in list(self.workers):
            self._stop_camera(code)
        deadline = time.monotonic() + 15.0
        for worker, *_flags in list(self.stopping.values()):
            worker.thread.join(max(0.0, deadline - time.monotonic()))
        self._reap()
        self._drain()
        try:
            self.store.forget_worker(self.worker_id)
        except Exception:  # noqa: BLE001
            pass
        log.info("vision worker %s stopped", self.worker_id)


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def redis_client(url: str):
    """One Redis client per URL for the pages that read the vision health (short timeouts: a page must not hang)."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            import redis as redis_lib

            client = _clients[url] = redis_lib.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return client


def read_health(redis) -> dict:
    """What the vision workers report now in Redis: {"workers": [...], "cameras": {code: {...}}, counts}.

    Read by /healthz and the cameras page; every key has a time to live, so a dead worker and
    its cameras vanish from here within seconds.  (A LocalStore answers the same from .read().)"""
    return RedisStore(redis).read()


# -- trying cameras without the registry: a JSON file of cameras in, JSON lines out ------------------------------
class JsonCameraLister:
    """Cameras from a JSON file (a list of CameraConfig dicts), read again on every refresh."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def cameras(self) -> list[CameraConfig]:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{self.path}: expected a list of cameras")
        return [CameraConfig.from_dict(item) for item in data]


class JsonLinesSink:
    """Incidents and statuses appended to a file as JSON lines (the snapshot and clip saved beside it)."""

    def __init__(self, path: str | Path, worker_id: str = ""):
        self.path = Path(path)
        self.worker_id = worker_id
        self.lock = threading.Lock()

    def _write(self, record: dict) -> None:
        record["worker"] = self.worker_id
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def publish(self, incident: Incident) -> None:
        record = {"type": "incident", **incident.to_dict()}
        stem = incident.key.replace(":", "_")
        for name, data, suffix in (("snapshot", incident.snapshot_jpeg, ".jpg"), ("clip", incident.clip_mp4, ".mp4")):
            if data:
                path = self.path.with_name(f"{self.path.stem}-{stem}-{incident.state}{suffix}")
                path.write_bytes(data)
                record[name] = path.name
        self._write(record)

    def camera_status(self, camera: str, status: str, detail: str, at: datetime, fps: float | None = None) -> None:
        self._write({"type": "status", "camera": camera, "status": status, "detail": detail,
                     "at": at.isoformat(), "fps": fps})

