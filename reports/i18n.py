"""Reports in the reader's language without Flask: stdlib gettext over the compiled catalog.

A Celery worker, the command line, a test or the bench renders a Vietnamese report with no request and no
Flask-Babel: the catalog webapp/translations/<lang>/LC_MESSAGES/messages.mo is read as a file (never imported
from webapp). English is the msgid itself.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.i18n import Named, Text

LANGUAGES = ("vi", "en")
CATALOGS = Path(__file__).resolve().parent.parent / "webapp" / "translations"

Translate = Callable[[Any], str]


@lru_cache(maxsize=4)
def _catalog(language: str) -> gettext.NullTranslations:
    path = CATALOGS / language / "LC_MESSAGES" / "messages.mo"
    if language == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def translator(language: str) -> Translate:
    """A function that gives a Text, a Named or a plain msgid in `language` (vi or en); other values as str.

    In a template it is `_`: `_("No.: %(number)s", number=...)` formats the translated msgid as gettext does."""
    language = language if language in LANGUAGES else "vi"
    catalog = _catalog(language)

    def gettext_(msgid: str, **params: Any) -> str:
        text = catalog.gettext(msgid)
        return text % params if params else text

    def translate(value: Any, **params: Any) -> str:
        if params and isinstance(value, str) and not isinstance(value, Text):
            return gettext_(value, **params)
        if isinstance(value, Text):
            return value.translate(gettext_, language)
        if isinstance(value, Named):
            return value.in_language(language)
        if value is None:
            return ""
        if isinstance(value, str):
            return catalog.gettext(value) if value else ""
        return str(value)

    translate.language = language  # type: ignore[attr-defined]
    return translate


def language_of(translate: Translate) -> str:
    """The language a translator speaks (vi when it does not say, as Flask-Babel's gettext)."""
    return getattr(translate, "language", "vi")
