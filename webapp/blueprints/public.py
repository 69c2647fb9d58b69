"""Published resolutions (list, map, before/after photos), ratings, and units performance: no personal data."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/resolutions")
