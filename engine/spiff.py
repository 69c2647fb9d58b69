"""Everything that touches SpiffWorkflow: parsing, checking, running, serialising.

Only this module (and the expression sandbox) imports SpiffWorkflow, and it hands
the rest of the engine plain values, so an upgrade of the library touches one file.
"""

from __future__ import annotations

import ast
import contextvars
import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _BpmnMessageEvent
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

# With the spiff parser, messages are the spiff class; events match by exact class.
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.errors import EngineError, ExpressionError, Problem, UnsafeExpressionError
from engine.expressions import RestrictedEnvironment, RestrictedEvaluator, check_storable
from engine.i18n import Named, Text, t, text_of

clock.install()

STATE_FORMAT = "spiff3-nospec"

# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class FormField:
    """One field of a user task's form, declared in the BPMN as `field.NAME`."""

    name: str
    type: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    label: str = ""
    label_en: str = ""
    # Required only when another field of the form has one of these values: (field, values).
    required_when: tuple[str, tuple[str, ...]] | None = None
    # `choice@units`: the choices are a live list the application registers (engine.forms.ChoiceSource).
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form, as stored in the task index."""
        form = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "choices": list(self.choices),
            "label": self.label or self.name,
            "label_en": self.label_en or self.label or self.name,
        }
        if self.required_when:
            form["required_when"] = {"field": self.required_when[0], "values": list(self.required_when[1])}
        if self.source:
            form["source"] = self.source
        return form


FIELD_TYPES = {"text", "textarea", "choice", "bool", "int", "number", "date"}
_FIELD_RE = re.compile(
    r"^\s*(?P<type>[a-z]+)(?:@(?P<source>[a-z_][a-z0-9_]*))?(?P<req>!?)(?:\((?P<when>[^)=]*)=(?P<when_values>[^)]*)\))?\s*(?::(?P<choices>[^|]*))?"
    r"(?:\|(?P<label>[^|]*))?(?:\|(?P<label_en>.*))?$"
)


def parse_field(name: str, spec: str) -> FormField:
    """Read `type[@list][!][:a,b] | nhãn | label` (the `!` marks a required field).

    `choice@units` takes its choices from the live list the application registered as `units`
    (the engine knows no units: see engine.forms.ChoiceSource); it is checked again on completion.

    `!(other=a,b)` marks a field required only when the field `other` of the same form is `a` or `b`
    (a refusal's reason, a rejection's note).
    """
    m = _FIELD_RE.match(spec)
    if m and m["when"] is not None:
        other = m["when"].strip()
        values = tuple(v.strip() for v in m["when_values"].split(",") if v.strip())
        if not m["req"] or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", other) or not values:
            raise ValueError(t("field %(name)s: write a condition as !(field=value,…), e.g. !(decision=reject)",
                               name=repr(name)))
    if not m or m["type"] not in FIELD_TYPES:
        raise ValueError(t("field %(name)s: %(spec)s is not 'type[!][:choice,…] | nhãn | label'"
                           " with a type among %(types)s", name=repr(name), spec=repr(spec),
                           types=", ".join(sorted(FIELD_TYPES))))
    choices = tuple(c.strip() for c in (m["choices"] or "").split(",") if c.strip())
    if m["source"] and (m["type"] != "choice" or choices):
        raise ValueError(t("field %(name)s: only a choice field takes a list, and then no choices after ':'"
                           " (write choice@%(source)s)", name=repr(name), source=m["source"]))
    if m["type"] == "choice" and not choices and not m["source"]:
        raise ValueError(t("field %(name)s: a choice field needs its choices after ':'", name=repr(name)))
    if m["type"] != "choice" and choices:
        raise ValueError(t("field %(name)s: only a choice field takes choices (write choice:%(choices)s)",
                           name=repr(name), choices=",".join(choices)))
    conditional = m["when"] is not None
    return FormField(
        name=name,
        type=m["type"],
        required=bool(m["req"]) and not conditional,
        required_when=(m["when"].strip(), values) if conditional else None,
        choices=choices,
        label=(m["label"] or "").strip(),
        label_en=(m["label_en"] or "").strip(),
        source=m["source"] or "",
    )


@dataclass
class UserTaskInfo:
    """What the engine needs to index one user task element."""

    element_id: str
    title: str
    lane: str | None
    candidate_unit: str | None  # an expression over task data
    due_at: str | None  # an expression over task data giving an ISO moment
    form: list[FormField] = field(default_factory=list)
    instructions: str = ""
    # English forms a designer gives as properties `name_en` and `instructions_en` (the BPMN name is Vietnamese).
    title_en: str = ""
    instructions_en: str = ""


@dataclass
class CompiledDefinition:
    """The parsed, checked form of a definition's files."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]
    messages: set[str]


