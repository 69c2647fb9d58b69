"""Photos and videos sent with a report: checked whole before anything is written; stored once by sha256;
the public copy of a photo answered only once its case is published (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from engine.models import ProcessInstance
from tests.media_samples import WINDOWS_EXE, jpeg_with_gps, mp4, png, webp
from workflows.attachments import FileStore
from workflows.case_service import IntakeRequest
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.media import MediaLimits, Upload
from workflows.models import Attachment, Case, Publication
from workflows.runtime import make_services


@pytest.fixture
def cases(services, session, clock, tmp_path):
    """Case services with a file store in a temporary folder (reference data loaded by `services`)."""
    return make_services(session, clock, files=FileStore(tmp_path / "files")).cases


def request(files, **extra) -> IntakeRequest:
    """A citizen's report from the portal with `files`."""
    fields = {"channel": "field_report", "category": "traffic", "admin_unit": "P-BUON-MA-THUOT",
              "title": "Ổ gà trên đường Lê Duẩn", "description": "Ổ gà sâu.", "reporter_name": "Nguyễn Văn An",
              "reporter_phone": "0912345678", "source": "portal"}
    return IntakeRequest(**{**fields, **extra}, files=tuple(files))


def stored_files(tmp_path) -> list:
    folder = tmp_path / "files"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Case, ProcessInstance, Attachment))


def test_one_bad_file_among_good_ones_stores_nothing_and_starts_no_case(cases, session, tmp_path):
    good = [Upload("anh1.jpg", "image/jpeg", jpeg_with_gps()), Upload("anh2.png", "image/png", png())]
    for bad, says in ((Upload("photo.jpg", "image/jpeg", WINDOWS_EXE), "photo.jpg is a Windows program (.exe)"),
                      (Upload("anh3.jpg", "image/jpeg", jpeg_with_gps()[:3000]), "anh3.jpg cannot be read as a photo"),
                      (Upload("big.jpg", "image/jpeg", jpeg_with_gps() + b"\x00" * (2 * 1024 * 1024)),
                       "big.jpg is 2.0 MB; a photo may be at most 1 MB")):
        cases.media_limits = MediaLimits(max_image_bytes=1024 * 1024)
        with pytest.raises(IntakeError) as err:
            cases.intake_receipt(request([*good, bad]))
        assert says in err.value.fields["files"]
        assert counts(session) == (0, 0, 0) and stored_files(tmp_path) == []
    # Too many photos: the count is checked before anything is written, too.
    cases.media_limits = MediaLimits(max_images=2)
    with pytest.raises(IntakeError) as err:
        cases.intake_receipt(request([*good, Upload("anh3.webp", "", webp())]))
    assert err.value.fields["files"] == "at most 2 photos per report (3 were sent); leave some out"
    # An unknown category and a bad file: both are said at once, and nothing is kept.
    with pytest.raises(IntakeError) as err:
        cases.intake_receipt(request([Upload("x.jpg", "image/jpeg", WINDOWS_EXE)], category="no-such-thing"))
    assert set(err.value.fields) == {"category", "files"}
    assert counts(session) == (0, 0, 0) and stored_files(tmp_path) == []


def test_a_good_submission_stores_originals_public_copies_and_thumbnails_once(cases, session, tmp_path):
    photo, clip = jpeg_with_gps(), mp4()
    receipt = cases.intake_receipt(request([Upload("IMG_0001.jpg", "image/jpeg", photo),
                                            Upload("IMG_0001 (copy).jpg", "image/jpeg", photo),  # the same photo twice
                                            Upload("clip.mp4", "video/mp4", clip)]))
    rows = session.scalars(select(Attachment).where(Attachment.case_id == receipt.case.id)
                           .order_by(Attachment.id)).all()
    assert [(r.kind, r.stage, r.public, r.uploaded_by, r.content_type) for r in rows] == [
        ("image", "report", True, "citizen", "image/jpeg"), ("video", "report", False, "citizen", "video/mp4")]
    image, video = rows
    assert image.public_sha256 and image.thumb_sha256 and video.thumb_sha256 and video.public_sha256 is None
    # Original, public copy and thumbnail of the photo, original and thumbnail of the video: five files.
    assert len(stored_files(tmp_path)) == 5
    assert cases.files.read(image.sha256) == photo and cases.files.read(video.sha256) == clip
    public = Image.open(io.BytesIO(cases.files.read(image.public_sha256)))
    assert public.format == "JPEG" and not public.getexif() and public.size == (480, 640)  # turned upright
    # The same photo in another report: one more row, no new file.
    other = cases.intake_receipt(request([Upload("a.jpg", "image/jpeg", photo)], title="Ổ gà khác"))
    assert other.created and len(stored_files(tmp_path)) == 5


def test_a_public_copy_is_answered_only_while_the_case_is_published(cases, session, clock, tmp_path):
    receipt = cases.intake_receipt(request([Upload("Nha Nguyen Van An.jpg", "image/jpeg", jpeg_with_gps()),
                                            Upload("clip.mp4", "video/mp4", mp4())]))
    code = receipt.case.code
    image, video = session.scalars(select(Attachment).order_by(Attachment.id)).all()
    with pytest.raises(CaseNotFoundError):
        cases.public_file(code, image.id)  # not published yet
    publication = Publication(case_id=receipt.case.id, title="Ổ gà", summary="", resolution="Đã vá", unit_name="Phường",
                              published_at=clock.now(), feedback_until=clock.now())
    session.add(publication)
    session.commit()
    data, content_type, name = cases.public_file(code, image.id)
    assert content_type == "image/jpeg" and name == f"{code}-{image.id}.jpg" and "Nguyen" not in name
    assert data == cases.files.read(image.public_sha256) and b"Exif" not in data and data != image.sha256
    thumb, _, _ = cases.public_file(code, image.id, thumb=True)
    assert max(Image.open(io.BytesIO(thumb)).size) <= 320
    for attachment_id, other_code in ((video.id, code), (image.id, "PA-2026-999999"), (999, code)):
        with pytest.raises(CaseNotFoundError):
            cases.public_file(other_code, attachment_id)  # videos are never public; unknown ids and codes
    publication.withdrawn_at = clock.now()
    session.commit()
    with pytest.raises(CaseNotFoundError):
        cases.public_file(code, image.id)
