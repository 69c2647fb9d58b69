"""Ingestion of indicator values: CSV and XLSX files and the JSON API, every row checked, a dry run first.

A file is read by its first bytes (an XLSX workbook is a zip: ``PK\\x03\\x04``; anything else must be CSV text,
UTF-8 with or without BOM, Windows-1258, or UTF-16 with its BOM as Excel's "Unicode Text"), never by its name.
A CSV's delimiter is ``;``, ``,`` or a tab, whichever its header line holds most (Vietnamese Excel writes ``;``
because its decimal mark is a comma).

The columns are found by their header, in Vietnamese or English, without regard to case or diacritics:
indicator code (mã chỉ tiêu / indicator), unit code (mã đơn vị / unit), period (kỳ / period), value (giá trị /
value), and an optional note (ghi chú / note). Every row is checked and every problem is reported with its line,
column and reason; nothing is stored by the dry run. The uploader then keeps the good rows or refuses the whole
file (`decide`). Storing inserts or updates kpi_value and appends a ValueChange for each new or changed value
(old, new, who, when, which upload); an unchanged value writes nothing.

Numbers (`read_number`): spaces and no-break spaces are thousands separators; a sign and, for indicators
measured in %, a trailing percent sign are allowed. With both ``,`` and ``.`` the last one is the decimal mark
("1.234,5" and "1,234.5" are 1234.5); the same mark twice or more is a thousands separator ("1.234.567"). A
single mark is a decimal mark unless it is followed by exactly three digits after one to three digits that do
not start with 0 — "1,234" or "12.500" — which can be read both ways. Those AMBIGUOUS numbers follow the file's
style: a file whose other numbers show a style (a decimal comma such as "12,5" or a dot thousands separator
such as "1.234,5" is Vietnamese; "12.5" or "1,234.5" is English) reads them that way; a file that shows no
style is read as Vietnamese (the province's convention): "1,234" is 1.234 and "1.234" is 1234. A file that
writes numbers both ways gets an error on each ambiguous number (write it without a thousands separator). XLSX
cells that hold numbers are taken as numbers; one formatted as a percentage as Excel shows it (0.625 → 62.5).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import ConflictError, NotFoundError
from engine.i18n import Named, Text, t, to_json
from workflows.access import Actor
from workflows.errors import AccessDeniedError
from workflows.models import AdminUnit
from workflows.monitoring.evaluation import preview
from workflows.monitoring.fields import LEVELS
from workflows.monitoring.models import Indicator, Upload, Value, ValueChange
from workflows.monitoring.periods import Period, PeriodError

MAX_BYTES = 32 * 1024 * 1024  # a larger file must be split
MAX_ROWS = 200_000
MAX_UNPACKED = 400 * 1024 * 1024  # an XLSX whose parts unpack to more is refused before it is read
MAX_SHOWN = 2_000  # changes kept in an upload's report for the page (the counts are always complete)
CHOICES = ("keep_good", "refuse")
JSON_MODES = ("all_or_nothing", "keep_good")
FIELDS = ("indicator", "unit", "period", "value")

# Header names (lower case, without diacritics, words separated by one space) → the column they name.
HEADERS: dict[str, str] = {}
for _name, _aliases in {
    "indicator": ("ma chi tieu", "chi tieu", "ma kpi", "indicator", "indicator code", "kpi"),
    "unit": ("ma don vi", "don vi", "ma dv", "unit", "unit code"),
    "period": ("ky", "ky bao cao", "thoi ky", "period"),
    "value": ("gia tri", "so lieu", "gia tri thuc hien", "value"),
    "note": ("ghi chu", "note", "notes"),
}.items():
    HEADERS.update(dict.fromkeys(_aliases, _name))
# How a missing column is named in the file-level message (both languages: the file may be in either).
COLUMN_NAMES = {"indicator": "mã chỉ tiêu / indicator", "unit": "mã đơn vị / unit", "period": "kỳ / period",
                "value": "giá trị / value"}


class IngestError(Exception):
    """A whole file or request that cannot be read; the message (Text) says why."""

    def __init__(self, message: Text):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- numbers
class NumberError(ValueError):
    """A value that is not a number as written; `message` says why."""

    def __init__(self, message: Text):
        super().__init__(str(message))
        self.message = message


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_SIMPLE = re.compile(r"^(-?)(\d+)(?:([.,])(\d+))?$")  # 12, -12, 12,5, 12.5 (most cells): read at once
_BODY = re.compile(r"^[0-9.,]+$")


def _groups(text: str, sep: str) -> bool:
    """True if `text` is digits in thousands groups separated by `sep` (1.234.567)."""
    parts = text.split(sep)
    return 1 <= len(parts[0]) <= 3 and parts[0].isdigit() and all(len(p) == 3 and p.isdigit() for p in parts[1:])


def number_style(text: str) -> str | None:
    """"vi" or "en" if the number as written shows a style (a decimal comma, a dot thousands separator or the
    reverse), None if it shows none (plain digits, or an ambiguous single mark such as "1,234")."""
    simple = _SIMPLE.match(text)
    if simple:
        _sign, head, mark, tail = simple.groups()
        if not mark or (len(tail) == 3 and len(head) <= 3 and head[0] != "0"):
            return None
        return "vi" if mark == "," else "en"
    body = _SPACES.sub("", text).lstrip("+-").rstrip("%")
    if not body or not _BODY.match(body):
        return None
    comma, dot = body.count(","), body.count(".")
    if comma and dot:
        return "vi" if body.rfind(",") > body.rfind(".") else "en"
    if comma > 1:
        return "en"
    if dot > 1:
        return "vi"
    if comma == dot == 0 or _ambiguous(body):
        return None
    return "vi" if comma else "en"


def _ambiguous(body: str) -> bool:
    """A single mark after 1 to 3 digits (no leading 0) followed by exactly three digits: 1,234 or 12.500."""
    head, _, tail = body.replace(",", ".").partition(".")
    return len(tail) == 3 and tail.isdigit() and 1 <= len(head) <= 3 and head.isdigit() and head[0] != "0"


def read_number(text: str, style: str = "vi", percent: bool = False) -> float:
    """The number `text` writes (see the module's documentation for the rule), read in `style` ("vi", "en",
    or "mixed" for a file that writes numbers both ways); NumberError otherwise."""
    simple = _SIMPLE.match(text)
    if simple:
        sign, head, mark, tail = simple.groups()
        if not mark or not (len(tail) == 3 and len(head) <= 3 and head[0] != "0") or style == mark_style(mark):
            return float(f"{sign}{head}.{tail}" if mark else f"{sign}{head}")
    raw = " ".join(str(text).split())
    body = _SPACES.sub("", raw)
    if not body:
        raise NumberError(t("the value is empty"))
    if body.endswith("%"):
        if not percent:
            raise NumberError(t("%(text)s: a percent sign is only allowed for indicators measured in per cent",
                                text=raw))
        body = body[:-1]
    sign = -1.0 if body.startswith("-") else 1.0
    body = body[1:] if body[:1] in "+-" else body
    if not body or not _BODY.match(body) or not any(c.isdigit() for c in body):
        raise NumberError(t("%(text)s is not a number", text=raw))
    comma, dot = body.count(","), body.count(".")
    if comma and dot:
        decimal = "," if body.rfind(",") > body.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        whole, _, fraction = body.rpartition(decimal)
        if thousands in fraction or not _groups(whole, thousands) or not fraction.isdigit():
            raise NumberError(t("%(text)s: the thousands groups are not right (write 1234567,5 or 1.234.567,5)",
                                text=raw))
        number = f"{whole.replace(thousands, '')}.{fraction}"
    elif comma > 1 or dot > 1:
        sep = "," if comma else "."
        if not _groups(body, sep):
            raise NumberError(t("%(text)s: the thousands groups are not right (write 1234567,5 or 1.234.567,5)",
                                text=raw))
        number = body.replace(sep, "")
    elif comma or dot:
        sep = "," if comma else "."
        if _ambiguous(body):
            if style == "mixed":
                raise NumberError(t("%(text)s can be read two ways and this file writes numbers both ways; write "
                                    "it without a thousands separator", text=raw))
            decimal = "," if style == "vi" else "."
            number = body.replace(sep, ".") if sep == decimal else body.replace(sep, "")
        else:
            number = body.replace(sep, ".")
    else:
        number = body
    try:
        value = sign * float(number)
    except ValueError:
        raise NumberError(t("%(text)s is not a number", text=raw)) from None
    if not math.isfinite(value):
        raise NumberError(t("%(text)s is not a number", text=raw))
    return value


def mark_style(mark: str) -> str:
    """The style in which a single ambiguous `mark` is the decimal mark."""
    return "vi" if mark == "," else "en"


def file_style(texts: Iterable[str]) -> str:
    """The style of a file's numbers: "vi" (also when they show none), "en", or "mixed"."""
    seen = set()
    for text in texts:
        style = number_style(text)
        if style:
            seen.add(style)
            if len(seen) == 2:
                return "mixed"
    return seen.pop() if seen else "vi"


