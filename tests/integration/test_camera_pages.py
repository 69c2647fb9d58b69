"""The camera registry's pages (/cameras/…): who sees and who changes, a form refused with every problem under its
field and nothing typed lost, the drawing saved as the registry stores it, the live snapshot and its reasons when
the camera cannot give one, the reference view."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import cv2
import numpy
import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from tests.workspace import client_of, csrf_of, make_workspace_app
from webapp.extensions import db
from workflows.cameras.models import Camera
from workflows.cameras.registry import CameraForm, CameraRegistry
from workflows.models import User

CODE = "BMT-LD-02"

FIELDS = {"code": "BMT-NS-01", "name": "Ngã sáu Buôn Ma Thuột", "name_en": "Buon Ma Thuot six-way junction",
          "admin_unit": "P-BUON-MA-THUOT", "maintainer_unit": "IOC-DLK", "read_mode": "snapshot",
          "analysis_fps": "2", "snapshot_interval_s": "2", "lat": "12,6667", "lon": "108.0383", "enabled": "1",
          "s_stopped_enabled": "1", "s_congestion_enabled": "1", "s_faults_enabled": "1"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("camera-pages")
    picture = numpy.full((360, 640, 3), 90, numpy.uint8)
    cv2.rectangle(picture, (100, 150), (220, 230), (0, 0, 200), -1)
    jpeg = folder / "camera.jpg"
    cv2.imwrite(str(jpeg), picture)
    app = make_workspace_app(f"sqlite:///{folder / 'c.sqlite3'}", FrozenClock(datetime(2026, 12, 4, 3, tzinfo=UTC)),
                             FILES_DIR=str(folder / "files"))
    with app.app_context():  # the camera the drawing and snapshot tests use (the first test adds its own by form)
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        CameraRegistry(db.session, FrozenClock(datetime(2026, 12, 4, 3, tzinfo=UTC))).create(admin, CameraForm(
            code=CODE, name="Ngã tư Lê Duẩn", name_en="Le Duan crossroads", admin_unit="P-TAN-AN",
            maintainer_unit="IOC-DLK", stream_url=str(jpeg), read_mode="snapshot"))
    yield app, str(jpeg)
    with app.app_context():
        db.engine.dispose()


def _errors(page: str) -> dict[str, str]:
    """Each field's message: the error between a field's data-field and the next field's."""
    found = {}
    for chunk in page.split('data-field="')[1:]:
        name, _, rest = chunk.partition('"')
        message = re.search(r'<div class="error[^"]*" role="alert">([^<]*)</div>', rest)
        if message:
            found[name] = message.group(1)
    return found


