"""The administration console at /admin/: one blueprint, one submodule per section.

A section registers its page in the side navigation with `section(...)` and guards its views with
`admin_required(...)` (administrators only, unless it names the roles it admits). Submodules are
imported at the bottom, after `bp` exists; add one line there for a new section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.i18n import translate
from webapp.security import require
from workflows.admin.audit import action_label, target_label

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN = ("admin",)


@dataclass(frozen=True)
class Section:
    """One entry of the console's navigation: its page, label, who sees it, where it sorts."""

    endpoint: str
    label: Any  # a lazy_gettext string
    roles: tuple[str, ...] = ADMIN
    order: int = 100
    description: Any = ""


SECTIONS: list[Section] = []


def section(endpoint: str, label: Any, roles: tuple[str, ...] = ADMIN, order: int = 100,
            description: Any = "") -> None:
    """Add a page to the console's navigation (`endpoint` as "admin.users"); shown to holders of `roles`."""
    SECTIONS[:] = [s for s in SECTIONS if s.endpoint != endpoint]
    SECTIONS.append(Section(endpoint, label, tuple(roles), order, description))
    SECTIONS.sort(key=lambda s: (s.order, s.endpoint))


def admin_required(*roles: str) -> Callable:
    """Let in signed-in administrators (or holders of `roles`, e.g. "admin", "designer"); others get 403."""
    return require(*(roles or ADMIN))


def sections_for(actor) -> list[Section]:
    """The console's sections the actor may open."""
    if actor is None:
        return []
    return [s for s in SECTIONS if actor.has_role(*s.roles)]


@bp.app_context_processor
def admin_navigation() -> dict[str, Any]:
    """`admin_nav()` in every template: the console's sections for the signed-in user (empty for others)."""

    def admin_nav() -> list[Section]:
        return sections_for(current_user.actor) if current_user.is_authenticated else []

    return {"admin_nav": admin_nav, "audit_action": lambda key: translate(action_label(key)),
            "audit_target": lambda kind: translate(target_label(kind))}


@bp.get("/")
@require()
def index():
    """The console's front page: the sections the user may open."""
    sections = sections_for(current_user.actor)
    if not sections:
        abort(403)
    return render_template("admin/index.html", sections=sections)


section("admin.audit", _l("Audit log"), order=900,
        description=_l("Who did what in the console, when, with the state before and after."))

# Sections: one import per submodule (each adds its routes to `bp` and its entry to the navigation).
import webapp.blueprints.admin.alert_sources  # noqa: E402,F401
import webapp.blueprints.admin.audit  # noqa: E402,F401
import webapp.blueprints.admin.calendar  # noqa: E402,F401
import webapp.blueprints.admin.deliveries  # noqa: E402,F401
import webapp.blueprints.admin.incidents  # noqa: E402,F401
import webapp.blueprints.admin.keys  # noqa: E402,F401
import webapp.blueprints.admin.status  # noqa: E402,F401
import webapp.blueprints.admin.users  # noqa: E402,F401
from webapp.blueprints.admin import categories, units  # noqa: E402,F401
