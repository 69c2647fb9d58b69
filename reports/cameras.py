"""The weekly or monthly camera incident report of a unit and everything below it.

Which cameras: those placed in the unit or a unit below it (`Camera.admin_unit_id`). Which incidents: those the
vision service raised in the period (`CameraIncident.raised_at`), one per episode (the incidents that joined
one case count each). The figures:

- incidents by type (stopped vehicle, congestion, camera fault) and by place (the camera's ward or commune);
- per camera: incidents, those the operators judged, the false alarms, and the false-alarm rate (false alarms
  over judged incidents: an incident not judged yet can still go either way);
- time to verify: from the raise to the operator's verdict; time to clear: from the episode's start to the
  moment it cleared (as the case history counts it) — medians, overall and per type, over the incidents
  verified (or cleared) by the end of the period;
- cameras offline or faulty in the period, and for how long: the camera faults the vision service raised
  (`camera_fault` incidents, from their start to their clearing) joined with the registry's status history
  (`camera_status_change`: every offline or faulty spell that overlaps the period, the one going on when it
  began included); overlapping spells are counted once. A camera with no recorded change (registered before
  the history was kept) counts its present status since when.

The figures are taken at the end of the period, or now if it has not ended. Set-based SQL (a few queries
whatever the number of cameras and incidents), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import now as clock_now
from engine.i18n import Named, t
from reports import charts
from reports.catalog import ReportData, ReportParams, ReportType, register
from reports.i18n import Translate, language_of
from reports.operations import _is_demo, _seconds, as_of_for, in_sentence
from workflows.cameras.models import Camera, CameraIncident, CameraStatusChange
from workflows.case_view import CAMERA_FAULTS, CAMERA_KINDS
from workflows.models import AdminUnit
from workflows.units import PLACE_KINDS, UnitDirectory

KINDS = tuple(CAMERA_KINDS)  # stopped_vehicle, congestion, camera_fault (vision.events.KINDS)
STATUS_WORDS = {"offline": t("offline"), "faulty": t("faulty")}


def in_sentence_period(label: str, language: str) -> str:
    """A period's label inside a Vietnamese sentence: "Tháng 11/2026" → "tháng 11/2026" (English keeps it)."""
    return label[:1].lower() + label[1:] if language == "vi" else label


def _minutes(values: list[float]) -> float | None:
    return round(statistics.median(values) / 60, 1) if values else None


def merged_seconds(spells: list[tuple[datetime, datetime]]) -> float:
    """The time covered by `spells` (start, end), overlaps counted once."""
    total, current = 0.0, None
    for start, end in sorted(spells):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


class CameraQueries:
    """The report's set-based queries for the cameras placed in one unit's subtree."""

    def __init__(self, session: Session, unit: AdminUnit):
        self.session = session
        self.unit_ids = UnitDirectory(session).descendant_ids(unit)

    def cameras(self) -> list[Any]:
        """The cameras placed in the subtree (enabled or not: a disabled one may have had incidents)."""
        return list(self.session.execute(
            select(Camera.id, Camera.code, Camera.name, Camera.name_en, Camera.admin_unit_id, Camera.enabled,
                   Camera.status, Camera.status_detail, Camera.status_since)
            .where(Camera.admin_unit_id.in_(self.unit_ids)).order_by(Camera.code)))

    def incidents(self, start: datetime, end: datetime) -> list[Any]:
        """The incidents raised in [start, end) on those cameras, with the seconds to the verdict and to the
        clearing (the caller keeps those that came by the period's end)."""
        to_verify = _seconds(self.session, CameraIncident.verdict_at, CameraIncident.raised_at)
        to_clear = _seconds(self.session, CameraIncident.cleared_at, CameraIncident.started_at)
        return list(self.session.execute(
            select(CameraIncident.camera_id, CameraIncident.kind, Camera.admin_unit_id,
                   CameraIncident.verdict_at, CameraIncident.verdict, to_verify.label("to_verify"),
                   CameraIncident.cleared_at, to_clear.label("to_clear"))
            .join(Camera, Camera.id == CameraIncident.camera_id)
            .where(Camera.admin_unit_id.in_(self.unit_ids), CameraIncident.raised_at >= start,
                   CameraIncident.raised_at < end)))

    def status_changes(self, start: datetime, as_of: datetime) -> dict[int, list[tuple[datetime, str]]]:
        """Per camera, its status changes in [start, as_of) after the last one before `start` (the status it had
        when the period began), oldest first."""
        in_subtree = CameraStatusChange.camera_id.in_(
            select(Camera.id).where(Camera.admin_unit_id.in_(self.unit_ids)).scalar_subquery())
        last_before = (select(CameraStatusChange.camera_id, func.max(CameraStatusChange.at).label("at"))
                       .where(in_subtree, CameraStatusChange.at < start)
                       .group_by(CameraStatusChange.camera_id).subquery())
        rows = list(self.session.execute(
            select(CameraStatusChange.camera_id, CameraStatusChange.at, CameraStatusChange.status)
            .join(last_before, (last_before.c.camera_id == CameraStatusChange.camera_id)
                  & (last_before.c.at == CameraStatusChange.at))))
        rows += list(self.session.execute(
            select(CameraStatusChange.camera_id, CameraStatusChange.at, CameraStatusChange.status)
            .where(in_subtree, CameraStatusChange.at >= start, CameraStatusChange.at < as_of)))
        changes: dict[int, list[tuple[datetime, str]]] = {}
        for camera_id, at, status in sorted(rows, key=lambda r: (r[0], r[1])):
            changes.setdefault(camera_id, []).append((at, status))
        return changes

    def faults(self, start: datetime, as_of: datetime) -> list[Any]:
        """The camera faults of those cameras that went on at some moment of [start, as_of)."""
        return list(self.session.execute(
            select(CameraIncident.camera_id, CameraIncident.subtype, CameraIncident.started_at,
                   CameraIncident.cleared_at)
            .join(Camera, Camera.id == CameraIncident.camera_id)
            .where(Camera.admin_unit_id.in_(self.unit_ids), CameraIncident.kind == "camera_fault",
                   CameraIncident.started_at < as_of,
                   (CameraIncident.cleared_at.is_(None)) | (CameraIncident.cleared_at > start))))


