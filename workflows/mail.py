"""Sending email for outbox messages over SMTP, idempotently by outbox id; and messages with attachments sent
once, with a hook run just before the SMTP server is handed the message's final dot (`send_once`)."""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable, Iterable
from email import policy
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)


class MailOutcomeUnknown(smtplib.SMTPException):
    """The message's final dot went to the SMTP server but no reply came back: it may or may not have been taken."""


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

    # ------------------------------------------------------------------ messages with attachments, sent once
    def message(self, *, to: str, subject: str, body: str, message_id: str,
                attachments: Iterable[tuple[str, str, bytes]] = ()) -> EmailMessage:
        """A message from this sender; `attachments` are (file name, MIME type, content)."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = self.sender, to, subject, message_id
        msg.set_content(body)
        for filename, mime, content in attachments:
            maintype, subtype = mime.split("/", 1)
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
        return msg

    def send_once(self, msg: EmailMessage, before_final_dot: Callable[[], None] | None = None) -> bool:
        """Send `msg`, calling `before_final_dot()` when everything but the DATA's final "." has gone.

        The hook is where the caller writes "sent" in its still open transaction; it commits when this returns.
        So the moment the server may hold the message while the caller's record does not say so is narrowed to
        the server's reply and one commit. If the hook raises, the connection is dropped without the dot: the
        server discards the message. A refusal raises smtplib's error; a lost reply after the dot raises
        MailOutcomeUnknown. Without an SMTP host nothing is sent (the hook still runs) and False is returned.
        """
        if not self.host:
            log.info("email %s to %s not sent (no IOC_SMTP_HOST): %s", msg["Message-ID"], msg["To"], msg["Subject"])
            if before_final_dot:
                before_final_dot()
            return False
        recipients = [address.strip() for address in str(msg["To"]).split(",") if address.strip()]
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        clean = False
        try:
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(self.sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, self.sender)
            for address in recipients:
                code, reply = smtp.rcpt(address)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({address: (code, reply)})
            code, reply = smtp.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            data = re.sub(rb"(?m)^\.", b"..", msg.as_bytes(policy=policy.SMTP))
            smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
            if before_final_dot:
                before_final_dot()
            smtp.send(b".\r\n")
            try:
                code, reply = smtp.getreply()
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                raise MailOutcomeUnknown(f"no reply to the final dot: {exc}") from exc
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            clean = True
            return True
        finally:
            if clean:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
            else:
                smtp.close()  # mid-DATA a QUIT would be read as the message's text: drop the connection instead
