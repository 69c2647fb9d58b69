"""The operators of the camera incident process (bpmn/camera_incident.bpmn): the operator's verdict recorded.

Each writes to the step's session only (as workflows/operators.py's do), so it commits with the process state or
not at all. The process data they read is the start data workflows/cameras/incidents.py gives (START_DATA["camera"]).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.errors import OperatorError
from engine.i18n import Named, t
from engine.registry import OperatorContext, OperatorRegistry
from workflows.cameras.models import VERDICTS, Camera, CameraIncident
from workflows.models import CaseEvent
from workflows.operators import _case, _param

SITUATIONS = ("accident", "breakdown", "congestion", "obstacle", "camera_fault")


def register_camera_operators(registry: OperatorRegistry) -> OperatorRegistry:
    """Register the camera operators in `registry` (returns it)."""

    @registry.register("camera_verdict",
                       _param("verdict", "\"confirmed\" (đúng) hoặc \"false_alarm\" (báo sai).",
                              "\"confirmed\" or \"false_alarm\"."),
                       _param("situation", "Tình huống xác nhận: accident, breakdown, congestion, obstacle, "
                              "camera_fault.", "The situation confirmed: accident, breakdown, congestion, obstacle, "
                              "camera_fault.", required=False),
                       _param("note", "Ghi chú của điều hành viên.", "The operator's note.", required=False),
                       description=Named("Ghi nhận kết quả xác minh sự cố camera vào hồ sơ và vào các sự cố của "
                                         "camera; báo sai được tính cho camera.",
                                         "Record the verification of a camera incident in the case and its "
                                         "incidents; a false alarm is counted against the camera."))
    def camera_verdict(ctx: OperatorContext, verdict: Any, situation: Any = "", note: Any = "") -> dict[str, Any]:
        case = _case(ctx)
        verdict, situation = str(verdict or ""), str(situation or "")
        if verdict not in VERDICTS:
            raise OperatorError(t("the verdict must be one of %(choices)s, got %(verdict)s",
                                  choices=", ".join(VERDICTS), verdict=repr(verdict)))
        if verdict == "confirmed" and situation not in SITUATIONS:
            raise OperatorError(t("the situation must be one of %(choices)s, got %(situation)s",
                                  choices=", ".join(SITUATIONS), situation=repr(situation)))
        text = str(note or "").strip()[:2000]
        incidents = list(ctx.session.scalars(select(CameraIncident).where(CameraIncident.case_id == case.id)))
        camera = ctx.session.get(Camera, incidents[0].camera_id) if incidents else None
        for incident in incidents:
            if incident.verdict is None:
                incident.verdict, incident.verdict_at, incident.verdict_note = verdict, ctx.now, text
                incident.verdict_by = (ctx.actor or "")[:120] or None
        if verdict == "false_alarm" and camera is not None:
            camera.false_alarms = (camera.false_alarms or 0) + 1  # one per case judged a false alarm
        ctx.session.add(CaseEvent(case_id=case.id, at=ctx.now, kind="camera_verified", actor=ctx.actor, public=False,
                                  detail=dict(verdict=verdict,
                                  situation=situation if verdict == "confirmed" else "", note=text,
                                  camera=camera.code if camera is not None else str(ctx.data.get("camera") or ""),
                                  false_alarms=camera.false_alarms if camera is not None else None)))
        case.updated_at = ctx.now
        return {"verdict": verdict, "situation": situation}

    return registry
