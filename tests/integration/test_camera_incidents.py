"""Camera incidents become cases (workflows/cameras/incidents.py, bpmn/camera_incident.bpmn): the snapshot and clip
kept as the case's attachments, one case per episode, the operator's verdict, routing, the clearing by itself."""

from __future__ import annotations

import io
from datetime import timedelta

import av
import cv2
import numpy
import pytest
from sqlalchemy import func, select

from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from vision.events import Incident, incident_key
from workflows.access import AccessService
from workflows.attachments import FileStore
from workflows.cameras.incidents import CameraIncidents
from workflows.cameras.models import Camera, CameraIncident
from workflows.cameras.registry import CameraForm, CameraRegistry
from workflows.case_view import CaseViewService
from workflows.models import Attachment, Case, CaseEvent, Notification, User
from workflows.runtime import make_services


def jpeg(seed: int = 0) -> bytes:
    image = numpy.full((180, 320, 3), 90 + seed, numpy.uint8)
    cv2.rectangle(image, (100, 80), (160, 120), (0, 0, 200), -1)
    return cv2.imencode(".jpg", image)[1].tobytes()


def mp4(frames: int = 6) -> bytes:
    """A short H.264 clip, as vision/evidence.py cuts one (yuv420p, MP4)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(frames):
            image = numpy.full((180, 320, 3), 40 + 20 * i, numpy.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@pytest.fixture
def world(session, clock, reference_data, tmp_path):
    """The camera process deployed, a file store, two cameras in Buôn Ma Thuột and the sink."""
    files = FileStore(tmp_path / "files")
    services = make_services(session, clock, files=files)
    bundle = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("camera_incident*"))}
    services.definitions.deploy(bundle, deployed_by="test")
    session.commit()
    admin = session.scalar(select(User).where(User.username == "admin"))
    registry = CameraRegistry(session, clock)
    for code, maintainer in (("BMT-01", "SXD"), ("BMT-02", "CSGT-DLK")):
        registry.create(admin, CameraForm(code=code, name=f"Ngã sáu {code}", name_en=f"Six-way {code}",
                                          admin_unit="P-BUON-MA-THUOT", maintainer_unit=maintainer,
                                          stream_url="rtsp://10.0.0.5/1", lat=12.6667, lon=108.0383))
    sink = CameraIncidents(session, clock, files=files)
    return sink, services, files


def incident(clock, state="raised", kind="stopped_vehicle", subtype="lane-1", camera="BMT-01", started=None,
             snapshot=True, clip=False) -> Incident:
    started = started or clock.now() - timedelta(seconds=30)
    return Incident(camera=camera, key=incident_key(camera, kind, subtype, started), kind=kind, subtype=subtype,
                    state=state, confidence=0.9, started_at=started, at=clock.now(),
                    evidence={"still_seconds": 31.5, "lane": "lane-1"}, region=((0.3, 0.4), (0.5, 0.4), (0.5, 0.6)),
                    snapshot_jpeg=jpeg() if snapshot else None, clip_mp4=mp4() if clip else None)


def actor(session, username):
    user_id = session.scalar(select(User.id).where(User.username == username))
    return AccessService(session).actor(user_id)


def open_task(session, case, element=None):
    query = select(HumanTask).where(HumanTask.business_key == case.code, HumanTask.state == "open")
    if element:
        query = query.where(HumanTask.element_id == element)
    return session.scalar(query)


def history(session, case) -> list[str]:
    return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def test_a_raised_incident_opens_one_case_with_snapshot_and_clip(session, clock, world):
    sink, _services, files = world
    raised = incident(clock)
    case = sink.publish(raised)
    assert case.code.startswith("CAM-") and case.channel == "camera" and case.category_code == "traffic_incident"
    assert case.priority == "high" and case.admin_unit.code == "P-BUON-MA-THUOT" and case.lat == 12.6667
    task = open_task(session, case)
    assert (task.element_id, task.candidate_role, task.candidate_unit) == ("verify", "operator", "IOC-DLK")
    assert case.due_at is not None
    # The same raise again (a retry), then the clip with the first "updated": still one case and one incident.
    assert sink.publish(raised).id == case.id
    clock.advance(seconds=5)
    sink.publish(Incident(**{**raised.__dict__, "state": "updated", "at": clock.now(), "clip_mp4": mp4(),
                             "snapshot_jpeg": None}))
    assert session.scalar(select(func.count()).select_from(Case)) == 1
    row = session.scalar(select(CameraIncident))
    assert row.case_id == case.id and row.state == "updated" and row.updates == 2
    kinds = dict(session.execute(select(Attachment.kind, Attachment.sha256).where(Attachment.case_id == case.id)).all())
    assert set(kinds) == {"image", "video"}
    assert (row.snapshot_sha256, row.clip_sha256) == (kinds["image"], kinds["video"])
    assert files.read(row.clip_sha256)[4:8] == b"ftyp"
    assert not any(session.scalars(select(Attachment.public).where(Attachment.case_id == case.id)))
    # A second stopped vehicle on the same camera while the case is open joins it.
    clock.advance(minutes=10)
    again = sink.publish(incident(clock, subtype="lane-2"))
    assert again.id == case.id and "camera_incident_repeated" in history(session, case)
    assert session.scalar(select(func.count()).select_from(CameraIncident)) == 2


def test_cleared_before_verification_closes_on_its_own_with_its_history(session, clock, world):
    sink, _services, _files = world
    raised = incident(clock, kind="congestion", subtype=None)
    case = sink.publish(raised)
    clock.advance(minutes=3)
    sink.publish(Incident(**{**raised.__dict__, "state": "cleared", "at": clock.now(), "snapshot_jpeg": None,
                             "clip_mp4": mp4()}))
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.status, case.close_reason) == ("closed", "cleared_by_itself")
    assert open_task(session, case) is None
    kinds = history(session, case)
    assert kinds.index("camera_incident_cleared") < kinds.index("closed")
    assert session.scalar(select(Attachment.id).where(Attachment.case_id == case.id, Attachment.kind == "video"))
    labels = [str(entry.label) for entry in CaseViewService(session).timeline(actor(session, "dtv1"), case.code, "en")]
    assert any("cleared by itself" in label for label in labels), labels


def test_confirmed_accident_is_dispatched_to_traffic_police_with_leaders_told_then_closed(session, clock, world):
    sink, services, _files = world
    raised = incident(clock)
    case = sink.publish(raised)
    task = open_task(session, case)
    services.tasks.complete(actor(session, "dtv1"), task.id, {"verdict": "confirmed", "situation": "accident",
                                                             "verify_note": "Hai xe máy va chạm"})
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.responsible_unit.code == "CSGT-DLK" and case.status == "in_progress"
    handle = open_task(session, case)
    assert (handle.element_id, handle.candidate_role, handle.candidate_unit) == ("handle", "officer", "CSGT-DLK")
    assert "leaders_notified" in history(session, case)
    leaders = session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                              .where(Notification.case_id == case.id, Notification.kind == "leader_alert")).all()
    assert "ld.buonmathuot" in leaders
    row = session.scalar(select(CameraIncident))
    assert (row.verdict, row.verdict_by) == ("confirmed", "dtv1")
    camera_line = next(line for line in CameraRegistry(session, clock).list() if line.id == row.camera_id)
    assert camera_line.open_incidents == 1
    # Cleared after the verification: only recorded; the police finish their work, and the camera's list no
    # longer counts it as an open incident though its case is open.
    sink.publish(Incident(**{**raised.__dict__, "state": "cleared", "at": clock.now(), "snapshot_jpeg": None}))
    session.expire_all()
    assert session.get(Case, case.id).status == "in_progress" and open_task(session, case).element_id == "handle"
    camera_line = next(line for line in CameraRegistry(session, clock).list() if line.id == row.camera_id)
    assert camera_line.open_incidents == 0
    assert "camera_incident_cleared" in history(session, case)
    services.tasks.complete(actor(session, "cb.csgt"), handle.id, {"resolution": "Đã phân luồng, kéo xe"})
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.status, case.close_reason) == ("closed", "resolved")


def test_a_false_alarm_closes_the_case_and_is_counted_against_the_camera(session, clock, world):
    sink, services, _files = world
    case = sink.publish(incident(clock))
    clock.advance(minutes=2)
    assert sink.publish(incident(clock, subtype="lane-2")).id == case.id  # a second incident joins the case
    task = open_task(session, case)
    services.tasks.complete(actor(session, "dtv2"), task.id, {"verdict": "false_alarm",
                                                             "verify_note": "Bóng cây di chuyển"})
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.status, case.close_reason) == ("closed", "false_alarm")
    camera = session.scalar(select(Camera).where(Camera.code == "BMT-01"))
    assert camera.false_alarms == 1
    assert CameraRegistry(session, clock).false_alarms() == {"BMT-01": 1}
    assert set(session.scalars(select(CameraIncident.verdict))) == {"false_alarm"}  # both, counted once


def test_a_camera_fault_goes_to_the_unit_that_maintains_the_camera(session, clock, world):
    sink, services, _files = world
    case = sink.publish(incident(clock, kind="camera_fault", subtype="covered", camera="BMT-01"))
    assert case.category_code == "camera_fault" and case.priority == "normal" and "bị che" in case.title
    services.tasks.complete(actor(session, "dtv1"), open_task(session, case).id, {"verdict": "confirmed"})
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.responsible_unit.code == "SXD"
    assert open_task(session, case).candidate_unit == "SXD"
    # The other camera's fault goes to its own maintainer.
    other = sink.publish(incident(clock, kind="camera_fault", subtype="frozen", camera="BMT-02"))
    services.tasks.complete(actor(session, "dtv1"), open_task(session, other).id, {"verdict": "confirmed"})
    session.expire_all()
    assert session.get(Case, other.id).responsible_unit.code == "CSGT-DLK"


def test_camera_status_reports_and_unknown_cameras(session, clock, world):
    sink, _services, _files = world
    sink.camera_status("BMT-02", "offline", "unreachable", clock.now())
    sink.camera_status("NOPE", "online", "", clock.now(), fps=2.0)  # a camera removed meanwhile: ignored
    assert sink.publish(incident(clock, camera="NOPE")) is None
    camera = session.scalar(select(Camera).where(Camera.code == "BMT-02"))
    assert (camera.status, camera.status_detail, camera.status_since) == ("offline", "unreachable", clock.now())


def test_a_camera_fault_makes_the_camera_faulty_until_it_clears(session, clock, world):
    sink, _services, _files = world
    sink.camera_status("BMT-02", "online", "", clock.now(), fps=2.0)
    fault = incident(clock, kind="camera_fault", subtype="covered", camera="BMT-02")
    sink.publish(fault)
    camera = session.scalar(select(Camera).where(Camera.code == "BMT-02"))
    assert (camera.status, camera.status_detail) == ("faulty", "covered")
    clock.advance(minutes=1)
    sink.camera_status("BMT-02", "online", "", clock.now(), fps=1.9)  # frames still come: it stays faulty
    assert (camera.status, camera.status_detail, camera.fps) == ("faulty", "covered", 1.9)
    clock.advance(minutes=1)
    sink.publish(Incident(**{**fault.__dict__, "state": "cleared", "at": clock.now(), "snapshot_jpeg": None}))
    assert (camera.status, camera.status_detail, camera.status_since) == ("online", "", clock.now())


def test_an_incident_that_cannot_open_its_case_waits_and_is_tried_again(session, clock, world):
    from workflows.models import Category

    sink, _services, _files = world
    category = session.get(Category, "traffic_incident")
    category.active = False  # an administrator disabled the category by mistake
    session.commit()
    assert sink.publish(incident(clock)) is None  # kept on its row, not in memory (test_camera_incident_failures)
    assert session.scalar(select(func.count()).select_from(Case)) == 0 and sink.pending == []
    row = session.scalar(select(CameraIncident))
    assert (row.case_id, row.failure, row.attempts) == (None, "category_missing", 1)
    category.active = True  # mended in the console
    session.commit()
    clock.advance(minutes=1)  # past the first back-off
    assert sink.retry_due() == (1, 0)
    case = session.scalar(select(Case))
    assert case is not None and case.category_code == "traffic_incident"
    assert session.scalar(select(Attachment.kind).where(Attachment.case_id == case.id)) == "image"
