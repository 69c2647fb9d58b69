"""Sending a case's stored file to a browser or a machine without letting it run anything."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

from workflows.case_view import AttachmentInfo

# A file opened on its own runs nothing; images and videos may still be shown.
FILE_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


def attachment_response(stored: Path, info: AttachmentInfo, sha256: str) -> Response:
    """The file: images and videos inline with their type, anything else as a download of bytes."""
    inline = info.media in ("image", "video")
    response = send_file(stored, mimetype=info.content_type if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=info.filename, etag=sha256, conditional=True,
                         max_age=0)
    # The type is the uploader's claim: the browser must not second-guess it into HTML.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def thumbnail_response(stored: Path, sha256: str) -> Response:
    """A thumbnail made by the media check: always a JPEG of ours, kept privately by the browser."""
    response = send_file(stored, mimetype="image/jpeg", etag=sha256, conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_POLICY
    # Its content never changes (named by its digest), but it is a case's: the browser only.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
