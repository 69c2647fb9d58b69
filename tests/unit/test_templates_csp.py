"""The pages keep to the Content-Security-Policy (webapp/security.py): no inline script, event handler or style.

The policy forbids them, so any that a template carried would silently stop working; data for the page's
scripts goes in <script type="application/json"> blocks or data-* attributes instead.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_inline_script_handlers_or_styles():
    problems = []
    for path in _templates():
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        for match in SCRIPT.finditer(source):
            attributes = match.group(1)
            if "src=" not in attributes and 'type="application/json"' not in attributes:
                problems.append(f"{name}: inline <script{attributes}>")
        problems += [f"{name}: inline event handler" for _ in HANDLER.finditer(source)]
        problems += [f"{name}: style attribute" for _ in STYLE_ATTRIBUTE.finditer(source)]
        problems += [f"{name}: <style> element" for _ in STYLE_ELEMENT.finditer(source)]
        problems += [f"{name}: javascript: URL" for _ in JAVASCRIPT_URL.finditer(source)]
    assert not problems, "\n".join(problems)


# A fixed string of the template's own (say ('&nbsp;' * depth)|safe) holds no data: that much may pass.
LITERAL_SAFE = re.compile(r"""\(\s*'[^'{}<>]*'\s*(?:\*\s*[\w.]+\s*)?\)\s*\|\s*safe\b""")


def test_no_template_marks_data_safe():
    """Autoescaping is the pages' defence: no data is let through it unescaped."""
    marked = [f"{p.relative_to(TEMPLATES)}" for p in _templates()
              if re.search(r"\|\s*safe\b|Markup\(|autoescape\s+false",
                           LITERAL_SAFE.sub("", p.read_text(encoding="utf-8")))]
    assert not marked, marked
