"""No public page, API answer or published photo carries the reporter's personal data.

Cases come in with a known reporter (name, phone, email) whose description repeats a name, a phone,
an email and a 12-digit citizen ID, with a photo carrying EXIF GPS; they are resolved with an "after"
photo (EXIF GPS too), published and rated, one of them reopened. Then every public GET route (the
home, portal, public and open311 blueprints, read from the app's url_map with the codes, attachment
ids, formats and tokens filled in), as an anonymous visitor, in JSON and XML, and every photo and
thumbnail they link to, is searched for each personal value in several spellings; each image served
must carry no EXIF at all.

The last tests break the publication on purpose (the original photo served, the raw description
published) and check that the search finds it: the guard itself is guarded.
"""

from __future__ import annotations

import html
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from engine.clock import FrozenClock
from engine.models import HumanTask
from tests.media_samples import jpeg_with_gps
from tests.workspace import make_workspace_app
from webapp.extensions import db
from workflows.case_service import CaseService, IntakeRequest
from workflows.media import Upload
from workflows.models import Attachment, Case, Category, Publication
from workflows.publication_service import PublicationService

NAME, PHONE, EMAIL = "Nguyễn Văn An", "0912 345 678", "an.nguyenvan@example.vn"
OTHER_NAME, OTHER_PHONE, OTHER_EMAIL, CITIZEN_ID = "Trần Thị Bích", "0987.654.321", "bich.tt@gmail.com", "079123456789"
DESCRIPTION = (f"Ổ gà sâu trước nhà tôi. Tôi là {NAME}, gọi {PHONE} hoặc {EMAIL}. Hàng xóm là bà {OTHER_NAME} "
               f"({OTHER_PHONE}, {OTHER_EMAIL}) cũng thấy. CCCD của tôi: {CITIZEN_ID}.")
RESOLUTION = f"Đã vá ổ gà ngày 12/3. Đã gọi lại cho anh {NAME} theo số 0912345678 để báo kết quả."
COMMENT = f"Cảm ơn, {NAME} ({PHONE}) rất hài lòng. Email {EMAIL}."
BLUEPRINTS = ("home", "portal", "public", "open311")


