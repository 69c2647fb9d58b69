"""The monitoring demo (`ioc demo` → webapp/setup.py → workflows/monitoring/demo.py), set up as `ioc demo` does:
a catalogue of at least a dozen clearly synthetic indicators across the ten fields, two years of values, the
newest period sent as files through ingestion, a handful of breaches with their cases, a commune that has not
reported, the demo alert source; and a second set-up adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from webapp import create_app
from webapp.extensions import db
from webapp.setup import setup_demo
from workflows.models import AdminUnit, Case
from workflows.monitoring import demo
from workflows.monitoring.alerts import token_digest
from workflows.monitoring.fields import FIELDS
from workflows.monitoring.models import (
    AlertSource,
    Breach,
    BreachState,
    Indicator,
    MonitoringAlert,
    Target,
    Upload,
    Value,
    ValueChange,
)

NOW = datetime(2026, 3, 20, 2, 30, tzinfo=UTC)  # 09:30 in Đắk Lắk: February's reports are due, March's are not
COUNTED = (Indicator, Target, Value, ValueChange, Upload, Breach, BreachState, Case, AlertSource, MonitoringAlert)


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """An app set up by setup_demo on a fresh SQLite file, its clock at NOW; (app, lines said)."""
    folder = tmp_path_factory.mktemp("monitoring-demo")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}", "FILES_DIR": str(folder / "files"),
                      "TESTING": True, "TIMER_SWEEP": "off", "RATELIMIT_ENABLED": False}, clock=FrozenClock(NOW))
    lines = [str(line) for line in setup_demo(app)]
    yield app, lines
    with app.app_context():
        db.engine.dispose()


def unit_id(session, code: str) -> int:
    return session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))


def test_the_catalogue_covers_the_ten_fields_with_clearly_synthetic_indicators(demo_app):
    app, lines = demo_app
    assert any(line.startswith("monitoring: +16 indicators") for line in lines), lines
    with app.app_context():
        indicators = list(db.session.scalars(select(Indicator).where(Indicator.code.like("DEMO-%"))))
        assert len(indicators) >= 12
        assert {i.field for i in indicators} == set(FIELDS)
        assert {"monthly", "quarterly", "ytd"} <= {i.period for i in indicators}
        assert {i.direction for i in indicators} == {"higher", "lower"}
        assert any(i.seasonal for i in indicators)
        for i in indicators:
            assert i.name.endswith("(demo)") and i.name_en.endswith("(demo)"), i.code
            assert "minh họa" in i.description and i.measure_unit and i.measure_unit_en
            assert i.department_id is not None and i.levels and i.deadline_days > 0
        # Every indicator has the targets of the years of its values; a year-to-date one its plan and shares.
        targets = db.session.execute(select(Target.indicator_code, Target.year, Target.period, Target.kind)).all()
        assert {(code, year) for code, year, *_ in targets} >= {(i.code, y) for i in indicators for y in (2025, 2026)}
        assert ("DEMO-THU-NSNN", 2026, None, "plan") in targets
        assert ("DEMO-THU-NSNN", 2026, "2026-03", "share") in targets


def test_two_years_of_values_for_the_province_and_every_commune_that_reports(demo_app):
    app, _ = demo_app
    with app.app_context():
        s = db.session
        dlk = unit_id(s, "DLK")
        tourism = list(s.scalars(select(Value.period).where(Value.indicator_code == "DEMO-KHACH-DL",
                                                             Value.unit_id == dlk).order_by(Value.period)))
        assert tourism[0] == "2024-03" and tourism[-1] == "2026-02" and len(tourism) == 24
        quarters = list(s.scalars(select(Value.period).where(Value.indicator_code == "DEMO-GRDP").order_by(Value.period)))
        assert quarters == [f"{y}-Q{q}" for y, q in [(2024, 1), (2024, 2), (2024, 3), (2024, 4), (2025, 1), (2025, 2),
                                                      (2025, 3), (2025, 4)]]
        places = s.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.kind.in_(("commune", "ward"))))
        reporters = s.scalar(select(func.count(func.distinct(Value.unit_id)))
                             .where(Value.indicator_code == "DEMO-HS-DUNG-HAN"))
        assert reporters == places
        # Seasons: more dengue in the rainy season, more tourists around Tết than in the off-season.
        dengue = dict(s.execute(select(Value.period, Value.value).where(Value.indicator_code == "DEMO-SXH")).all())
        assert dengue["2025-09"] > 2 * dengue["2025-03"]
        visits = dict(s.execute(select(Value.period, Value.value).where(Value.indicator_code == "DEMO-KHACH-DL")).all())
        assert visits["2025-02"] > visits["2025-10"]
        # Every value has its history; values are deterministic (the generator's, whatever the run).
        assert s.scalar(select(func.count()).select_from(Value)) == s.scalar(
            select(func.count(func.distinct(ValueChange.value_id))))
        expected = {(r.indicator, r.period): r.value for r in demo.generate(NOW.date(), [("DLK", "province")])}
        assert all(expected[("DEMO-SXH", p)] == v for p, v in dengue.items())


def test_the_newest_period_came_in_a_file_and_its_typo_was_corrected_by_a_second(demo_app):
    app, _ = demo_app
    with app.app_context():
        s = db.session
        uploads = list(s.scalars(select(Upload).order_by(Upload.id)))
        if not uploads:
            pytest.skip("the ingestion service is not installed")
        assert [u.decision for u in uploads] == ["stored", "stored"]
        assert uploads[0].uploaded_by == demo.UPLOADER and uploads[0].rows_bad == 0
        value = s.scalar(select(Value).where(Value.indicator_code == demo.TYPO[0],
                                             Value.unit_id == unit_id(s, demo.TYPO[1]), Value.period == "2026-02"))
        changes = list(s.scalars(select(ValueChange).where(ValueChange.value_id == value.id).order_by(ValueChange.id)))
        assert [(c.old_value, c.upload_id) for c in changes] == [(None, uploads[0].id), (changes[1].old_value,
                                                                                          uploads[1].id)]
        assert changes[1].old_value == demo.typo_of(value.value) != value.value
        assert value.upload_id == uploads[1].id and changes[1].new_value == value.value


def test_a_handful_of_breaches_open_cases_and_the_late_commune_is_missing(demo_app):
    app, _ = demo_app
    with app.app_context():
        s = db.session
        late = unit_id(s, demo.LATE_UNIT)
        assert not s.scalar(select(Value.id).where(Value.unit_id == late, Value.period == "2026-02"))
        assert s.scalar(select(func.count()).select_from(Value).where(Value.unit_id == late)) > 0  # it reported before
        if not s.scalar(select(func.count()).select_from(Breach)):
            pytest.skip("the evaluation is not installed")
        breached = {(code, unit, period) for code, unit, period in s.execute(
            select(Breach.indicator_code, Breach.unit_id, Breach.period))}
        for code, unit, period in (("DEMO-HS-DUNG-HAN", "P-TAN-LAP", "2026-02"), ("DEMO-SU-CO-ATTT", "DLK", "2026-02"),
                                   ("DEMO-PAHT-DUNG-HAN", "X-KRONG-PAC", "2026-02"), ("DEMO-PM25", "DLK", "2026-02"),
                                   ("DEMO-THU-NSNN", "DLK", "2026-02"), ("DEMO-TIEM-CHUNG", "X-EA-HLEO", "2025-Q4")):
            assert (code, unit_id(s, unit), period) in breached, (code, unit, period)
        missing = set(s.scalars(select(Breach.indicator_code).where(Breach.rule == "missing", Breach.unit_id == late)))
        assert {"DEMO-HS-DUNG-HAN", "DEMO-PAHT-DUNG-HAN"} <= missing
        assert s.scalars(select(Breach.unit_id).where(Breach.rule == "missing")).all() == [late] * len(missing)
        opened = s.scalar(select(func.count()).select_from(Case).where(Case.channel == "kpi"))
        assert 5 <= opened <= 25  # a handful, not one per commune
        assert s.scalar(select(func.count()).select_from(BreachState).where(BreachState.case_id.is_not(None))) == opened


def test_the_demo_alert_source_takes_the_published_token_and_sent_its_alerts(demo_app):
    app, lines = demo_app
    assert "monitoring: demo alert source added" in lines
    assert "monitoring: 3 demo alerts sent to the webhook" in lines
    with app.app_context():
        source = db.session.scalar(select(AlertSource).where(AlertSource.code == demo.DEMO_ALERT_SOURCE))
        assert source.token_sha256 == token_digest(demo.DEMO_ALERT_TOKEN)
        assert (source.field, source.category_code, source.unit.code) == ("cyber_security", "cyber_security", "CA-DLK")
        assert source.name.endswith("(demo)")
        alerts = {a.alertname: a for a in db.session.scalars(select(MonitoringAlert))}
        assert set(alerts) == {"SSHBruteForce", "TLSCertificateExpiring"}
        assert alerts["SSHBruteForce"].status == "firing" and alerts["SSHBruteForce"].case_id is not None
        assert alerts["TLSCertificateExpiring"].status == "resolved"  # cleared at the source
        assert db.session.scalar(select(func.count()).select_from(Case).where(Case.channel == "alert")) == 2
    # The published token is taken by the real webhook.
    response = app.test_client().post("/monitoring/hooks/alerts", data=demo.demo_alert_calls(NOW)[0],
                                      headers={"Authorization": f"Bearer {demo.DEMO_ALERT_TOKEN}",
                                               "Content-Type": "application/json"})
    assert response.status_code == 202, response.get_data(as_text=True)


def test_a_second_set_up_adds_nothing(demo_app):
    app, _ = demo_app

    def counts() -> dict[str, int]:
        with app.app_context():
            return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}

    before = counts()
    lines = [str(line) for line in setup_demo(app)]
    assert not any(line.startswith("monitoring") for line in lines), lines
    assert counts() == before


def test_ioc_demo_prints_the_monitoring_pages_the_webhook_and_its_demo_token(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from webapp.cli import main

    """`ioc demo` (set up only) says where monitoring is and how another system posts to it."""
    for key, value in {"IOC_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
                       "IOC_FILES_DIR": str(tmp_path / "files"), "IOC_TIMER_SWEEP": "off", "IOC_LANG": "en"}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "monitoring: +16 indicators" in result.output
    assert ("Monitoring: http://127.0.0.1:5000/monitoring/; alerts webhook: POST "
            f"http://127.0.0.1:5000/monitoring/hooks/alerts (demo token: {demo.DEMO_ALERT_TOKEN})") in result.output
