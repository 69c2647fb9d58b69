"""Attachments: stored once by sha256, checked, and never a path from the client."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.integration.test_field_report import intake
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
    photo = b"\x89PNG\r\n\x1a\n" + b"0" * 1000
    a = cases.add_attachment(first.code, "anh1.png", "image/png", photo, uploaded_by="cb.buonmathuot")
    again = cases.add_attachment(first.code, "anh1-copy.png", "image/png", photo)
    b = cases.add_attachment(second.code, "anh.png", "image/png", photo)
    assert again.id == a.id and b.id != a.id and a.sha256 == b.sha256
    assert cases.files.read(a.sha256) == photo
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 1
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
