"""The officials' main journey in a real browser (Playwright driving Debian's chromium, headless).

The server is the real demo (`ioc demo`: schema, Đắk Lắk demo data, sample cases, Socket.IO) in its own
process. One officer claims and completes a task; the unit head's page, open in a second browser
context, changes live without a reload. The server, browser and screenshot fixtures are in conftest.py.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browsing import signed_in, wait_js

pytestmark = pytest.mark.slow


def test_officer_claims_and_completes_a_task_and_the_unit_head_sees_it_live(server, browser, shots):
    officer = signed_in(browser, server, "cb.buonmathuot")
    head = signed_in(browser, server, "tp.buonmathuot")
    officer.goto(server + "/tasks/?tab=unit")
    row = officer.locator("#task-list tbody tr").first
    row.wait_for()
    task_id = row.get_attribute("data-task-id")
    case_code = row.get_attribute("data-case")
    officer.screenshot(path=str(shots / "tasklist.png"), full_page=True)

    head.goto(server + "/tasks/?tab=unit")
    head_row = head.locator(f'#task-list tr[data-task-id="{task_id}"]')
    head_row.wait_for()
    assert "chưa ai nhận" in head_row.inner_text()
    head.evaluate("window.__notReloaded = true")

    # The officer claims it on the list: the head's open page shows who holds it, without a reload.
    officer.locator(f'tr[data-task-id="{task_id}"] form button').click()
    officer.wait_for_load_state()
    wait_js(head, f"""() => {{ const r = document.querySelector('#task-list tr[data-task-id="{task_id}"]');
                    return r && r.innerText.includes('cb.buonmathuot'); }}""", timeout=5000)

    # The officer opens the task, sends the form empty (a clear message), then fills it in.
    officer.goto(f"{server}/tasks/{task_id}")
    officer.click("form[action$='/complete'] button[type=submit]")
    officer.wait_for_selector(".field.has-error")
    assert "bắt buộc" in officer.locator(".field.has-error").first.inner_text()
    officer.select_option("#f-outcome", "resolved")
    officer.fill("#f-resolution", "Đã thay 3 bóng đèn LED, đoạn đường sáng trở lại.")
    officer.screenshot(path=str(shots / "task-form.png"), full_page=True)
    officer.click("form[action$='/complete'] button[type=submit]")
    officer.wait_for_url(re.compile(r".*/tasks/\?tab=mine.*"))
    assert case_code in officer.locator(".flash").inner_text()

    # The task leaves the head's unit list live, and the page was never reloaded.
    head_row.wait_for(state="detached", timeout=5000)
    assert head.evaluate("window.__notReloaded") is True

    # The case page shows what happened (history, diagram, map) to the officer.
    officer.goto(f"{server}/cases/{case_code}")
    officer.wait_for_load_state("networkidle")
    assert case_code in officer.content()
    officer.screenshot(path=str(shots / "case-page.png"), full_page=True)
    for page in (officer, head):
        page.context.close()


def test_the_task_list_works_on_a_phone(server, browser, shots):
    page = signed_in(browser, server, "dtv1", width=390)
    page.goto(server + "/tasks/?tab=unit")
    page.locator("#task-list").wait_for()
    # No sideways scrolling of the whole page on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(shots / "tasklist-phone.png"), full_page=True)
    # Nor of a task page, whose form offers units with long names (the province's centre, departments).
    page.click("#task-list tbody tr a[href^='/tasks/']")
    page.wait_for_load_state("networkidle")
    assert page.locator("form select").count()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(shots / "task-phone.png"), full_page=True)
    page.context.close()
