"""Media checks on real files made here: judged by content, public copies without any metadata, thumbnails,
and each refusal's message."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.media_samples import (
    ELF,
    HTML,
    SCRIPT,
    SVG,
    WINDOWS_EXE,
    ZIP,
    bomb_png,
    gif,
    jpeg_with_gps,
    mp4,
    png,
    webp,
)
from workflows.errors import IntakeError
from workflows.media import MediaLimits, Upload, check_document, check_uploads, inspect, sniff

ACCEPTED = "send photos as JPEG, PNG or WebP and videos as MP4, MOV, 3GP or WebM"


def refusal(data: bytes, name: str = "photo.jpg", limits: MediaLimits = MediaLimits()) -> str:
    with pytest.raises(IntakeError) as err:
        inspect(Upload(name, "image/jpeg", data), limits)
    return err.value.fields["files"]


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def test_a_jpeg_with_gps_gets_a_public_copy_without_any_metadata_turned_upright():
    original = jpeg_with_gps((640, 480), orientation=6)
    assert opened(original).getexif().get_ifd(0x8825)  # the sample does carry GPS
    media = inspect(Upload("IMG_0001.JPG", "application/octet-stream", original))
    assert (media.kind, media.content_type, media.filename, media.original) == ("image", "image/jpeg", "IMG_0001.JPG",
                                                                                 original)
    public = opened(media.public)
    assert public.format == "JPEG" and public.size == (480, 640)  # orientation 6 applied: now portrait
    assert not public.getexif() and not public.getexif().get_ifd(0x8825)
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(public.info)
    for marker in (b"Exif", b"GPS", b"PhoneMaker", b"Nguyen", b"ICC_PROFILE", b"http://ns.adobe.com/xap"):
        assert marker not in media.public and marker not in media.thumbnail
    # The blue corner (top left before turning) is now top right: the pixels were turned, not just relabelled.
    assert public.getpixel((470, 10))[2] > 150 and public.getpixel((10, 10))[0] > 150
    thumb = opened(media.thumbnail)
    assert thumb.format == "JPEG" and max(thumb.size) == 320 and not thumb.getexif()


def test_large_photos_are_scaled_down_for_the_public_copy():
    media = inspect(Upload("big.jpg", "image/jpeg", jpeg_with_gps((4000, 3000), orientation=1)))
    assert opened(media.public).size == (2560, 1920) and opened(media.thumbnail).size == (320, 240)


@pytest.mark.parametrize("make,content_type", [(png, "image/png"), (webp, "image/webp")])
def test_png_and_webp_are_accepted_and_copied_as_jpeg(make, content_type):
    media = inspect(Upload("x.bin", "", make()))
    assert media.content_type == content_type and opened(media.public).format == "JPEG"
    assert b"Nguyen" not in media.public and opened(media.thumbnail).format == "JPEG"


def test_transparency_is_laid_on_white():
    media = inspect(Upload("logo.png", "image/png", png(alpha=True)))
    assert opened(media.public).mode == "RGB"


def test_an_mp4_gets_a_thumbnail_frame_and_no_public_copy():
    media = inspect(Upload("clip.mov", "video/quicktime", mp4()))
    assert (media.kind, media.content_type, media.public) == ("video", "video/mp4", None)
    thumb = opened(media.thumbnail)
    assert thumb.format == "JPEG" and thumb.size == (96, 64)


@pytest.mark.parametrize("data,says", [
    (WINDOWS_EXE, "photo.jpg is a Windows program (.exe), not a photo or video: " + ACCEPTED),
    (ELF, "photo.jpg is a Linux program (ELF), not a photo or video: " + ACCEPTED),
    (b"\xcf\xfa\xed\xfe" + b"\x00" * 60, "photo.jpg is a macOS program (Mach-O)"),
    (SCRIPT, "photo.jpg is a script"),
    (HTML, "photo.jpg is a web page (HTML/XML), which can carry scripts"),
    (SVG, "photo.jpg is an SVG drawing, which can carry scripts"),
    (ZIP, "photo.jpg is a ZIP archive"),
    (b"%PDF-1.7\n...", "photo.jpg is a PDF document, not a photo or video"),
    (b"just some words", "photo.jpg is not a photo or video this service can read: " + ACCEPTED),
    (gif(), "photo.jpg is a GIF image; send it as JPEG or PNG"),
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "photo.jpg is a HEIC/HEIF photo (the iPhone's format)"),
    (b"", "photo.jpg is empty; choose the photo or video again"),
])
def test_what_is_not_a_readable_photo_or_video_is_refused_by_its_content(data, says):
    assert refusal(data).startswith(says)


def test_a_truncated_or_damaged_photo_is_refused():
    whole = jpeg_with_gps()
    expected = ("photo.jpg cannot be read as a photo (damaged or incomplete); take or save it again and send it"
                " as JPEG, PNG or WebP")
    assert refusal(whole[: len(whole) // 2]) == expected
    assert refusal(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) == expected
    assert refusal(b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x01" * 40) == expected


def test_a_truncated_photo_is_still_refused_in_a_process_that_makes_reports():
    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported; reports.render puts it back, or a
    # web process or worker that made a PDF would then take half a photo.
    import reports.render  # noqa: F401

    whole = jpeg_with_gps()
    assert refusal(whole[: len(whole) // 2]).startswith("photo.jpg cannot be read as a photo (damaged or incomplete)")


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    data = bomb_png()
    assert len(data) < 200_000  # small on disk, 900 megapixels once opened
    assert refusal(data, "bomb.png") == ("bomb.png has more pixels than this service opens (50 megapixels);"
                                         " send a smaller photo")


def test_a_video_that_does_not_decode_is_refused():
    clip = mp4()
    assert refusal(clip[:300], "clip.mp4").startswith("clip.mp4 cannot be played as a video")
    assert refusal(b"\x1a\x45\xdf\xa3" + b"\x00" * 200, "clip.webm").startswith("clip.webm cannot be played as a video")


def test_sizes_and_counts_are_limited():
    limits = MediaLimits(max_images=2, max_videos=1, max_image_bytes=100_000, max_video_bytes=1_000)
    big = jpeg_with_gps((64, 64)) + b"\x00" * 200_000
    assert refusal(big, "anh.jpg", limits) == "anh.jpg is 0.2 MB; a photo may be at most 0.0953674 MB: send a smaller one"
    assert refusal(mp4(), "clip.mp4", limits).startswith("clip.mp4 is 0.0 MB; a video may be at most")
    photos = [Upload(f"{i}.png", "image/png", png((10 + i, 10))) for i in range(3)]
    with pytest.raises(IntakeError) as err:
        check_uploads(photos, limits)
    assert err.value.fields == {"files": "at most 2 photos per report (3 were sent); leave some out"}
    assert [m.kind for m in check_uploads(photos[:2], limits)] == ["image", "image"]
    assert check_uploads([], limits) == []


def test_every_problem_of_a_submission_is_said_at_once():
    with pytest.raises(IntakeError) as err:
        check_uploads([Upload("a.jpg", "", WINDOWS_EXE), Upload("b.png", "", png()), Upload("c.jpg", "", b"")])
    message = err.value.fields["files"]
    assert message.startswith("a.jpg is a Windows program") and "; c.jpg is empty" in message


def test_officials_documents_are_kept_but_programs_and_pages_are_not():
    assert sniff(b"%PDF-1.4").kind == "other" and check_document(Upload("a.pdf", "", b"%PDF-1.4")).kind == "other"
    docx = b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml" + b"\x00" * 20
    assert check_document(Upload("a.docx", "", docx)).kind == "other"
    assert check_document(Upload("a.txt", "", b"plain words")).content_type == "application/octet-stream"
    # A PDF is a PDF even when its first bytes carry words a web page would.
    assert check_document(Upload("a.pdf", "", b"%PDF-1.7 <script> <svg")).content_type == "application/pdf"
    assert sniff(b"<!-- saved page --><HTML><body>hi</body></HTML>").kind == "refused"
    for data in (WINDOWS_EXE, ELF, HTML, SVG, SCRIPT, ZIP):
        with pytest.raises(IntakeError) as err:
            check_document(Upload("bien-ban.pdf", "application/pdf", data))
        assert err.value.fields["file"].startswith("bien-ban.pdf is ")
