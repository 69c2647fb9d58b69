"""What flows through the vision service: frames in, incidents out, and the sink they go to.

An ``Incident`` is one event of one episode: "raised" once, any number of "updated",
then "cleared" once; all events of an episode share its ``key``.  The sink
(workflows/cameras) opens or updates a case from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy

from vision.config import Point, points_to_list

KINDS = ("stopped_vehicle", "congestion", "camera_fault")
FAULTS = ("no_frames", "frozen", "covered", "defocused", "moved")
STATES = ("raised", "updated", "cleared")


@dataclass(frozen=True)
class Frame:
    t: float  # seconds on the stream's clock (monotonic within one source, starts anywhere)
    at: datetime  # aware UTC wall time of the frame (synthetic sources: a simulated clock)
    image: numpy.ndarray = field(repr=False)  # BGR uint8, HxWx3
    keyframe: bool = False


def incident_key(camera: str, kind: str, subtype: str | None, started_at: datetime) -> str:
    """The stable id of an episode: camera, kind, subtype and when it began (UTC, to the second)."""
    return f"{camera}:{kind}:{subtype or '-'}:{started_at:%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True)
class Incident:
    camera: str  # camera code
    key: str  # stable id of this episode, see incident_key
    kind: str  # one of KINDS
    subtype: str | None  # camera_fault: one of FAULTS; stopped_vehicle: the lane name; else None
    state: str  # one of STATES
    confidence: float  # 0..1
    started_at: datetime  # when the condition began (not when it was detected)
    at: datetime  # time of this event
    evidence: dict  # the numbers: str -> float|int|str
    region: tuple[Point, ...] | None = None  # normalised polygon/box marked on the snapshot
    snapshot_jpeg: bytes | None = field(default=None, repr=False)  # "raised": always; later: a better one
    # the clip (clip_before_s before … clip_after_s after): comes with the first "updated" after the
    # post-roll is recorded (or "raised" if the post-roll is 0), never lost if the incident clears first
    clip_mp4: bytes | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"incident: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.state not in STATES:
            raise ValueError(f"incident: state must be one of {', '.join(STATES)}, got {self.state!r}")
        if self.kind == "camera_fault" and self.subtype not in FAULTS:
            raise ValueError(f"incident: a camera fault's subtype must be one of {', '.join(FAULTS)}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"incident: confidence must be between 0 and 1, got {self.confidence}")
        for name in ("started_at", "at"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"incident: {name} must be an aware UTC time")
        for name, value in self.evidence.items():
            if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError(f"incident: evidence {name!r} must be a number or a text")

    def to_dict(self) -> dict:
        """JSON-ready, without the snapshot and clip bytes (they travel as attachments)."""
        return {
            "camera": self.camera,
            "key": self.key,
            "kind": self.kind,
            "subtype": self.subtype,
            "state": self.state,
            "confidence": self.confidence,
            "started_at": self.started_at.isoformat(),
            "at": self.at.isoformat(),
            "evidence": dict(self.evidence),
            "region": points_to_list(self.region),
        }


class IncidentSink(Protocol):
    """Where incidents and camera statuses go (workflows/cameras implements it)."""

    def publish(self, incident: Incident) -> None: ...

    # status: "online" | "offline" | "faulty"; detail: a message key such as "unreachable",
    # "corrupt", "ended", "frozen"…, stored and translated at display time
    def camera_status(self, camera: str, status: str, detail: str, at: datetime, fps: float | None = None) -> None: ...
