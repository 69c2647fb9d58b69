"""Placeholder: being built (issue 3)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard/")
def index():
    """Not built yet."""
    abort(404)
