"""Reference lists the forms offer: categories and places."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import AdminUnit, Category
from workflows.units import PLACE_KINDS


@dataclass(frozen=True)
class Choice:
    """One option of a list: its code and its names in both languages."""

    code: str
    name: str
    name_en: str

    def label(self, language: str) -> str:
        """The name in `language` (vi or en)."""
        return self.name_en if language == "en" and self.name_en else self.name


def categories(session: Session, internal: bool = True) -> list[Choice]:
    """Active categories, by Vietnamese name; `internal=False` leaves out those only systems raise cases in
    (indicator breaches, alerts), for the forms where a case of a citizen is classified."""
    query = select(Category.code, Category.name, Category.name_en).where(Category.active.is_(True))
    if not internal:
        query = query.where(Category.internal.is_(False))
    rows = session.execute(query.order_by(Category.name))
    return [Choice(*row) for row in rows]


def places(session: Session, within: Collection[int] | None = None) -> list[Choice]:
    """Active places (province, districts, communes, wards), the province first, then by name.

    `within`: the ids of the units in an official's view. When some of them are places (a ward's
    officer, a district), only those are offered: the others can hold none of their cases. A view
    without places (a department, which receives cases from anywhere) is offered every place.
    """
    rows = session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en, AdminUnit.kind)
                           .where(AdminUnit.active.is_(True), AdminUnit.kind.in_(sorted(PLACE_KINDS)))
                           .order_by(AdminUnit.name)).all()
    if within is not None and any(r.id in within for r in rows):
        rows = [r for r in rows if r.id in within]
    ordered = sorted(rows, key=lambda r: (r.kind != "province", r.name))
    return [Choice(r.code, r.name, r.name_en) for r in ordered]
