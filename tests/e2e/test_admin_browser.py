"""The administration console in a real browser (Playwright driving Debian's chromium, headless), on the demo.

The server, browser and screenshot fixtures are in conftest.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browsing import free_port, signed_in, wait_js
from tests.integration.test_celery_worker import Inbox, start_smtp

pytestmark = pytest.mark.slow

# The demo's mail server is down: nothing listens on this port until the deliveries test starts one there.
SMTP_PORT = free_port()
DEMO_ENV = {"IOC_SMTP_HOST": "127.0.0.1", "IOC_SMTP_PORT": str(SMTP_PORT)}

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

    # The successor's officer, whose list was open all along, sees the task arrive without a reload;
    # the merged ward's officer, whose role moved with the ward, has it too.
    wait_js(successor, "title => document.querySelector('#task-list').innerText.includes(title)", arg=MOVED_TASK, timeout=5000)
    successor.goto(server + "/tasks/?tab=unit")
    assert MOVED_TASK in successor.locator("#task-list").inner_text()
    merged.goto(server + "/tasks/?tab=unit")
    assert MOVED_TASK in merged.locator("#task-list").inner_text()
    admin.goto(server + "/admin/audit?action=unit.merge")
    assert "P-TUY-HOA" in admin.locator("main").inner_text()
    for page in (successor, merged, admin):
        page.context.close()


def _cases(page, server) -> dict[str, str]:
    """Case code → place, for every case on the case list the page's user sees."""
    page.goto(server + "/cases/")
    rows = page.locator("main table tbody tr")
    return {rows.nth(i).locator("td").nth(0).inner_text().strip(): rows.nth(i).locator("td").nth(3).inner_text().strip()
            for i in range(rows.count())}


def test_an_admin_creates_a_ward_officer_who_changes_the_password_and_sees_only_the_ward(server, browser, shots):
    admin = signed_in(browser, server, "admin")
    admin.goto(server + "/admin/users/new")
    admin.fill("#f-username", "cb.tanlap2")
    admin.fill("#f-full_name", "Y Moan Niê")
    admin.fill("#f-email", "cb.tanlap2@daklak.gov.vn")
    admin.select_option("#f-role", "officer")
    admin.fill("input.unit-filter[data-filter-for='f-unit']", "tan lap")  # type-ahead over the unit tree
    assert admin.locator("#f-unit").input_value() == "P-TAN-LAP"
    admin.screenshot(path=str(shots / "admin-user-new.png"), full_page=True)
    admin.click("#user-new button[type=submit]")
    admin.wait_for_selector("#secret-once")
    password = admin.locator("#secret-once").inner_text().strip()
    assert len(password) >= 10
    admin.screenshot(path=str(shots / "admin-user.png"), full_page=True)
    assert "Cán bộ xử lý" in admin.locator("#user-roles").inner_text()
    admin.goto(server + "/admin/users?unit=P-TAN-LAP")
    assert admin.locator('tr[data-username="cb.tanlap2"]').count() == 1
    admin.screenshot(path=str(shots / "admin-users.png"), full_page=True)

    # The new officer signs in with the password handed over, and changes it on the profile page.
    officer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    officer.goto(server + "/login")
    officer.fill("#username", "cb.tanlap2")
    officer.fill("#password", password)
    officer.click("form button[type=submit]")
    officer.wait_for_url(re.compile(r".*/tasks/.*"))
    officer.click("#profile-link")
    officer.fill("#current", "not my password")
    officer.fill("#new", "Tan-Lap-moi-2026")
    officer.fill("#again", "Tan-Lap-moi-2026")
    officer.click("#profile-password button[type=submit]")
    officer.wait_for_selector(".field.has-error")  # the current password is checked; nothing changed
    officer.fill("#current", password)
    officer.fill("#new", "Tan-Lap-moi-2026")
    officer.fill("#again", "Tan-Lap-moi-2026")
    officer.click("#profile-password button[type=submit]")
    officer.wait_for_selector(".flash")
    assert "Đã đổi mật khẩu" in officer.locator(".flash").inner_text()
    officer.screenshot(path=str(shots / "profile.png"), full_page=True)
    officer.click("header form[action$='/logout'] button")
    officer.fill("#username", "cb.tanlap2")
    officer.fill("#password", "Tan-Lap-moi-2026")
    officer.click("form button[type=submit]")
    officer.wait_for_url(re.compile(r".*/tasks/.*"))

    # They see the ward's work and nothing else: the same cases as the ward's other officer, all in the ward.
    peer = signed_in(browser, server, "cb.tanlap")
    theirs, peers = _cases(officer, server), _cases(peer, server)
    assert theirs and theirs == peers
    assert set(theirs.values()) <= {"Phường Tân Lập"}
    officer.goto(server + "/tasks/?tab=unit")
    places = officer.locator("#task-list tbody tr td:nth-child(4)").all_inner_texts()
    assert set(places) <= {"Phường Tân Lập"}
    everyone = _cases(admin, server)
    elsewhere = next(code for code, place in everyone.items() if place != "Phường Tân Lập")
    assert officer.goto(f"{server}/cases/{elsewhere}").status in (403, 404)

    # Every step is in the audit log.
    admin.goto(server + "/admin/audit?target=cb.tanlap2")
    log = admin.locator("main").inner_text()
    assert "Tạo người dùng" in log and "Tự đổi mật khẩu" in log
    admin.screenshot(path=str(shots / "admin-audit.png"), full_page=True)
    for section in ("status", "keys"):
        admin.goto(f"{server}/admin/{section}")
        assert admin.locator(".admin-nav a.active").count() == 1
        admin.screenshot(path=str(shots / f"admin-{section}.png"), full_page=True)
    for page in (admin, officer, peer):
        page.context.close()


