"""The citizens' portal through its real pages: the report form (questions, map point or commune, files,
contact), what is refused and why, abuse protection, duplicates, the tracking page, emails to followers,
accounts, and one report followed to publication, rating and reopening."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask, OutboxMessage, ProcessInstance
from tests.media_samples import ELF, WINDOWS_EXE, jpeg_with_gps, png
from tests.working_time import advance_working
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, open_task
from webapp.extensions import db
from workflows.access import AccessService
from workflows.case_service import key_digest
from workflows.case_view import CaseViewService
from workflows.models import Attachment, Case, CaseFollower, CaseRating, Reporter, User

BMT = "P-BUON-MA-THUOT"


@pytest.fixture
def app(db_url, clock, tmp_path):
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"), MAP_TILES_URL="",
                             PUBLIC_URL="https://phananh.example.vn")
    yield app
    with app.app_context():
        db.engine.dispose()


def form_of(client) -> tuple[dict[str, str], str]:
    """The hidden fields of the report form (CSRF, the form's token) and the page."""
    page = client.get("/report").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    return {"csrf_token": csrf_of(page), "form_token": token}, page


def report(**fields) -> dict[str, str]:
    """A street-lighting report in ward Buôn Ma Thuột, overridden by `fields`."""
    data = {"category": "street_lighting", "title": "Đèn đường không sáng", "description": "Ba bóng tắt từ tối qua",
            "admin_unit": BMT, "address": "12 Lê Duẩn", "lat": "", "lon": "", "consent": "1",
            "reporter_name": "Phạm Thị Hoa", "reporter_phone": "0987 654 321", "reporter_email": "hoa@example.vn",
            "q_street_lighting__pole_number": "C-12", "q_street_lighting__lights_out": "3",
            "q_street_lighting__extent": "several"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def submit(client, clock, files=(), hidden=None, **fields):
    """Fill the form like a person (it takes a while) and send it; returns the response."""
    if hidden is None:
        hidden, _page = form_of(client)
    clock.advance(seconds=20)
    data = {**hidden, **report(**fields)}
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/report", data=data, content_type="multipart/form-data")


def cases(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


def emails(app, to: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email")
                                       .order_by(OutboxMessage.id)))
        db.session.expunge_all()
    return [r for r in rows if to is None or r.payload["to"] == to]


def private_link(page: str) -> str:
    return re.search(r'id="private-link">([^<]+)<', page).group(1).replace("&amp;", "&")


def code_of(page: str) -> str:
    return re.search(r'id="tracking-code">([^<]+)<', page).group(1)


def complete(app, code: str, data: dict, actor: str, clock=None) -> None:
    if clock is not None:
        clock.advance(hours=1)  # people take their time; each step has its own moment
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        services.cases.complete_task(task.id, data, actor=actor)


# ---------------------------------------------------------------------------- the form


def test_the_form_offers_categories_with_their_questions_places_and_a_hidden_honeypot(app):
    response = app.test_client().get("/report")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="street_lighting"' in page and "Điện chiếu sáng" in page
    # The questions are in the page for every category (the form works without JavaScript).
    assert 'name="q_street_lighting__pole_number"' in page and 'name="q_trees_parks__fallen"' in page
    assert 'value="P-BUON-MA-THUOT"' in page and "Phường Buôn Ma Thuột" in page
    assert 'name="website"' in page and 'class="hp" aria-hidden="true"' in page and 'tabindex="-1"' in page
    assert 'name="csrf_token"' in page and 'enctype="multipart/form-data"' in page
    assert "không bao giờ được công khai" in page  # why contact details are asked, and that they stay private
    english = app.test_client().get("/report?lang=en").get_data(as_text=True)
    assert "Send the report" in english and "Street lighting" in english


def test_a_report_opens_a_case_with_its_answers_and_gives_a_private_link_by_page_and_email(app, clock):
    client = app.test_client()
    response = submit(client, clock)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    code, link = code_of(page), private_link(page)
    assert code.startswith("PA-") and link.startswith(f"http://localhost/track/{code}?key=")
    assert "Hãy giữ đường dẫn này" in page
    key = link.split("key=")[1]
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.source, case.channel, case.category_code, case.admin_unit.code) == ("portal", "field_report",
                                                                                        "street_lighting", BMT)
        assert case.answers == {"pole_number": "C-12", "lights_out": 3, "extent": "several"}
        assert (case.reporter.name, case.reporter.phone_key, case.reporter.email) == ("Phạm Thị Hoa", "0987654321",
                                                                                     "hoa@example.vn")
        follower = db.session.scalar(select(CaseFollower).where(CaseFollower.case_id == case.id))
        assert follower.is_reporter and follower.key_sha256 == key_digest(key)
    [receipt] = emails(app, "hoa@example.vn")
    assert code in receipt.payload["subject"]
    assert "{link}" in receipt.payload["body"]  # the mailer puts the site's address and the private link in
    # Sent at once (eager Celery): the private link it carried is not kept; the SMTP test below reads it in the mail.
    assert receipt.delivered_at is not None and receipt.payload["forgotten"] == ["link"] and key not in str(receipt.payload)


def test_an_anonymous_report_still_gets_a_private_link_to_rate_with(app, clock):
    page = submit(app.test_client(), clock, reporter_name="", reporter_phone="", reporter_email="").get_data(
        as_text=True)
    key = private_link(page).split("key=")[1]
    with app.app_context():
        follower = db.session.scalar(select(CaseFollower).join(Case).where(Case.code == code_of(page)))
        assert follower.key_sha256 == key_digest(key) and follower.email == "" and follower.is_reporter
    assert emails(app) == []


def test_a_point_on_the_map_names_its_ward_when_none_is_chosen(app, clock):
    client = app.test_client()
    page = submit(client, clock, admin_unit="", lat="12.6705", lon="108.0412").get_data(as_text=True)
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code_of(page)))
        assert case.admin_unit.code == BMT and (case.lat, case.lon) == (12.6705, 108.0412)
    data = client.get("/report/nearby.json?lat=12.6705&lon=108.0412&category=street_lighting").get_json()
    assert data["place"] == {"code": BMT, "name": "Phường Buôn Ma Thuột"}


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"category": ""}, "category-error", "chọn một lĩnh vực trong danh sách"),
    ({"category": "nuclear_waste"}, "category-error", "chọn một lĩnh vực trong danh sách"),
    ({"title": ""}, "title-error", "bắt buộc"),
    ({"admin_unit": ""}, "admin_unit-error", "chọn xã/phường nơi xảy ra"),
    ({"reporter_email": "hoa@"}, "reporter_email-error", "ten@example.vn"),
    ({"reporter_phone": "call me"}, "reporter_phone-error", "0912 345 678"),
    ({"reporter_name": "Trần Thị Hoa " * 20}, "reporter_name-error", "tối đa 255 ký tự"),
    ({"q_street_lighting__lights_out": "many"}, None, "nhập một con số"),
    ({"consent": None}, "consent-error", "Đánh dấu ô này"),
    ({"lat": "12.67", "lon": "east"}, "location-error", "chọn lại vị trí trên bản đồ"),
])
def test_each_wrong_field_says_what_to_fix_keeps_what_was_typed_and_stores_nothing(app, clock, fields, field_id,
                                                                                 message):
    response = submit(app.test_client(), clock, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page, page
    if field_id:
        assert f'id="{field_id}"' in page
    assert "Ba bóng tắt từ tối qua" in page and 'value="12 Lê Duẩn"' in page and 'value="C-12"' in page
    assert "chọn lại" in page  # files cannot be kept by a browser: say so
    assert cases(app) == 0 and emails(app) == []


def test_control_characters_never_reach_the_database(app, clock):
    client = app.test_client()
    page = submit(client, clock, title="Đèn\x00 hỏng", description="a\x00b\nc", address="1\x00 Lê Duẩn",
                  files=[("de\x00n.png", png())]).get_data(as_text=True)
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code_of(page)))
        assert (case.title, case.description, case.address) == ("Đèn hỏng", "ab\nc", "1 Lê Duẩn")
    assert client.get("/report/nearby.json?category=street\x00&place=P-BUON\x00").status_code == 200
    assert client.get("/track?code=PA\x00-2026").status_code == 404
    token = csrf_of(page)
    followed = client.post(f"/track/{code_of(page)}/follow", data={"csrf_token": token, "email": "a\x00@b.vn"})
    assert followed.status_code == 200
    registered = client.post("/account/register", data={"csrf_token": token, "username": "x\x00y", "full_name": "N\x00",
                                                         "email": "e\x00@x.vn", "password": "p" * 12,
                                                         "password_again": "p" * 12})
    assert registered.status_code in (302, 422)


