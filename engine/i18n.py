"""Translatable messages without Flask: English text that remembers its msgid and parameters.

The engine and the case layer must not import Flask-Babel, yet what they say reaches
people who read Vietnamese. A `Text` is the English message (so logs, `str(exc)` and
tests see English) and carries what the web layer needs to translate it later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Text(str):
    """An English message (the str value) with its catalog msgid and parameters."""

    __slots__ = ("msgid", "params")
    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any] | None = None) -> Text:
        """The English rendering of `msgid` with `params`."""
        params = dict(params or {})
        # As Flask-Babel's gettext: a msgid is %-formatted only when it has parameters. The str is English, so a
        # Named parameter gives its English name (the Vietnamese one is shown when translated).
        english = {k: v.en if isinstance(v, Named) else v for k, v in params.items()}
        self = super().__new__(cls, msgid % english if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (self.msgid, self.params))

    def translate(self, gettext: Callable[..., str], language: str | None = None) -> str:
        """This message in the language of `gettext` (parameters that are Text are translated first, and a
        Named parameter gives its name in `language`)."""
        params = {k: v.translate(gettext, language) if isinstance(v, Text)
                  else v.in_language(language) if isinstance(v, Named) else v for k, v in self.params.items()}
        return gettext(self.msgid, **params)


class Named(str):
    """The name of a thing the system holds (a unit, a category, a BPMN element) in Vietnamese (the str value)
    and English, so that a message naming it can be shown in either language later."""

    __slots__ = ("en",)
    en: str

    def __new__(cls, vi: str, en: str | None = None) -> Named:
        """`vi`, remembering `en` (the Vietnamese name when there is no English one)."""
        self = super().__new__(cls, vi)
        self.en = en or vi
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Named, (str(self), self.en))

    def in_language(self, language: str | None) -> str:
        """The name in `language` (en, else Vietnamese)."""
        return self.en if language == "en" else str(self)


def to_json(value: Any) -> Any:
    """A message (Text, Named or plain value) as JSON, for storing it and showing it later in any language."""
    if isinstance(value, Text):
        return {"msgid": value.msgid, "params": {k: to_json(v) for k, v in value.params.items()}}
    if isinstance(value, Named):
        return {"vi": str(value), "en": value.en}
    return value


def from_json(data: Any) -> Any:
    """The Text, Named or plain value `to_json` stored."""
    if isinstance(data, dict) and "msgid" in data:
        return Text(data["msgid"], {k: from_json(v) for k, v in (data.get("params") or {}).items()})
    if isinstance(data, dict) and "vi" in data:
        return Named(data["vi"], data.get("en"))
    return data


def t(msgid: str, **params: Any) -> Text:
    """A translatable message: `msgid` is English with %(name)s placeholders (extracted with `-k t`)."""
    return Text(msgid, params)


def text_of(exc: BaseException) -> str:
    """The message an exception was raised with: its Text if it has one, else str(exc)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], Text):
        return exc.args[0]
    return str(exc)
