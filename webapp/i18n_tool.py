"""Print the messages marked in the sources but missing from the Vietnamese catalog, as .po stubs.

    .venv/bin/python -m webapp.i18n_tool > /tmp/new.po   # fill in each msgstr, then append to messages.po
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "webapp" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def missing() -> list[str]:
    """Message ids the sources mark and the catalog lacks, in source order."""
    with (ROOT / "webapp" / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    with PO.open("rb") as f:
        known = {m.id for m in read_po(f) if m.id}
    seen: list[str] = []
    for _file, _line, message, *_ in extract_from_dir(ROOT, method_map, options_map,
                                                      keywords={**DEFAULT_KEYWORDS, "t": None, "_l": None}):
        if message not in known and message not in seen:
            seen.append(message)
    return seen


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if __name__ == "__main__":
    for message in missing():
        if isinstance(message, tuple):
            print(f"msgid {_quote(message[0])}\nmsgid_plural {_quote(message[1])}\nmsgstr[0] \"\"\n")
        else:
            print(f"msgid {_quote(message)}\nmsgstr \"\"\n")
