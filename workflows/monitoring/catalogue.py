"""The indicator catalogue: indicators and their targets, checked on the server, every change audited.

Designers and administrators edit it (`EDITOR_ROLES`); every official reads it. A form is checked whole, so
the page shows every problem at once and keeps what was typed. Units, departments, categories and fields are
chosen from live lists and checked again here. Targets are the yearly plan of an indicator for a unit (or
for every unit that has none of its own), and a period's target as a plan figure or as a share in % of the
yearly plan due by that period; `TargetBook` reads them back for a unit and period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from workflows.admin.audit import Target as AuditTarget
from workflows.admin.audit import record, register_actions
from workflows.errors import AccessDeniedError, IntakeError
from workflows.models import AdminUnit, Category
from workflows.monitoring.fields import DIRECTIONS, FIELDS, LEVELS, PERIOD_KINDS
from workflows.monitoring.models import Indicator, Target
from workflows.monitoring.periods import Period, PeriodError

EDITOR_ROLES = ("designer", "admin")
DEPARTMENT_KINDS = ("department", "police", "centre", "committee")
TARGET_KINDS = ("plan", "share")
_CODE = re.compile(r"^[A-Z][A-Z0-9_.-]{1,39}$")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}([.,]\d{3})+|\d+)([.,]\d+)?$")

register_actions({"indicator.create": t("create indicator"), "indicator.update": t("edit indicator"),
                  "indicator_target.set": t("set indicator target"),
                  "indicator_target.delete": t("remove indicator target")},
                 {"indicator": t("indicator")})


class CatalogueError(IntakeError):
    """An indicator or target form is not acceptable; `fields` maps each field to what to fix."""


def parse_number(text: str | float | int | None) -> float | None:
    """A number as people type it in Vietnam (75,5 · 1.234,5 · 1.234) or in English (75.5 · 1,234.5); None
    when empty; ValueError otherwise.

    Vietnamese first: a lone comma is the decimal mark, and a lone dot followed by exactly three digits after
    a non-zero integer part (1.234) is a thousands separator, as Vietnamese spreadsheets write them.
    """
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    raw = str(text).strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        return None
    if not _NUMBER.match(raw):
        raise ValueError(raw)
    sign = -1.0 if raw.startswith("-") else 1.0
    raw = raw.lstrip("+-")
    if "," in raw and "." in raw:
        decimal = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal == "," else ","
    elif raw.count(",") > 1:
        decimal, thousands = ".", ","
    elif "," in raw:
        decimal, thousands = ",", "."
    elif raw.count(".") > 1 or re.fullmatch(r"[1-9]\d{0,2}\.\d{3}", raw):
        decimal, thousands = ",", "."
    else:
        decimal, thousands = ".", ","
    whole, _, fraction = raw.replace(thousands, "").partition(decimal)
    return sign * float(f"{whole}.{fraction or 0}")


@dataclass(frozen=True)
class IndicatorForm:
    """The indicator form as typed (numbers as text, Vietnamese decimal commas allowed)."""

    code: str
    name: str
    name_en: str
    field: str
    period: str
    direction: str = "higher"
    measure_unit: str = ""
    measure_unit_en: str = ""
    department: str = ""  # a department's code, chosen from the live list
    levels: tuple[str, ...] = ()
    seasonal: bool = False
    deadline_days: str = "10"
    min_value: str = ""
    max_value: str = ""
    decimals: str = "2"
    category: str = ""  # empty: the field's category
    description: str = ""
    active: bool = True


@dataclass(frozen=True)
class TargetForm:
    """A target as typed: the year, the unit's code (empty: every unit), the period (empty: the yearly plan),
    plan or share (% of the yearly plan), the figure."""

    year: str
    value: str
    unit: str = ""
    period: str = ""
    kind: str = "plan"


@dataclass(frozen=True)
class CatalogueRow:
    """An indicator in the catalogue's list, with its department, category and how many targets it has."""

    indicator: Indicator
    department: AdminUnit | None
    category: Category | None
    targets: int


