"""Categories (lĩnh vực) in the console: names in both languages, extra questions, default priority.

A category is never deleted (cases point at it): it is disabled, and every channel stops offering it.
Which rows of the deployed routing tables name it is read from the newest deployed definitions, so
the console shows what routes cases today, whoever deployed it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from engine.models import ProcessDefinition
from workflows.admin.audit import Target, record, register_actions
from workflows.errors import IntakeError
from workflows.models import PRIORITIES, AdminUnit, Case, Category
from workflows.questions import QUESTION_TYPES
from workflows.units import BODY_KINDS

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_QUESTIONS = 20
# Session caches of categories (workflows/case_service.py, open311_service.py).
_CATEGORY_CACHES = ("ioc_category", "ioc_open311_categories")
_DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"

register_actions({"category.create": t("create category"), "category.update": t("edit category"),
                  "category.disable": t("disable category"), "category.enable": t("enable category")},
                 {"category": t("category")})


class CategoryError(IntakeError):
    """A category form is not acceptable; `fields` maps each field to what to fix."""


@dataclass(frozen=True)
class CategoryForm:
    """The category form: questions as a list of dicts (see workflows/questions.py), choices as lines."""

    code: str
    name: str
    name_en: str
    default_priority: str = "normal"
    department: str = ""  # the answering body's code, chosen from the live list
    questions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RoutingRow:
    """A rule of a deployed decision table that names a category (or takes any category)."""

    processes: tuple[str, ...]  # "field_report v3": the deployed processes whose table holds the rule
    file: str
    rule_id: str
    description: str
    conditions: list[tuple[str, str]]  # (input label, cell) of the cells that are not "-"
    outputs: list[tuple[str, str]]
    any_category: bool  # the category cell is "-": the rule applies whatever the category


@dataclass(frozen=True)
class CategoryRow:
    """A category in the console's list: the row, its department and how many cases use it."""

    category: Category
    department: AdminUnit | None
    cases: int