def test_admins_add_a_camera_and_a_refused_form_keeps_every_value_with_each_problem_under_its_field(site):
    app, jpeg = site
    admin = client_of(app, "admin")
    page = admin.get("/cameras/new").get_data(as_text=True)
    assert 'name="s_stopped_after_s" value="30"' in page and "Mặc định: 30" in page  # defaults shown
    assert 'name="s_congestion_occupancy_on" value="55"' in page  # a share in per cent
    assert '<option value="P-BUON-MA-THUOT"' in page and '<option value="IOC-DLK"' in page  # live lists
    token = csrf_of(page)
    refused = admin.post("/cameras/new", data={**FIELDS, "csrf_token": token, "stream_url": "ftp://10.0.0.5/x",
                                               "admin_unit": "SXD", "s_stopped_after_s": "-5",
                                               "s_congestion_occupancy_on": "năm mươi",
                                               "s_congestion_occupancy_off": "70"})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    errors = _errors(text)
    assert set(errors) == {"admin_unit", "stream_url", "s_stopped_after_s", "s_congestion_occupancy_on"}
    assert "ftp://10.0.0.5/x" in text and 'value="năm mươi"' in text and 'value="Ngã sáu Buôn Ma Thuột"' in text
    with app.app_context():
        assert db.session.query(Camera).filter_by(code="BMT-NS-01").count() == 0
    # the pair of occupancies is checked together once each is a number
    refused = admin.post("/cameras/new", data={**FIELDS, "csrf_token": token, "stream_url": jpeg,
                                               "s_congestion_occupancy_off": "70"})
    assert set(_errors(refused.get_data(as_text=True))) == {"s_congestion_occupancy_off"}
    saved = admin.post("/cameras/new", data={**FIELDS, "csrf_token": token, "stream_url": jpeg,
                                             "s_stopped_after_s": "20", "s_min_confidence": "60"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/cameras/BMT-NS-01/regions")
    with app.app_context():
        camera = db.session.query(Camera).filter_by(code="BMT-NS-01").one()
        assert (camera.lat, camera.lon, camera.read_mode) == (12.6667, 108.0383, "snapshot")
        assert camera.settings == {"stopped_after_s": 20.0, "min_confidence": 0.6}  # only what differs
    listing = admin.get("/cameras/").get_data(as_text=True)
    row = re.search(r'<tr data-camera="BMT-NS-01".*?</tr>', listing, re.S).group(0)
    assert "Ngã sáu Buôn Ma Thuột" in row and "chưa báo cáo" in row and "Ảnh chụp JPEG" in row


def test_operators_read_officials_outside_see_nothing(site):
    app, _ = site
    operator = client_of(app, "dtv1")
    assert 'href="/cameras/"' in operator.get("/tasks/").get_data(as_text=True)  # the header's link
    listing = operator.get("/cameras/").get_data(as_text=True)
    assert "/cameras/new" not in listing
    assert operator.get("/cameras/new").status_code == 403
    assert f'data-camera="{CODE}"' in listing
    page = operator.get(f"/cameras/{CODE}").get_data(as_text=True)
    assert '<fieldset class="wide" disabled>' in page and 'id="camera-save"' not in page
    assert operator.post(f"/cameras/{CODE}", data={"csrf_token": csrf_of(page)}).status_code == 403
    assert operator.post(f"/cameras/{CODE}/regions", data={"csrf_token": csrf_of(page)}).status_code == 403
    drawing = operator.get(f"/cameras/{CODE}/regions").get_data(as_text=True)
    assert "read-only" in drawing and 'id="region-save"' not in drawing
    officer = client_of(app, "cb.buonmathuot")
    assert officer.get("/cameras/").status_code == 403
    assert 'href="/cameras/"' not in officer.get("/tasks/").get_data(as_text=True)


def test_the_drawing_is_saved_as_the_registry_stores_it_and_a_refused_one_comes_back_as_drawn(site):
    app, _ = site
    admin = client_of(app, "admin")
    page = admin.get(f"/cameras/{CODE}/regions").get_data(as_text=True)
    words = json.loads(re.search(r'<script type="application/json" id="region-text">(.*?)</script>', page, re.S).group(1))
    assert "{name}" in words["problems"]["no_direction"] and "camera-regions.js" in page
    token = csrf_of(page)
    lanes = [{"name": "Hướng <Hà Nội>", "polygon": [[0.1, 0.3], [0.5, 0.3], [0.5, 0.95]], "direction": [0, 0]}]
    refused = admin.post(f"/cameras/{CODE}/regions", data={"csrf_token": token, "roi": "[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]",
                                                             "lanes": json.dumps(lanes)})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Hướng &lt;Hà Nội&gt;" in text and "&#34;direction&#34;: [0, 0]" in text  # kept as drawn, escaped
    lanes[0]["direction"] = [0, 3]
    saved = admin.post(f"/cameras/{CODE}/regions", data={"csrf_token": token, "roi": "[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]",
                                                           "lanes": json.dumps(lanes)})
    assert saved.status_code == 303
    with app.app_context():
        camera = db.session.query(Camera).filter_by(code=CODE).one()
        assert camera.roi == [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]
        assert camera.lanes == [{"name": "Hướng <Hà Nội>", "polygon": [[0.1, 0.3], [0.5, 0.3], [0.5, 0.95]],
                                 "direction": [0.0, 1.0]}]
        assert camera.name == "Ngã tư Lê Duẩn" and camera.read_mode == "snapshot"  # the form's part is untouched
    # an empty region of interest is the whole picture
    admin.post(f"/cameras/{CODE}/regions", data={"csrf_token": token, "roi": "", "lanes": json.dumps(lanes)})
    with app.app_context():
        assert db.session.query(Camera).filter_by(code=CODE).one().roi is None


def test_the_snapshot_the_reference_and_the_reasons_a_camera_gives_no_picture(site, tmp_path):
    app, jpeg = site
    admin = client_of(app, "admin")
    shot = admin.get(f"/cameras/{CODE}/snapshot.jpg")
    assert shot.status_code == 200 and shot.mimetype == "image/jpeg" and shot.get_data()[:2] == b"\xff\xd8"
    assert shot.headers["Cache-Control"] == "no-store"
    assert admin.get(f"/cameras/{CODE}/reference.jpg").status_code == 404
    token = csrf_of(admin.get(f"/cameras/{CODE}/regions").get_data(as_text=True))
    assert admin.post(f"/cameras/{CODE}/reference", data={"csrf_token": token}).status_code == 303
    reference = admin.get(f"/cameras/{CODE}/reference.jpg")
    assert reference.status_code == 200 and reference.get_data()[:2] == b"\xff\xd8"
    assert f'data-reference="/cameras/{CODE}/reference.jpg"' in admin.get(f"/cameras/{CODE}/regions").get_data(as_text=True)
    with app.app_context():
        camera = db.session.query(Camera).filter_by(code=CODE).one()
        camera.stream_url = str(tmp_path / "gone.jpg")
        db.session.commit()
    missing = admin.get(f"/cameras/{CODE}/snapshot.jpg")
    assert missing.status_code in (502, 504) and missing.is_json
    assert "không" in missing.get_json()["message"]  # said in the reader's language, with what to check
    refused = admin.post(f"/cameras/{CODE}/reference", data={"csrf_token": token}, follow_redirects=True)
    assert "không thay đổi" in refused.get_data(as_text=True)
    assert admin.get("/cameras/NOPE/snapshot.jpg").status_code == 404


def _clip() -> bytes:
    """A short H.264 clip, as vision/evidence.py cuts one (yuv420p, MP4)."""
    import io

    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(6):
            frame = numpy.full((180, 320, 3), 40 + 20 * i, numpy.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_a_camera_case_shows_its_snapshot_region_clip_and_numbers_in_words_and_its_verification(site, tmp_path):
    from datetime import timedelta
    from pathlib import Path

    from tests.conftest import BPMN_DIR
    from vision.events import Incident, incident_key
    from webapp.runtime import runtime
    from workflows.cameras.incidents import CameraIncidents

    app, jpeg = site
    with app.app_context():
        rt = runtime()
        bundle = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("camera_incident*"))}
        rt.services(db.session).definitions.deploy(bundle, deployed_by="test")
        db.session.commit()
        camera = db.session.query(Camera).filter_by(code=CODE).one()
        camera.lat, camera.lon = 12.6667, 108.0383
        db.session.commit()
        now = rt.clock.now()
        started = now - timedelta(seconds=40)
        sink = CameraIncidents(db.session, rt.clock, files=rt.files)
        case = sink.publish(Incident(
            camera=CODE, key=incident_key(CODE, "stopped_vehicle", "Hướng <Hà Nội>", started), kind="stopped_vehicle",
            subtype="Hướng <Hà Nội>", state="raised", confidence=0.87, started_at=started, at=now,
            evidence={"still_seconds": 41.5, "area_share": 0.124, "edge_gain": 2.31, "lane_density": -1.0,
                      "lane": "Hướng <Hà Nội>", "size_in_lane": 0.79, "model": "missing_runtime"},
            region=((0.3, 0.4), (0.5, 0.4), (0.5, 0.6), (0.3, 0.6)),
            snapshot_jpeg=Path(jpeg).read_bytes(), clip_mp4=_clip()))
        code = case.code
    operator = client_of(app, "dtv1")
    page = operator.get(f"/cases/{code}").get_data(as_text=True)
    panel = re.search(r'<section class="panel camera-evidence".*?</section>', page, re.S).group(0)
    assert "Xe dừng đỗ (Hướng &lt;Hà Nội&gt;)" in panel  # the lane's name stays text
    assert "Đứng yên 41,5 s" in panel and "Xe chiếm 12,4% diện tích làn" in panel and "gấp 2,31 lần" in panel
    assert "lane_density" not in panel  # a number the detector did not know is left out
    # every number the detectors give is said in words, never as its key
    assert "Diện tích của nó: 0,79 lần một hình vuông rộng bằng làn" in panel and "size_in_lane" not in panel
    assert "Không dùng được mô hình nhận dạng: máy phân tích hình chưa cài onnxruntime" in panel
    assert "độ tin cậy 87 %" in panel
    assert '<polygon points="30.00,40.00 50.00,40.00 50.00,60.00 30.00,60.00"/>' in panel
    clip = re.search(r'<source src="(/cases/[^"]+)" type="video/mp4">', panel).group(1)
    # the verification's form is the BPMN's own, completed through the task list
    form = re.search(r'<form class="verify-form" method="post" action="(/tasks/[^"]+/complete)"', panel)
    assert form and 'name="verdict"' in panel and 'name="verify_note"' in panel
    # the clip: its type, and a range for the player's seeking
    whole = operator.get(clip)
    whole.close()
    assert whole.mimetype == "video/mp4" and whole.headers.get("Accept-Ranges") == "bytes"
    part = operator.get(clip, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.get_data()) == 100
    part.close()
    # the dashboard's map: the case with its snapshot
    points = operator.get("/dashboard/data.json?map=1").get_json()["map"]["points"]
    point = next(p for p in points if p["code"] == code)
    assert point["snapshot"].startswith(f"/cases/{code}/attachments/")
    thumbnail = operator.get(point["snapshot"])
    thumbnail.close()
    assert thumbnail.mimetype == "image/jpeg"
    others = [p for p in points if p["code"] != code]
    assert all(p["snapshot"] is None for p in others)
    # a false alarm recorded from the case page's form
    token = csrf_of(page)
    done = operator.post(form.group(1), data={"csrf_token": token, "verdict": "false_alarm",
                                              "verify_note": "Bóng cây, không có xe"})
    assert done.status_code == 303
    page = operator.get(f"/cases/{code}").get_data(as_text=True)
    assert 'class="verify-form"' not in page and "báo nhầm" in page


def test_the_list_shows_the_vision_workers_live_frame_rate_and_says_when_redis_does_not_answer(site, monkeypatch):
    import redis as redis_lib

    from tests.conftest import REDIS_URL
    from vision.leases import CAMERA_PREFIX

    app, _ = site
    client = redis_lib.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis_lib.ConnectionError:
        pytest.skip("Redis is not running (bash .ci/services)")
    key = CAMERA_PREFIX + CODE  # as a vision worker writes it (vision/runner.py)
    client.hset(key, mapping={"worker": "vision-a", "status": "online", "detail": "", "fps": 1.94, "frames": 120,
                              "attempts": 0, "last_frame_at": ""})
    client.pexpire(key, 20_000)
    admin = client_of(app, "admin")
    try:
        monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
        listing = admin.get("/cameras/").get_data(as_text=True)
        row = re.search(rf'<tr data-camera="{CODE}".*?</tr>', listing, re.S).group(0)
        assert "1,9" in row and "vision-a" in row  # written as Vietnamese write numbers
        monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nobody listens there
        listing = admin.get("/cameras/")
        assert listing.status_code == 200 and "Redis không trả lời" in listing.get_data(as_text=True)
    finally:
        client.delete(key)


def test_a_camera_s_status_history_shows_each_spell_and_the_share_of_time_online(site):
    """The runner's reports of a week, through the registry (a report that changes nothing adds no spell)."""
    app, jpeg = site
    clock = FrozenClock(datetime(2026, 12, 4, 3, tzinfo=UTC))  # the site's
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        registry = CameraRegistry(db.session, clock)
        registry.create(admin, CameraForm(code="HIS-01", name="Vòng xoay Lý Thái Tổ", name_en="Ly Thai To roundabout",
                                          admin_unit="P-TAN-AN", maintainer_unit="IOC-DLK", stream_url=jpeg,
                                          read_mode="snapshot"))
        for at, status, detail in ((datetime(2026, 12, 1, tzinfo=UTC), "online", ""),
                                   (datetime(2026, 12, 1, 6, tzinfo=UTC), "online", ""),
                                   (datetime(2026, 12, 2, 10, tzinfo=UTC), "offline", "unreachable"),
                                   (datetime(2026, 12, 2, 12, 30, tzinfo=UTC), "online", ""),
                                   (datetime(2026, 12, 3, tzinfo=UTC), "faulty", "covered")):
            registry.set_status("HIS-01", status, detail, at)
            db.session.commit()
    operator = client_of(app, "dtv1")
    page = operator.get("/cameras/HIS-01/history?lang=en").get_data(as_text=True)
    rows = re.findall(r'<tr class="status-(\w+)">(.*?)</tr>', page, re.S)
    assert [status for status, _ in rows] == ["faulty", "online", "offline", "online"]  # newest first
    assert "the lens is covered" in rows[0][1] and "<em>now</em>" in rows[0][1] and "1 d 3 h" in rows[0][1]
    assert "the stream cannot be reached" in rows[2][1] and "2 h 30 min" in rows[2][1]
    # Online 34 h + 11.5 h of the 75 h reported since 1 December (the week before that has no report).
    assert "60.7%" in page and "of the time reported since" in page
    assert 'href="/cameras/HIS-01/history" class="active"' in page
    assert client_of(app, "cb.buonmathuot").get("/cameras/HIS-01/history").status_code == 403
    assert operator.get("/cameras/NOPE/history").status_code == 404
