"""The public pages: resolutions list, map data, a resolution with its photos, rating by the tracking key, performance;
and the officials' merge form on the case page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from engine.models import HumanTask
from tests.media_samples import jpeg_with_gps
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.case_service import IntakeRequest
from workflows.media import Upload
from workflows.models import Case


@pytest.fixture
def app(tmp_path):
    app = make_workspace_app(f"sqlite:///{tmp_path / 'public.sqlite3'}", FrozenClock(), FILES_DIR=str(tmp_path / "files"))
    yield app
    with app.app_context():
        db.engine.dispose()


def published_case(app, title="Đèn đường hỏng trước số 12 Lê Duẩn"):
    """A citizen's report with a photo, resolved with an "after" photo and published; (code, follow key)."""
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        receipt = services.cases.intake_receipt(IntakeRequest(
            channel="field_report", category="street_lighting", admin_unit="P-BUON-MA-THUOT", title=title,
            description="Đèn tắt cả tuần. Liên hệ Lê Văn Tám 0905 111 222.", lat=12.68, lon=108.04,
            reporter_name="Lê Văn Tám", reporter_phone="0905111222", source="portal",
            files=(Upload("truoc.jpg", "image/jpeg", jpeg_with_gps()),)))
        code, key = receipt.case.code, receipt.follow_key

        def task():
            return db.session.scalar(select(HumanTask.id).where(HumanTask.business_key == code,
                                                                HumanTask.state == "open"))
        services.cases.complete_task(task(), {"decision": "accept"}, actor="dtv1")
        services.cases.add_attachment(code, "sau.jpg", "image/jpeg", jpeg_with_gps(color=(30, 150, 60)),
                                      uploaded_by="cb.buonmathuot", stage="resolution")
        services.cases.complete_task(task(), {"outcome": "resolved", "resolution": "Đã thay bóng LED mới."},
                                     actor="cb.buonmathuot")
    return code, key


def test_the_list_map_and_page_of_a_published_resolution(app):
    code, _key = published_case(app)
    unpublished = new_case(app, title="Chưa xử lý")
    client = app.test_client()
    page = client.get("/resolutions/").get_data(as_text=True)
    assert code in page and "Đã thay bóng LED mới." in page and unpublished not in page
    assert "đúng hạn" in page and "Phường Buôn Ma Thuột" in page
    assert code not in client.get("/resolutions/?category=traffic").get_data(as_text=True)
    points = client.get("/resolutions/map.json").get_json()["points"]
    assert [p["code"] for p in points] == [code]
    assert set(points[0]) == {"code", "title", "category", "unit", "lat", "lon", "closed", "url"}

    detail = client.get(f"/resolutions/{code}").get_data(as_text=True)
    assert "Trước" in detail and "Sau" in detail and "Lê Văn Tám" not in detail and "0905" not in detail
    assert 'name="satisfied"' not in detail  # no key, not signed in: no rating form
    photos = [line.split('src="')[1].split('"')[0] for line in detail.splitlines() if "/media/" in line and 'src="' in line]
    assert len(photos) == 2
    image = client.get(photos[0].replace("&amp;", "&"))
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff" and "max-age" in image.headers["Cache-Control"]
    assert client.get(f"/resolutions/{unpublished}").status_code == 404
    assert client.get(f"/resolutions/{code}/media/99999").status_code == 404

    english = app.test_client()
    english.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_of(english.get("/").get_data(as_text=True))})
    assert "on time" in english.get("/resolutions/").get_data(as_text=True)


def test_the_reporter_rates_with_the_tracking_key_and_a_second_try_is_told_why(app):
    code, key = published_case(app)
    client = app.test_client()
    page = client.get(f"/resolutions/{code}?key={key}")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert 'name="satisfied"' in html
    token = csrf_of(html)
    missing = client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key})
    assert missing.status_code == 400 and "đã được giải quyết" in missing.get_data(as_text=True)
    wrong = client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": "sai", "satisfied": "1"})
    assert wrong.status_code == 403 and "đường dẫn theo dõi" in wrong.get_data(as_text=True)
    done = client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key, "satisfied": "1",
                                                           "comment": "Tốt, cảm ơn. Gọi 0905111222"})
    assert done.status_code == 303
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Tốt, cảm ơn" in after and "0905111222" not in after and 'name="satisfied"' not in after
    again = client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key, "satisfied": "0"})
    assert again.status_code == 409 and "đã đánh giá" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Case.status).where(Case.code == code)) == "closed"


