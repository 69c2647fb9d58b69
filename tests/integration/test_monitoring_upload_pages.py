"""The upload pages (/monitoring/upload…) and POST /api/v1/kpi/values: a file with a bad row checked in the
browser's form, its report (bad rows, what would change), the choice, and the API's 400 that stores nothing."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from tests.workspace import client_of, csrf_of, make_workspace_app
from webapp.extensions import db
from workflows.monitoring.models import Indicator, Upload, Value, ValueChange
from workflows.tokens import TokenService

NOW = datetime(2026, 5, 20, 3, tzinfo=UTC)


def _catalogue() -> None:
    db.session.add(Indicator(code="KT01", name="Tỷ lệ giải ngân vốn đầu tư công", name_en="Public investment disbursed",
                             field="socio_economic", measure_unit="%", measure_unit_en="%", period="monthly",
                             levels=["ward", "commune"], min_value=0, max_value=100, decimals=1,
                             category_code="socio_economic"))
    db.session.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitoring-upload")
    app = make_workspace_app(f"sqlite:///{folder / 'u.sqlite3'}", FrozenClock(NOW))
    with app.app_context():
        _catalogue()
    yield app
    with app.app_context():
        db.engine.dispose()


def _send(client, name: str, data: bytes):
    token = csrf_of(client.get("/monitoring/upload").get_data(as_text=True))
    return client.post("/monitoring/upload", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _cells(page: str, table_class: str) -> list[list[str]]:
    table = re.search(rf'<table class="[^"]*{table_class}[^"]*">(.*?)</table>', page, re.S)
    assert table, f"no table {table_class}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1).split("<tbody>")[1], re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def test_a_file_with_a_bad_row_is_checked_shown_and_its_good_rows_kept(site):
    officer = client_of(site, "cb.buonmathuot")
    form = officer.get("/monitoring/upload").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "Tải giá trị lên" in form  # in the monitoring navigation
    data = "\r\n".join(["Mã chỉ tiêu;Mã đơn vị;Kỳ;Giá trị",
                        "KT01;P-BUON-MA-THUOT;03/2026;62,5",
                        "KT01;P-BUON-MA-THUOT;04/2026;1.234,5",  # above 100
                        "KT01;P-BUON-MA-THUOT;Tháng 5/2026;70 %"]).encode("utf-8-sig")
    sent = _send(officer, "bao-cao-thang-5.csv", data)
    assert sent.status_code == 303
    result = sent.headers["Location"]
    page = officer.get(result).get_data(as_text=True)
    assert _cells(page, "kpi-bad-rows") == [["3", "Giá trị", "1234,5 lớn hơn 100, giá trị lớn nhất chỉ tiêu KT01 được nhận"]]
    new = _cells(page, "kpi-new")
    assert [(r[0], r[3], r[4]) for r in new] == [("2", "tháng 03/2026", "62,5"), ("4", "tháng 05/2026", "70,0")]
    assert 'value="keep_good"' in page and 'value="refuse"' in page and "Giữ 2 dòng đúng" in page
    with site.app_context():
        assert db.session.scalar(select(func.count()).select_from(Value)) == 0  # the dry run stored nothing
    # Someone else's upload is not theirs to see or decide.
    other = client_of(site, "cb.tanlap")
    assert other.get(result).status_code == 404
    token = csrf_of(other.get("/monitoring/upload").get_data(as_text=True))
    assert other.post(result + "/decide", data={"csrf_token": token, "choice": "refuse"}).status_code == 404
    # Keep the good rows.
    token = csrf_of(page)
    kept = officer.post(result + "/decide", data={"csrf_token": token, "choice": "keep_good"})
    assert kept.status_code == 303
    page = officer.get(result).get_data(as_text=True)
    assert 'data-decision="kept_good"' in page and 'value="keep_good"' not in page
    assert "2 giá trị mới và 0 giá trị thay đổi đã được lưu" in page
    with site.app_context():
        assert sorted(db.session.scalars(select(Value.period))) == ["2026-03", "2026-05"]
    # Twice: told why, nothing changes.
    again = officer.post(result + "/decide", data={"csrf_token": token, "choice": "refuse"}, follow_redirects=True)
    assert "đã được quyết định" in again.get_data(as_text=True)
    listing = officer.get("/monitoring/upload").get_data(as_text=True)
    assert "bao-cao-thang-5.csv" in listing
    template = officer.get("/monitoring/upload/template.csv")
    assert template.mimetype == "text/csv" and "attachment" in template.headers["Content-Disposition"]
    assert template.get_data().decode("utf-8-sig").splitlines()[1].startswith(
        "KT01;Tỷ lệ giải ngân vốn đầu tư công;P-BUON-MA-THUOT;")


def test_a_correction_file_shows_old_and_new_and_keeps_the_history(site):
    officer = client_of(site, "tp.buonmathuot")
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.append(["Mã chỉ tiêu", "Mã đơn vị", "Kỳ", "Giá trị"])
    workbook.active.append(["KT01", "P-BUON-MA-THUOT", "2026-03", 65])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _send(officer, "sua-loi.xlsx", buffer.getvalue()).headers["Location"]
    page = officer.get(result).get_data(as_text=True)
    assert _cells(page, "kpi-changed")[0][3:] == ["tháng 03/2026", "62,5", "65,0"]
    assert "Lưu 1 dòng" in page and "Mọi dòng đều đúng" in page
    officer.post(result + "/decide", data={"csrf_token": csrf_of(page), "choice": "keep_good"})
    with site.app_context():
        march = db.session.scalar(select(Value).where(Value.period == "2026-03"))
        history = db.session.scalars(select(ValueChange).where(ValueChange.value_id == march.id)
                                     .order_by(ValueChange.id)).all()
        assert [(h.old_value, h.new_value, h.changed_by) for h in history] == [
            (None, 62.5, "cb.buonmathuot"), (62.5, 65.0, "tp.buonmathuot")]
        assert db.session.get(Upload, history[1].upload_id).filename == "sua-loi.xlsx"


def test_a_file_that_cannot_be_read_says_why_in_english_too(site):
    officer = client_of(site, "cb.buonmathuot")
    officer.post("/language", data={"lang": "en", "next": "/",
                                    "csrf_token": csrf_of(officer.get("/").get_data(as_text=True))})
    page = officer.get(_send(officer, "anh.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)))
                       .headers["Location"]).get_data(as_text=True)
    assert 'id="file-error"' in page and "neither a CSV text file nor an XLSX workbook" in page
    token = csrf_of(officer.get("/monitoring/upload").get_data(as_text=True))
    assert officer.post("/monitoring/upload", data={"csrf_token": token}).status_code == 400
    assert client_of(site, "ct.ubnd").get("/monitoring/upload").status_code == 403  # leaders do not report


def test_the_api_answers_400_with_every_error_and_stores_nothing(db_url, tmp_path):
    app = make_workspace_app(db_url, FrozenClock(NOW), FILES_DIR=str(tmp_path / "files"))
    with app.app_context():
        _catalogue()
        _info, token = TokenService(db.session).create("cb.buonmathuot", "bao-cao")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    values = [{"indicator": "KT01", "unit": "P-BUON-MA-THUOT", "period": "03/2026", "value": "62,5"},
              {"indicator": "KT99", "unit": "P-BUON-MA-THUOT", "period": "2026-03", "value": 1},
              {"indicator": "KT01", "unit": "P-TAN-LAP", "period": "2026-13", "value": "x"}]
    refused = client.post("/api/v1/kpi/values?lang=en", json={"values": values}, headers=auth)
    assert refused.status_code == 400
    body = refused.get_json()
    assert body["error"] == "invalid" and "Nothing was stored" in body["message"]
    assert [(e["index"], e["field"], e["message"]) for e in body["errors"]] == [
        (1, "indicator", "no indicator has the code KT99"),
        (2, "unit", "Tân Lập Ward is outside the units you report for"),
        (2, "period", "2026-13: no such month or quarter"),
        (2, "value", "x is not a number"),
    ], body["errors"]
    vietnamese = client.post("/api/v1/kpi/values", json={"values": values}, headers={**auth, "Accept-Language": "vi"})
    assert vietnamese.get_json()["errors"][0]["message"] == "không có chỉ tiêu nào mang mã KT99"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Value)) == 0
        assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    dry = client.post("/api/v1/kpi/values", json={"values": values[:1], "dry_run": True}, headers=auth).get_json()
    assert (dry["dry_run"], dry["stored"], dry["new"], dry["errors"]) == (True, False, 1, [])
    kept = client.post("/api/v1/kpi/values", json={"values": values, "mode": "keep_good"}, headers=auth)
    assert kept.status_code == 200
    body = kept.get_json()
    assert (body["stored"], body["decision"], body["new"], body["good"], body["bad"]) == (True, "kept_good", 1, 1, 2)
    assert len(body["errors"]) == 4
    with app.app_context():
        value = db.session.scalar(select(Value))
        assert (value.value, value.source, value.reported_by) == (62.5, "api", "cb.buonmathuot")
    leader = TokenService  # a leader reports nothing
    with app.app_context():
        _info, leader_token = leader(db.session).create("ct.ubnd", "lanh-dao")
    assert client.post("/api/v1/kpi/values", json={"values": values},
                       headers={"Authorization": f"Bearer {leader_token}"}).status_code == 403
    assert client.post("/api/v1/kpi/values", data="no json", headers=auth).status_code == 400
    with app.app_context():
        db.engine.dispose()
