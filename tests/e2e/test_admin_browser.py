"""The administration console in a real browser (Playwright driving Debian's chromium, headless), on the demo.

The server, browser and screenshot fixtures are in conftest.py.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browsing import signed_in

pytestmark = pytest.mark.slow

# The demo leaves a pothole report accepted and waiting in Phường Tuy Hòa (workflows/sample_cases.py).
MOVED_TASK = "Ổ gà lớn trên đường Trần Hưng Đạo"


def test_the_admin_merges_two_wards_from_today_and_the_open_tasks_follow(server, browser, shots):
    successor = signed_in(browser, server, "cb.phuyen")
    successor.goto(server + "/tasks/?tab=unit")
    assert MOVED_TASK not in successor.locator("main").inner_text()
    merged = signed_in(browser, server, "cb.tuyhoa")
    merged.goto(server + "/tasks/?tab=unit")
    assert MOVED_TASK in merged.locator("#task-list").inner_text()

    admin = signed_in(browser, server, "admin")
    admin.goto(server + "/admin/units")
    admin.locator("#form-merge summary").click()  # the forms are folded; the tree comes first
    form = admin.locator("#form-merge form")
    # A merger into the ward itself is refused with a message, and the choices typed are kept.
    form.locator("#merge-unit").select_option("P-TUY-HOA")
    form.locator("#merge-successor").select_option("P-TUY-HOA")
    form.locator("button[type=submit]").click()
    admin.wait_for_selector("#form-merge .field.has-error")
    assert "chính nó" in admin.locator("#form-merge .field.has-error").inner_text()
    assert admin.locator("#merge-unit").input_value() == "P-TUY-HOA"

    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    admin.locator("#merge-successor").select_option("P-PHU-YEN")
    admin.fill("#merge-day", today)
    admin.locator("#form-merge button[type=submit]").click()
    admin.wait_for_selector(".flash")
    assert "sáp nhập" in admin.locator(".flash").inner_text().lower()
    row = admin.locator('tr[data-unit="P-TUY-HOA"]')
    assert "đã kết thúc" in row.inner_text() and "Phường Phú Yên" in row.inner_text()
    assert admin.locator('#merge-unit option[value="P-TUY-HOA"]').count() == 0  # no longer offered
    admin.set_viewport_size({"width": 1280, "height": 1500})
    admin.screenshot(path=str(shots / "admin-units.png"), full_page=False)

    # The successor's officer now has the task in the unit's list; so has the merged ward's officer,
    # whose role moved with the ward.
    successor.goto(server + "/tasks/?tab=unit")
    assert MOVED_TASK in successor.locator("#task-list").inner_text()
    merged.goto(server + "/tasks/?tab=unit")
    assert MOVED_TASK in merged.locator("#task-list").inner_text()
    admin.goto(server + "/admin/audit?action=unit.merge")
    assert "P-TUY-HOA" in admin.locator("main").inner_text()
    for page in (successor, merged, admin):
        page.context.close()
