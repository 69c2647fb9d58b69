"""Photos and videos sent with cases: checked by content, re-encoded without EXIF, thumbnailed.

CONTRACT (implemented by the media work; callers rely on these names):

- `Upload(filename, content_type, data)`: a file as a channel received it.
- `MediaLimits`: how many images/videos and how large (defaults: 6 photos of ≤ 10 MB, 2 videos of ≤ 50 MB).
- `inspect(upload, limits) -> MediaFile`: the file's real kind and type, judged by its content
  (never by its name or the type the client claims); raises IntakeError({"files": message}) for a
  disguised executable, an unknown type, a corrupt image or video, an empty or too large file.
- `MediaFile`: kind ("image" | "video"), content_type, original bytes, `public` bytes (images:
  re-encoded, EXIF including GPS removed; videos: None — never published as is), `thumbnail` bytes
  (a small JPEG: the image scaled down, or a frame of the video).
- `check_uploads(uploads, limits) -> list[MediaFile]`: inspect a whole submission and its counts
  before anything is stored, so a bad file stores nothing and starts no case.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from PIL import Image, ImageOps

from engine.i18n import Text, t
from workflows.errors import IntakeError


@dataclass(frozen=True)
class Upload:
    """A file as a channel received it (the name and type are the sender's claims)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class MediaLimits:
    """How many photos and videos one submission may carry, and how large each may be."""

    max_images: int = 6
    max_videos: int = 2
    max_image_bytes: int = 10 * 1024 * 1024
    max_video_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class MediaFile:
    """A checked photo or video, with the copies made of it."""

    kind: str  # image or video
    content_type: str
    filename: str
    original: bytes
    public: bytes | None
    thumbnail: bytes | None


# ---------------------------------------------------------------- implementation

PUBLIC_MAX_SIDE = 2560  # the public copy: enough for a phone or a wide screen, not a poster
THUMB_MAX_SIDE = 320
# Pixels, checked from the header before decoding: a small file that claims 100 000 × 100 000
# pixels would take gigabytes to open (a "decompression bomb"). 50 MP covers every phone camera.
MAX_PIXELS = 50_000_000
_MB = 1024 * 1024
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1", b"avif",
                b"avis"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _accepted() -> Text:
    return t("send photos as JPEG, PNG or WebP and videos as MP4, MOV, 3GP or WebM")


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say it is."""

    kind: str  # image, video, refused (never accepted), other (a document)
    content_type: str
    what: Text | None = None  # for refused files: what the file really is


def sniff(data: bytes) -> Sniffed:
    """The type of a file judged from its first bytes (magic numbers), never from its name."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed("refused", "image/heic", t("a HEIC/HEIF photo (the iPhone's format), which cannot be shown here;"
                                                      " set the camera to \"Most Compatible\" or send it as JPEG"))
        if brand.startswith(b"3g"):
            return Sniffed("video", "video/3gpp")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime")
        return Sniffed("video", "video/mp4")
    if head[4:8] in _QUICKTIME_ATOMS:
        return Sniffed("video", "video/quicktime")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video", "video/webm" if b"webm" in data[:4096] else "video/x-matroska")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("refused", "image/gif", t("a GIF image; send it as JPEG or PNG"))
    if head.startswith(b"MZ"):
        return Sniffed("refused", "application/x-msdownload", t("a Windows program (.exe)"))
    if head.startswith(b"\x7fELF"):
        return Sniffed("refused", "application/x-executable", t("a Linux program (ELF)"))
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                    b"\xca\xfe\xba\xbe"):
        return Sniffed("refused", "application/x-mach-binary", t("a macOS program (Mach-O)"))
    if head.startswith(b"#!"):
        return Sniffed("refused", "text/x-script", t("a script"))
    if head.startswith(b"dex\n"):
        return Sniffed("refused", "application/vnd.android.package-archive", t("an Android program"))
    if head.startswith(b"PK\x03\x04"):
        if b"[Content_Types].xml" in data[:2048] or data[30:38] == b"mimetype":
            return Sniffed("other", "application/zip", t("an office document"))
        return Sniffed("refused", "application/zip", t("a ZIP archive"))
    if head.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b")):
        return Sniffed("refused", "application/x-archive", t("a compressed archive"))
    if head.startswith(b"%PDF"):
        return Sniffed("other", "application/pdf", t("a PDF document"))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return Sniffed("other", "application/x-ole-storage", t("an office document"))
    # Text formats last: binary files above may carry such words in their first bytes.
    text_head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text_head:
        return Sniffed("refused", "image/svg+xml", t("an SVG drawing, which can carry scripts"))
    if text_head.startswith((b"<head", b"<body", b"<?xml")) \
            or any(tag in text_head for tag in (b"<!doctype html", b"<html", b"<script", b"<iframe")):
        return Sniffed("refused", "text/html", t("a web page (HTML/XML), which can carry scripts"))
    return Sniffed("other", "application/octet-stream", None)


