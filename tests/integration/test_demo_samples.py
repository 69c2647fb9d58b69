"""The demo's cases (`ioc demo` → webapp/setup.py → workflows/sample_cases.py), set up as `ioc demo` does.

The app's clock stands for the real now; the demo plays three weeks of history before it on a clock of its
own and must land consistent with it: nothing dated later, no timer left due, feedback windows open or
closed as their dates say. Its published pages carry none of its reporters' personal data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.models import ProcessInstance
from tests.integration.test_privacy import image_problems, public_urls, readable
from webapp import create_app
from webapp.extensions import db
from webapp.setup import setup_demo
from workflows.models import Attachment, Case, CaseEvent, CaseRating, Category, Publication
from workflows.performance import PerformanceService
from workflows.publication_service import PublicationService
from workflows.sample_cases import DEMO_FOLLOW_KEY, HOTLINE_SAMPLES, SAMPLES, STORIES, rating_link_code

NOW = datetime(2026, 3, 20, 2, 30, tzinfo=UTC)  # 09:30 in Đắk Lắk


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """An app set up by setup_demo on a fresh SQLite file, its clock at NOW; (app, lines said)."""
    folder = tmp_path_factory.mktemp("demo")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}", "FILES_DIR": str(folder / "files"),
                      "TESTING": True, "TIMER_SWEEP": "off", "RATELIMIT_ENABLED": False}, clock=FrozenClock(NOW))
    lines = [str(line) for line in setup_demo(app)]
    yield app, lines
    with app.app_context():
        db.engine.dispose()


def by_title(session) -> dict[str, Case]:
    return {c.title: c for c in session.scalars(select(Case))}


def test_the_stories_end_where_their_steps_lead(demo):
    app, lines = demo
    assert any(f"{len(STORIES) + len(SAMPLES) + len(HOTLINE_SAMPLES)}" in line for line in lines), lines
    with app.app_context():
        cases = by_title(db.session)
        state = {s.title: (cases[s.title].status, cases[s.title].escalation_level, cases[s.title].reopen_count)
                 for s in STORIES}
    assert state["Ổ gà sâu trước cổng trường THCS Phan Chu Trinh"] == ("closed", 0, 0)          # rated satisfied
    assert state["Bãi rác tự phát cuối hẻm 42 Y Wang"] == ("closed", 0, 0)                      # closed by silence
    assert state["Nắp hố ga bị vỡ trên đường Phan Bội Châu"] == ("closed", 1, 0)                # late: escalated
    assert state["Đường liên thôn ở xã Hòa Phú mất đèn"] == ("closed", 1, 0)
    assert state["Mương thoát nước bị bồi lấp ở thôn 3"] == ("published", 0, 1)                  # reopened, again
    assert state["Lấn chiếm vỉa hè bán hàng trên đường Hùng Vương"] == ("published", 0, 0)      # window open
    assert state["Quán nhậu lấn chiếm lòng đường Y Wang"][:2] == ("escalated", 1)  # open, late
    assert state["Cây đổ chắn ngang đường Lê Thánh Tông"] == ("published", 0, 0)                # hotline, called back
    assert sum(status == "published" for status, *_ in state.values()) == 4
    assert sum(status == "closed" for status, *_ in state.values()) == 7
    # High priority: the head refused the first result, approved the second, before it was published.
    with app.app_context():
        smoke = by_title(db.session)["Khói đốt rác thải nhựa gây ô nhiễm khu dân cư"]
        reviews = [e.kind for e in events_of(db.session, smoke) if e.kind.startswith("review_")]
    assert state[smoke.title] == ("closed", 0, 0)
    assert reviews == ["review_requested", "review_refused", "review_requested", "review_approved"]


def events_of(session, case):
    return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))


def test_the_history_lands_before_now_and_leaves_no_timer_behind(demo):
    app, _ = demo
    until = NOW - timedelta(minutes=5)
    with app.app_context():
        s = db.session
        first, last = s.execute(select(func.min(Case.created_at), func.max(Case.created_at))).one()
        assert NOW - timedelta(days=21) <= first and last <= until
        assert s.scalar(select(func.max(CaseEvent.at))) <= until
        assert s.scalar(select(func.max(CaseRating.created_at))) <= until
        # Every timer still waiting falls due after the demo's clock stopped: the server's sweep takes it.
        waiting = s.scalars(select(ProcessInstance.next_timer_at).where(ProcessInstance.status == "running",
                                                                        ProcessInstance.next_timer_at.is_not(None)))
        assert all(due > until for due in waiting)
        # A publication still waiting for the citizen is within its window; a silent one closed at its end.
        for pub, case in s.execute(select(Publication, Case).join(Case, Case.id == Publication.case_id)):
            if case.status == "published":
                assert pub.feedback_until > NOW
            closed = s.scalar(select(CaseEvent.at).where(CaseEvent.case_id == case.id, CaseEvent.kind == "closed"))
            rated = s.scalar(select(func.count()).select_from(CaseRating).where(CaseRating.case_id == case.id))
            if closed is not None and not rated:
                assert pub.feedback_until <= closed <= pub.feedback_until + timedelta(minutes=1)


def test_the_public_pages_have_photos_ratings_and_figures(demo):
    app, _ = demo
    with app.app_context():
        s = db.session
        stages = dict(s.execute(select(Attachment.stage, func.count()).where(
            Attachment.public.is_(True), Attachment.thumb_sha256.is_not(None)).group_by(Attachment.stage)).all())
        assert stages["report"] >= 5 and stages["resolution"] >= 8
        row = s.scalar(select(Attachment).where(Attachment.stage == "report"))
        assert not image_problems(app.extensions["ioc"].files.path(row.public_sha256).read_bytes())
        code = rating_link_code(s)
        assert PublicationService(s, FrozenClock(NOW)).may_rate(code, key=DEMO_FOLLOW_KEY)
        units = {u.code: u for u in PerformanceService(s, FrozenClock(NOW)).units(30)}
    ward = units["P-BUON-MA-THUOT"]
    assert ward.resolved >= 3 and ward.ratings >= 3 and ward.on_time_share < 1 and ward.median_hours
    assert units["P-TAN-LAP"].open_overdue == 1  # the escalated case still open
    assert units["SXD"].on_time_share == 0  # late, escalated: not on time
    client = app.test_client()
    page = client.get("/resolutions/").get_data(as_text=True)
    assert page.count('class="pub-body"') == 11  # every published resolution (the reopened one once)
    assert client.get(f"/track/{code}?key={DEMO_FOLLOW_KEY}").status_code == 200


def test_no_public_page_carries_the_demo_reporters_personal_data(demo):
    app, _ = demo
    with app.app_context():
        codes = list(db.session.scalars(select(Case.code)))
        tokens = list(db.session.scalars(select(Case.request_token).where(Case.request_token.is_not(None))))
        categories = list(db.session.scalars(select(Category.code)))
        attachments = list(db.session.scalars(select(Attachment.id)))
    people = [s.reporter for s in STORIES]
    names = [name.replace(" (demo)", "").lower() for name, _phone in people]
    phones = [re.sub(r"\D", "", phone) for _name, phone in people]
    client = app.test_client()
    problems = []
    pages = 0
    for url in public_urls(app, codes, tokens, categories, attachments):
        response = client.get(url)
        assert response.status_code < 500, url
        if response.headers.get("Content-Type", "").startswith("image/"):
            assert not image_problems(response.get_data()), url
            continue
        pages += 1
        text = readable(response.get_data(), response.headers.get("Content-Type", "")).lower()
        digits = re.sub(r"[\s.\-+]", "", text)
        problems += [f"{url}: {name}" for name in names if name in text]
        problems += [f"{url}: {phone}" for phone in phones if phone in digits or phone[1:] in digits]
    assert not problems, "\n".join(problems)
    assert pages > 50, pages  # the crawl read every case's pages


def test_a_second_set_up_adds_nothing(demo):
    app, _ = demo
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Case))
    lines = [str(line) for line in setup_demo(app)]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == before
    assert not any("sample" in line or "mẫu" in line and "phản ánh" in line for line in lines)
