"""The one-case dossier: a field report taken through the real process (photo, triage, resolution, the
citizen's rating), rendered to PDF and read back, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.clock import using
from engine.models import HumanTask
from reports.catalog import ReportParamsError
from tests.conftest import BPMN_DIR
from tests.integration.reports_helpers import assert_fonts_embedded, pages_text, render
from tests.media_samples import jpeg_with_gps
from workflows.attachments import FileStore
from workflows.case_service import IntakeRequest
from workflows.media import Upload
from workflows.models import Case, CaseRating
from workflows.runtime import make_services


@pytest.fixture
def files(tmp_path):
    return FileStore(tmp_path / "files")


@pytest.fixture
def resolved_case(session, clock, reference_data, files):
    """A pothole report with a photo, accepted at triage, resolved by the ward, rated satisfied."""
    services = make_services(session, clock, files=files)
    bpmn = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    services.definitions.deploy(bpmn, deployed_by="test")
    session.commit()
    with using(clock):
        case, _ = services.cases.intake(IntakeRequest(
            channel="field_report", category="traffic", admin_unit="P-BUON-MA-THUOT",
            title="Ổ gà sâu trên đường Lê Duẩn, đoạn trước trường Tiểu học Nguyễn Thị Minh Khai",
            description="Ổ gà sâu khoảng 20 cm, nguy hiểm cho người đi xe máy vào ban đêm.",
            reporter_name="Nguyễn Văn An", reporter_phone="0912345678",
            files=(Upload("o-ga.jpg", "image/jpeg", jpeg_with_gps()),)))
        clock.advance(hours=1)
        triage = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code,
                                                        HumanTask.state == "open"))
        services.cases.complete_task(triage.id, {"decision": "accept", "note": "Đã xác minh"}, actor="dtv1")
        clock.advance(hours=20)
        handle = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code,
                                                        HumanTask.state == "open"))
        services.cases.complete_task(handle.id, {"outcome": "resolved",
                                                 "resolution": "Đã vá ổ gà bằng bê tông nhựa nóng."},
                                     actor="cb.buonmathuot")
        clock.advance(hours=3)
        comment = "Cảm ơn phường đã xử lý nhanh"
        # The rating row as the portal records it, in the transaction of the answer.
        services.cases.citizen_feedback(case.code, satisfied=True, comment=comment, record=lambda c: session.add(
            CaseRating(case_id=c.id, unit_id=c.responsible_unit_id, satisfied=True, comment=comment,
                       created_at=clock.now())))
    session.commit()
    return case.code


def test_the_dossier_says_the_case_its_history_photo_resolution_and_rating(session, resolved_case, files,
                                                                            tmp_path):
    report = render(session, {"type": "dossier", "case": resolved_case, "language": "vi"}, files=files)
    text = "\n".join(pages_text(report.pdf))
    flat = " ".join(text.split())
    case = session.scalar(select(Case).where(Case.code == resolved_case))
    # The letterhead: the responsible ward's People's Committee, the national motto, the title.
    for typed in ("ỦY BAN NHÂN DÂN", "PHƯỜNG BUÔN MA THUỘT", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                  "Độc lập - Tự do - Hạnh phúc", "Số: 15/BC-IOC", "ngày 04 tháng 12 năm 2026", "BÁO CÁO",
                  f"Hồ sơ phản ánh {resolved_case}", "Nơi nhận:", "CHỦ TỊCH"):
        assert typed in flat, typed
    # The facts, the history in words with who did it, the resolution and the rating.
    assert "Phường Buôn Ma Thuột" in flat and "Giao thông" in flat
    assert "Giao cho Phường Buôn Ma Thuột" in flat
    assert "Hoàn thành nhiệm vụ: Phân loại phản ánh" in flat and "Đã xác minh" in flat
    assert "Đã vá ổ gà bằng bê tông nhựa nóng." in flat
    assert "Hài lòng" in flat and "Cảm ơn phường đã xử lý nhanh" in flat
    assert session.scalar(select(CaseRating.satisfied).where(CaseRating.case_id == case.id)) is True
    # The reporter's personal details stay out.
    assert "0912345678" not in flat and "Nguyễn Văn An" not in flat
    # The photo's thumbnail is embedded as an image (its file name is under it).
    images = [image for page in PdfReader(io.BytesIO(report.pdf)).pages for image in page.images]
    assert len({image.data for image in images}) == 1 and "o-ga.jpg" in flat  # (pages share their resources)
    assert report.summary["photos"] == 1 and report.summary["ratings"] == 1
    assert report.summary["events"] >= 6
    assert_fonts_embedded(report.pdf, tmp_path)


def test_the_dossier_in_english_and_without_the_file_store(session, resolved_case, tmp_path):
    report = render(session, {"type": "dossier", "case": resolved_case, "language": "en"})
    flat = " ".join(" ".join(pages_text(report.pdf)).split())
    assert "SOCIALIST REPUBLIC OF VIET NAM" in flat and f"Dossier of case {resolved_case}" in flat
    assert "(picture not available)" in flat and "o-ga.jpg" in flat
    assert not [image for page in PdfReader(io.BytesIO(report.pdf)).pages for image in page.images]


def test_an_unknown_case_is_refused_with_words(session, reference_data):
    with pytest.raises(ReportParamsError) as caught:
        render(session, {"type": "dossier", "case": "PA-2026-999999"})
    assert caught.value.errors["case"] == "there is no case with the code PA-2026-999999"
