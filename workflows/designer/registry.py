"""What the modeler's properties panel offers: the operators with their parameters, the roles lanes stand for,
the lists form fields choose from, and the deployed processes and decisions a task may call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.i18n import Named
from engine.models import ProcessDefinition
from engine.registry import OperatorRegistry
from workflows.roles import ROLES, lane_roles

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Files come from designers: no entities, no network, no huge trees.
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class DesignerRegistry:
    """The live lists of the modeler, read from the operator registry and the deployed definitions."""

    def __init__(self, session: Session, operators: OperatorRegistry, roles: Mapping[str, tuple[str, str]] = ROLES):
        self.session = session
        self.operators = operators
        self.roles = roles

    def describe(self, language: str) -> dict[str, Any]:
        """The registry as plain data, labels in `language` (vi or en) where the source has both."""
        processes, decisions = self._deployed(language)
        return {
            "operators": [
                {"name": op.name, "description": _in(op.description, language),
                 "params": [{"name": p.name, "required": p.required, "description": _in(p.description, language)}
                            for p in op.params]}
                for op in sorted(self.operators.operators.values(), key=lambda op: op.name)
            ],
            # `names`: every lane name the deploy check reads as this role (key, both labels, aliases).
            "roles": [{"key": key, "label": en if language == "en" else vi, "label_vi": vi, "label_en": en,
                       "names": sorted(name for name, role in lane_roles().items() if role == key)}
                      for key, (vi, en) in self.roles.items()],
            "lists": sorted(self.operators.lists),
            "processes": processes,
            "decisions": decisions,
        }

    def _deployed(self, language: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The newest version of each deployed process, and the decisions its DMN files declare."""
        newest = (select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("version"))
                  .group_by(ProcessDefinition.process_key).subquery())
        rows = self.session.scalars(select(ProcessDefinition).join(
            newest, (ProcessDefinition.process_key == newest.c.process_key)
            & (ProcessDefinition.version == newest.c.version)).order_by(ProcessDefinition.process_key))
        processes, decisions = [], []
        for row in rows:
            name_vi, name_en = _process_names(row.files, row.process_key)
            processes.append({"key": row.process_key, "version": row.version,
                              "name": (name_en if language == "en" else name_vi) or row.name or row.process_key})
            for file, text in sorted(row.files.items()):
                if file.lower().endswith(".dmn"):
                    decisions.extend({"id": decision_id, "name": name, "file": file, "process": row.process_key}
                                     for decision_id, name in _decisions(text))
        return processes, decisions


def _in(text: str, language: str) -> str:
    """A description in `language` when it has both forms (a `Named`), else as written."""
    return text.in_language(language) if isinstance(text, Named) else text


def _parse(text: str) -> Any:
    try:
        return etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _XML)
    except etree.XMLSyntaxError:
        return None  # a deployed file parsed when it was deployed; a broken one offers nothing here


def _process_names(files: Mapping[str, str], process_key: str) -> tuple[str, str]:
    """(Vietnamese name, English `name_en` property) of process `process_key` in the files."""
    for file, text in files.items():
        if not file.lower().endswith(".bpmn") or f'"{process_key}"' not in text:
            continue
        root = _parse(text)
        for process in [] if root is None else root.iter(f"{{{BPMN_NS}}}process"):
            if process.get("id") == process_key:
                english = process.xpath("./b:extensionElements/s:properties/s:property[@name='name_en']/@value",
                                        namespaces={"b": BPMN_NS, "s": SPIFF_NS})
                return process.get("name") or "", (english[0] if english else "")
    return "", ""


def _decisions(text: str) -> list[tuple[str, str]]:
    """(id, name) of the decisions a DMN file declares, whatever its DMN version's namespace."""
    root = _parse(text)
    if root is None:
        return []
    return [(node.get("id"), node.get("name") or node.get("id")) for node in root.iter()
            if isinstance(node.tag, str) and etree.QName(node).localname == "decision" and node.get("id")]
