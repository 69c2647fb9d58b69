"""The process designer's modeler in a real browser (Playwright driving Debian's chromium) on the demo.

The designer opens field_report's deployed version (the process and its three decision tables in tabs),
renames a task on the canvas, saves a draft with Ctrl+S, reloads and finds the new name; two tabs on one
draft: the second save is refused and kept as a new draft; a draft deployed with a note becomes the next version.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.browsing import wait_js

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NEW_NAME = "Phân loại và chuyển xử lý"
# Whether the page would stop the browser from leaving (its beforeunload handler cancels the event).
LEAVING = "() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; }"


def test_a_designer_opens_field_report_renames_a_task_saves_a_draft_and_finds_it_after_a_reload(server, browser, shots):
    page = _designer_page(server, browser)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
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
    _rename(page, "triage", NEW_NAME)
    assert _shown(page, "triage", NEW_NAME)
    assert page.locator("#modeler-status").inner_text() == "Có thay đổi chưa lưu"
    assert page.evaluate(LEAVING)  # leaving now would ask first
    page.evaluate("window.iocModeler.show('field_report.bpmn', 'triage')")
    page.wait_for_selector(".modeler-properties .bio-properties-panel-header")
    assert NEW_NAME in page.locator(".modeler-properties").inner_text()

    page.keyboard.press("Control+s")
    page.wait_for_selector(".modeler-message.ok")
    assert "Đã lưu bản nháp (phiên bản 1)" in page.locator(".modeler-message.ok").inner_text()
    assert re.search(r"/designer/model\?draft=\d+$", page.url)
    assert page.locator("#modeler-status").inner_text() == ""
    assert not page.evaluate(LEAVING)
    page.screenshot(path=str(shots / "designer-modeler.png"), full_page=False)

    # A decision table opens in its tab, in dmn-js's table editor.
    page.locator('.modeler-tab[data-file="field_report_sla.dmn"] .modeler-tab-open').click()
    page.wait_for_selector(".modeler-pane:not([hidden]) .modeler-dmn .tjs-table")
    table = page.locator(".modeler-pane:not([hidden]) .modeler-dmn .tjs-table").first.inner_text()
    assert "Mức độ ưu tiên" in table and "Khi" in table and "Thì" in table  # dmn-js's words in Vietnamese too

    page.reload()
    page.wait_for_selector('g[data-element-id="triage"]')
    assert _shown(page, "triage", NEW_NAME)
    assert page.locator(".modeler-tab-open").count() == 4
    page.goto(server + "/designer/model")
    assert page.locator("table.modeler-drafts tbody tr").count() == 1
    assert not errors, errors
    page.context.close()


def _shown(page, element, name) -> bool:
    """Whether the canvas labels `element` with `name` (SVG wraps a label into lines: spaces are not compared)."""
    label = page.locator(f'g[data-element-id="{element}"]').text_content()
    return name.replace(" ", "") in label.replace(" ", "")


def _designer_page(server, browser):
    """A page signed in as the demo's process designer, on the modeler's front page."""
    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN").new_page()
    page.goto(server + "/login?next=/designer/model")
    page.fill("#username", "thietke")
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/designer/model$"))
    return page


def _rename(page, element, name):
    page.evaluate(f"window.iocModeler.show('field_report.bpmn', '{element}')")
    page.locator(f'g[data-element-id="{element}"]').dblclick()
    page.locator(".djs-direct-editing-parent").wait_for()
    page.keyboard.press("Control+a")
    page.keyboard.type(name)
    page.locator(".modeler-canvas .djs-container svg").first.click(position={"x": 20, "y": 400})


def test_two_tabs_on_one_draft_the_second_save_is_refused_and_kept_as_a_new_draft(server, browser):
    first = _designer_page(server, browser)
    first.goto(server + "/designer/model?key=field_report")
    first.wait_for_selector('g[data-element-id="triage"]')
    first.locator("#modeler-save").click()
    first.wait_for_selector(".modeler-message.ok")
    draft_url = first.url
    second = first.context.new_page()
    second.goto(draft_url)
    second.wait_for_selector('g[data-element-id="triage"]')

    _rename(first, "triage", "Tên của thẻ thứ nhất")
    first.keyboard.press("Control+s")
    first.wait_for_selector(".modeler-message.ok >> text=phiên bản 2")
    _rename(second, "triage", "Tên của thẻ thứ hai")
    second.keyboard.press("Control+s")
    refusal = second.locator(".modeler-message.error")
    refusal.wait_for()
    assert "thietke" in refusal.inner_text() and "bản nháp mới" in refusal.inner_text()
    assert second.locator("#modeler-status").inner_text() == "Có thay đổi chưa lưu"  # nothing lost
    refusal.locator("button", has_text="Lưu thành bản nháp mới").click()
    second.wait_for_selector(".modeler-message.ok")
    assert second.url != draft_url and "draft=" in second.url
    second.reload()
    second.wait_for_selector('g[data-element-id="triage"]')
    assert _shown(second, "triage", "Tên của thẻ thứ hai")
    first.reload()
    first.wait_for_selector('g[data-element-id="triage"]')
    assert _shown(first, "triage", "Tên của thẻ thứ nhất")
    first.context.close()


def test_a_designer_deploys_a_draft_with_a_note_and_sees_the_new_version(server, browser):
    page = _designer_page(server, browser)
    page.goto(server + "/designer/model?key=field_report")
    page.wait_for_selector('g[data-element-id="triage"]')
    base = page.locator("#modeler-base").inner_text()
    _rename(page, "triage", "Phân loại phản ánh (mới)")
    page.locator("#modeler-deploy").click()  # saves the draft first, then asks for the note
    dialog = page.locator("dialog.modeler-dialog")
    dialog.wait_for()
    dialog.locator("textarea").fill("Đổi tên bước phân loại")
    dialog.locator('button[data-value="yes"]').click()
    done = page.locator(".modeler-message.ok", has_text="Đã triển khai")
    done.wait_for(timeout=60000)
    version = int(re.search(r"v(\d+)", base).group(1))
    assert f"field_report v{version + 1}" in done.inner_text()
    page.context.close()


def test_files_from_disk_open_in_tabs_other_files_are_refused_and_a_file_is_removed(server, browser, tmp_path):
    process = tmp_path / "den_duong.bpmn"
    process.write_text((ROOT / "bpmn" / "hotline_call.bpmn").read_text(encoding="utf-8"), encoding="utf-8")
    table = tmp_path / "thoi_han.dmn"
    table.write_text((ROOT / "bpmn" / "field_report_sla.dmn").read_text(encoding="utf-8"), encoding="utf-8")
    notes = tmp_path / "ghi_chu.txt"
    notes.write_text("không phải BPMN", encoding="utf-8")
    page = _designer_page(server, browser)
    assert page.locator("#modeler-workspace").is_hidden()  # the front page: lists only, no empty editor
    page.set_input_files("#modeler-open-files", [str(process), str(table), str(notes)])
    page.wait_for_selector(".modeler-tab-open >> text=thoi_han.dmn")
    assert page.locator(".modeler-tab-open").all_inner_texts() == ["den_duong.bpmn", "thoi_han.dmn"]
    assert "ghi_chu.txt" in page.locator(".modeler-message.error").inner_text()
    assert page.locator("#modeler-start").is_hidden() and page.locator("#modeler-workspace").is_visible()

    page.locator('.modeler-tab[data-file="thoi_han.dmn"] .modeler-tab-remove').click()
    page.locator('dialog.modeler-dialog button[data-value="yes"]').click()
    page.wait_for_selector('.modeler-tab[data-file="thoi_han.dmn"]', state="detached")
    assert page.locator(".modeler-tab-open").all_inner_texts() == ["den_duong.bpmn"]
    page.locator("#modeler-save").click()
    page.wait_for_selector(".modeler-message.ok")
    draft = page.url.split("draft=")[1]
    saved = page.evaluate(f"fetch('/designer/api/drafts/{draft}').then(r => r.json())")
    assert list(saved["files"]) == ["den_duong.bpmn"] and saved["base"] is None

    # A new process starts as one executable process with its start event.
    page.goto(server + "/designer/model")
    page.locator("#modeler-new").click()
    page.wait_for_selector('g[data-element-id="StartEvent_1"]')
    assert page.locator(".modeler-tab-open").all_inner_texts() == ["process.bpmn"]
    assert page.locator("#modeler-status").inner_text() == "Có thay đổi chưa lưu"
    page.context.close()


PROBLEM_ELEMENTS = "() => window.iocModeler.checks.get('field_report.bpmn').problems().map((p) => p.element)"


def test_a_decision_file_added_to_the_bundle_clears_the_process_s_missing_decision(server, browser, tmp_path):
    for name in ("field_report.bpmn", "field_report_sla.dmn", "field_report_routing.dmn", "field_report_review.dmn"):
        (tmp_path / name).write_text((ROOT / "bpmn" / name).read_text(encoding="utf-8"), encoding="utf-8")
    page = _designer_page(server, browser)
    page.set_input_files("#modeler-open-files", [str(tmp_path / "field_report.bpmn"),
                                                 str(tmp_path / "field_report_routing.dmn"),
                                                 str(tmp_path / "field_report_review.dmn")])
    # The server's check: the deadline table is in no file of the bundle.
    wait_js(page, f"() => ({PROBLEM_ELEMENTS})().includes('sla')", timeout=20000)
    assert "route" not in page.evaluate(PROBLEM_ELEMENTS)
    page.set_input_files("#modeler-add-files", [str(tmp_path / "field_report_sla.dmn")])
    wait_js(page, f"() => !({PROBLEM_ELEMENTS})().includes('sla')", timeout=20000)
    page.context.close()
