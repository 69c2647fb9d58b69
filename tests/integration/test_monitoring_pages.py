"""The monitoring pages (/monitoring/…): the overview's lights in words, the trend's chart spec and its table,
missing reports, a value's history, and the catalogue's forms with every problem at once."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from tests.monitoring_views_data import CASE_CODE, seed_monitoring
from tests.workspace import client_of, csrf_of, make_workspace_app
from webapp.extensions import db
from workflows.admin.models import AdminAuditEntry
from workflows.monitoring.models import Indicator, Target


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitoring-pages")
    app = make_workspace_app(f"sqlite:///{folder / 'm.sqlite3'}", FrozenClock(datetime(2026, 5, 20, 3, tzinfo=UTC)))
    with app.app_context():
        ids = seed_monitoring(db.session)
    yield app, ids
    with app.app_context():
        db.engine.dispose()


def test_the_overview_shows_lights_in_words_values_targets_and_the_case(site):
    app, ids = site
    client = client_of(app, "ct.ubnd")
    page = client.get("/monitoring/").get_data(as_text=True)
    assert "Giám sát chỉ tiêu" in page  # the header's link
    row = re.search(r'<tr class="row-red[^"]*" data-indicator="DVC-ONLINE" data-unit="P-BUON-MA-THUOT".*?</tr>', page, re.S)
    assert row, "Buôn Ma Thuột's row is red"
    assert "64,0" in row.group(0) or "64" in row.group(0)
    assert CASE_CODE in row.group(0) and "vi phạm" in row.group(0).lower()
    assert 'data-unit="P-TAN-AN" data-light="amber"' in page
    english = client_of(app, "ct.ubnd")
    english.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_of(english.get("/").get_data(as_text=True))})
    page = english.get("/monitoring/?unit=P-BUON-MA-THUOT").get_data(as_text=True)
    assert "breaching" in page and "a case is open" in page and "Full online applications" in page
    assert client_of(app, "cb.buonmathuot").get("/monitoring/?unit=P-TAN-AN").status_code == 403
    assert client.get("/monitoring/?unit=NOWHERE").status_code == 404
    assert client.get("/monitoring/?page=999999999999999").status_code == 200  # the last page


def test_the_trend_page_carries_the_chart_spec_and_the_same_figures_as_a_table(site):
    app, ids = site
    client = client_of(app, "cb.buonmathuot")
    page = client.get("/monitoring/indicators/DVC-ONLINE?unit=P-BUON-MA-THUOT").get_data(as_text=True)
    spec = json.loads(re.search(r'<script type="application/json" id="trend-spec">(.*?)</script>', page, re.S).group(1))
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    rows = spec["data"]["values"]
    assert len(rows) == 16 and rows[-1]["value"] == 64.0 and rows[-1]["target"] == 80
    assert rows[-1]["cases"] == CASE_CODE and rows[-2]["breach"] and not rows[0]["breach"]
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert "Tỷ lệ hồ sơ trực tuyến toàn trình" in spec["title"]["text"]
    assert f'/cases/{CASE_CODE}' in page and f'/monitoring/values/{ids["kpi_value"]}' in page
    assert page.count("<tr") >= 17  # the table under the chart holds every period
    assert "monitoring-trend.js" in page
    assert client.get("/monitoring/indicators/NOPE?unit=P-BUON-MA-THUOT").status_code == 404


def test_missing_reports_and_a_values_history(site):
    app, ids = site
    client = client_of(app, "tp.ioc")
    page = client.get("/monitoring/missing").get_data(as_text=True)
    assert "10/05/2026" in page and 'data-unit="X-EA-SUP"' in page
    late = re.search(r'<td class="late-units">(.*?)</td>', page, re.S).group(1)
    assert "P-TAN-AN" in late and "P-EA-KAO" not in late
    history = client.get(f"/monitoring/values/{ids['kpi_value']}").get_data(as_text=True)
    assert "bao-cao-dvc.xlsx" in history and "cb.buonmathuot" in history
    assert re.search(r'<a href="/monitoring/uploads/\d+">[^<]*bao-cao-dvc.xlsx', history)  # the upload's report
    assert client_of(app, "cb.tanlap").get(f"/monitoring/values/{ids['kpi_value']}").status_code == 404


def test_the_catalogue_form_lists_every_problem_keeps_what_was_typed_then_saves(site):
    app, ids = site
    designer = client_of(app, "thietke")
    form = designer.get("/monitoring/catalogue/new").get_data(as_text=True)
    for live in ('<option value="socio_economic"', '<option value="STC"', 'value="commune"', '<option value="yearly"',
                 '<option value="public_services"'):  # fields, departments, levels, periods, categories
        assert live in form, live
    token = csrf_of(form)
    bad = {"csrf_token": token, "code": "ho-ngheo", "name": "Tỷ lệ hộ nghèo", "name_en": "", "field": "socio_economic",
           "period": "yearly", "direction": "lower", "measure_unit": "%", "department": "", "deadline_days": "30",
           "min_value": "0", "max_value": "mười", "decimals": "2", "category": ""}
    refused = designer.post("/monitoring/catalogue/new", data=bad)
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    for field in ("name_en", "department", "levels", "max_value"):
        assert f'data-field="{field}"' in text and re.search(rf'data-field="{field}".*?class="error"', text, re.S), field
    assert 'value="Tỷ lệ hộ nghèo"' in text  # nothing typed is lost
    good = {**bad, "name_en": "Poor households", "department": "STC", "max_value": "100", "levels": ["commune", "ward"],
            "active": "1"}
    saved = designer.post("/monitoring/catalogue/new", data=good)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/monitoring/catalogue/HO-NGHEO")
    target = designer.post("/monitoring/catalogue/HO-NGHEO/targets",
                           data={"csrf_token": token, "year": "2026", "unit": "", "period": "", "kind": "plan",
                                 "value": "3,5"})
    assert target.status_code == 303
    with app.app_context():
        assert db.session.get(Indicator, "HO-NGHEO").category_code == "socio_economic"
        assert db.session.scalar(select(Target.value).where(Target.indicator_code == "HO-NGHEO")) == 3.5
        assert {a for a in db.session.scalars(select(AdminAuditEntry.action))} >= {"indicator.create",
                                                                                 "indicator_target.set"}
    listing = client_of(app, "ct.ubnd").get("/monitoring/catalogue").get_data(as_text=True)
    assert "HO-NGHEO" in listing and "New indicator" not in listing and "Chỉ tiêu mới" not in listing
    leader = client_of(app, "ct.ubnd")
    own = csrf_of(leader.get("/monitoring/catalogue/HO-NGHEO").get_data(as_text=True))
    assert leader.post("/monitoring/catalogue/HO-NGHEO", data={"csrf_token": own}).status_code == 403
