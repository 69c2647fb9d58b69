"""`ioc vision` workers sharing cameras through Redis leases: a killed worker's cameras are taken
over within seconds, a camera whose file vanishes goes offline (and back online) while the others
go on, and reconnecting backs off.  Real processes of `ioc vision`, the real Redis, real PyAV.
The cameras come from a JSON file and the incidents go to JSON lines (the registry and the cases
are workflows/cameras', tested there)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_lib

from tests.conftest import REDIS_URL
from tests.unit.vision.test_sources import _write_h264
from vision.leases import CAMERA_PREFIX, HEALTH_PREFIX, LEASE_PREFIX, fair_share
from vision.runner import backoff_delay, read_health
from webapp.health import vision_health

IOC = str(Path(sys.executable).with_name("ioc"))
LEASE_MS = 2000


@pytest.fixture
def redis():
    client = redis_lib.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis_lib.ConnectionError:
        pytest.skip("Redis is not running (bash .ci/services)")

    def clean():
        for prefix in (LEASE_PREFIX, HEALTH_PREFIX, CAMERA_PREFIX):
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)

    clean()
    yield client
    clean()
    client.close()


def _worker(tmp_path: Path, name: str) -> subprocess.Popen:
    with (tmp_path / f"{name}.log").open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [IOC, "vision", "--cameras", str(tmp_path / "cameras.json"), "--events", str(tmp_path / f"{name}.jsonl"),
             "--redis-url", REDIS_URL, "--worker-id", name, "--lease-ms", str(LEASE_MS)],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env={**os.environ, "IOC_LANG": "en"})


def _wait(what, check, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def _holders(redis, codes):
    return {code: (redis.get(LEASE_PREFIX + code) or b"").decode() for code in codes}


def _statuses(path: Path, camera: str) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["status"], r["detail"]) for r in lines if r["type"] == "status" and r["camera"] == camera]


def test_two_workers_share_cameras_a_killed_one_is_taken_over_and_a_vanished_file_goes_offline(tmp_path, redis):
    video = _write_h264(tmp_path / "road.mp4", seconds=2)
    codes = [f"CAM-{i}" for i in range(1, 7)]
    cameras = [{"code": code, "url": f"file://{video}?loop=1", "analysis_fps": 2.0} for code in codes]
    vanishing = tmp_path / "vanishing.mp4"
    shutil.copy(video, vanishing)
    cameras.append({"code": "CAM-V", "url": f"file://{vanishing}?loop=1", "analysis_fps": 2.0})
    codes.append("CAM-V")
    (tmp_path / "cameras.json").write_text(json.dumps(cameras))
    workers = {name: _worker(tmp_path, name) for name in ("w1", "w2")}
    try:
        # both take a share, at most ceil(7 / 2) + 1 = 5 each (the first one up took more: it sheds them)
        def shared():
            holders = _holders(redis, codes)
            counts = {name: list(holders.values()).count(name) for name in workers}
            balanced = all(holders.values()) and 0 < min(counts.values()) <= max(counts.values()) <= fair_share(7, 2)
            return counts if balanced else None
        _wait("both workers watch their share of the cameras", shared, 25)
        def flowing():
            health = read_health(redis)
            cameras = health["cameras"]
            return health if len(cameras) == len(codes) and all(c["frames"] > 0 for c in cameras.values()) else None
        health = _wait("frames flow on every camera", flowing, 15)
        assert health["workers_alive"] == 2 and health["cameras_leased"] == len(codes)
        assert all(c["status"] == "online" for c in health["cameras"].values())
        seen = vision_health({"REDIS_URL": REDIS_URL})  # what /healthz shows under "vision"
        assert seen["ok"] and seen["workers_alive"] == 2 and seen["cameras_leased"] == len(codes)
        assert {w["worker"] for w in seen["workers"]} == {"w1", "w2"}
        assert _wait("every camera's fps shows", lambda: all(
            c["fps"] > 0 for c in vision_health({"REDIS_URL": REDIS_URL})["cameras"].values()), 5)

        # the file of one camera vanishes mid-stream: offline "unreachable", the others go on
        holder = _holders(redis, ["CAM-V"])["CAM-V"]
        vanishing.unlink()
        _wait("the vanished camera is offline", lambda: read_health(redis)["cameras"].get("CAM-V", {}).get("detail")
              == "unreachable", 8)
        assert ("offline", "unreachable") in _statuses(tmp_path / f"{holder}.jsonl", "CAM-V")
        before = {code: c["frames"] for code, c in read_health(redis)["cameras"].items()}
        time.sleep(2.5)
        after = read_health(redis)["cameras"]
        assert all(after[code]["frames"] > before[code] for code in codes if code != "CAM-V")
        assert after["CAM-V"]["status"] == "offline"
        # reconnecting backs off: a few attempts in these seconds (1, 2, 4 s ... with jitter), not one per tick
        assert 1 <= after["CAM-V"]["attempts"] <= 4
        shutil.copy(video, vanishing)  # back: online again on a later attempt
        _wait("the camera is back online", lambda: read_health(redis)["cameras"]["CAM-V"]["status"] == "online", 12)

        # a worker killed outright: its leases expire and the other takes all its cameras
        victim = "w1" if "w1" in set(_holders(redis, codes).values()) else "w2"
        survivor = "w2" if victim == "w1" else "w1"
        taken = [code for code, name in _holders(redis, codes).items() if name == victim]
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(5)
        killed_at = time.monotonic()
        _wait("the survivor holds every camera",
              lambda: set(_holders(redis, codes).values()) == {survivor}, 10)
        took_over_s = time.monotonic() - killed_at
        assert took_over_s <= LEASE_MS / 1000 + 3  # "within seconds": the lease's time to live and a round
        _wait("frames flow again on the taken cameras", lambda: all(
            read_health(redis)["cameras"].get(code, {}).get("worker") == survivor
            and read_health(redis)["cameras"][code]["status"] == "online" for code in taken), 10)
        assert all(("online", "") in _statuses(tmp_path / f"{survivor}.jsonl", code) for code in taken)
        assert read_health(redis)["workers_alive"] == 1

        # a graceful stop gives the leases back at once and says so
        workers[survivor].send_signal(signal.SIGTERM)
        assert workers[survivor].wait(20) == 0
        assert not any(_holders(redis, codes).values())
        assert ("offline", "stopped") in _statuses(tmp_path / f"{survivor}.jsonl", taken[0])
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait(5)


def test_backoff_doubles_with_jitter_up_to_its_ceiling():
    rng = random.Random(7)
    for attempt, ceiling in [(0, 1), (1, 2), (2, 4), (3, 8), (10, 60)]:
        delays = [backoff_delay(attempt, 1.0, 60.0, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jitter: cameras that failed together spread out
