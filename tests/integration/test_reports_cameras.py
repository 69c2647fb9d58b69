"""The camera incident report against the database: incidents by type and place, false alarms per camera, the
medians of the time to verify and to clear, the cameras offline or faulty and for how long — each figure
computed again here from the rows the test wrote (the time out of service minute by minute), then read back
from the PDF; on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reports.periods import ReportPeriod
from reports.render import format_number, format_percent
from tests.integration.reports_helpers import assert_fonts_embedded, pages_text, render
from workflows.cameras.models import Camera, CameraIncident
from workflows.models import AdminUnit
from workflows.units import UnitDirectory

PERIOD = ReportPeriod.parse("2026-11")
START, END = PERIOD.utc_range()
KINDS = ("stopped_vehicle", "congestion", "camera_fault")
CAMERAS = {  # code: (name, place, status, status since)
    "BMT-01": ("Ngã sáu Buôn Ma Thuột - hướng Phan Chu Trinh", "P-BUON-MA-THUOT", "online", None),
    "BMT-02": ("Nút giao Lê Duẩn - Nguyễn Tất Thành", "P-BUON-MA-THUOT", "faulty",
               datetime(2026, 10, 30, 8, 0, tzinfo=UTC)),
    "TL-01": ("Cầu Ea Tam - đường Võ Văn Kiệt", "P-TAN-LAP", "online", None),
    "EK-01": ("Quốc lộ 26 - km 12 Ea Kao", "P-EA-KAO", "offline", datetime(2026, 11, 28, 10, 0, tzinfo=UTC)),
}


def place(session, code):
    return session.scalar(select(AdminUnit).where(AdminUnit.code == code))


@pytest.fixture
def seeded(session, reference_data):
    """Four cameras in three wards; 60 incidents spread over October to December, judged or not, cleared or
    not; camera faults that overlap, one that began in October and goes on, a camera offline since 28
    November."""
    maintainer = place(session, "SXD")
    cameras = {}
    for code, (name, where, status, since) in CAMERAS.items():
        camera = Camera(code=code, name=name, name_en=name, admin_unit_id=place(session, where).id,
                        maintainer_unit_id=maintainer.id, stream_url=f"rtsp://10.0.0.1/{code}", status=status,
                        status_detail={"faulty": "covered", "offline": "unreachable"}.get(status, ""),
                        status_since=since)
        session.add(camera)
        cameras[code] = camera
    session.flush()
    rng = random.Random(13)
    rows = []
    for n in range(60):
        code = rng.choice(["BMT-01", "BMT-01", "BMT-02", "TL-01", "EK-01"])
        kind = rng.choice(["stopped_vehicle", "stopped_vehicle", "congestion"])
        raised = datetime(2026, 10, 28, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        started = raised - timedelta(seconds=rng.randrange(5, 90))
        verdict = rng.choice(["confirmed", "confirmed", "false_alarm", None])
        verdict_at = raised + timedelta(seconds=rng.randrange(30, 3000)) if verdict else None
        cleared = started + timedelta(minutes=rng.randrange(2, 240)) if rng.random() < 0.8 else None
        rows.append(CameraIncident(camera_id=cameras[code].id, key=f"{code}:{kind}:{n}", kind=kind, state="raised",
                                   started_at=started, raised_at=raised, last_at=raised, cleared_at=cleared,
                                   verdict=verdict, verdict_at=verdict_at))
    # Judged after the end of November: not judged yet for the report.
    rows.append(CameraIncident(camera_id=cameras["TL-01"].id, key="TL-01:late", kind="congestion",
                               started_at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
                               raised_at=datetime(2026, 11, 30, 16, 1, tzinfo=UTC),
                               last_at=datetime(2026, 11, 30, 16, 1, tzinfo=UTC), verdict="false_alarm",
                               verdict_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC)))
    faults = [("BMT-01", "frozen", datetime(2026, 11, 10, 1, 0), datetime(2026, 11, 10, 3, 30)),
              ("BMT-01", "covered", datetime(2026, 11, 10, 3, 0), datetime(2026, 11, 10, 4, 0)),
              ("BMT-02", "covered", datetime(2026, 10, 30, 8, 0), None),
              ("TL-01", "no_frames", datetime(2026, 10, 31, 12, 0), datetime(2026, 10, 31, 16, 0))]  # before
    for n, (code, subtype, began, ended) in enumerate(faults):
        began = began.replace(tzinfo=UTC)
        ended = ended.replace(tzinfo=UTC) if ended else None
        rows.append(CameraIncident(camera_id=cameras[code].id, key=f"{code}:fault:{n}", kind="camera_fault",
                                   subtype=subtype, started_at=began, raised_at=began + timedelta(seconds=20),
                                   last_at=began, cleared_at=ended, state="cleared" if ended else "raised"))
    session.add_all(rows)
    session.commit()
    return cameras, rows


def expected(cameras, rows, scope: set[int]) -> dict:
    """The report's figures, from the rows, by its definitions (out of service counted minute by minute)."""
    mine = {c.id: c for c in cameras.values() if c.admin_unit_id in scope}
    as_of = END
    raised = [r for r in rows if r.camera_id in mine and START <= r.raised_at < END]
    by_kind = {k: sum(1 for r in raised if r.kind == k) for k in KINDS}
    judged = [r for r in raised if r.verdict and r.verdict_at < as_of]
    false = [r for r in judged if r.verdict == "false_alarm"]
    verify = [(r.verdict_at - r.raised_at).total_seconds() / 60 for r in judged]
    clear = [(r.cleared_at - r.started_at).total_seconds() / 60 for r in raised if r.cleared_at and r.cleared_at < as_of]
    per_camera = {}
    for camera in mine.values():
        own = [r for r in judged if r.camera_id == camera.id]
        count = sum(1 for r in raised if r.camera_id == camera.id)
        if count:
            per_camera[camera.code] = (count, len(own), sum(1 for r in own if r.verdict == "false_alarm"))
    down = {}
    for camera in mine.values():
        minutes = set()
        spells = [(r.started_at, r.cleared_at or as_of) for r in rows if r.camera_id == camera.id
                  and r.kind == "camera_fault"]
        if camera.status in ("offline", "faulty"):
            spells.append((camera.status_since, as_of))
        for began, ended in spells:
            moment = max(began, START)
            while moment < min(ended, as_of):
                minutes.add(moment)
                moment += timedelta(minutes=1)
        if minutes:
            down[camera.code] = round(len(minutes) / 60, 1)
    return {"incidents": len(raised), "by_kind": by_kind, "judged": len(judged), "false_alarms": len(false),
            "false_alarm_rate": round(len(false) / len(judged), 4) if judged else None,
            "median_verify_minutes": round(statistics.median(verify), 1) if verify else None,
            "median_clear_minutes": round(statistics.median(clear), 1) if clear else None,
            "cameras": len(mine), "per_camera": per_camera, "down": down}


