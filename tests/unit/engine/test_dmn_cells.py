"""Decision-table cells written in FEEL: translated to the Python the engine reads, checked by running the engine."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from engine import spiff
from engine.definitions import DefinitionService
from engine.dmn_cells import check_files, input_python, output_python, translate
from engine.expressions import RestrictedEnvironment, RestrictedEvaluator
from engine.registry import OperatorRegistry

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://ioc.test">
  <bpmn:process id="decide" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:businessRuleTask id="rule" name="Decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>table</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def dmn(cell: str, output: str = '"hit"', policy: str = 'hitPolicy="UNIQUE"') -> str:
    """A table of two rules: `cell` on input x gives `output`, anything else gives "miss"."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D" namespace="http://ioc.test">
  <decision id="table" name="Table">
    <decisionTable id="dt" {policy}>
      <input id="in_x" label="Amount"><inputExpression id="ie" typeRef="string"><text>x</text></inputExpression></input>
      <output id="out_result" label="Result" name="result" typeRef="string"/>
      <rule id="r1"><inputEntry id="r1_in"><text>{escape(cell)}</text></inputEntry>
        <outputEntry id="r1_out"><text>{escape(output)}</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2_in"><text>-</text></inputEntry>
        <outputEntry id="r2_out"><text>"miss"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def run(table: str, x):
    """The engine's `result` for input x (the project's sandboxed script engine), or the exception it raised."""
    parser, problems = spiff.parse_files({"p.bpmn": BPMN, "t.dmn": table})
    assert problems == []
    compiled, problems = spiff.compile_process(parser, "decide", lambda _: "p.bpmn")
    assert problems == []
    engine = spiff.make_script_engine(RestrictedEnvironment(RestrictedEvaluator()), lambda *a: None)
    runner = spiff.Runner.start(compiled, engine, {"x": x})
    try:
        runner.run_engine()
    except Exception as exc:  # the engine's own failure is what the "before" half of a case shows
        return exc
    return runner.data.get("result")


# (FEEL written by dmn-js, its Python, inputs the author meant to match, inputs meant not to)
CASES = [
    ("[1..10]", "1 <= ? <= 10", [1, 5, 10], [0, 11]),
    ("]1..10[", "1 < ? < 10", [2, 5], [1, 10, 11]),
    ("[1..10[", "1 <= ? < 10", [1, 9], [10]),
    ('not("a")', '? != "a"', ["b"], ["a"]),
    ('"a","b"', '? in ("a", "b")', ["a", "b"], ["c"]),
    ('not("a", "b")', '? not in ("a", "b")', ["c"], ["a", "b"]),
    ("< 5, > 10", "? < 5 or ? > 10", [4, 11], [5, 10]),
    ("[1..10], 20", "1 <= ? <= 10 or ? == 20", [3, 20], [15]),
    ("true", "True", [True], [False]),
]


@pytest.mark.parametrize(("feel", "python", "hits", "misses"), CASES, ids=[c[0] for c in CASES])
def test_a_feel_cell_is_translated_into_python_the_engine_reads_as_meant(feel, python, hits, misses):
    assert input_python(feel) == python
    for x in hits:
        assert run(dmn(python), x) == "hit", x
    for x in misses:
        assert run(dmn(python), x) == "miss", x


def test_before_translation_the_engine_read_those_cells_otherwise():
    # [1..10] is no Python: trying the rule fails the task.
    assert isinstance(run(dmn("[1..10]"), 5), Exception)
    # "a","b" is a tuple: nothing equals it, so the fallback rule answers.
    assert run(dmn('"a","b"'), "a") == "miss"
    # not("a") is False: "b" does not match.
    assert run(dmn('not("a")'), "b") == "miss"


@pytest.mark.parametrize("cell", ["", "-", '"high"', "5", ">= 5", "? > 3", 'in ("a", "b")', '"what?"', "x_limit"])
def test_cells_already_in_the_engines_python_are_left_alone(cell):
    assert input_python(cell) in (cell, None)
    assert check_files({"t.dmn": dmn(cell)}) == []


