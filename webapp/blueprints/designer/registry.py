"""The designer workspace: the live lists the modeler offers (operators, roles, lists, processes, decisions)."""

from __future__ import annotations

from flask import jsonify

from webapp.blueprints.designer import bp, designer_required
from webapp.extensions import db
from webapp.i18n import reader_language
from workflows.designer.registry import DesignerRegistry
from workflows.runtime import REGISTRY


@bp.get("/api/registry")
@designer_required()
def registry_api():
    """The operators with their parameters, roles, choice lists, deployed processes and decisions, as JSON."""
    return jsonify(DesignerRegistry(db.session, REGISTRY).describe(reader_language()))
