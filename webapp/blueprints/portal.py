"""Citizens: submit a field report, follow it by its tracking code, an optional account."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__)
