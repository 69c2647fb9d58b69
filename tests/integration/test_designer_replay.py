"""Replaying field_report v2's routing and deadline tables against the last 30 days of cases: the counts per unit
and the mean deadlines match a direct computation with the working calendar, and nothing is written."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import AuditEvent, HumanTask, ProcessInstance
from tests.integration.test_designer_migration import app, field_report_files  # noqa: F401 - the app fixture
from tests.working_time import working
from tests.workspace import client_of, new_case
from webapp.extensions import db
from workflows.designer.replay import ReplayService
from workflows.models import Case
from workflows.runtime import EVALUATOR


def v2_files() -> dict[str, str]:
    """Normal priority due in 48 working hours (was 72); street lighting goes to Sở Xây dựng in wards too (was: the
    ward itself, the department only for communes)."""
    files = field_report_files(normal_sla=48)
    routing = files["field_report_routing.dmn"]
    assert routing.count('<text>"commune"</text>') == 1
    files["field_report_routing.dmn"] = routing.replace('<text>"commune"</text>', "<text>-</text>")
    return files


SLA_V1 = {"high": 24, "normal": 72, "low": 120}
SLA_V2 = {"high": 24, "normal": 48, "low": 120}


def expected_unit(category: str, place: str, kind: str, version: int) -> str:
    if category == "health":
        return "SYT"
    if category == "street_lighting" and (kind == "commune" or version == 2):
        return "SXD"
    return place


def test_the_replay_counts_cases_per_unit_and_mean_deadlines_as_a_direct_computation(app, clock):  # noqa: F811
    old = new_case(app, category="traffic", unit="P-TAN-LAP", triage=None, title="Trước 30 ngày")
    clock.advance(days=31)
    cases = [  # (category, place, kind, priority), received a few hours apart
        ("traffic", "P-BUON-MA-THUOT", "ward", "normal"),
        ("street_lighting", "P-BUON-MA-THUOT", "ward", "normal"),
        ("street_lighting", "P-TAN-LAP", "ward", "low"),
        ("street_lighting", "X-HOA-PHU", "commune", "normal"),
        ("health", "P-TAN-LAP", "ward", "high"),
        ("traffic", "P-TAN-LAP", "ward", "high"),
    ]
    codes = []
    for category, place, _kind, priority in cases:
        codes.append(new_case(app, category=category, unit=place, triage=None, title=f"{category} {place}"))
        with app.app_context():  # the category and priority as triage left them
            case = db.session.scalar(select(Case).where(Case.code == codes[-1]))
            case.priority = priority
            db.session.commit()
        clock.advance(hours=5)
    with app.app_context():
        app.extensions["ioc"].services(db.session).definitions.deploy(v2_files(), deployed_by="thietke")
        db.session.commit()
        received = dict(db.session.execute(select(Case.code, Case.created_at)).all())
        counts = (db.session.scalar(select(func.count()).select_from(AuditEvent)),
                  db.session.scalar(select(func.count()).select_from(HumanTask)),
                  db.session.scalar(select(func.count()).select_from(ProcessInstance)))

        service = ReplayService(db.session, EVALUATOR, clock)
        v2, v1 = service.version_files("field_report", 2)
        assert (v1.version, v2.version) == (1, 2)
        result = service.replay("field_report", v1.files, v2.files, "v1", "v2")

    # Direct computation: the tables' answers by hand, deadlines with the working calendar from reception.
    def hours(code, sla):
        start = received[code]
        return round((working(start, sla) - start).total_seconds() / 3600, 2)

    direct = {}
    for code, (category, place, kind, priority) in zip(codes, cases, strict=True):
        for version, slas in ((1, SLA_V1), (2, SLA_V2)):
            direct[code, version] = (expected_unit(category, place, kind, version), hours(code, slas[priority]))
    assert old not in {c.code for c in result.cases}  # older than 30 days
    assert [c.code for c in result.cases] == codes
    for c in result.cases:
        assert ((c.old_unit, c.old_hours), (c.new_unit, c.new_hours)) == (direct[c.code, 1], direct[c.code, 2])
    by_unit = {u.code: u for u in result.units}
    for version, count_of, mean_of in ((1, "old_cases", "old_mean"), (2, "new_cases", "new_mean")):
        for unit in {direct[code, version][0] for code in codes}:
            mine = [direct[code, version][1] for code in codes if direct[code, version][0] == unit]
            assert getattr(by_unit[unit], count_of) == len(mine), (unit, version)
            assert getattr(by_unit[unit], mean_of) == round(sum(mine) / len(mine), 1), (unit, version)
    # Phường Buôn Ma Thuột would have received 1 case (was 2); Sở Xây dựng 3 (was 1).
    assert (by_unit["P-BUON-MA-THUOT"].new_cases, by_unit["P-BUON-MA-THUOT"].old_cases) == (1, 2)
    assert (by_unit["SXD"].new_cases, by_unit["SXD"].old_cases) == (3, 1)
    assert {c.code for c in result.changed_cases} == {codes[0], codes[1], codes[2], codes[3]}
    assert result.new_mean == round(sum(direct[c, 2][1] for c in codes) / len(codes), 1)
    assert result.old_mean == round(sum(direct[c, 1][1] for c in codes) / len(codes), 1)

    # The page says it in words; nothing was written.
    html = client_of(app, "thietke").get("/designer/replay?key=field_report&version=2&lang=en").get_data(as_text=True)
    mean = f"{by_unit['P-BUON-MA-THUOT'].new_mean:.1f} h (was {by_unit['P-BUON-MA-THUOT'].old_mean:.1f} h)"
    assert f"With this table, Buôn Ma Thuột Ward would have received 1 cases (was 2), mean deadline {mean}." in html
    assert "With this table, Department of Construction would have received 3 cases (was 1)" in html
    assert f'<tr id="case-{codes[1]}">' in html and "P-BUON-MA-THUOT → <strong>SXD</strong>" in html
    assert f'<tr id="case-{codes[4]}">' not in html  # health, high: unchanged
    with app.app_context():
        assert (db.session.scalar(select(func.count()).select_from(AuditEvent)),
                db.session.scalar(select(func.count()).select_from(HumanTask)),
                db.session.scalar(select(func.count()).select_from(ProcessInstance))) == counts


def test_a_draft_is_replayed_against_the_version_it_started_from(app, clock):  # noqa: F811
    codes = [new_case(app, category="traffic", unit="P-TAN-LAP", triage=None, title=f"Ổ gà {i}") for i in range(2)]
    with app.app_context():
        from workflows.designer.drafts import DraftService

        draft = DraftService(db.session, clock).save(title="SLA 48 giờ", files=v2_files(), actor="thietke",
                                                     base={"key": "field_report", "version": 1})
        db.session.commit()
    designer = client_of(app, "thietke")
    html = designer.get(f"/designer/replay?draft={draft.id}&lang=en").get_data(as_text=True)
    assert "Overall: 2 of 2 cases would change" in html
    assert all(f'<tr id="case-{code}">' in html for code in codes)
    assert "draft “SLA 48 giờ”" in html
    assert designer.get("/designer/replay?draft=999999&lang=en").status_code == 404
    assert designer.get("/designer/replay?key=nothing&lang=en").status_code == 404