@pytest.mark.parametrize("code", ["DLK", "P-BUON-MA-THUOT"])
def test_the_figures_are_the_databases(session, seeded, code, tmp_path):
    cameras, rows = seeded
    scope = set(UnitDirectory(session).descendant_ids(place(session, code)))
    want = expected(cameras, rows, scope)
    report = render(session, {"type": "cameras", "unit": code, "period": "2026-11", "language": "vi"})
    s = report.summary
    for key in ("incidents", "by_kind", "judged", "false_alarms", "false_alarm_rate", "median_verify_minutes",
                "median_clear_minutes", "cameras"):
        assert s[key] == want[key], key
    assert {r["code"]: (r["incidents"], r["judged"], r["false_alarms"]) for r in report.tables["cameras"]} \
        == want["per_camera"]
    assert {r["code"]: r["hours"] for r in report.tables["down"]} == want["down"]
    assert want["down"]["BMT-02"] == 720.0 and want["down"]["BMT-01"] == 3.0  # the whole month; overlaps once
    text = " ".join(" ".join(pages_text(report.pdf)).split())
    assert "BÁO CÁO" in text and "Tháng 11/2026" in text
    assert CAMERAS["BMT-02"][0] in text and "ống kính bị che" in text  # the fault in words
    assert format_number(want["median_verify_minutes"], 1, "vi") in text
    assert format_percent(want["false_alarm_rate"], 1, "vi") in text
    assert format_number(720.0, 1, "vi") in text  # "720,0"
    if code == "DLK":
        assert "Phường Tân Lập" in text and CAMERAS["EK-01"][0] in text and "mất kết nối" in text
    else:
        assert CAMERAS["EK-01"][0] not in text
    assert_fonts_embedded(report.pdf, tmp_path)


