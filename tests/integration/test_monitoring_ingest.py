"""Ingestion of indicator values on SQLite and PostgreSQL: CSV (semicolons, decimal commas) and XLSX files made
here with good and bad rows, every row error with its line, column and reason, the dry run that stores nothing,
keeping the good rows or refusing the file, re-uploads that keep the history, and the JSON API's modes."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, NotFoundError
from engine.i18n import from_json
from workflows.access import AccessService
from workflows.errors import AccessDeniedError
from workflows.models import AdminUnit, User
from workflows.monitoring.ingest import IngestService
from workflows.monitoring.models import Indicator, Upload, Value, ValueChange

HEADER = "Mã chỉ tiêu;Mã đơn vị;Kỳ;Giá trị;Ghi chú"


@pytest.fixture
def catalogue(session, clock, reference_data):
    """Four indicators: a monthly rate in %, a quarterly revenue, one no longer reported, one of departments."""
    clock.set(datetime(2026, 7, 15, 2, 0, tzinfo=UTC))
    session.add_all([
        Indicator(code="KT01", name="Tỷ lệ giải ngân vốn đầu tư công", name_en="Public investment disbursed",
                  field="socio_economic", measure_unit="%", measure_unit_en="%", period="monthly",
                  levels=["ward", "commune"], min_value=0, max_value=100, category_code="socio_economic"),
        Indicator(code="KT02", name="Thu ngân sách", name_en="Budget revenue", field="socio_economic",
                  measure_unit="tỷ đồng", measure_unit_en="billion VND", period="quarterly",
                  levels=["ward", "commune", "province"], min_value=0, category_code="socio_economic"),
        Indicator(code="KT03", name="Chỉ tiêu cũ", name_en="Old indicator", field="socio_economic",
                  period="monthly", levels=["ward"], category_code="socio_economic", active=False),
        Indicator(code="SYT01", name="Số ca bệnh", name_en="Cases of disease", field="health", period="monthly",
                  levels=["department"], category_code="health"),
    ])
    session.commit()


def actor_of(session, username):
    return AccessService(session).actor(session.scalar(select(User.id).where(User.username == username)))


def unit_id(session, code):
    return session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))


@pytest.fixture
def ingest(session, clock, catalogue):
    committed: list[list[int]] = []
    service = IngestService(session, clock, after_commit=committed.append)
    service.committed = committed
    return service


def csv_file(*lines: str, encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join((HEADER, *lines)).encode(encoding) + b"\r\n"


def xlsx_file(rows: list[list]) -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_of(upload: Upload) -> list[tuple[int, str, str]]:
    return [(e["line"], e["column"], str(from_json(e["message"]))) for e in upload.report["errors"]]


def stored(session) -> dict[tuple[str, str, str], float]:
    units = dict(session.execute(select(AdminUnit.id, AdminUnit.code)).all())
    return {(v.indicator_code, units[v.unit_id], v.period): v.value for v in session.scalars(select(Value))}


BAD_CSV = csv_file(
    "KT01;P-BUON-MA-THUOT;03/2026;62,5;đúng hạn",  # 2 good
    "KT02;P-BUON-MA-THUOT;Quý I/2026;1.234,5;",  # 3 good
    "KT99;P-BUON-MA-THUOT;03/2026;5;",  # 4 unknown indicator
    "KT01;P-TAN-LAP;03/2026;50;",  # 5 another ward: outside the officer's view
    "KT01;P-BUON-MA-THUOT;13/2026;50;",  # 6 no such month
    "KT01;P-BUON-MA-THUOT;04/2026;12,5,3;",  # 7 not a number
    "KT01;P-BUON-MA-THUOT;05/2026;120;",  # 8 above 100
    "KT01;P-BUON-MA-THUOT;T3/2026;70;",  # 9 the same as line 2
    "KT03;P-BUON-MA-THUOT;03/2026;1;",  # 10 no longer reported
    "SYT01;P-BUON-MA-THUOT;03/2026;1;",  # 11 reported by departments
    "KT01;NO-SUCH-UNIT;03/2026;1;",  # 12 unknown unit
    ";;;;",  # 13 blank: skipped
    "KT01;P-BUON-MA-THUOT;Tháng 6/2026;70 %;",  # 14 good
    "KT02;P-BUON-MA-THUOT;Q2/2026;;",  # 15 empty value
)


def test_every_bad_row_is_reported_with_its_line_column_and_reason(ingest, session):
    upload = ingest.dry_run("bao-cao-thang.csv", BAD_CSV, actor_of(session, "cb.buonmathuot"))
    assert upload.kind == "csv" and upload.decision == "dry_run"
    assert errors_of(upload) == [
        (4, "Mã chỉ tiêu", "no indicator has the code KT99"),
        (5, "Mã đơn vị", "Tân Lập Ward is outside the units you report for"),
        (6, "Kỳ", "13/2026: no such month or quarter"),
        (7, "Giá trị", "12,5,3: the thousands groups are not right (write 1234567,5 or 1.234.567,5)"),
        (8, "Giá trị", "120 is above 100, the largest value KT01 may take"),
        (9, "Kỳ", "the same indicator, unit and period as line 2"),
        (10, "Mã chỉ tiêu", "the indicator KT03 is no longer reported"),
        (11, "Mã đơn vị", "Buôn Ma Thuột Ward does not report SYT01 (reported by: Department)"),
        (12, "Mã đơn vị", "no unit has the code NO-SUCH-UNIT"),
        (15, "Giá trị", "the value is empty"),
    ], errors_of(upload)
    assert (upload.rows_total, upload.rows_good, upload.rows_bad) == (13, 3, 10)
    good = {(row[1], row[3]): row[4] for row in upload.report["good"]}
    assert good == {("KT01", "2026-03"): 62.5, ("KT02", "2026-Q1"): 1234.5, ("KT01", "2026-06"): 70.0}
    # The dry run stored nothing but the upload and its report.
    assert stored(session) == {} and ingest.committed == []
    assert upload.report["changes"]["new"] == 3 and upload.new_values == 3


def test_unit_names_in_the_errors_are_read_in_either_language(ingest, session):
    upload = ingest.dry_run("x.csv", csv_file("KT01;P-TAN-LAP;03/2026;50;"), actor_of(session, "cb.buonmathuot"))
    message = from_json(upload.report["errors"][0]["message"])
    assert message.params["unit"] == session.scalar(select(AdminUnit.name).where(AdminUnit.code == "P-TAN-LAP"))


def test_refusing_the_file_stores_nothing_and_it_cannot_be_decided_twice(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    upload = ingest.dry_run("bao-cao.csv", BAD_CSV, officer)
    with pytest.raises(AccessDeniedError):
        ingest.decide(upload.id, "keep_good", actor_of(session, "cb.tanlap"))
    refused = ingest.decide(upload.id, "refuse", officer)
    assert refused.decision == "refused" and refused.decided_at is not None
    assert stored(session) == {} and ingest.committed == []
    with pytest.raises(ConflictError) as twice:
        ingest.decide(upload.id, "keep_good", officer)
    assert "already decided" in str(twice.value)
    with pytest.raises(NotFoundError):
        ingest.decide(999_999, "refuse", officer)


def test_keeping_the_good_rows_stores_them_with_their_first_history(ingest, session, clock):
    officer = actor_of(session, "cb.buonmathuot")
    upload = ingest.dry_run("bao-cao.csv", BAD_CSV, officer)
    kept = ingest.decide(upload.id, "keep_good", officer)
    assert kept.decision == "kept_good" and (kept.new_values, kept.changed_values) == (3, 0)
    assert stored(session) == {("KT01", "P-BUON-MA-THUOT", "2026-03"): 62.5,
                               ("KT02", "P-BUON-MA-THUOT", "2026-Q1"): 1234.5,
                               ("KT01", "P-BUON-MA-THUOT", "2026-06"): 70.0}
    values = session.scalars(select(Value)).all()
    assert sorted(ingest.committed[0]) == sorted(v.id for v in values)
    assert all(v.reported_by == "cb.buonmathuot" and v.upload_id == upload.id and v.source == "upload"
               for v in values)
    changes = session.scalars(select(ValueChange)).all()
    assert sorted((c.old_value, c.new_value, c.changed_by, c.upload_id) for c in changes) == [
        (None, 62.5, "cb.buonmathuot", upload.id), (None, 70.0, "cb.buonmathuot", upload.id),
        (None, 1234.5, "cb.buonmathuot", upload.id)]


def test_a_re_upload_updates_values_and_keeps_their_history(ingest, session, clock):
    officer, head = actor_of(session, "cb.buonmathuot"), actor_of(session, "tp.buonmathuot")
    first = ingest.dry_run("thang-3.csv", csv_file("KT01;P-BUON-MA-THUOT;03/2026;62,5;",
                                                   "KT02;P-BUON-MA-THUOT;Q1/2026;1.234,5;"), officer)
    assert ingest.decide(first.id, "keep_good", officer).decision == "stored"  # no bad row
    first_moment = clock.now()
    clock.advance(days=3)
    # The unit head corrects the March rate; the revenue is sent again unchanged; April is new.
    second = ingest.dry_run("thang-3-sua.csv", csv_file("KT01;P-BUON-MA-THUOT;T3/2026;65;",
                                                        "KT02;P-BUON-MA-THUOT;Quý I/2026;1234,5;",
                                                        "KT01;P-BUON-MA-THUOT;04/2026;40,25;"), head)
    changes = second.report["changes"]
    kt01 = unit_id(session, "P-BUON-MA-THUOT")
    assert (changes["new"], changes["changed"], changes["unchanged"]) == (1, 1, 1)
    assert changes["changed_rows"] == [[2, "KT01", kt01, "2026-03", 62.5, 65.0]]
    assert changes["new_rows"] == [[4, "KT01", kt01, "2026-04", 40.25]]
    assert stored(session)[("KT01", "P-BUON-MA-THUOT", "2026-03")] == 62.5  # the dry run changed nothing
    ingest.decide(second.id, "keep_good", head)
    march = session.scalar(select(Value).where(Value.indicator_code == "KT01", Value.period == "2026-03"))
    revenue = session.scalar(select(Value).where(Value.indicator_code == "KT02"))
    april = session.scalar(select(Value).where(Value.period == "2026-04"))
    assert (march.value, march.reported_by, march.upload_id) == (65.0, "tp.buonmathuot", second.id)
    assert (revenue.reported_by, revenue.upload_id) == ("cb.buonmathuot", first.id)  # unchanged: untouched
    history = session.scalars(select(ValueChange).where(ValueChange.value_id == march.id)
                              .order_by(ValueChange.id)).all()
    assert [(h.old_value, h.new_value, h.changed_by, h.upload_id) for h in history] == [
        (None, 62.5, "cb.buonmathuot", first.id), (62.5, 65.0, "tp.buonmathuot", second.id)]
    assert history[0].changed_at == first_moment and history[1].changed_at == clock.now()
    assert session.scalar(select(func.count()).select_from(ValueChange).where(
        ValueChange.value_id == revenue.id)) == 1
    # Evaluation hears of the new and changed values only.
    assert sorted(ingest.committed[1]) == sorted([march.id, april.id])
    assert (session.get(Upload, second.id).new_values, session.get(Upload, second.id).changed_values) == (1, 1)


def test_an_xlsx_file_with_numbers_text_and_dates(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    data = xlsx_file([
        ["MÃ CHỈ TIÊU", "Mã đơn vị", "Kỳ", "Giá trị"],
        ["KT01", "P-BUON-MA-THUOT", "03/2026", 62.5],  # a number cell: taken as it is
        ["KT01", "P-BUON-MA-THUOT", date(2026, 4, 1), "71,25"],  # a date as the month, a decimal comma as text
        ["KT02", "P-BUON-MA-THUOT", "Quý II/2026", 1234567],
        [None, None, None, None],
        ["KT01", "P-BUON-MA-THUOT", "05/2026", -3],  # below 0
        ["KT02", "P-BUON-MA-THUOT", date(2026, 6, 1), 5],  # a date is no quarter
    ])
    upload = ingest.dry_run("bao-cao.xlsx", data, officer)
    assert upload.kind == "xlsx"
    assert errors_of(upload) == [
        (6, "Giá trị", "-3 is below 0, the smallest value KT01 may take"),
        (7, "Kỳ", "06/2026 is not a quarter (write 2026-Q1 or Q1/2026)"),
    ]
    ingest.decide(upload.id, "keep_good", officer)
    assert stored(session) == {("KT01", "P-BUON-MA-THUOT", "2026-03"): 62.5,
                               ("KT01", "P-BUON-MA-THUOT", "2026-04"): 71.25,
                               ("KT02", "P-BUON-MA-THUOT", "2026-Q2"): 1234567.0}


def test_a_file_without_the_columns_or_not_a_table_is_refused_whole(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    upload = ingest.dry_run("sai.csv", "Mã chỉ tiêu;Số tiền\nKT01;5\n".encode(), officer)
    assert upload.decision == "refused" and upload.rows_total == 0
    message = str(from_json(upload.report["file_error"]))
    assert "mã đơn vị / unit" in message and "kỳ / period" in message and "giá trị / value" in message
    picture = ingest.dry_run("anh.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), officer)
    assert "neither a CSV" in str(from_json(picture.report["file_error"]))
    with pytest.raises(ConflictError):
        ingest.decide(picture.id, "keep_good", officer)


def test_a_file_with_no_good_row_cannot_be_kept(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    upload = ingest.dry_run("sai.csv", csv_file("KT99;P-BUON-MA-THUOT;03/2026;5;"), officer)
    with pytest.raises(ConflictError) as refused:
        ingest.decide(upload.id, "keep_good", officer)
    assert "no good row" in str(refused.value)
    assert ingest.decide(upload.id, "refuse", officer).decision == "refused"


def test_the_ioc_and_administrators_report_for_every_unit(ingest, session):
    lines = ("KT01;P-TAN-LAP;03/2026;50;", "KT01;P-BUON-MA-THUOT;03/2026;50;", "KT02;DLK;2026-Q1;9;")
    for username in ("dtv1", "admin"):
        upload = ingest.dry_run("x.csv", csv_file(*lines), actor_of(session, username))
        assert upload.rows_bad == 0 and upload.rows_good == 3, username
    department = ingest.dry_run("x.csv", csv_file(*lines), actor_of(session, "cb.sxd"))
    assert department.rows_bad == 3


def test_english_files_with_commas_read_their_numbers_the_english_way(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    data = (b'indicator,unit,period,value\n'
            b'KT02,P-BUON-MA-THUOT,2026-Q1,"1,234"\n'  # ambiguous: this file writes decimals with a dot
            b'KT02,P-BUON-MA-THUOT,2026-Q2,12.5\n')
    upload = ingest.dry_run("en.csv", data, officer)
    assert [row[4] for row in upload.report["good"]] == [1234.0, 12.5]
    mixed = ingest.dry_run("mixed.csv", csv_file("KT02;P-BUON-MA-THUOT;2026-Q1;1,234;",
                                                 "KT02;P-BUON-MA-THUOT;2026-Q2;12.5;",
                                                 "KT02;P-BUON-MA-THUOT;2026-Q3;12,5;"), officer)
    assert [e[0] for e in errors_of(mixed)] == [2] and "two ways" in errors_of(mixed)[0][2]


def test_the_dry_run_shows_which_rules_would_breach_and_storing_sends_the_values_to_evaluation(
        services, session, clock, catalogue):
    from tests.conftest import BPMN_DIR
    from workflows.monitoring.evaluation import Evaluator
    from workflows.monitoring.models import Breach, Target

    services.definitions.deploy({name: (BPMN_DIR / name).read_text(encoding="utf-8")
                                 for name in ("kpi_breach.bpmn", "kpi_rules.dmn")}, deployed_by="test")
    session.add(Target(indicator_code="KT01", unit_id=None, year=2026, period=None, kind="plan", value=90))
    session.commit()
    evaluated: list[list[int]] = []

    def evaluate(ids):
        evaluated.append(ids)
        Evaluator(services, clock).evaluate(ids)

    ingest = IngestService(session, clock, after_commit=evaluate)
    officer = actor_of(session, "cb.buonmathuot")
    upload = ingest.dry_run("x.csv", csv_file("KT01;P-BUON-MA-THUOT;03/2026;62,5;",
                                              "KT01;P-BUON-MA-THUOT;04/2026;91;"), officer)
    ward = unit_id(session, "P-BUON-MA-THUOT")
    findings = upload.report["findings"]
    assert [(f["indicator"], f["unit_id"], f["period"], f["rule"]) for f in findings] == [
        ("KT01", ward, "2026-03", "target")] and upload.report["findings_total"] == 1
    assert findings[0]["expected"] == 90 and "below its target" in str(from_json(findings[0]["message"]))
    assert session.scalar(select(func.count()).select_from(Breach)) == 0  # the dry run wrote nothing
    ingest.decide(upload.id, "keep_good", officer)
    assert len(evaluated) == 1 and len(evaluated[0]) == 2
    assert session.scalars(select(Breach.period).where(Breach.rule == "target")).all() == ["2026-03"]


# --------------------------------------------------------------------------- the JSON API
def test_json_all_or_nothing_stores_nothing_when_one_value_is_wrong(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    payload = {"mode": "all_or_nothing", "values": [
        {"indicator": "KT01", "unit": "P-BUON-MA-THUOT", "period": "2026-03", "value": 62.5},
        {"indicator": "KT01", "unit": "P-BUON-MA-THUOT", "period": "2026-13", "value": "abc"},
        "not an object",
        {"indicator": "KT01", "unit": "P-BUON-MA-THUOT", "period": "2026-05", "value": [1]},
    ]}
    outcome = ingest.submit_json(payload, officer)
    assert not outcome.ok and outcome.upload is None
    assert [(e["index"], e["field"], str(e["message"])) for e in outcome.errors] == [
        (1, "period", "2026-13: no such month or quarter"),
        (1, "value", "abc is not a number"),
        (2, None, "each value must be an object with indicator, unit, period and value"),
        (3, "value", "must be a text or a number"),
    ]
    assert stored(session) == {} and session.scalar(select(func.count()).select_from(Upload)) == 0


def test_json_keep_good_stores_the_good_values_and_a_dry_run_nothing(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    values = [{"indicator": "KT01", "unit": "P-BUON-MA-THUOT", "period": "2026-03", "value": "62,5"},
              {"indicator": "KT01", "unit": "P-TAN-LAP", "period": "2026-03", "value": 50}]
    dry = ingest.submit_json({"values": values, "mode": "keep_good", "dry_run": True}, officer)
    assert dry.ok and not dry.stored and dry.upload.decision == "dry_run" and stored(session) == {}
    assert [(e["index"], e["field"]) for e in dry.errors] == [(1, "unit")]
    kept = ingest.submit_json({"values": values, "mode": "keep_good"}, officer)
    assert kept.ok and kept.stored and kept.upload.decision == "kept_good" and kept.upload.kind == "json"
    assert stored(session) == {("KT01", "P-BUON-MA-THUOT", "2026-03"): 62.5}
    value = session.scalar(select(Value))
    assert value.source == "api" and value.upload_id == kept.upload.id and ingest.committed == [[value.id]]
    nothing_good = ingest.submit_json({"values": values[1:], "mode": "keep_good"}, officer)
    assert not nothing_good.ok


def test_json_shape_errors(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    outcome = ingest.submit_json({"values": [], "mode": "maybe", "dry_run": "yes"}, officer)
    assert [e["field"] for e in outcome.errors] == ["values", "mode", "dry_run"]
    assert not ingest.submit_json([1, 2], officer).ok


def test_a_value_stored_by_someone_else_at_the_same_moment_refuses_the_store_cleanly(ingest, session, monkeypatch):
    officer, head = actor_of(session, "cb.buonmathuot"), actor_of(session, "tp.buonmathuot")
    line = "KT01;P-BUON-MA-THUOT;03/2026;62,5;"
    first = ingest.dry_run("a.csv", csv_file(line), officer)
    second = ingest.dry_run("b.csv", csv_file(line.replace("62,5", "70")), head)
    ingest.decide(first.id, "keep_good", officer)
    # The second reads the table as it was before the first stored (a race), then inserts the same key.
    monkeypatch.setattr(IngestService, "_existing", lambda self, keys: {})
    with pytest.raises(ConflictError) as clash:
        ingest.decide(second.id, "keep_good", head)
    assert "same moment" in str(clash.value)
    monkeypatch.undo()
    assert session.get(Upload, second.id).decision == "dry_run"  # back to waiting: it may be kept again
    assert stored(session) == {("KT01", "P-BUON-MA-THUOT", "2026-03"): 62.5}
    assert ingest.decide(second.id, "keep_good", head).changed_values == 1
    assert stored(session) == {("KT01", "P-BUON-MA-THUOT", "2026-03"): 70.0}


def test_the_file_to_fill_in_lists_what_the_user_reports_and_comes_back_as_it_was_filled(ingest, session):
    officer = actor_of(session, "cb.buonmathuot")
    data = ingest.template(officer)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Mã chỉ tiêu;Tên chỉ tiêu;Mã đơn vị;Tên đơn vị;Kỳ;Giá trị;Đơn vị tính;Ghi chú"
    rows = [line.split(";") for line in lines[1:]]
    # The ward reports KT01 (monthly) and KT02 (quarterly); not the inactive KT03, not the departments' SYT01.
    assert [(r[0], r[2], r[4]) for r in rows] == [("KT01", "P-BUON-MA-THUOT", "T6/2026"),
                                                  ("KT02", "P-BUON-MA-THUOT", "Q2/2026")]
    filled = "\r\n".join([lines[0]] + [";".join(r[:5] + [value] + r[6:]) for r, value in zip(rows, ["62,5", "1.234"],
                                                                                           strict=True)])
    upload = ingest.dry_run("mau.csv", filled.encode("utf-8-sig"), officer)
    assert upload.rows_bad == 0 and [g[4] for g in upload.report["good"]] == [62.5, 1234.0]
    assert len(ingest.template(actor_of(session, "admin")).splitlines()) > 100  # every ward and commune


def test_a_dissolved_unit_is_refused_and_an_administrator_may_decide_for_the_uploader(ingest, session):
    tan_an = session.scalar(select(AdminUnit).where(AdminUnit.code == "P-TAN-AN"))
    tan_an.active = False
    session.commit()
    operator = actor_of(session, "dtv1")
    upload = ingest.dry_run("x.csv", csv_file("KT01;P-TAN-AN;03/2026;50;", "KT01;P-EA-KAO;03/2026;50;"), operator)
    assert errors_of(upload) == [(2, "Mã đơn vị", "the unit Tân An Ward no longer exists")]
    decided = ingest.decide(upload.id, "keep_good", actor_of(session, "admin"))
    assert decided.decision == "kept_good" and stored(session) == {("KT01", "P-EA-KAO", "2026-03"): 50.0}


def test_xlsx_cells_formatted_as_percentages_are_read_as_excel_shows_them(ingest, session):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Mã chỉ tiêu", "Mã đơn vị", "Kỳ", "Giá trị"])
    sheet.append(["KT01", "P-BUON-MA-THUOT", "03/2026", 0.625])  # Excel shows 62.5 %, keeps 0.625
    sheet.append(["KT02", "P-BUON-MA-THUOT", "Q1/2026", 0.5])  # a revenue in billions shown as 50 %
    sheet.append(["KT01", "P-BUON-MA-THUOT", "04/2026", 71.2])  # a plain number cell
    sheet["D2"].number_format = "0.0%"
    sheet["D3"].number_format = "0%"
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = ingest.dry_run("ty-le.xlsx", buffer.getvalue(), actor_of(session, "cb.buonmathuot"))
    assert [(g[3], g[4]) for g in upload.report["good"]] == [("2026-03", 62.5), ("2026-04", 71.2)]
    assert errors_of(upload) == [
        (3, "Giá trị", "50 %: a percent sign is only allowed for indicators measured in per cent")]
