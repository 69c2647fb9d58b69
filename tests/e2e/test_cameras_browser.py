"""Cameras in a real browser (Playwright driving Debian's chromium) on the demo server, whose cameras read
synthetic videos (workflows/cameras/demo.py): an administrator draws a region of interest and a lane with its
direction on a camera's live snapshot, with the mouse and a finger, and saves it; an operator verifies the demo's
stopped-vehicle case from its snapshot and its clip, which plays, after finding it on the dashboard's map with its
snapshot.

Screenshots: docs/img/cameras-list.png, cameras-regions.png, cameras-verify.png, cameras-dashboard.png
(IOC_SCREENSHOTS_DIR=docs/img).
"""

from __future__ import annotations

import json
import re

from tests.e2e.browsing import wait_js

DRAWN = "BMT-NTT-HHT"  # a demo camera reading a synthetic street video (free flow)
# Keeps the dashboard's Leaflet map where the test can reach it (the page's script does not publish it).
KEEP_MAPS = """(() => { let real; Object.defineProperty(window, "L", { configurable: true, get() { return real; },
  set(value) { real = value; const make = value.map;
    value.map = function (...args) {
      const map = make.apply(this, args);
      (window.testMaps = window.testMaps || []).push(map);
      return map;
    };
  } }); })();"""