def test_output_cells_in_feel_are_translated():
    assert output_python("true") == "True"
    assert output_python("null") == "None"
    assert output_python('"x"') == '"x"'
    assert run(dmn('"a"', output="false"), "a") != "miss"
    [problem] = check_files({"t.dmn": dmn('"a"', output="false")})
    assert problem.element_id == "r1_out"
    assert "write False" in problem.message


def test_a_feel_cell_is_refused_naming_the_decision_the_rule_and_the_column_with_its_python():
    [problem] = check_files({"t.dmn": dmn("[1..10]")})
    assert problem.file == "t.dmn"
    assert problem.element_id == "r1_in"
    assert problem.code == "dmn.feel"
    assert problem.message == ("decision 'Table', rule 1 (r1), column 'Amount': [1..10] is FEEL, which the engine"
                               " does not read (it evaluates Python); write 1 <= ? <= 10")


@pytest.mark.parametrize(("cell", "reason"), [
    ('date("2024-01-01")', "FEEL's date() does not exist in the engine"),
    (">= date and time(\"2024-01-01T00:00:00\")", "FEEL's date and time() does not exist in the engine"),
    ("foo bar", "it is neither a value nor a comparison"),
    ("[1..10 20]", "10 20 is not a value the engine can read"),
])
def test_a_cell_with_no_python_form_is_refused_in_plain_words(cell, reason):
    [problem] = check_files({"t.dmn": dmn(cell)})
    assert "decision 'Table', rule 1 (r1), column 'Amount'" in problem.message
    assert reason in problem.message
    assert "write it in Python" in problem.message


def test_a_cell_the_sandbox_refuses_is_refused():
    evaluator = RestrictedEvaluator()
    [problem] = check_files({"t.dmn": dmn('? == ().__class__')}, evaluator.compile_check)
    assert "is refused" in problem.message


def test_translate_rewrites_the_file_and_the_engine_then_matches():
    xml, changed = translate(dmn("[1..10]"))
    assert changed == 1
    assert check_files({"t.dmn": xml}) == []
    assert run(xml, 5) == "hit"
    assert run(xml, 11) == "miss"


def test_ioc_deploys_check_refuses_a_table_in_feel():
    service = DefinitionService(session=None, registry=OperatorRegistry(), roles={})
    _compiled, problems = service.check({"p.bpmn": BPMN, "t.dmn": dmn('not("a")')})
    assert [(p.file, p.element_id) for p in problems] == [("t.dmn", "r1_in")]
    assert "write ? != \"a\"" in problems[0].message
    _compiled, problems = service.check({"p.bpmn": BPMN, "t.dmn": dmn('? != "a"')})
    assert problems == []


@pytest.mark.parametrize("policy", ['hitPolicy="PRIORITY"', 'hitPolicy="RULE ORDER"', 'hitPolicy="OUTPUT ORDER"',
                                    'hitPolicy="COLLECT" aggregation="SUM"'])
def test_a_hit_policy_the_engine_does_not_apply_is_refused(policy):
    [problem] = check_files({"t.dmn": dmn('"a"', policy=policy)})
    assert (problem.element_id, problem.code) == ("dt", "dmn.hit_policy")
    assert "the engine does not apply hit policy" in problem.message


def test_a_collect_table_without_aggregation_gives_the_list_the_author_reads_in_it():
    assert check_files({"t.dmn": dmn("-", policy='hitPolicy="COLLECT"')}) == []
    # Both rules match: the engine collects both outputs.
    assert run(dmn("-", policy='hitPolicy="COLLECT"'), "a") == ["hit", "miss"]


@pytest.mark.parametrize("policy", ['hitPolicy="FIRST"', 'hitPolicy="ANY"', ""])
def test_first_any_and_unique_are_read_as_the_first_matching_rule(policy):
    assert check_files({"t.dmn": dmn('"a"', policy=policy)}) == []
    assert run(dmn('"a"', policy=policy), "a") == "hit"