def _problem_from_validation(exc: ValidationException, fallback_file: str) -> Problem:
    """SpiffWorkflow's refusal in the product's words, with the element it names (or the line it gives)."""
    file = getattr(exc, "file_name", None) or fallback_file
    element = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or getattr(exc, "sourceline", None)
    schema = "DMN" if file.lower().endswith(".dmn") else "BPMN 2.0"
    message, code = plain_words(str(exc), getattr(exc, "tag", "") or "", line, schema)
    return Problem(file=file, element_id=element, message=message, code=code)


_BPMN_PREFIX = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _schema_names(text: str) -> str:
    """lxml's schema message with namespaces as prefixes and without its list of expected elements."""
    text = re.sub(r"\s*Expected is (one of )?\(.*?\)\.?", "", text, flags=re.S)
    text = text.replace(_BPMN_PREFIX, "bpmn:")
    text = re.sub(r"\{[^}]*/DMN/[^}]*\}|\{http://www\.omg\.org/spec/DMN/[^}]*\}", "dmn:", text)
    text = re.sub(r"\{[^}]*/([^/}]+)/?\}", r"\1:", text)
    text = " ".join(text.split()).rstrip(". ")
    for pattern, words in _SCHEMA_WORDS:
        text = re.sub(pattern, words, text)
    return text


_SCHEMA_WORDS = [
    (r"^Element '([^']+)', attribute 'id': '([^']*)' is not a valid value of the atomic type 'xs:ID'$",
     r"the id '\2' of element \1 is used twice or is not a valid id (ids start with a letter or _)"),
    (r"^Element '([^']+)': The attribute '([^']+)' is required but missing$",
     r"element \1 lacks its attribute \2"),
    (r"^Element '([^']+)': This element is not expected$", r"element \1 is not allowed here"),
    (r"^Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed$",
     r"attribute \2 is not allowed on element \1"),
    (r"^Element '([^']+)': Missing child element\(s\)$", r"element \1 lacks a part it must have"),
    (r"^Element '([^']+)', attribute '([^']+)': '([^']*)' is not a valid value of the atomic type '[^']+'$",
     r"attribute \2 of element \1 has the invalid value '\3'"),
    (r"^Element '([^']+)', attribute '([^']+)': \[facet [^\]]*\] The value '([^']*)' is not an element of the set .*$",
     r"attribute \2 of element \1 has the invalid value '\3'"),
]


def _without_internals(text: str) -> str:
    """`text` without object reprs (`<Element … at 0x…>`), exception class wrappers or trailing stops."""
    first = (text.strip().splitlines() or [""])[0]
    first = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "", first)
    wrapped = re.fullmatch(r"[A-Za-z_.]*(?:Error|Exception|Warning)\((.*)\)", first.strip().rstrip(". "))
    if wrapped:
        first = wrapped.group(1).strip("'\" ")
    first = re.sub(r"\b[A-Z][A-Za-z]*(?:Error|Exception): ?", "", first)
    return " ".join(first.split()).rstrip(". ") or "?"


def _ref(value: str) -> str:
    return repr(value.strip().strip("'\""))


