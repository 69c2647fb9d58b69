"""Turning a report's data into a PDF: Jinja templates, print CSS, charts as SVG, WeasyPrint.

A template can never fetch from outside: the URL fetcher refuses every network address (http, https, ftp and
anything else) and every file outside reports/static; data: URIs (the charts' SVG, a case's photo thumbnails)
are what the caller hands over. Fonts are found by fontconfig by family name (Liberation Serif, then Tinos —
both carry every Vietnamese diacritic) and embedded in the PDF by WeasyPrint.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import weasyprint.images  # noqa: F401 - imported here so that the line below undoes what it does at import
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import ImageFile
from sqlalchemy import select
from sqlalchemy.orm import Session
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from engine.i18n import Named, Text, t
from reports import catalog, charts
from reports.catalog import ReportParams
from reports.i18n import Translate, language_of
from reports.periods import LOCAL
from workflows.models import AdminUnit, User, UserRole
from workflows.units import PLACE_KINDS, UnitDirectory

# WeasyPrint's images module sets Pillow's process-wide ImageFile.LOAD_TRUNCATED_IMAGES to True when it is imported.
# A process that makes reports also takes citizens' photos (the web app, the embedded demo, a Celery worker), whose
# intake must refuse a truncated photo (workflows/media.py): put Pillow's default back. The reports embed only
# images they made themselves, whole.
ImageFile.LOAD_TRUNCATED_IMAGES = False

LOG = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
Progress = Callable[[int, Text], None]
FILES_KEY = "reports_files"  # session.info: the attachment store a report may read photos from


class FetchRefused(ValueError):
    """A template asked for something outside reports/static and data: URIs."""


class ReportFetcher(URLFetcher):
    """WeasyPrint's fetcher, allowed data: URIs and files under reports/static only; `refused` lists the rest."""

    def __init__(self, static: Path = STATIC):
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)
        self.static = static.resolve()
        self.refused: list[str] = []

    def allowed(self, url: str) -> bool:
        """Whether `url` is a data: URI or a file inside reports/static (after resolving .. and links)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return True
        if scheme != "file" or parts.netloc not in ("", "localhost"):
            return False
        path = Path(unquote(parts.path)).resolve()
        return path.is_relative_to(self.static) and path.is_file()

    def fetch(self, url: str, headers: Any = None) -> Any:
        """The resource, or FetchRefused (WeasyPrint then leaves it out and the refusal is logged)."""
        if not self.allowed(url):
            self.refused.append(url)
            LOG.warning("report fetch refused: %s", url[:200])
            raise FetchRefused(f"refused: {url[:200]}")
        return super().fetch(url, headers)


def html_to_pdf(html: str, fetcher: ReportFetcher | None = None) -> bytes:
    """The PDF of `html` (relative links resolve inside reports/static)."""
    fetcher = fetcher or ReportFetcher()
    document = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf()


# ---------------------------------------------------------------------------------------------- templates
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = format_number
    env.filters["percent"] = format_percent
    return env


_ENV: Environment | None = None


def environment() -> Environment:
    """The report templates' Jinja environment (autoescaped; `number` and `percent` filters)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def format_number(value: Any, decimals: int = 0, language: str = "vi") -> str:
    """1234.5 as 1.234,5 (vi) or 1,234.5 (en); None as an en dash."""
    if value is None or value == "":
        return "–"
    text = f"{float(value):,.{decimals}f}"
    if language == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_percent(value: Any, decimals: int = 1, language: str = "vi") -> str:
    """A share (0–1) as a percentage in the reader's way of writing numbers."""
    if value is None:
        return "–"
    return format_number(value * 100, decimals, language) + " %"