def spellings() -> dict[str, list[str]]:
    """Each personal value and the other ways a page could write it."""
    def plain(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").replace(
            "đ", "d").replace("Đ", "D")
    out: dict[str, list[str]] = {}
    for name in (NAME, OTHER_NAME):
        out[name] = [name, name.lower(), name.upper(), plain(name), plain(name).lower(), name.replace(" ", "")]
    for phone in (PHONE, OTHER_PHONE):
        digits = re.sub(r"\D", "", phone)
        out[phone] = [phone, digits, "+84" + digits[1:], "84" + digits[1:], digits[1:],
                      f"{digits[:4]} {digits[4:7]} {digits[7:]}", f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"]
    for email in (EMAIL, OTHER_EMAIL):
        out[email] = [email, email.lower(), email.split("@")[0]]
    out[CITIZEN_ID] = [CITIZEN_ID, f"{CITIZEN_ID[:4]} {CITIZEN_ID[4:8]} {CITIZEN_ID[8:]}"]
    return out


def readable(body: bytes, content_type: str) -> str:
    """A response's text as a reader sees it: JSON unescaped, HTML/XML entities decoded, one Unicode form."""
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            text = json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    return unicodedata.normalize("NFC", html.unescape(text))


def leaks(text: str) -> list[str]:
    """The personal values found in `text` (in any of their spellings)."""
    lowered = text.lower()
    squeezed = re.sub(r"[\s.\-]", "", lowered)
    found = []
    for value, forms in spellings().items():
        for form in forms:
            form_lower = form.lower()
            if form_lower in lowered or (any(c.isdigit() for c in form) and re.sub(r"[\s.\-+]", "", form_lower)
                                         in squeezed):
                found.append(f"{value} (as {form!r})")
                break
    return found


def image_problems(body: bytes) -> list[str]:
    """What an image served to the public must not carry: any EXIF (GPS above all), a comment, the owner's name."""
    problems = []
    picture = Image.open(io.BytesIO(body))
    exif = picture.getexif()
    if len(exif):
        problems.append(f"EXIF tags {sorted(exif)}")
    if exif.get_ifd(0x8825):
        problems.append("a GPS IFD")
    if picture.info.get("exif"):
        problems.append("an EXIF block")
    if picture.info.get("comment"):
        problems.append("a comment")
    if b"Nguyen Van An" in body or b"Phone of" in body:
        problems.append("the owner's name in the bytes")
    return problems


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Four reported cases with photos: published, rated and closed; published; not yet triaged; reopened."""
    folder = tmp_path_factory.mktemp("privacy")
    clock = FrozenClock()
    app = make_workspace_app(f"sqlite:///{folder / 'privacy.sqlite3'}", clock, FILES_DIR=str(folder / "files"))
    codes, keys = [], []
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        for n in range(4):
            receipt = services.cases.intake_receipt(IntakeRequest(
                channel="field_report", category="traffic", admin_unit="P-BUON-MA-THUOT",
                title=f"Ổ gà trước nhà {NAME} ({n})", description=DESCRIPTION, lat=12.6801, lon=108.0409,
                address=f"12 Lê Duẩn, nhà {NAME}", reporter_name=NAME, reporter_phone=PHONE, reporter_email=EMAIL,
                source="portal", files=(Upload(f"IMG_{NAME}.jpg", "image/jpeg", jpeg_with_gps()),)))
            code = receipt.case.code
            codes.append(code)
            keys.append(receipt.follow_key)
            if n == 2:
                continue  # stays at triage: a case that is not published yet
            task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
            services.cases.complete_task(task.id, {"decision": "accept"}, actor="dtv1")
            services.cases.add_attachment(code, f"sau_{NAME}.jpg", "image/jpeg", jpeg_with_gps(color=(40, 160, 60)),
                                          uploaded_by="cb.buonmathuot", stage="resolution")
            task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
            services.cases.complete_task(task.id, {"outcome": "resolved", "resolution": RESOLUTION},
                                         actor="cb.buonmathuot")
        rating = PublicationService(db.session, clock, cases=services.cases)
        rating.rate(codes[0], True, COMMENT, key=keys[0])  # closed, still public, with a comment
        rating.rate(codes[3], False, COMMENT, key=keys[3])  # reopened: withdrawn, its tracking page tells
        tokens = [t for t in db.session.scalars(select(Case.request_token).where(Case.request_token.is_not(None)))]
        categories = list(db.session.scalars(select(Category.code)))
        attachments = list(db.session.scalars(select(Attachment.id)))
    yield app, codes, keys, tokens, categories, attachments
    with app.app_context():
        db.engine.dispose()


def public_urls(app, codes, tokens, categories, attachments) -> list[str]:
    """Every GET route of the public blueprints with its arguments filled in every way that makes sense."""
    values = {"code": codes, "service_request_id": codes, "token": tokens or ["no-token"],
              "service_code": categories[:3], "fmt": ["json", "xml"], "format": ["json", "xml"],
              "attachment_id": attachments}
    urls: list[str] = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint.split(".")[0] not in BLUEPRINTS:
                continue
            combos: list[dict] = [{}]
            for argument in sorted(rule.arguments):
                combos = [{**c, argument: v} for c in combos for v in values.get(argument, codes)]
            for combo in combos:
                try:
                    url = rule.build(combo, append_unknown=False)[1]
                except Exception:  # noqa: BLE001 - a converter that refuses a value: not a route for it
                    continue
                urls.append(url)
                if rule.endpoint == "public.media":
                    urls.append(url + "?size=thumb")
    extra = [f"/track?code={codes[0]}", "/resolutions/?category=traffic&place=P-BUON-MA-THUOT",
             "/resolutions/map.json?unit=P-BUON-MA-THUOT", "/resolutions/performance?days=30",
             "/resolutions/performance?days=365", f"/open311/v2/requests.json?service_request_id={','.join(codes)}",
             f"/open311/v2/requests.xml?service_request_id={','.join(codes)}",
             "/open311/v2/requests.json?status=closed", "/open311/v2/requests.xml?status=open",
             "/report/nearby.json?lat=12.6801&lon=108.0409&category=traffic"]
    return urls + extra


def crawl(app, codes, tokens, categories, attachments) -> tuple[list[str], int, int]:
    """Every public answer and the images it links to; (problems, pages read, images read)."""
    client = app.test_client()
    problems: list[str] = []
    pages = images = 0
    media: set[str] = set()
    for url in public_urls(app, codes, tokens, categories, attachments):
        try:
            response = client.get(url)
        except Exception as exc:  # noqa: BLE001 - the test app propagates errors: report them with the rest
            problems.append(f"{url}: server error {type(exc).__name__}: {exc}")
            continue
        body = response.get_data()
        content_type = response.headers.get("Content-Type", "")
        if response.status_code >= 500:
            problems.append(f"{url}: server error {response.status_code}")
        if content_type.startswith("image/"):
            media.add(url)
            continue
        pages += 1
        text = readable(body, content_type)
        problems += [f"{url}: {leak}" for leak in leaks(text)]
        media.update(re.findall(r"(/resolutions/[A-Z0-9-]+/media/\d+(?:\?size=thumb)?)", text))
        absolute = re.findall(r"https?://localhost[^\"'<\s]*/media/\d+[^\"'<\s]*", text)  # Open311's media_url
        media.update(u.replace("http://localhost", "") for u in absolute)
    for url in sorted(media):
        response = client.get(url)
        if response.status_code != 200:
            continue
        images += 1
        assert response.headers["Content-Type"].startswith("image/"), url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", url
        problems += [f"{url}: {p}" for p in image_problems(response.get_data())]
    return problems, pages, images


def test_no_public_answer_or_photo_carries_the_reporters_personal_data(world):
    app, codes, _keys, tokens, categories, attachments = world
    problems, pages, images = crawl(app, codes, tokens, categories, attachments)
    assert not problems, "\n".join(problems)
    # The crawl really read the resolutions and their photos (before and after, full and thumbnail).
    assert pages >= 10 and images >= 8, (pages, images)
    client = app.test_client()
    page = client.get(f"/resolutions/{codes[0]}").get_data(as_text=True)
    assert "Đã vá ổ gà" in page and "[đã ẩn]" in page and "Cảm ơn" in page
    assert client.get(f"/resolutions/{codes[2]}").status_code == 404  # not published: nothing public yet


def test_the_originals_still_carry_what_the_public_copies_lose(world):
    """The samples really hold GPS and names, so the test above proves something."""
    app, codes, *_ = world
    with app.app_context():
        row = db.session.scalar(select(Attachment).where(Attachment.stage == "resolution"))
        original = app.extensions["ioc"].files.path(row.sha256).read_bytes()
    assert image_problems(original) and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)


def test_the_search_finds_an_original_photo_served_by_mistake(world, monkeypatch):
    app, codes, _keys, tokens, categories, attachments = world

    def original(self, code, attachment_id, thumb=False):
        row = self.session.get(Attachment, attachment_id)
        return Path(self.files.path(row.sha256)).read_bytes(), "image/jpeg", "x.jpg"

    monkeypatch.setattr(CaseService, "public_file", original)
    problems, _pages, _images = crawl(app, codes, tokens, categories, attachments)
    assert any("GPS IFD" in p for p in problems)


def test_the_search_finds_a_raw_description_published_by_mistake(world):
    app, codes, _keys, tokens, categories, attachments = world
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == codes[1]))
        case_id = case.id
        pub = db.session.get(Publication, case_id)
        redacted = pub.summary
        pub.summary = case.description
        db.session.commit()
    try:
        problems, _pages, _images = crawl(app, codes, tokens, categories, attachments)
    finally:
        with app.app_context():
            db.session.get(Publication, case_id).summary = redacted
            db.session.commit()
    found = "\n".join(problems)
    for value in (NAME, PHONE, EMAIL, OTHER_NAME, OTHER_PHONE, OTHER_EMAIL, CITIZEN_ID):
        assert value in found, value