# SpiffWorkflow's refusals (3.2.0), each with what it means for the designer and a stable kind.
_SPIFF_REFUSALS: list[tuple[str, Callable[[re.Match[str], str], Text], str]] = [
    (r"^A Service Task must have an operator", lambda m, tag: t(
        "service task has no operator; choose one from the registry"), "operator.missing"),
    (r"^Non-default exclusive outgoing sequence flow without condition", lambda m, tag: t(
        "flow leaves a gateway without a condition and is not its default flow; write a Python condition or make it"
        " the default flow"), "condition.missing"),
    (r"^Process (.+) is not executable", lambda m, tag: t(
        "process %(process)s is marked not executable; mark it executable (in the modeler: select the process and"
        " tick Executable; in the file: isExecutable=\"true\")", process=_ref(m[1])), "process.not_executable"),
    (r"^No start event found", lambda m, tag: t(
        "process has no start event; add one where the work begins"), "process.no_start"),
    (r"^There is no support implemented for this task type", lambda m, tag: t(
        "%(element)s cannot run in this engine; replace it with a task, event or gateway it runs",
        element=tag or "this element"), "element.unsupported"),
    (r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)", lambda m, tag: t(
        "a sub-process needs exactly one start event (it has %(count)s)", count=m[1]), "process.no_start"),
    (r"^A SubWorkflow Must contain an End event", lambda m, tag: t(
        "a sub-process needs an end event; add one inside it"), "process.no_end"),
    (r"^No \"calledElement\" attribute", lambda m, tag: t(
        "call activity names no process to call; choose the process it calls (calledElement)"), "call.missing"),
    (r"^Invalid Script Task", lambda m, tag: t("script task has no script; write one in Python"), "script.missing"),
    (r"^Unknown Time Specification", lambda m, tag: t(
        "timer has no definition; give it a date, a duration or a cycle, e.g. \"PT4H\""), "timer.missing"),
    (r"^Time Specification Error", lambda m, tag: t(
        "timer cannot be read; give it a date, a duration or a cycle, e.g. \"PT4H\""), "timer.invalid"),
    (r"^Conditional event definition with missing condition", lambda m, tag: t(
        "conditional event has no condition; write one in Python"), "condition.missing"),
    (r"^Duplicate process ID: (.+)", lambda m, tag: t(
        "two processes have the id %(id)s; give one of them another id", id=_ref(m[1])), "process.duplicate"),
    (r"^The process '(.+?)' was not found", lambda m, tag: t(
        "calls process %(called)s, which is in none of the files deployed together; add its file or fix"
        " calledElement", called=_ref(m[1])), "call.missing"),
    (r"^No DMN Diagram available with id \"(.*?)\", Available DMN ids are: ?(.*)", lambda m, tag: t(
        "calls decision %(decision)s, which is in none of the files deployed together (found: %(found)s); add its"
        " .dmn file or fix the decision id", decision=_ref(m[1]), found=m[2].strip().rstrip(".") or t("none")),
     "decision.missing"),
    (r"^No decisions found", lambda m, tag: t("holds no decision table; add one or leave the file out"),
     "decision.none"),
    (r"^Multiple decision tables are not current", lambda m, tag: t(
        "holds several decision tables; put each in a file of its own"), "decision.several"),
    (r"^Unknown type in decision table", lambda m, tag: t(
        "decision table has a part the engine does not read; keep to input and output columns and rules"),
     "decision.invalid"),
    (r"^Malformed Output Expression '(.*?)'", lambda m, tag: t(
        "output %(expression)s is not a Python expression; write it in Python (a text in quotes)",
        expression=repr(m[1])), "decision.invalid"),
    (r"^A multiinstance task must specify a cardinality or a loop input", lambda m, tag: t(
        "repeats for each item but says neither how many times nor over which list; give it a loop cardinality or"
        " an input collection"), "multi_instance.input"),
    (r"^A multiinstance task must specify exactly one", lambda m, tag: t(
        "repeats both a number of times and over a list; keep one of the two"), "multi_instance.input"),
    (r"^The loop input data reference is missing", lambda m, tag: t(
        "repeats over a list its input/output specification does not declare; declare it or name a process"
        " variable"), "multi_instance.input"),
    (r"^A loopMaximum or loopCondition must be specified", lambda m, tag: t(
        "loop has neither a maximum nor a condition; give it one of them"), "loop.invalid"),
    (r"^Cannot resolve data(?:Input|Output)Association (.*)", lambda m, tag: t(
        "data association points at %(name)s, which does not exist; remove it or point it at a data object",
        name=_ref(m[1])), "data.invalid"),
    (r"^(Could not find messageRef|Expected a Message node|Message identifier is missing)", lambda m, tag: t(
        "message event names a message that does not exist; choose one of the file's messages"), "message.missing"),
    (r"^Data Store", lambda m, tag: t(
        "data stores are not supported; keep the data in process variables or let an operator store it"),
     "element.data_store"),
    (r"^(Sequential ordering for ad hoc|Ad hoc subprocesses may not contain)", lambda m, tag: t(
        "ad hoc sub-process must be parallel and hold neither start nor end events"), "element.unsupported"),
]


