"""Which worker watches which camera: a lease per camera in Redis.

A lease is ``ioc:vision:lease:<code>`` holding the worker's id, set with NX and a time to
live, renewed by its holder every few seconds and deleted when it stops.  A worker that
dies stops renewing; its leases expire and the other workers take its cameras on their
next round.  Each worker announces itself with ``ioc:vision:health:<worker>`` (same time
to live), so every worker can count the live ones and take no more than its fair share:
``ceil(cameras / live workers) + slack``.

The runner reaches leases and health through a store: ``RedisStore`` (the keys above, shared by
every worker) or ``LocalStore`` (this process's memory: the embedded demo's server watches the
cameras in a thread without Redis; one worker, nothing shared).  Both give the same leases
interface (``holders``, ``acquire``, ``renew``, ``release``, ``live_workers``) and the same
health report (``read()``, as ``vision.runner.read_health``).
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import threading
import time
from collections.abc import Iterable

LEASE_PREFIX = "ioc:vision:lease:"
HEALTH_PREFIX = "ioc:vision:health:"
CAMERA_PREFIX = "ioc:vision:camera:"

# Renew only what is still ours: a lease taken over by another worker is not extended.
_RENEW = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[#held + 1] = key
  end
end
return held
"""
_RELEASE = """
local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
"""


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def fair_share(cameras: int, live_workers: int, slack: int = 1) -> int:
    """The most cameras one worker takes: an even split over the live workers, plus some slack."""
    if cameras <= 0:
        return 0
    return math.ceil(cameras / max(live_workers, 1)) + slack


def preference(worker_id: str, code: str) -> int:
    """Rendezvous hashing: each worker prefers a different order of cameras, so they rarely race."""
    return int.from_bytes(hashlib.blake2b(f"{worker_id}\x00{code}".encode(), digest_size=8).digest(), "big")


class Leases:
    """The leases of one worker (``worker_id``) on a Redis client."""

    def __init__(self, redis, worker_id: str, ttl_ms: int = 6000):
        self.redis = redis
        self.worker_id = worker_id
        self.ttl_ms = int(ttl_ms)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def holders(self, codes: list[str]) -> dict[str, str | None]:
        """Who holds each camera's lease now (None: free)."""
        if not codes:
            return {}
        values = self.redis.mget([LEASE_PREFIX + code for code in codes])
        return {code: (_text(v) if v is not None else None) for code, v in zip(codes, values, strict=True)}

    def acquire(self, code: str) -> bool:
        """Take a free camera; False when another worker holds it."""
        return bool(self.redis.set(LEASE_PREFIX + code, self.worker_id, nx=True, px=self.ttl_ms))

    def renew(self, codes: Iterable[str]) -> set[str]:
        """Extend the leases still ours; returns their codes (a camera missing from it was lost)."""
        keys = [LEASE_PREFIX + code for code in codes]
        if not keys:
            return set()
        held = self._renew(keys=keys, args=[self.worker_id, self.ttl_ms])
        return {_text(key)[len(LEASE_PREFIX):] for key in held}

    def release(self, codes: Iterable[str]) -> int:
        """Give cameras back at once (only those still ours), so another worker need not wait."""
        keys = [LEASE_PREFIX + code for code in codes]
        return int(self._release(keys=keys, args=[self.worker_id])) if keys else 0

    def live_workers(self) -> list[str]:
        """The workers whose health key has not expired (this one included once it has announced itself)."""
        return sorted(_text(key)[len(HEALTH_PREFIX):] for key in self.redis.scan_iter(match=HEALTH_PREFIX + "*",
                                                                                        count=500))


def _camera_row(row: dict) -> dict:
    """A camera's health as the pages read it, from the fields a worker wrote (str or typed)."""
    return {"worker": row.get("worker"), "status": row.get("status"), "detail": row.get("detail") or "",
            "fps": float(row.get("fps") or 0), "frames": int(row.get("frames") or 0),
            "attempts": int(row.get("attempts") or 0), "last_frame_at": row.get("last_frame_at") or None}


def _worker_row(row: dict) -> dict:
    return {"worker": row.get("worker"), "host": row.get("host"), "pid": int(row.get("pid") or 0),
            "started_at": row.get("started_at"), "at": row.get("at"), "cameras": int(row.get("cameras") or 0),
            "quota": int(row.get("quota") or 0)}


def _report(workers: list[dict], cameras: dict[str, dict]) -> dict:
    workers = sorted(workers, key=lambda w: w["worker"] or "")
    return {"workers": workers, "cameras": dict(sorted(cameras.items())), "workers_alive": len(workers),
            "cameras_leased": len(cameras)}


