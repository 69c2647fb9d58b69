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

from dataclasses import dataclass


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