def plain_words(error: str, tag: str = "", line: Any = None, schema: str = "BPMN 2.0") -> tuple[Text, str]:
    """A SpiffWorkflow or lxml refusal as (message in the product's words, kind)."""
    first = (error.strip().splitlines() or [""])[0].strip()
    element = tag.replace("bpmn:", "") if tag else ""
    for pattern, words, code in _SPIFF_REFUSALS:
        m = re.match(pattern, first)
        if m:
            return words(m, element), code
    if first.startswith("Element '") or "attribute '" in first:  # the XML schema's own words (lxml)
        reason = _schema_names(first)
        if line:
            return t("does not follow the %(schema)s schema at line %(line)s (%(reason)s); fix that line or save the"
                     " file again from the modeler", schema=schema, line=line, reason=reason), "file.schema"
        return t("does not follow the %(schema)s schema (%(reason)s); save the file again from the modeler",
                 schema=schema, reason=reason), "file.schema"
    wrapped = re.fullmatch(r"([A-Za-z_.]*(?:Error|Exception|Warning))\((.*)\)", first.rstrip(". "))
    if wrapped and wrapped[1].endswith("KeyError"):
        return t("refers to %(name)s, which does not exist; check this element's references", name=_ref(wrapped[2])), \
            "element.invalid"
    if wrapped:  # the library tripped over itself: its words would say nothing to the designer
        return t("cannot be read by the engine; check this element's settings and references"), "element.invalid"
    reason = _without_internals(first)
    if line:
        return t("cannot be read by the engine at line %(line)s (%(reason)s); check this element's settings",
                 line=line, reason=reason), "element.invalid"
    return t("cannot be read by the engine (%(reason)s); check this element's settings", reason=reason), \
        "element.invalid"


def _element_at_line(text: str | bytes, line: Any, error: str = "") -> str | None:
    """The id of the element that starts at `line` (the schema names lines, not elements), preferring the
    kind of element `error` names."""
    try:
        from lxml import etree

        root = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text,
                                etree.XMLParser(resolve_entities=False, no_network=True))
    except Exception:  # noqa: BLE001 - not XML: there is no element to name
        return None
    named = re.match(r"Element '(?:\{[^}]*\})?(?:\w+:)?([\w.\-]+)'", error)
    at_line = [node for node in root.iter() if isinstance(node.tag, str) and node.sourceline == line]
    if named:
        at_line.sort(key=lambda node: etree.QName(node).localname != named[1])
    return next((node.get("id") for node in at_line if node.get("id")), None)


def parse_files(files: dict[str, str]) -> tuple[SpiffBpmnParser, list[Problem]]:
    """Parse BPMN and DMN sources with XML-schema validation; collect parse problems."""
    from engine.imports import read_xml

    parser = SpiffBpmnParser(validator=VALIDATOR)
    problems: list[Problem] = []
    for name, text in sorted(files.items()):
        data = text.encode("utf-8") if isinstance(text, str) else text
        try:
            if name.lower().endswith(".dmn"):
                parser.add_dmn_str(data, filename=name)
            elif name.lower().endswith(".bpmn"):
                parser.add_bpmn_str(data, filename=name)
            else:
                problems.append(Problem(name, None, t("only .bpmn and .dmn files can be deployed"), code="file.type"))
        except ValidationException as exc:
            problem = _problem_from_validation(exc, name)
            if problem.element_id is None and getattr(exc, "line_number", None):
                problem = Problem(problem.file, _element_at_line(data, exc.line_number, str(exc)), problem.message,
                                  problem.code)
            problems.append(problem)
        except Exception as exc:  # lxml errors, broken encodings: all say "cannot parse"
            _root, not_xml = read_xml(name, data)
            if not_xml is not None:
                problems.append(not_xml)
            else:
                message, code = plain_words(str(exc))
                problems.append(Problem(name, None, message, code=code))
    return parser, problems


def executable_process_ids(parser: SpiffBpmnParser) -> list[str]:
    """Ids of the processes marked isExecutable in the parsed files."""
    return list(parser.get_process_ids())


def compile_process(parser: SpiffBpmnParser, process_id: str,
                    file_of: Callable[[str], str]) -> tuple[CompiledDefinition | None, list[Problem]]:
    """Build the spec of `process_id` and its called processes, with parse-time problems."""
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        problem = _problem_from_validation(exc, file_of(process_id))
        return None, [Problem(file_of(problem.element_id) if problem.element_id else problem.file,
                              problem.element_id, problem.message, problem.code)]
    except (WorkflowException, KeyError, ValueError) as exc:
        message, code = plain_words(str(exc) if not isinstance(exc, KeyError) else repr(exc))
        return None, [Problem(file_of(process_id), process_id, message, code=code)]
    user_tasks: dict[str, UserTaskInfo] = {}
    messages: set[str] = set()
    problems: list[Problem] = []
    for task_spec in iter_task_specs(spec, subprocess_specs):
        if getattr(task_spec, "dmnEngine", None) is not None:
            _check_decision_results(task_spec.dmnEngine)
        if getattr(task_spec, "manual", False):
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            form = []
            for key, value in props.items():
                if key.startswith("field."):
                    try:
                        form.append(parse_field(key[len("field."):], value))
                    except ValueError as exc:
                        problems.append(Problem(file_of(process_id), task_spec.bpmn_id, text_of(exc), code="form.field"))
            names = {f.name for f in form}
            for f in form:
                if f.required_when and f.required_when[0] not in names:
                    problems.append(Problem(file_of(process_id), task_spec.bpmn_id, t(
                        "field %(name)s is required when %(other)s has a value, but the form has no field %(other)s",
                        name=repr(f.name), other=repr(f.required_when[0])), code="form.field"))
            user_tasks[task_spec.bpmn_id] = UserTaskInfo(
                element_id=task_spec.bpmn_id,
                title=task_spec.bpmn_name or task_spec.bpmn_id,
                lane=task_spec.lane,
                candidate_unit=props.get("candidateUnit"),
                due_at=props.get("dueAt"),
                form=form,
                instructions=(task_spec.extensions or {}).get("instructionsForEndUser") or "",
                title_en=props.get("name_en") or "",
                instructions_en=props.get("instructions_en") or "",
            )
        if isinstance(task_spec, CatchingEvent):
            for event in _event_definitions(getattr(task_spec, "event_definition", None)):
                if isinstance(event, _BpmnMessageEvent):
                    messages.add(event.name)
    compiled = CompiledDefinition(
        process_id=process_id,
        name=spec.description or process_id,
        spec=spec,
        subprocess_specs=subprocess_specs,
        user_tasks=user_tasks,
        messages=messages,
    )
    return compiled, problems