def test_not_resolved_reopens_and_the_page_is_withdrawn(app):
    code, key = published_case(app)
    client = app.test_client()
    token = csrf_of(client.get(f"/resolutions/{code}?key={key}").get_data(as_text=True))
    answer = client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key, "satisfied": "0",
                                                             "comment": "Đèn vẫn tắt"})
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Case.status).where(Case.code == code)) == "in_progress"
    withdrawn = client.get(f"/resolutions/{code}")
    assert withdrawn.status_code == 404 and f'href="/track/{code}"' in withdrawn.get_data(as_text=True)
    assert client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key,
                                                          "satisfied": "1"}).status_code == 404


def test_performance_page_states_the_formula_and_lists_units(app):
    published_case(app)
    client = app.test_client()
    page = client.get("/resolutions/performance?days=30").get_data(as_text=True)
    assert "Phường Buôn Ma Thuột" in page and "100%" in page and "quá hạn" in page
    assert client.get("/resolutions/performance?days=7").status_code == 200  # an unknown period: 90 days


def test_one_rating_is_counted_in_the_singular_in_english(app):
    code, key = published_case(app)
    client = app.test_client()
    token = csrf_of(client.get(f"/resolutions/{code}?key={key}").get_data(as_text=True))
    client.post(f"/resolutions/{code}/rate", data={"csrf_token": token, "key": key, "satisfied": "1"})
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token})
    assert "(1 rating)" in client.get("/resolutions/performance").get_data(as_text=True)
    assert "of 1 rating says satisfied" in client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "vi", "next": "/", "csrf_token": token})
    assert "(1 đánh giá)" in client.get("/resolutions/performance").get_data(as_text=True)


def test_an_operator_merges_a_duplicate_from_the_case_page(app):
    main = new_case(app, title="Đèn hỏng")
    duplicate = new_case(app, title="Đèn hỏng (báo lại)", triage=None)
    operator = client_of(app, "dtv1")
    page = operator.get(f"/cases/{duplicate}").get_data(as_text=True)
    assert 'id="merge-into"' in page
    token = csrf_of(page)
    itself = operator.post(f"/cases/{duplicate}/merge", data={"csrf_token": token, "into": duplicate})
    assert itself.status_code == 400 and "chính nó" in itself.get_data(as_text=True)
    done = operator.post(f"/cases/{duplicate}/merge", data={"csrf_token": token, "into": main})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/cases/{main}")
    merged = operator.get(f"/cases/{duplicate}").get_data(as_text=True)
    assert f">{main}</a>" in merged and 'id="merge-into"' not in merged
    officer = client_of(app, "cb.buonmathuot")
    page = officer.get(f"/cases/{main}").get_data(as_text=True)
    assert 'id="merge-into"' not in page
    assert officer.post(f"/cases/{main}/merge", data={"csrf_token": csrf_of(page), "into": duplicate}).status_code == 403


def test_a_duplicate_merged_into_a_published_case_leads_to_its_resolution(app):
    code, _key = published_case(app)
    duplicate = new_case(app, title="Đèn hỏng (báo lại)", triage=None)
    operator = client_of(app, "dtv1")
    token = csrf_of(operator.get(f"/cases/{duplicate}").get_data(as_text=True))
    assert operator.post(f"/cases/{duplicate}/merge", data={"csrf_token": token, "into": code}).status_code == 303
    visitor = app.test_client()
    answer = visitor.get(f"/resolutions/{duplicate}")
    assert answer.status_code == 302 and answer.headers["Location"].startswith(f"/resolutions/{code}?merged=")
    page = visitor.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"Phản ánh {duplicate} đã được gộp vào phản ánh này" in page
    assert "Một phản ánh trùng lặp đã được gộp vào phản ánh này" in page  # the public timeline says so too


def test_the_home_page_tells_citizens_how_to_report_and_shows_the_latest_resolutions_and_figures(app):
    code, _key = published_case(app, title="Đèn đường trước chợ đã sáng lại")
    unpublished = new_case(app, title="Chưa xử lý xong")
    page = app.test_client().get("/").get_data(as_text=True)
    assert "Cách gửi phản ánh" in page and 'href="/report"' in page and "1022" in page
    assert "Đèn đường trước chợ đã sáng lại" in page and f"/resolutions/{code}" in page
    assert "Chưa xử lý xong" not in page and unpublished not in page
    assert "Lê Văn Tám" not in page and "0905" not in page
    figures = page.split('id="figures-title"', 1)[1].split("</section>", 1)[0]
    numbers = [chunk.split("<", 1)[0] for chunk in figures.split('<div class="n">')[1:]]
    assert numbers[:3] == ["2", "1", "100%"]  # two sent to a unit, one resolved, on time
    english = app.test_client().get("/?lang=en").get_data(as_text=True)
    assert "How to report" in english and "Latest resolutions" in english


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon(app):
    client = app.test_client()
    page = client.get("/resolutions/").get_data(as_text=True)
    href = page.split('<link rel="icon" href="', 1)[1].split('"', 1)[0]
    with client.get(href) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
