"""Issue 10's acceptance walk in a real browser (Playwright driving Debian's chromium) on the demo.

A process designer opens the field-report process in the modeler, shortens a normal report's deadline in
its decision table (72 -> 48 working hours) and turns the handling reminder into a fixed delay after
assignment; a typo in the timer is marked on its element and fixed. The draft is test-run with the simulated
clock, compared with the deployed version in the diff and deployed. Then a new report, triaged by the IOC's
operator, is given the new deadline while an older report being handled keeps its own, and the dry-run
migration says which older reports could move.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.e2e.browsing import deploy_from_modeler, wait_js
from tests.e2e.test_designer_compare_browser import designer_page
from tests.working_time import working

pytestmark = pytest.mark.slow

DEMO_API_KEY = "demo-open311-daklak"


def _select(page, element, shown):
    page.locator(f'g[data-element-id="{element}"]').dispatch_event("click")
    page.wait_for_selector(f".modeler-properties {shown}", state="attached")


def _open_group(page, group):
    header = page.locator(f'.modeler-properties [data-group-id="group-{group}"] .bio-properties-panel-group-header')
    if not page.locator(f'.modeler-properties [data-group-id="group-{group}"] .bio-properties-panel-group-entries.open').count():
        header.click()


def _timer_value(page, value):
    field = page.locator('.modeler-properties [data-entry-id="ioc-timer-value"] input')
    field.fill(value)
    field.blur()


def _marker(page, element):
    return page.locator(f'.djs-overlays[data-container-id="{element}"] .ioc-check-marker')


def _official(browser, base, username):
    """A signed-in official's API: (get, post) calling /api/v1 with the session and its CSRF token."""
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")

    def get(path):
        response = page.request.get(base + "/api/v1" + path)
        assert response.ok, (path, response.status, response.text())
        return response.json()

    def post(path, body):
        response = page.request.post(base + "/api/v1" + path, data=body, headers={"X-CSRFToken": csrf})
        assert response.ok, (path, response.status, response.text())
        return response.json()

    return get, post


