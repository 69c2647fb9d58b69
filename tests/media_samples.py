"""Real photos and videos made in the tests (Pillow, OpenCV), and files that only pretend to be photos."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from PIL import Image

# Where the photo was taken: the sort of personal data the public copy must lose.
GPS_LAT = (12.0, 40.0, 30.0)  # 12°40'30" N, Buôn Ma Thuột
GPS_LON = (108.0, 2.0, 45.0)
CAMERA = "Phone of Nguyen Van An"


def jpeg_with_gps(size: tuple[int, int] = (640, 480), orientation: int = 6, color=(200, 40, 40)) -> bytes:
    """A JPEG carrying EXIF with a GPS IFD, a camera owner, an orientation, a comment and an ICC profile."""
    picture = Image.new("RGB", size, color)
    picture.paste((20, 20, 220), (0, 0, size[0] // 4, size[1] // 4))  # a corner to see the rotation by
    exif = Image.Exif()
    exif[0x0112] = orientation  # 6: turn 90° clockwise to stand upright
    exif[0x010F] = "PhoneMaker"
    exif[0x013B] = CAMERA  # Artist
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: GPS_LAT, 3: "E", 4: GPS_LON})
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, comment=b"taken at home of Nguyen Van An", icc_profile=b"\x00" * 128,
                 quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (300, 200), alpha: bool = False) -> bytes:
    """A PNG (with transparency when asked) carrying a text chunk."""
    from PIL import PngImagePlugin

    picture = Image.new("RGBA" if alpha else "RGB", size, (10, 120, 10, 128) if alpha else (10, 120, 10))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", CAMERA)
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp(size: tuple[int, int] = (400, 300)) -> bytes:
    """A WebP photo."""
    out = io.BytesIO()
    Image.new("RGB", size, (90, 90, 200)).save(out, "WEBP", quality=80)
    return out.getvalue()


def gif() -> bytes:
    """A GIF (refused: JPEG or PNG is asked for)."""
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, "GIF")
    return out.getvalue()


def bomb_png() -> bytes:
    """A small PNG whose header claims 30 000 × 30 000 pixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, "PNG")
    return out.getvalue()


def mp4(frames: int = 24, size: tuple[int, int] = (96, 64)) -> bytes:
    """A short real MP4 (MPEG-4 part 2) written by cv2.VideoWriter."""
    import cv2
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "clip.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 12, size)
        assert writer.isOpened(), "OpenCV cannot write MP4 here"
        for i in range(frames):
            frame = np.zeros((size[1], size[0], 3), np.uint8)
            frame[:, : (i + 1) * size[0] // frames] = (0, 160, 255)  # a bar that grows
            writer.write(frame)
        writer.release()
        return Path(path).read_bytes()


WINDOWS_EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
               + b"This program cannot be run in DOS mode")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SCRIPT = b"#!/bin/sh\nrm -rf /\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"payload.exe" + b"\x00" * 50