def safe_name(filename: str) -> str:
    """The file's own name without any folder the client put before it (never a path)."""
    return PurePosixPath(str(filename or "").replace("\\", "/")).name.strip()[:255]


def inspect(upload: Upload, limits: MediaLimits = MediaLimits()) -> MediaFile:
    """Check a photo or video by its content and make its public copy and thumbnail (IntakeError if refused)."""
    name = safe_name(upload.filename) or "file"
    data = upload.data
    if not data:
        raise IntakeError({"files": t("%(name)s is empty; choose the photo or video again", name=name)})
    found = sniff(data)
    if found.kind == "refused":
        raise IntakeError({"files": t("%(name)s is %(what)s, not a photo or video: %(accepted)s",
                                      name=name, what=found.what, accepted=_accepted())})
    if found.kind == "other" and found.what is not None:
        raise IntakeError({"files": t("%(name)s is %(what)s, not a photo or video: %(accepted)s",
                                      name=name, what=found.what, accepted=_accepted())})
    if found.kind == "other":
        raise IntakeError({"files": t("%(name)s is not a photo or video this service can read: %(accepted)s",
                                      name=name, accepted=_accepted())})
    size = f"{len(data) / _MB:.1f}"
    if found.kind == "image" and len(data) > limits.max_image_bytes:
        raise IntakeError({"files": t("%(name)s is %(size)s MB; a photo may be at most %(limit)s MB: send a smaller one",
                                      name=name, size=size, limit=_mb(limits.max_image_bytes))})
    if found.kind == "video" and len(data) > limits.max_video_bytes:
        raise IntakeError({"files": t("%(name)s is %(size)s MB; a video may be at most %(limit)s MB: send a shorter one",
                                      name=name, size=size, limit=_mb(limits.max_video_bytes))})
    if found.kind == "image":
        public, thumbnail = _image_copies(name, data)
    else:
        public, thumbnail = None, _video_thumbnail(name, data, found.content_type)
    return MediaFile(kind=found.kind, content_type=found.content_type, filename=name, original=data,
                     public=public, thumbnail=thumbnail)


def check_uploads(uploads: Sequence[Upload], limits: MediaLimits = MediaLimits()) -> list[MediaFile]:
    """Inspect every file of a submission and its counts; one IntakeError naming every problem, or the files."""
    problems: list[str] = []
    checked: list[MediaFile] = []
    for upload in uploads:
        try:
            checked.append(inspect(upload, limits))
        except IntakeError as exc:
            problems.append(exc.fields["files"])
    images = sum(1 for f in checked if f.kind == "image")
    videos = sum(1 for f in checked if f.kind == "video")
    if images > limits.max_images:
        problems.append(t("at most %(limit)s photos per report (%(count)s were sent); leave some out",
                          limit=limits.max_images, count=images))
    if videos > limits.max_videos:
        problems.append(t("at most %(limit)s videos per report (%(count)s were sent); leave some out",
                          limit=limits.max_videos, count=videos))
    if problems:
        raise IntakeError({"files": problems[0] if len(problems) == 1 else JoinedText(problems)})
    return checked


