"""The designer workspace: the library of definitions: processes, versions, downloads, deploys."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
