"""The designer workspace: migrating running instances to a new version, and replaying decision tables against recent cases."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
