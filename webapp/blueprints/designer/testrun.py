"""The designer workspace: test runs of a draft in a sandbox with a simulated clock, kept as test cases."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
