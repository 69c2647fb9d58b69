"""The leaders' page (/leaders/): who may see which unit, the same figures as reports.operations' data (the
PDF's), the charts as the PDF's own Vega-Lite specs, the drill-down by unit and period, bad input answered in
words."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.clock import FrozenClock, using
from reports import catalog
from reports.bench import make_cases
from reports.catalog import ReportParams
from reports.i18n import translator
from reports.models import ReportDelivery, ReportSubscription
from reports.periods import ReportPeriod
from reports.render import format_number, format_percent
from tests.workspace import client_of, csrf_of, make_workspace_app, sign_in
from webapp.extensions import db
from workflows.models import AdminUnit, Category, User

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
PERIOD = ReportPeriod.parse("2026-11")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo's accounts and units, with cases of November 2026 (and of October) in two wards and a commune,
    handled by them or by two departments."""
    folder = tmp_path_factory.mktemp("leaders-pages")
    app = make_workspace_app(f"sqlite:///{folder / 'l.sqlite3'}", FrozenClock(NOW), FILES_DIR=str(folder / "files"))
    with app.app_context():
        session = db.session
        ids = {code: session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))
               for code in ("P-BUON-MA-THUOT", "P-TAN-LAP", "X-HOA-PHU", "SXD", "SYT")}
        places = [ids["P-BUON-MA-THUOT"], ids["P-TAN-LAP"], ids["X-HOA-PHU"]]
        categories = list(session.scalars(select(Category.code).where(Category.internal.is_(False))))[:6]
        for seed, (start, end, count) in enumerate([
                (datetime(2026, 10, 31, 17, 0, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC), 180),
                (datetime(2026, 9, 30, 17, 0, tzinfo=UTC), datetime(2026, 10, 31, 16, 0, tzinfo=UTC), 60)]):
            make_cases(session, count, start, end, places, [ids["SXD"], ids["SYT"]], categories, seed=seed,
                       now=min(end + timedelta(days=20), NOW))
        session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def collected(app, unit: str, period: str = "2026-11", language: str = "vi"):
    """The operations report's data, as the PDF gets it."""
    with app.app_context(), using(FrozenClock(NOW)):
        params = ReportParams(type="operations", unit=unit, period=period, language=language)
        return catalog.get("operations").collect(db.session, params, translator(language))


def cell(page: str, table: str, key: str, attribute: str) -> list[str]:
    """The texts of the cells of one row (`attribute`="key") of the table `table`."""
    body = re.search(rf'<table[^>]*id="{table}".*?</table>', page, re.S).group(0)
    row = re.search(rf'<tr {attribute}="{re.escape(key)}">(.*?)</tr>', body, re.S)
    assert row, f"no row {key} in {table}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)]


def test_a_ward_leader_sees_their_ward_and_not_another(site):
    client = client_of(site, "ld.buonmathuot")
    page = client.get("/leaders/?period=2026-11")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "phường Buôn Ma Thuột" in text  # the unit it opens on: the top of the leader's view
    assert 'id="nav-leaders"' in text
    assert client.get("/leaders/?unit=P-TAN-LAP&period=2026-11").status_code == 403  # another ward
    assert client.get("/leaders/?unit=DLK&period=2026-11").status_code == 403  # the province above
    assert client.get("/leaders/?unit=NOWHERE").status_code == 404
    assert client.get("/leaders/overdue?unit=P-TAN-LAP&period=2026-11").status_code == 403
    # Someone who is not a leader gets no page, and no menu link.
    officer = client_of(site, "cb.buonmathuot")
    assert officer.get("/leaders/").status_code == 403
    assert 'id="nav-leaders"' not in officer.get("/tasks/").get_data(as_text=True)


