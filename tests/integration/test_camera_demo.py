"""The camera demo (workflows/cameras/demo.py): four cameras of Buôn Ma Thuột reading synthetic videos, and the
case of a stopped vehicle the real pipeline raised, waiting for the IOC's operator; a second set-up adds nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from workflows.attachments import FileStore
from workflows.cameras.demo import DEMO_CAMERAS, load_camera_demo
from workflows.cameras.models import Camera, CameraIncident
from workflows.models import Attachment, Case
from workflows.runtime import make_services


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return tmp_path_factory.mktemp("cameras")  # shared by both databases' runs: the videos are written once


def test_the_demo_cameras_their_videos_and_a_case_to_verify(session, clock, reference_data, tmp_path, videos):
    services = make_services(session, clock, files=FileStore(tmp_path / "files"))
    bundle = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("camera_incident*"))}
    services.definitions.deploy(bundle, deployed_by="test")
    session.commit()
    added = load_camera_demo(services, clock, videos)
    assert (added.cameras, added.cases) == (len(DEMO_CAMERAS), 1)
    cameras = {c.code: c for c in session.scalars(select(Camera))}
    assert {c.admin_unit.code for c in cameras.values()} <= {"P-BUON-MA-THUOT", "P-TAN-LAP", "P-EA-KAO", "P-TAN-AN"}
    for demo in DEMO_CAMERAS:
        camera = cameras[demo.code]
        if demo.scenario is None:
            assert camera.stream_url.startswith("rtsp://")
            continue
        assert camera.stream_url.startswith("file://") and camera.stream_url.endswith("?loop=1")
        path = videos / camera.stream_url.split("/")[-1].split("?")[0]
        assert path.read_bytes()[4:8] == b"ftyp"
        assert len(camera.lanes) == 4 and camera.roi and camera.reference_jpeg[:2] == b"\xff\xd8"
    case = session.scalar(select(Case).where(Case.channel == "camera"))
    assert case.title == "Xe dừng bất thường: Ngã sáu Buôn Ma Thuột" and case.status == "received"
    assert sorted(session.scalars(select(Attachment.kind).where(Attachment.case_id == case.id))) == ["image", "video"]
    assert session.scalar(select(CameraIncident.case_id)) == case.id
    task = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code, HumanTask.state == "open"))
    assert (task.element_id, task.candidate_unit) == ("verify", "IOC-DLK")
    again = load_camera_demo(services, clock, videos)
    assert (again.cameras, again.videos, again.cases) == (0, 0, 0)
    assert session.scalar(select(func.count()).select_from(Camera)) == len(DEMO_CAMERAS)
