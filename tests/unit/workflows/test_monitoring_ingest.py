"""Reading indicator files without a database: numbers as Vietnamese and English write them, headers in either
language, the periods people type, and files that are not CSV or XLSX."""

from __future__ import annotations

import io
import unicodedata

import pytest

from workflows.monitoring.ingest import (
    IngestError,
    NumberError,
    file_style,
    find_columns,
    header_key,
    number_style,
    read_number,
    read_table,
)
from workflows.monitoring.periods import Period


@pytest.mark.parametrize(("text", "expected"), [
    ("1234", 1234), ("-12", -12), ("+7", 7), ("12,5", 12.5), ("12.5", 12.5), ("0,125", 0.125),
    ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("1.234.567", 1234567), ("1,234,567", 1234567),
    ("1.234.567,89", 1234567.89), ("1 234,5", 1234.5), ("1\u00a0234\u00a0567", 1234567), ("1\u202f234,5", 1234.5),
    ("1234,567", 1234.567), (",5", 0.5), ("  42  ", 42),
])
def test_numbers_in_vietnamese_and_english_forms(text, expected):
    assert read_number(text) == pytest.approx(expected)


def test_the_ambiguous_single_mark_follows_the_files_style_and_is_vietnamese_by_default():
    # One mark followed by exactly three digits: "1,234" or "1.234".
    assert read_number("1,234") == pytest.approx(1.234)  # Vietnamese: a decimal comma
    assert read_number("1.234") == pytest.approx(1234)  # Vietnamese: a dot between thousands
    assert read_number("1,234", "en") == pytest.approx(1234)
    assert read_number("1.234", "en") == pytest.approx(1.234)
    with pytest.raises(NumberError) as refused:
        read_number("1,234", "mixed")
    assert "two ways" in refused.value.message
    assert read_number("12,5", "mixed") == pytest.approx(12.5)  # not ambiguous: read whatever the file's style


def test_a_files_style_comes_from_its_unambiguous_numbers():
    assert file_style(["1,234", "12"]) == "vi"  # nothing shows a style: the province's convention
    assert file_style(["1,234", "12,5"]) == "vi"
    assert file_style(["1,234", "1.234,5"]) == "vi"
    assert file_style(["1,234", "12.5"]) == "en"
    assert file_style(["1,234,567", "1,234"]) == "en"
    assert file_style(["12,5", "12.5"]) == "mixed"
    assert number_style("1,234") is None and number_style("0,125") == "vi" and number_style("1.234.567") == "vi"


def test_a_percent_sign_only_for_indicators_in_per_cent():
    assert read_number("62,5 %", percent=True) == pytest.approx(62.5)
    assert read_number("62,5%", percent=True) == pytest.approx(62.5)
    with pytest.raises(NumberError) as refused:
        read_number("62,5%")
    assert "per cent" in refused.value.message


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"), ("abc", "not a number"), ("12,5,3", "thousands"), ("1.23.456", "thousands"),
    ("1.234,5.6", "thousands"), ("12..5", "thousands"), ("1,2.5", "thousands"), ("--5", "not a number"),
    ("5 kg", "not a number"), ("nan", "not a number"), ("%", "not a number"),
])
def test_what_is_not_a_number_says_why(text, why):
    with pytest.raises(NumberError) as refused:
        read_number(text, percent=True)
    assert why in refused.value.message


def test_headers_in_vietnamese_or_english_whatever_the_case_and_diacritics():
    assert header_key("\ufeffMã Chỉ Tiêu") == "ma chi tieu"
    assert header_key("MÃ ĐƠN VỊ") == "ma don vi"
    assert header_key("Indicator_Code") == "indicator code"
    columns = find_columns(["Kỳ", "GIÁ TRỊ", "mã đơn vị", "Mã chỉ tiêu", "Ghi chú"])
    assert {name: index for name, (index, _label) in columns.items()} == {
        "period": 0, "value": 1, "unit": 2, "indicator": 3, "note": 4}
    assert columns["value"][1] == "GIÁ TRỊ"  # errors name the column as the file does
    assert set(find_columns(["indicator", "unit", "period", "value"])) == {"indicator", "unit", "period", "value"}


