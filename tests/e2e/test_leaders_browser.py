"""The leaders' page in a real browser (Playwright driving Debian's chromium, headless) on the demo server with a
year of synthetic cases written into its database: the figures with the report's charts drawn by vega-embed under
the CSP, the drill-down to a ward; a PDF report generated with its progress, downloaded and checked; a subscription.

Screenshots: docs/img/leaders-*.png (IOC_SCREENSHOTS_DIR=docs/img).
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.browsing import signed_in, wait_js

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded(server):
    """The demo server (tests/e2e/conftest.py) with 1,500 synthetic cases of the last thirteen months in four
    wards, handled by them or by three departments (reports.bench.make_cases, written into its database)."""
    from engine.database import make_engine, make_session_factory
    from reports.bench import make_cases
    from workflows.models import AdminUnit, Category

    engine = make_engine(server.database_url)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session:
        ids = {c: session.scalar(select(AdminUnit.id).where(AdminUnit.code == c)) for c in
               ("P-BUON-MA-THUOT", "P-TAN-LAP", "P-TAN-AN", "P-EA-KAO", "SXD", "SYT", "CA-DLK")}
        categories = list(session.scalars(select(Category.code).where(Category.internal.is_(False))))[:8]
        make_cases(session, 1500, now - timedelta(days=400), now - timedelta(hours=2),
                   [ids[c] for c in ("P-BUON-MA-THUOT", "P-TAN-LAP", "P-TAN-AN", "P-EA-KAO")],
                   [ids[c] for c in ("SXD", "SYT", "CA-DLK")], categories, seed=7, now=now)
        session.commit()
    engine.dispose()
    return server


def _watch(page) -> list[str]:
    """Script errors and CSP refusals the page reports (a form refused with 400 is expected, not a problem)."""
    problems: list[str] = []

    def console(message) -> None:
        if "status of 400" in message.text:
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", console)
    return problems


def test_a_leader_reads_the_figures_with_the_reports_charts_and_drills_down(seeded, browser, shots):
    base = seeded
    page = signed_in(browser, base, "ct.ubnd")
    problems = _watch(page)
    page.click("#nav-leaders")
    page.wait_for_url(f"{base}/leaders/")
    page.click("#period-previous")  # last month: a whole month of figures
    page.wait_for_selector(".report-chart .chart[data-drawn]", timeout=20000)
    charts = page.locator(".report-chart .chart")
    for n in range(charts.count()):
        charts.nth(n).locator("svg").wait_for(timeout=20000)
        assert charts.nth(n).get_attribute("data-drawn") == "true"
    assert page.locator(".report-chart canvas").count() == 0
    # The by-unit chart's bars are the table's units with cases, in the same order (the same spec).
    labels = page.locator("#chart-by_unit svg g.role-axis-label text").all_text_contents()
    rows = [t.strip() for t in page.locator("#unit-table tbody th").all_text_contents()]
    names = [label for label in labels if label in rows]
    assert len(names) >= 3 and names == [r for r in rows if r in names]
    received = page.locator('[data-figure="received"] .n').inner_text()
    assert int(received.replace(".", "")) > 50
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.screenshot(path=str(shots / "leaders-figures.png"))
    # Drill down to a ward, and back up.
    page.click('#unit-table a:text("Phường Tân Lập")')
    page.wait_for_selector("#unit-up")
    assert "phường Tân Lập" in page.inner_text("#report-title")
    page.wait_for_selector(".report-chart .chart[data-drawn]", timeout=20000)
    assert not problems, problems
    page.context.close()


def test_a_leader_generates_a_pdf_follows_its_progress_and_downloads_it(seeded, browser, shots, tmp_path):
    base = seeded
    page = signed_in(browser, base, "ct.ubnd")
    problems = _watch(page)
    page.goto(f"{base}/leaders/?unit=DLK")
    page.click("#period-previous")
    period = page.url.split("period=")[1]
    page.click("#make-pdf")
    page.wait_for_url(f"{base}/leaders/reports?*")
    # The form comes filled from the figures page: the province, last month, the reader's language.
    assert page.input_value("#f-unit") == "DLK" and page.input_value("#f-period") == period
    assert page.input_value("#f-language") == "vi"
    wait_js(page, "window.io && document.querySelector('#report-job')")
    page.click("#generate")
    box = page.locator("#report-job")
    box.wait_for(state="visible")
    page.screenshot(path=str(shots / "leaders-progress.png"))
    page.locator("#download").wait_for(state="visible", timeout=120_000)
    # The bar moved with the worker's pushes, stage by stage, up to 100 %.
    seen = [int(p) for p in box.get_attribute("data-seen").split(",")]
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == 100, seen
    assert page.eval_on_selector("#report-job progress", "p => p.value") == 100
    with page.expect_download() as info:
        page.click("#download")
    path = tmp_path / "report.pdf"
    info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    title = page.inner_text("#report-job [data-part=title]").split(" — ")
    assert "BÁO CÁO" in text and "tỉnh Đắk Lắk" in " ".join(text.split()) and title[-1] in " ".join(text.split())
    sha = page.inner_text("#report-job [data-part=sha256]")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    # The archive lists it at once, with who asked and its fingerprint.
    row = page.locator("#archive-table tbody tr").first
    row.wait_for()
    assert "Châu Bích Trinh" in row.inner_text() and row.locator("code.sha").get_attribute("title") == sha
    page.screenshot(path=str(shots / "leaders-archive.png"))
    assert not problems, problems
    page.context.close()


def test_a_leader_subscribes_to_a_weekly_report_and_fixes_a_bad_time(seeded, browser, shots):
    base = seeded
    page = signed_in(browser, base, "ld.buonmathuot")
    problems = _watch(page)
    page.goto(f"{base}/leaders/")
    page.click("nav.tabs >> text=Đăng ký nhận báo cáo")
    page.wait_for_url(f"{base}/leaders/subscriptions")
    assert page.input_value("#f-unit") == "P-BUON-MA-THUOT" and page.locator("#f-unit option").count() == 1
    page.select_option("#f-frequency", "weekly")
    page.select_option("#f-weekday", "0")
    page.fill("#f-time", "")  # a time the form cannot take: the server says so, and keeps the rest
    page.check("input[name=only_changed]")
    page.click("#subscribe")
    page.wait_for_selector("#e-time")
    assert page.is_checked("input[name=only_changed]") and page.input_value("#f-weekday") == "0"
    page.fill("#f-time", "07:30")
    page.click("#subscribe")
    row = page.locator("#subscription-table tbody tr").first
    row.wait_for()
    text = row.inner_text()
    assert "Thứ Hai 07:30" in text and "Hằng tuần" in text and "Phường Buôn Ma Thuột" in text and "có" in text
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.screenshot(path=str(shots / "leaders-subscriptions.png"), full_page=True)
    # Paused, then resumed.
    row.locator("button", has_text="Tạm dừng").click()
    page.locator("#subscription-table .state-tag.paused").wait_for()
    page.locator("#subscription-table button", has_text="Tiếp tục").click()
    page.locator("#subscription-table .state-tag.active").wait_for()
    assert not problems, problems
    page.context.close()
