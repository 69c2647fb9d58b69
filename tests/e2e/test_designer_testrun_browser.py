"""A test run in a real browser (Playwright driving Debian's chromium) on the demo: the designer starts
field_report on sample data, completes the triage as the IOC's operator, moves the simulated clock until the
deadline passes, and sees the path taken on the diagram and the would-be e-mails; then keeps the run."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browsing import wait_js

pytestmark = pytest.mark.slow


def test_a_designer_runs_field_report_completes_a_task_moves_the_clock_and_sees_the_path(server, browser, shots):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="vi-VN").new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/login")
    page.fill("#username", "thietke")
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    page.goto(server + "/designer/test")
    page.locator('table.testrun-processes a[href*="key=field_report&version="]').click()
    page.wait_for_url(re.compile(r".*/designer/test\?key=field_report&version=\d+"))

    start = page.locator("#testrun-start")
    # Nothing chosen: the server names the fields to fill in, under them.
    start.locator("input[name=title]").fill("")
    start.locator("#testrun-go").click()
    page.wait_for_selector('#testrun-start .field[data-field="category"] .error:not(:empty)')
    assert page.locator('#testrun-start .field[data-field="category"] .error').inner_text() == \
        "hãy chọn một lĩnh vực trong danh sách"
    start.locator("select[name=category]").select_option("street_lighting")
    start.locator("select[name=place]").select_option("P-BUON-MA-THUOT")
    start.locator("select[name=priority]").select_option("high")
    start.locator("input[name=title]").fill("Đèn đường hỏng trên đường Lê Duẩn (thử)")
    start.locator("#testrun-go").click()

    triage = page.locator('form.testrun-task[data-element="triage"]')
    triage.wait_for()
    page.wait_for_selector('#testrun-diagram g[data-element-id="triage"].st-active')
    # A choice outside the form's list is refused field by field, and nothing moves.
    triage.locator("button").click()
    page.wait_for_selector('form.testrun-task[data-element="triage"] .field[data-field="decision"] .error:not(:empty)')
    triage.locator("select[name=decision]").select_option("accept")
    triage.locator("select[name=priority]").select_option("high")
    triage.locator("select[name=category]").select_option("street_lighting")
    assert "Hoàn thành với tư cách" in triage.locator("button").inner_text()
    triage.locator("button").click()
    page.locator('form.testrun-task[data-element="handle"]').wait_for()
    assert "Phường Buôn Ma Thuột" in page.locator('form.testrun-task[data-element="handle"]').inner_text()

    # The clock: to the next timer until the three working days are over and the unit's head has the case.
    for _ in range(6):
        if page.locator('form.testrun-task[data-element="handle_l1"]').count():
            break
        before = page.locator("#testrun-now").inner_text()
        page.locator('#testrun-moves button[data-move="next_timer"]').click()
        wait_js(page, "before => document.querySelector('#testrun-now').textContent !== before", arg=before)
    page.locator('form.testrun-task[data-element="handle_l1"]').wait_for()
    for done in ("triage", "assign_task", "notify_high", "remind", "escalate_1"):
        assert "st-done" in (page.locator(f'#testrun-diagram g[data-element-id="{done}"]').get_attribute("class") or "")
    assert "st-active" in page.locator('#testrun-diagram g[data-element-id="handle_l1"]').get_attribute("class")
    events = page.locator("#testrun-events").inner_text()
    assert "Lẽ ra đã gửi thư điện tử" in events and "Lẽ ra đã thông báo" in events
    assert "chuyển cấp trên" in page.locator("#testrun-summary").inner_text()

    page.locator("#testrun-keep-name").fill("Ưu tiên cao: quá hạn 3 ngày làm việc lên thủ trưởng")
    page.locator("#testrun-keep-name-en").fill("High priority: overdue after 3 working days goes to the head")
    page.screenshot(path=str(shots / "designer-testrun.png"), full_page=True)
    page.locator("#testrun-keep-button").click()
    page.locator("#testrun-keep-done a").click()
    page.wait_for_url(re.compile(r".*/designer/test/cases\?key=field_report"))
    assert "Ưu tiên cao: quá hạn 3 ngày" in page.locator("main").inner_text()
    page.locator("#run-all").click()
    page.wait_for_selector(".flash")
    assert "đều đạt" in page.locator(".flash").first.inner_text()
    # The kept case opens again: its steps replayed, it stands where it was kept.
    page.locator("table.testrun-cases td a").first.click()
    page.locator('form.testrun-task[data-element="handle_l1"]').wait_for()
    assert page.locator("#testrun-keep-name").input_value().startswith("Ưu tiên cao")
    assert errors == []
