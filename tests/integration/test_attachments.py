"""Attachments: stored once by sha256, checked, and never a path from the client."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.integration.test_field_report import intake
from tests.media_samples import ELF, HTML, WINDOWS_EXE, jpeg_with_gps, mp4, png
from workflows.attachments import FileStore
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import Attachment, CaseEvent
from workflows.runtime import make_services


@pytest.fixture
def cases(services, session, clock, tmp_path):
    """Case services with a file store in a temporary folder."""
    return make_services(session, clock, files=FileStore(tmp_path / "files")).cases


def test_the_same_file_is_stored_once(cases, services, session, tmp_path):
    first, second = intake(services), intake(services, title="Ổ gà khác")
    photo = png()
    a = cases.add_attachment(first.code, "anh1.png", "image/png", photo, uploaded_by="cb.buonmathuot")
    again = cases.add_attachment(first.code, "anh1-copy.png", "image/png", photo)
    b = cases.add_attachment(second.code, "anh.png", "image/png", photo)
    assert again.id == a.id and b.id != a.id and a.sha256 == b.sha256
    assert cases.files.read(a.sha256) == photo
    # The photo, its public copy (re-encoded) and its thumbnail.
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 3
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "attachment_added")) == 2


def test_a_client_path_is_never_used(cases, services):
    case = intake(services)
    att = cases.add_attachment(case.code, "../../etc/passwd", "text/plain", b"x")
    assert att.filename == "passwd"
    assert cases.add_attachment(case.code, "C:\\Users\\a\\bien-ban.pdf", "application/pdf", b"y").filename == "bien-ban.pdf"


def test_bad_files_say_what_to_fix_and_store_nothing(cases, services, session, tmp_path):
    case = intake(services)
    cases.max_attachment_bytes = 1024 * 1024
    with pytest.raises(IntakeError) as err:
        cases.add_attachment(case.code, "video.mp4", "video/mp4", b"0" * (1024 * 1024 + 1))
    assert err.value.fields["file"] == "the file is larger than 1 MB; send a smaller one"
    with pytest.raises(IntakeError, match="the file is empty"):
        cases.add_attachment(case.code, "x.png", "image/png", b"")
    with pytest.raises(CaseNotFoundError):
        cases.add_attachment("PA-2026-999999", "x.png", "image/png", b"1")
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not (tmp_path / "files").exists() or not any(p.is_file() for p in (tmp_path / "files").rglob("*"))


def test_an_after_photo_is_checked_copied_and_published_with_the_resolution(cases, services, session):
    case = intake(services)
    after = cases.add_attachment(case.code, "sau-khi-va.jpg", "image/jpeg", jpeg_with_gps(), uploaded_by="cb.buonmathuot",
                                 stage="resolution")
    assert (after.kind, after.stage, after.public, after.content_type) == ("image", "resolution", True, "image/jpeg")
    assert after.public_sha256 and after.thumb_sha256 and b"GPS" not in cases.files.read(after.public_sha256)
    video = cases.add_attachment(case.code, "hien-truong.mp4", "application/octet-stream", mp4())
    assert (video.kind, video.stage, video.public, video.content_type) == ("video", "report", False, "video/mp4")
    assert video.thumb_sha256 and video.public_sha256 is None
    # A document stays a document; its claimed type is kept unless it claims to be something a browser shows.
    report = cases.add_attachment(case.code, "bien-ban.pdf", "application/pdf", b"%PDF-1.4 ...")
    assert (report.kind, report.content_type, report.thumb_sha256) == ("file", "application/pdf", None)
    with pytest.raises(IntakeError) as err:
        cases.add_attachment(case.code, "x.jpg", "image/jpeg", b"\xff\xd8\xff\xe0broken")
    assert "x.jpg cannot be read as a photo" in err.value.fields["file"]
    with pytest.raises(IntakeError) as err:
        cases.add_attachment(case.code, "x.pdf", "application/pdf", b"1", stage="later")
    assert "stage" in err.value.fields


def test_programs_and_web_pages_are_refused_even_to_officials(cases, services, session, tmp_path):
    case = intake(services)
    for name, data, says in (("bien-ban.pdf", WINDOWS_EXE, "bien-ban.pdf is a Windows program (.exe)"),
                             ("anh.jpg", ELF, "anh.jpg is a Linux program (ELF)"),
                             ("trang.txt", HTML, "trang.txt is a web page (HTML/XML)")):
        with pytest.raises(IntakeError) as err:
            cases.add_attachment(case.code, name, "application/pdf", data)
        assert err.value.fields["file"].startswith(says)
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not (tmp_path / "files").exists() or not any(p.is_file() for p in (tmp_path / "files").rglob("*"))
