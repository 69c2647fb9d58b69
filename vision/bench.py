"""`ioc bench vision`: how many cameras one core handles, decoding included.

The process pins itself to one core (``os.sched_setaffinity``), then for each read mode
measures, on the same clip and in the same run:

- **decode alone**: PyAV demuxing and decoding (no picture conversion), or for snapshots
  reading and decoding the JPEG — the ceiling the analysis can approach;
- **source**: vision/sources.py as the runner uses it (decoding, and the BGR conversion of the
  frames kept at the analysis rate);
- **with analysis**: the runner's CameraWorker threads — source, then H2's CameraPipeline on
  each kept frame — several cameras sharing the core as in `ioc vision`.

Every figure is "cameras handled": seconds of camera stream (or of snapshots every
``interval`` seconds) processed per second of this process's CPU time on the core
(``time.process_time``: the machine is shared, and what other processes take of the core
is not this code's cost; the wall-clock figure is printed beside it).  A stream camera is
640x360 H.264 at 25 fps (the synthetic street of vision/synthetic.py, keyframe every 2 s)
analysed at 2 frames per second.
"""

from __future__ import annotations

import os
import queue
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy

from engine.clock import SYSTEM_CLOCK
from vision.config import CameraConfig
from vision.sources import SourceError, decode_jpeg, open_source

TARGETS = {"stream": 40, "keyframes": 100, "snapshot": 150}


@dataclass
class Figure:
    mode: str
    what: str
    cameras: float  # per second of CPU time
    wall: float  # per second of wall time
    detail: str = ""


def pin_to_one_core() -> int:
    """Pin this process to its last allowed core; returns the core's number."""
    core = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def make_clip(directory: Path, seconds: float = 20.0, fps: int = 25, size: tuple[int, int] = (640, 360),
              scenario_name: str = "free_flow") -> tuple[Path, CameraConfig, float]:
    """(the MP4, the scenario's camera settings, its bit rate in kbit/s): a synthetic street, H.264 yuv420p."""
    from vision.synthetic import scenario, write_mp4

    scene = scenario(scenario_name, duration_s=seconds, fps=fps, size=size)
    path = write_mp4(scene, directory / f"{scenario_name}.mp4", fps=fps, gop=2 * fps)
    kbps = path.stat().st_size * 8 / 1000 / seconds
    return path, scene.config, kbps


