"""The designer workspace: the instance view (any case's diagram, element states, data per step)."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
