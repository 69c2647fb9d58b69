"""Units over time without a database: the effective day in Vietnam, and whose work a merged unit's is now."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.clock import FrozenClock
from workflows.admin.units import UnitAdmin
from workflows.models import AdminUnit
from workflows.units import UnitDirectory


def test_the_effective_day_is_the_day_in_vietnam_not_in_utc():
    clock = FrozenClock(datetime(2026, 6, 30, 16, 59, tzinfo=UTC))
    admin = UnitAdmin(None, clock)  # type: ignore[arg-type] - today() reads no database
    assert admin.today() == date(2026, 6, 30)  # 23:59 in Hà Nội
    clock.set(datetime(2026, 6, 30, 17, 0, tzinfo=UTC))
    assert admin.today() == date(2026, 7, 1)  # midnight in Hà Nội: the reform's day


def test_a_merged_unit_stands_for_its_living_successor():
    tan_lap = AdminUnit(id=3, code="P-TAN-LAP", active=True)
    tan_an = AdminUnit(id=2, code="P-TAN-AN", active=False, successor=tan_lap)
    older = AdminUnit(id=1, code="P-OLD", active=False, successor=tan_an)  # merged into one merged later
    directory = UnitDirectory(None)  # type: ignore[arg-type] - current() follows loaded rows only
    assert directory.current(older) is tan_lap
    assert directory.current(tan_lap) is tan_lap


def test_a_merger_still_waiting_for_its_day_leaves_the_unit_its_own():
    successor = AdminUnit(id=3, code="P-TAN-LAP", active=True)
    waiting = AdminUnit(id=2, code="P-TAN-AN", active=True, successor=successor)
    assert UnitDirectory(None).current(waiting) is waiting  # type: ignore[arg-type]


def test_a_cycle_of_successors_ends_instead_of_spinning():
    a = AdminUnit(id=1, code="A", active=False)
    b = AdminUnit(id=2, code="B", active=False, successor=a)
    a.successor = b
    assert UnitDirectory(None).current(a).code in {"A", "B"}  # type: ignore[arg-type]