def test_every_field_to_fix_is_named_in_one_answer(app, clock):
    page = submit(app.test_client(), clock, consent=None, title="", reporter_email="x").get_data(as_text=True)
    assert 'id="consent-error"' in page and 'id="title-error"' in page and 'id="reporter_email-error"' in page
    assert cases(app) == 0


def test_a_required_question_of_the_category_is_asked_for(app, clock):
    page = submit(app.test_client(), clock, category="trees_parks").get_data(as_text=True)
    assert "bắt buộc" in page and cases(app) == 0


@pytest.mark.parametrize(("name", "content", "message"), [
    ("anh.jpg", WINDOWS_EXE, "chương trình Windows"),
    ("anh.png", ELF, "chương trình Linux"),
    ("hong.jpg", b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x13" * 400, "hong.jpg"),
])
def test_a_bad_file_is_refused_with_a_message_and_nothing_is_stored(app, clock, name, content, message):
    page = submit(app.test_client(), clock, files=[(name, content)]).get_data(as_text=True)
    assert message in page.lower() or message in page, page
    assert 'value="Đèn đường không sáng"' in page and "chọn lại" in page
    assert cases(app) == 0 and emails(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0  # no process started


def test_a_too_large_photo_is_refused_with_a_message(app, clock, tmp_path, db_url):
    small = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "f2"), MEDIA_MAX_PHOTO_MB=0.01)
    page = submit(small.test_client(), clock, files=[("to.jpg", jpeg_with_gps((900, 700)))]).get_data(as_text=True)
    assert "tối đa" in page and cases(small) == 0
    with small.app_context():
        db.engine.dispose()


