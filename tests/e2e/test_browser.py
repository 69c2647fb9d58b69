"""The officials' main journey in a real browser (Playwright driving Debian's chromium, headless).

The server is the real demo (`ioc demo`: schema, Đắk Lắk demo data, sample cases, Socket.IO) in its own
process. One officer claims and completes a task; the unit head's page, open in a second browser
context, changes live without a reload. Screenshots go to IOC_SCREENSHOTS_DIR when it is set (the
ones in docs/img were made that way) and to the test's temporary folder otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`ioc demo` on a free port with its own SQLite file; the base URL."""
    folder = tmp_path_factory.mktemp("browser-demo")
    port = _free_port()
    env = {**os.environ, "IOC_DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}", "IOC_PORT": str(port),
           "IOC_FILES_DIR": str(folder / "files"), "IOC_MAP_TILES_URL": "", "IOC_LANG": "vi"}
    env.pop("IOC_REDIS_URL", None)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([str(Path(sys.executable).parent / "ioc"), "demo"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # set-up hashes passwords and deploys; slow when the machine is busy
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                log.close()
                pytest.fail("the demo server stopped:\n" + (folder / "server.log").read_text())
            time.sleep(0.2)
    else:
        process.kill()
        process.wait()
        log.close()
        pytest.fail("the demo server did not answer within 120 s:\n" + (folder / "server.log").read_text())
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright (which never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go."""
    wanted = os.environ.get("IOC_SCREENSHOTS_DIR")
    folder = Path(wanted) if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(browser, base, username, width=1280):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/tasks/.*"))
    return page


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
    head.wait_for_function(
        f"""() => {{ const r = document.querySelector('#task-list tr[data-task-id="{task_id}"]');
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
    page.context.close()
