"""Checking a human task's completion data against the form its BPMN declares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import FormError
from engine.i18n import t, text_of

MAX_TEXT = 10_000
_TRUE = {"true", "1", "on", "yes", "có"}
_FALSE = {"false", "0", "off", "no", "không", ""}


@dataclass(frozen=True)
class ChoiceSource:
    """A live list a `choice@NAME` field offers (units, categories…), registered by the application.

    The engine knows no units nor categories: `options(session, language)` gives the list as
    (value, label) pairs in the reader's language, and `check(session, value)` says whether a value
    is in it now (a completion is checked again on the server, whatever the page offered).
    """

    options: Callable[[Any, str], list[tuple[str, str]]]
    check: Callable[[Any, str], bool]
    description: str = ""


class BoundSources:
    """The registered lists with the session to read them from (what a completion checks against)."""

    def __init__(self, sources: Mapping[str, ChoiceSource], session: Any):
        self.sources, self.session = sources, session

    def check(self, name: str, value: str) -> bool:
        """Is `value` in list `name` now? (An unknown list holds nothing.)"""
        source = self.sources.get(name)
        return source is not None and source.check(self.session, value)

    def options(self, name: str, language: str) -> list[tuple[str, str]]:
        """The (value, label) pairs of list `name` in `language`."""
        source = self.sources.get(name)
        return source.options(self.session, language) if source is not None else []


def clean_form_data(form: list[dict[str, Any]], data: dict[str, Any],
                    lists: BoundSources | None = None) -> dict[str, Any]:
    """Typed values for the declared fields, or FormError saying what to fix in each.

    Only declared fields are taken, so a completion can never overwrite process
    variables the form does not offer. A `choice@list` field is checked against `lists`.
    """
    declared = {f["name"]: f for f in form}
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(declared))
    for name in unknown:
        errors[name] = t("this task has no such field") if declared else t("this task takes no data")
    clean: dict[str, Any] = {}
    for name, field in declared.items():
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip() and field["type"] != "bool"):
            if field["required"]:
                errors[name] = t("required")
            elif (when := field.get("required_when")) and data.get(when["field"]) in when["values"]:
                errors[name] = t("required with the choice made above")
            continue
        try:
            clean[name] = _coerce(field, raw, lists)
        except ValueError as exc:
            errors[name] = text_of(exc)
    if errors:
        raise FormError(errors)
    return clean


def _coerce(field: dict[str, Any], raw: Any, lists: BoundSources | None = None) -> Any:
    kind = field["type"]
    if kind == "choice" and field.get("source"):
        value = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(value, str) or lists is None or not lists.check(field["source"], value):
            raise ValueError(t("%(value)s is not in the list; choose one of the list", value=repr(str(raw)[:80])))
        return value
    if kind in ("text", "textarea"):
        if not isinstance(raw, str):
            raise ValueError(t("must be text"))
        if len(raw) > MAX_TEXT:
            raise ValueError(t("is longer than %(max)s characters; shorten it", max=MAX_TEXT))
        return raw.strip()
    if kind == "choice":
        if raw not in field["choices"]:
            raise ValueError(t("must be one of: %(choices)s", choices=", ".join(field["choices"])))
        return raw
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError(t("must be yes or no"))
    if kind == "int":
        if isinstance(raw, bool):
            raise ValueError(t("must be a whole number"))
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError(t("must be a whole number")) from None
    if kind == "number":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(t("must be a number")) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(t("must be a finite number"))
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(raw)).isoformat()
        except ValueError:
            raise ValueError(t("must be a date like 2026-12-31")) from None
    raise ValueError(t("unknown field type %(kind)s", kind=kind))