def test_a_request_larger_than_the_server_reads_comes_back_to_the_form_saying_why(db_url, clock, tmp_path):
    small = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "f3"), MAX_CONTENT_LENGTH=200_000)
    response = submit(small.test_client(), clock, files=[("video.mp4", b"\x00" * 300_000)])
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and 'id="report-form"' in page and "không có gì được gửi" in page
    assert cases(small) == 0
    with small.app_context():
        db.engine.dispose()


def test_photos_go_with_the_report(app, clock):
    page = submit(app.test_client(), clock, files=[("den.jpg", jpeg_with_gps()), ("cot.png", png())]).get_data(
        as_text=True)
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code_of(page)))
        rows = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
        assert sorted(r.kind for r in rows) == ["image", "image"] and all(r.stage == "report" for r in rows)


# ---------------------------------------------------------------------------- abuse protection


def test_the_honeypot_answers_like_success_but_opens_nothing(app, clock):
    response = submit(app.test_client(), clock, website="http://spam.example")
    assert response.status_code == 200 and "Cảm ơn" in response.get_data(as_text=True)
    assert cases(app) == 0 and emails(app) == []


def test_a_form_sent_too_fast_is_asked_again_and_a_forged_token_is_refused(app, clock):
    client = app.test_client()
    hidden, _page = form_of(client)
    response = client.post("/report", data={**hidden, **report()})  # no time passed: a machine
    assert "quá nhanh" in response.get_data(as_text=True) and cases(app) == 0
    forged = submit(client, clock, hidden={**hidden, "form_token": "eyJuIjoieCIsInQiOjB9.forged"})
    assert "đã hết hạn" in forged.get_data(as_text=True) and cases(app) == 0


def test_a_double_submission_opens_one_case_and_shows_the_same_link(app, clock):
    client = app.test_client()
    hidden, _page = form_of(client)
    first = submit(client, clock, hidden=hidden).get_data(as_text=True)
    second = submit(client, clock, hidden=hidden).get_data(as_text=True)
    assert cases(app) == 1
    assert code_of(first) == code_of(second) and private_link(first) == private_link(second)
    assert "đã được tiếp nhận" in second
    assert len(emails(app)) == 1


def test_the_form_posts_are_rate_limited(db_url, clock, tmp_path):
    limited = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"), RATELIMIT_ENABLED=True,
                                 PORTAL_RATE_LIMIT="2 per minute", RATELIMIT_STORAGE_URI="memory://")
    client = limited.test_client()
    responses = [submit(client, clock, title=f"Đèn {i}", category="") for i in range(3)]
    assert [r.status_code for r in responses] == [422, 422, 429]
    assert "Quá nhiều lần thử" in responses[2].get_data(as_text=True) and cases(limited) == 0
    assert client.get("/report").status_code == 200  # reading the form is not limited by sending it
    with limited.app_context():
        db.engine.dispose()