def test_the_console_s_pages_fit_a_phone(server, browser, shots):
    """Wide tables scroll inside the page and long unit names shrink to the screen: no page scrolls sideways."""
    admin = signed_in(browser, server, "admin", width=390)
    for path in ("/admin/users", "/admin/users/1", "/admin/users/new", "/admin/units", "/admin/categories/new",
                 "/admin/deliveries", "/admin/status"):
        admin.goto(server + path)
        assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    admin.screenshot(path=str(shots / "admin-status-phone.png"), full_page=True)
    admin.context.close()


def test_the_admin_sees_why_emails_did_not_go_and_sends_them_once_the_mail_server_is_back(server, browser, shots):
    """The demo's emails (leaders told of high-priority cases, citizens' receipts) failed while the mail server was
    down: the status page counts them, the deliveries page says why; one is sent from its line, one is given up
    with a note, the rest go with one button."""
    admin = signed_in(browser, server, "admin")
    admin.goto(server + "/admin/status")
    card = admin.locator(".card", has=admin.locator("a[href$='/admin/deliveries']"))
    count = int(card.locator(".n").inner_text())
    assert count > 2 and "bad" in card.locator(".n").get_attribute("class")
    card.locator("a").click()
    admin.wait_for_url(re.compile(r".*/admin/deliveries"))
    assert f"Chưa gửi được ({count})" in admin.locator(".delivery-states").inner_text()
    causes = admin.locator(".delivery-causes").inner_text()
    assert f"{count} tin: không kết nối được máy chủ thư" in causes
    admin.screenshot(path=str(shots / "admin-deliveries.png"), full_page=False)

    rows = admin.locator("table.deliveries tbody tr")
    first_id, second_id = (rows.nth(i).get_attribute("id").removeprefix("delivery-") for i in (0, 1))
    # One leader was told by telephone: their email is given up with a note (an empty note is refused).
    row = admin.locator(f"#delivery-{second_id}")
    row.locator("summary").click()
    row.locator("textarea[name=note]").fill("Lãnh đạo đã được báo qua điện thoại")
    row.locator("button.danger").click()
    admin.wait_for_selector(".flash")
    assert f"Đã bỏ tin {second_id}" in admin.locator(".flash").inner_text()
    assert admin.locator(f"#delivery-{second_id}").count() == 0

    inbox = Inbox()
    smtp = start_smtp(inbox, SMTP_PORT)
    try:
        # The mail server is back: the first is sent from its line (and the delivery run takes every message
        # whose next try is due with it); what is left goes with "retry all".
        first = admin.locator(f"#delivery-{first_id}")
        recipient = first.locator("strong").inner_text()
        first.locator("button", has_text="Thử lại ngay").click()
        admin.wait_for_selector(".flash")
        assert f"Tin {first_id} đã được gửi." in admin.locator(".flash").inner_text()
        assert [recipient] in [rcpt for rcpt, _ in inbox.received()]
        assert admin.locator(f"#delivery-{first_id}").count() == 0
        if admin.locator(".retry-all button").count():
            admin.locator(".retry-all button").click()
            admin.wait_for_selector(".flash")
            assert "Đã gửi lại" in admin.locator(".flash").inner_text()
        assert "Mọi tin đều đã được gửi." in admin.locator("main").inner_text()
        assert len(inbox.received()) == count - 1
        admin.locator(".delivery-states a", has_text="Đã bỏ").click()
        given_up = admin.locator(f"#delivery-{second_id}").inner_text()
        assert "Lãnh đạo đã được báo qua điện thoại" in given_up and "admin" in given_up
        admin.screenshot(path=str(shots / "admin-deliveries-given-up.png"), full_page=False)
    finally:
        smtp.stop()
    admin.context.close()
