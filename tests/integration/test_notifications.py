"""The inbox: each user sees, counts and marks only their own notifications.

Notifications come from the real process (a high-priority case alerts the leaders of its
ward and of the province), and the pages are driven with the Flask test client.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.models import Notification, User
from workflows.notification_service import PAGE_SIZE, NotificationNotFoundError, NotificationService


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def notes_of(app, username: str) -> list[Notification]:
    """The user's notifications, oldest first (detached)."""
    with app.app_context():
        rows = list(db.session.scalars(select(Notification).join(User, User.id == Notification.user_id)
                                       .where(User.username == username).order_by(Notification.id)))
        db.session.expunge_all()
        return rows


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))



def unread_badge(page: str) -> int:
    match = re.search(r'id="unread-count">(\d+)<', page)
    assert match, "the menu shows no unread count"
    return int(match.group(1))


def mark(client, page_url: str = "/notifications/", **form):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post("/notifications/read", data={"csrf_token": token, **form})


def test_the_inbox_lists_ones_own_notifications_with_links_to_their_cases(app):
    first = new_case(app, priority="high", title="Đèn đường hỏng trước chợ")
    second = new_case(app, priority="high", title="Cột đèn nghiêng")
    leader = client_of(app, "ld.buonmathuot")

    page = leader.get("/notifications/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/cases/{first}"' in html and f'href="/cases/{second}"' in html
    assert "Báo cáo lãnh đạo" in html  # the kind, in Vietnamese by default
    assert html.index(second) < html.index(first), "newest first"
    assert unread_badge(html) == 2
    assert leader.get("/notifications/count").get_json() == {"unread": 2}

    english = leader.get("/notifications/?lang=en").get_data(as_text=True)
    assert "Leader alert" in english and "Mark all as read" in english

    # Another person's inbox is theirs: the ward's officer got no leader alert, only the new tasks.
    officer = client_of(app, "cb.buonmathuot")
    html = officer.get("/notifications/").get_data(as_text=True)
    assert "Báo cáo lãnh đạo" not in html and "Việc mới" in html and unread_badge(html) == 2
    assert officer.get("/notifications/count").get_json() == {"unread": 2}


def test_visitors_are_sent_to_sign_in_and_see_no_count(app):
    visitor = app.test_client()
    response = visitor.get("/notifications/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert visitor.get("/notifications/count").status_code == 302
    assert 'id="unread-count"' not in visitor.get("/login").get_data(as_text=True)
    with app.test_request_context("/"):
        assert app.jinja_env.globals["nav_unread"]() == 0


def test_marking_one_then_all_read(app, clock):
    new_case(app, priority="high")
    clock.advance(minutes=1)
    new_case(app, priority="high")
    clock.advance(minutes=1)
    leader = client_of(app, "ld.buonmathuot")
    older, newer = notes_of(app, "ld.buonmathuot")

    response = mark(leader, ids=str(older.id))
    assert response.status_code == 303
    follow = leader.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 thông báo đã được đánh dấu là đã đọc" in follow
    assert unread_badge(follow) == 1
    older_now, newer_now = notes_of(app, "ld.buonmathuot")
    assert older_now.read_at == clock.now() and newer_now.read_at is None

    unread_page = leader.get("/notifications/?unread=1").get_data(as_text=True)
    assert f'data-notification-id="{newer.id}"' in unread_page
    assert f'data-notification-id="{older.id}"' not in unread_page

    response = mark(leader, "/notifications/?unread=1", all="1", unread="1")
    assert response.status_code == 303 and response.headers["Location"].endswith("/notifications/?unread=1")
    assert all(n.read_at is not None for n in notes_of(app, "ld.buonmathuot"))
    assert leader.get("/notifications/count").get_json() == {"unread": 0}
    # Others' notifications of the same cases are untouched.
    assert all(n.read_at is None for n in notes_of(app, "ct.ubnd"))


def test_another_persons_notification_is_not_found_and_nothing_changes(app):
    new_case(app, priority="high")
    mine = notes_of(app, "ct.ubnd")[0]
    theirs = notes_of(app, "ld.buonmathuot")[0]
    chair = client_of(app, "ct.ubnd")

    assert mark(chair, ids=str(theirs.id)).status_code == 404
    # One of their own and one of someone else's: refused as a whole.
    assert mark(chair, ids=[str(mine.id), str(theirs.id)]).status_code == 404
    assert mark(chair, ids="999999").status_code == 404
    assert notes_of(app, "ld.buonmathuot")[0].read_at is None
    assert notes_of(app, "ct.ubnd")[0].read_at is None

    chair_id, leader_id = user_id(app, "ct.ubnd"), user_id(app, "ld.buonmathuot")
    with app.app_context():
        service = NotificationService(db.session)
        with pytest.raises(NotificationNotFoundError):
            service.mark_read(chair_id, [theirs.id])
        assert service.unread_count(leader_id) == 1


def test_bad_input_gets_a_message_and_changes_nothing(app):
    new_case(app, priority="high")
    leader = client_of(app, "ld.buonmathuot")

    response = mark(leader, ids="abc")
    assert response.status_code == 303
    assert "không hợp lệ" in leader.get("/notifications/").get_data(as_text=True)
    response = mark(leader)  # neither ids nor all
    assert response.status_code == 303
    assert "chọn ít nhất một thông báo" in leader.get("/notifications/").get_data(as_text=True).lower()
    forged = leader.post("/notifications/read", data={"all": "1", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert leader.post("/notifications/read", data={"all": "1"}).status_code == 400
    assert all(n.read_at is None for n in notes_of(app, "ld.buonmathuot"))
    assert leader.get("/notifications/?page=abc").status_code == 200


def test_the_inbox_pages_newest_first(app, clock):
    new_case(app, priority="high")
    template = notes_of(app, "ld.buonmathuot")[0]
    leader_id = user_id(app, "ld.buonmathuot")
    with app.app_context():
        for n in range(PAGE_SIZE + 4):
            clock.advance(minutes=1)
            db.session.add(Notification(user_id=leader_id, case_id=template.case_id, kind="reminder",
                                        title=f"Nhắc việc số {n}", created_at=clock.now(), dedupe_key=f"t:{n}"))
        db.session.commit()
        service = NotificationService(db.session, clock)
        first = service.inbox(leader_id)
        assert (first.total, first.pages, first.unread, len(first.rows)) == (PAGE_SIZE + 5, 2, PAGE_SIZE + 5, PAGE_SIZE)
        assert first.rows[0].title == f"Nhắc việc số {PAGE_SIZE + 3}" and first.rows[0].case_code
        last = service.inbox(leader_id, page=99)
        assert last.page == 2 and len(last.rows) == 5 and last.rows[-1].id == template.id
        assert service.mark_read(leader_id, everything=True) == PAGE_SIZE + 5
        assert service.inbox(leader_id, unread_only=True).rows == []
        assert service.mark_read(leader_id, everything=True) == 0

    leader = client_of(app, "ld.buonmathuot")
    html = leader.get("/notifications/?page=2").get_data(as_text=True)
    assert "Trang 2/2" in html
    assert "Nhắc việc" in html


def test_a_citizen_s_empty_inbox_points_to_my_reports_not_to_officials_alerts(app):
    page = client_of(app, "dan.tranthimai").get("/notifications/").get_data(as_text=True)
    assert "theo dõi phản ánh của bạn tại mục Phản ánh của tôi" in page
    assert "Nhắc việc, báo cáo lãnh đạo" not in page  # the officials' kinds of notification
