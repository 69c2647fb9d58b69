"""The operators BPMN service tasks call: assign, notify, escalate, return_case, publish, close…

Each runs inside the step of the instance that called it and writes only to the
step's session, so its effects commit together with the process state or not at
all. Messages out (emails, pushes) go to the outbox with a dedupe key made of
the task id, so a step redone after a crash sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.errors import OperatorError
from engine.i18n import Named, Text, t
from engine.registry import OperatorContext, OperatorRegistry, Param
from workflows.calendar.store import working_calendar
from workflows.citizen_mail import case_with_followers, email_followers
from workflows.models import PRIORITY_RANK, AdminUnit, Case, CaseEvent, Publication, User
from workflows.notification_service import notification_for
from workflows.redaction import redact
from workflows.units import UnitDirectory

# A case reopened this often needs people, not another round of the same process.
MAX_REOPENS = 20
# Likewise a case passed back and forth between the IOC and units this often.
MAX_RETURNS = 20
# Deadlines inside inbox and email texts are read by people in Vietnam (times are stored in UTC).
_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _case(ctx: OperatorContext) -> Case:
    case_id = ctx.data.get("case_id")
    # A case opened in this very step (intake) is still pending: found without a query, it is inserted once.
    case = next((c for c in ctx.session.new if isinstance(c, Case) and c.id == case_id), None) if case_id else None
    if case is None and case_id is not None:
        case = case_with_followers(ctx.session, case_id)
    if case is None:
        raise OperatorError(t("the process data names no existing case (case_id=%(case_id)s)", case_id=repr(case_id)))
    return case


def _unit(ctx: OperatorContext, code: Any, chosen: bool = False) -> AdminUnit:
    directory = UnitDirectory(ctx.session)
    unit = directory.by_code(str(code)) if code else None
    if unit is None:
        if chosen:  # named by a person in a form (triage's unit), not by the routing table
            raise OperatorError(t("unit %(unit)s, chosen in the form, does not exist any more; retry with a unit"
                                  " of the list as override_unit", unit=repr(code)))
        raise OperatorError(t("unit %(unit)s does not exist; check the routing table (field_report_routing.dmn)",
                              unit=repr(code)))
    return directory.current(unit)  # a merged unit's work goes to its successor


def _hours(value: Any, name: str) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise OperatorError(t("%(name)s must be a number of hours, got %(value)s", name=name, value=repr(value))) from None
    if not 0 < hours <= 24 * 366:
        raise OperatorError(t("%(name)s must be between 0 and one year, got %(hours)s", name=name, hours=hours))
    return hours


def _event(ctx: OperatorContext, case: Case, kind: str, public: bool, **detail: Any) -> None:
    ctx.session.add(CaseEvent(case_id=case.id, at=ctx.now, kind=kind, public=public, detail=detail))
    case.updated_at = ctx.now
    if public:  # citizens who follow the case hear of it by email, in the same step
        email_followers(ctx, case, kind, detail)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _notify_users(ctx: OperatorContext, case: Case, users: list[User], kind: str, title: Text, body: Text | str) -> int:
    """Inbox rows and emails for `users`, once per (task, user) even if the step is redone."""
    sent = 0
    for user in users:
        # A step is redone only when its earlier try did not commit, so (task, user) is new here;
        # the unique dedupe key guards that rule rather than being looked up.
        dedupe = f"{ctx.task_id}:{user.id}"
        note, push, email = notification_for(user, case, kind, title, body, ctx.now, dedupe)
        ctx.session.add(note)
        ctx.emit("notification.created", push, f"push:{dedupe}")
        if email:
            ctx.emit("email", email, f"email:{dedupe}")
        sent += 1
    return sent


def task_created(session, task, emit: Callable[..., None]) -> None:
    """What follows a new human task: its case's fields copied onto it, and its people told."""
    with session.no_autoflush:  # the new task row is written once, when complete
        directory = UnitDirectory(session)
        unit = directory.by_code(task.candidate_unit) if task.candidate_unit else None
        if unit is not None and not unit.active:  # the process still names a unit merged since it started
            task.candidate_unit = directory.current(unit).code
    case = _case_of_task(session, task)
    if case is not None:
        copy_case_fields(task, case)
    notify_new_task(session, task, emit, case)


