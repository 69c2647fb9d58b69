"""Helpers of the browser tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import re
import socket


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed_in(browser, base, username, width=1280):
    """A page in a new browser context, signed in as `username` through the sign-in form."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "demo1022")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/tasks/.*"))
    return page


def deploy_from_modeler(page, note: str) -> None:
    """Press the modeler's Deploy, give the note the dialog asks for, and wait for the deployed message."""
    page.click("#modeler-deploy")
    dialog = page.locator("dialog[open]")
    dialog.wait_for(timeout=15_000)
    dialog.locator("textarea, input[type=text]").first.fill(note)
    dialog.locator("button", has_text="Triển khai").click()
    # The deploy saves the draft first, and says so in an "ok" message too: wait for the deployed one, or a test
    # that goes on to the deployed version may look before the deploy has been stored.
    page.locator(".modeler-message.ok", has_text="Đã triển khai").wait_for(timeout=30_000)