# --------------------------------------------------------------------------- headers and files
def header_key(text: Any) -> str:
    """A header as compared: lower case, no diacritics (đ → d), words separated by one space."""
    folded = unicodedata.normalize("NFD", str(text or "").replace("\ufeff", "").replace("đ", "d").replace("Đ", "d"))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


@dataclass
class RawRow:
    """One row as read: where it is (file line or request index) and its cells (str, or float from XLSX)."""

    where: int
    indicator: Any
    unit: Any
    period: Any
    value: Any
    note: str = ""


@dataclass
class RowError:
    """A problem of one row: its line (or index), the column (as the file names it) and the reason."""

    where: int
    column: str
    message: Text


def sniff_kind(data: bytes) -> str:
    """"xlsx" for a zip, "csv" for text; IngestError for anything else."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text: Excel's "Unicode Text", tab-separated
        return "csv"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise IngestError(t("this is an old Excel file (.xls); save it as .xlsx (Excel Workbook) or CSV and upload "
                            "it again"))
    head = data[:4096]
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100 + 1:
        raise IngestError(t("this file is neither a CSV text file nor an XLSX workbook; save it from Excel as one "
                            "of these"))
    return "csv"


def _decode(data: bytes) -> str:
    encodings = ("utf-16",) if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "cp1258")
    for encoding in encodings:
        try:
            return unicodedata.normalize("NFC", data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise IngestError(t("the file's text is neither UTF-8 nor Windows-1258; save it as CSV UTF-8"))


def read_table(data: bytes) -> tuple[str, list[tuple[int, list[Any]]]]:
    """The kind ("csv"/"xlsx") and the non-blank rows of a file as (line, cells), header first."""
    if len(data) > MAX_BYTES:
        raise IngestError(t("the file is larger than %(mb)s MB; split it into smaller files",
                            mb=MAX_BYTES // (1024 * 1024)))
    if not data.strip() or data in (b"\xff\xfe", b"\xfe\xff"):
        raise IngestError(t("the file is empty"))
    kind = sniff_kind(data)
    rows: list[tuple[int, list[Any]]] = []
    if kind == "xlsx":
        for line, cells in enumerate(_xlsx_rows(data), start=1):
            if any(c not in (None, "") for c in cells):
                rows.append((line, list(cells)))
                if len(rows) > MAX_ROWS + 1:
                    break
    else:
        text = _decode(data)
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        delimiter = max((";", ",", "\t"), key=first.count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    rows.append((reader.line_num, cells))
                    if len(rows) > MAX_ROWS + 1:
                        break
        except csv.Error:
            raise IngestError(t("the CSV file cannot be read after line %(line)s (a quote is not closed?)",
                                line=reader.line_num)) from None
    if len(rows) > MAX_ROWS + 1:
        raise IngestError(t("the file has more than %(rows)s rows; split it into smaller files", rows=MAX_ROWS))
    return kind, rows


class PercentCell(float):
    """An XLSX number cell shown as a percentage (Excel keeps 62.5 % as 0.625): read as 62.5 for an indicator
    in per cent, refused like a written percent sign for the others."""


_XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _percent_cells(archive: zipfile.ZipFile) -> set[tuple[int, int]]:
    """(row, column) from 0 of the first sheet's number cells formatted as a percentage (built-in formats 9 and
    10, or a custom format with %). Read only when the workbook has such a format."""
    from xml.etree import ElementTree

    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return set()
    custom = {fmt.get("numFmtId"): fmt.get("formatCode", "") for fmt in styles.iter(f"{_XLSX_NS}numFmt")}
    xfs = styles.find(f"{_XLSX_NS}cellXfs")
    percent = {str(index) for index, xf in enumerate(xfs if xfs is not None else [])
               if xf.get("numFmtId") in ("9", "10") or "%" in re.sub(r'"[^"]*"', "", custom.get(xf.get("numFmtId"), ""))}
    if not percent:
        return set()
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = next(workbook.iter(f"{_XLSX_NS}sheet"), None)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if first is not None and r.get("Id") == first.get(f"{_REL_NS}id")),
                  "worksheets/sheet1.xml")
    path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    cells: set[tuple[int, int]] = set()
    with archive.open(path) as sheet:
        for _event, cell in ElementTree.iterparse(sheet):
            if cell.tag == f"{_XLSX_NS}c":
                if cell.get("s") in percent and cell.get("t") in (None, "n"):
                    found = _CELL_REF.match(cell.get("r") or "")
                    if found:
                        column = 0
                        for letter in found.group(1):
                            column = column * 26 + ord(letter) - 64
                        cells.add((int(found.group(2)) - 1, column - 1))
                cell.clear()
    return cells


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
                raise IngestError(t("the workbook is too large once unpacked; split it into smaller files"))
            percent = _percent_cells(archive)
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
        for r, c in percent:  # with skip_empty_area=False the rows start at A1
            if r < len(rows) and c < len(rows[r]) and isinstance(rows[r][c], float):
                rows[r][c] = PercentCell(rows[r][c])
        return rows
    except IngestError:
        raise
    except Exception:  # noqa: BLE001 - calamine's and zipfile's errors: a damaged or foreign zip
        raise IngestError(t("the workbook cannot be read: it is damaged or not an Excel workbook (.xlsx)")) from None


def find_columns(header: list[Any]) -> dict[str, tuple[int, str]]:
    """Column → (its index, its header as written); IngestError naming the missing required columns."""
    found: dict[str, tuple[int, str]] = {}
    for index, cell in enumerate(header):
        name = HEADERS.get(header_key(cell))
        if name and name not in found:
            found[name] = (index, " ".join(str(cell).replace("\ufeff", "").split()))
    missing = [COLUMN_NAMES[name] for name in FIELDS if name not in found]
    if missing:
        raise IngestError(t("the file has no column for: %(columns)s. Its first row must name the columns mã chỉ "
                            "tiêu, mã đơn vị, kỳ, giá trị (or indicator, unit, period, value)",
                            columns="; ".join(missing)))
    return found


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class _Rule:
    """What checking needs of an indicator (plain attributes: read 100,000 times a file)."""

    code: str
    period: str
    levels: frozenset[str]
    level_list: tuple[str, ...]
    active: bool
    min_value: float | None
    max_value: float | None
    percent: bool


@dataclass
class GoodRow:
    where: int
    indicator: str
    unit_id: int
    period: str
    value: float


@dataclass
class Checked:
    """Rows checked: the good ones, every problem, and the names the pages need."""

    total: int
    good: list[GoodRow]
    errors: list[RowError]
    units: dict[int, Named] = field(default_factory=dict)  # names of the units of good rows

    @property
    def bad_lines(self) -> int:
        return len({e.where for e in self.errors})


@dataclass
class JsonOutcome:
    """What the API answers: ok (200) or not (400, nothing stored), the upload row, the errors per index."""

    ok: bool
    upload: Upload | None
    errors: list[dict[str, Any]]  # {"index", "field", "message": Text}
    stored: bool = False


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _num(value: float | None) -> Named | str:
    """A number for a message: 1234.5 in English, 1234,5 in Vietnamese."""
    if value is None:
        return ""
    english = f"{value:.10g}"
    return Named(english.replace(".", ","), english)


def _cell_text(cell: Any) -> str:
    """A cell as text: at most 200 characters, never a lone surrogate (JSON may carry one; databases refuse it)."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return " ".join(cell[:200].encode("utf-8", "replace").decode("utf-8").split())
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        cell = cell.date()
    if isinstance(cell, date):
        return f"{cell.month:02d}/{cell.year}"
    return " ".join(str(cell).split())


