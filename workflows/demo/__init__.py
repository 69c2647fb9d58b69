"""Demo data for Đắk Lắk (clearly marked as demo): units, people, categories, sample cases."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import AdminUnit, Category, User, UserRole
from workflows.questions import parse_questions
from workflows.roles import ROLES

DEMO_PASSWORD = "demo1022"


def demo_data() -> dict[str, Any]:
    """The demo data set shipped with the package."""
    return json.loads(resources.files("workflows.demo").joinpath("dak_lak.json").read_text(encoding="utf-8"))


def load_reference_data(session: Session, data: dict[str, Any], password_hash: str | None = None) -> dict[str, int]:
    """Insert units, users and categories that are not there yet (by code/username); counts added."""
    added = {"units": 0, "users": 0, "categories": 0}
    units = {u.code: u for u in session.scalars(select(AdminUnit))}
    for item in data["units"]:
        if item["code"] in units:
            continue
        parent = units.get(item["parent"]) if item.get("parent") else None
        if item.get("parent") and parent is None:
            raise ValueError(f"unit {item['code']}: parent {item['parent']} is not defined before it")
        unit = AdminUnit(code=item["code"], name=item["name"], name_en=item.get("name_en", ""), kind=item["kind"],
                         parent=parent, lat=item.get("lat"), lon=item.get("lon"))
        session.add(unit)
        units[unit.code] = unit
        added["units"] += 1
    session.flush()
    existing_users = set(session.scalars(select(User.username)))
    for item in data["users"]:
        if item["username"] in existing_users:
            continue
        unit = units[item["unit"]]
        user = User(username=item["username"], full_name=item["full_name"], email=item.get("email"),
                    phone=item.get("phone"), unit=unit, password_hash=password_hash, is_demo=bool(data.get("demo")))
        for role in item["roles"]:
            if role not in ROLES:
                raise ValueError(f"user {item['username']}: unknown role {role}")
            user.roles.append(UserRole(role=role, unit=unit))
        session.add(user)
        added["users"] += 1
    existing_categories = {c.code: c for c in session.scalars(select(Category))}
    for item in data["categories"]:
        questions = item.get("questions") or []
        parse_questions(questions)  # a wrong question stops the load with its name
        if item["code"] in existing_categories:
            category = existing_categories[item["code"]]
            if not category.questions and questions:  # data sets older than the questions gain them
                category.questions = questions
            continue
        department = units.get(item.get("department") or "")
        session.add(Category(code=item["code"], name=item["name"], name_en=item["name_en"],
                             department_id=department.id if department else None,
                             default_priority=item.get("default_priority", "normal"), questions=questions,
                             internal=bool(item.get("internal", False))))
        added["categories"] += 1
    session.flush()
    return added
