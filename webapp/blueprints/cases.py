"""Placeholder: being built (issue 3)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("cases", __name__)


@bp.get("/cases/")
def index():
    """Not built yet."""
    abort(404)
