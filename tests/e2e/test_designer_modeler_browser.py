"""The process designer's modeler in a real browser (Playwright driving Debian's chromium) on the demo.

The designer opens field_report's deployed version (the process and its three decision tables in tabs),
renames a task on the canvas, saves a draft with Ctrl+S, reloads and finds the new name.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

NEW_NAME = "Phân loại và chuyển xử lý"


def test_a_designer_opens_field_report_renames_a_task_saves_a_draft_and_finds_it_after_a_reload(server, browser, shots):
    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN").new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/login?next=/designer/model")
    page.fill("#username", "thietke")
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/designer/model$"))
    page.locator('tr[data-process="field_report"] a').click()
    page.wait_for_url(re.compile(r".*/designer/model\?key=field_report&version=\d+"))
    page.wait_for_selector('g[data-element-id="triage"]')
    tabs = page.locator(".modeler-tab-open")
    assert tabs.all_inner_texts() == ["field_report.bpmn", "field_report_review.dmn", "field_report_routing.dmn",
                                      "field_report_sla.dmn"]
    assert page.locator("#modeler-base").inner_text().startswith("field_report v")
    # The palette speaks Vietnamese (the page's language).
    assert page.locator('.djs-palette [aria-label="Tạo công việc"]').count() == 1

    # Rename the triage task on the canvas (direct editing), then select it: the properties panel shows it.
    page.evaluate("window.iocModeler.show('field_report.bpmn', 'triage')")  # as a click on a problem does
    page.locator('g[data-element-id="triage"]').dblclick()
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for()
    page.keyboard.press("Control+a")
    page.keyboard.type(NEW_NAME)
    page.locator(".modeler-canvas .djs-container svg").first.click(position={"x": 20, "y": 400})
    assert NEW_NAME in page.locator('g[data-element-id="triage"]').text_content()
    assert page.locator("#modeler-status").inner_text() == "Có thay đổi chưa lưu"
    page.evaluate("window.iocModeler.show('field_report.bpmn', 'triage')")
    page.wait_for_selector(".modeler-properties .bio-properties-panel-header")
    assert NEW_NAME in page.locator(".modeler-properties").inner_text()

    page.keyboard.press("Control+s")
    page.wait_for_selector(".modeler-message.ok")
    assert "Đã lưu bản nháp (phiên bản 1)" in page.locator(".modeler-message.ok").inner_text()
    assert re.search(r"/designer/model\?draft=\d+$", page.url)
    assert page.locator("#modeler-status").inner_text() == ""
    page.screenshot(path=str(shots / "designer-modeler.png"), full_page=False)

    # A decision table opens in its tab, in dmn-js's table editor.
    page.locator('.modeler-tab[data-file="field_report_sla.dmn"] .modeler-tab-open').click()
    page.wait_for_selector(".modeler-pane:not([hidden]) .modeler-dmn .tjs-table")
    assert "Mức độ ưu tiên" in page.locator(".modeler-pane:not([hidden]) .modeler-dmn .tjs-table").first.inner_text()

    page.reload()
    page.wait_for_selector('g[data-element-id="triage"]')
    assert NEW_NAME in page.locator('g[data-element-id="triage"]').text_content()
    assert page.locator(".modeler-tab-open").count() == 4
    page.goto(server + "/designer/model")
    assert page.locator("table.modeler-drafts tbody tr").count() == 1
    assert not errors, errors
    page.context.close()