class JoinedText(Text):
    """Several messages shown as one (each translated on its own)."""

    parts: list[str]

    def __new__(cls, parts: list[str]) -> JoinedText:
        """The English messages joined by "; "."""
        self = str.__new__(cls, "; ".join(parts))
        self.msgid = "; ".join(parts)
        self.params = {}
        self.parts = list(parts)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (JoinedText, (self.parts,))

    def translate(self, gettext: Callable[..., str]) -> str:
        """Each message in the language of `gettext`, joined by "; "."""
        return "; ".join(p.translate(gettext) if isinstance(p, Text) else p for p in self.parts)


def check_document(upload: Upload) -> Sniffed:
    """An official's document (not a photo or video): anything but programs, scripts and web pages."""
    name = safe_name(upload.filename) or "file"
    found = sniff(upload.data)
    if found.kind == "refused":
        raise IntakeError({"file": t("%(name)s is %(what)s and cannot be attached; send photos, videos or documents"
                                     " (PDF, office files, text)", name=name, what=found.what)})
    return found


def _mb(size: int) -> str:
    return f"{size / _MB:g}"


def _corrupt(name: str) -> IntakeError:
    return IntakeError({"files": t("%(name)s cannot be read as a photo (damaged or incomplete); take or save it again"
                                   " and send it as JPEG, PNG or WebP", name=name)})


def _too_many_pixels(name: str) -> IntakeError:
    return IntakeError({"files": t("%(name)s has more pixels than this service opens (50 megapixels); send a smaller"
                                   " photo", name=name)})


def _image_copies(name: str, data: bytes) -> tuple[bytes, bytes]:
    """(public copy, thumbnail) of a photo: turned upright, scaled, re-encoded as JPEG with no metadata at all."""
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, past its own pixel limit; either way it is a bomb.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise _too_many_pixels(name)
                if probe.format not in ("JPEG", "PNG", "WEBP"):
                    raise _corrupt(name)
                probe.load()  # decodes every pixel: a truncated or damaged file fails here
                upright = ImageOps.exif_transpose(probe)
    except IntakeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error):
        raise _corrupt(name) from None
    picture = _flatten(upright)
    picture.thumbnail((PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: no EXIF (GPS, camera, time), XMP, ICC profile or comment survives.
    clean = Image.frombytes("RGB", picture.size, picture.tobytes())
    return _jpeg(clean, 85), _thumbnail(clean)


def _flatten(picture: Image.Image) -> Image.Image:
    """The picture in RGB, transparency laid on white (JPEG has none)."""
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return picture.convert("RGB")


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _thumbnail(picture: Image.Image) -> bytes:
    small = picture.copy()
    small.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
    return _jpeg(small, 80)


_VIDEO_SUFFIX = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/3gpp": ".3gp", "video/webm": ".webm",
                 "video/x-matroska": ".mkv"}


def _video_thumbnail(name: str, data: bytes, content_type: str) -> bytes:
    """A JPEG of one frame (a little way in: first frames are often black); refused when no frame decodes."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # a refused video is reported here, not on stderr
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    import cv2  # imported here: OpenCV is large and only videos need it

    # OpenCV reads videos from files only; the temporary file is removed whatever happens.
    with tempfile.NamedTemporaryFile(suffix=_VIDEO_SUFFIX.get(content_type, ".mp4")) as tmp:
        tmp.write(data)
        tmp.flush()
        capture = cv2.VideoCapture(tmp.name, cv2.CAP_FFMPEG)
        try:
            ok, frame = (capture.read() if capture.isOpened() else (False, None))
            if ok:
                frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
                fps = capture.get(cv2.CAP_PROP_FPS) or 0
                target = min(frames // 10, int(fps) if fps > 0 else 0)
                if target > 0 and capture.set(cv2.CAP_PROP_POS_FRAMES, target):
                    later_ok, later = capture.read()
                    if later_ok and later is not None:
                        frame = later
        finally:
            capture.release()
    if not ok or frame is None or frame.ndim != 3:
        raise IntakeError({"files": t("%(name)s cannot be played as a video (damaged, incomplete or an unknown codec);"
                                      " send it as MP4 (H.264), MOV, 3GP or WebM", name=name)})
    picture = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return _thumbnail(picture)
