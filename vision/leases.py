"""Which worker watches which camera: a lease per camera in Redis.

A lease is ``ioc:vision:lease:<code>`` holding the worker's id, set with NX and a time to
live, renewed by its holder every few seconds and deleted when it stops.  A worker that
dies stops renewing; its leases expire and the other workers take its cameras on their
next round.  Each worker announces itself with ``ioc:vision:health:<worker>`` (same time
to live), so every worker can count the live ones and take no more than its fair share:
``ceil(cameras / live workers) + slack``.
"""

from __future__ import annotations

import hashlib
import math
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