def test_behind_a_trusted_proxy_each_citizen_has_their_own_limit(db_url, clock, tmp_path):
    proxied = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"), RATELIMIT_ENABLED=True,
                                 PORTAL_RATE_LIMIT="1 per minute", RATELIMIT_STORAGE_URI="memory://",
                                 TRUSTED_PROXIES=1)
    first, second = proxied.test_client(), proxied.test_client()
    for client, address in ((first, "203.0.113.7"), (second, "198.51.100.9")):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address  # what the balancer adds
    assert submit(first, clock, category="").status_code == 422
    assert submit(second, clock, category="").status_code == 422  # another address: its own count
    assert submit(first, clock, category="").status_code == 429
    with proxied.app_context():
        db.engine.dispose()


def test_a_post_without_the_csrf_token_is_refused(app, clock):
    hidden, _page = form_of(app.test_client())
    client = app.test_client()
    clock.advance(seconds=20)
    response = client.post("/report", data={"form_token": hidden["form_token"], **report()})
    assert response.status_code == 400 and cases(app) == 0


# ---------------------------------------------------------------------------- duplicates


def test_a_report_near_an_open_case_of_its_category_is_offered_to_follow_it(app, clock):
    other = new_case(app, title="Đèn hỏng trước nhà Nguyễn Văn A, gọi 0912345678", lat=12.6800, lon=108.0400)
    client = app.test_client()
    data = client.get("/report/nearby.json?category=street_lighting&lat=12.6805&lon=108.0401").get_json()
    [dup] = data["cases"]
    assert dup["code"] == other and dup["metres"] < 200 and dup["place"] == "Phường Buôn Ma Thuột"
    # Another citizen's words: the reporter's name and phone masked, never their contact.
    assert "Nguyễn Văn A" not in dup["title"] and "0912345678" not in dup["title"] and "[đã ẩn]" in dup["title"]
    assert client.get("/report/nearby.json?category=traffic&lat=12.6805&lon=108.0401").get_json()["cases"] == []
    far = client.get("/report/nearby.json?category=street_lighting&lat=12.70&lon=108.04").get_json()
    assert far["cases"] == []
    # Without a point, the same commune.
    same_ward = client.get(f"/report/nearby.json?category=street_lighting&place={BMT}").get_json()
    assert [c["code"] for c in same_ward["cases"]] == [other]

    hidden, _page = form_of(client)
    offered = submit(client, clock, hidden=hidden, lat="12.6805", lon="108.0401")
    page = offered.get_data(as_text=True)
    assert offered.status_code == 200 and other in page and "Theo dõi phản ánh này" in page
    assert "0912345678" not in page and cases(app) == 1

    token = csrf_of(page)
    followed = client.post(f"/track/{other}/follow", data={"csrf_token": token, "email": "lan@example.vn"})
    link = private_link(followed.get_data(as_text=True))
    assert followed.status_code == 200 and f"/track/{other}?key=" in link
    with app.app_context():
        case_id = db.session.scalar(select(Case.id).where(Case.code == other))
        follower = db.session.scalar(select(CaseFollower).where(CaseFollower.email == "lan@example.vn"))
        assert follower.case_id == case_id and not follower.is_reporter
        assert follower.key_sha256 == key_digest(link.split("key=")[1])
    assert len(emails(app, "lan@example.vn")) == 1
    assert "Bạn đang theo dõi" in client.get(link.replace("http://localhost", "")).get_data(as_text=True)

    # "Mine is different": the report is sent after all.
    anyway = submit(client, clock, hidden=hidden, lat="12.6805", lon="108.0401", duplicate_choice="send")
    assert code_of(anyway.get_data(as_text=True)) != other and cases(app) == 2


def test_following_a_closed_or_unknown_case_or_with_a_bad_email_is_refused(app):
    code = new_case(app, triage="reject")
    client = app.test_client()
    token = csrf_of(client.get("/report").get_data(as_text=True))
    assert client.post(f"/track/{code}/follow", data={"csrf_token": token}).status_code == 422
    assert client.post("/track/PA-2026-999999/follow", data={"csrf_token": token}).status_code == 404
    open_code = new_case(app)
    bad = client.post(f"/track/{open_code}/follow", data={"csrf_token": token, "email": "x@"})
    assert bad.status_code == 422 and "ten@example.vn" in bad.get_data(as_text=True)


