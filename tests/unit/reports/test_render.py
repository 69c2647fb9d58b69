"""Rendering: the fetcher lets a template reach nothing outside reports/static; fonts are embedded and
Vietnamese text reads back as typed."""

from __future__ import annotations

import io
import subprocess

import pytest
from pypdf import PdfReader

from reports.i18n import translator
from reports.render import STATIC, FetchRefused, ReportFetcher, format_number, format_percent, html_to_pdf


@pytest.mark.parametrize("url", [
    "http://example.com/x.css", "https://example.com/x.png", "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:5000/", "ftp://example.com/f", "file:///etc/passwd",
    (STATIC / ".." / "render.py").as_uri(), STATIC.as_uri() + "/../../README.md", "file://example.com/etc/passwd",
    "gopher://example.com/",
])
def test_the_fetcher_refuses_the_network_and_files_outside_static(url):
    fetcher = ReportFetcher()
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_fetcher_gives_the_stylesheet_and_data_uris():
    fetcher = ReportFetcher()
    assert b"@page" in fetcher.fetch((STATIC / "report.css").as_uri()).read()
    assert fetcher.fetch("data:text/plain;base64,eGlu").read() == b"xin"


def test_a_template_that_reaches_out_gets_nothing_and_the_pdf_is_still_made():
    fetcher = ReportFetcher()
    html = ('<html><head><link rel="stylesheet" href="http://169.254.169.254/s.css"></head><body>'
            '<img src="file:///etc/passwd"><img src="http://example.com/a.png"><p>xin chào</p></body></html>')
    pdf = html_to_pdf(html, fetcher)
    assert pdf.startswith(b"%PDF")
    assert set(fetcher.refused) == {"http://169.254.169.254/s.css", "file:///etc/passwd", "http://example.com/a.png"}


def test_a_minimal_report_embeds_its_fonts_and_reads_back_in_vietnamese(tmp_path):
    html = ('<html><head><link rel="stylesheet" href="report.css"></head><body>'
            '<p>Ủy ban nhân dân tỉnh Đắk Lắk</p><p><b>Độc lập - Tự do - Hạnh phúc</b></p>'
            '<p><i>Phường Buôn Ma Thuột, ngày 04 tháng 12 năm 2026</i></p></body></html>')
    pdf = html_to_pdf(html)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for typed in ("Ủy ban nhân dân tỉnh Đắk Lắk", "Độc lập - Tự do - Hạnh phúc", "Phường Buôn Ma Thuột"):
        assert typed in text
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows), fonts  # the "emb" column
    assert all("Liberation" in row or "Tinos" in row for row in rows), fonts


def test_numbers_are_written_the_readers_way():
    assert format_number(1234567.5, 1, "vi") == "1.234.567,5"
    assert format_number(1234567.5, 1, "en") == "1,234,567.5"
    assert format_percent(0.875, 1, "vi") == "87,5 %"
    assert format_number(None) == "–"
    assert translator("en")("REPORT") == "REPORT"
