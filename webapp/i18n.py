"""Showing the engine's and case layer's messages in the user's language with Flask-Babel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask_babel
from flask import current_app

from engine.i18n import Text


def translate(value: Any) -> str:
    """`value` in the current locale: a Text with its parameters, a plain msgid as it is, else str(value)."""
    if isinstance(value, Text):
        return value.translate(flask_babel.gettext)
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
