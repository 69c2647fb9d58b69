"""The operations dashboard through the real pages: figures limited to each official's view, access, JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.models import HumanTask
from tests.working_time import advance_working
from tests.workspace import client_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.case_service import IntakeRequest
from workflows.models import Case


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    yield app
    with app.app_context():
        db.engine.dispose()



def hotline_case(app, unit: str, category: str) -> str:
    """A hotline call waiting for triage.

    The hotline's own process comes with its issue; until then the call runs the field-report
    process and only its channel says where it came from.
    """
    with app.app_context():
        case, _ = app.extensions["ioc"].services(db.session).cases.intake(IntakeRequest(
            channel="field_report", category=category, admin_unit=unit, title="Cuộc gọi 1022", lat=12.70,
            lon=108.05, reporter_name="Trần Thị Gọi", reporter_phone="0987654321"))
        db.session.execute(update(Case).where(Case.id == case.id).values(channel="hotline"))
        db.session.commit()
        return case.code


def resolve(app, code: str) -> None:
    """The handling officer resolves the case: its resolution is published (no longer open)."""
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        services.cases.complete_task(task.id, {"outcome": "resolved", "resolution": "Đã thay bóng đèn"},
                                     actor="cb.buonmathuot")


@pytest.fixture
def cases(app, clock):
    """Cases of a ward, of a department, still at triage, and one already published."""
    made = {
        "ward": new_case(app, unit="P-BUON-MA-THUOT", category="street_lighting"),  # → the ward, 72 h
        "department": new_case(app, unit="X-HOA-PHU", category="street_lighting", lat=12.61, lon=107.99),  # → SXD
        "triage": new_case(app, unit="P-TAN-LAP", category="sanitation", triage=None),
        "hotline": hotline_case(app, "P-BUON-MA-THUOT", "traffic"),
        "published": new_case(app, unit="P-BUON-MA-THUOT", category="street_lighting"),
    }
    resolve(app, made["published"])
    return made


def figures(client) -> dict:
    response = client.get("/dashboard/data.json?map=1")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_each_official_sees_the_figures_of_their_view(app, clock, cases):
    ioc = figures(client_of(app, "dtv1"))  # the operations centre watches the whole province
    # The two cases still waiting for triage are due within hours (the triage deadline).
    assert ioc["totals"] == {"open": 4, "overdue": 0, "due_soon": 2, "new_today": 5}
    assert {r["key"]: r["count"] for r in ioc["by_channel"]} == {"field_report": 3, "hotline": 1}
    assert {r["key"]: r["count"] for r in ioc["by_status"]} == {"received": 2, "in_progress": 2}
    units = {u["code"]: (u["open"], u["overdue"]) for u in ioc["by_unit"]}
    assert units == {None: (2, 0), "P-BUON-MA-THUOT": (1, 0), "SXD": (1, 0)}
    assert [c["code"] for c in ioc["latest"]][:1] == [cases["published"]]  # newest first, published included
    assert {p["code"] for p in ioc["map"]["points"]} == {cases[k] for k in ("ward", "department", "triage", "hotline")}

    ward = figures(client_of(app, "cb.buonmathuot"))  # its own ward: handled or located there
    assert ward["totals"]["open"] == 2 and ward["totals"]["new_today"] == 3
    assert {c["code"] for c in ward["latest"]} == {cases["ward"], cases["hotline"], cases["published"]}
    assert {p["code"] for p in ward["map"]["points"]} == {cases["ward"], cases["hotline"]}

    department = figures(client_of(app, "cb.sxd"))  # only what the department handles
    assert department["totals"] == {"open": 1, "overdue": 0, "due_soon": 0, "new_today": 1}
    assert [u["code"] for u in department["by_unit"]] == ["SXD"]
    assert [c["code"] for c in department["latest"]] == [cases["department"]]

    # 66 working hours on (another day), both handling deadlines (72 working hours) are within a day, and the
    # two cases still waiting for triage are past theirs (4 working hours); later the handling ones are too.
    advance_working(clock, 66)
    assert figures(client_of(app, "dtv1"))["totals"] == {"open": 4, "overdue": 2, "due_soon": 2, "new_today": 0}
    advance_working(clock, 24)
    ioc = figures(client_of(app, "dtv1"))
    assert ioc["totals"]["overdue"] == 4 and ioc["totals"]["new_today"] == 0
    assert {u["code"]: u["overdue"] for u in ioc["by_unit"]} == {None: 2, "P-BUON-MA-THUOT": 1, "SXD": 1}
    assert figures(client_of(app, "cb.sxd"))["totals"]["overdue"] == 1
    assert figures(client_of(app, "cb.tanlap"))["totals"] == {"open": 1, "overdue": 1, "due_soon": 0, "new_today": 0}


def test_the_page_shows_the_figures_without_personal_data(app, cases):
    page = client_of(app, "dtv1").get("/dashboard/").get_data(as_text=True)
    assert "Bản đồ vụ việc đang mở" in page and 'data-total="open">4<' in page
    assert cases["hotline"] in page and "Tổng đài 1022" in page and "Phường Buôn Ma Thuột" in page
    assert "Chưa phân công" in page  # the cases still at triage have no unit yet
    body = page + client_of(app, "dtv1").get("/dashboard/data.json?map=1").get_data(as_text=True)
    for personal in ("Nguyễn Văn A", "0912345678", "Trần Thị Gọi", "0987654321"):
        assert personal not in body
    english = client_of(app, "cb.sxd").get("/dashboard/?lang=en").get_data(as_text=True)
    assert "Operations dashboard" in english and "Department of Construction" in english
    assert cases["ward"] not in english


def test_only_officials_reach_the_dashboard(app):
    for path in ("/dashboard/", "/dashboard/data.json"):
        visitor = app.test_client().get(path)
        assert visitor.status_code == 302 and "/login" in visitor.headers["Location"]
        for username in ("dan.tranthimai", "thietke"):  # a citizen, a process designer
            assert client_of(app, username).get(path).status_code == 403


def test_an_empty_view_shows_zeros(app):
    page = client_of(app, "cb.tanlap").get("/dashboard/")
    assert page.status_code == 200 and 'data-total="open">0<' in page.get_data(as_text=True)
    assert figures(client_of(app, "cb.tanlap"))["map"]["points"] == []