def svg_data_uri(svg_text: str) -> str:
    """An SVG as a data: URI for an <img> (the fetcher allows data: only from what the report itself made)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text.encode()).decode()


# ---------------------------------------------------------------------------------------------- the letterhead
def _province(unit: AdminUnit | None) -> AdminUnit | None:
    seen = set()
    while unit is not None and unit.id not in seen:
        if unit.kind == "province":
            return unit
        seen.add(unit.id)
        unit = unit.parent
    return None


def place_name(name: str) -> str:
    """A place's bare name: "Tỉnh Đắk Lắk" → "Đắk Lắk" (what goes before ", ngày … tháng … năm …")."""
    for prefix in ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def letterhead(session: Session, unit_code: str | None, translate: Translate, issued_at: datetime) -> dict[str, Any]:
    """The parts of the decree's letterhead for a report on `unit_code`: the governing body, the issuing
    body, the place and date line, the signature's position and name."""
    language = language_of(translate)
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == unit_code)) if unit_code else None
    province = _province(unit) or session.scalar(select(AdminUnit).where(AdminUnit.kind == "province",
                                                                        AdminUnit.parent_id.is_(None)))
    province_name = Named(province.name, province.name_en).in_language(language) if province else ""
    body_unit = unit if unit is not None else province
    above, on_behalf = "", ""
    position = translate(t("CHAIRPERSON"))
    if body_unit is None or body_unit.kind in PLACE_KINDS or body_unit.kind == "committee":
        # A place's report goes out in its People's Committee's name: two lines, no governing body above.
        place = body_unit if body_unit is not None and body_unit.kind in PLACE_KINDS else province
        name = Named(place.name, place.name_en).in_language(language) if place is not None else ""
        body = translate(t("PEOPLE'S COMMITTEE")) + ("\n" + name.upper() if name else "")
        on_behalf = translate(t("ON BEHALF OF THE PEOPLE'S COMMITTEE"))
    else:
        # A body (department, centre, police) writes its governing committee above its own name.
        if province is not None:
            above = translate(t("PEOPLE'S COMMITTEE OF %(province)s", province=province_name)).upper()
        body = Named(body_unit.name, body_unit.name_en).in_language(language).upper()
        position = translate(t("DIRECTOR"))
    signer = None
    if body_unit is not None:
        # A place signs through its People's Committee (where its leaders hold their role).
        signing = [body_unit.id, UnitDirectory(session).committee_of(body_unit).id]
        signer = session.scalar(select(User.full_name).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role == "leader", UserRole.unit_id.in_(signing),
                                       User.active.is_(True)).order_by(UserRole.unit_id != body_unit.id, User.id)
                                .limit(1))
    local = issued_at.astimezone(LOCAL)
    place = place_name(province.name) if province else ""  # the place's own name ("Đắk Lắk") in either language
    if language == "en":
        dated = f"{place}, {local.strftime('%d %B %Y')}" if place else local.strftime("%d %B %Y")
    else:
        # The decree writes days below 10 and months below 3 with a leading zero.
        month = f"{local.month:02d}" if local.month < 3 else str(local.month)
        dated = f"{place}, ngày {local.day:02d} tháng {month} năm {local.year}"
    return {"above": above, "body": body, "dated": dated, "on_behalf": on_behalf, "position": position,
            "signer": signer or "", "unit": unit}


# ---------------------------------------------------------------------------------------------- rendering
@dataclass
class RenderedReport:
    """A report made: its PDF, the PDF's sha256, the page count, the title and headline figures, the HTML."""

    pdf: bytes
    sha256: str
    pages: int
    title: str
    summary: dict[str, Any]
    html: str
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def page_count(pdf: bytes) -> int:
    """The number of pages of a PDF."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def render_html(session: Session, params: ReportParams, translate: Translate, *, number: str,
                issued_at: datetime, progress: Progress | None = None) -> tuple[str, catalog.ReportData]:
    """The report's HTML and the data it was made from (collecting, then drawing the charts)."""
    step = progress or (lambda percent, text: None)
    report_type = catalog.get(params.type)
    step(5, t("Collecting the figures"))
    data = report_type.collect(session, params, translate)
    step(40, t("Drawing the charts"))
    chart_images = {name: svg_data_uri(charts.svg(spec)) for name, spec in data.charts.items()}
    step(55, t("Laying out the pages"))
    head = letterhead(session, params.unit or data.extra.get("unit_code"), translate, issued_at)
    language = language_of(translate)
    template = environment().get_template(report_type.template)
    html = template.render(
        _=translate, lang=language, data=data, head=head, number=number, charts=chart_images,
        title=translate(data.title), subtitle=translate(data.subtitle), issued_at=issued_at.astimezone(LOCAL),
        num=lambda v, d=0: format_number(v, d, language), pct=lambda v, d=1: format_percent(v, d, language),
        report_code=report_type.code)
    return html, data


def render_report(session: Session, params: ReportParams, translate: Translate, *, number: str,
                  issued_at: datetime, progress: Progress | None = None, files: Any = None) -> RenderedReport:
    """The report `params` describes as a PDF, numbered `number` and dated `issued_at`; `progress(percent, step)`
    hears of each stage (collecting, charts, layout, PDF). `files` is the attachment store
    (workflows.attachments.FileStore) a case dossier takes its photos' thumbnails from."""
    previous = session.info.get(FILES_KEY)
    if files is not None:
        session.info[FILES_KEY] = files
    try:
        html, data = render_html(session, params, translate, number=number, issued_at=issued_at, progress=progress)
    finally:
        if files is not None:
            session.info[FILES_KEY] = previous
    if progress:
        progress(70, t("Writing the PDF"))
    pdf = html_to_pdf(html)
    if progress:
        progress(100, t("Done"))
    return RenderedReport(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), pages=page_count(pdf),
                          title=translate(data.title), summary=data.summary, html=html, charts=data.charts,
                          tables=data.tables)
