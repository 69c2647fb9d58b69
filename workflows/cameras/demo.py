"""The camera demo for Buôn Ma Thuột: four cameras on main roads (their places, maintainers and lanes), the
synthetic street videos they read (vision/synthetic.py, written under instance/cameras/ at set-up: a few seconds),
and one case the vision pipeline opened from a vehicle that broke down at the six-way junction, waiting for the
IOC's operator to verify it on its snapshot and clip. Idempotent: only what is missing is added.

The locations are plausible, not surveyed; the videos are generated, not recorded. The demo server watches the
cameras itself (webapp/vision_thread.py; or `ioc vision`): the files play in a loop, the six-way junction's stopped
vehicle comes back about a minute after the start and then every 15 min (its cool-down), joining its open case; the
fourth camera's RTSP address answers nowhere: offline, and after 30 s a camera fault case for its maintainer.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.clock import Clock
from vision.config import DetectionSettings
from workflows.cameras.incidents import CameraIncidents
from workflows.cameras.models import Camera
from workflows.cameras.registry import CameraForm, CameraRegistry

log = logging.getLogger(__name__)
VIDEO_SIZE = (480, 270)
VIDEO_FPS = 2  # what the cameras analyse anyway: half the frames, half the set-up time


@dataclass(frozen=True)
class DemoCamera:
    code: str
    name: str
    name_en: str
    place: str
    maintainer: str
    lat: float
    lon: float
    address: str
    scenario: str | None  # the synthetic video it reads; None: a stream address that answers nowhere
    read_mode: str = "stream"  # the third camera reads keyframes only
    duration_s: float = 90.0
    settings: tuple = ()  # DetectionSettings that differ from the defaults


DEMO_CAMERAS = (
    DemoCamera("BMT-NGA6", "Ngã sáu Buôn Ma Thuột", "Buôn Ma Thuột six-way junction", "P-BUON-MA-THUOT",
               "CSGT-DLK", 12.66795, 108.03790, "Ngã sáu trung tâm, phường Buôn Ma Thuột", "stopped_vehicle",
               # its 90 s video loops: the same breakdown comes back every loop; once in 15 min joins the open case
               # (or opens one) often enough to watch, without piling a snapshot and clip on it every 6 min
               settings=(("stopped_after_s", 20.0), ("cooldown_s", 900.0))),
    DemoCamera("BMT-NTT-HHT", "Nguyễn Tất Thành – Hà Huy Tập", "Nguyễn Tất Thành – Hà Huy Tập junction",
               "P-TAN-LAP", "CSGT-DLK", 12.68320, 108.05850, "Ngã tư Nguyễn Tất Thành – Hà Huy Tập", "free_flow",
               duration_s=60.0),
    DemoCamera("BMT-LD-EATAM", "Lê Duẩn – cầu Ea Tam", "Lê Duẩn – Ea Tam bridge", "P-EA-KAO", "SXD", 12.65350,
               108.02980, "Đường Lê Duẩn, gần cầu Ea Tam", "free_flow", read_mode="keyframes", duration_s=60.0),
    DemoCamera("BMT-QL14-PBC", "Quốc lộ 14 – Phan Bội Châu", "National Road 14 – Phan Bội Châu", "P-TAN-AN", "SXD",
               12.69580, 108.04520, "Nút giao Quốc lộ 14 – Phan Bội Châu", None),
)
OFFLINE_URL = "rtsp://10.20.0.14:554/Streaming/Channels/101"


@dataclass(frozen=True)
class CameraDemo:
    cameras: int = 0
    videos: int = 0
    cases: int = 0


@dataclass(frozen=True)
class _Setup:
    username: str = "demo"


def load_camera_demo(services: Any, clock: Clock, directory: str | Path) -> CameraDemo:
    """Add the demo cameras missing (with their videos under `directory`) and, for a new six-way junction
    camera, the case of its stopped vehicle. `services` are the case services (with the attachments' store)."""
    from vision import synthetic  # here: the demo's only use of the generator

    session = services.session
    directory = Path(directory)
    registry = CameraRegistry(session, clock)
    existing = set(session.scalars(select(Camera.code)))
    cameras = videos = cases = 0
    for demo in DEMO_CAMERAS:
        if demo.code in existing:
            continue
        form = CameraForm(code=demo.code, name=demo.name, name_en=demo.name_en, admin_unit=demo.place,
                          maintainer_unit=demo.maintainer, lat=demo.lat, lon=demo.lon, address=demo.address,
                          read_mode=demo.read_mode, analysis_fps=2, snapshot_interval_s=2,
                          settings=dict(demo.settings), stream_url=OFFLINE_URL)
        scenario = None
        if demo.scenario is not None:
            scenario = synthetic.scenario(demo.scenario, duration_s=demo.duration_s, fps=VIDEO_FPS, size=VIDEO_SIZE,
                                          settings=DetectionSettings(**dict(demo.settings)))
            reference = scenario.reference_jpeg()
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{demo.scenario}-{demo.duration_s:g}s.mp4"  # cameras of one scenario share it
            if not path.exists():  # written aside, then moved: a set-up cut short leaves no half video
                partial = path.with_name(f".{path.name}.{os.getpid()}.mp4")
                synthetic.write_mp4(scenario, partial, fps=VIDEO_FPS, gop=2 * VIDEO_FPS)
                os.replace(partial, path)
                videos += 1
            url = f"{path.resolve().as_uri()}?loop=1"
            form = replace(form, stream_url=url, reference_jpeg=reference, roi=[list(p) for p in scenario.config.roi],
                           lanes=[lane.to_dict() for lane in scenario.config.lanes])
        registry.create(_Setup(), form, note="demo")
        cameras += 1
        if demo.scenario == "stopped_vehicle" and scenario is not None:
            cases += _played_incident(services, clock, demo.code, scenario)
    return CameraDemo(cameras, videos, cases)


def _played_incident(services: Any, clock: Clock, code: str, scenario: Any) -> int:
    """Play the camera's video through the real pipeline (frames dated to end now) and hand what it raised to
    the sink: the case of its stopped vehicle, with the snapshot and clip the pipeline cut."""
    try:
        from vision.events import Frame
        from vision.pipeline import CameraPipeline
    except ImportError:  # the detectors are not installed with this copy: the cameras are there all the same
        log.warning("vision.pipeline is missing: the camera demo opens no case")
        return 0
    config = replace(scenario.config, code=code)
    pipeline = CameraPipeline(config)
    start = clock.now() - timedelta(seconds=scenario.duration_s)
    sink = CameraIncidents(services.session, clock, services_factory=lambda _session: services)
    opened = set()
    incidents = []
    for frame in scenario.frames(VIDEO_FPS):
        incidents += pipeline.process(Frame(t=frame.t, at=start + timedelta(seconds=frame.t), image=frame.image,
                                            keyframe=frame.keyframe))
    incidents += pipeline.close()
    for incident in incidents:
        case = sink.publish(incident)
        if case is not None:
            opened.add(case.id)
    return len(opened)