def test_the_charts_carry_the_tables_figures(session, seeded):
    report = render(session, {"type": "cameras", "unit": "DLK", "period": "2026-11", "language": "en"})
    by_kind = {r["label"]: r["count"] for r in report.charts["by_kind"]["data"]["values"]}
    assert by_kind == {r["label"]: r["count"] for r in report.tables["by_kind"]}
    assert sum(r["count"] for r in report.charts["by_place"]["data"]["values"]) == report.summary["incidents"]
    assert "Camera incidents" in " ".join(pages_text(report.pdf))


def test_a_period_with_no_data(session, reference_data, tmp_path):
    report = render(session, {"type": "cameras", "unit": "DLK", "period": "2026-W48", "language": "vi"})
    assert report.summary["incidents"] == 0 and report.summary["cameras_down"] == 0 and not report.charts
    text = " ".join(" ".join(pages_text(report.pdf)).split())
    assert "không camera nào phát hiện sự cố" in text and "không camera nào mất kết nối" in text
    assert report.pages == 1
    assert_fonts_embedded(report.pdf, tmp_path)


def test_offline_spells_that_ended_are_counted_from_the_status_history(session, reference_data):
    """The runner's reports, through the registry, write each change: a camera faulty since October that came back
    on 3 November, offline five hours on 14 November and online since, and a camera offline since 29 November."""
    from engine.clock import FrozenClock
    from workflows.cameras.registry import CameraRegistry

    maintainer = place(session, "SXD")
    for code in ("HIS-01", "HIS-02"):
        session.add(Camera(code=code, name=f"Camera {code}", name_en=f"Camera {code}",
                           admin_unit_id=place(session, "P-BUON-MA-THUOT").id, maintainer_unit_id=maintainer.id,
                           stream_url=f"rtsp://10.0.0.2/{code}"))
    session.flush()
    registry = CameraRegistry(session, FrozenClock(START))
    day = datetime(2026, 11, 1, tzinfo=UTC)
    for code, at, status, detail in (
            ("HIS-01", datetime(2026, 10, 20, tzinfo=UTC), "faulty", "covered"),
            ("HIS-01", day + timedelta(days=2), "online", ""),
            ("HIS-01", day + timedelta(days=2, minutes=1), "online", ""),  # a report of no change: no new spell
            ("HIS-01", day + timedelta(days=13, hours=2), "offline", "unreachable"),
            ("HIS-01", day + timedelta(days=13, hours=3), "offline", "timeout"),
            ("HIS-01", day + timedelta(days=13, hours=7), "online", ""),
            ("HIS-02", day + timedelta(days=20), "online", ""),
            ("HIS-02", day + timedelta(days=28), "offline", "unreachable")):
        registry.set_status(code, status, detail, at)
        session.flush()
    session.commit()
    report = render(session, {"type": "cameras", "unit": "P-BUON-MA-THUOT", "period": "2026-11", "language": "vi"})
    down = {r["code"]: r for r in report.tables["down"]}
    # HIS-01: from the month's start (local midnight) to 3 November (faulty, began in October) and 5 hours on
    # 14 November; online at the end.
    faulty = (day + timedelta(days=2) - START).total_seconds() / 3600
    assert down["HIS-01"]["hours"] == round(faulty + 5, 1) and not down["HIS-01"]["still"]
    assert down["HIS-01"]["reasons"] == "có lỗi, mất kết nối"
    # HIS-02: from 29 November to the end of the month, still offline.
    assert down["HIS-02"]["hours"] == round((END - (day + timedelta(days=28))).total_seconds() / 3600, 1)
    assert down["HIS-02"]["still"]
