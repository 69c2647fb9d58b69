"""What the browser tests share: a real `ioc demo` server per test module, Debian's chromium, a screenshot folder.

Screenshots go to IOC_SCREENSHOTS_DIR when it is set (the ones in docs/img were made that way) and to the
test's temporary folder otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.browsing import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class DemoServer(str):
    """The demo server's base URL, which also knows its database (a test may write data into it)."""

    database_url: str


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """`ioc demo` on a free port with its own SQLite file and files folder; the base URL.

    The demo server's own camera watching (IOC_VISION) is off here: a test module that wants it sets
    ``DEMO_ENV = {"IOC_VISION": "thread"}`` (any environment it needs for its server)."""
    folder = tmp_path_factory.mktemp("browser-demo")
    port = free_port()
    env = {**os.environ, "IOC_DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}", "IOC_PORT": str(port),
           "IOC_FILES_DIR": str(folder / "files"), "IOC_MAP_TILES_URL": "", "IOC_LANG": "vi", "IOC_VISION": "off",
           **getattr(request.module, "DEMO_ENV", {})}
    env.pop("IOC_REDIS_URL", None)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([str(Path(sys.executable).parent / "ioc"), "demo"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = DemoServer(f"http://127.0.0.1:{port}")
    base.database_url = env["IOC_DATABASE_URL"]
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
