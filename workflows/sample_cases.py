"""The demo's cases, so a new demo is not empty.

A dozen earlier cases (STORIES) are driven through the real processes and services over the last three
weeks with a FrozenClock that moves from step to step, the real timer sweep firing every timer at its
time (reminders, escalations, the close after a silent feedback window): published resolutions with
before/after photos, ratings, a reopening, late cases. Then the open samples of today (SAMPLES and two
hotline calls). The clock stops a few minutes before the real now, so every timer still waiting is due
after it and the running server's sweep takes over from there.
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import FrozenClock
from engine.models import HumanTask, ProcessInstance
from workflows.access import AccessService
from workflows.calendar.store import working_calendar
from workflows.case_service import IntakeRequest, key_digest
from workflows.hotline_service import Call, HotlineService
from workflows.media import Upload
from workflows.models import Case, CaseFollower, User
from workflows.publication_service import PublicationService
from workflows.runtime import Services

SAMPLES = [
    # (category, unit, title, description, lat, lon, triage decision or None)
    ("street_lighting", "P-BUON-MA-THUOT", "Đèn đường hỏng trên đường Lê Duẩn",
     "Ba cột đèn liên tiếp không sáng từ tối qua, đoạn gần ngã tư Lê Duẩn – Y Jút.", 12.6797, 108.0442, "accept"),
    ("sanitation", "P-TAN-LAP", "Rác thải tồn đọng tại chợ Tân Lập",
     "Rác không được thu gom 3 ngày, bốc mùi.", 12.6928, 108.0531, "accept"),
    ("traffic", "P-TUY-HOA", "Ổ gà lớn trên đường Trần Hưng Đạo",
     "Ổ gà sâu khoảng 20 cm giữa làn xe máy, đã có người ngã.", 13.0955, 109.3209, "accept"),
    ("water_drainage", "P-EA-KAO", "Cống thoát nước bị tắc gây ngập",
     "Mưa lớn là nước tràn vào nhà dân hai bên đường.", 12.6390, 108.0780, None),
    ("public_security", "X-HOA-PHU", "Tụ tập gây mất trật tự ban đêm",
     "Nhóm thanh niên tụ tập đua xe sau 23 giờ.", 12.6133, 107.9936, None),
]
# Two calls to the 1022 hotline from one number, so that typing 0905 123 456 on the console shows a history:
# (call kind, category, unit, what the caller said)
HOTLINE_SAMPLES = [
    ("information", "public_services", "P-TAN-AN", "Hỏi giờ làm việc của bộ phận một cửa phường Tân An."),
    ("report", "street_lighting", "P-TAN-AN", "Cả tuyến đường Hùng Vương đoạn qua phường Tân An mất đèn từ tối qua."),
]
HOTLINE_CALLER = ("Lê Văn Hùng (demo)", "0905 123 456")

# The private tracking link `ioc demo` prints, so a visitor can rate a resolution. Demo data: like the demo
# password, this key is published (only its sha256 is stored, as for every follower).
DEMO_FOLLOW_KEY = "demo-danh-gia-ket-qua-1022"
DEMO_DAYS = 20  # the stories start this many days before the end of the seeding
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Story:
    """An earlier demo case: what was reported, and its steps (day from the start, local hour, action, argument).

    Deadlines count working hours (workflows/calendar), so a step that must fall after a deadline or before
    the end says so in working hours, whatever the weekday the demo starts on: day "due" is that many working
    hours after the deadline its triage set; day "end", that many working hours before the end.

    Actions: report; triage (priority or None); resolve ((actor, resolution text, with an "after" photo));
    review ((unit head, "approve" or "refuse", note): a high-priority result waits for it);
    rate ((satisfied, comment), with the reporter's private key); callback ((operator, answer, note)).
    """

    category: str
    unit: str
    title: str
    description: str
    lat: float
    lon: float
    reporter: tuple[str, str]
    steps: tuple[tuple[int | str, float, str, Any], ...]
    answers: dict[str, Any] = field(default_factory=dict)
    photo: bool = True  # the citizen's "before" photo
    hotline: bool = False  # taken on the 1022 console (HotlineService) instead of reported on the portal
    priority: str | None = None
    follow_key: str | None = None


STORIES = [
    Story("traffic", "P-BUON-MA-THUOT", "Ổ gà sâu trước cổng trường THCS Phan Chu Trinh",
          "Ổ gà rộng khoảng 1 m, sâu 15 cm ngay trước cổng trường trên đường Phan Chu Trinh; giờ tan học xe máy "
          "phải lách qua rất nguy hiểm.", 12.6712, 108.0478, ("Nguyễn Thị Thu Hà (demo)", "0900 000 101"),
          ((1, 8.5, "report", None), (1, 9, "triage", None),
           (2, 15, "resolve", ("cb.buonmathuot", "Đội duy tu đã vá ổ gà bằng bê tông nhựa nóng, lu lèn phẳng mặt "
                               "đường và cắm biển cảnh báo trong 24 giờ chờ nhựa khô.", True)),
           (3, 19, "rate", (True, "Đường đã phẳng, các cháu đi học an toàn hơn. Cảm ơn phường!"))),
          answers={"hazard": "pothole", "blocks_traffic": False}),
    Story("sanitation", "P-TAN-LAP", "Bãi rác tự phát cuối hẻm 42 Y Wang",
          "Người dân đổ rác, xà bần ở khoảng đất trống cuối hẻm gần một tuần nay, bốc mùi hôi, nhiều ruồi muỗi.",
          12.6741, 108.0688, ("Trần Văn Bình (demo)", "0900 000 102"),
          ((2, 7, "report", None), (2, 8.5, "triage", None),
           (4, 10, "resolve", ("cb.tanlap", "Đã phối hợp đơn vị vệ sinh môi trường thu dọn khoảng 3 m³ rác, phun "
                               "khử khuẩn và đặt biển cấm đổ rác; tổ dân phố theo dõi, nhắc nhở.", True))),
          answers={"waste_kind": "household"}),
    Story("water_drainage", "P-BUON-MA-THUOT", "Nắp hố ga bị vỡ trên đường Phan Bội Châu",
          "Nắp hố ga trước số 86 Phan Bội Châu bị vỡ một nửa, miệng hố hở sát lề đường, ban đêm rất dễ sụp chân.",
          12.6655, 108.0362, ("Lê Thị Mai (demo)", "0900 000 103"),
          ((0, 16, "report", None), (0, 16.5, "triage", None),  # not handled in 72 h: escalated to the head
           ("due", 4, "resolve", ("tp.buonmathuot", "Đã thay nắp hố ga bằng nắp gang chịu lực mới và gia cố miệng "
                                  "hố. Xin lỗi người dân vì xử lý chậm so với thời hạn.", True)),
           ("due", 12, "rate", (True, "Nắp mới chắc chắn, nhưng phải chờ quá thời hạn mới được thay."))),
          answers={"flooding": False}),
    Story("trees_parks", "P-EA-KAO", "Cây xà cừ nghiêng ra lòng đường Y Moan",
          "Cây xà cừ lớn trước chợ Ea Kao nghiêng hẳn ra đường sau trận gió tối qua, rễ bị bật một phần.",
          12.6338, 108.0771, ("H'Linh Niê (demo)", "0900 000 104"),
          ((5, 9, "report", None), (5, 10, "triage", None),
           (6, 14, "resolve", ("cb.eakao", "Đã cắt tỉa tán, hạ các cành lớn nghiêng ra lòng đường và chằng néo "
                               "thân cây; sẽ đánh giá lại để thay cây mới vào mùa mưa.", False))),
          answers={"fallen": False}),
    Story("street_lighting", "P-TUY-HOA", "Đèn công viên Nguyễn Tất Thành không sáng",
          "Cả khu vực sân chơi trong công viên tối om từ ba hôm nay, buổi tối trẻ em và người tập thể dục rất bất an.",
          13.0921, 109.3138, ("Đỗ Minh Quân (demo)", "0900 000 105"),
          ((7, 19, "report", None), (8, 8, "triage", None),
           (8, 16, "resolve", ("cb.tuyhoa", "Đã thay 6 bóng đèn LED và sửa tủ điều khiển chiếu sáng của công viên.",
                               True)),
           (9, 20, "rate", (True, "Công viên sáng trở lại, buổi tối đi bộ yên tâm hơn."))),
          answers={"lights_out": 6, "extent": "several"}, photo=False),
    Story("street_lighting", "X-HOA-PHU", "Đường liên thôn ở xã Hòa Phú mất đèn",
          "Dãy đèn trên tuyến đường từ UBND xã đến thôn 7 không sáng gần một tuần, đoạn dài khoảng 500 m.",
          12.6072, 107.9891, ("Phạm Thị Hồng (demo)", "0900 000 106"),
          # A rural commune: Sở Xây dựng; high priority (24 working hours), late, escalated.
          ((1, 9, "report", None), (1, 10, "triage", "high"),
           ("due", 3, "resolve", ("tp.sxd", "Sở Xây dựng đã thay đoạn cáp ngầm bị đứt và 8 bộ đèn; tuyến đường đã "
                                  "sáng lại.", True))),
          answers={"lights_out": 8, "extent": "street"}),
    Story("pollution", "P-TAN-AN", "Khói đốt rác thải nhựa gây ô nhiễm khu dân cư",
          "Chiều tối nào cơ sở thu mua phế liệu trên đường Nguyễn Văn Cừ cũng đốt rác nhựa, khói đen và mùi khét "
          "bay vào nhà dân.", 12.7058, 108.0556, ("Bùi Quốc Khánh (demo)", "0900 000 107"),
          # High priority: the department's head reviews the result before it is published; refuses it once.
          ((10, 18, "report", None), (11, 8, "triage", "high"),
           (11, 14, "resolve", ("cb.snnmt", "Đã nhắc nhở cơ sở không đốt rác nhựa.", False)),
           (11, 15, "review", ("tp.snnmt", "refuse", "Chưa đủ: cần kiểm tra tại chỗ, lập biên bản và nêu hình thức "
                                                     "xử lý đối với cơ sở.")),
           (11, 16, "resolve", ("cb.snnmt", "Đoàn kiểm tra của Sở Nông nghiệp và Môi trường đã lập biên bản, yêu cầu "
                                "cơ sở chấm dứt việc đốt rác nhựa và chuyển hồ sơ để xử phạt.", True)),
           (11, 17, "review", ("tp.snnmt", "approve", "")),
           (12, 9, "rate", (True, "Từ hôm qua không còn khói nữa, cảm ơn."))), photo=False),
    Story("water_drainage", "X-KRONG-PAC", "Mương thoát nước bị bồi lấp ở thôn 3",
          "Mương dọc đường liên xã bị đất cát bồi lấp, mưa xuống là nước tràn qua mặt đường vào vườn cà phê.",
          12.7166, 108.3034, ("Y Sơn Mlô (demo)", "0900 000 108"),
          ((12, 8, "report", None), (12, 9, "triage", None),
           (14, 15, "resolve", ("cb.krongpac", "Đã nạo vét mương thoát nước đoạn qua thôn 3.", False)),
           (15, 10, "rate", (False, "Mới nạo vét một đoạn ngắn, đoạn gần trường tiểu học vẫn còn bùn đất.")),
           (16, 16, "resolve", ("cb.krongpac", "Đã nạo vét thêm 150 m mương đoạn gần trường tiểu học và khơi thông "
                                "cửa xả ra suối.", True))),
          answers={"flooding": True, "depth_cm": 20}),
    Story("urban_order", "P-BUON-HO", "Lấn chiếm vỉa hè bán hàng trên đường Hùng Vương",
          "Các hộ kinh doanh bày hàng kín vỉa hè đoạn gần chợ Buôn Hồ, người đi bộ phải xuống lòng đường.",
          12.9164, 108.2693, ("Võ Văn Lộc (demo)", "0900 000 109"),
          ((14, 8, "report", None), (14, 9, "triage", None),
           (15, 16, "resolve", ("cb.buonho", "Tổ trật tự đô thị phường đã yêu cầu 5 hộ kinh doanh dọn hàng hóa khỏi "
                                "vỉa hè và ký cam kết; phường kiểm tra lại hằng tuần.", True))),
          follow_key=DEMO_FOLLOW_KEY),
    Story("urban_infrastructure", "P-THANH-NHAT", "Vỉa hè sụt lún trước chợ Thành Nhất",
          "Một đoạn vỉa hè dài khoảng 6 m bị sụt, gạch vỡ bong lên, người già đi chợ đã bị vấp ngã.",
          12.6833, 108.0189, ("Hoàng Thị Lan (demo)", "0900 000 110"),
          ((16, 10, "report", None), (16, 11, "triage", None),
           (17, 15, "resolve", ("cb.thanhnhat", "Đã lát lại 12 m² vỉa hè bằng gạch terrazzo, gia cố nền bằng đá dăm.",
                                True))), photo=False),
    Story("urban_order", "P-TAN-LAP", "Quán nhậu lấn chiếm lòng đường Y Wang",
          "Tối nào quán cũng kê bàn ghế tràn xuống lòng đường, xe cộ phải đi vòng, ồn ào đến khuya.",
          12.6752, 108.0651, ("Đặng Thị Yến (demo)", "0900 000 111"),
          # Counted back from the end in working hours: past its deadline (72), escalated to the head, whose
          # own deadline (24 more) is still ahead, whatever the day and hour of the set-up.
          (("end", 85, "report", None), ("end", 84, "triage", None))),
    Story("trees_parks", "P-BUON-MA-THUOT", "Cây đổ chắn ngang đường Lê Thánh Tông",
          "Sau cơn mưa lớn đêm qua một cây sao đổ chắn ngang đường Lê Thánh Tông, xe không qua được.",
          12.6688, 108.0421, ("Phan Văn Tâm (demo)", "0900 000 112"),
          ((17, 7, "report", None),
           (17, 10, "resolve", ("cb.buonmathuot", "Đội cây xanh đã cưa, dọn thân cây đổ và thông đường lúc 9 giờ 30; "
                                "cắt tỉa các cây còn lại trên đoạn đường.", True)),
           (17, 11, "review", ("tp.buonmathuot", "approve", "")),
           (17, 14, "callback", ("dtv2", "satisfied", "Người dân cảm ơn, đường đã thông."))),
          answers={"fallen": True}, photo=False, hotline=True, priority="high"),
]


def create_sample_cases(services: Services, sweep: Callable[[], Any], until: datetime) -> int:
    """Create the demo's cases when the database has none yet; how many were made.

    `services` run on a FrozenClock that this moves up to `until` (a few minutes before the real now);
    `sweep` runs the real timer sweep once at that clock's time.
    """
    session = services.session
    if session.scalar(select(func.count()).select_from(Case)):
        return 0
    clock = services.cases.clock
    if not isinstance(clock, FrozenClock):
        raise TypeError("the demo's history needs services on a FrozenClock")
    start = (until.astimezone(LOCAL) - timedelta(days=DEMO_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    clock.set(start)
    hotline = services.definitions.latest("hotline_call", missing_ok=True) is not None
    made = _stories(services, sweep, clock, start, until) if hotline else 0
    # Today's open cases, reported in the last hours.
    for index, (category, unit, title, description, lat, lon, decision) in enumerate(SAMPLES):
        _move(services, sweep, clock, until - timedelta(hours=5 - index / 2))
        case, created = services.cases.intake(IntakeRequest(
            channel="field_report", category=category, admin_unit=unit, title=title, description=description,
            lat=lat, lon=lon, reporter_name="Người dân (demo)", reporter_phone="0900000000",
            idempotency_key=f"demo-sample-{index}"))
        made += int(created)
        if decision:
            clock.advance(minutes=10)
            services.cases.complete_task(_open_task(services, case.code).id, {"decision": decision}, actor="dtv1")
    if hotline:  # only field_report deployed otherwise (ioc demo deploys the whole bpmn folder first)
        for index, (kind, category, unit, said) in enumerate(HOTLINE_SAMPLES):
            _move(services, sweep, clock, until - timedelta(hours=2 - index))
            _case, created = services.cases.intake(IntakeRequest(
                channel="hotline", source="hotline", category=category, admin_unit=unit, title=said.rstrip("."),
                description=said, reporter_name=HOTLINE_CALLER[0], reporter_phone=HOTLINE_CALLER[1],
                idempotency_key=f"demo-hotline-{index}", process_data={"call_kind": kind}))
            made += int(created)
    _move(services, sweep, clock, until)
    return made


def rating_link_code(session: Session) -> str | None:
    """The code of the case the printed private link (DEMO_FOLLOW_KEY) follows, if the demo made it."""
    return session.scalar(select(Case.code).join(CaseFollower, CaseFollower.case_id == Case.id)
                                   .where(CaseFollower.key_sha256 == key_digest(DEMO_FOLLOW_KEY)))


def _stories(services: Services, sweep: Callable[[], Any], clock: FrozenClock, start: datetime, end: datetime) -> int:
    """Play every story's steps in the order of time (the clock only moves forward)."""
    calendar = working_calendar(services.session)

    def moment_of(day: int | str, hour: float) -> datetime:
        if day == "end":
            return calendar.subtract_working_hours(end, hour)
        return start + timedelta(days=day, hours=hour)

    steps = [(moment_of(day, hour), index, n, action, arg) for index, story in enumerate(STORIES)
             for n, (day, hour, action, arg) in enumerate(story.steps) if day != "due"]
    heapq.heapify(steps)
    codes: dict[int, str] = {}
    keys: dict[int, str | None] = {}
    operator = AccessService(services.session).actor(
        services.session.scalar(select(User.id).where(User.username == "dtv1")))
    rating = PublicationService(services.session, clock, cases=services.cases)
    while steps:
        moment, index, _n, action, arg = heapq.heappop(steps)
        _move(services, sweep, clock, moment)
        story = STORIES[index]
        if action == "report":
            files = (Upload("truoc-xu-ly.jpg", "image/jpeg", demo_photo(index, after=False)),) if story.photo else ()
            if story.hotline:
                receipt = HotlineService(services.session, services.cases, clock).take_call(operator, Call(
                    phone=story.reporter[1], caller_name=story.reporter[0], category=story.category,
                    place=story.unit, description=story.description, title=story.title, lat=story.lat,
                    lon=story.lon, answers=story.answers, priority=story.priority, call_id=f"demo-story-{index}"))
            else:
                receipt = services.cases.intake_receipt(IntakeRequest(
                    channel="field_report", source="portal", category=story.category, admin_unit=story.unit,
                    title=story.title, description=story.description, lat=story.lat, lon=story.lon,
                    reporter_name=story.reporter[0], reporter_phone=story.reporter[1], answers=story.answers,
                    idempotency_key=f"demo-story-{index}", follow_key=story.follow_key, files=files))
            codes[index], keys[index] = receipt.case.code, receipt.follow_key
        elif action == "triage":
            data = {"decision": "accept", **({"priority": arg} if arg else {})}
            services.cases.complete_task(_open_task(services, codes[index]).id, data, actor="dtv1")
            due = services.session.scalar(select(Case.due_at).where(Case.code == codes[index]))
            for n, (day, hour, later, later_arg) in enumerate(story.steps):
                if day == "due":  # after the deadline the triage set, in working hours
                    heapq.heappush(steps, (calendar.add_working_hours(due, hour), index, n, later, later_arg))
        elif action == "resolve":
            actor, text, photo = arg
            if photo:
                services.cases.add_attachment(codes[index], "sau-xu-ly.jpg", "image/jpeg",
                                              demo_photo(index, after=True), uploaded_by=actor, stage="resolution")
            task = _open_task(services, codes[index])
            # The officer's handling task asks whether it is resolved or returned; the escalated ones only resolve.
            outcome = {"outcome": "resolved"} if task.element_id == "handle" else {}
            services.cases.complete_task(task.id, {**outcome, "resolution": text}, actor=actor)
        elif action == "review":  # the unit head's review of a high-priority result
            actor, decision, note = arg
            services.cases.complete_task(_open_task(services, codes[index]).id,
                                         {"review_decision": decision, "review_note": note}, actor=actor)
        elif action == "rate":
            satisfied, comment = arg
            rating.rate(codes[index], satisfied, comment, key=keys[index] or "")
        elif action == "callback":
            actor, answer, note = arg
            services.cases.complete_task(_open_task(services, codes[index]).id, {
                "reached": "yes", "callback_answer": answer, "callback_note": note}, actor=actor)
    return len(codes)


def _move(services: Services, sweep: Callable[[], Any], clock: FrozenClock, moment: datetime) -> None:
    """Move the clock to `moment`, running the sweep just after each timer falls due on the way (as the
    server's sweep would), so reminders, escalations and closes happen at their own time."""
    session = services.session
    for _ in range(500):  # a bound: a timer that cannot fire is left to the server
        due = session.scalar(select(func.min(ProcessInstance.next_timer_at)).where(
            ProcessInstance.status.in_(("running", "error")), ProcessInstance.next_timer_at < moment,
            ProcessInstance.next_timer_at > clock.now() - timedelta(seconds=1)))
        session.rollback()  # SQLite: a read transaction would hold the lock the sweep writes under
        if due is None:
            break
        clock.set(due + timedelta(seconds=1))
        sweep()
    clock.set(max(clock.now(), moment))


def _open_task(services: Services, code: str) -> HumanTask:
    """The one open task of a case (each step of a story expects exactly one)."""
    tasks = services.session.scalars(select(HumanTask).where(HumanTask.business_key == code,
                                                             HumanTask.state == "open")).all()
    if len(tasks) != 1:
        raise RuntimeError(f"demo case {code}: expected one open task, found {[t.element_id for t in tasks]}")
    return tasks[0]


def demo_photo(seed: int, after: bool) -> bytes:
    """A plain illustrative JPEG (a gradient, a few shapes, the caption "Ảnh minh họa (demo)"): no real photo."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    width, height = 640, 420
    sky = ((90 + seed * 37) % 160 + 60, (140 + seed * 53) % 120 + 100, 200 + seed * 7 % 55)
    picture = ImageOps.colorize(Image.linear_gradient("L").resize((width, height)), sky, (235, 232, 220))
    draw = ImageDraw.Draw(picture)
    for n in range(4):  # houses along the street
        x = 30 + n * 150 + seed * 11 % 40
        draw.rectangle((x, 150 - n % 2 * 30, x + 110, 260), fill=(200 - n * 25, 170 + n * 15, 140 + seed * 9 % 80))
    draw.polygon([(0, height), (width, height), (width * 0.62, 250), (width * 0.38, 250)], fill=(96, 96, 100))
    mark = (60, 170, 90) if after else (205, 70, 50)  # after: a green tick; before: a red warning ring
    if after:
        draw.line([(280, 330), (310, 360), (370, 290)], fill=mark, width=14)
    else:
        draw.ellipse((270, 300, 370, 360), outline=mark, width=10)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 24)
    except OSError:  # no DejaVu on this machine: Pillow's own font
        font = ImageFont.load_default(24)
    # Centred, so the square thumbnail (the middle of the picture) keeps them.
    for top, words in ((0, "Ảnh minh họa (demo)"), (height - 40, "Sau khi xử lý" if after else "Trước khi xử lý")):
        draw.rectangle((0, top, width, top + 40), fill=(20, 30, 45))
        draw.text((width / 2, top + 20), words, fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()