@dataclass
class TargetBook:
    """The targets of some indicators, read once, answering "what is the target of this unit and period".

    Order: the unit's own target for the period, then every unit's; a period's share is a share of the yearly
    plan (the unit's, else every unit's); with no period target, a cumulative (year-to-date) indicator is due
    its pro-rata share of the yearly plan by the period's end, and any other holds its yearly plan every
    period (a level, such as a rate). The same reading as the rules' (workflows/monitoring/evaluation.py
    expected_target / expected_pro_rata), so the target a page shows is the one a breach was measured against.
    """

    targets: dict[tuple[str, int | None, int, str | None], Target] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, codes: list[str] | set[str], years: list[int] | set[int] | None = None) -> TargetBook:
        """The targets of the indicators `codes` (in `years` when given), in one query."""
        if not codes:
            return cls()
        query = select(Target).where(Target.indicator_code.in_(sorted(codes)))
        if years:
            query = query.where(Target.year.in_(sorted(years)))
        return cls({(r.indicator_code, r.unit_id, r.year, r.period): r for r in session.scalars(query)})

    def yearly_plan(self, code: str, unit_id: int | None, year: int) -> float | None:
        """The yearly plan of the unit (else of every unit)."""
        row = self.targets.get((code, unit_id, year, None)) or self.targets.get((code, None, year, None))
        return row.value if row is not None else None

    def target(self, indicator: Indicator, unit_id: int | None, period: Period) -> float | None:
        """The target of `indicator` for the unit in `period`, or None when the catalogue has none."""
        code = indicator.code
        row = self.targets.get((code, unit_id, period.year, period.key)) or self.targets.get(
            (code, None, period.year, period.key))
        plan = self.yearly_plan(code, unit_id, period.year)
        if row is not None:
            if row.kind == "share":
                return plan * row.value / 100 if plan is not None else None
            return row.value
        if plan is None:
            return None
        return plan * period.share_of_year if indicator.period == "ytd" else plan