# --------------------------------------------------------------------------- the service
class IngestService:
    """Checks, dry-runs and stores indicator values. `after_commit(value_ids)` runs after a commit that stored or
    changed values (the web layer passes the evaluation's enqueue)."""

    def __init__(self, session: Session, clock: Any, after_commit: Callable[[list[int]], None] | None = None):
        self.session = session
        self.clock = clock
        self.after_commit = after_commit

    # ------------------------------------------------------------------ files
    def dry_run(self, filename: str, data: bytes, actor: Actor) -> Upload:
        """Read and check a file, work out what it would change and which rules would breach; store only the
        upload with its report (decision "dry_run", or "refused" for a file that cannot be read)."""
        upload = Upload(filename=(filename or "").replace("\x00", "")[:255] or "-",
                        sha256=hashlib.sha256(data).hexdigest(), kind="csv", uploaded_by=actor.username,
                        uploaded_at=self.clock.now())
        try:
            kind, rows = read_table(data)
            upload.kind = kind
            if not rows:
                raise IngestError(t("the file is empty"))
            columns = find_columns(rows[0][1])
            raw = [self._raw_from_cells(line, cells, columns) for line, cells in rows[1:]]
            if not raw:
                raise IngestError(t("the file has its header row but no values below it"))
        except IngestError as exc:
            upload.decision, upload.decided_at = "refused", self.clock.now()
            upload.report = {"file_error": to_json(exc.message)}
            self.session.add(upload)
            self.session.commit()
            return upload
        labels = {name: label for name, (_i, label) in columns.items()}
        checked = self.check(raw, actor, labels)
        self._fill_report(upload, checked)
        self.session.add(upload)
        self.session.commit()
        return upload

    @staticmethod
    def _raw_from_cells(line: int, cells: list[Any], columns: dict[str, tuple[int, str]]) -> RawRow:
        def cell(name: str) -> Any:
            found = columns.get(name)
            if found is None or found[0] >= len(cells):
                return None
            return cells[found[0]]

        note = cell("note")
        return RawRow(line, cell("indicator"), cell("unit"), cell("period"), cell("value"),
                      _cell_text(note)[:500] if note is not None else "")

    # ------------------------------------------------------------------ checking
    def check(self, rows: list[RawRow], actor: Actor, labels: dict[str, str] | None = None) -> Checked:
        """Check every row with the catalogue and units loaded once; every problem is collected."""
        labels = labels or {name: name for name in FIELDS}
        indicators = {code.casefold(): _Rule(code, period, frozenset(levels or ()), tuple(levels or ()), active,
                                             low, high, (measure or "").strip() == "%")
                      for code, period, levels, active, low, high, measure in self.session.execute(
                          select(Indicator.code, Indicator.period, Indicator.levels, Indicator.active,
                                 Indicator.min_value, Indicator.max_value, Indicator.measure_unit))}
        units = {code.casefold(): (uid, code, name, name_en, kind, active) for uid, code, name, name_en, kind, active
                 in self.session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en,
                                                AdminUnit.kind, AdminUnit.active))}
        style = file_style(r.value for r in rows if isinstance(r.value, str))
        periods: dict[tuple[str, str], Period | PeriodError] = {}
        seen: dict[tuple[str, int, str], int] = {}
        good: list[GoodRow] = []
        errors: list[RowError] = []
        names: dict[int, Named] = {}
        for row in rows:
            before = len(errors)

            def bad(column: str, message: Text, where: int = row.where) -> None:
                errors.append(RowError(where, labels[column], message))

            # Indicator
            code = _cell_text(row.indicator)
            indicator = indicators.get(code.casefold()) if code else None
            if not code:
                bad("indicator", t("the indicator code is empty"))
            elif indicator is None:
                bad("indicator", t("no indicator has the code %(code)s", code=code))
            elif not indicator.active:
                bad("indicator", t("the indicator %(code)s is no longer reported", code=indicator.code))
                indicator = None
            # Unit
            unit_code = _cell_text(row.unit)
            unit = units.get(unit_code.casefold()) if unit_code else None
            if not unit_code:
                bad("unit", t("the unit code is empty"))
            elif unit is None:
                bad("unit", t("no unit has the code %(code)s", code=unit_code))
            else:
                uid, ucode, uname, uname_en, ukind, uactive = unit
                named = Named(uname, uname_en or uname)
                if not uactive:
                    bad("unit", t("the unit %(unit)s no longer exists", unit=named))
                elif not actor.sees_unit(uid):
                    bad("unit", t("%(unit)s is outside the units you report for", unit=named))
                elif indicator is not None and indicator.levels and ukind not in indicator.levels:
                    levels = ", ".join(LEVELS.get(k, (k, k))[0] for k in indicator.level_list)
                    levels_en = ", ".join(LEVELS.get(k, (k, k))[1] for k in indicator.level_list)
                    bad("unit", t("%(unit)s does not report %(indicator)s (reported by: %(levels)s)", unit=named,
                                  indicator=indicator.code, levels=Named(levels, levels_en)))
                else:
                    names.setdefault(uid, named)
            # Period
            period_key = None
            period_text = _cell_text(row.period)
            if indicator is not None:
                cache_key = (indicator.period, period_text)
                parsed = periods.get(cache_key)
                if parsed is None:
                    try:
                        parsed = Period.parse(indicator.period, period_text)
                    except PeriodError as exc:
                        parsed = exc
                    periods[cache_key] = parsed
                if isinstance(parsed, PeriodError):
                    bad("period", parsed.message)
                else:
                    period_key = parsed.key
            elif not period_text:
                bad("period", t("the period is empty"))
            # Value
            value = None
            percent = indicator is not None and indicator.percent
            if isinstance(row.value, bool) or isinstance(row.value, (date, datetime)):
                bad("value", t("%(text)s is not a number", text=_cell_text(row.value)))
            elif isinstance(row.value, PercentCell):
                value = round(float(row.value) * 100, 10)
                if indicator is not None and not indicator.percent:
                    shown = _num(value)
                    bad("value", t("%(text)s: a percent sign is only allowed for indicators measured in per cent",
                                   text=Named(f"{shown} %", f"{shown.en} %")))
                    value = None
            elif isinstance(row.value, (int, float)):
                try:
                    value = float(row.value)
                except OverflowError:  # an integer of hundreds of digits (JSON)
                    value = math.inf
                if not math.isfinite(value):
                    bad("value", t("%(text)s is not a number", text=str(row.value)[:40]))
                    value = None
            else:
                try:
                    value = read_number(_cell_text(row.value), style, percent=percent)
                except NumberError as exc:
                    bad("value", exc.message)
            if value is not None and indicator is not None:
                if indicator.min_value is not None and value < indicator.min_value:
                    bad("value", t("%(value)s is below %(min)s, the smallest value %(indicator)s may take",
                                   value=_num(value), min=_num(indicator.min_value), indicator=indicator.code))
                elif indicator.max_value is not None and value > indicator.max_value:
                    bad("value", t("%(value)s is above %(max)s, the largest value %(indicator)s may take",
                                   value=_num(value), max=_num(indicator.max_value), indicator=indicator.code))
            if len(errors) > before:
                continue
            key = (indicator.code, unit[0], period_key)
            first = seen.get(key)
            if first is not None:
                bad("period", t("the same indicator, unit and period as line %(line)s", line=first))
                continue
            seen[key] = row.where
            good.append(GoodRow(row.where, indicator.code, unit[0], period_key, value))
        return Checked(total=len(rows), good=good, errors=errors, units=names)

    # ------------------------------------------------------------------ what would change
    def _existing(self, keys: Iterable[tuple[str, int, str]]) -> dict[tuple[str, int, str], tuple[int, float]]:
        """The stored values of `keys`: (indicator, unit id, period) → (value id, value); a few queries."""
        keys = set(keys)
        if not keys:
            return {}
        codes = sorted({k[0] for k in keys})
        periods = sorted({k[2] for k in keys})
        found: dict[tuple[str, int, str], tuple[int, float]] = {}
        for start in range(0, len(periods), 500):
            chunk = periods[start:start + 500]
            query = select(Value.id, Value.indicator_code, Value.unit_id, Value.period, Value.value).where(
                Value.indicator_code.in_(codes), Value.period.in_(chunk))
            for vid, code, unit_id, period, value in self.session.execute(query):
                key = (code, unit_id, period)
                if key in keys:
                    found[key] = (vid, value)
        return found

    def _changes(self, good: list[GoodRow]) -> dict[str, Any]:
        existing = self._existing((g.indicator, g.unit_id, g.period) for g in good)
        new_rows, changed_rows, unchanged = [], [], 0
        for g in good:
            old = existing.get((g.indicator, g.unit_id, g.period))
            if old is None:
                new_rows.append([g.where, g.indicator, g.unit_id, g.period, g.value])
            elif _same(old[1], g.value):
                unchanged += 1
            else:
                changed_rows.append([g.where, g.indicator, g.unit_id, g.period, old[1], g.value])
        return {"new": len(new_rows), "changed": len(changed_rows), "unchanged": unchanged,
                "new_rows": new_rows[:MAX_SHOWN], "changed_rows": changed_rows[:MAX_SHOWN]}

    def _preview(self, good: list[GoodRow]) -> list[dict[str, Any]]:
        """Which rules the good rows would breach (the evaluation's preview: nothing written)."""
        findings = preview(self.session, self.clock, [(g.indicator, g.unit_id, g.period, g.value) for g in good])
        return [{"indicator": f.indicator_code, "unit_id": f.unit_id, "period": f.period, "rule": f.rule,
                 "severity": f.severity, "value": f.value, "expected": f.expected,
                 "message": to_json(f.message)} for f in findings]

    def _fill_report(self, upload: Upload, checked: Checked, dry: bool = True) -> None:
        """The upload's counts and report; `dry`: also the good rows (kept for the decision) and the rules they
        would breach (a request stored at once is evaluated for real right after, so it skips the preview)."""
        changes = self._changes(checked.good) if dry else {"new": 0, "changed": 0, "unchanged": 0}
        findings = self._preview(checked.good) if checked.good and dry else []
        upload.rows_total = checked.total
        upload.rows_bad = checked.bad_lines
        upload.rows_good = len(checked.good)
        upload.new_values, upload.changed_values = changes["new"], changes["changed"]
        upload.report = {
            "errors": [{"line": e.where, "column": e.column, "message": to_json(e.message)} for e in checked.errors],
            "good": [[g.where, g.indicator, g.unit_id, g.period, g.value] for g in checked.good] if dry else [],
            "units": {str(uid): to_json(name) for uid, name in checked.units.items()},
            "changes": changes,
            "findings": findings[:MAX_SHOWN],
            "findings_total": len(findings),
        }

    # ------------------------------------------------------------------ deciding
    def decide(self, upload_id: int, choice: str, actor: Actor) -> Upload:
        """Keep the good rows of a dry run ("keep_good": stored, or "stored" when the file had no bad row) or
        refuse the whole file ("refuse"). Once only, by the uploader or an administrator."""
        upload = self.session.get(Upload, upload_id)
        if upload is None:
            raise NotFoundError(t("upload %(id)s does not exist", id=upload_id))
        if upload.uploaded_by != actor.username and not actor.is_admin:
            raise AccessDeniedError(t("only the person who uploaded the file, or an administrator, may decide "
                                      "what becomes of it"))
        if choice not in CHOICES:
            raise ConflictError(t("choose to keep the good rows or to refuse the whole file"))
        if upload.decision != "dry_run":
            raise ConflictError(t("this upload was already decided; upload the file again to change it"))
        good = [GoodRow(*row) for row in (upload.report or {}).get("good", [])]
        if choice == "keep_good" and not good:
            raise ConflictError(t("the file has no good row to keep"))
        decision = "refused" if choice == "refuse" else ("stored" if not upload.rows_bad else "kept_good")
        now = self.clock.now()
        # Claim the decision in the database: two clicks (or two tabs) decide once.
        claimed = self.session.execute(update(Upload).where(Upload.id == upload.id, Upload.decision == "dry_run")
                                       .values(decision=decision, decided_at=now)
                                       .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            self.session.rollback()
            raise ConflictError(t("this upload was already decided; upload the file again to change it"))
        ids: list[int] = []
        try:
            if choice == "keep_good":
                ids, new, changed = self._store(good, actor.username, upload.id, "upload", now)
                self.session.execute(update(Upload).where(Upload.id == upload.id)
                                     .values(new_values=new, changed_values=changed)
                                     .execution_options(synchronize_session=False))
            self.session.commit()
        except IntegrityError:
            raise self._clash() from None
        self._committed(ids)
        self.session.refresh(upload)
        return upload

    def _clash(self) -> ConflictError:
        """Another upload stored a value of the same indicator, unit and period at the same moment: nothing of
        this one is kept (the decision is back to waiting), and the user is told to try again."""
        self.session.rollback()
        return ConflictError(t("someone stored values of the same indicators and periods at the same moment; "
                               "upload the file again"))

    def _committed(self, ids: list[int]) -> None:
        if ids and self.after_commit is not None:
            self.after_commit(ids)

    def _store(self, good: list[GoodRow], who: str, upload_id: int | None, source: str,
               now: datetime) -> tuple[list[int], int, int]:
        """Insert or update the values of `good` in bulk with their history; (ids stored or changed, new, changed).
        Nothing is committed."""
        existing = self._existing((g.indicator, g.unit_id, g.period) for g in good)
        inserts, updates = [], []
        for g in good:
            old = existing.get((g.indicator, g.unit_id, g.period))
            if old is None:
                inserts.append((g.indicator, g.unit_id, g.period, g.value))
            elif not _same(old[1], g.value):
                updates.append((old[0], old[1], g.value))
        values, changes = Value.__table__, ValueChange.__table__
        if inserts:
            # The driver's executemany: the shared fields are converted once, the rows are not run through the
            # ORM (100,000 rows in well under a second). Then their history and ids straight from the table:
            # before the updates, the rows of this upload are exactly the new ones.
            self._executemany(values, ("indicator_code", "unit_id", "period", "value"),
                              {"reported_at": now, "reported_by": who, "upload_id": upload_id, "source": source},
                              inserts)
            self.session.execute(insert(changes).from_select(
                ["value_id", "old_value", "new_value", "changed_at", "changed_by", "upload_id", "source"],
                select(values.c.id, null(), values.c.value, values.c.reported_at, values.c.reported_by,
                       values.c.upload_id, values.c.source).where(values.c.upload_id == upload_id)))
        ids: list[int] = list(self.session.scalars(select(values.c.id).where(values.c.upload_id == upload_id))
                              ) if inserts else []
        if updates:
            self._executemany(values, ("id", "value"),
                              {"reported_at": now, "reported_by": who, "upload_id": upload_id, "source": source},
                              [(u[0], u[2]) for u in updates], where="id")
            self._executemany(changes, ("value_id", "old_value", "new_value"),
                              {"changed_at": now, "changed_by": who, "upload_id": upload_id, "source": source},
                              updates)
            ids.extend(u[0] for u in updates)
        return ids, len(inserts), len(updates)

    def _executemany(self, table: Any, columns: tuple[str, ...], shared: dict[str, Any], rows: list[tuple],
                     where: str | None = None) -> None:
        """INSERT (or, with `where`, UPDATE … WHERE where = the last column) `rows`, a few hundred rows per
        statement (multi-row VALUES; one round trip each on PostgreSQL), through the driver: `shared` values are
        converted by their column types once and added to every row, the rows skip the ORM."""
        connection = self.session.connection()
        dialect = connection.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        fixed = []
        for name, value in shared.items():
            process = table.c[name].type._cached_bind_processor(dialect)  # noqa: SLF001 - the type's conversion
            fixed.append(process(value) if process else value)
        if dialect.name == "postgresql":
            self._unnest(connection, table, columns, shared, fixed, rows, where)
            return
        if where is None:
            names = (*columns, *shared)
            tuple_sql = f"({', '.join([mark] * len(columns))}, {', '.join([mark] * len(fixed))})"
            head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
            tail = ""
        else:
            # WITH d(…) AS (VALUES …) UPDATE … FROM d: PostgreSQL and SQLite 3.33+; the shared values set once.
            tuple_sql = f"({', '.join([mark] * len(columns))})"
            sets = [f"{n} = d.{n}" for n in columns if n != where] + [f"{n} = {mark}" for n in shared]
            head = f"WITH d({', '.join(columns)}) AS (VALUES "
            tail = f") UPDATE {table.name} SET {', '.join(sets)} FROM d WHERE {table.name}.{where} = d.{where}"
        size = max(1, 30_000 // (len(columns) + len(fixed)))  # under every driver's limit of parameters
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            params: list[Any] = []
            if where is None:
                for row in chunk:
                    params.extend(row)
                    params.extend(fixed)
            else:
                for row in chunk:
                    params.extend(row)
                params.extend(fixed)
            connection.exec_driver_sql(head + ", ".join([tuple_sql] * len(chunk)) + tail, tuple(params))

    @staticmethod
    def _unnest(connection: Any, table: Any, columns: tuple[str, ...], shared: dict[str, Any], fixed: list[Any],
                rows: list[tuple], where: str | None) -> None:
        """PostgreSQL: the rows as one array per column, unnested in one statement (psycopg splits a query's
        placeholders in Python: a multi-row VALUES of 100,000 rows would cost seconds)."""
        dialect = connection.dialect
        arrays = [f"%s::{table.c[n].type.compile(dialect=dialect)}[]" for n in columns]
        data = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in columns]
        source = f"unnest({', '.join(arrays)}) AS d({', '.join(columns)})"
        if where is None:
            sql = (f"INSERT INTO {table.name} ({', '.join((*columns, *shared))}) "
                   f"SELECT {', '.join(f'd.{n}' for n in columns)}, {', '.join(['%s'] * len(fixed))} FROM {source}")
        else:
            sets = [f"{n} = d.{n}" for n in columns if n != where] + [f"{n} = %s" for n in shared]
            sql = f"UPDATE {table.name} SET {', '.join(sets)} FROM {source} WHERE {table.name}.{where} = d.{where}"
        connection.exec_driver_sql(sql, (*fixed, *data))

    # ------------------------------------------------------------------ the JSON API
    def submit_json(self, payload: Any, actor: Actor) -> JsonOutcome:
        """{"values": [{"indicator", "unit", "period", "value"}…], "mode": "all_or_nothing"|"keep_good",
        "dry_run": bool}. A dry run stores the upload and its report only. all_or_nothing stores nothing when a
        value is wrong; keep_good stores the good ones and lists the rest (nothing stored if none is good)."""
        shape: list[dict[str, Any]] = []
        if not isinstance(payload, dict):
            payload = {}
            shape.append({"index": None, "field": "values", "message": t("send a JSON object with a list values")})
        values, mode, dry = payload.get("values"), payload.get("mode", "all_or_nothing"), payload.get("dry_run", False)
        if not shape and (not isinstance(values, list) or not values):
            shape.append({"index": None, "field": "values",
                          "message": t("values must be a list of objects with indicator, unit, period and value")})
        elif not shape and len(values) > MAX_ROWS:
            shape.append({"index": None, "field": "values",
                          "message": t("at most %(rows)s values in one request", rows=MAX_ROWS)})
        if mode not in JSON_MODES:
            shape.append({"index": None, "field": "mode", "message": t("mode must be all_or_nothing or keep_good")})
        if not isinstance(dry, bool):
            shape.append({"index": None, "field": "dry_run", "message": t("dry_run must be true or false")})
        if shape:
            return JsonOutcome(False, None, shape)
        raw: list[RawRow] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(values):
            if not isinstance(item, dict):
                errors.append({"index": index, "field": None,
                               "message": t("each value must be an object with indicator, unit, period and value")})
                continue
            cells = {}
            for name in FIELDS:
                cell = item.get(name)
                if isinstance(cell, bool) or (cell is not None and not isinstance(cell, (str, int, float))):
                    errors.append({"index": index, "field": name, "message": t("must be a text or a number")})
                    cell = None
                cells[name] = cell
            raw.append(RawRow(index, cells["indicator"], cells["unit"], cells["period"], cells["value"]))
        checked = self.check(raw, actor)
        typed = {(e["index"], e["field"]) for e in errors}  # a cell of the wrong type is not also "empty"
        errors.extend({"index": e.where, "field": e.column, "message": e.message} for e in checked.errors
                      if (e.where, e.column) not in typed)
        bad_indexes = {e["index"] for e in errors}
        checked.good = [g for g in checked.good if g.where not in bad_indexes]
        checked.errors = [RowError(e["index"], e["field"] or "", e["message"]) for e in errors]
        checked.total = len(values)
        errors.sort(key=lambda e: (e["index"] if e["index"] is not None else -1, FIELDS.index(e["field"])
                                   if e["field"] in FIELDS else -1))
        now = self.clock.now()
        body = repr(values).encode("utf-8")
        upload = Upload(filename="API", sha256=hashlib.sha256(body).hexdigest(), kind="json",
                        uploaded_by=actor.username, uploaded_at=now)
        if dry:
            self._fill_report(upload, checked)
            self.session.add(upload)
            self.session.commit()
            return JsonOutcome(True, upload, errors)
        if errors and (mode == "all_or_nothing" or not checked.good):
            self.session.rollback()
            return JsonOutcome(False, None, errors)
        self._fill_report(upload, checked, dry=False)
        upload.decision, upload.decided_at = ("kept_good" if errors else "stored"), now
        try:
            self.session.add(upload)
            self.session.flush()
            ids, new, changed = self._store(checked.good, actor.username, upload.id, "api", now)
            upload.new_values, upload.changed_values = new, changed
            upload.report = {**upload.report, "changes": {"new": new, "changed": changed,
                                                          "unchanged": len(checked.good) - new - changed}}
            self.session.commit()
        except IntegrityError:
            raise self._clash() from None
        self._committed(ids)
        return JsonOutcome(True, upload, errors, stored=True)

    # ------------------------------------------------------------------ a file to fill in
    def template(self, actor: Actor, timezone: str = "Asia/Ho_Chi_Minh") -> bytes:
        """A CSV to fill in (UTF-8 with BOM, ';' as Vietnamese Excel writes it): one row per active indicator
        and unit in the actor's view that reports it, for the period just ended, with the names beside the codes
        (extra columns are ignored when the file comes back) and the value left empty. Periods are written as
        T4/2026 and Q1/2026, which Excel keeps as text (it would turn 2026-04 into a date)."""
        today = self.clock.now().astimezone(ZoneInfo(timezone)).date()
        units = self.session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.kind)
                                     .where(AdminUnit.active.is_(True)).order_by(AdminUnit.code)).all()
        units = [u for u in units if actor.sees_unit(u.id)]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(["Mã chỉ tiêu", "Tên chỉ tiêu", "Mã đơn vị", "Tên đơn vị", "Kỳ", "Giá trị", "Đơn vị tính",
                         "Ghi chú"])
        for indicator in self.session.scalars(select(Indicator).where(Indicator.active.is_(True))
                                              .order_by(Indicator.code)):
            period = Period.containing(indicator.period, today).previous()
            written = {"monthly": f"T{period.index}/{period.year}", "ytd": f"T{period.index}/{period.year}",
                       "quarterly": f"Q{period.index}/{period.year}"}.get(indicator.period, str(period.year))
            for unit in units:
                if not indicator.levels or unit.kind in indicator.levels:
                    writer.writerow([indicator.code, indicator.name, unit.code, unit.name, written, "",
                                     indicator.measure_unit, ""])
        return "\ufeff".encode() + out.getvalue().encode("utf-8")

    # ------------------------------------------------------------------ reading back
    def recent(self, actor: Actor, limit: int = 20) -> list[Upload]:
        """The actor's newest uploads (an administrator's own too)."""
        return list(self.session.scalars(select(Upload).where(Upload.uploaded_by == actor.username)
                                         .order_by(Upload.uploaded_at.desc(), Upload.id.desc()).limit(limit)))

    def get(self, upload_id: int, actor: Actor) -> Upload:
        """An upload its uploader (or an administrator) may read; NotFoundError otherwise."""
        upload = self.session.get(Upload, upload_id)
        if upload is None or (upload.uploaded_by != actor.username and not actor.is_admin):
            raise NotFoundError(t("upload %(id)s does not exist", id=upload_id))
        return upload
