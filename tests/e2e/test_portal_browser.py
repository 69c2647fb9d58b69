"""The report form's script in a real browser: the chosen category's questions only, the map point naming
its ward, the commune type-ahead, the duplicate offer as category and point are chosen, and following the
open case from that offer (its form is built by the script, CSRF token included)."""

from __future__ import annotations

import pytest

from tests.e2e.browsing import wait_js

pytestmark = pytest.mark.slow


def test_the_form_shows_its_questions_names_the_ward_and_offers_the_open_case_nearby(server, browser, shots):
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN").new_page()
    page.goto(server + "/report")
    # Only the chosen category's questions are shown (all are in the page for browsers without scripts).
    assert not page.is_visible('[data-category="street_lighting"]')
    page.select_option("#category", "street_lighting")
    assert page.is_visible("#q_street_lighting__pole_number") and not page.is_visible('[data-category="traffic"]')
    assert not page.is_visible(".q-head")

    # The type-ahead finds a ward without its diacritics.
    page.fill("#place-filter", "ea kao")
    assert page.input_value("#admin_unit") == "P-EA-KAO"

    # A point on the map: coordinates filled, and (the citizen having typed a ward) that ward kept.
    page.locator("#report-map").click()
    assert page.input_value("#lat") and page.input_value("#lon")
    page.click("#clear-point")
    assert page.input_value("#lat") == ""

    # A first report at the middle of the map (Buôn Ma Thuột)…
    page.select_option("#admin_unit", "")
    page.evaluate("document.getElementById('place-filter').value = ''")
    page.reload()
    page.select_option("#category", "street_lighting")
    page.locator("#report-map").click()
    wait_js(page, "document.getElementById('admin_unit').value !== ''")
    assert page.input_value("#admin_unit") == "P-BUON-MA-THUOT" and page.is_visible("#place-note")
    page.fill("#title", "Đèn đường tắt trước chợ")
    page.check("input[name=consent]")
    page.wait_for_timeout(3200)  # a person takes a few seconds; a robot's speed is refused
    if page.is_visible("#send-anyway"):
        page.click("#send-anyway")
    page.click("button.send")
    first = page.inner_text("#tracking-code")
    # The code is on one line of the phone's screen, not broken at a hyphen.
    assert page.evaluate("document.getElementById('tracking-code').getClientRects().length") == 1

    # …then a neighbour at the same place is offered to follow it.
    neighbour = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN").new_page()
    neighbour.goto(server + "/report")
    neighbour.select_option("#category", "street_lighting")
    neighbour.locator("#report-map").click()
    neighbour.locator("#dup-offer").wait_for(state="visible")
    assert first in neighbour.inner_text("#dup-list")
    neighbour.screenshot(path=str(shots / "portal-duplicate-offer.png"), full_page=True)
    # Sending without answering the offer is stopped and the offer is pointed at.
    neighbour.fill("#title", "Đèn hỏng")
    neighbour.check("input[name=consent]")
    said = []
    neighbour.once("dialog", lambda dialog: (said.append(dialog.message), dialog.accept()))
    neighbour.click("button.send")
    assert said and "phản ánh của bạn là sự việc khác" in said[0]
    assert neighbour.is_visible("#dup-offer") and neighbour.locator("#tracking-code").count() == 0
    item = neighbour.locator("#dup-list li", has_text=first)
    item.locator("input[name=email]").fill("hang.xom@example.vn")
    item.locator("button[type=submit]").click()
    neighbour.wait_for_url(f"**/track/{first}/follow")
    link = neighbour.inner_text("#private-link")
    assert f"/track/{first}?key=" in link
    neighbour.goto(link)
    assert "Bạn đang theo dõi phản ánh này" in neighbour.content()