class RedisStore:
    """Leases and health in Redis, shared by every worker (``ioc vision`` on any number of machines)."""

    def __init__(self, redis):
        self.redis = redis

    def leases(self, worker_id: str, ttl_ms: int) -> Leases:
        return Leases(self.redis, worker_id, ttl_ms)

    def announce(self, worker_id: str, fields: dict, ttl_ms: int) -> None:
        key = HEALTH_PREFIX + worker_id
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={"host": socket.gethostname(), "pid": os.getpid(), **fields, "worker": worker_id})
        pipe.pexpire(key, ttl_ms)
        pipe.execute()

    def put_cameras(self, rows: dict[str, dict], ttl_ms: int) -> None:
        if not rows:
            return
        pipe = self.redis.pipeline()
        for code, fields in rows.items():
            pipe.hset(CAMERA_PREFIX + code, mapping=fields)
            pipe.pexpire(CAMERA_PREFIX + code, ttl_ms)
        pipe.execute()

    def forget_camera(self, code: str) -> None:
        self.redis.delete(CAMERA_PREFIX + code)

    def forget_worker(self, worker_id: str) -> None:
        self.redis.delete(HEALTH_PREFIX + worker_id)

    def read(self) -> dict:
        """{"workers": [...], "cameras": {code: {...}}, "workers_alive", "cameras_leased"}; every key has a
        time to live, so a dead worker and its cameras vanish from here within seconds."""
        redis = self.redis
        worker_keys = list(redis.scan_iter(match=HEALTH_PREFIX + "*", count=500))
        camera_keys = list(redis.scan_iter(match=CAMERA_PREFIX + "*", count=1000))
        pipe = redis.pipeline()
        for key in worker_keys + camera_keys:
            pipe.hgetall(key)
        rows = pipe.execute() if worker_keys or camera_keys else []
        workers = [_worker_row({_text(k): _text(v) for k, v in row.items()})
                   for row in rows[:len(worker_keys)] if row]
        cameras = {_text(key)[len(CAMERA_PREFIX):]: _camera_row({_text(k): _text(v) for k, v in row.items()})
                   for key, row in zip(camera_keys, rows[len(worker_keys):], strict=True) if row}
        return _report(workers, cameras)


class LocalStore:
    """Leases and health in this process's memory, with the same times to live as in Redis: the web server's
    vision thread when no Redis is configured (the embedded demo). Thread-safe; pages read ``read()``."""

    def __init__(self, monotonic=time.monotonic):
        self.monotonic = monotonic
        self.lock = threading.Lock()
        self.held: dict[str, tuple[str, float]] = {}  # camera code -> (worker, expires)
        self.workers: dict[str, tuple[dict, float]] = {}
        self.cameras: dict[str, tuple[dict, float]] = {}

    def leases(self, worker_id: str, ttl_ms: int) -> LocalLeases:
        return LocalLeases(self, worker_id, ttl_ms)

    def _live(self, table: dict) -> dict:
        """The unexpired entries of a table (the expired ones dropped); call under the lock."""
        now = self.monotonic()
        for key in [k for k, (_v, expires) in table.items() if expires <= now]:
            del table[key]
        return {k: v for k, (v, _expires) in table.items()}

    def announce(self, worker_id: str, fields: dict, ttl_ms: int) -> None:
        with self.lock:
            self.workers[worker_id] = ({"host": socket.gethostname(), "pid": os.getpid(), **fields,
                                        "worker": worker_id}, self.monotonic() + ttl_ms / 1000)

    def put_cameras(self, rows: dict[str, dict], ttl_ms: int) -> None:
        with self.lock:
            expires = self.monotonic() + ttl_ms / 1000
            for code, fields in rows.items():
                self.cameras[code] = (dict(fields), expires)

    def forget_camera(self, code: str) -> None:
        with self.lock:
            self.cameras.pop(code, None)

    def forget_worker(self, worker_id: str) -> None:
        with self.lock:
            self.workers.pop(worker_id, None)

    def read(self) -> dict:
        with self.lock:
            workers = [_worker_row(row) for row in self._live(self.workers).values()]
            cameras = {code: _camera_row(row) for code, row in self._live(self.cameras).items()}
        return _report(workers, cameras)


class LocalLeases:
    """``Leases`` over a LocalStore: the same calls and answers, in memory."""

    def __init__(self, store: LocalStore, worker_id: str, ttl_ms: int = 6000):
        self.store = store
        self.worker_id = worker_id
        self.ttl_ms = int(ttl_ms)

    def holders(self, codes: list[str]) -> dict[str, str | None]:
        with self.store.lock:
            held = self.store._live(self.store.held)
        return {code: held.get(code) for code in codes}

    def acquire(self, code: str) -> bool:
        with self.store.lock:
            if self.store._live(self.store.held).get(code) is not None:
                return False
            self.store.held[code] = (self.worker_id, self.store.monotonic() + self.ttl_ms / 1000)
            return True

    def renew(self, codes: Iterable[str]) -> set[str]:
        with self.store.lock:
            held = self.store._live(self.store.held)
            expires = self.store.monotonic() + self.ttl_ms / 1000
            mine = {code for code in codes if held.get(code) == self.worker_id}
            for code in mine:
                self.store.held[code] = (self.worker_id, expires)
            return mine

    def release(self, codes: Iterable[str]) -> int:
        with self.store.lock:
            held = self.store._live(self.store.held)
            mine = [code for code in codes if held.get(code) == self.worker_id]
            for code in mine:
                del self.store.held[code]
            return len(mine)

    def live_workers(self) -> list[str]:
        with self.store.lock:
            return sorted(self.store._live(self.store.workers))
