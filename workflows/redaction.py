"""Removing personal data from text before anything is made public."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Vietnamese phone numbers: 0xxxxxxxxx, +84xxxxxxxxx, with optional spaces, dots or dashes.
_PHONE = re.compile(r"(?:\+?84|0)(?:[\s.-]?\d){8,10}\b")
# Citizen ID (CCCD, 12 digits) and old ID card (CMND, 9 digits).
_ID_NUMBER = re.compile(r"\b\d{12}\b|\b\d{9}\b")
MASK = "[đã ẩn]"


def redact(text: str, names: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with emails, phone numbers, ID numbers and the given names masked."""
    if not text:
        return text
    out = _EMAIL.sub(MASK, text)
    out = _PHONE.sub(MASK, out)
    out = _ID_NUMBER.sub(MASK, out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = re.sub(re.escape(name), MASK, out, flags=re.IGNORECASE)
    return out
