"""The designer's compare page and instance view in a real browser (Playwright driving Debian's chromium), on the demo.

Before the pages are opened, a second version of field_report (a normal report's SLA 72 -> 48 hours and the
reminder timer at the deadline) and a hotline_call version whose "answered" closing step fails are deployed
into the demo's database, and an information call is taken: its case stops with an ERROR task.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browsing import signed_in, wait_js

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BROKEN_PARAMETER = 'value="answered_reason_not_set"'


def prepare(database_url: str) -> str:
    """Deploy the changed field_report and a failing hotline_call, take an information call; its case code."""
    from tests.compare_samples import changed_field_report
    from webapp import create_app
    from webapp.extensions import db
    from workflows.case_service import IntakeRequest

    app = create_app({"DATABASE_URL": database_url, "TIMER_SWEEP": "off"})
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.definitions.deploy(changed_field_report(), deployed_by="thietke")
        hotline = (ROOT / "bpmn" / "hotline_call.bpmn").read_text(encoding="utf-8")
        broken = hotline.replace('<spiffworkflow:parameter id="reason" type="any" value="&quot;answered&quot;"/>',
                                 f'<spiffworkflow:parameter id="reason" type="any" {BROKEN_PARAMETER}/>')
        assert broken != hotline
        tables = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "bpmn").glob("*.dmn"))}
        services.definitions.deploy({"hotline_call.bpmn": broken, **tables}, process_key="hotline_call", deployed_by="thietke")
        db.session.commit()
        case, _ = services.cases.intake(IntakeRequest(
            channel="hotline", category="street_lighting", admin_unit="P-BUON-MA-THUOT",
            title="Hỏi giờ bật đèn đường", description="Người dân hỏi giờ bật đèn", reporter_phone="0912345678",
            lat=12.68, lon=108.04, source="hotline", process_data={"call_kind": "information"}))
        db.session.commit()
        return case.code


@pytest.fixture(scope="module")
def failed_case(server, tmp_path_factory):
    """The prepared demo: the code of the hotline case whose process failed."""
    # The server fixture's database is the newest demo file of this run (its server is the one running).
    files = sorted(tmp_path_factory.getbasetemp().glob("browser-demo*/demo.sqlite3"), key=lambda p: p.stat().st_mtime)
    assert files, "the demo server's database was not found"
    env = {**os.environ, "IOC_DATABASE_URL": f"sqlite:///{files[-1]}"}
    done = subprocess.run([sys.executable, "-c", "import sys; from tests.e2e.test_designer_compare_browser import prepare;"
                           " print(prepare(sys.argv[1]))", env["IOC_DATABASE_URL"]],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def designer_page(browser, base):
    """A page signed in as the demo's process designer (who lands outside the task list)."""
    page = browser.new_context(viewport={"width": 1600, "height": 1100}, locale="vi-VN").new_page()
    page.goto(base + "/login")
    page.fill("#username", "thietke")
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_the_designer_sees_the_changes_coloured_and_finds_each_one_on_the_diagram(server, browser, shots, failed_case):
    page = designer_page(browser, server)
    page.goto(server + "/designer/compare?key=field_report&a=1&b=2")
    page.wait_for_selector("body[data-compare-ready]", timeout=20000)
    diagrams = page.locator(".compare-diagrams")
    assert diagrams.count() == 1 and diagrams.get_attribute("data-failed") is None
    old, new = page.locator('.compare-canvas[data-side="old"]'), page.locator('.compare-canvas[data-side="new"]')
    # The reminder timer changed: amber on both sides; nothing was added or removed.
    assert old.locator('.djs-element.diff-changed[data-element-id="remind_timer"]').count() == 1
    assert new.locator('.djs-element.diff-changed[data-element-id="remind_timer"]').count() == 1
    assert page.locator(".compare-canvas .djs-element.diff-added, .compare-canvas .djs-element.diff-removed").count() == 0
    marked = page.locator(".compare-canvas .djs-element[class*='diff-']").count()
    assert marked >= 2 and int(diagrams.get_attribute("data-marked")) == marked
    # The list: the timer's date old -> new; the SLA table's row 2, 72 -> 48.
    row = page.locator('tr[data-element="remind_timer"]')
    assert 'assignment["remind_at"]' in row.inner_text() and 'assignment["due_at"]' in row.inner_text()
    assert "72" in page.locator('tr[data-rule="field_report_sla_rule_2"]').inner_text()
    assert "48" in page.locator('tr[data-rule="field_report_sla_rule_2"]').inner_text()
    # Clicking the change selects the element on both diagrams.
    row.click()
    page.wait_for_selector('.compare-canvas[data-side="new"] .djs-element.selected[data-element-id="remind_timer"]')
    assert old.locator('.djs-element.selected[data-element-id="remind_timer"]').count() == 1
    assert row.get_attribute("class").endswith("current")
    page.set_viewport_size({"width": 1600, "height": 1450})  # the pickers, both diagrams and the list of changes
    page.locator('[data-frame="changes"]').click()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "designer-compare.png"), full_page=False)


def test_the_instance_view_marks_the_failed_step_and_shows_its_data(server, browser, shots, failed_case):
    page = signed_in(browser, server, "admin")
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(server + f"/designer/instances/{failed_case}")
    page.wait_for_selector("body[data-instance-ready]", timeout=20000)
    canvas = page.locator("#instance-canvas")
    assert canvas.locator('.djs-element.st-failed[data-element-id="close_answered"]').count() == 1
    assert canvas.locator(".djs-element.st-failed").count() == 1
    assert canvas.locator('.djs-element.st-completed[data-element-id="start"]').count() == 1
    assert canvas.locator(".djs-connection.st-taken").count() >= 1
    # The diagram fills the width beside the detail panel.
    box = canvas.bounding_box()
    assert box["width"] > 1200 and box["height"] >= 350
    canvas.locator('.djs-element[data-element-id="close_answered"]').click()
    detail = page.locator("#instance-detail")
    wait_js(page, "document.querySelector('#detail-runs pre') !== null")
    assert "answered_reason_not_set" in detail.locator("#detail-reason").inner_text()
    assert '"call_kind": "information"' in detail.locator("pre").first.inner_text()
    page.locator('.instance-zoom [data-zoom="in"]').click()
    page.locator('.instance-zoom [data-zoom="fit"]').click()
    page.screenshot(path=str(shots / "designer-instance.png"), full_page=False)