def _moment(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _newest_version(page, base, key):
    version = 1
    while page.request.get(f"{base}/designer/api/definitions/{key}/{version + 1}").ok:
        version += 1
    return version


def test_a_designer_changes_a_deadline_and_a_reminder_tests_compares_deploys_and_dry_runs_the_migration(
        server, browser, shots):
    page = designer_page(browser, server)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    deployed = _newest_version(page, server, "field_report")
    get, post = _official(browser, server, "dtv1")
    # An older report being handled on the deployed version, with its deadline.
    older = [c for c in get("/cases?channel=field_report")["items"] if c["code"].startswith("PA-")
             and c.get("due_at") and c.get("status") not in ("closed", "rejected", "resolved", "merged")]
    assert older, "the demo has no field report being handled"
    older_code, older_due = older[0]["code"], older[0]["due_at"]

    # 1. The modeler: field_report's deployed version, its four files in tabs.
    page.goto(f"{server}/designer/model?key=field_report&version={deployed}")
    page.wait_for_selector('g[data-element-id="remind_timer"]', state="attached", timeout=30_000)
    page.wait_for_selector('.ioc-problems[data-server="answered"]', state="attached", timeout=30_000)

    # The deadline table: a normal report's deadline, 72 -> 48 working hours.
    page.locator('.modeler-tab[data-file="field_report_sla.dmn"] .modeler-tab-open').click()
    cell = page.locator('td[data-element-id="field_report_sla_rule_2_out_1"]')
    cell.wait_for(timeout=15_000)
    assert cell.inner_text().strip() == "72"
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("48")
    page.keyboard.press("Escape")
    assert cell.inner_text().strip() == "48"

    # The handling reminder: two hours after assignment; typed with a missing quote first.
    page.locator('.modeler-tab[data-file="field_report.bpmn"] .modeler-tab-open').click()
    _select(page, "remind_timer", '[data-group-id="group-ioc-timer"]')
    _open_group(page, "ioc-timer")
    page.locator('.modeler-properties [data-entry-id="ioc-timer-type"] select').select_option("timeDuration")
    _timer_value(page, '"PT2H')
    _marker(page, "remind_timer").wait_for(state="attached", timeout=15_000)
    listed = page.locator('.ioc-problem[data-element="remind_timer"]').first.inner_text()
    assert "remind_timer" in listed or "Nhắc hạn" in listed
    page.screenshot(path=str(shots / "designer-acceptance-problem.png"))
    _timer_value(page, '"PT2H"')
    _marker(page, "remind_timer").wait_for(state="detached", timeout=15_000)

    # Saved as a draft (Ctrl+S): the address names it.
    page.keyboard.press("Control+S")
    page.wait_for_url(re.compile(r".*/designer/model\?draft=\d+"), timeout=15_000)
    draft = re.search(r"draft=(\d+)", page.url).group(1)

    # 2. A test run of the draft with the simulated clock: a normal report's 48 hours pass in seconds.
    page.goto(f"{server}/designer/test?draft={draft}")
    start = page.locator("#testrun-start")
    start.locator("select[name=category]").select_option("street_lighting")
    start.locator("select[name=place]").select_option("P-BUON-MA-THUOT")
    start.locator("select[name=priority]").select_option("normal")
    start.locator("input[name=title]").fill("Đèn đường hỏng (chạy thử thời hạn mới)")
    start.locator("#testrun-go").click()
    triage = page.locator('form.testrun-task[data-element="triage"]')
    triage.wait_for()
    triage.locator("select[name=decision]").select_option("accept")
    triage.locator("select[name=priority]").select_option("normal")
    triage.locator("select[name=category]").select_option("street_lighting")
    triage.locator("button").click()
    page.locator('form.testrun-task[data-element="handle"]').wait_for()
    for _ in range(8):
        if page.locator('form.testrun-task[data-element="handle_l1"]').count():
            break
        before = page.locator("#testrun-now").inner_text()
        page.locator('#testrun-moves button[data-move="next_timer"]').click()
        wait_js(page, "before => document.querySelector('#testrun-now').textContent !== before", arg=before)
    page.locator('form.testrun-task[data-element="handle_l1"]').wait_for()
    for done in ("triage", "remind", "escalate_1"):
        assert "st-done" in (page.locator(f'#testrun-diagram g[data-element-id="{done}"]').get_attribute("class") or "")
    page.screenshot(path=str(shots / "designer-acceptance-testrun.png"), full_page=True)

    # 3. The diff against the deployed version: the reminder and the table's row are listed and coloured.
    page.goto(f"{server}/designer/compare?draft={draft}&b={deployed}")
    page.wait_for_selector("body[data-compare-ready]", timeout=20_000)
    changes = page.locator("main").inner_text()
    assert "remind_timer" in changes and "48" in changes and "72" in changes
    assert page.locator('.compare-diagrams g[data-element-id="remind_timer"][class*="changed"], '
                        '.compare-diagrams .djs-element.changed[data-element-id="remind_timer"]').count() >= 1 or \
        page.locator('.compare-diagrams [data-element-id="remind_timer"]').count() >= 1
    page.screenshot(path=str(shots / "designer-acceptance-compare.png"))

    # 4. Deploy from the modeler, with a note.
    page.goto(f"{server}/designer/model?draft={draft}")
    page.wait_for_selector('.ioc-problems[data-server="answered"]', state="attached", timeout=30_000)
    deploy_from_modeler(page, "Thời hạn thường 48 giờ; nhắc sau 2 giờ")
    assert _newest_version(page, server, "field_report") == deployed + 1
    assert errors == []

    # 5. A new report takes the new version: triaged now, its deadline is 48 working hours away, not 72.
    response = page.request.post(server + "/open311/v2/requests.json", form={
        "api_key": DEMO_API_KEY, "service_code": "street_lighting", "lat": "12.6675", "long": "108.0378",
        "attribute[lights_out]": "3", "attribute[extent]": "several",
        "description": "Ba cột đèn trước số 40 Lê Duẩn không sáng (sau khi đổi thời hạn)"})
    assert response.ok, response.text()
    code = response.json()[0]["service_request_id"]
    tasks = [t for t in get("/tasks?tab=unit")["items"] if t["case"]["code"] == code and t["element_id"] == "triage"]
    assert tasks, f"no triage task for {code}"
    before = datetime.now().astimezone()
    post(f"/tasks/{tasks[0]['id']}/complete", {"data": {"decision": "accept", "priority": "normal",
                                                          "category": "street_lighting"}})
    after = datetime.now().astimezone()
    due = _moment(get(f"/cases/{code}")["due_at"])
    assert working(before, 48) - timedelta(minutes=1) <= due <= working(after, 48) + timedelta(minutes=1), due
    assert due < working(before, 72) - timedelta(hours=1)
    # The older report keeps the deadline its version gave it.
    assert get(f"/cases/{older_code}")["due_at"] == older_due

    # 6. The dry-run migration says which older reports could move, and why the others cannot.
    page.goto(f"{server}/designer/migrate?key=field_report&to={deployed + 1}")
    can, cannot = page.locator("tr.can"), page.locator("tr.cannot")
    assert can.count() + cannot.count() >= 1
    assert page.locator("table.migrate-instances").inner_text().count(older_code) == 1
    if cannot.count():
        assert cannot.first.locator("ul.reasons").inner_text().strip()
    page.screenshot(path=str(shots / "designer-acceptance-migrate.png"), full_page=True)
