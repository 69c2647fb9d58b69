"""Helpers of the browser tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import re
import socket
import time


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
    page.wait_for_url(re.compile(r".*/(tasks|leaders)/.*"))  # a leader lands on the figures of their place
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


def wait_js(target, expression: str, *, arg=None, timeout: float = 30_000):
    """Wait until ``expression`` (a JavaScript expression, or a function given ``arg``) is truthy on ``target`` (a
    page or frame), polling with ``evaluate``.

    Playwright's ``wait_for_function`` compiles its predicate with ``eval`` inside the page once it has to poll,
    which the pages' Content Security Policy (script-src 'self') refuses — "EvalError ... 'unsafe-eval'" whenever
    the condition is not already true at the first try (microsoft/playwright#7395, #36986). ``evaluate`` goes
    through the DevTools protocol and is allowed, so the pages are tested under their real CSP.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = target.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout / 1000:.0f} s for: {expression}")
        time.sleep(0.1)
