"""The modeler's properties panel in a real browser (Playwright driving Debian's chromium) on the demo.

A designer opens field_report, changes a service task's operator parameter and its English name, adds a form
field to the triage task, saves the draft; the engine reads the saved files as the panel meant them.
"""

from __future__ import annotations

import re

import pytest

from engine.spiff import compile_process, parse_field, parse_files

pytestmark = pytest.mark.slow


def _select(page, element, shown):
    # The element may lie outside the visible part of the canvas: the click is delivered to it directly.
    page.locator(f'g[data-element-id="{element}"]').dispatch_event("click")
    page.wait_for_selector(f".modeler-properties {shown}", state="attached")


def _group(page, group):
    page.locator(f'.modeler-properties [data-group-id="group-{group}"] .bio-properties-panel-group-header').click()


def _fill(page, entry, value):
    field = page.locator(f'.modeler-properties [data-entry-id="{entry}"] input')
    field.fill(value)
    field.blur()


def test_the_panel_edits_what_the_engine_reads_and_the_draft_keeps_it(server, browser, shots):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="vi-VN").new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/login?next=/designer/model")
    page.fill("#username", "thietke")
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/designer/model$"))
    page.locator('tr[data-process="field_report"] a').click()
    page.wait_for_selector('g[data-element-id="triage_escalate"]')

    # The service task's operator, chosen from the registry, with its declared parameters as fields.
    _select(page, "triage_escalate", '[data-entry-id="ioc-operator"]')
    _group(page, "ioc-names")
    _group(page, "ioc-operator")
    operator = page.locator('.modeler-properties [data-entry-id="ioc-operator"] select')
    assert operator.input_value() == "notify"
    assert "notify_leaders" in operator.locator("option").all_inner_texts()
    for name in ("role", "unit", "kind"):
        assert f"{name} (bắt buộc)" in page.locator(f'[data-entry-id="ioc-param-{name}"]').inner_text()
    assert page.locator('[data-entry-id="ioc-param-unit"] input').input_value() == "ioc_unit"
    _fill(page, "ioc-param-kind", '"reminder"')
    _fill(page, "ioc-name-en", "Tell the IOC's head (overdue triage)")
    page.screenshot(path=str(shots / "designer-properties.png"))

    # A new field on the triage form: a required choice from the live list of units.
    _select(page, "triage", '[data-group-id="group-ioc-form"]')
    _group(page, "ioc-form")
    page.locator('[data-group-id="group-ioc-form"] .bio-properties-panel-group-header .bio-properties-panel-add-entry').click()
    _fill(page, "ioc-field-6-name", "second_unit")
    page.locator('[data-entry-id="ioc-field-6-type"] select').select_option("choice")
    page.locator('[data-entry-id="ioc-field-6-source"] select').select_option("units")
    page.locator('[data-entry-id="ioc-field-6-required"] select').select_option("yes")
    _fill(page, "ioc-field-6-label", "Đơn vị phối hợp")
    _fill(page, "ioc-field-6-label-en", "Second unit")
    page.screenshot(path=str(shots / "designer-properties-form.png"))

    page.keyboard.press("Control+s")
    page.wait_for_selector(".modeler-message.ok")
    draft = re.search(r"/designer/model\?draft=(\d+)$", page.url).group(1)
    files = page.request.get(f"{server}/designer/api/drafts/{draft}").json()["files"]
    assert not errors, errors

    parser, problems = parse_files(files)
    assert problems == []
    compiled, problems = compile_process(parser, "field_report", lambda _: "field_report.bpmn")
    assert problems == []
    form = {f.name: f for f in compiled.user_tasks["triage"].form}
    assert list(form)[-1] == "second_unit"
    assert form["second_unit"] == parse_field("second_unit", "choice@units! | Đơn vị phối hợp | Second unit")
    notify = next(ts for ts in compiled.spec.task_specs.values() if getattr(ts, "bpmn_id", None) == "triage_escalate")
    assert {k: v["value"] for k, v in notify.operation_params.items()} == {
        "role": '"unit_head"', "unit": "ioc_unit", "kind": '"reminder"'}
    assert notify.extensions["properties"]["name_en"] == "Tell the IOC's head (overdue triage)"
    page.context.close()