def _check_decision_results(dmn_engine: Any) -> None:
    """A decision's outputs go into task data: one JSON cannot hold fails the business rule task there."""
    result = dmn_engine.result
    if getattr(result, "checks_storable", False):
        return

    def checked(task: Any) -> dict[str, Any]:
        outputs = result(task)
        for name, value in outputs.items():
            check_storable(name, value)
        return outputs

    checked.checks_storable = True  # type: ignore[attr-defined]
    dmn_engine.result = checked


def iter_task_specs(spec: Any, subprocess_specs: dict[str, Any]) -> Iterable[Any]:
    """Every BPMN task spec of a process and of the processes it calls."""
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if getattr(task_spec, "bpmn_id", None):
                yield task_spec


@dataclass(frozen=True)
class ElementCheck:
    """A fact about one element that the deployment check looks at."""

    element_id: str
    kind: str  # service, lane, list, timer, condition, script
    value: Any
    extra: Any = None


def element_checks(compiled: CompiledDefinition) -> Iterable[ElementCheck]:
    """The service operators, lanes, timers, conditions and scripts of a definition."""
    for ts in iter_task_specs(compiled.spec, compiled.subprocess_specs):
        if isinstance(ts, ServiceTask):
            yield ElementCheck(ts.bpmn_id, "service", ts.operation_name, set(ts.operation_params))
        if getattr(ts, "manual", False):
            yield ElementCheck(ts.bpmn_id, "lane", ts.lane)
            info = compiled.user_tasks.get(ts.bpmn_id)
            for form_field in info.form if info else []:
                if form_field.source:
                    yield ElementCheck(ts.bpmn_id, "list", form_field.source, form_field.name)
        for event in _event_definitions(getattr(ts, "event_definition", None)):
            if isinstance(event, TimerEventDefinition):
                yield ElementCheck(ts.bpmn_id, "timer", event.expression, type(event).__name__)
        for condition, target in (getattr(ts, "cond_task_specs", None) or []):
            expression = (getattr(condition, "args", None) or [None])[0]
            if isinstance(expression, str) and expression.strip():
                # `extra`: the element the condition leads to, so the check can name the flow itself.
                yield ElementCheck(ts.bpmn_id, "condition", expression, target)
        for attr in ("script", "prescript", "postscript"):
            if getattr(ts, attr, None):
                yield ElementCheck(ts.bpmn_id, "script", getattr(ts, attr))


def _event_definitions(event: Any) -> list[Any]:
    """The definitions behind an event; an event-based gateway holds several in one."""
    if event is None:
        return []
    if isinstance(event, MultipleEventDefinition):
        return list(event.event_definitions)
    return [event]


_ISO_NAME = re.compile(r"^R?\d*/?P[0-9TYMDHWS]+$")


