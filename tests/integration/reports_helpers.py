"""Shared by the report tests: render a report the way the worker and the command line do, read it back."""

from __future__ import annotations

import io
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader

from engine.clock import FrozenClock, using
from reports.catalog import validate_params
from reports.i18n import translator
from reports.render import RenderedReport, render_report

ISSUED = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def render(session, raw: dict, *, now: datetime = ISSUED, files=None, progress=None) -> RenderedReport:
    """Validate `raw` and render it in its language, by the clock frozen at `now`."""
    with using(FrozenClock(now)):
        params = validate_params(session, raw)
        report = render_report(session, params, translator(params.language), number="15/BC-IOC", issued_at=now,
                               files=files, progress=progress)
    keep = os.environ.get("IOC_REPORTS_KEEP")  # a folder to keep the PDFs in, to look at them
    if keep:
        name = "-".join(str(v) for v in (params.type, params.unit or params.case, params.period, params.language) if v)
        (Path(keep) / f"{name}.pdf").write_bytes(report.pdf)
        (Path(keep) / f"{name}.html").write_text(report.html, encoding="utf-8")
    return report


def pages_text(pdf: bytes) -> list[str]:
    """The text of each page, as pypdf extracts it."""
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    """The text as poppler's pdftotext reads it (layout kept)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def fonts(pdf: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) for every font of the PDF, as pdffonts lists them."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type... encoding emb sub uni object ID: the last five columns are fixed.
        rows.append((parts[0], parts[-5]))
    return rows


def assert_fonts_embedded(pdf: bytes, tmp_path: Path) -> None:
    """Every font is embedded, and each is the report's serif (no fallback that could drop a diacritic)."""
    found = fonts(pdf, tmp_path)
    assert found, "the PDF has no font"
    assert all(embedded == "yes" for _name, embedded in found), found
    assert all("Liberation-Serif" in name or "Tinos" in name for name, _ in found), found
