"""The 1022 console in a real browser, driven by the keyboard alone (Playwright, Debian's chromium).

An operator takes a call with the keys only (phone first, type-ahead for the ward and the category,
the category's questions, Ctrl+Enter), gets the code, and takes the next call from the same number:
the earlier case appears as the number is typed and again as a possible duplicate, and "this is the
same case" records the second call on it. Screenshots: hotline.png (desktop), hotline-phone.png.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browsing import signed_in

pytestmark = pytest.mark.slow


def test_an_operator_takes_two_calls_with_the_keyboard_alone(server, browser, shots):
    page = signed_in(browser, server, "dtv1")
    page.goto(server + "/hotline/")
    keys = page.keyboard
    assert page.evaluate("document.activeElement.id") == "phone"  # ready to type at once

    def type_call(description: str) -> None:
        keys.type("0905 123 456")
        keys.press("Tab")
        keys.type("Lê Văn Hùng")
        keys.press("Tab")
        keys.type("buon ma")  # no marks needed
        page.locator("#place-list li").first.wait_for()
        keys.press("Enter")
        keys.press("Tab")
        keys.type("Trước số 45 Phan Chu Trinh")
        keys.press("Tab")
        keys.type("giao thong")
        page.locator("#category-list li").first.wait_for()
        keys.press("Enter")
        keys.press("Tab")  # priority: as usual for the category
        keys.press("Tab")
        keys.press("ArrowDown")  # kind of hazard: the first choice
        keys.press("Tab")
        keys.press("ArrowDown")  # blocks traffic: yes
        keys.press("Tab")
        keys.type(description)

    type_call("Ổ gà lớn giữa đường, đã có người ngã xe tối qua.")
    assert page.input_value("#place") == "P-BUON-MA-THUOT" and page.input_value("#category") == "traffic"
    with page.expect_navigation():
        keys.press("Control+Enter")
    confirmation = page.locator(".flash.done").inner_text()
    code = re.search(r"HL-\d{4}-\d{6}", confirmation).group(0)
    assert page.evaluate("document.activeElement.id") == "phone" and page.input_value("#phone") == ""

    # The same caller again: the first case appears as the number is typed, and as a possible duplicate.
    type_call("Gọi lại: ổ gà vẫn chưa được vá")
    page.locator("#history li", has_text=code).wait_for()
    page.locator("#dupes li", has_text=code).wait_for()
    page.screenshot(path=str(shots / "hotline.png"))
    # Tab on to "this is the same case" and press it: the call goes on that case, no new one.
    button = page.locator(f"#dupes button[value='{code}']")
    for _ in range(12):
        if page.evaluate("document.activeElement.value") == code:
            break
        keys.press("Tab")
    assert page.evaluate("document.activeElement.value") == code, "the duplicate's button is reachable by Tab"
    with page.expect_navigation():
        keys.press("Enter")
    assert code in page.locator(".flash.done").inner_text()
    assert button.count() == 0  # a blank form: no duplicate listed any more
    page.context.close()


def test_the_console_works_on_a_phone(server, browser, shots):
    page = signed_in(browser, server, "dtv2", width=390)
    page.goto(server + "/hotline/")
    page.locator("#phone").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(shots / "hotline-phone.png"), full_page=True)
    page.context.close()
