"""The process designer's workspace at /designer/: one blueprint, one submodule per page.

Process designers (and administrators) model, check, test, compare, deploy and migrate BPMN and
DMN here. A page registers itself in the side navigation with `section(...)` and guards its views
with `designer_required()`. Submodules are imported at the bottom, after `bp` exists; add one line
there for a new page. Pages that need JavaScript load a bundle built from `webapp/frontend/pages/`
(`static/build/<page>.js`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.security import require

bp = Blueprint("designer", __name__, url_prefix="/designer")

DESIGNERS = ("designer", "admin")


@dataclass(frozen=True)
class Section:
    """One entry of the workspace's navigation: its page, label, who sees it, where it sorts."""

    endpoint: str
    label: Any  # a lazy_gettext string
    roles: tuple[str, ...] = DESIGNERS
    order: int = 100
    description: Any = ""


SECTIONS: list[Section] = []


def section(endpoint: str, label: Any, roles: tuple[str, ...] = DESIGNERS, order: int = 100,
            description: Any = "") -> None:
    """Add a page to the workspace's navigation (`endpoint` as "designer.library")."""
    SECTIONS[:] = [s for s in SECTIONS if s.endpoint != endpoint]
    SECTIONS.append(Section(endpoint, label, tuple(roles), order, description))
    SECTIONS.sort(key=lambda s: (s.order, s.endpoint))


def designer_required(*roles: str) -> Callable:
    """Let in signed-in process designers and administrators (or holders of `roles`); others get 403."""
    return require(*(roles or DESIGNERS))


def sections_for(actor) -> list[Section]:
    """The workspace's pages the actor may open."""
    if actor is None:
        return []
    return [s for s in SECTIONS if actor.has_role(*s.roles)]


@bp.app_context_processor
def designer_navigation() -> dict[str, Any]:
    """`designer_nav()` in every template: the workspace's pages for the signed-in user."""

    def designer_nav() -> list[Section]:
        return sections_for(current_user.actor) if current_user.is_authenticated else []

    def can_design() -> bool:
        return current_user.is_authenticated and current_user.actor is not None and \
            current_user.actor.has_role(*DESIGNERS)

    return {"designer_nav": designer_nav, "can_design": can_design}


@bp.get("/")
@designer_required()
def index():
    """The workspace's front page: the pages the designer may open."""
    return render_template("designer/index.html", sections=sections_for(current_user.actor))


# Pages: one import per submodule (each adds its routes to `bp` and its entry to the navigation).
from webapp.blueprints.designer import (  # noqa: E402,F401
    checks,
    compare,
    instances,
    library,
    migrate,
    modeler,
    registry,
    testrun,
)

__all__ = ["bp", "designer_required", "section", "_l"]
