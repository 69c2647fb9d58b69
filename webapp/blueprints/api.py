"""Placeholder: being built (issue 3)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("api", __name__)


@bp.get("/api/v1/")
def index():
    """Not built yet."""
    abort(404)
