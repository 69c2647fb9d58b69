"""The server's own vision thread (webapp/vision_thread.py, as `ioc demo` runs it): without Redis, its leases and
health in memory, it watches the registry's cameras — a short generated video of a vehicle breaking down goes online
with its frame rate on the cameras list and /healthz and opens the stopped-vehicle case; a camera whose file is
garbage is that camera's status, not the thread's end; stopping the thread stops the cameras and says so.

The video plays as fast as it decodes (realtime=False), so the test takes seconds, not the video's 60."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from engine.clock import SYSTEM_CLOCK
from tests.conftest import BPMN_DIR
from tests.workspace import client_of, make_workspace_app
from vision.config import DetectionSettings
from vision.synthetic import scenario, write_mp4
from webapp.extensions import db
from webapp.vision_thread import VisionThread, vision_report
from workflows.cameras.models import Camera, CameraIncident
from workflows.cameras.registry import CameraForm, CameraRegistry
from workflows.models import Case, User

SETTINGS = DetectionSettings(stopped_after_s=10, clip_before_s=2, clip_after_s=2, congestion_enabled=False,
                             faults_enabled=False)
CODE, BROKEN = "BMT-THREAD", "BMT-THREAD-BAD"


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory):
    sc = scenario("stopped_vehicle", duration_s=80, fps=4, size=(320, 180), settings=SETTINGS)
    return write_mp4(sc, tmp_path_factory.mktemp("video") / "stopped_vehicle.mp4", fps=4, gop=8), sc


@pytest.fixture
def app(db_url, tmp_path, camera_file):
    app = make_workspace_app(db_url, SYSTEM_CLOCK, FILES_DIR=str(tmp_path / "files"), REDIS_URL=None)
    path, sc = camera_file
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"this is no video" * 64)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        bundle = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("camera_incident*"))}
        services.definitions.deploy(bundle, deployed_by="test")
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        registry = CameraRegistry(db.session, SYSTEM_CLOCK)
        changed = {k: v for k, v in SETTINGS.to_dict().items() if v != DetectionSettings().to_dict()[k]}
        for code, url in ((CODE, str(path)), (BROKEN, str(garbage))):
            registry.create(admin, CameraForm(
                code=code, name=f"Ngã sáu ({code})", name_en=f"Six-way junction ({code})", admin_unit="P-BUON-MA-THUOT",
                maintainer_unit="SXD", stream_url=url, read_mode="stream", analysis_fps=2, lat=12.6667, lon=108.0383,
                roi=[list(p) for p in sc.config.roi], lanes=[lane.to_dict() for lane in sc.config.lanes],
                settings=changed))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_servers_vision_thread_watches_the_registry_in_memory_and_stops_cleanly(app):
    thread = VisionThread(app, tick_s=0.1, realtime=False, backoff_base_s=0.5, backoff_max_s=2.0)
    app.extensions["ioc_vision"] = thread
    thread.start()
    seen_online = None
    listed = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            live = (vision_report(app) or {}).get("cameras", {})
            if live.get(CODE, {}).get("status") == "online" and live[CODE]["fps"] > 0 and seen_online is None:
                seen_online = live[CODE]
                # the list (while it plays): online, its frame rate from the thread's health, the worker's name
                listing = client_of(app, "admin").get("/cameras/").get_data(as_text=True)
                row = re.search(rf'<tr data-camera="{CODE}".*?</tr>', listing, re.S).group(0)
                listed = thread.worker_id in row and re.search(r"\d+,\d", row) is not None
            with app.app_context():
                opened = db.session.scalar(select(Case.id).where(Case.channel == "camera"))
                broken = db.session.execute(select(Camera.status, Camera.status_detail)
                                            .where(Camera.code == BROKEN)).one()
                db.session.rollback()
            if seen_online and opened is not None and broken[0] == "offline":
                break
            time.sleep(0.05)
        assert seen_online, vision_report(app)
        assert listed
        assert opened is not None, "no case opened"
        # a garbage file is its camera's status; the other camera went on
        assert tuple(broken) == ("offline", "corrupt")
        with app.app_context():
            health = client_of(app, "admin").get("/healthz").get_json()["vision"]
            incident = db.session.scalar(select(CameraIncident).where(CameraIncident.case_id == opened))
            case = db.session.get(Case, opened)
            assert (incident.kind, case.title) == ("stopped_vehicle", f"Xe dừng bất thường: Ngã sáu ({CODE})")
            db.session.rollback()
        assert health["mode"] == "thread" and health["workers_alive"] == 1 and CODE in health["cameras"]
    finally:
        began = time.monotonic()
        thread.stop()
        stopped_in = time.monotonic() - began
    assert not thread.is_alive() and stopped_in < 5, stopped_in
    # stopping said so: every camera offline ("stopped"), nothing left in the in-memory health
    with app.app_context():
        statuses = {c.code: (c.status, c.status_detail) for c in db.session.scalars(select(Camera))}
    assert statuses == {CODE: ("offline", "stopped"), BROKEN: ("offline", "stopped")}
    assert vision_report(app) == {"workers": [], "cameras": {}, "workers_alive": 0, "cameras_leased": 0}