def check_timer(expression: str, kind: str, evaluator: RestrictedEvaluator) -> Text | None:
    """Why a timer expression cannot work, or None when it can."""
    if not expression or not expression.strip():
        return t("the timer has no expression; give it one such as \"PT4H\"")
    try:
        evaluator.compile_check(expression)
    except ExpressionError as exc:
        # The sandbox's reason without Python's exception name ("SyntaxError: …"), on one line.
        reason = re.sub(r"^[A-Za-z]*(?:Error|Exception): *", "", " ".join(str(text_of(exc)).split()))
        return t("timer expression %(expression)s is not valid: %(reason)s", expression=repr(expression),
                 reason=reason)
    if _ISO_NAME.match(expression.strip()):
        return t("timer expression %(expression)s must be quoted: write \"%(expression)s\" (it is a Python expression)",
                 expression=expression)
    try:
        value = evaluator.evaluate(expression, {})
    except ExpressionError:
        return None  # it depends on process data: checked when it runs
    if not isinstance(value, str):
        return t("timer expression %(expression)s gives %(type)s, not an ISO 8601 text; make it give a text such as \"PT4H\"",
                 expression=repr(expression),
                 type=type(value).__name__)
    try:
        if kind == "TimeDateEventDefinition":
            TimerEventDefinition.get_datetime(value)
        elif kind == "DurationTimerEventDefinition":
            parsed = TimerEventDefinition.parse_iso_duration(value)
            if not any(parsed.values()):
                raise ValueError("zero duration")
        else:
            _cycles, _start, every = TimerEventDefinition.parse_iso_recurring_interval(value)
            if every.total_seconds() <= 0:
                raise ValueError("a cycle must repeat after some time")  # zero would fire in a hot loop
    except Exception:  # the library raises bare ValueErrors and KeyErrors
        want = {"TimeDateEventDefinition": t("a date-time like 2026-01-31T17:00:00+07:00"),
                "DurationTimerEventDefinition": t("a duration longer than zero like \"PT4H\" or \"P2D\""),
                "CycleTimerEventDefinition": t("a cycle with a non-zero period like \"R3/PT1H\"")}[kind]
        return t("timer value %(value)s is not %(wanted)s", value=repr(value), wanted=want)
    return None


# --------------------------------------------------------------------------- running


class ServiceCallFailed(EngineError):
    """A service operator failed for a reason the process should record as an incident."""


@functools.lru_cache(maxsize=4096)
def _syntax_error(expression: str) -> tuple[Any, ...] | None:
    """The arguments of the SyntaxError `expression` raises when parsed, or None (remembered: a pure function)."""
    try:
        ast.parse(expression)
    except SyntaxError as exc:
        return exc.args
    return None


class _ScriptEngine(PythonScriptEngine):
    """Sandboxed expressions plus service tasks dispatched to the operator registry."""

    def __init__(self, environment: RestrictedEnvironment, service_handler: Callable[..., Any]):
        super().__init__(environment=environment)
        self._service_handler = service_handler

    def validate(self, expression):  # noqa: D102
        # The DMN engine parses every input cell twice per rule and evaluation (`needs_eq`) to
        # tell `"a"` from `>= 5`; the answer never changes, so each text is parsed once per process.
        error = _syntax_error(expression)
        if error is not None:
            raise SyntaxError(*error)

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):  # noqa: D102
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        try:
            result = self._service_handler(task, operation_name, params)
        except EngineError as exc:
            # SpiffWorkflow 3.2.0's own error branch would raise a NameError here.
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc
        return json.dumps(result if result is not None else {}, default=str)


