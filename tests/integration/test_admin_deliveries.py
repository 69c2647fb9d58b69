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
from workflows.models import User

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


def test_a_leader_s_failed_report_is_listed_and_sent_again_by_an_administrator(db_url):
    """A scheduled report whose email failed (the mail server down) is on the administrators' page with its leader
    and why; once the server is back, "Retry now" sends it (the embedded mode delivers at once), audited."""
    from engine.clock import FrozenClock
    from reports import schedules
    from reports.models import ReportDelivery
    from tests.integration.test_report_delivery_worker import SLOT, subscribe
    from webapp.tasks import deliver_report

    clock = FrozenClock(SLOT + timedelta(minutes=1))
    port = free_port()
    app = make_workspace_app(db_url, clock, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    server = None
    try:
        with app.app_context():
            subscribe(db.session)
            [delivery_id] = schedules.plan_deliveries(db.session, clock.now()).due
            db.session.commit()
            assert deliver_report.apply(args=(delivery_id,)).get(disable_sync_subtasks=False) == "retry"
            db.session.remove()
        admin = client_of(app, "admin")
        assert "Báo cáo cho lãnh đạo (1)" in admin.get(PAGE).get_data(as_text=True)
        page = admin.get(f"{PAGE}?state=reports").get_data(as_text=True)
        row = re.search(rf'<tr id="report-delivery-{delivery_id}">.*?</tr>', page, re.S).group(0)
        with app.app_context():
            leader = db.session.scalar(select(User.full_name).where(User.username == "ld.buonmathuot"))
        assert leader in row and "không kết nối được máy chủ thư" in row and "sẽ gửi lại" in row

        inbox = Inbox()
        server = start_smtp(inbox, port)
        answer = post(admin, f"{PAGE}/reports/{delivery_id}/retry")
        assert answer.status_code == 303 and answer.headers["Location"].endswith("state=reports")
        assert [rcpt for rcpt, _ in inbox.received()] == [["ld.buonmathuot@demo.ioc-daklak.vn"]]
        with app.app_context():
            assert db.session.get(ReportDelivery, delivery_id).status == "sent"
            audit = db.session.scalar(select(AdminAuditEntry).where(AdminAuditEntry.action == "delivery.report_retry"))
            assert audit.target_id == str(delivery_id) and audit.before["status"] == "retry"
        page = admin.get(f"{PAGE}?state=reports").get_data(as_text=True)
        assert "Mọi báo cáo định kỳ đều đã đến tay lãnh đạo." in page
        # Sent: there is nothing to retry any more, said in words.
        again = post(admin, f"{PAGE}/reports/{delivery_id}/retry")
        assert again.status_code == 303
        assert "không còn chờ gửi lại" in admin.get(f"{PAGE}?state=reports").get_data(as_text=True)
        assert post(client_of(app, "ld.buonmathuot"), f"{PAGE}/reports/{delivery_id}/retry").status_code == 403
    finally:
        if server is not None:
            server.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
