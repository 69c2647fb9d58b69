"""Monitoring at /monitoring/: indicators, their values and breaches, uploads, the catalogue, alert sources.

One blueprint, one submodule per page. A page registers itself in the side navigation with `section(...)`
and guards its views with `monitoring_required(...)`: officials by default (everyone who sees cases sees the
indicators of the units in their view), or the roles it names. Submodules are imported at the bottom, after
`bp` exists; add one line there for a new page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.security import require

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")

# Who reports values (their unit and the units below it), who edits the catalogue, who manages sources.
REPORTERS = ("officer", "unit_head", "operator", "admin")
CATALOGUE_EDITORS = ("designer", "admin")
SOURCE_ADMINS = ("admin",)


@dataclass(frozen=True)
class Section:
    """One entry of the monitoring navigation: its page, label, who sees it (None: every official), order."""

    endpoint: str
    label: Any  # a lazy_gettext string
    roles: tuple[str, ...] | None = None
    order: int = 100


SECTIONS: list[Section] = []


def section(endpoint: str, label: Any, roles: tuple[str, ...] | None = None, order: int = 100) -> None:
    """Add a page to the monitoring navigation (`endpoint` as "monitoring.upload")."""
    SECTIONS[:] = [s for s in SECTIONS if s.endpoint != endpoint]
    SECTIONS.append(Section(endpoint, label, roles, order))
    SECTIONS.sort(key=lambda s: (s.order, s.endpoint))


def monitoring_required(*roles: str) -> Callable:
    """Let in signed-in officials (or, when given, holders of `roles`); others get 403."""
    return require(*roles) if roles else require(official=True)


def sections_for(actor) -> list[Section]:
    """The monitoring pages the actor may open."""
    if actor is None:
        return []
    return [s for s in SECTIONS if (actor.has_role(*s.roles) if s.roles else actor.is_official)]


@bp.app_context_processor
def monitoring_navigation() -> dict[str, Any]:
    """`monitoring_nav()` in every template: the monitoring pages for the signed-in user (empty for others)."""

    def monitoring_nav() -> list[Section]:
        return sections_for(current_user.actor) if current_user.is_authenticated else []

    return {"monitoring_nav": monitoring_nav}


# Pages: one import line per submodule (each adds its routes to `bp` and its entry to the navigation).
from webapp.blueprints.monitoring import hooks  # noqa: E402,F401

__all__ = ["bp", "monitoring_required", "section", "_l", "REPORTERS", "CATALOGUE_EDITORS", "SOURCE_ADMINS"]
from webapp.blueprints.monitoring import catalogue, overview, upload  # noqa: E402,F401
