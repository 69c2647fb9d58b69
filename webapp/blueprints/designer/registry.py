"""The designer workspace: the live lists the modeler offers (operators, roles, lists, processes, decisions)."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
