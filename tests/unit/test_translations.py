"""The one Flask-Babel catalog: every message translated into Vietnamese, placeholders kept."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "webapp" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog():
    with PO.open("rb") as f:
        return read_po(f)


def test_every_message_has_a_vietnamese_translation_that_is_not_fuzzy():
    messages = [m for m in catalog() if m.id]
    assert messages
    untranslated = [m.id for m in messages if not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_placeholders_are_the_same_in_msgid_and_msgstr():
    different = []
    for message in catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                different.append(message.id)
    assert different == []


def test_the_catalog_holds_every_message_the_sources_mark():
    """A new t(...)/gettext(...) in engine/, workflows/ or webapp/ needs `pybabel update` and a translation."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    root = PO.parents[4]
    with (root / "webapp" / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "t": None, "_l": None}
    marked = {message for _file, _line, message, *_ in extract_from_dir(root, method_map, options_map, keywords=keywords)}
    known = {m.id for m in catalog() if m.id}
    assert sorted(map(str, marked - known)) == []
