"""The designer workspace: checks of a bundle (what `ioc deploy` refuses; the to-do list of an import)."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
