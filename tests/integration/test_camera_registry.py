"""The camera registry: every field checked on the server, units from the live lists, a camera's CameraConfig."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from vision.config import CameraConfig, DetectionSettings
from workflows.admin.models import AdminAuditEntry
from workflows.cameras.registry import CameraForm, CameraRegistry
from workflows.errors import IntakeError
from workflows.models import User


def form(**changes) -> CameraForm:
    values = dict(code="BMT-LD-01", name="Ngã sáu Buôn Ma Thuột", name_en="Buon Ma Thuot six-way junction",
                  admin_unit="P-BUON-MA-THUOT", maintainer_unit="IOC-DLK", stream_url="rtsp://10.0.0.5:554/stream1",
                  read_mode="stream", analysis_fps="2", snapshot_interval_s="2", lat="12.6667", lon="108.0383",
                  roi="[[0.05, 0.2], [0.95, 0.2], [0.95, 0.98], [0.05, 0.98]]",
                  lanes=[{"name": "vào", "polygon": [[0.1, 0.3], [0.5, 0.3], [0.5, 0.95], [0.1, 0.95]],
                          "direction": [0, 2]}],
                  settings={"stopped_after_s": 20})
    values.update(changes)
    return CameraForm(**values)


@pytest.fixture
def admin(session, reference_data):
    return session.scalar(select(User).where(User.username == "admin"))


def test_a_camera_is_created_with_its_config_and_audit_line(session, clock, admin):
    registry = CameraRegistry(session, clock)
    camera = registry.create(admin, form())
    assert camera.admin_unit.code == "P-BUON-MA-THUOT" and camera.maintainer_unit.code == "IOC-DLK"
    assert camera.settings == {"stopped_after_s": 20.0}  # only what differs from the defaults
    config = registry.config(camera)
    assert isinstance(config, CameraConfig)
    assert config.lanes[0].direction == (0.0, 1.0)  # normalised
    assert config.settings == DetectionSettings(stopped_after_s=20)
    assert config.roi[0] == (0.05, 0.2)
    assert [c.code for c in registry.configs()] == ["BMT-LD-01"]
    entry = session.scalar(select(AdminAuditEntry).where(AdminAuditEntry.action == "camera.create"))
    assert entry.target_label == "BMT-LD-01" and entry.actor_username == "admin"
    line, = registry.list()
    assert (line.status, line.false_alarms, line.open_incidents) == ("unknown", 0, 0)


def test_every_wrong_field_is_named_and_nothing_is_stored(session, clock, admin):
    registry = CameraRegistry(session, clock)
    with pytest.raises(IntakeError) as caught:
        registry.create(admin, form(code="x", name="", admin_unit="SXD", maintainer_unit="P-TAN-AN",
                                    stream_url="ftp://cam/1", read_mode="fast", analysis_fps="99", lat="12.6",
                                    lon="", roi="[[0.1, 0.1], [0.2, 1.5], [0.3, 0.3]]",
                                    lanes=[{"name": "a", "polygon": [[0, 0], [1, 0], [1, 1]], "direction": [0, 0]}],
                                    settings={"stopped_after_s": -1, "turbo": True}))
    assert set(caught.value.fields) == {"code", "name", "admin_unit", "maintainer_unit", "stream_url", "read_mode",
                                        "analysis_fps", "lon", "roi", "lanes", "settings"}
    assert "outside the image" in str(caught.value.fields["roi"])
    assert "zero" in str(caught.value.fields["lanes"])
    assert "turbo" in str(caught.value.fields["settings"])
    session.rollback()
    assert registry.list() == []


def test_an_update_keeps_the_code_unique_and_the_reference_view(session, clock, admin):
    registry = CameraRegistry(session, clock)
    registry.create(admin, form(reference_jpeg=b"\xff\xd8\xff\xe0fake"))
    registry.create(admin, form(code="BMT-LD-02", lanes=[], roi=""))
    with pytest.raises(IntakeError) as caught:
        registry.update(admin, "BMT-LD-02", form(code="bmt-ld-01"))
    assert set(caught.value.fields) == {"code"}
    session.rollback()
    changed = registry.update(admin, "BMT-LD-01", form(read_mode="keyframes", enabled=False, settings=""))
    assert changed.read_mode == "keyframes" and changed.reference_jpeg == b"\xff\xd8\xff\xe0fake"
    assert changed.settings == {}
    assert [c.code for c in registry.configs()] == ["BMT-LD-02"]  # a disabled camera is not watched


def test_the_runner_reports_set_status_and_since_when(session, clock, admin):
    registry = CameraRegistry(session, clock)
    registry.create(admin, form())
    first = clock.now()
    registry.set_status("BMT-LD-01", "online", "", first, fps=2.04)
    clock.advance(minutes=1)
    camera = registry.set_status("BMT-LD-01", "online", "", clock.now(), fps=1.9)
    assert camera.status_since == first and camera.fps == 1.9
    clock.advance(minutes=1)
    camera = registry.set_status("BMT-LD-01", "offline", "unreachable", clock.now())
    assert (camera.status, camera.status_detail, camera.status_since, camera.fps) == (
        "offline", "unreachable", clock.now(), 0.0)
    with pytest.raises(ValueError):
        registry.set_status("BMT-LD-01", "asleep", "", clock.now())