class CategoryAdmin:
    """Create, edit, disable categories and read the routing rows that name them."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def overview(self) -> list[CategoryRow]:
        """Every category, active first, by Vietnamese name, with its case count."""
        counts = dict(self.session.execute(select(Case.category_code, func.count()).group_by(Case.category_code)).all())
        rows = self.session.scalars(select(Category).order_by(Category.active.desc(), Category.name))
        units = {u.id: u for u in self.session.scalars(select(AdminUnit).where(AdminUnit.kind.in_(sorted(BODY_KINDS))))}
        return [CategoryRow(c, units.get(c.department_id), counts.get(c.code, 0)) for c in rows]

    def get(self, code: str) -> Category | None:
        """The category with this code, or None."""
        return self.session.get(Category, code)

    def departments(self) -> list[AdminUnit]:
        """The bodies that may answer for a category (valid now), by name."""
        return list(self.session.scalars(select(AdminUnit).where(AdminUnit.active.is_(True),
                                                                 AdminUnit.kind.in_(sorted(BODY_KINDS)))
                                         .order_by(AdminUnit.name)))

    def create(self, actor: Any, form: CategoryForm) -> Category:
        """Add a category (active at once)."""
        errors: dict[str, Text] = {}
        code = form.code.strip()
        if not _CODE.match(code):
            errors["code"] = t("write a code of 2 to 40 small letters, digits and _, starting with a letter, "
                               "such as street_lighting")
        elif self.session.get(Category, code) is not None:
            errors["code"] = t("the code %(code)s is taken; choose another", code=code)
        values = self._check(form, errors)
        if errors:
            raise CategoryError(errors)
        category = Category(code=code, active=True, **values)
        self.session.add(category)
        record(self.session, actor, "category.create", Target("category", code, category.name), None,
               _state(category), clock=self.clock)
        self._commit()
        return category

    def update(self, actor: Any, code: str, form: CategoryForm) -> Category:
        """Change a category's names, priority, department and questions (the code stays)."""
        category = self._existing(code)
        errors: dict[str, Text] = {}
        values = self._check(form, errors)
        if errors:
            raise CategoryError(errors)
        before = _state(category)
        for name, value in values.items():
            setattr(category, name, value)
        record(self.session, actor, "category.update", Target("category", code, category.name), before,
               _state(category), clock=self.clock)
        self._commit()
        return category

    def set_active(self, actor: Any, code: str, active: bool) -> Category:
        """Disable a category (no channel offers it any more; its cases keep it) or enable it again."""
        category = self._existing(code)
        if category.active != active:
            before = _state(category)
            category.active = active
            record(self.session, actor, "category.enable" if active else "category.disable",
                   Target("category", code, category.name), before, _state(category), clock=self.clock)
            self._commit()
        return category

    def routing_rows(self, code: str) -> list[RoutingRow]:
        """Rules of the newest deployed decision tables that name the category, then those for any category."""
        newest = (select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("version"))
                  .group_by(ProcessDefinition.process_key).subquery())
        definitions = self.session.scalars(select(ProcessDefinition).join(
            newest, (newest.c.process_key == ProcessDefinition.process_key)
            & (newest.c.version == ProcessDefinition.version)).order_by(ProcessDefinition.process_key))
        rows: dict[tuple, RoutingRow] = {}  # processes that ship the same table show it once
        for definition in definitions:
            for name, source in sorted((definition.files or {}).items()):
                if not name.endswith(".dmn"):
                    continue
                for row in _rules_naming(code, source, f"{definition.process_key} v{definition.version}", name):
                    key = (row.file, row.rule_id, row.description, tuple(row.conditions), tuple(row.outputs))
                    seen = rows.get(key)
                    rows[key] = replace(row, processes=seen.processes + row.processes) if seen else row
        return sorted(rows.values(), key=lambda r: r.any_category)

    # ------------------------------------------------------------------ internals
    def _existing(self, code: str) -> Category:
        category = self.session.get(Category, code)
        if category is None:
            raise CategoryError({"code": t("no category %(code)s; choose one from the list", code=code)})
        return category

    def _check(self, form: CategoryForm, errors: dict[str, Text]) -> dict[str, Any]:
        name, name_en = form.name.strip(), form.name_en.strip()
        if not name:
            errors["name"] = t("write the name in Vietnamese")
        if not name_en:
            errors["name_en"] = t("write the name in English")
        for key, value in (("name", name), ("name_en", name_en)):
            if len(value) > 255:
                errors[key] = t("at most %(n)s characters; shorten it", n=255)
        if form.default_priority not in PRIORITIES:
            errors["default_priority"] = t("choose the priority from the list")
        department_id = None
        if form.department:
            department = self.session.scalar(select(AdminUnit).where(AdminUnit.code == form.department))
            if department is None or not department.active or department.kind not in BODY_KINDS:
                errors["department"] = t("choose a department or body that exists today from the list")
            else:
                department_id = department.id
        questions = check_questions(form.questions, errors)
        return {"name": name, "name_en": name_en, "default_priority": form.default_priority,
                "department_id": department_id, "questions": questions}

    def _commit(self) -> None:
        for key in _CATEGORY_CACHES:
            self.session.info.pop(key, None)
        self.session.commit()


