"""vision.leases.LocalStore: the leases and health of the server's own vision thread, in memory, answering as the
Redis ones do (a lease taken once, renewed and released only by its holder, gone when its time to live ends)."""

from __future__ import annotations

from vision.leases import LocalStore


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_leases_are_exclusive_renewed_by_their_holder_and_expire():
    ticks = Ticks()
    store = LocalStore(monotonic=ticks)
    a, b = store.leases("a", 6000), store.leases("b", 6000)
    assert a.acquire("CAM-1") and not b.acquire("CAM-1")
    assert a.holders(["CAM-1", "CAM-2"]) == {"CAM-1": "a", "CAM-2": None}
    assert b.renew(["CAM-1"]) == set() and b.release(["CAM-1"]) == 0  # not b's
    ticks.now += 5
    assert a.renew(["CAM-1"]) == {"CAM-1"}
    ticks.now += 5  # 10 s after the take, 5 after the renewal: still a's
    assert not b.acquire("CAM-1")
    ticks.now += 2  # a stopped renewing: taken over
    assert b.acquire("CAM-1") and a.renew(["CAM-1"]) == set()
    assert b.release(["CAM-1"]) == 1 and a.acquire("CAM-1")


def test_health_reads_like_redis_and_vanishes_with_its_worker():
    ticks = Ticks()
    store = LocalStore(monotonic=ticks)
    store.announce("w", {"started_at": "s", "at": "t", "cameras": 1, "quota": 2}, 6000)
    store.put_cameras({"CAM-1": {"worker": "w", "status": "online", "detail": "", "fps": 1.94, "frames": 12,
                                 "attempts": 0, "last_frame_at": ""}}, 6000)
    report = store.read()
    assert store.leases("w", 6000).live_workers() == ["w"]
    assert report["workers_alive"] == 1 and report["workers"][0]["cameras"] == 1
    assert report["cameras"] == {"CAM-1": {"worker": "w", "status": "online", "detail": "", "fps": 1.94, "frames": 12,
                                           "attempts": 0, "last_frame_at": None}}
    ticks.now += 6.5
    assert store.read() == {"workers": [], "cameras": {}, "workers_alive": 0, "cameras_leased": 0}
