"""Placeholder: being built (issue 3)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("notifications", __name__)


@bp.get("/notifications/")
def index():
    """Not built yet."""
    abort(404)


def init_app(app) -> None:
    """Give templates the unread count of the signed-in user."""
    app.jinja_env.globals["nav_unread"] = lambda: 0
