"""The live lists task forms offer as `choice@NAME` fields: the units that handle cases, the categories.

The engine knows no units (engine.forms.ChoiceSource); these lists read the database each time, so a
unit or category added, merged or retired by an administrator is offered (or refused) at once, and a
completion is checked against the list as it is then, whatever the page showed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.forms import ChoiceSource
from engine.registry import OperatorRegistry
from workflows.models import AdminUnit, Category, User, UserRole
from workflows.reference import categories

# A unit a case can be handed to: one where somebody can take the handling task (an active officer).
_HANDLING_ROLE = "officer"


def _handling_units(session: Session, code: str | None = None):
    query = (select(AdminUnit.code, AdminUnit.name, AdminUnit.name_en)
             .where(AdminUnit.active.is_(True),
                    AdminUnit.id.in_(select(UserRole.unit_id).join(User, User.id == UserRole.user_id)
                                     .where(UserRole.role == _HANDLING_ROLE, User.active.is_(True))))
             .order_by(AdminUnit.name))
    if code is not None:
        query = query.where(AdminUnit.code == code)
    return session.execute(query)


def unit_options(session: Session, language: str) -> list[tuple[str, str]]:
    """(code, name) of the units that handle cases (an active unit with an active officer), by name."""
    return [(code, f"{name_en or name if language == 'en' else name} ({code})")
            for code, name, name_en in _handling_units(session)]


def is_handling_unit(session: Session, code: str) -> bool:
    """Is `code` one of unit_options now?"""
    return _handling_units(session, code).first() is not None


def category_options(session: Session, language: str) -> list[tuple[str, str]]:
    """(code, name) of the active categories, by Vietnamese name."""
    return [(c.code, c.label(language)) for c in categories(session, internal=False)]


def is_category(session: Session, code: str) -> bool:
    """Is `code` an active category now?"""
    return session.scalar(select(Category.code).where(Category.code == code, Category.active.is_(True),
                                                  Category.internal.is_(False))) is not None


UNITS = ChoiceSource(unit_options, is_handling_unit, "Đơn vị xử lý (đơn vị đang hoạt động có cán bộ xử lý)")
CATEGORIES = ChoiceSource(category_options, is_category, "Lĩnh vực đang dùng")


def register_lists(registry: OperatorRegistry) -> OperatorRegistry:
    """Offer the units and categories to forms as choice@units and choice@categories (returns the registry)."""
    registry.register_list("units", UNITS)
    registry.register_list("categories", CATEGORIES)
    return registry
