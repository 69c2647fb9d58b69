"""An incident's clip as vision/evidence.py cuts it plays in chromium's <video>: metadata, duration, frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy

from tests.e2e.browsing import wait_js
from vision.config import DetectionSettings
from vision.events import Frame
from vision.evidence import EvidenceRecorder

ORIGIN = "http://clip.test"


def _clip() -> bytes:
    recorder = EvidenceRecorder(DetectionSettings(clip_before_s=5, clip_after_s=5))
    start = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    for i in range(50):  # 25 s at 2 fps: a box crossing a grey street
        image = numpy.full((360, 640, 3), 100, numpy.uint8)
        cv2.rectangle(image, (10 * i, 160), (10 * i + 60, 200), (30, 60, 200), -1)
        recorder.push(Frame(t=i / 2, at=start + timedelta(seconds=i / 2), image=image))
    return recorder.clip_for(12.0, region=((0.1, 0.4), (0.6, 0.4), (0.6, 0.6), (0.1, 0.6)), label="stopped_vehicle")


def test_the_clip_plays_in_chromium(browser, shots):
    clip = _clip()
    page = browser.new_page()

    def serve(route):
        """The clip as a web server sends a file: byte ranges answered (206), which seeking needs."""
        wanted = route.request.headers.get("range", "")
        if not wanted.startswith("bytes="):
            route.fulfill(status=200, body=clip, headers={"Content-Type": "video/mp4", "Accept-Ranges": "bytes"})
            return
        first, _, last = wanted[6:].partition("-")
        first, last = int(first or 0), int(last) if last else len(clip) - 1
        route.fulfill(status=206, body=clip[first:last + 1], headers={
            "Content-Type": "video/mp4", "Accept-Ranges": "bytes", "Content-Range": f"bytes {first}-{last}/{len(clip)}"})

    page.route(f"{ORIGIN}/clip.mp4", serve)
    page.route(f"{ORIGIN}/", lambda route: route.fulfill(
        status=200, content_type="text/html",
        body='<!doctype html><video id="v" src="/clip.mp4" muted playsinline controls width="640"></video>'))
    page.goto(f"{ORIGIN}/")
    wait_js(page, "document.getElementById('v').readyState >= 2", timeout=15_000)
    state = page.evaluate("""() => { const v = document.getElementById('v');
        return {duration: v.duration, width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.code}; }""")
    assert state["error"] is None
    assert (state["width"], state["height"]) == (320, 180)
    assert 9.5 <= state["duration"] <= 10.6  # 5 s before and 5 s after, at the frames' real spacing
    # it plays: the clock moves and a decoded frame is on screen
    page.evaluate("document.getElementById('v').play()")
    wait_js(page, "document.getElementById('v').currentTime > 1", timeout=15_000)
    page.evaluate("() => { const v = document.getElementById('v'); v.pause(); v.currentTime = 5; }")
    wait_js(page, "document.getElementById('v').readyState >= 2 && !document.getElementById('v').seeking")
    assert abs(page.evaluate("document.getElementById('v').currentTime") - 5) < 0.01
    page.locator("#v").screenshot(path=str(shots / "clip-frame.png"))
    page.close()