def test_each_person_lands_on_their_own_page_after_signing_in(site):
    """A leader, who works no task, lands on the figures of their place; officials on their task list;
    a citizen on their reports; a page asked for (?next=) wins over all of them."""
    for username, landing in (("ld.buonmathuot", "/leaders/"), ("ct.ubnd", "/leaders/"), ("cb.buonmathuot", "/tasks/"),
                              ("admin", "/tasks/"), ("dan.tranthimai", "/my-reports")):
        client = site.test_client()
        answer = sign_in(client, username)
        assert answer.status_code == 302 and answer.headers["Location"] == landing, (username, answer.headers)
        assert client.get("/login").headers["Location"] == landing  # signed in already: sent on
    client = site.test_client()
    token = csrf_of(client.get("/login?next=/cases/").get_data(as_text=True))
    answer = client.post("/login?next=/cases/", data={"username": "ct.ubnd", "password": "demo1022",
                                                      "csrf_token": token})
    assert answer.headers["Location"] == "/cases/"


def test_the_page_shows_the_reports_figures_and_its_charts(site):
    client = client_of(site, "ct.ubnd")  # the provincial committee's leader: the whole province
    page = client.get("/leaders/?unit=DLK&period=2026-11").get_data(as_text=True)
    data = collected(site, "DLK")
    s = data.summary
    assert 160 < s["received"] <= 180  # merged duplicates are not counted
    num = lambda v, d=0: format_number(v, d, "vi")  # noqa: E731 - the PDF's own formatting
    pct = lambda v: format_percent(v, 1, "vi")  # noqa: E731
    cards = dict(re.findall(r'data-figure="(\w+)"><div class="n">([^<]*)</div>', page))
    assert cards["received"] == num(s["received"]) and cards["resolved"] == num(s["resolved"])
    assert cards["on_time_share"] == pct(s["on_time_share"]) and cards["overdue"] == num(s["overdue"])
    assert cards["median_hours"] == num(s["median_hours"], 1) and cards["satisfaction"] == pct(s["satisfaction"])
    for row in data.tables["by_unit"]:
        cells = cell(page, "unit-table", row["code"] or "", "data-unit")
        assert cells[0] == row["label"]
        assert cells[1:4] == [num(row["received"]), num(row["resolved"]), pct(row["on_time_share"])]
        assert cells[5] == num(row["overdue"])
    for row in data.tables["by_channel"]:
        assert cell(page, "channel-table", row["key"], "data-channel")[1:] == [num(row["count"]), pct(row["share"])]
    for row in data.tables["trend"]:
        assert cell(page, "trend-table", row["key"], "data-figure")[0] == row["label"]
    # The charts are the report's own Vega-Lite specs, unchanged.
    specs = {name: json.loads(body) for name, body in
             re.findall(r'<script type="application/json" id="spec-(\w+)">(.*?)</script>', page, re.S)}
    assert set(specs) == set(data.charts) and specs["by_channel"] == json.loads(json.dumps(data.charts["by_channel"]))
    assert "build/leaders.js" in page and "<script>" not in page  # no inline script
    # Drill down: each unit in view links to its own figures for the same period, which are its report's.
    assert 'href="/leaders/?type=operations&amp;unit=P-TAN-LAP&amp;period=2026-11"' in page
    ward = client.get("/leaders/?type=operations&unit=P-TAN-LAP&period=2026-11").get_data(as_text=True)
    mine = collected(site, "P-TAN-LAP").summary
    assert re.search(r'data-figure="received"><div class="n">([^<]*)<', ward).group(1) == num(mine["received"])
    assert 'id="unit-up"' in ward and 'unit=DLK' in ward  # back up to the province
    # ... and by period: October, with its own figures; no "next" after the current month.
    assert 'href="/leaders/?type=operations&amp;unit=DLK&amp;period=2026-10"' in page
    october = client.get("/leaders/?unit=DLK&period=2026-10").get_data(as_text=True)
    earlier = collected(site, "DLK", "2026-10").summary["received"]
    assert re.search(r'data-figure="received"><div class="n">([^<]*)<', october).group(1) == num(earlier)
    this_month = client.get("/leaders/?unit=DLK&period=2026-12").get_data(as_text=True)
    assert 'id="period-next"' not in this_month and 'id="period-previous"' in this_month
    week = client.get("/leaders/?unit=DLK&period=2026-W48")
    assert week.status_code == 200 and "Tuần 48" in week.get_data(as_text=True)


