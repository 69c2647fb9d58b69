"""The officials' case page through the real pages: history from both tables, diagram marks, comments,
files, scope and CSRF."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from tests.media_samples import SVG, jpeg_with_gps, png
from tests.working_time import advance_working
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, open_task
from webapp.extensions import db
from workflows.models import Attachment, CaseComment, CaseEvent

PNG = png((40, 30))


@pytest.fixture
def app(db_url, clock, tmp_path):
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"), MAX_ATTACHMENT_MB=1,
                             MAP_TILES_URL="")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def code(app, clock):
    """A street-lighting report in ward Buôn Ma Thuột, accepted at triage an hour later (→ the ward's officer)."""
    code = new_case(app, triage=None)
    clock.advance(hours=1)
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.cases.complete_task(open_task(app, code).id, {"decision": "accept", "note": "Đã xác minh"},
                                     actor="dtv1")
    clock.advance(minutes=5)
    return code



def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session.scalar(query)


def test_the_responsible_officer_sees_summary_history_tasks_and_reporter(app, code):
    officer = client_of(app, "cb.buonmathuot")
    response = officer.get(f"/cases/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Đèn đường hỏng" in page and "Phường Buôn Ma Thuột" in page
    # History from the case's own events (assignment) and from the engine's audit (triage completed, by whom, with its form).
    assert "Giao cho Phường Buôn Ma Thuột" in page
    assert "Hoàn thành nhiệm vụ: Phân loại phản ánh" in page and "Cao Thu Lan" in page and "Đã xác minh" in page
    assert "Nhiệm vụ mới: Xử lý phản ánh" in page
    history = page[page.index('id="history"'):page.index('id="comments"')]
    # Newest first; within the triage step: its completion, then the assignment, then the new task.
    lines = [history.index(text) for text in ("Nhiệm vụ mới: Xử lý phản ánh", "Giao cho Phường Buôn Ma Thuột",
                                              "Hoàn thành nhiệm vụ: Phân loại phản ánh",
                                              "Nhiệm vụ mới: Phân loại phản ánh", "Bắt đầu quy trình")]
    assert lines == sorted(lines)
    # The open task links to its page; the reporter is shown to the responsible unit.
    task = open_task(app, code)
    assert f'href="/tasks/{task.id}"' in page
    assert "Nguyễn Văn A" in page and "0912345678" in page
    # English on request.
    english = officer.get(f"/cases/{code}?lang=en").get_data(as_text=True)
    assert "Assigned to" in english and "Task completed: Triage the report" in english


def test_the_reporter_is_shown_to_the_responsible_unit_and_the_ioc_only(app):
    # Street lighting in a rural commune goes to the provincial Department of Construction (SXD).
    code = new_case(app, unit="X-HOA-PHU", title="Đèn đường xã tắt")
    for username in ("cb.sxd", "tp.sxd", "dtv1", "tp.ioc"):
        page = client_of(app, username).get(f"/cases/{code}").get_data(as_text=True)
        assert "0912345678" in page and "Nguyễn Văn A" in page, username
    # The commune where it happened and the province's leaders see the case, not the citizen's details.
    for username in ("cb.hoaphu", "ld.hoaphu", "ct.ubnd"):
        response = client_of(app, username).get(f"/cases/{code}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and code in page, username
        assert "0912345678" not in page and "Nguyễn Văn A" not in page, username
        assert "chỉ hiển thị cho đơn vị xử lý và IOC" in page


def test_the_diagram_marks_handle_active_triage_done_and_its_timers_waiting(app, code):
    officer = client_of(app, "cb.buonmathuot")
    response = officer.get(f"/cases/{code}/diagram.json")
    assert response.status_code == 200
    data = response.get_json()
    assert data["process"] == "field_report" and "<bpmn:definitions" in data["xml"]
    assert data["active"] == ["handle"]
    assert {"start", "triage", "triage_decision", "route", "sla", "assign_task"} <= set(data["done"])
    assert {"overdue_timer", "remind_timer"} == set(data["waiting"])
    assert "handle" not in data["done"] and "close_rejected" not in data["done"]
    assert "flow_triage_accept" in data["flows"] and "flow_triage_reject" not in data["flows"]


def test_after_the_deadline_the_escalation_shows_on_the_diagram_history_and_chain(app, code, clock):
    with app.app_context():
        sweep = app.extensions["ioc"].sweep()
    advance_working(clock, 72, seconds=1)  # past the 72 working hours of a normal report
    sweep.run_once()
    officer = client_of(app, "tp.buonmathuot")
    data = officer.get(f"/cases/{code}/diagram.json").get_json()
    assert data["active"] == ["handle_l1"]
    assert {"handle", "overdue_timer", "escalate_1"} <= set(data["done"])
    assert data["waiting"] == ["overdue_l1_timer"]
    page = officer.get(f"/cases/{code}").get_data(as_text=True)
    assert "Chuyển cấp lần 1: Phường Buôn Ma Thuột" in page
    chain = page[page.index('id="deadlines"'):page.index('id="reporter"')]
    assert "Thủ trưởng đơn vị" in chain and "Sở Xây dựng" in chain  # now the unit head, next the department


def test_a_comment_is_stored_once_and_shown(app, code):
    officer = client_of(app, "cb.buonmathuot")
    token = csrf_of(officer.get(f"/cases/{code}").get_data(as_text=True))
    response = officer.post(f"/cases/{code}/comments", data={"csrf_token": token, "body": "  Đã liên hệ điện lực  "})
    assert response.status_code == 303
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã liên hệ điện lực" in page and "Đã thêm bình luận" in page
    assert count(app, CaseComment) == 1 and count(app, CaseEvent, kind="comment_added") == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_an_empty_or_too_long_comment_says_why_and_stores_nothing(app, code, body):
    officer = client_of(app, "cb.buonmathuot")
    token = csrf_of(officer.get(f"/cases/{code}").get_data(as_text=True))
    response = officer.post(f"/cases/{code}/comments", data={"csrf_token": token, "body": body})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ("hãy viết bình luận trước khi gửi" in page) if not body.strip() else ("tối đa 5000 ký tự" in page)
    assert count(app, CaseComment) == 0 and count(app, CaseEvent, kind="comment_added") == 0


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_comment_without_a_valid_csrf_token_is_refused(app, code, token):
    officer = client_of(app, "cb.buonmathuot")
    data = {"body": "Không có mã bảo mật"}
    if token:
        data["csrf_token"] = token
    response = officer.post(f"/cases/{code}/comments", data=data)
    assert response.status_code == 400 and "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    assert count(app, CaseComment) == 0


def upload(client, code, data: bytes, name="den-hong.png", content_type="image/png"):
    """POST a file through the page's form; returns (status, page text)."""
    token = csrf_of(client.get(f"/cases/{code}").get_data(as_text=True))
    # Built by hand so the body, which Werkzeug spools to a temporary file when large, is closed.
    environ = EnvironBuilder(path=f"/cases/{code}/attachments", method="POST", content_type="multipart/form-data",
                             data={"csrf_token": token, "file": (io.BytesIO(data), name, content_type)}).get_environ()
    try:
        response = client.open(environ)
        return response.status_code, response.get_data(as_text=True)
    finally:
        environ["wsgi.input"].close()


def test_a_photo_is_stored_once_shown_in_the_page_and_served_inline(app, code):
    officer = client_of(app, "cb.buonmathuot")
    assert upload(officer, code, PNG)[0] == 303
    assert upload(officer, code, PNG, name="lan-nua.png")[0] == 303  # the same content again
    assert count(app, Attachment) == 1 and count(app, CaseEvent, kind="attachment_added") == 1
    page = officer.get(f"/cases/{code}").get_data(as_text=True)
    # The gallery shows the thumbnail and links to the photo itself.
    match = re.search(rf'<a class="shot" href="(/cases/{code}/attachments/(\d+))"', page)
    assert match and "den-hong.png" in page
    assert f'<img src="{match.group(1)}/thumbnail"' in page
    with officer.get(match.group(1)) as photo:
        assert photo.status_code == 200 and photo.data == PNG
        assert photo.headers["Content-Type"] == "image/png"
        assert photo.headers["X-Content-Type-Options"] == "nosniff"
        assert photo.headers["Content-Disposition"].startswith("inline")


def test_an_after_photo_is_shown_as_a_thumbnail_marked_after_and_kept_to_the_case_s_officials(app, code, tmp_path):
    officer = client_of(app, "cb.buonmathuot")
    token = csrf_of(officer.get(f"/cases/{code}").get_data(as_text=True))
    photo = jpeg_with_gps((1200, 900))
    response = officer.post(f"/cases/{code}/attachments", content_type="multipart/form-data", data={
        "csrf_token": token, "stage": "resolution", "file": (io.BytesIO(photo), "sau-khi-sua.jpg", "image/jpeg")})
    assert response.status_code == 303
    with app.app_context():
        row = db.session.scalar(select(Attachment))
        assert (row.stage, row.kind, row.public) == ("resolution", "image", True)
    page = officer.get(f"/cases/{code}").get_data(as_text=True)
    gallery = page[page.index('id="media"'):page.index('id="process"')]
    assert f'src="/cases/{code}/attachments/{row.id}/thumbnail"' in gallery and "Sau" in gallery
    assert "Ảnh sau khi xử lý xong (công bố cùng kết quả)" in page
    with officer.get(f"/cases/{code}/attachments/{row.id}/thumbnail") as thumb:
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg" and thumb.data != photo
        assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
        assert thumb.headers["Cache-Control"].startswith("private")
    assert client_of(app, "cb.sxd").get(f"/cases/{code}/attachments/{row.id}/thumbnail").status_code == 403
    # A stage that does not exist is refused with the reason; nothing is stored.
    token = csrf_of(officer.get(f"/cases/{code}").get_data(as_text=True))
    response = officer.post(f"/cases/{code}/attachments", content_type="multipart/form-data", data={
        "csrf_token": token, "stage": "later", "file": (io.BytesIO(png()), "x.png", "image/png")})
    assert response.status_code == 400 and count(app, Attachment) == 1


def test_a_file_that_could_run_script_is_refused_and_a_document_downloaded_not_shown(app, code, tmp_path):
    officer = client_of(app, "cb.buonmathuot")
    status, page = upload(officer, code, SVG, name="x.png", content_type="image/png")
    assert status == 400 and "x.png là một hình vẽ SVG" in page
    assert count(app, Attachment) == 0 and not (tmp_path / "files").exists()
    assert upload(officer, code, b"%PDF-1.4 bien ban", name="x.pdf", content_type="application/pdf")[0] == 303
    page = officer.get(f"/cases/{code}").get_data(as_text=True)
    url = re.search(rf'href="(/cases/{code}/attachments/\d+)">x.pdf', page).group(1)
    with officer.get(url) as response:
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_oversized_upload_is_refused_clearly_and_nothing_is_stored(app, code, tmp_path):
    officer = client_of(app, "cb.buonmathuot")
    status, page = upload(officer, code, b"0" * (1024 * 1024 + 1), name="video.mp4", content_type="video/mp4")
    assert status == 413 and "lớn hơn 1 MB" in page
    assert count(app, Attachment) == 0 and count(app, CaseEvent, kind="attachment_added") == 0
    files = tmp_path / "files"
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


def test_an_upload_without_a_file_says_so(app, code):
    officer = client_of(app, "cb.buonmathuot")
    token = csrf_of(officer.get(f"/cases/{code}").get_data(as_text=True))
    response = officer.post(f"/cases/{code}/attachments", data={"csrf_token": token})
    assert response.status_code == 400 and "Hãy chọn một tệp" in response.get_data(as_text=True)
    assert count(app, Attachment) == 0


def test_an_officer_of_another_department_reaches_nothing_of_the_case(app, code):
    officer = client_of(app, "cb.buonmathuot")
    assert upload(officer, code, PNG)[0] == 303
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    stranger = client_of(app, "cb.sxd")
    token = csrf_of(stranger.get("/cases/").get_data(as_text=True))
    assert stranger.get(f"/cases/{code}").status_code == 403
    assert stranger.get(f"/cases/{code}/diagram.json").status_code == 403
    assert stranger.get(f"/cases/{code}/attachments/{attachment_id}").status_code == 403
    response = stranger.post(f"/cases/{code}/comments", data={"csrf_token": token, "body": "Xin chào"})
    assert response.status_code == 403
    response = stranger.post(f"/cases/{code}/attachments", content_type="multipart/form-data",
                             data={"csrf_token": token, "file": (io.BytesIO(b"other"), "a.png", "image/png")})
    assert response.status_code == 403
    assert count(app, CaseComment) == 0 and count(app, Attachment) == 1
    assert code not in stranger.get("/cases/").get_data(as_text=True)
    # Unknown cases and files of another case answer 404, never 500.
    assert officer.get("/cases/PA-2026-999999").status_code == 404
    other = new_case(app, title="Đèn khác")
    assert officer.get(f"/cases/{other}/attachments/{attachment_id}").status_code == 404


def test_citizens_designers_and_visitors_cannot_open_case_pages(app, code):
    assert app.test_client().get(f"/cases/{code}").status_code == 302  # to the sign-in page
    for username in ("dan.tranthimai", "thietke"):
        client = client_of(app, username)
        assert client.get(f"/cases/{code}").status_code == 403
        assert client.get("/cases/").status_code == 403


def test_the_case_list_is_scoped_filtered_and_shows_related_cases_nearby(app, code):
    near = new_case(app, title="Đèn đường gần đó", lat=12.681, lon=108.041)  # about 150 m away
    far = new_case(app, title="Đèn đường xa", lat=12.70, lon=108.04)  # about 2 km away
    other_kind = new_case(app, category="sanitation", title="Rác thải", lat=12.6801, lon=108.0401)
    officer = client_of(app, "cb.buonmathuot")
    listing = officer.get("/cases/").get_data(as_text=True)
    assert all(c in listing for c in (code, near, far, other_kind))
    filtered = officer.get("/cases/?category=sanitation").get_data(as_text=True)
    assert other_kind in filtered and near not in filtered
    assert officer.get("/cases/?status=nonsense").status_code == 400
    page = officer.get(f"/cases/{code}").get_data(as_text=True)
    related = page[page.index('id="related"'):]
    assert near in related and far not in related and other_kind not in related
    assert "Đèn đường gần đó" in page[page.index('id="related-data"'):]