def copy_case_fields(task, case: Case) -> None:
    """Copy onto a task the case fields its list filters and sorts on (set at intake; triage may change
    the category and priority, and then copies them again onto the case's open tasks)."""
    task.case_channel, task.case_category, task.case_title_lower = case.channel, case.category_code, case.title.lower()
    task.case_priority_rank = PRIORITY_RANK.get(case.priority, len(PRIORITY_RANK))
    task.case_place_id, task.case_received_at = case.admin_unit_id, case.created_at


def _case_of_task(session, task) -> Case | None:
    if not task.business_key:
        return None
    for pending in session.new:  # a case opened in this very step (intake) is not written yet
        if isinstance(pending, Case) and pending.code == task.business_key:
            return pending
    # No autoflush: the new task row is then written once, with its case fields, not inserted and updated.
    with session.no_autoflush:
        # A case code ends with its id (PA-2026-000123): the case an operator of this step read
        # already is then found in the session without another query.
        tail = task.business_key.rsplit("-", 1)[-1]
        if tail.isdigit():
            case = session.get(Case, int(tail))
            if case is not None and case.code == task.business_key:
                return case
        return session.scalar(select(Case).where(Case.code == task.business_key))


def notify_new_task(session, task, emit: Callable[..., None], case: Case | None = None) -> int:
    """Inbox rows (and pushes) for the people who may take a new task: its role in its unit.

    Runs inside the step that created the task, so the rows commit with it or not at all.
    """
    if not task.candidate_role or not task.candidate_unit or not task.business_key:
        return 0
    directory = UnitDirectory(session)
    unit = directory.by_code(task.candidate_unit)
    if unit is None:
        return 0
    if case is None:
        case = session.scalar(select(Case).where(Case.code == task.business_key))
    if case is None:
        return 0
    title = t("New task: %(task)s — %(code)s", task=Named(task.title, getattr(task, "title_en", None)), code=case.code)
    body = t("%(title)s. Deadline: %(due)s.", title=case.title, due=_local(task.due_at))
    sent = 0
    for user in directory.holders(task.candidate_role, [unit]):
        dedupe = f"task:{task.id}:{user.id}"
        # By relationship, not only by id: a case opened in this very step (intake) is not written
        # yet, and the relationship makes the unit of work insert it before its inbox rows.
        note, push, _email = notification_for(user, case, "task_created", title, body, task.created_at, dedupe,
                                              task_id=task.id)
        session.add(note)
        emit("notification.created", push, f"push:{dedupe}")
        sent += 1
    return sent


def _local(moment: datetime | None) -> str:
    """A moment as people in the province read it (the same in both languages), or — for none."""
    return moment.astimezone(_LOCAL).strftime("%H:%M %d/%m/%Y") if moment else "—"


def _named(unit: AdminUnit | None) -> Named | str:
    return Named(unit.name, unit.name_en) if unit is not None else "—"


def _param(name: str, vi: str, en: str, required: bool = True) -> Param:
    """A declared parameter with what it means in Vietnamese and English (the modeler's panel shows it)."""
    return Param(name, required, Named(vi, en))


