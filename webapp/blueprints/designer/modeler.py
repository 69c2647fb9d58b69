"""The designer workspace: the modeler: BPMN and DMN files of a bundle edited in the browser, drafts saved."""

from __future__ import annotations

from webapp.blueprints.designer import bp  # noqa: F401