def test_missing_columns_are_named_in_one_message():
    with pytest.raises(IngestError) as refused:
        find_columns(["Mã chỉ tiêu", "Số tiền"])
    message = refused.value.message
    assert "mã đơn vị / unit" in message and "kỳ / period" in message and "giá trị / value" in message
    assert "mã chỉ tiêu / indicator" not in message


@pytest.mark.parametrize(("kind", "text", "key"), [
    ("monthly", "2026-03", "2026-03"), ("monthly", "03/2026", "2026-03"), ("monthly", "T3/2026", "2026-03"),
    ("monthly", "Tháng 3/2026", "2026-03"), ("quarterly", "Quý I/2026", "2026-Q1"), ("quarterly", "Q2/2026", "2026-Q2"),
    ("quarterly", "2026-Q3", "2026-Q3"), ("yearly", "Năm 2026", "2026"), ("ytd", "06/2026", "2026-06"),
])
def test_the_periods_people_type(kind, text, key):
    assert Period.parse(kind, text).key == key


def _cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: precomposed letters where the code page has them, the tone
    as a combining mark after them."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        if marks and len(marks) > 1:  # a letter with its vowel mark and a tone: ệ = ê + dot below
            composed = unicodedata.normalize("NFC", base + marks[0])
            if len(composed) == 1:
                base, marks = composed, marks[1:]
        out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


def test_csv_with_semicolons_bom_and_windows_1258():
    text = "Mã chỉ tiêu;Mã đơn vị;Kỳ;Giá trị\nKT01;P-TAN-AN;03/2026;1.234,5\n\n;;;\nKT01;P-TAN-AN;04/2026;12\n"
    for data in (text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8"), _cp1258(text)):
        kind, rows = read_table(data)
        assert kind == "csv"
        assert rows[0][1] == ["Mã chỉ tiêu", "Mã đơn vị", "Kỳ", "Giá trị"]
        assert [(line, cells[3]) for line, cells in rows[1:]] == [(2, "1.234,5"), (5, "12")]  # blank lines skipped


def test_csv_with_commas_and_quoted_decimal_commas():
    kind, rows = read_table(b'indicator,unit,period,value\nKT01,P-TAN-AN,2026-03,"12,5"\n')
    assert rows[1][1] == ["KT01", "P-TAN-AN", "2026-03", "12,5"]


def test_the_type_comes_from_the_bytes_not_the_name():
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.append(["Mã chỉ tiêu", "Mã đơn vị", "Kỳ", "Giá trị"])
    workbook.active.append(["KT01", "P-TAN-AN", "03/2026", 12.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    kind, rows = read_table(buffer.getvalue())
    assert kind == "xlsx" and rows[1] == (2, ["KT01", "P-TAN-AN", "03/2026", 12.5])


@pytest.mark.parametrize(("data", "why"), [
    (b"", "empty"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "neither"),
    (b"PK\x03\x04not really a zip", "cannot be read"),
])
def test_a_file_that_is_not_csv_or_xlsx_gets_a_clear_message(data, why):
    with pytest.raises(IngestError) as refused:
        read_table(data)
    assert why in refused.value.message


def test_files_too_large_or_too_long_are_refused_whole(monkeypatch):
    from workflows.monitoring import ingest

    monkeypatch.setattr(ingest, "MAX_ROWS", 3)
    rows = "\n".join(["indicator;unit;period;value"] + ["KT01;P-TAN-AN;2026-03;1"] * 4).encode()
    with pytest.raises(IngestError) as refused:
        read_table(rows)
    assert "more than 3 rows" in refused.value.message
    assert read_table(b"\n".join(rows.split(b"\n")[:4]))[1][-1][0] == 4  # the header and three rows pass
    monkeypatch.setattr(ingest, "MAX_BYTES", 10)
    with pytest.raises(IngestError) as refused:
        read_table(rows)
    assert "larger than" in refused.value.message


def test_excels_unicode_text_utf16_with_tabs():
    text = "Mã chỉ tiêu\tMã đơn vị\tKỳ\tGiá trị\r\nKT01\tP-TAN-AN\tQuý I/2026\t1.234,5\r\n"
    kind, rows = read_table(text.encode("utf-16"))
    assert kind == "csv" and rows[1][1] == ["KT01", "P-TAN-AN", "Quý I/2026", "1.234,5"]
