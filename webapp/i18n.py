"""Showing the engine's and case layer's messages in the user's language with Flask-Babel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask_babel
from flask import current_app

from engine.i18n import Named, Text, from_json


def translate(value: Any) -> str:
    """`value` in the current locale: a Text with its parameters, a plain msgid as it is, else str(value)."""
    if isinstance(value, Text):
        return value.translate(flask_babel.gettext, reader_language())
    if isinstance(value, Named):
        return value.in_language(reader_language())
    if isinstance(value, str):
        return flask_babel.gettext(value)
    return str(value)


def reader_language() -> str:
    """The language the page is written in for this request: vi or en."""
    locale = flask_babel.get_locale()
    return locale.language if locale else "vi"


@contextmanager
def cli_language() -> Iterator[str]:
    """Inside an app context: translate into the configured LANG (IOC_LANG) until the block ends."""
    lang = current_app.config["LANG"]
    with flask_babel.force_locale(lang):
        yield lang


def rendered(payload: dict[str, Any], part: str) -> str:
    """One part (title, subject, body) of an outbox payload that carries a stored message, in the language of
    its reader (`lang`); payloads without one keep their text. Needs an application context."""
    stored = payload.get("message") or {}
    key = "title" if part == "subject" else part
    if key not in stored:
        return payload.get(part) or ""
    with flask_babel.force_locale(payload.get("lang") or "vi"):
        return translate(from_json(stored[key]))
