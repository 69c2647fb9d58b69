"""Placeholder: being built (issue 3)."""

from __future__ import annotations

from flask import Blueprint

from webapp.security import require

bp = Blueprint("tasklist", __name__)


@bp.get("/tasks/")
@require(official=True)
def index():
    """Not built yet."""
    return "tasks"