def _page(browser, base, username, touch=False):
    """A signed-in page (a touch screen too when asked), and the script errors and CSP refusals it reports."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="vi-VN", has_touch=touch)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" or "Content Security Policy" in m.text
            else None)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    return page, problems


def test_an_admin_draws_a_region_and_a_lane_on_a_live_snapshot_with_mouse_and_finger(server, browser, shots):
    page, problems = _page(browser, server, "admin", touch=True)
    page.click("header nav >> text=Camera")
    page.wait_for_url(f"{server}/cameras/")
    assert page.locator(f'tr[data-camera="{DRAWN}"]').count() == 1
    page.screenshot(path=str(shots / "cameras-list.png"), full_page=True)
    page.goto(f"{server}/cameras/{DRAWN}/regions")
    stage = page.locator("#region-stage")
    page.wait_for_selector("#region-stage[data-ready]", timeout=20_000)
    assert stage.get_attribute("data-state") == "live", page.locator("#snapshot-problem").inner_text()
    assert page.evaluate("document.getElementById('camera-snapshot').naturalWidth") > 0

    def at(x, y):
        box = stage.bounding_box()  # measured each time: the page may have scrolled
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    # the demo's drawing is replaced: the region of interest (chosen first) and every lane deleted
    assert page.locator("#lane-list li").count() > 0
    page.click("#region-tools >> text=Xoá hình")
    while page.locator("#lane-list li").count():
        page.locator("#lane-list li").first.locator("[data-lane-action=delete-lane]").click()
    assert page.locator("#f-roi").input_value() == "" and page.locator("#f-lanes").input_value() == "[]"
    # the region of interest: four clicks, then one corner dragged a little lower
    for x, y in ((0.05, 0.35), (0.95, 0.35), (0.95, 0.97), (0.05, 0.97)):
        page.mouse.click(*at(x, y))
    page.mouse.move(*at(0.95, 0.35))
    page.mouse.down()
    page.mouse.move(*at(0.93, 0.40), steps=4)
    page.mouse.up()
    # a lane: named, three corners clicked and the fourth tapped with a finger, its direction dragged downwards
    page.click("#region-tools >> text=Thêm làn")
    page.fill("#lane-list li >> input", "Vào <trung tâm>")
    for x, y in ((0.10, 0.45), (0.45, 0.45), (0.45, 0.95)):
        page.mouse.click(*at(x, y))
    page.touchscreen.tap(*at(0.10, 0.95))
    status = page.locator("#region-status").inner_text()
    assert "chưa có hướng" in status
    grip = page.locator("[data-arrow] .grip").bounding_box()
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    page.mouse.down()
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2 + 80, steps=5)
    page.mouse.up()
    assert "chưa có hướng" not in page.locator("#region-status").inner_text()
    assert page.locator("svg.region-overlay b").count() == 0  # the name is text
    page.screenshot(path=str(shots / "cameras-regions.png"), full_page=True)
    page.click("#region-save")
    page.wait_for_selector(".flash", timeout=10_000)
    # what the server stored comes back in the page's fields
    roi = json.loads(page.locator("#f-roi").input_value())
    lanes = json.loads(page.locator("#f-lanes").input_value())
    assert len(roi) == 4 and abs(roi[1][0] - 0.93) < 0.01 and abs(roi[1][1] - 0.40) < 0.01
    assert abs(roi[3][0] - 0.05) < 0.01 and abs(roi[3][1] - 0.97) < 0.01
    lane, = lanes
    assert lane["name"] == "Vào <trung tâm>" and len(lane["polygon"]) == 4
    assert abs(lane["polygon"][3][0] - 0.10) < 0.01 and abs(lane["polygon"][3][1] - 0.95) < 0.01  # the tap
    assert lane["direction"] == [0.0, 1.0]
    assert page.locator("svg.region-overlay .lane > polygon").count() == 1  # drawn again from what was stored
    assert not problems, problems
    page.context.close()


def test_an_operator_verifies_a_stopped_vehicle_from_its_snapshot_and_clip(server, browser, shots):
    page, problems = _page(browser, server, "dtv1")
    page.goto(f"{server}/tasks/")
    page.click("text=Xác minh sự cố trên ảnh và video")
    assert page.locator("#camera-evidence video").count() == 1  # the task page shows the evidence too
    page.click("h2 a[href^='/cases/']")
    page.wait_for_url(re.compile(r".*/cases/CAM-.*"))
    code = page.url.rsplit("/", 1)[1]
    # the dashboard's map: the case's marker opens a popup with its snapshot
    page.add_init_script(KEEP_MAPS)
    page.goto(f"{server}/dashboard/")
    wait_js(page, "window.testMaps && window.testMaps.length")
    opened = wait_js(page, """(code) => { let found = null;
        window.testMaps[0].eachLayer((layer) => { const popup = layer.getPopup && layer.getPopup();
          const content = popup && popup.getContent();
          if (content && content.querySelector && content.textContent.includes(code)) { found = layer; } });
        if (found) { found.openPopup(); } return !!found; }""", arg=code, timeout=15_000)
    assert opened
    popup = page.locator(".leaflet-popup-content")
    wait_js(page, "document.querySelector('.leaflet-popup-content img.map-snapshot').naturalWidth > 0")
    assert code in popup.inner_text()
    page.locator("#dash-map").screenshot(path=str(shots / "cameras-dashboard.png"))
    page.goto(f"{server}/cases/{code}")
    panel = page.locator("#camera-evidence")
    assert "Xe dừng đỗ" in panel.inner_text() and "Đứng yên" in panel.inner_text()
    wait_js(page, "document.querySelector('.evidence-snapshot img').naturalWidth > 0")
    clip = panel.locator("video")
    clip.evaluate("v => { v.muted = true; return v.play(); }")
    wait_js(page, "(v) => v.readyState >= 2 && v.currentTime > 0", arg=clip.element_handle(), timeout=15_000)
    assert clip.evaluate("v => v.duration") > 1
    clip.evaluate("v => v.pause()")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(shots / "cameras-verify.png"))
    page.select_option("#verify-form select[name=verdict]", "confirmed")
    page.select_option("#verify-form select[name=situation]", "breakdown")
    page.click("#verify-submit")
    page.wait_for_selector(".flash", timeout=15_000)
    page.goto(f"{server}/cases/{code}")
    assert "đã xác nhận" in page.locator("#camera-evidence").inner_text()
    assert page.locator("#verify-form").count() == 0
    assert not problems, problems
    page.context.close()