def collect(session: Session, params: ReportParams, translate: Translate) -> ReportData:
    """Every figure of the camera incident report, its tables and its charts."""
    language = language_of(translate)
    unit = UnitDirectory(session).by_code(params.unit or "")
    period = params.report_period()
    if unit is None or period is None:
        raise ValueError("the camera report needs a unit and a period (validate_params checks them)")
    start, end = period.utc_range()
    as_of = as_of_for(period, clock_now())
    queries = CameraQueries(session, unit)
    cameras = queries.cameras()
    by_id = {c.id: c for c in cameras}
    places = {u.id: Named(u.name, u.name_en) for u in session.execute(
        select(AdminUnit.id, AdminUnit.name, AdminUnit.name_en)
        .where(AdminUnit.id.in_({c.admin_unit_id for c in cameras})))} if cameras else {}

    def camera_name(camera: Any) -> str:
        return camera.name_en if language == "en" and camera.name_en else camera.name

    kinds = {kind: translate(CAMERA_KINDS[kind]) for kind in KINDS}
    rows = queries.incidents(start, end)
    by_kind = {kind: 0 for kind in KINDS}
    by_place: dict[int, dict[str, int]] = {}
    per_camera: dict[int, dict[str, Any]] = {}
    verify: dict[str, list[float]] = {kind: [] for kind in KINDS}
    clear: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for camera_id, kind, place_id, verdict_at, verdict, to_verify, cleared_at, to_clear in rows:
        verified = verdict_at is not None and verdict_at < as_of and verdict is not None
        cleared = cleared_at is not None and cleared_at < as_of
        by_kind[kind] = by_kind.get(kind, 0) + 1
        place = by_place.setdefault(place_id, {k: 0 for k in KINDS})
        place[kind] = place.get(kind, 0) + 1
        line = per_camera.setdefault(camera_id, {"incidents": 0, "judged": 0, "false_alarms": 0, "verify": []})
        line["incidents"] += 1
        if verified:
            line["judged"] += 1
            line["false_alarms"] += verdict == "false_alarm"
            line["verify"].append(float(to_verify))
            verify.setdefault(kind, []).append(float(to_verify))
        if cleared:
            clear.setdefault(kind, []).append(float(to_clear))
    total = sum(by_kind.values())
    all_verify = [v for values in verify.values() for v in values]
    all_clear = [v for values in clear.values() for v in values]
    judged = sum(line["judged"] for line in per_camera.values())
    false_alarms = sum(line["false_alarms"] for line in per_camera.values())

    kind_rows = [{"kind": kind, "label": kinds[kind], "count": by_kind[kind],
                  "share": round(by_kind[kind] / total, 4) if total else None,
                  "verify_minutes": _minutes(verify[kind]), "clear_minutes": _minutes(clear[kind])}
                 for kind in KINDS]
    place_rows = sorted(({"label": translate(places.get(place_id, "")), **counts, "total": sum(counts.values())}
                         for place_id, counts in by_place.items()), key=lambda r: (-r["total"], r["label"]))
    camera_rows = []
    for camera_id, line in per_camera.items():
        camera = by_id[camera_id]
        camera_rows.append({
            "code": camera.code, "label": camera_name(camera), "place": translate(places.get(camera.admin_unit_id, "")),
            "incidents": line["incidents"], "judged": line["judged"], "false_alarms": line["false_alarms"],
            "false_alarm_rate": round(line["false_alarms"] / line["judged"], 4) if line["judged"] else None,
            "verify_minutes": _minutes(line["verify"])})
    camera_rows.sort(key=lambda r: (-(r["false_alarm_rate"] or 0), -r["incidents"], r["code"]))

    # Offline or faulty: the faults' spells and the present status, clipped to the period, merged per camera.
    spells: dict[int, list[tuple[datetime, datetime]]] = {}
    reasons: dict[int, list[str]] = {}
    still: dict[int, bool] = {}
    for camera_id, subtype, began, cleared_at in queries.faults(start, as_of):
        finish = min(cleared_at or as_of, as_of)
        spells.setdefault(camera_id, []).append((max(began, start), finish))
        word = translate(CAMERA_FAULTS.get(subtype or "", t("camera fault")))
        if word not in reasons.setdefault(camera_id, []):
            reasons[camera_id].append(word)
        still[camera_id] = still.get(camera_id, False) or cleared_at is None or cleared_at >= as_of
    # The registry's status history: every offline or faulty spell that overlaps the period.
    history = queries.status_changes(start, as_of)
    for camera in cameras:
        changes = history.get(camera.id)
        if not changes:  # nothing recorded (a camera registered before the history was kept): its present status
            changes = [(camera.status_since, camera.status)] if camera.status_since is not None else []
        if not changes:
            continue
        ends = [at for at, _ in changes[1:]] + [as_of]  # a spell lasts until the next change
        for (began, status), ended in zip(changes, ends, strict=True):
            if status not in STATUS_WORDS or began >= as_of:
                continue
            spells.setdefault(camera.id, []).append((max(began, start), min(ended, as_of)))
            word = translate(STATUS_WORDS[status])
            if word not in reasons.setdefault(camera.id, []):
                reasons[camera.id].append(word)
        if changes[-1][1] in STATUS_WORDS and changes[-1][0] < as_of:
            still[camera.id] = True
    down_rows = []
    for camera_id, camera_spells in spells.items():
        camera = by_id[camera_id]
        seconds = merged_seconds([(a, b) for a, b in camera_spells if b > a])
        if seconds <= 0 and not still.get(camera_id):
            continue
        down_rows.append({"code": camera.code, "label": camera_name(camera),
                          "place": translate(places.get(camera.admin_unit_id, "")),
                          "hours": round(seconds / 3600, 1), "reasons": ", ".join(reasons.get(camera_id, [])),
                          "still": bool(still.get(camera_id))})
    down_rows.sort(key=lambda r: (-r["hours"], r["code"]))

    summary: dict[str, Any] = {
        "unit": unit.code, "period": period.key, "as_of": as_of.isoformat(), "cameras": len(cameras),
        "incidents": total, "by_kind": by_kind, "judged": judged, "false_alarms": false_alarms,
        "false_alarm_rate": round(false_alarms / judged, 4) if judged else None,
        "median_verify_minutes": _minutes(all_verify), "median_clear_minutes": _minutes(all_clear),
        "cameras_down": len(down_rows), "down_hours": round(sum(r["hours"] for r in down_rows), 1),
        "by_camera": {r["code"]: r["incidents"] for r in camera_rows},
    }
    words = {key: translate(text) for key, text in {
        "type": t("Kind of incident"), "incidents": t("Number of incidents"), "place": t("Place")}.items()}
    chart_specs: dict[str, dict[str, Any]] = {}
    if total:
        chart_specs["by_kind"] = charts.bar_chart(
            [{"label": r["label"], "count": r["count"]} for r in kind_rows], category="label", value="count",
            language=language, title=translate(t("Incidents by type")), category_title=words["type"],
            value_title=words["incidents"])
    if len(place_rows) > 1:  # one place: the table says it all
        chart_specs["by_place"] = charts.bar_chart(
            [{"label": r["label"], "count": r["total"]} for r in place_rows[:15]], category="label", value="count",
            language=language, title=translate(t("Incidents by place")), category_title=words["place"],
            value_title=words["incidents"])
    unit_label = Named(in_sentence(unit.name), unit.name_en)
    return ReportData(
        title=t("Camera incidents: %(unit)s", unit=unit_label), subtitle=period.label(), summary=summary,
        tables={"by_kind": kind_rows, "by_place": place_rows, "cameras": camera_rows, "down": down_rows},
        charts=chart_specs,
        extra={"unit_code": unit.code, "unit_name": translate(unit_label), "period_label": translate(period.label()),
               "period_in_sentence": in_sentence_period(translate(period.label()), language), "as_of": as_of,
               "kinds": list(KINDS), "kind_words": kinds, "demo": _is_demo(session),
               "recipients": [translate(t("People's Committee of %(unit)s (to report)", unit=unit_label)
                                        if unit.kind in PLACE_KINDS else
                                        t("Leaders of %(unit)s (to report)", unit=unit_label))]})


register(ReportType(code="cameras", name=t("Camera incident report"), needs=("unit", "period"), collect=collect,
                    template="cameras.html"))
