"""The designer workspace: comparing two versions (or a draft and a version): the coloured diagrams and the list of changes."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