_spec_for_load: contextvars.ContextVar[tuple[Any, dict]] = contextvars.ContextVar("ioc_spec_for_load")


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Serialise a workflow without its spec (stored once per definition version)."""

    def to_dict(self, workflow):  # noqa: D102
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):  # noqa: D102
        from uuid import UUID

        spec, subprocess_specs = _spec_for_load.get()
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


@dataclass
class ReadyTask:
    """A human task ready for someone, as plain values."""

    id: str
    element_id: str
    data: dict[str, Any]


@dataclass
class FailedTask:
    """A task in ERROR, as plain values."""

    id: str
    element_id: str
    element_name: str
    data: dict[str, Any]


def element_names(compiled: CompiledDefinition) -> dict[str, Named]:
    """{element id: its name as drawn, with the English one a `name_en` property gives} (named elements only)."""
    names = {}
    for ts in iter_task_specs(compiled.spec, compiled.subprocess_specs):
        if getattr(ts, "bpmn_name", None):
            props = (getattr(ts, "extensions", None) or {}).get("properties", {})
            names[ts.bpmn_id] = Named(ts.bpmn_name, props.get("name_en") or None)
    return names


class Runner:
    """One workflow in memory, wrapped with the operations the engine needs."""

    def __init__(self, compiled: CompiledDefinition, workflow: BpmnWorkflow):
        self.compiled = compiled
        self.workflow = workflow

    # -- life cycle
    @classmethod
    def start(cls, compiled: CompiledDefinition, script_engine: _ScriptEngine, data: dict[str, Any]) -> Runner:
        """A new workflow whose start task carries `data`."""
        wf = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=script_engine)
        start = wf.get_next_task(state=TaskState.READY)
        start.set_data(**data)
        return cls(compiled, wf)

    @classmethod
    def load(cls, compiled: CompiledDefinition, script_engine: _ScriptEngine, state: str) -> Runner:
        """Rebuild a workflow from its saved state and the cached spec."""
        token = _spec_for_load.set((compiled.spec, compiled.subprocess_specs))
        try:
            wf = _SERIALIZER.from_dict(json.loads(state))
        finally:
            _spec_for_load.reset(token)
        wf.script_engine = script_engine
        return cls(compiled, wf)

    def dump(self) -> str:
        """The workflow's state as JSON text, without the spec."""
        return json.dumps(_SERIALIZER.to_dict(self.workflow), separators=(",", ":"))

    def drop_unstorable(self) -> list[tuple[str, Text]]:
        """Take out of every task's data the variables JSON cannot hold: (element id, why) of the first
        task holding each, in the order the tasks ran. The sandbox refuses them in scripts and decisions;
        this keeps an instance saveable whatever else put one there."""
        dropped: list[tuple[str, Text]] = []
        named: set[str] = set()
        for task in [None, *self.workflow.get_tasks()]:
            data = self.workflow.data if task is None else task.data
            for name, value in list(data.items()):
                try:
                    check_storable(name, value)
                except UnsafeExpressionError as exc:
                    del data[name]
                    if name not in named:
                        named.add(name)
                        element = "" if task is None else task.task_spec.bpmn_id or task.task_spec.name
                        dropped.append((element, text_of(exc)))
        return dropped

    # -- stepping
    def run_engine(self) -> None:
        """Run every automatic step until only people, timers or messages are awaited."""
        self.workflow.do_engine_steps()

    def ready_human_tasks(self) -> list[ReadyTask]:
        """READY manual tasks, found on the full task list (get_tasks(state=) skips subtrees)."""
        out = []
        for task in self.workflow.get_tasks():
            if task.state == TaskState.READY and task.task_spec.manual:
                out.append(ReadyTask(str(task.id), task.task_spec.bpmn_id, task.data))
        return out

    def error_tasks(self) -> list[tuple[str, str]]:
        """(task id, element id) of tasks that failed."""
        return [(str(t.id), t.task_spec.bpmn_id or t.task_spec.name)
                for t in self.workflow.get_tasks() if t.state == TaskState.ERROR]

    def complete(self, task_id: str, data: dict[str, Any]) -> None:
        """Complete a ready human task with form data (the caller checked it is ready)."""
        from uuid import UUID

        task = self.workflow.get_task_from_id(UUID(task_id))
        task.set_data(**data)
        task.run()

    def task_state(self, task_id: str) -> str | None:
        """READY, COMPLETED, … for a task id, or None if the workflow has no such task."""
        from uuid import UUID

        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except Exception:  # noqa: BLE001 - the library raises TaskNotFoundException or KeyError
            return None
        return TaskState.get_name(task.state) if task is not None else None

    def send_message(self, name: str, payload: dict[str, Any]) -> None:
        """Deliver a BPMN message; WorkflowException if nothing waits for it."""
        self.workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))

    def cancel(self) -> None:
        """Cancel every unfinished task (subprocesses included): the workflow ends without completing."""
        self.workflow.cancel()

    def retry_errors(self, data: dict[str, Any] | None = None) -> int:
        """Put failed tasks back to READY (with corrected `data`) so the next run tries them again."""
        count = 0
        for task in self.workflow.get_tasks():
            if task.state == TaskState.ERROR:
                if data:
                    task.set_data(**data)
                task._set_state(TaskState.READY)
                count += 1
        return count

    def skip_errors(self) -> list[str]:
        """Mark failed tasks COMPLETED without running them, so the process goes on past them.

        Only an element with at most one way out can be skipped: completing a gateway or a
        task with conditional flows unrun would take every path at once. Nothing changes
        when one of them cannot be skipped (ValueError with its element id).
        """
        failed = [task for task in self.workflow.get_tasks() if task.state == TaskState.ERROR]
        for task in failed:
            if len(task.task_spec.outputs) > 1:
                raise ValueError(task.task_spec.bpmn_id or task.task_spec.name)
        for task in failed:
            # complete() marks it done and readies its successor (the spec's _on_complete), as a
            # successful run would, without running its script or operator again.
            task.complete()
        return [task.task_spec.bpmn_id or task.task_spec.name for task in failed]

    def failed_tasks(self) -> list[FailedTask]:
        """The tasks in ERROR with their element's name and the data they failed with."""
        return [FailedTask(str(task.id), task.task_spec.bpmn_id or task.task_spec.name,
                           task.task_spec.bpmn_name or "", dict(task.data))
                for task in self.workflow.get_tasks() if task.state == TaskState.ERROR]

    def _pending_events(self) -> list[Any]:
        """What the workflow waits for, one entry per event even behind an event-based gateway.

        (`waiting_events()` reports an event-based gateway as one MultipleEventDefinition
        with no value, hiding the timer and message behind it.)
        """
        pending = []
        for task in list(self.workflow.event_manager.tasks.values()):
            for event in _event_definitions(task.task_spec.event_definition):
                pending.append(event.details(task))
        return pending

    def next_timer_at(self) -> datetime | None:
        """The earliest due time of the timers the workflow waits on."""
        dues = []
        for event in self._pending_events():
            if event.event_type in ("TimeDateEventDefinition", "DurationTimerEventDefinition",
                                    "CycleTimerEventDefinition") and event.value:
                try:
                    dues.append(TimerEventDefinition.get_datetime(str(event.value)))
                except ValueError:
                    continue
        return min(dues) if dues else None

    def waiting_messages(self) -> list[str]:
        """Names of the messages the workflow waits for now."""
        return sorted({e.name for e in self._pending_events() if e.event_type == "MessageEventDefinition"})

    @property
    def completed(self) -> bool:
        """Whether the process reached its end."""
        return self.workflow.completed

    @property
    def data(self) -> dict[str, Any]:
        """The workflow's data (set when it completes)."""
        return self.workflow.data


    def last_data(self) -> dict[str, Any]:
        """Data of the most recently run task (the process's current data)."""
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def trace(self) -> list[StepTrace]:
        """Every task of the workflow (and of its subprocesses) that ran, runs, waits, failed or was cancelled
        after it was reached, with its data, in the order they last changed (read only)."""
        out = []
        for workflow in [self.workflow, *self.workflow.subprocesses.values()]:
            for task in workflow.get_tasks():
                element = getattr(task.task_spec, "bpmn_id", None)
                state = TaskState.get_name(task.state)
                if not element or state not in _TRACED_STATES:
                    continue
                parent, before = task.parent, None
                while parent is not None and before is None:
                    before = getattr(parent.task_spec, "bpmn_id", None)
                    parent = parent.parent
                parent_state = TaskState.get_name(task.parent.state) if task.parent is not None else None
                if state == "CANCELLED" and parent_state != "COMPLETED":
                    continue  # only ever predicted: cancelled before anything reached it
                out.append(StepTrace(str(task.id), element, state, bool(getattr(task.task_spec, "manual", False)),
                                     dict(task.data), float(task.last_state_change), before))
        return sorted(out, key=lambda step: step.changed_at)