# ---------------------------------------------------------------------------- tracking and emails


def test_the_tracking_page_shows_the_public_timeline_and_nothing_personal(app, clock):
    client = app.test_client()
    page = submit(client, clock).get_data(as_text=True)
    code, link = code_of(page), private_link(page).replace("http://localhost", "")
    waiting = client.get(f"/track/{code}").get_data(as_text=True)  # the triage deadline is the centre's, not a fix date
    assert "Hạn phân loại, giao xử lý" in waiting and "Hạn xử lý" not in waiting
    complete(app, code, {"decision": "accept", "note": "Ghi chú nội bộ của IOC"}, "dtv1")
    with app.app_context():
        officer = AccessService(db.session).actor(db.session.scalar(select(User.id).where(
            User.username == "cb.buonmathuot")))
        CaseViewService(db.session, clock).add_comment(officer, code, "Bình luận nội bộ")

    public = client.get(f"/track/{code}")
    text = public.get_data(as_text=True)
    assert public.status_code == 200 and public.headers["Referrer-Policy"] == "no-referrer"
    assert "Giao cho Phường Buôn Ma Thuột" in text and "đang xử lý" in text and "Hạn xử lý" in text
    for private in ("Phạm Thị Hoa", "0987", "hoa@example.vn", "Ghi chú nội bộ", "Bình luận nội bộ", "Cao Thu Lan",
                    "dtv1", "Ba bóng tắt"):
        assert private not in text, private
    assert "Bạn đang theo dõi" not in text and "Ngừng nhận thư" not in text
    assert "Bạn đang theo dõi" in client.get(link).get_data(as_text=True)
    assert "Bạn đang theo dõi" not in client.get(f"/track/{code}?key=wrong-key").get_data(as_text=True)

    assert client.get(f"/track?code={code.lower()}").headers["Location"].endswith(f"/track/{code}")
    missing = client.get("/track?code=PA-2026-424242")
    assert missing.status_code == 404 and "Không có phản ánh nào" in missing.get_data(as_text=True)
    assert client.get("/track/not-a-code").status_code == 404


def test_followers_get_an_email_at_each_public_step_without_their_key_and_can_stop_them(app, clock):
    client = app.test_client()
    page = submit(client, clock).get_data(as_text=True)
    code, link = code_of(page), private_link(page).replace("http://localhost", "")
    complete(app, code, {"decision": "accept"}, "dtv1")
    updates = emails(app, "hoa@example.vn")[1:]
    assert len(updates) == 1
    assigned = updates[0].payload
    assert code in assigned["body"] and "Phường Buôn Ma Thuột" in assigned["body"]
    assert assigned["link"] == f"/track/{code}" and "key" not in assigned["body"]
    assert updates[0].dedupe_key.startswith("follow:")

    complete(app, code, {"outcome": "resolved", "resolution": "Đã thay ba bóng đèn."}, "cb.buonmathuot")
    kinds = [m.payload["body"] for m in emails(app, "hoa@example.vn")[2:]]
    assert len(kinds) == 1 and "công khai" in kinds[0]  # resolved and published: one email

    token = csrf_of(client.get(link).get_data(as_text=True))
    stopped = client.post(f"/track/{code}/unsubscribe", data={"csrf_token": token, "key": link.split("key=")[1]})
    assert stopped.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(CaseFollower.unsubscribed_at).where(CaseFollower.email == "hoa@example.vn"))
    assert client.post(f"/track/{code}/unsubscribe", data={"csrf_token": token, "key": "nope"}).status_code == 404


def test_an_overdue_case_tells_its_followers_it_moved_up_and_the_timeline_shows_it(app, clock):
    client = app.test_client()
    page = submit(client, clock).get_data(as_text=True)
    code = code_of(page)
    complete(app, code, {"decision": "accept"}, "dtv1")
    advance_working(clock, 72, seconds=1)  # past the normal deadline: the reminder, then level 1
    for _ in range(3):
        app.extensions["ioc"].sweep().run_once()
    bodies = [m.payload["body"] for m in emails(app, "hoa@example.vn")]
    assert sum("quá hạn" in b for b in bodies) == 1  # escalated once; the reminder is for officials only
    timeline = client.get(f"/track/{code}").get_data(as_text=True)
    assert "Chuyển cấp lần 1: Phường Buôn Ma Thuột" in timeline and 'id="case-status">chuyển cấp trên<' in timeline
    assert "Nhắc" not in timeline  # reminders are internal


