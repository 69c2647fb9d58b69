"""Monitoring in a real browser (Playwright driving Debian's chromium, headless), on the demo server with one
indicator seeded: the overview's lights, the trend chart drawn by vega-embed as SVG under the site's CSP (no
eval: vega's expression interpreter), its points and breach marks, and the table of the same figures.

Screenshots: docs/img/monitoring-overview.png, docs/img/monitoring-trend.png (IOC_SCREENSHOTS_DIR=docs/img).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browsing import free_port, signed_in
from tests.monitoring_views_data import seed_monitoring
from workflows.monitoring.periods import Period

ROOT = Path(__file__).resolve().parents[2]
CODE, CASE = "E2E-DVC", "KPI-2026-009901"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """`ioc demo` on a free port; once it answers, an indicator with sixteen months of values up to the last
    month due, two breaches and an open case for Buôn Ma Thuột (rows written into its database)."""
    folder = tmp_path_factory.mktemp("monitoring-demo")
    port, url = free_port(), f"sqlite:///{folder / 'demo.sqlite3'}"
    env = {**os.environ, "IOC_DATABASE_URL": url, "IOC_PORT": str(port), "IOC_FILES_DIR": str(folder / "files"),
           "IOC_MAP_TILES_URL": "", "IOC_LANG": "vi"}
    env.pop("IOC_REDIS_URL", None)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([str(Path(sys.executable).parent / "ioc"), "demo"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                log.close()
                pytest.fail("the demo server stopped:\n" + (folder / "server.log").read_text())
            time.sleep(0.2)
    else:
        process.kill()
        process.wait()
        log.close()
        pytest.fail("the demo server did not answer:\n" + (folder / "server.log").read_text())
    from engine.database import make_engine, make_session_factory

    engine = make_engine(url)
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    with make_session_factory(engine)() as session:
        ids = seed_monitoring(session, CODE, CASE, Period.last_due("monthly", today, 10).key)
    engine.dispose()
    yield base, ids
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


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


def test_the_overview_shows_the_lights_in_words_and_drills_down(seeded, browser, shots):
    base, ids = seeded
    page = signed_in(browser, base, "ct.ubnd")
    problems = _watch(page)
    page.click("header nav >> text=Giám sát chỉ tiêu")
    page.wait_for_url(f"{base}/monitoring/")
    red = page.locator(f'tr[data-indicator="{CODE}"][data-unit="P-BUON-MA-THUOT"]')
    assert red.get_attribute("data-light") == "red"
    assert "vi phạm" in red.inner_text() and "64,0 %" in red.inner_text() and CASE in red.inner_text()
    amber = page.locator(f'tr[data-indicator="{CODE}"][data-unit="P-TAN-AN"]')
    assert amber.get_attribute("data-light") == "amber" and "trễ hạn" in amber.inner_text()
    counts = page.locator(".light-counts").inner_text()
    assert "vi phạm" in counts and "chưa có số liệu" in counts
    page.select_option("#f-light", "red")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector(f'tr[data-indicator="{CODE}"][data-unit="P-BUON-MA-THUOT"]')
    page.set_viewport_size({"width": 1280, "height": 1300})
    page.screenshot(path=str(shots / "monitoring-overview.png"))
    # Drill down: the ward's own page lists its rows only.
    page.goto(f"{base}/monitoring/?unit=P-BUON-MA-THUOT")
    assert {page.locator("tr[data-unit]").nth(n).get_attribute("data-unit")
            for n in range(page.locator("tr[data-unit]").count())} == {"P-BUON-MA-THUOT"}
    assert not problems, problems
    page.context.close()


def test_the_trend_chart_draws_its_points_target_and_breaches_as_svg_under_the_csp(seeded, browser, shots):
    base, ids = seeded
    page = signed_in(browser, base, "cb.buonmathuot")
    problems = _watch(page)
    page.goto(f"{base}/monitoring/indicators/{CODE}?unit=P-BUON-MA-THUOT")
    page.wait_for_selector("#trend-chart[data-drawn]", timeout=20000)
    assert page.get_attribute("#trend-chart", "data-drawn") == "true"
    svg = page.locator("#trend-chart svg")
    assert svg.count() == 1 and page.locator("#trend-chart canvas").count() == 0
    points = page.locator("#trend-chart svg g.mark-symbol.role-mark path")
    assert points.count() == 16 + 2  # a dot per month, a diamond per breach
    assert page.locator("#trend-chart svg g.mark-line.role-mark path").count() == 2  # the values and the target
    labels = page.locator("#trend-chart svg g.mark-text.role-mark text")
    assert labels.count() == 1 and labels.first.text_content() == CASE  # the case raised, over its breach
    titles = page.locator("#trend-chart svg g.role-axis-title text").all_text_contents()
    assert sorted(titles) == ["Giá trị (%)", "Kỳ báo cáo"], titles
    assert page.locator("#trend-table tbody tr").count() == 16
    assert page.locator("#trend-table tbody tr.row-red").count() == 2
    page.locator(f'#trend-table a:text("{CASE}")').first.wait_for()
    page.screenshot(path=str(shots / "monitoring-trend.png"), full_page=True)
    page.click("#trend-table tbody tr:last-child >> text=lịch sử số liệu")
    page.wait_for_url(f"{base}/monitoring/values/{ids['kpi_value']}")
    assert "bao-cao-dvc.xlsx" in page.inner_text("table.kpi-history")
    assert not problems, problems
    page.context.close()


def test_a_tooltip_names_the_case_of_a_breach_without_breaking_the_csp(seeded, browser):
    base, ids = seeded
    page = signed_in(browser, base, "cb.buonmathuot")
    problems = _watch(page)
    page.goto(f"{base}/monitoring/indicators/{CODE}?unit=P-BUON-MA-THUOT")
    page.wait_for_selector("#trend-chart[data-drawn=true]", timeout=20000)
    page.locator("#trend-chart svg g.mark-symbol.role-mark.breaches_marks path").last.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for(timeout=5000)
    text = tooltip.inner_text()
    assert CASE in text and "64,0" in text and "lệch kế hoạch" in text, text
    assert not problems, problems
    page.context.close()


def test_a_designer_adds_an_indicator_fixing_what_the_form_refused_and_sets_its_target(seeded, browser, shots):
    base, ids = seeded
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    problems = _watch(page)
    page.goto(base + "/login?next=/designer/")
    page.fill("#username", "thietke")
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/designer/")
    page.click("header nav >> text=Giám sát chỉ tiêu")  # a designer's link opens the catalogue
    page.wait_for_url(f"{base}/monitoring/catalogue")
    page.click("text=Chỉ tiêu mới")
    page.fill("#k-code", "E2E-HO-NGHEO")
    page.fill("#k-name", "Tỷ lệ hộ nghèo (thử)")
    page.select_option("#k-field", "socio_economic")
    page.fill("#k-measure", "%")
    page.select_option("#k-period", "yearly")
    page.select_option("#k-direction", "lower")
    page.fill("#k-max", "một trăm")
    page.click("#indicator-form button[type=submit]")
    errors = {page.locator(".field.has-error").nth(n).get_attribute("data-field")
              for n in range(page.locator(".field.has-error").count())}
    assert errors == {"name_en", "department", "levels", "max_value"}, errors
    assert page.input_value("#k-name") == "Tỷ lệ hộ nghèo (thử)"  # nothing typed is lost
    page.screenshot(path=str(shots / "monitoring-catalogue-refused.png"), full_page=True)
    page.fill("#k-name-en", "Poor households (test)")
    page.select_option("#k-department", "STC")
    page.check("input[name=levels][value=commune]")
    page.check("input[name=levels][value=ward]")
    page.fill("#k-max", "100")
    page.click("#indicator-form button[type=submit]")
    page.wait_for_url(f"{base}/monitoring/catalogue/E2E-HO-NGHEO")
    page.fill("#target-form input[name=year]", "2026")
    page.fill("#target-form input.unit-filter", "ea kao")
    assert page.input_value("#t-unit") == "P-EA-KAO"
    page.fill("#target-form input[name=value]", "3,5")
    page.click("#target-form button[type=submit]")
    row = page.locator("table.targets tbody tr").first
    assert "Phường Ea Kao" in row.inner_text() and "3,50" in row.inner_text()
    page.evaluate("window.scrollTo(0, 0)")  # the side navigation is sticky: shoot from the top
    page.screenshot(path=str(shots / "monitoring-catalogue.png"), full_page=True)
    assert not problems, problems
    page.context.close()


def test_the_overview_and_the_trend_fit_a_phone(seeded, browser, shots):
    base, ids = seeded
    page = signed_in(browser, base, "cb.buonmathuot", width=390)
    problems = _watch(page)
    for path, name in (("/monitoring/", "overview"), (f"/monitoring/indicators/{CODE}?unit=P-BUON-MA-THUOT", "trend")):
        page.goto(base + path)
        if name == "trend":
            page.wait_for_selector("#trend-chart[data-drawn=true]", timeout=20000)
            width = page.evaluate("document.querySelector('#trend-chart svg').getBoundingClientRect().width")
            assert width <= 390, width  # the chart takes the container's width
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than the phone"
        page.screenshot(path=str(shots / f"monitoring-{name}-phone.png"), full_page=True)
    assert not problems, problems
    page.context.close()
