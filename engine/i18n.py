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
        # As Flask-Babel's gettext: a msgid is %-formatted only when it has parameters.
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (self.msgid, self.params))

    def translate(self, gettext: Callable[..., str]) -> str:
        """This message in the language of `gettext` (parameters that are Text are translated first)."""
        params = {k: v.translate(gettext) if isinstance(v, Text) else v for k, v in self.params.items()}
        return gettext(self.msgid, **params)


def t(msgid: str, **params: Any) -> Text:
    """A translatable message: `msgid` is English with %(name)s placeholders (extracted with `-k t`)."""
    return Text(msgid, params)


def text_of(exc: BaseException) -> str:
    """The message an exception was raised with: its Text if it has one, else str(exc)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], Text):
        return exc.args[0]
    return str(exc)
