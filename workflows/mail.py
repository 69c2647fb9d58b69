"""Sending email for outbox messages over SMTP, idempotently by outbox id."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)


class SmtpMailer:
    """Sends one outbox email; the Message-ID carries the outbox id so a resend is recognisable."""

    def __init__(self, host: str | None, port: int = 25, sender: str = "ioc@localhost", timeout: float = 10,
                 site_url: str = "", render: Callable[[dict[str, Any], str], str] | None = None):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.site_url = site_url.rstrip("/")
        # (payload, "subject" | "body") -> the text in the reader's language, for payloads carrying a message.
        self.render = render or (lambda payload, part: payload.get(part, ""))

    def __call__(self, message_id: int, payload: dict[str, Any]) -> None:
        """Deliver `payload` ({to, subject, body, link?}); without an SMTP host the email is only logged.

        A `link` (a path of this site) replaces "{link}" in the body, with the site's address in front.
        """
        if not self.host:
            log.info("email %s to %s not sent (no IOC_SMTP_HOST): %s", message_id, payload.get("to"),
                     payload.get("subject"))
            return
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, payload["to"], self.render(payload, "subject")
        msg["Message-ID"] = f"<outbox-{message_id}@ioc-case-flow>"
        body = self.render(payload, "body")
        if payload.get("link"):
            body = body.replace("{link}", self.site_url + payload["link"])
        msg.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)
