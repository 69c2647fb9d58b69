"""How the reports lay out: thousands of overdue cases (the table breaks across pages, its header on every one,
no row split), long Vietnamese names that wrap inside the margins, page numbers from page 2; on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from reports.operations import OVERDUE_ROWS
from tests.integration.reports_helpers import assert_fonts_embedded, pages_text, render
from workflows.models import AdminUnit, Case

LONG_UNIT = ("Ban Quản lý các dự án đầu tư xây dựng công trình dân dụng, công nghiệp và hạ tầng kỹ thuật "
             "khu vực phía Đông Nam tỉnh Đắk Lắk")
LONG_TITLE = ("Phản ánh về tình trạng lấn chiếm lòng đường, vỉa hè để kinh doanh, buôn bán và trông giữ xe trái "
              "phép kéo dài nhiều tháng tại khu vực chợ trung tâm, gây ùn tắc giao thông nghiêm trọng — số %d")
OVERDUE = 2500
MM = 72 / 25.4  # points per millimetre


@pytest.fixture
def crowded(session, reference_data):
    """A department with a very long name holding 2,500 cases open past their deadline in November 2026."""
    province = session.scalar(select(AdminUnit).where(AdminUnit.code == "DLK"))
    ward = session.scalar(select(AdminUnit).where(AdminUnit.code == "P-BUON-MA-THUOT"))
    unit = AdminUnit(code="BQLDA-DONG-NAM", name=LONG_UNIT, name_en="South-East Construction Projects Board",
                     kind="department", parent_id=province.id)
    session.add(unit)
    session.flush()
    start = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    rows = []
    for n in range(1, OVERDUE + 1):
        created = start + timedelta(minutes=15 * n)
        rows.append({"code": f"PA-2026-{n:06d}", "channel": "field_report", "category_code": "traffic",
                     "title": LONG_TITLE % n, "description": "", "address": "", "admin_unit_id": ward.id,
                     "priority": "normal", "status": "in_progress", "responsible_unit_id": unit.id,
                     "escalation_level": 0, "due_at": created + timedelta(hours=72), "reopen_count": 0,
                     "answers": {}, "close_note": "", "source": "demo", "created_at": created, "updated_at": created})
    session.execute(insert(Case.__table__), rows)
    session.commit()
    return unit


def words_with_boxes(pdf: bytes, tmp_path) -> list[tuple[int, float, float, str]]:
    """(page, xMin, xMax, word) of every word, as poppler's pdftotext -bbox places them."""
    path = tmp_path / "layout.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    out, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">(.*)</word>', line)
        if m:
            out.append((page, float(m.group(1)), float(m.group(2)), m.group(3)))
    return out


def test_thousands_of_overdue_cases_break_across_pages_with_the_header_repeated(session, crowded, tmp_path):
    report = render(session, {"type": "operations", "unit": "DLK", "period": "2026-11", "language": "vi"})
    assert report.summary["overdue"] == OVERDUE
    rows = report.tables["overdue"]
    assert len(rows) == OVERDUE_ROWS and [r["code"] for r in rows[:2]] == ["PA-2026-000001", "PA-2026-000002"]
    pages = pages_text(report.pdf)
    flat = [" ".join(page.split()) for page in pages]
    everything = " ".join(flat)
    assert (f"Bảng liệt kê {OVERDUE_ROWS} phản ánh đầu tiên; {OVERDUE - OVERDUE_ROWS:,}".replace(",", ".")
            in everything)
    # The overdue table runs over several pages, and each of them starts with its header.
    with_rows = [i for i, page in enumerate(flat) if re.search(r"PA-2026-\d{6}", page)]
    assert len(with_rows) >= 5
    for i in with_rows:
        assert "STT" in flat[i] and "Số ngày trễ" in flat[i] and "Quá hạn từ" in flat[i], i
    # No row is split between two pages: every listed code is on exactly one page, with its whole title.
    squeezed = ["".join(page.split()) for page in pages]
    for row in rows:
        holders = [i for i, page in enumerate(squeezed) if row["code"] in page]
        assert len(holders) == 1, row["code"]
        assert "".join(row["title"].split()) in squeezed[holders[0]], row["code"]
    assert report.pages == len(pages) >= 8
    assert_fonts_embedded(report.pdf, tmp_path)


def test_long_vietnamese_names_wrap_inside_the_margins_and_pages_are_numbered(session, crowded, tmp_path):
    report = render(session, {"type": "operations", "unit": "DLK", "period": "2026-11", "language": "vi"})
    words = words_with_boxes(report.pdf, tmp_path)
    width = 210 * MM
    # A4; left margin 30 mm, right 15 mm: nothing is cut off or runs into the margins (a little slack for
    # the glyphs' side bearings).
    assert all(30 * MM - 1.5 <= x0 and x1 <= width - 15 * MM + 1.5 for _p, x0, x1, _w in words), \
        [(p, x0, x1, w) for p, x0, x1, w in words if x0 < 30 * MM - 1.5 or x1 > width - 15 * MM + 1.5][:5]
    # The long name is all there, as typed, in the unit table and in the overdue list.
    squeezed = "".join(" ".join(pages_text(report.pdf)).split())
    assert squeezed.count("".join(LONG_UNIT.split())) >= 2
    # Page numbers: none on the first page, centred at the top of every other one.
    page_count = report.pages
    path = tmp_path / "numbers.pdf"
    path.write_bytes(report.pdf)
    for number in range(1, page_count + 1):
        text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(path), "-"],
                              capture_output=True, text=True, check=True).stdout
        first = next(line.strip() for line in text.splitlines() if line.strip())
        if number == 1:
            assert first.startswith("ỦY BAN NHÂN DÂN")
        else:
            assert first == str(number)
            top = [(x0, x1) for p, x0, x1, w in words if p == number and w == str(number)][0]
            assert abs((top[0] + top[1]) / 2 - (30 * MM + (width - 15 * MM)) / 2) < 3 * MM
