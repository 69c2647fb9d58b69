"""Removing personal data from text before anything is made public."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Vietnamese phone numbers: 0xxxxxxxxx, +84xxxxxxxxx, (+84)…, with optional spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\d+])(?:\(?\+?84\)?|\(?0)(?:[\s.)-]{0,2}\d){8,10}\b")
# Citizen ID (CCCD, 12 digits) and old ID card (CMND, 9 digits), also written in groups with spaces
# (dots are left alone: 100.000.000 is an amount of money).
_ID_NUMBER = re.compile(r"\b\d{12}\b|\b\d{9}\b|\b\d{4} \d{4} \d{4}\b|\b\d{3} \d{3} \d{3}(?: \d{3})?\b")
# A person named after a form of address ("ông Trần Văn Bình", "chị Hằng") or introducing themselves
# ("tôi là Lê Thị Hoa", "họ tên: …"): one to four capitalised words. Names nobody told us are caught
# this way; the reporter's own name is matched exactly (any case, with or without diacritics).
_UPPER = "A-ZÀ-ỸĐ"
_WORD = rf"[{_UPPER}][^\W\d_]*"
_TITLED_NAME = re.compile(
    rf"(?<!\w)(?<![Đđ]ường )(?<![Pp]hố )((?:[Aa]nh|[Cc]hị|[Ôô]ng|[Bb]à|[Cc]ô|[Cc]hú|[Bb]ác|[Ee]m|[Tt]ôi là|[Tt]ên là|[Tt]ôi tên|"
    rf"[Hh]ọ tên|[Hh]ọ và tên|[Nn]gười báo|[Mm]y name is|[Nn]ame)[:\s]+)({_WORD}(?:\s+{_WORD}){{0,3}})(?!\w)")
MASK = "[đã ẩn]"
# Public positions are rounded to 4 decimals (about 10 m): enough for a map, not a doorstep. The public
# map, the resolution pages and Open311 all round the same way.
PUBLIC_DECIMALS = 4


def public_position(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """A case's position as anything public shows it: rounded, or (None, None) when it has none."""
    if lat is None or lon is None:
        return None, None
    return round(lat, PUBLIC_DECIMALS), round(lon, PUBLIC_DECIMALS)


def _base(char: str) -> str:
    """The letter without its diacritics, lower case (đ counts as d)."""
    lowered = char.lower()
    if lowered == "đ":
        return "d"
    return unicodedata.normalize("NFD", lowered)[0]


@lru_cache(maxsize=1)
def _variants() -> dict[str, str]:
    """For every base letter, the Vietnamese letters that reduce to it (both cases)."""
    groups: dict[str, set[str]] = {}
    letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵdđ"
    for char in letters + letters.upper() + "bcfghjklmnpqrstvwxz" + "bcfghjklmnpqrstvwxz".upper():
        groups.setdefault(_base(char), set()).add(char)
    return {base: "".join(sorted(chars)) for base, chars in groups.items()}


def _name_pattern(name: str) -> re.Pattern[str]:
    """A name matched whole, in any case, with or without diacritics, however it is spaced."""
    variants = _variants()
    parts = []
    for char in name:
        if char.isspace():
            parts.append(r"\s+")
        elif char.isalpha():
            group = variants.get(_base(char))
            parts.append(f"[{re.escape(group)}]" if group else re.escape(char))
        else:
            parts.append(re.escape(char))
    return re.compile(r"(?<!\w)" + "".join(parts) + r"(?!\w)", re.IGNORECASE)


def redact(text: str, names: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with emails, phone numbers, ID numbers, the given names and addressed names masked."""
    if not text:
        return text
    out = _EMAIL.sub(MASK, text)
    out = _PHONE.sub(MASK, out)
    out = _ID_NUMBER.sub(MASK, out)
    wanted = {re.sub(r"\s+", " ", n.strip()) for n in names if n and len(n.strip()) >= 2}
    for name in sorted(wanted, key=len, reverse=True):
        out = _name_pattern(name).sub(MASK, out)
    return _TITLED_NAME.sub(lambda m: m.group(1) + MASK, out)