def register_operators(registry: OperatorRegistry) -> OperatorRegistry:
    """Register the case operators in `registry` (returns it, for chaining)."""

    @registry.register("assign",
                       _param("unit", "Mã đơn vị xử lý (thường từ bảng định tuyến).",
                              "The responsible unit's code (from the routing table, usually)."),
                       _param("sla_hours", "Số giờ làm việc đến hạn xử lý.", "Working hours until the deadline."),
                       _param("reminder_hours", "Nhắc việc bao nhiêu giờ trước hạn (tối đa nửa thời hạn).",
                              "How many hours before the deadline to remind (at most half of it)."),
                       description=Named("Giao phản ánh cho đơn vị xử lý, đặt thời hạn và thời điểm nhắc việc.",
                                         "Assign the report to the responsible unit, with its deadline and reminder time."))
    def assign(ctx: OperatorContext, unit: Any, sla_hours: Any, reminder_hours: Any) -> dict[str, Any]:
        case = _case(ctx)
        target = _unit(ctx, unit, chosen=bool(unit) and str(unit) == str(ctx.data.get("override_unit") or ""))
        sla = _hours(sla_hours, "sla_hours")
        remind_before = min(_hours(reminder_hours, "reminder_hours"), sla / 2)
        calendar = working_calendar(ctx.session)  # SLA hours are working hours: nights, weekends, Tết skipped
        due = calendar.add_working_hours(ctx.now, sla)
        case.responsible_unit_id, case.due_at = target.id, due
        case.status, case.escalation_level = "in_progress", 0
        _event(ctx, case, "assigned", True, unit=target.code, unit_name=target.name, due_at=_iso(due))
        return {"unit": target.code, "unit_name": target.name, "due_at": _iso(due),
                "remind_at": _iso(calendar.add_working_hours(ctx.now, sla - remind_before))}

    @registry.register("notify",
                       _param("role", "Vai trò người nhận, ví dụ \"officer\".", "The recipients' role, e.g. \"officer\"."),
                       _param("unit", "Mã đơn vị của người nhận.", "The recipients' unit code."),
                       _param("kind", "\"overdue\" (quá hạn) hoặc \"reminder\" (nhắc hạn).", "\"overdue\" or \"reminder\"."),
                       description=Named("Gửi thông báo (nhắc việc…) cho những người giữ một vai trò trong một đơn vị.",
                                         "Notify (a reminder…) the holders of a role in a unit."))
    def notify(ctx: OperatorContext, role: Any, unit: Any, kind: Any) -> dict[str, Any]:
        case = _case(ctx)
        target = _unit(ctx, unit)
        users = UnitDirectory(ctx.session).holders(str(role), [target])
        due = _local(case.due_at)
        title = (t("Overdue: case %(code)s is not handled yet, deadline %(due)s", code=case.code, due=due)
                 if str(kind) == "overdue" else t("Reminder: case %(code)s is due soon (%(due)s)", code=case.code, due=due))
        sent = _notify_users(ctx, case, users, str(kind), title, case.title)
        _event(ctx, case, str(kind), False, unit=target.code, notified=sent)
        return {"notified": sent}

    @registry.register("notify_leaders",
                       _param("reason", "\"high_priority\", \"escalation_1\" hoặc \"escalation_2\".",
                              "\"high_priority\", \"escalation_1\" or \"escalation_2\"."),
                       _param("up_levels", "Báo thêm bao nhiêu cấp hành chính trên (mặc định 0).",
                              "How many administrative levels above to tell as well (0 by default).", required=False),
                       description=Named("Báo cáo lãnh đạo nơi xảy ra vụ việc (và các cấp trên, nếu cần).",
                                         "Report to the leaders of the place of the case (and the levels above, if asked)."))
    def notify_leaders(ctx: OperatorContext, reason: Any, up_levels: Any = 0) -> dict[str, Any]:
        case = _case(ctx)
        directory = UnitDirectory(ctx.session)
        place = case.admin_unit
        levels = [place, *directory.ancestors(place)[: max(0, int(up_levels or 0))]]
        bodies = [directory.committee_of(u) for u in levels]
        users = directory.holders("leader", list({u.id: u for u in levels + bodies}.values()))
        reasons = {"high_priority": t("High-priority case"), "escalation_1": t("Overdue case"),
                   "escalation_2": t("Overdue case, moved up a level"),
                   "critical_alert": t("Critical alert from a monitoring system"),
                   "traffic_accident": t("Traffic accident seen by a camera")}
        title = t("%(reason)s: %(code)s — %(title)s", reason=reasons.get(str(reason), t("Report")), code=case.code,
                  title=case.title)
        body = t("Place: %(place)s. Responsible unit: %(unit)s.", place=_named(place), unit=_named(case.responsible_unit))
        sent = _notify_users(ctx, case, users, "leader_alert", title, body)
        _event(ctx, case, "leaders_notified", False, reason=str(reason), notified=sent,
               units=[u.code for u in levels])
        return {"notified": sent, "units": [u.code for u in levels]}

    @registry.register("escalate",
                       _param("level", "1: thủ trưởng đơn vị; 2: cấp hành chính trên.",
                              "1: the unit's head; 2: the administrative level above."),
                       _param("hours", "Số giờ làm việc của thời hạn mới.", "Working hours of the new deadline."),
                       description=Named("Chuyển vụ việc quá hạn lên lãnh đạo đơn vị (cấp 1) hoặc cấp hành chính trên (cấp 2).",
                                         "Move an overdue case up to the unit's head (level 1) or the administrative "
                                         "level above (level 2)."))
    def escalate(ctx: OperatorContext, level: Any, hours: Any) -> dict[str, Any]:
        case = _case(ctx)
        try:
            level = int(level)
        except (TypeError, ValueError):
            raise OperatorError(t("level must be 1 or 2, got %(level)s", level=repr(level))) from None
        directory = UnitDirectory(ctx.session)
        current = case.responsible_unit or case.admin_unit
        if level == 1:
            target = current
        elif level == 2:
            target = directory.upper_unit(current, case.category)
        else:
            raise OperatorError(t("level must be 1 or 2, got %(level)s", level=level))
        due = working_calendar(ctx.session).add_working_hours(ctx.now, _hours(hours, "hours"))
        case.escalation_level, case.status, case.due_at = level, "escalated", due
        _event(ctx, case, "escalated", True, level=level, unit=target.code, unit_name=target.name,
               due_at=_iso(due))
        return {"level": level, "unit": target.code, "unit_name": target.name, "due_at": _iso(due)}

    @registry.register("record_resolution",
                       _param("resolution", "Nội dung kết quả xử lý (không được để trống).",
                              "The resolution's text (must not be empty)."),
                       description=Named("Ghi nhận kết quả xử lý vào hồ sơ phản ánh.", "Record the resolution in the case."))
    def record_resolution(ctx: OperatorContext, resolution: Any) -> dict[str, Any]:
        case = _case(ctx)
        text = str(resolution or "").strip()
        if not text:
            raise OperatorError(t("the resolution is empty; the handling form must require it"))
        case.resolution, case.resolved_at, case.status = text, ctx.now, "resolved"
        _event(ctx, case, "resolved", True)
        return {"resolved_at": _iso(ctx.now)}

    @registry.register("return_case",
                       _param("reason", "Lý do trả lại (không được để trống).", "Why the case is returned (must not be empty)."),
                       description=Named("Trả lại phản ánh cho IOC khi không thuộc thẩm quyền của đơn vị, để phân loại "
                                         "và giao lại.", "Send the report back to the IOC when the unit is not "
                                         "competent, to be triaged and assigned again."))
    def return_case(ctx: OperatorContext, reason: Any) -> dict[str, Any]:
        case = _case(ctx)
        text = str(reason or "").strip()
        if not text:
            raise OperatorError(t("the reason for returning is empty; the handling form must require it"))
        returns = ctx.session.scalar(select(func.count()).select_from(CaseEvent)
                                     .where(CaseEvent.case_id == case.id, CaseEvent.kind == "returned")) or 0
        if returns >= MAX_RETURNS:
            # Each round deepens SpiffWorkflow's task tree, as reopening does.
            raise OperatorError(t("case %(code)s has been returned %(count)s times; the IOC must settle by hand which"
                                  " unit handles it (an administrator resolves this incident)",
                                  code=case.code, count=returns))
        ioc = _unit(ctx, ctx.data.get("ioc_unit"))
        unit = case.responsible_unit
        names = [case.reporter.name] if case.reporter else []
        why = redact(text, names)[:2000]
        _event(ctx, case, "returned", False, unit=unit.code if unit else None,
               unit_name=unit.name if unit else None, reason=why)
        case.status, case.due_at = "returned", None
        case.responsible_unit, case.responsible_unit_id = None, None
        users = UnitDirectory(ctx.session).holders("operator", [ioc])
        title = t("Case %(code)s was returned: %(title)s", code=case.code, title=case.title)
        body = t("Returned by: %(unit)s. Reason: %(reason)s", unit=_named(unit), reason=why)
        sent = _notify_users(ctx, case, users, "returned", title, body)
        return {"returned_at": _iso(ctx.now), "unit": unit.code if unit else None, "notified": sent}

    @registry.register("publish",
                       _param("feedback_days", "Số ngày người dân có thể phản hồi.", "Days the citizen may give feedback."),
                       description=Named("Công khai kết quả xử lý (đã ẩn thông tin cá nhân) và mở thời hạn phản hồi.",
                                         "Publish the result (personal details hidden) and open the time for feedback."))
    def publish(ctx: OperatorContext, feedback_days: Any) -> dict[str, Any]:
        case = _case(ctx)
        days = _hours(feedback_days, "feedback_days")
        names = [case.reporter.name] if case.reporter else []
        until = ctx.now + timedelta(days=days)
        unit = case.responsible_unit
        pub = ctx.session.get(Publication, case.id) or Publication(case_id=case.id)
        pub.title = redact(case.title, names)[:255]
        pub.summary = redact(case.description, names)
        pub.resolution = redact(case.resolution or "", names)
        pub.unit_name = unit.name if unit else ""
        pub.published_at, pub.feedback_until, pub.withdrawn_at = ctx.now, until, None
        ctx.session.add(pub)
        case.published_at, case.status = ctx.now, "published"
        _event(ctx, case, "published", True, feedback_until=_iso(until))
        ctx.emit("case.published", {"case_id": case.id, "case_code": case.code}, f"published:{ctx.task_id}")
        return {"published_at": _iso(ctx.now), "feedback_until": _iso(until)}

    @registry.register("reopen",
                       _param("comment", "Ý kiến của người dân (ẩn thông tin cá nhân).",
                              "The citizen's comment (personal details hidden).", required=False),
                       description=Named("Mở lại phản ánh khi người dân báo chưa được giải quyết.",
                                         "Reopen the report when the citizen says it is not resolved."))
    def reopen(ctx: OperatorContext, comment: Any = "") -> dict[str, Any]:
        case = _case(ctx)
        if case.reopen_count >= MAX_REOPENS:
            # Each round deepens SpiffWorkflow's task tree; past ~66 rounds it would stop silently.
            raise OperatorError(t("case %(code)s has been reopened %(count)s times; the IOC must take it over by hand"
                                  " (an administrator resolves this incident)", code=case.code, count=case.reopen_count))
        case.reopen_count += 1
        case.status, case.resolved_at = "reopened", None
        pub = ctx.session.get(Publication, case.id)
        if pub is not None:
            pub.withdrawn_at = ctx.now
        names = [case.reporter.name] if case.reporter else []
        _event(ctx, case, "reopened", True, comment=redact(str(comment or ""), names)[:2000])
        return {"reopen_count": case.reopen_count}

    @registry.register("close",
                       _param("reason", "Lý do đóng, ví dụ \"satisfied\"; \"rejected\" là từ chối.",
                              "Why it closes, e.g. \"satisfied\"; \"rejected\" refuses it."),
                       _param("note", "Lời giải thích người dân đọc.", "The explanation the citizen reads.", required=False),
                       description=Named("Đóng phản ánh; `note`: lời giải thích cho người dân (ví dụ lý do từ chối), "
                                         "đã ẩn thông tin cá nhân.", "Close the report; `note`: the explanation for "
                                         "the citizen (a refusal's reason, say), personal details hidden."))
    def close(ctx: OperatorContext, reason: Any, note: Any = "") -> dict[str, Any]:
        case = _case(ctx)
        case.status = "rejected" if reason == "rejected" else "closed"
        case.closed_at, case.close_reason = ctx.now, str(reason)[:40]
        names = [case.reporter.name] if case.reporter else []
        # The citizen reads it (tracking page, Open311 status_notes): no personal data in it.
        case.close_note = redact(str(note or "").strip(), names)[:2000]
        detail = {"reason": str(reason), **({"note": case.close_note} if case.close_note else {})}
        _event(ctx, case, "closed", True, **detail)
        return {"closed_at": _iso(ctx.now)}

    @registry.register("deadline",
                       _param("hours", "Số giờ làm việc đến hạn.", "Working hours until the deadline."),
                       description=Named("Đặt thời hạn cho bước tiếp theo (ví dụ gọi lại cho người dân): trả về due_at.",
                                         "Set the deadline of the next step (calling the citizen back, say): gives due_at."))
    def deadline(ctx: OperatorContext, hours: Any) -> dict[str, Any]:
        return {"due_at": _iso(working_calendar(ctx.session).add_working_hours(ctx.now, _hours(hours, "hours")))}

    @registry.register("record_callback",
                       _param("reached", "\"yes\" khi gọi được người dân.", "\"yes\" when the citizen was reached."),
                       _param("answer", "\"satisfied\", \"not_resolved\" hoặc \"no_answer\".",
                              "\"satisfied\", \"not_resolved\" or \"no_answer\"."),
                       _param("note", "Ghi chú cuộc gọi.", "A note on the call.", required=False),
                       description=Named("Ghi nhận kết quả gọi lại cho người dân (hotline_call); ý kiến hài lòng hay "
                                         "chưa được xử lý được tính như một đánh giá của người dân.",
                                         "Record the call back to the citizen (hotline_call); a satisfied or not "
                                         "resolved answer counts as the citizen's rating."))
    def record_callback(ctx: OperatorContext, reached: Any, answer: Any, note: Any = "") -> dict[str, Any]:
        from workflows.models import CaseRating  # here, so this hunk leaves the shared import line alone

        case = _case(ctx)
        answer = str(answer)
        if answer not in CALLBACK_ANSWERS:
            raise OperatorError(t("the callback answer must be one of %(choices)s, got %(answer)s",
                                  choices=", ".join(CALLBACK_ANSWERS), answer=repr(answer)))
        names = [case.reporter.name] if case.reporter else []
        text = redact(str(note or "").strip(), names)[:2000]
        if answer != "no_answer":
            # The citizen's word on the phone rates the resolution as a web rating does (source hotline).
            ctx.session.add(CaseRating(case_id=case.id, unit_id=case.responsible_unit_id,
                                       satisfied=answer == "satisfied", comment=text, source="hotline",
                                       created_at=ctx.now))
        _event(ctx, case, "callback", False, reached=str(reached) == "yes", answer=answer, note=text)
        return {"answer": answer}

    @registry.register("case_deadline",
                       _param("hours", "Số giờ làm việc đến hạn.", "Working hours until the deadline."),
                       _param("reminder_hours", "Nhắc việc bao nhiêu giờ trước hạn (tối đa nửa thời hạn).",
                              "How many hours before the deadline to remind (at most half of it)."),
                       description=Named("Đặt thời hạn cho bước đang chờ của phản ánh (ví dụ chờ phân loại), tính theo giờ "
                                         "làm việc như thao tác deadline, và ghi vào hồ sơ: trả về due_at và remind_at.",
                                         "Set the deadline of the case's waiting step (triage, say) in working hours "
                                         "as the deadline operator does, and record it: gives due_at and remind_at."))
    def case_deadline(ctx: OperatorContext, hours: Any, reminder_hours: Any) -> dict[str, Any]:
        # A process started by hand without a case (`ioc start`, case_id 0) gets its deadline all the same.
        case = _case(ctx) if ctx.data.get("case_id") else None
        total = _hours(hours, "hours")
        before = min(_hours(reminder_hours, "reminder_hours"), total / 2)
        # The same working-time count as every other deadline: the `deadline` operator's.
        due = deadline(ctx, total)["due_at"]
        if case is not None:
            case.due_at = datetime.fromisoformat(due)
        return {"due_at": due, "remind_at": deadline(ctx, total - before)["due_at"]}

    @registry.register("classify",
                       _param("priority", "\"low\", \"normal\" hoặc \"high\".", "\"low\", \"normal\" or \"high\"."),
                       _param("category", "Mã lĩnh vực đang dùng.", "An active category's code."),
                       description=Named("Ghi mức độ ưu tiên và lĩnh vực đã chọn khi phân loại vào hồ sơ phản ánh "
                                         "(danh sách, bảng điều hành, số liệu công khai dùng giá trị này).",
                                         "Record the priority and category chosen at triage in the case (lists, the "
                                         "dashboard and public figures use them)."))
    def classify(ctx: OperatorContext, priority: Any, category: Any) -> dict[str, Any]:
        case = _case(ctx)
        wanted = {"priority": str(priority or case.priority), "category": str(category or case.category_code)}
        if wanted["priority"] not in PRIORITY_RANK:
            raise OperatorError(t("priority must be one of %(choices)s, got %(value)s",
                                  choices=", ".join(PRIORITY_RANK), value=repr(priority)))
        from engine.models import HumanTask  # here, so this hunk leaves the shared import lines alone
        from workflows.form_lists import is_category

        if not is_category(ctx.session, wanted["category"]):
            raise OperatorError(t("category %(value)s does not exist or is retired; choose one of the list",
                                  value=repr(category)))
        before = {"priority": case.priority, "category": case.category_code}
        changes = {name: [before[name], value] for name, value in wanted.items() if before[name] != value}
        if changes:
            case.priority, case.category_code = wanted["priority"], wanted["category"]
            ctx.session.add(CaseEvent(case_id=case.id, at=ctx.now, kind="reclassified", actor=ctx.actor,
                                      public=False, detail=changes))
            case.updated_at = ctx.now
            # The open tasks' list filters and sorts read copies of these fields.
            for task in ctx.session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                                    HumanTask.state == "open")):
                copy_case_fields(task, case)
        return {"changed": sorted(changes)}

    from workflows.form_lists import register_lists  # the live lists of choice@units / choice@categories fields

    register_lists(registry)

    @registry.register("request_review",
                       _param("resolution", "Kết quả xử lý của cán bộ.", "The officer's resolution."),
                       _param("hours", "Số giờ làm việc để duyệt.", "Working hours for the review."),
                       description=Named("Gửi kết quả xử lý của cán bộ cho thủ trưởng đơn vị duyệt trước khi công khai "
                                         "(ghi vào lịch sử, không công khai): trả về due_at, thời hạn duyệt.",
                                         "Send the officer's result to the unit's head for review before it is "
                                         "published (in the history, not public): gives due_at, the review's deadline."))
    def request_review(ctx: OperatorContext, resolution: Any, hours: Any) -> dict[str, Any]:
        case = _case(ctx)
        text = str(resolution or "").strip()
        if not text:
            raise OperatorError(t("the resolution is empty; the handling form must require it"))
        due = deadline(ctx, hours)["due_at"]
        _event(ctx, case, "review_requested", False, resolution=text[:10_000], due_at=due)
        return {"due_at": due}

    @registry.register("record_review",
                       _param("decision", "\"approve\" hoặc \"refuse\".", "\"approve\" or \"refuse\"."),
                       _param("note", "Nhận xét (bắt buộc khi không duyệt).",
                              "The note (required when refusing).", required=False),
                       description=Named("Ghi nhận ý kiến của thủ trưởng về kết quả xử lý (approve: duyệt, refuse: không "
                                         "duyệt, kèm nhận xét) vào lịch sử, không công khai.",
                                         "Record the head's review of the result (approve, or refuse with a note) in "
                                         "the history, not public."))
    def record_review(ctx: OperatorContext, decision: Any, note: Any = "") -> dict[str, Any]:
        case = _case(ctx)
        decision = str(decision)
        if decision not in REVIEW_DECISIONS:
            raise OperatorError(t("the review decision must be one of %(choices)s, got %(decision)s",
                                  choices=", ".join(REVIEW_DECISIONS), decision=repr(decision)))
        text = str(note or "").strip()[:2000]
        if decision == "refuse" and not text:
            raise OperatorError(t("a refused result needs the head's note; the review form must require it"))
        # Who decided: the review task's completer (the officer's task page names them beside the note).
        ctx.session.add(CaseEvent(case_id=case.id, at=ctx.now, kind=REVIEW_DECISIONS[decision],
                                  actor=ctx.actor, public=False, detail={"note": text}))
        case.updated_at = ctx.now
        return {"decision": decision}

    return registry


# What the citizen said when the operator called back (the callback task's choices in hotline_call).
CALLBACK_ANSWERS = ("satisfied", "not_resolved", "no_answer")

# The unit head's decisions on an officer's result (the review task's choices in field_report and hotline_call).
REVIEW_DECISIONS = {"approve": "review_approved", "refuse": "review_refused"}  # decision → history event