def test_every_overdue_case_page_by_page(site, monkeypatch):
    from webapp.blueprints import leaders

    monkeypatch.setattr(leaders, "OVERDUE_ON_PAGE", 20)  # the figures page lists 20, the others are a click away
    monkeypatch.setattr(leaders, "OVERDUE_PAGE_SIZE", 10)
    client = client_of(site, "ct.ubnd")
    summary = collected(site, "DLK").summary
    assert summary["overdue"] > 20
    page = client.get("/leaders/?unit=DLK&period=2026-11").get_data(as_text=True)
    assert 'href="/leaders/overdue?unit=DLK&amp;period=2026-11"' in page
    seen = []
    pages = -(-summary["overdue"] // 10)
    for number in range(1, pages + 1):
        text = client.get(f"/leaders/overdue?unit=DLK&period=2026-11&page={number}").get_data(as_text=True)
        if number == 1:
            assert format_number(summary["overdue"], 0, "vi") in re.search(r'id="overdue-total">([^<]*)<', text).group(1)
        seen.extend(re.findall(r'<a href="/cases/([^"]+)">', text))
    assert len(seen) == len(set(seen)) == summary["overdue"]
    # A page past the end is the last one.
    past = client.get("/leaders/overdue?unit=DLK&period=2026-11&page=999999999999999999999").get_data(as_text=True)
    assert re.findall(r'<a href="/cases/([^"]+)">', past) == seen[(pages - 1) * 10:]
    assert client_of(site, "ld.tanlap").get("/leaders/overdue?unit=DLK&period=2026-11").status_code == 403


def test_a_bad_period_is_said_in_words_and_the_page_still_answers(site):
    client = client_of(site, "ct.ubnd")
    bad = client.get("/leaders/?unit=DLK&period=2026-13")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert 'id="period-error"' in text and "2026-13" in text
    future = client.get("/leaders/?unit=DLK&period=2027-05")
    assert future.status_code == 400 and "chưa bắt đầu" in future.get_data(as_text=True)


def _wait_done(client, job: int) -> dict:
    """The job's status once the thread making the PDF has finished with it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/leaders/reports/jobs/{job}.json").get_json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.1)
    pytest.fail(f"job {job} did not finish: {status}")


def test_a_bad_report_form_keeps_what_was_chosen_and_says_each_problem(site):
    client = client_of(site, "ld.buonmathuot")
    page = client.get("/leaders/reports").get_data(as_text=True)
    token = csrf_of(page)
    # The lists offered: the leader's ward only, this week and month and the ones before, the report types.
    assert '<option value="P-BUON-MA-THUOT" selected>' in page and 'value="P-TAN-LAP"' not in page
    assert 'value="2026-W49"' in page and 'value="2026-11" selected' in page and 'value="operations"' in page
    bad = client.post("/leaders/reports", data={"csrf_token": token, "type": "operations", "unit": "P-TAN-LAP",
                                                "period": "2027-01", "language": "vi"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert 'id="form-errors"' in text
    errors = dict(re.findall(r'<span class="field-error" id="e-(\w+)">([^<]*)</span>', text))
    assert set(errors) == {"unit", "period"}, errors
    assert "phạm vi" in errors["unit"] and "chưa bắt đầu" in errors["period"]
    assert '<option value="2026-11"' in text  # the form is there again, nothing lost
    missing = client.post("/leaders/reports", data={"csrf_token": token, "type": "", "unit": "", "period": "x"})
    assert set(re.findall(r'id="e-(\w+)"', missing.get_data(as_text=True))) >= {"type", "unit", "period"}


def test_a_leader_generates_a_pdf_downloads_it_and_finds_it_in_the_archive(site):
    client = client_of(site, "ld.tanlap")
    token = csrf_of(client.get("/leaders/reports").get_data(as_text=True))
    form = {"csrf_token": token, "type": "operations", "unit": "P-TAN-LAP", "period": "2026-11", "language": "vi"}
    answer = client.post("/leaders/reports", data=form, headers={"Accept": "application/json"}).get_json()
    assert answer["existing"] is False and "Phường Tân Lập — Tháng 11/2026" in answer["title"]
    status = _wait_done(client, answer["job"])
    assert status["state"] == "done" and status["percent"] == 100, status
    pdf = client.get(status["download_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert hashlib.sha256(pdf.data).hexdigest() == status["sha256"]
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "phường Tân Lập" in text and "BÁO CÁO" in text
    # The page's figures are the PDF's.
    mine = collected(site, "P-TAN-LAP").summary
    assert format_number(mine["received"], 0, "vi") in text
    # A November report is made once: asking again offers the archived copy, not a new one.
    again = client.post("/leaders/reports", data=form)
    assert again.status_code == 303 and f"/leaders/reports/jobs/{answer['job']}?existing=1" in again.location
    # Without script the form leads to the job's own page: done, with the link and the note that it is a copy.
    job_page = client.get(again.location).get_data(as_text=True)
    assert 'id="already-made"' not in job_page and 'data-part="existing">' in job_page
    assert f'href="{status["download_url"]}"' in job_page and 'data-state="done"' in job_page
    assert "build/leaders-reports.js" in job_page
    archive = client.get("/leaders/reports").get_data(as_text=True)
    row = re.search(rf'<tr data-report="{answer["job"]}">.*?</tr>', archive, re.S).group(0)
    assert status["sha256"] in row and "H&#39;Nga Mlô" in row and "Tháng 11/2026" in row
    # Another ward's leader sees neither the job nor the PDF nor its archive row.
    other = client_of(site, "ld.buonmathuot")
    assert other.get(f"/leaders/reports/jobs/{answer['job']}.json").status_code == 404
    assert other.get(status["download_url"]).status_code == 403
    assert f'data-report="{answer["job"]}"' not in other.get("/leaders/reports").get_data(as_text=True)


def test_subscriptions_are_added_checked_edited_paused_and_deleted(site):

    client = client_of(site, "ld.buonmathuot")
    page = client.get("/leaders/subscriptions").get_data(as_text=True)
    token = csrf_of(page)
    assert 'id="subscription-form"' in page and 'value="07:00"' in page
    bad = client.post("/leaders/subscriptions", data={
        "csrf_token": token, "type": "operations", "unit": "P-TAN-LAP", "frequency": "monthly", "day_of_month": "0",
        "time": "25:10", "language": "vi", "only_changed": "1"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    errors = dict(re.findall(r'<span class="field-error" id="e-(\w+)">([^<]*)</span>', text))
    assert set(errors) == {"unit", "day_of_month", "time"}, errors
    assert "07:30" in errors["time"] and "phạm vi" in errors["unit"]
    # Nothing typed is lost: the time, the day, the frequency and the box come back as they were.
    assert 'value="25:10"' in text and 'value="0"' in text and '<option value="monthly" selected>' in text
    assert 'name="only_changed" value="1" checked' in text
    good = client.post("/leaders/subscriptions", data={
        "csrf_token": token, "type": "operations", "unit": "P-BUON-MA-THUOT", "frequency": "weekly", "weekday": "0",
        "day_of_month": "1", "time": "07:30", "language": "vi", "only_changed": "1"})
    assert good.status_code == 303
    with site.app_context():
        sub = db.session.scalar(select(ReportSubscription).order_by(ReportSubscription.id.desc()))
        assert (sub.report_type, sub.unit_code, sub.frequency, sub.weekday, sub.hour, sub.minute, sub.only_changed,
                sub.active) == ("operations", "P-BUON-MA-THUOT", "weekly", 0, 7, 30, True, True)
        sub_id = sub.id
    listing = client.get("/leaders/subscriptions").get_data(as_text=True)
    row = re.search(rf'<tr data-subscription="{sub_id}">.*?</tr>', listing, re.S).group(0)
    assert "Thứ Hai 07:30" in row and "Hằng tuần" in row and "Phường Buôn Ma Thuột" in row
    # Edit: monthly on the 31st (a short month's last day), the rest kept.
    edited = client.post(f"/leaders/subscriptions/{sub_id}", data={
        "csrf_token": token, "type": "operations", "unit": "P-BUON-MA-THUOT", "frequency": "monthly",
        "day_of_month": "31", "weekday": "0", "time": "06:00", "language": "en"})
    assert edited.status_code == 303
    paused = client.post(f"/leaders/subscriptions/{sub_id}/pause", data={"csrf_token": token, "paused": "1"})
    assert paused.status_code == 303
    with site.app_context():
        sub = db.session.get(ReportSubscription, sub_id)
        assert (sub.frequency, sub.day_of_month, sub.weekday, sub.hour, sub.language, sub.only_changed, sub.active) == (
            "monthly", 31, None, 6, "en", False, False)
    # Another leader can neither see nor change it.
    other = client_of(site, "ld.tanlap")
    assert f'data-subscription="{sub_id}"' not in other.get("/leaders/subscriptions").get_data(as_text=True)
    assert other.get(f"/leaders/subscriptions/{sub_id}").status_code == 404
    assert other.post(f"/leaders/subscriptions/{sub_id}/delete", data={"csrf_token": token}).status_code in (400, 404)
    assert client.post(f"/leaders/subscriptions/{sub_id}/delete", data={"csrf_token": token}).status_code == 303
    with site.app_context():
        assert db.session.get(ReportSubscription, sub_id) is None


def test_a_failed_delivery_shows_its_reason_and_can_be_retried(site):
    from engine.i18n import t as text_of
    from engine.i18n import to_json

    client = client_of(site, "ld.eakao")
    token = csrf_of(client.get("/leaders/subscriptions").get_data(as_text=True))
    with site.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "ld.eakao"))
        sub = ReportSubscription(user_id=user_id, report_type="operations", unit_code="P-EA-KAO", frequency="weekly",
                                 hour=7, minute=0, weekday=0, language="vi")
        db.session.add(sub)
        db.session.flush()
        delivery = ReportDelivery(subscription_id=sub.id, slot=datetime(2026, 11, 30, 0, 0, tzinfo=UTC),
                                  period_key="2026-W48", status="failed", attempts=5,
                                  last_error=to_json(text_of("the mail server refused the message: %(reason)s",
                                                             reason="550 mailbox full")))
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
    page = client.get("/leaders/subscriptions").get_data(as_text=True)
    row = re.search(rf'<tr data-delivery="{delivery_id}" data-state="failed">.*?</tr>', page, re.S).group(0)
    assert "550 mailbox full" in row and "Tuần 48" in row and "/retry" in row
    assert client.post(f"/leaders/deliveries/{delivery_id}/retry", data={"csrf_token": token}).status_code == 303
    with site.app_context():
        assert db.session.get(ReportDelivery, delivery_id).status != "failed"  # due again now (or sent already)
    assert client_of(site, "ld.tanlap").post(f"/leaders/deliveries/{delivery_id}/retry",
                                             data={"csrf_token": token}).status_code in (400, 404)


@pytest.mark.parametrize("code, figures", [
    ("indicators", ("indicators", "breaches", "cases_raised", "cases_open", "plans_late")),
    ("cameras", ("incidents", "median_verify_minutes", "median_clear_minutes"))])
def test_the_indicator_and_camera_reports_have_their_tabs_with_the_reports_figures(site, code, figures):
    if code not in catalog.report_types():
        pytest.skip(f"the {code} report type is not installed")
    client = client_of(site, "ct.ubnd")
    page = client.get("/leaders/?unit=DLK&period=2026-11").get_data(as_text=True)
    assert f'href="/leaders/?type={code}&amp;unit=DLK&amp;period=2026-11"' in page  # its tab
    shown = client.get(f"/leaders/?type={code}&unit=DLK&period=2026-11")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    with site.app_context(), using(FrozenClock(NOW)):
        data = catalog.get(code).collect(db.session, ReportParams(type=code, unit="DLK", period="2026-11"),
                                         translator("vi"))
    cards = dict(re.findall(r'data-figure="(\w+)"><div class="n">([^<]*)</div>', text))
    for key in figures:
        decimals = 1 if key.startswith("median") else 0
        assert cards[key].split(" / ")[0] == format_number(data.summary[key], decimals, "vi"), key
    specs = re.findall(r'<script type="application/json" id="spec-(\w+)">', text)
    assert sorted(specs) == sorted(data.charts)
