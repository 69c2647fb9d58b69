"""The 1022 hotline console: one-screen intake of a call, caller history, duplicate check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hotline", __name__, url_prefix="/hotline")