def check_questions(raw: list[dict[str, Any]], errors: dict[str, Text]) -> list[dict[str, Any]]:
    """The questions of a form, cleaned (blank rows dropped); errors keyed "questions.N.field", N the row from 1."""
    questions: list[dict[str, Any]] = []
    names: set[str] = set()
    filled = [(number, q) for number, q in enumerate(raw, start=1)
              if any(str(q.get(k) or "").strip() for k in ("name", "label", "label_en", "choices"))]
    if len(filled) > MAX_QUESTIONS:
        errors["questions"] = t("at most %(n)s questions", n=MAX_QUESTIONS)
        return []
    for number, item in filled:  # numbered as the form's rows, blank rows included
        key = f"questions.{number}"
        name = str(item.get("name") or "").strip()
        kind = str(item.get("type") or "text")
        label, label_en = str(item.get("label") or "").strip(), str(item.get("label_en") or "").strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
            errors[f"{key}.name"] = t("write a short name of small letters, digits and _, such as pole_number")
        elif name in names:
            errors[f"{key}.name"] = t("two questions are named %(name)s; rename one", name=name)
        names.add(name)
        if not label:
            errors[f"{key}.label"] = t("write the question in Vietnamese")
        if len(label) > 255 or len(label_en) > 255:
            errors[f"{key}.label"] = t("at most %(n)s characters; shorten it", n=255)
        if kind not in QUESTION_TYPES:
            errors[f"{key}.type"] = t("choose the kind of answer from the list")
        choices = _choices(item.get("choices"))
        if kind == "choice" and not choices:
            errors[f"{key}.choices"] = t("a choice question needs its choices, one a line: value | label | English label")
        elif kind != "choice" and choices:
            errors[f"{key}.choices"] = t("only a choice question has choices; clear them or pick the kind 'choice'")
        elif len({c["value"] for c in choices}) != len(choices):
            errors[f"{key}.choices"] = t("each choice needs a value of its own")
        question = {"name": name, "label": label, "label_en": label_en, "type": kind,
                    "required": bool(item.get("required"))}
        if choices:
            question["choices"] = choices
        questions.append(question)
    return questions


def questions_as_rows(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions as the form's rows (choices back to "value | label | English label" lines)."""
    return [{**q, "choices": "\n".join(" | ".join(filter(None, (c["value"], c.get("label", ""), c.get("label_en", ""))))
                                       for c in q.get("choices") or [])} for q in questions]


def _choices(raw: Any) -> list[dict[str, str]]:
    if isinstance(raw, list):  # already structured (the API, the demo data)
        return [{"value": str(c["value"]), "label": str(c.get("label") or c["value"]),
                 "label_en": str(c.get("label_en") or "")} for c in raw if str(c.get("value") or "").strip()]
    choices = []
    for line in str(raw or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if parts and parts[0]:
            choices.append({"value": parts[0][:60], "label": (parts[1] if len(parts) > 1 and parts[1] else parts[0])[:255],
                            "label_en": (parts[2] if len(parts) > 2 else "")[:255]})
    return choices


def _rules_naming(code: str, source: str, process: str, file: str) -> list[RoutingRow]:
    """Rules of every decision table in `source` whose category cell names `code` or takes any category."""
    try:
        root = ET.fromstring(source)
    except ET.ParseError:
        return []
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else _DMN
    rows = []
    for table in root.iter(f"{ns}decisionTable"):
        inputs = [(i.get("label") or "", (i.findtext(f"{ns}inputExpression/{ns}text") or "").strip())
                  for i in table.findall(f"{ns}input")]
        outputs = [o.get("label") or o.get("name") or "" for o in table.findall(f"{ns}output")]
        column = next((n for n, (_, expression) in enumerate(inputs) if expression == "category"), None)
        if column is None:
            continue
        quoted = (f'"{code}"', f"'{code}'")
        for rule in table.findall(f"{ns}rule"):
            cells = [(e.findtext(f"{ns}text") or "").strip() for e in rule.findall(f"{ns}inputEntry")]
            if column >= len(cells):
                continue
            cell = cells[column]
            any_category = cell in ("", "-")
            if not any_category and not any(q in cell for q in quoted):
                continue
            results = [(e.findtext(f"{ns}text") or "").strip() for e in rule.findall(f"{ns}outputEntry")]
            rows.append(RoutingRow(
                processes=(process,), file=file, rule_id=rule.get("id") or "",
                description=(rule.findtext(f"{ns}description") or "").strip(),
                conditions=[(inputs[n][0] or inputs[n][1], c) for n, c in enumerate(cells) if c not in ("", "-")],
                outputs=list(zip(outputs, results, strict=False)), any_category=any_category))
    return rows


def _state(category: Category) -> dict[str, Any]:
    return {"code": category.code, "name": category.name, "name_en": category.name_en,
            "default_priority": category.default_priority, "department_id": category.department_id,
            "active": category.active, "questions": category.questions}
