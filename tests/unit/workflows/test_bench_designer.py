"""The designer benchmark's process: about 200 elements, and valid for `ioc deploy`."""

from __future__ import annotations

from lxml import etree

from engine.definitions import DefinitionService
from engine.registry import OperatorRegistry
from workflows.bench_designer import blocks_for, element_count, process_xml
from workflows.roles import lane_roles

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CONTAINERS = {"definitions", "process", "laneSet", "collaboration", "incoming", "outgoing", "flowNodeRef", "script",
              "conditionExpression"}


def test_the_bench_process_has_200_elements_and_ioc_deploy_takes_it():
    xml = process_xml(200)
    root = etree.fromstring(xml.encode("utf-8"))
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e.tag.startswith(BPMN)
                and e.tag[len(BPMN):] not in CONTAINERS]
    assert len(elements) == element_count(blocks_for(200)) == 201
    compiled, problems = DefinitionService(None, OperatorRegistry(), lane_roles()).check({"bench.bpmn": xml})
    assert problems == []
    assert compiled.process_id == "bench_designer"