class Catalogue:
    """Create and edit indicators and their targets; read the catalogue and its live choices."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    # ------------------------------------------------------------------ reading
    def rows(self, include_inactive: bool = True) -> list[CatalogueRow]:
        """Every indicator (active first, by field then code) with its department, category and target count."""
        query = select(Indicator).order_by(Indicator.active.desc(), Indicator.field, Indicator.code)
        if not include_inactive:
            query = query.where(Indicator.active.is_(True))
        indicators = list(self.session.scalars(query))
        counts: dict[str, int] = {}
        for code in self.session.scalars(select(Target.indicator_code)):
            counts[code] = counts.get(code, 0) + 1
        units = {u.id: u for u in self.departments(active_only=False)}
        categories = {c.code: c for c in self.session.scalars(select(Category))}
        return [CatalogueRow(i, units.get(i.department_id), categories.get(i.category_code), counts.get(i.code, 0))
                for i in indicators]

    def get(self, code: str) -> Indicator | None:
        """The indicator with this code, or None."""
        return self.session.get(Indicator, (code or "")[:40])

    def departments(self, active_only: bool = True) -> list[AdminUnit]:
        """The bodies that may answer for an indicator (departments, police, the centre, committees), by name."""
        query = select(AdminUnit).where(AdminUnit.kind.in_(DEPARTMENT_KINDS)).order_by(AdminUnit.name)
        if active_only:
            query = query.where(AdminUnit.active.is_(True))
        return list(self.session.scalars(query))

    def categories(self) -> list[Category]:
        """The active categories a breach case may take, by name."""
        return list(self.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.name)))

    def targets(self, code: str) -> list[tuple[Target, AdminUnit | None]]:
        """The targets of an indicator: newest year first, the yearly plan before the periods, every unit first."""
        rows = self.session.execute(select(Target, AdminUnit).outerjoin(AdminUnit, AdminUnit.id == Target.unit_id)
                                    .where(Target.indicator_code == code)).all()
        return sorted(((r[0], r[1]) for r in rows),
                      key=lambda r: (-r[0].year, r[1].name if r[1] is not None else "", r[0].period or ""))

    def form_of(self, indicator: Indicator) -> IndicatorForm:
        """The form showing an indicator as it is stored."""
        department = self.session.get(AdminUnit, indicator.department_id) if indicator.department_id else None
        return IndicatorForm(
            code=indicator.code, name=indicator.name, name_en=indicator.name_en, field=indicator.field,
            period=indicator.period, direction=indicator.direction, measure_unit=indicator.measure_unit or "",
            measure_unit_en=indicator.measure_unit_en or "", department=department.code if department else "",
            levels=tuple(indicator.levels or ()), seasonal=bool(indicator.seasonal),
            deadline_days=str(indicator.deadline_days), min_value=_text(indicator.min_value),
            max_value=_text(indicator.max_value), decimals=str(indicator.decimals),
            category=indicator.category_code, description=indicator.description or "", active=bool(indicator.active))

    # ------------------------------------------------------------------ changing
    def create(self, actor: Any, form: IndicatorForm) -> Indicator:
        """Add an indicator to the catalogue."""
        self._editor(actor)
        errors: dict[str, Text] = {}
        code = form.code.strip().upper()
        if not _CODE.match(code):
            errors["code"] = t("write a code of 2 to 40 capital letters, digits, dots, dashes or _, starting with a "
                               "letter, such as KT-GRDP")
        elif self.session.get(Indicator, code) is not None:
            errors["code"] = t("the code %(code)s is taken; choose another", code=code)
        values = self._check(form, errors)
        if errors:
            raise CatalogueError(errors)
        now = self.clock.now()
        indicator = Indicator(code=code, created_at=now, updated_at=now, **values)
        self.session.add(indicator)
        self.session.flush()
        record(self.session, actor, "indicator.create", AuditTarget("indicator", code, indicator.name), None,
               _state(indicator, self.session), clock=self.clock)
        self.session.commit()
        return indicator

    def update(self, actor: Any, code: str, form: IndicatorForm) -> Indicator:
        """Change an indicator (its code stays: values, targets and cases point at it)."""
        self._editor(actor)
        indicator = self._existing(code)
        errors: dict[str, Text] = {}
        values = self._check(form, errors)
        if errors:
            raise CatalogueError(errors)
        before = _state(indicator, self.session)
        for name, value in values.items():
            setattr(indicator, name, value)
        after = _state(indicator, self.session)
        if after != before:
            indicator.updated_at = self.clock.now()
            record(self.session, actor, "indicator.update", AuditTarget("indicator", indicator.code, indicator.name),
                   before, after, clock=self.clock)
        self.session.commit()
        return indicator

    def set_target(self, actor: Any, code: str, form: TargetForm) -> Target:
        """Add or change a target (the same year, unit and period replace the figure)."""
        self._editor(actor)
        indicator = self._existing(code)
        errors: dict[str, Text] = {}
        year = _int(form.year, "year", errors, t("write the year as four digits, such as 2026"), 2000, 2100)
        unit_id = None
        if form.unit.strip():
            unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == form.unit.strip()))
            if unit is None or not unit.active:
                errors["unit"] = t("choose a unit that exists today from the list, or every unit")
            else:
                unit_id = unit.id
        period_key = None
        if form.period.strip():
            try:
                period = Period.parse(indicator.period, form.period)
            except PeriodError as exc:
                errors["period"] = exc.message
            else:
                period_key = period.key
                if year is not None and period.year != year:
                    errors["period"] = t("the period %(period)s is not in the year %(year)s", period=period.key,
                                         year=year)
        kind = form.kind if form.kind in TARGET_KINDS else ""
        if not kind:
            errors["kind"] = t("choose a plan figure or a share of the yearly plan")
        elif kind == "share" and not form.period.strip():
            errors["kind"] = t("a share of the yearly plan is for a period; choose the period, or give the plan figure")
        value = None
        try:
            value = parse_number(form.value)
        except ValueError:
            errors["value"] = t("%(text)s is not a number (write 75,5 or 1.234)", text=form.value.strip()[:40])
        if value is None and "value" not in errors:
            errors["value"] = t("write the target figure")
        elif value is not None and kind == "share" and not 0 <= value <= 100:
            errors["value"] = t("a share is a percentage between 0 and 100")
        if errors:
            raise CatalogueError(errors)
        row = self.session.scalar(select(Target).where(
            Target.indicator_code == indicator.code, Target.year == year, Target.period.is_(None) if period_key is None
            else Target.period == period_key, Target.unit_id.is_(None) if unit_id is None else Target.unit_id == unit_id))
        before = _target_state(row, self.session) if row is not None else None
        if row is None:
            row = Target(indicator_code=indicator.code, unit_id=unit_id, year=year, period=period_key)
            self.session.add(row)
        row.kind, row.value = kind, value
        row.updated_at, row.updated_by = self.clock.now(), actor.username[:120]
        self.session.flush()
        record(self.session, actor, "indicator_target.set", AuditTarget("indicator", indicator.code, indicator.name),
               before, _target_state(row, self.session), clock=self.clock)
        self.session.commit()
        return row

    def delete_target(self, actor: Any, code: str, target_id: int) -> None:
        """Remove a target of the indicator."""
        self._editor(actor)
        indicator = self._existing(code)
        row = self.session.get(Target, target_id)
        if row is None or row.indicator_code != indicator.code:
            raise CatalogueError({"target": t("no such target of this indicator; reload the page")})
        before = _target_state(row, self.session)
        self.session.delete(row)
        record(self.session, actor, "indicator_target.delete", AuditTarget("indicator", indicator.code, indicator.name),
               before, None, clock=self.clock)
        self.session.commit()

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _editor(actor: Any) -> None:
        if not actor.has_role(*EDITOR_ROLES):
            raise AccessDeniedError(t("only process designers and administrators edit the indicator catalogue"))

    def _existing(self, code: str) -> Indicator:
        indicator = self.get(code)
        if indicator is None:
            raise CatalogueError({"code": t("no indicator %(code)s; choose one from the catalogue", code=code)})
        return indicator

    def _check(self, form: IndicatorForm, errors: dict[str, Text]) -> dict[str, Any]:
        name, name_en = form.name.strip(), form.name_en.strip()
        if not name:
            errors["name"] = t("write the name in Vietnamese")
        if not name_en:
            errors["name_en"] = t("write the name in English")
        for key, value in (("name", name), ("name_en", name_en)):
            if len(value) > 255:
                errors[key] = t("at most %(n)s characters; shorten it", n=255)
        unit, unit_en = form.measure_unit.strip(), form.measure_unit_en.strip()
        for key, value in (("measure_unit", unit), ("measure_unit_en", unit_en)):
            if len(value) > 40:
                errors[key] = t("at most %(n)s characters; shorten it", n=40)
        if unit and not unit_en:
            unit_en = unit if unit == "%" else ""
            if not unit_en:
                errors["measure_unit_en"] = t("write the unit of measure in English too")
        if form.field not in FIELDS:
            errors["field"] = t("choose the monitoring field from the list")
        if form.period not in PERIOD_KINDS:
            errors["period"] = t("choose how often it is reported from the list")
        if form.direction not in DIRECTIONS:
            errors["direction"] = t("choose whether higher or lower is better")
        levels = [level for level in LEVELS if level in set(form.levels)]
        if not levels or len(levels) != len(set(form.levels)):
            errors["levels"] = t("choose at least one level that reports it, from the list")
        department_id = None
        if form.department.strip():
            department = self.session.scalar(select(AdminUnit).where(AdminUnit.code == form.department.strip()))
            if department is None or not department.active or department.kind not in DEPARTMENT_KINDS:
                errors["department"] = t("choose a department or body that exists today from the list")
            else:
                department_id = department.id
        else:
            errors["department"] = t("choose the responsible department")
        deadline = _int(form.deadline_days, "deadline_days", errors,
                        t("write the days after the period's end to report it, from 0 to 120"), 0, 120)
        decimals = _int(form.decimals, "decimals", errors, t("write the decimals shown, from 0 to 6"), 0, 6)
        bounds: dict[str, float | None] = {}
        for key in ("min_value", "max_value"):
            try:
                bounds[key] = parse_number(getattr(form, key))
            except ValueError:
                errors[key] = t("%(text)s is not a number (write 75,5 or 1.234)", text=str(getattr(form, key))[:40])
                bounds[key] = None
        if bounds["min_value"] is not None and bounds["max_value"] is not None \
                and bounds["min_value"] >= bounds["max_value"]:
            errors["max_value"] = t("the largest value must be above the smallest")
        category_code = form.category.strip() or (FIELDS[form.field][2] if form.field in FIELDS else "")
        category = self.session.get(Category, category_code) if category_code else None
        if category is None or not category.active:
            errors["category"] = t("choose the category of its cases from the list")
        if len(form.description) > 4000:
            errors["description"] = t("at most %(n)s characters; shorten it", n=4000)
        return {"name": name, "name_en": name_en, "field": form.field, "period": form.period,
                "direction": form.direction, "measure_unit": unit, "measure_unit_en": unit_en,
                "department_id": department_id, "levels": levels, "seasonal": bool(form.seasonal),
                "deadline_days": deadline if deadline is not None else 10,
                "min_value": bounds["min_value"], "max_value": bounds["max_value"],
                "decimals": decimals if decimals is not None else 2, "category_code": category_code,
                "description": form.description.strip(), "active": bool(form.active)}


def _int(text: str, key: str, errors: dict[str, Text], message: Text, low: int, high: int) -> int | None:
    try:
        value = int(str(text).strip())
    except ValueError:
        errors[key] = message
        return None
    if not low <= value <= high:
        errors[key] = message
        return None
    return value


def _text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def _unit_code(session: Session, unit_id: int | None) -> str | None:
    unit = session.get(AdminUnit, unit_id) if unit_id is not None else None
    return unit.code if unit is not None else None


def _state(indicator: Indicator, session: Session) -> dict[str, Any]:
    return {"name": indicator.name, "name_en": indicator.name_en, "field": indicator.field,
            "period": indicator.period, "direction": indicator.direction, "measure_unit": indicator.measure_unit,
            "measure_unit_en": indicator.measure_unit_en,
            "department": _unit_code(session, indicator.department_id),
            "levels": list(indicator.levels or []), "seasonal": bool(indicator.seasonal),
            "deadline_days": indicator.deadline_days, "min_value": indicator.min_value,
            "max_value": indicator.max_value, "decimals": indicator.decimals, "category": indicator.category_code,
            "description": indicator.description, "active": bool(indicator.active)}


def _target_state(row: Target, session: Session) -> dict[str, Any]:
    return {"year": row.year, "unit": _unit_code(session, row.unit_id), "period": row.period,
            "kind": row.kind, "value": row.value}