_TRACED_STATES = {"COMPLETED", "READY", "STARTED", "WAITING", "ERROR", "CANCELLED"}


@dataclass(frozen=True)
class StepTrace:
    """One task of a workflow as plain values: its element, state and data, and the element it came from."""

    task_id: str
    element_id: str
    state: str  # COMPLETED, READY, STARTED, WAITING, ERROR or CANCELLED
    manual: bool
    data: dict[str, Any]
    changed_at: float  # when its state last changed (seconds since the epoch, the server's clock)
    came_from: str | None  # the BPMN element before it in the task tree: the sequence flow it took


def make_script_engine(environment: RestrictedEnvironment, service_handler: Callable[..., Any]) -> _ScriptEngine:
    """A script engine bound to one run's service handler."""
    return _ScriptEngine(environment, service_handler)


def task_ids(task) -> tuple[str, str]:
    """(task id, element id) of a SpiffWorkflow task, for operators' context."""
    return str(task.id), task.task_spec.bpmn_id or task.task_spec.name




def describe_failure(exc: BaseException) -> str:
    """A one-paragraph account of why a step failed, for the incident record."""
    if isinstance(exc, SpiffWorkflowException):
        parts = [str(exc).split("\n")[0]]
        # SpiffWorkflow raises without `from`: the original error is only in __context__.
        cause = exc.__cause__ or getattr(exc, "exception", None) or exc.__context__
        if cause is not None and str(cause) and str(cause) not in parts[0]:
            parts.append(str(cause))
        return ": ".join(parts)
    return f"{type(exc).__name__}: {exc}"




__all__ = [
    "CompiledDefinition",
    "DurationTimerEventDefinition",
    "CycleTimerEventDefinition",
    "TimeDateEventDefinition",
    "WorkflowException",
    "SpiffWorkflowException",
]
