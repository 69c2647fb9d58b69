"""Numbers from addresses and query strings, bounded to what the database's integers hold.

An id past the database's integers makes the driver or the server raise (SQLite: OverflowError past
2⁶³; PostgreSQL: "integer out of range" past 2³¹ for an INTEGER column) and a page number that large
overflows the query's OFFSET: both were HTTP 500. Out-of-range ids now match no route (404) and page
numbers are clamped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.routing import IntegerConverter

MAX_DB_INT = 2**31 - 1  # the largest id an INTEGER column holds (the routes' ids are INTEGER columns)
MAX_PAGE = 100_000  # far beyond any list; OFFSET stays well inside the database's integers


class BoundedIntConverter(IntegerConverter):
    """Flask's `<int:…>` limited to 1‥2³¹−1: a larger number is an address that does not exist (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


def page_number(args: Mapping[str, str], name: str = "page", maximum: int = MAX_PAGE) -> int:
    """`?page=` as a page number from 1 to `maximum`; anything else (text, huge, negative) reads as the nearest page."""
    raw = str(args.get(name, "1") or "1").strip()
    if not _digits(raw):
        return 1
    return maximum if len(raw) > 12 else max(1, min(int(raw), maximum))  # no int() of a thousand digits


def db_int(value: str) -> int | None:
    """A form or query value as a positive database integer, or None when it is not one."""
    raw = (value or "").strip()
    if not _digits(raw) or len(raw) > 10:
        return None
    number = int(raw)
    return number if 0 < number <= MAX_DB_INT else None


def _digits(raw: str) -> bool:
    # ASCII only: str.isdigit() also takes "²", which int() refuses.
    return raw.isascii() and raw.isdigit()
