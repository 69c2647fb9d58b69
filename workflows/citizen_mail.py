"""Emails to citizens who follow a case: the receipt of a report, and each public step of the case.

Citizens read Vietnamese first, so the texts are Vietnamese with one English line, the way the
officials' emails are written (no per-reader language: a follower has no account to hold one).
Links are paths; the mailer puts the site's address (IOC_PUBLIC_URL) in front of `{link}`, so a
step run by a worker or the timer sweep needs no request to know where the site is.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.util import identity_key

from engine.outbox import FORGET_AFTER_DELIVERY
from workflows.models import Case, CaseFollower

# The public case events a follower hears of ("resolved" is followed at once by "published",
# which is the one worth an email: the resolution is then readable).
UPDATE_KINDS = ("assigned", "escalated", "published", "reopened", "closed")
LINK = "{link}"

_WHAT = {
    "assigned": ("Phản ánh đã được giao cho {unit} xử lý.", "Your report was assigned to {unit}."),
    "escalated": ("Phản ánh quá hạn đã được chuyển lên {unit}.", "Your report was overdue and moved up to {unit}."),
    "published": ("Kết quả xử lý đã được công khai; bạn có thể đánh giá bằng đường dẫn riêng nhận khi gửi phản ánh.",
                  "The resolution is published; rate it with the private link you got when you sent the report."),
    "reopened": ("Phản ánh đã được mở lại để xử lý tiếp.", "Your report was reopened to be handled again."),
    "closed": ("Phản ánh đã được đóng.", "Your report was closed."),
}


def tracking_path(code: str, key: str | None = None) -> str:
    """The path of a case's public tracking page (with the follower's key when given)."""
    path = f"/track/{quote(code)}"
    return f"{path}?key={quote(key)}" if key else path


def receipt_email(code: str, to: str, key: str) -> dict[str, Any]:
    """The outbox payload telling a citizen their report was received, with their private link."""
    body = (f"Phản ánh của bạn đã được tiếp nhận với mã {code}.\n"
            f"Theo dõi và đánh giá kết quả xử lý tại đường dẫn riêng (hãy giữ lại, không chia sẻ): {LINK}\n\n"
            f"Your report was received as {code}. Follow it and rate its resolution with your private link: {LINK}\n")
    return {"to": to, "subject": f"Đã tiếp nhận phản ánh {code} / Report received", "body": body,
            "link": tracking_path(code, key), FORGET_AFTER_DELIVERY: ["link"]}


def follow_email(code: str, to: str, key: str) -> dict[str, Any]:
    """The outbox payload confirming that a citizen now follows a case, with their private link."""
    body = (f"Bạn đang theo dõi phản ánh {code}. Đường dẫn riêng của bạn (hãy giữ lại): {LINK}\n\n"
            f"You now follow case {code}. Your private link: {LINK}\n")
    return {"to": to, "subject": f"Theo dõi phản ánh {code} / Following a case", "body": body,
            "link": tracking_path(code, key), FORGET_AFTER_DELIVERY: ["link"]}


# The followers an update email goes to (with CaseFollower.case_id).
_SUBSCRIBED = (CaseFollower.email != "", CaseFollower.unsubscribed_at.is_(None))
_WITH_CASE = "ioc_followers_read_with_case"  # session.info: (transaction, {case id: [(follower id, email)]})


def _transaction(session: Session | scoped_session) -> Any:
    """The session's current outermost transaction (the web app hands in Flask-SQLAlchemy's scoped session)."""
    return (session() if isinstance(session, scoped_session) else session).get_transaction()


def _read_with_case(session: Session) -> dict[int, list[tuple[int, str]]]:
    """The subscribed followers read together with their case in this transaction, by case id."""
    transaction, by_case = session.info.get(_WITH_CASE, (None, {}))
    return by_case if transaction is not None and transaction is _transaction(session) else {}


def case_with_followers(session: Session, case_id: int) -> Case | None:
    """The case with this id; read from the database, it brings its subscribed followers in the same query.

    An operator reads its case first and, for a public event, its followers next: one query instead of
    two. They serve only the transaction that read them (a session may outlive many).
    """
    if session.identity_map.get(identity_key(Case, case_id)) is not None:
        return session.get(Case, case_id)
    rows = session.execute(select(Case, CaseFollower.id, CaseFollower.email)
                           .outerjoin(CaseFollower, and_(CaseFollower.case_id == Case.id, *_SUBSCRIBED))
                           .where(Case.id == case_id)).all()
    if not rows:
        return None
    transaction = _transaction(session)
    if session.info.get(_WITH_CASE, (None, {}))[0] is not transaction:
        session.info[_WITH_CASE] = (transaction, {})
    session.info[_WITH_CASE][1][case_id] = [(f_id, email) for _, f_id, email in rows if f_id is not None]
    return rows[0][0]


def update_email(case: Case, kind: str, to: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The outbox payload telling a follower what just happened to a case (no key: keys are not kept)."""
    unit = str(detail.get("unit_name") or (case.responsible_unit.name if case.responsible_unit else "") or "—")
    vi, en = (text.format(unit=unit) for text in _WHAT[kind])
    body = (f"Phản ánh {case.code}: {vi}\nXem diễn biến: {LINK}\n"
            f"Không muốn nhận thư nữa? Mở đường dẫn riêng của bạn và chọn \"Ngừng nhận thư\".\n\n"
            f"Case {case.code}: {en} Timeline: {LINK} (to stop these emails, open your private link).\n")
    return {"to": to, "subject": f"Phản ánh {case.code}: cập nhật / update", "body": body,
            "link": tracking_path(case.code)}


def email_followers(ctx: Any, case: Case, kind: str, detail: dict[str, Any]) -> int:
    """Inside a step: an email to every subscribed follower of `case` about a public event `kind`.

    The dedupe key is the step's task and the follower, so a step redone sends nothing twice.
    """
    if kind not in UPDATE_KINDS:
        return 0
    followers = _read_with_case(ctx.session).get(case.id)
    if followers is None:
        # No autoflush: the step's pending rows need not be written for this read (followers are
        # only ever added outside steps).
        with ctx.session.no_autoflush:
            followers = ctx.session.execute(select(CaseFollower.id, CaseFollower.email)
                                            .where(CaseFollower.case_id == case.id, *_SUBSCRIBED)).all()
    for follower_id, email in followers:
        ctx.emit("email", update_email(case, kind, email, detail), f"follow:{ctx.task_id}:{follower_id}")
    return len(followers)