def test_the_receipt_and_an_update_reach_a_real_smtp_server_with_the_site_address(db_url, clock, tmp_path):
    from tests.integration.test_celery_worker import Inbox, free_port, start_smtp

    inbox, port = Inbox(), free_port()
    smtp = start_smtp(inbox, port)
    mailing = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"), SMTP_HOST="127.0.0.1",
                                 SMTP_PORT=port, PUBLIC_URL="https://phananh.example.vn/")
    try:
        page = submit(mailing.test_client(), clock).get_data(as_text=True)
        code, key = code_of(page), private_link(page).split("key=")[1]
        complete(mailing, code, {"decision": "accept"}, "dtv1")
        mailing.extensions["ioc"].outbox().deliver_pending()  # (eager Celery delivered them after each commit)
        mails = {m["Subject"]: (to, m.get_content()) for to, m in inbox.received()}
        receipt = next(v for k, v in mails.items() if k.startswith(f"Đã tiếp nhận phản ánh {code}"))
        assert receipt[0] == ["hoa@example.vn"]
        assert f"https://phananh.example.vn/track/{code}?key={key}" in receipt[1] and "{link}" not in receipt[1]
        update = next(v for k, v in mails.items() if "cập nhật" in k)
        assert f"https://phananh.example.vn/track/{code}\n" in update[1] and key not in update[1]
        assert "Phường Buôn Ma Thuột" in update[1] and "assigned to" in update[1]
        with mailing.app_context():  # once sent, the private link is not kept in the outbox
            sent = [m.payload for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email"))]
            assert sent and all(m["to"] for m in sent) and not any(key in json.dumps(m) for m in sent)
    finally:
        smtp.stop()
        with mailing.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------------------- accounts


def test_a_citizen_registers_reports_signed_in_and_finds_the_report_in_my_reports(app, clock):
    client = app.test_client()
    token = csrf_of(client.get("/account/register").get_data(as_text=True))
    bad = client.post("/account/register", data={"csrf_token": token, "username": "A", "full_name": "", "email": "x",
                                                  "password": "short", "password_again": "short"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "bắt buộc" in text and "ít nhất 10 ký tự" in text and "ten@example.vn" in text
    taken = client.post("/account/register", data={"csrf_token": token, "username": "dtv1", "full_name": "X",
                                                    "email": "x@example.vn", "password": "mot-mat-khau-dai",
                                                    "password_again": "mot-mat-khau-khac"})
    assert "đã có người dùng" in taken.get_data(as_text=True)
    ok = client.post("/account/register", data={"csrf_token": token, "username": "nguyen.lan", "full_name": "Nguyễn Lan",
                                                "email": "lan@example.vn", "password": "mot-mat-khau-dai",
                                                "password_again": "mot-mat-khau-dai"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/my-reports")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "nguyen.lan"))
        assert [(r.role, r.unit.code) for r in user.roles] == [("citizen", "DLK")]
        assert user.password_hash.startswith("$argon2")
    home = client.get("/my-reports").get_data(as_text=True)
    assert "Chưa có phản ánh nào" in home and "Công việc" not in home  # a citizen has no task list

    form = client.get("/report").get_data(as_text=True)
    assert 'value="Nguyễn Lan"' in form and 'value="lan@example.vn"' in form  # the account's contact, to change
    page = submit(client, clock).get_data(as_text=True)
    code = code_of(page)
    other = new_case(app)
    token = csrf_of(page)
    client.post(f"/track/{other}/follow", data={"csrf_token": token})
    listed = client.get("/my-reports").get_data(as_text=True)
    assert code in listed and other in listed and "Đèn đường không sáng" in listed and "đang theo dõi" in listed
    with app.app_context():
        assert db.session.scalar(select(Reporter.user_id).join(Case).where(Case.code == code)) == user.id
    # Signed in, the citizen follows their case without the key.
    assert "Bạn đang theo dõi" in client.get(f"/track/{code}").get_data(as_text=True)
    assert client.get("/tasks/").status_code == 403


def test_a_demo_citizen_signs_in_to_my_reports_and_the_menu_has_the_citizen_links(app):
    client = client_of(app, "dan.tranthimai")
    home = client.get("/").get_data(as_text=True)
    assert "Gửi phản ánh" in home and "Tra cứu" in home and "Phản ánh của tôi" in home
    assert 'href="/tasks/"' not in home and 'href="/dashboard/"' not in home
    visitor = app.test_client().get("/").get_data(as_text=True)
    assert 'href="/report"' in visitor and 'href="/track"' in visitor and 'id="citizen-cta"' in visitor
    fresh = app.test_client()
    token = csrf_of(fresh.get("/login").get_data(as_text=True))
    landed = fresh.post("/login", data={"csrf_token": token, "username": "dan.tranthimai", "password": "demo1022"})
    assert landed.headers["Location"].endswith("/my-reports")


# ---------------------------------------------------------------------------- the whole journey


def test_a_report_followed_to_publication_rating_and_reopening(app, clock):
    client = app.test_client()
    page = submit(client, clock, files=[("den.jpg", jpeg_with_gps())]).get_data(as_text=True)
    code, link = code_of(page), private_link(page).replace("http://localhost", "")
    key = link.split("key=")[1]
    assert "Đã tiếp nhận phản ánh" in client.get(f"/track/{code}").get_data(as_text=True)

    complete(app, code, {"decision": "accept"}, "dtv1", clock)
    assert "đang xử lý" in client.get(link).get_data(as_text=True)
    complete(app, code, {"outcome": "resolved",
                         "resolution": "Đã thay ba bóng đèn, gọi 0987 654 321 nếu còn hỏng."}, "cb.buonmathuot", clock)
    published = client.get(link).get_data(as_text=True)
    assert "đã công khai kết quả" in published and "Đã thay ba bóng đèn" in published
    assert "0987 654 321" not in published  # the published resolution is redacted
    assert "Người dân có thể phản hồi đến" in published
    has_rate = "public.rate" in app.view_functions
    if has_rate:
        assert 'action="/resolutions/' in published and f'name="key" value="{key}"' in published
        # Without the key, no rating form.
        assert 'name="satisfied"' not in client.get(f"/track/{code}").get_data(as_text=True)
        if "public.media" in app.view_functions:
            with app.app_context():
                photo = db.session.scalar(select(Attachment.id).join(Case).where(Case.code == code))
            assert f"/resolutions/{code}/media/{photo}" in published
        token = csrf_of(published)
        clock.advance(hours=1)
        answer = client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key, "satisfied": "0",
                                                                "comment": "Vẫn còn một bóng tắt"})
        assert answer.status_code in (302, 303)
    else:
        with app.app_context():
            app.extensions["ioc"].services(db.session).cases.citizen_feedback(code, False, "Vẫn còn một bóng tắt")
    reopened = client.get(link).get_data(as_text=True)
    assert "Mở lại" in reopened and "Đã thay ba bóng đèn" not in reopened  # the publication is withdrawn
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert case.reopen_count == 1 and case.status != "published"
        if has_rate:
            assert db.session.scalar(select(CaseRating.satisfied).where(CaseRating.case_id == case.id)) is False
    bodies = [m.payload["body"] for m in emails(app, "hoa@example.vn")]
    assert any("mở lại" in b for b in bodies)

    # Handled again, published again, and this time the citizen is satisfied: closed.
    if open_task(app, code).title and "Phân loại" in open_task(app, code).title:
        complete(app, code, {"decision": "accept"}, "dtv1", clock)
    complete(app, code, {"outcome": "resolved", "resolution": "Đã thay nốt bóng còn lại."}, "cb.buonmathuot", clock)
    again = client.get(link).get_data(as_text=True)
    assert "Đã thay nốt bóng còn lại" in again
    clock.advance(hours=1)
    if has_rate:
        client.post(f"/resolutions/{code}/rate", data={"csrf_token": csrf_of(again), "key": key, "satisfied": "1"})
    else:
        with app.app_context():
            app.extensions["ioc"].services(db.session).cases.citizen_feedback(code, True)
    closed = client.get(link).get_data(as_text=True)
    assert 'id="case-status">đóng<' in closed and "Người dân phản hồi: hài lòng" in closed