def snapshot_jpeg(clip: Path, directory: Path, size: tuple[int, int]) -> Path:
    """A JPEG of the clip's first picture at ``size`` (quality 80, as cameras send)."""
    from vision.sources import grab_snapshot

    image = cv2.imdecode(numpy.frombuffer(grab_snapshot(str(clip)), numpy.uint8), cv2.IMREAD_COLOR)
    image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    path = directory / f"snapshot-{size[0]}x{size[1]}.jpg"
    path.write_bytes(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    return path


class _Span:
    """Wall and CPU seconds of a measure."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rates(self, covered: float) -> tuple[float, float]:
        """Camera seconds handled (per CPU second, per wall second)."""
        return covered / max(self.cpu, 1e-9), covered / max(self.wall, 1e-9)


def decode_alone(clip: Path, keyframes: bool, seconds: float) -> tuple[float, float]:
    """PyAV alone (one thread, no conversion): stream seconds decoded per CPU and per wall second."""
    import av

    covered = 0.0
    with _Span() as span:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            with av.open(str(clip)) as container:
                stream = container.streams.video[0]
                stream.codec_context.thread_count = 1
                if keyframes:
                    stream.codec_context.skip_frame = "NONKEY"
                for packet in container.demux(stream):
                    if keyframes and packet.size and not packet.is_keyframe:
                        continue
                    packet.decode()
                covered += float(stream.duration * stream.time_base)
    return span.rates(covered)


def jpeg_alone(path: Path, interval_s: float, seconds: float) -> tuple[float, float]:
    """Snapshots (one JPEG every interval_s) read and decoded: camera seconds per CPU and per wall second."""
    n = 0
    with _Span() as span:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            decode_jpeg(path.read_bytes())
            n += 1
    return span.rates(n * interval_s)


def source_alone(config: CameraConfig, seconds: float) -> tuple[float, float]:
    """vision/sources.py alone (decoding + conversion of the kept frames): per CPU and per wall second."""
    source = open_source(config, SYSTEM_CLOCK, realtime=False)
    last_t = 0.0
    with _Span() as span:
        began = time.perf_counter()
        try:
            for frame in source.frames():
                last_t = frame.t
                if time.perf_counter() - began >= seconds:
                    break
        except SourceError:
            pass
        finally:
            source.close()
    return span.rates(last_t)


def with_analysis(config: CameraConfig, seconds: float, cameras: int = 4) -> tuple[float, float, float]:
    """`cameras` CameraWorker threads (source + CameraPipeline, as `ioc vision` runs them) sharing the core:
    (camera seconds per CPU second, per wall second, mean CPU ms of one pipeline.process)."""
    from vision.pipeline import CameraPipeline
    from vision.runner import CameraWorker

    events: queue.Queue = queue.Queue()
    timings: list[float] = []

    class Timed(CameraPipeline):
        def process(self, frame):
            began = time.thread_time()
            try:
                return super().process(frame)
            finally:
                timings.append(time.thread_time() - began)

    configs = [replace(config, code=f"BENCH-{i}") for i in range(cameras)]
    workers = [CameraWorker(c, Timed(c), events, SYSTEM_CLOCK, lambda c: open_source(c, SYSTEM_CLOCK, realtime=False))
               for c in configs]
    with _Span() as span:
        for worker in workers:
            worker.start()
        time.sleep(seconds)
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.thread.join(30)
    per_cpu, per_wall = span.rates(sum(worker.last_t for worker in workers))
    return per_cpu, per_wall, (sum(timings) / len(timings) * 1000 if timings else 0.0)


def run(seconds: float = 10.0, threads: int = 4, log=print) -> tuple[list[Figure], dict]:
    """Every figure of the three read modes, measured on one core; also the set-up (clip, core)."""
    core = pin_to_one_core()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        clip, config, kbps = make_clip(directory)
        log(f"clip: 640x360 H.264 25 fps, keyframe every 2 s, {kbps:.0f} kbit/s (vision.synthetic free_flow); "
            f"pinned to core {core}; {seconds:g} s per figure, {threads} camera threads with analysis")
        looped = f"file://{clip}?loop=1"
        stream = replace(config, url=looped, read_mode="stream", analysis_fps=2.0)
        keyframes = replace(config, url=looped, read_mode="keyframes")
        setup = {"core": core, "kbps": round(kbps), "seconds": seconds, "threads": threads}

        def measure(mode: str, alone, source_config: CameraConfig, detail: str = "") -> None:
            cpu, wall = alone()
            figures.append(Figure(mode, "decode alone", cpu, wall, f"{wall:.0f} by the wall clock{detail}"))
            cpu, wall = source_alone(source_config, seconds)
            figures.append(Figure(mode, "source", cpu, wall, f"{wall:.0f} by the wall clock"))
            cpu, wall, ms = with_analysis(source_config, seconds, threads)
            figures.append(Figure(mode, "with analysis", cpu, wall,
                                  f"{wall:.0f} by the wall clock; pipeline {ms:.1f} ms CPU/frame"))
            for figure in figures[-3:]:
                log(_line(figure))

        measure("stream", lambda: decode_alone(clip, False, seconds), stream)
        measure("keyframes", lambda: decode_alone(clip, True, seconds), keyframes)
        for size in ((640, 360), (1920, 1080)):
            jpeg = snapshot_jpeg(clip, directory, size)
            snap = replace(config, url=str(jpeg), read_mode="snapshot", snapshot_interval_s=2.0)
            measure(f"snapshot {size[0]}x{size[1]}", lambda jpeg=jpeg: jpeg_alone(jpeg, 2.0, seconds), snap,
                    f"; JPEG {jpeg.stat().st_size // 1000} kB every 2 s")
    return figures, setup


def _line(figure: Figure) -> str:
    return f"  {figure.mode:<20} {figure.what:<14} {figure.cameras:7.0f} cameras per CPU second ({figure.detail})"


def table(figures: list[Figure]) -> str:
    """Cameras per core by read mode: decode alone, source, with analysis, and the target."""
    rows = {}
    for f in figures:
        rows.setdefault(f.mode, {})[f.what] = f
    lines = ["Cameras per core: per second of CPU time (per second of wall time, in brackets)",
             "",
             "| read mode | decode alone | source (decode + conversion) | with analysis | target | |",
             "|---|---:|---:|---:|---:|---|"]
    for mode, row in rows.items():
        target = TARGETS["snapshot" if mode.startswith("snapshot") else mode]
        analysed = row.get("with analysis")
        verdict = "meets" if analysed.cameras >= target else "misses"
        if analysed.wall < target <= analysed.cameras:
            verdict += " (not by the wall clock)"
        cells = [f"{row[what].cameras:.0f} ({row[what].wall:.0f})" for what in ("decode alone", "source", "with analysis")]
        lines.append(f"| {mode} | {' | '.join(cells)} | ≥ {target} | {verdict} |")
    return "\n".join(lines)
