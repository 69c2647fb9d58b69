"""Deliveries that did not go, seen and mended in a page: citizens' receipts sent while the mail server is down
are listed for administrators with why (in their language) and without the private link; one is retried after
the server is back, one is given up with a note after it stopped being tried, the rest are retried all at once.
A real SMTP server (aiosmtpd) on a port where nothing listened before; every action audited.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.models import OutboxMessage
from engine.outbox import MAX_ATTEMPTS
from tests.integration.test_celery_worker import Inbox, free_port, start_smtp
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.admin.models import AdminAuditEntry

PAGE = "/admin/deliveries"


@pytest.fixture
def site(db_url, clock):
    port = free_port()  # nothing listens here until the test starts the server
    app = make_workspace_app(db_url, clock, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    servers = []
    yield app, clock, port, servers
    for server in servers:
        server.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def receipt(app, title: str, email: str) -> OutboxMessage:
    """A report with the citizen's email: its receipt (with the private link) goes through the outbox."""
    code = new_case(app, title=title, triage=None, reporter_email=email)
    app.extensions["ioc"].enqueue_outbox()  # as the intake page does after its commit
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"receipt:{code}"))
        db.session.expunge(row)
        return row


def row_of(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        db.session.expunge(row)
        return row


def post(client, url: str, **form):
    token = csrf_of(client.get(PAGE).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form})


def deliver(app) -> int:
    with app.app_context():
        return app.extensions["ioc"].outbox().deliver_pending()


def test_undelivered_receipts_are_listed_retried_given_up_and_retried_all_from_the_page(site):
    app, clock, port, servers = site
    first = receipt(app, "Đèn đường hỏng trước chợ", "an@example.vn")
    second = receipt(app, "Ổ gà trên đường Lê Duẩn", "binh@example.vn")
    third = receipt(app, "Cây đổ chắn lối đi", "chi@example.vn")
    for row in (first, second, third):
        failed = row_of(app, row.id)
        assert failed.delivered_at is None and failed.attempts == 1 and "refused" in failed.last_error.lower()

    admin = client_of(app, "admin")
    status = admin.get("/admin/status").get_data(as_text=True)
    assert re.search(r'<div class="n bad">3</div><div class="l"><a href="/admin/deliveries">', status)

    assert admin.get("/healthz").get_json()["outbox"] | {"detail": ""} == {
        "ok": True, "undelivered": 3, "waiting_for_a_person": 0, "detail": ""}  # still tried by themselves
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Chưa gửi được (3)" in page
    assert "3 tin: không kết nối được máy chủ thư" in page  # the count per cause
    for row, email in ((first, "an@example.vn"), (second, "binh@example.vn"), (third, "chi@example.vn")):
        assert f'id="delivery-{row.id}"' in page and email in page
        assert row.payload["subject"] in page  # "Đã tiếp nhận phản ánh PA-… / Report received"
    assert "không kết nối được máy chủ thư" in page  # why, in the reader's language
    assert "Connection refused" in page  # and the server's own answer
    assert "key=" not in page and "/track/" not in page, "the citizen's private link is never shown"
    english = admin.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert "Undelivered (3)" in english and "the mail server could not be reached" in english
    assert "Report received" in english
    admin.get(f"{PAGE}?lang=vi")

    # -- the mail server is back: one message retried from its line is delivered at once
    inbox = Inbox()
    servers.append(start_smtp(inbox, port))
    response = post(admin, f"{PAGE}/{first.id}/retry")
    assert response.status_code == 303
    assert [rcpt for rcpt, _ in inbox.received()] == [["an@example.vn"]]
    assert str(inbox.received()[0][1]["Message-ID"]) == f"<outbox-{first.id}@ioc-case-flow>"
    page = admin.get(PAGE).get_data(as_text=True)
    assert f"Tin {first.id} đã được gửi." in page and f'id="delivery-{first.id}"' not in page
    assert "Chưa gửi được (2)" in page

    # -- down again: the second fails until it is no longer tried by itself
    servers.pop().stop()
    for _ in range(MAX_ATTEMPTS + 2):
        clock.advance(seconds=3601)
        deliver(app)
    parked = row_of(app, second.id)
    assert parked.attempts == MAX_ATTEMPTS and parked.next_attempt_at > clock.now() + timedelta(days=3000)
    page = admin.get(PAGE).get_data(as_text=True)
    assert "chờ bạn xử lý" in page
    health = admin.get("/healthz").get_json()["outbox"]
    assert (health["ok"], health["undelivered"], health["waiting_for_a_person"]) == (False, 2, 2)

    # a give-up without a reason is refused with what to do, and a long reason is kept in the form
    refused = post(admin, f"{PAGE}/{second.id}/drop", note="  ")
    assert refused.status_code == 400 and "hãy nói vì sao bỏ tin" in refused.get_data(as_text=True).lower()
    long_note = "Địa chỉ sai. " * 200
    refused = post(admin, f"{PAGE}/{second.id}/drop", note=long_note)
    assert refused.status_code == 400 and long_note.strip() in refused.get_data(as_text=True)
    assert row_of(app, second.id).dropped_at is None
    assert post(admin, f"{PAGE}/{second.id}/drop", note="Người dân báo địa chỉ sai, đã gọi điện").status_code == 303
    dropped = row_of(app, second.id)
    assert dropped.dropped_by == "admin" and dropped.drop_note == "Người dân báo địa chỉ sai, đã gọi điện"
    given_up = admin.get(f"{PAGE}?state=dropped").get_data(as_text=True)
    assert f'id="delivery-{second.id}"' in given_up and "Người dân báo địa chỉ sai" in given_up
    # acting on it again is a conflict told in the page, not an error
    again = post(admin, f"{PAGE}/{second.id}/retry")
    assert again.status_code == 303
    assert f"tin {second.id} đã bị admin bỏ" in admin.get(PAGE).get_data(as_text=True)

    # -- back for good: "retry all" sends what is left; the given-up one never goes
    inbox = Inbox()
    servers.append(start_smtp(inbox, port))
    assert post(admin, f"{PAGE}/retry-all").status_code == 303
    assert [rcpt for rcpt, _ in inbox.received()] == [["chi@example.vn"]]
    clock.advance(days=3651)
    assert deliver(app) == 0 and len(inbox.received()) == 1
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Mọi tin đều đã được gửi." in page
    with app.app_context():
        actions = [(a.action, a.target_id) for a in db.session.scalars(
            select(AdminAuditEntry).order_by(AdminAuditEntry.id))]
    assert actions == [("delivery.retry", str(first.id)), ("delivery.drop", str(second.id)),
                       ("delivery.retry_all", "*")]
    assert "gửi lại" in admin.get("/admin/audit").get_data(as_text=True)


def test_unknown_messages_are_not_found(site):
    app, *_ = site
    admin = client_of(app, "admin")
    assert post(admin, f"{PAGE}/999999/retry").status_code == 404
    assert post(admin, f"{PAGE}/{2**63}/drop", note="x").status_code == 404
    assert "Mọi tin đều đã được gửi." in admin.get(PAGE).get_data(as_text=True)
