"""The to-do list of a BPMN file from another modeler (Camunda Modeler, Signavio, Bizagi, bpmn.io…).

A file drawn elsewhere opens in the designer's modeler, but this engine runs it only once it
speaks the product's dialect: an executable process, user tasks in lanes named after roles,
operators instead of Java classes, Python instead of JUEL/FEEL. `analyse` reads the files with
lxml alone (no SpiffWorkflow), so even a file that does not parse as a deployable process gets
its list, each item in plain words with the element it concerns and a stable `code`.

Most items stop a deploy (`DefinitionService.check` reports them, in the same words); the codes
in ADVICE are left-overs the engine ignores (a Camunda form, listeners, a data store): the
designer sees them in the to-do list, `ioc deploy` does not refuse for them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from lxml import etree

from engine.errors import ExpressionError, Problem
from engine.expressions import _FORBIDDEN_BUILTINS, RestrictedEvaluator
from engine.i18n import Text, t

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
DMN = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
       "http://www.omg.org/spec/DMN/20151101/dmn.xsd")

# Codes of items that do not stop a deploy: the engine ignores what they name.
ADVICE = frozenset({
    "process.not_run", "form.camunda", "form.start", "extension.listener", "extension.io", "element.data_store", "task.untyped",
    "message.variable",
})

_ACTIVITIES = ("task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
               "businessRuleTask", "callActivity", "subProcess", "adHocSubProcess", "transaction")
_EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway")
FLOW_NODES = frozenset(_ACTIVITIES + _EVENTS + _GATEWAYS)
_CONTAINERS = ("process", "subProcess", "adHocSubProcess", "transaction")
_TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")
_PYTHON_SCRIPTS = {"", "python", "py", "python3", "text/x-python", "text/python", "application/x-python"}
# Camunda's Java/JavaScript ways of reading and writing variables, and what they mean here.
_JAVA_IDIOMS = {"execution", "task", "println", "java", "Packages", "JSON"}
MAX_MESSAGE_TEXT = 80  # characters of an expression quoted in a message


def q(tag: str, ns: str = BPMN) -> str:
    """The Clark name of `tag` in namespace `ns`."""
    return f"{{{ns}}}{tag}"


def local(node: Any) -> str:
    """The tag of `node` without its namespace ('' for comments and processing instructions)."""
    tag = node.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def label(node: Any) -> str:
    """The element's name as drawn (line breaks folded), else its id, quoted."""
    name = " ".join((node.get("name") or "").split())
    return repr(name or node.get("id") or "?")


def shorten(text: str, limit: int = MAX_MESSAGE_TEXT) -> str:
    """`text` on one line, cut at `limit` characters with an ellipsis."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _camunda_attr(node: Any, name: str) -> str | None:
    for ns in CAMUNDA:
        value = node.get(q(name, ns))
        if value is not None:
            return value
    return None


def _camunda_children(node: Any, name: str) -> list[Any]:
    found = []
    for ns in CAMUNDA:
        found.extend(node.iter(q(name, ns)))
    return found


def _spiff_children(node: Any, name: str) -> list[Any]:
    return list(node.iter(q(name, SPIFF)))


def read_xml(name: str, text: str | bytes) -> tuple[Any | None, Problem | None]:
    """The document's root element, or why the text is not XML (in plain words, with the line)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        return etree.fromstring(data, parser), None
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        reason = shorten(re.sub(r",? line \d+, column \d+$", "", exc.msg or ""), 120).rstrip(".")
        return None, Problem(name, None, t("cannot be parsed: it is not well-formed XML at line %(line)s (%(reason)s);"
                                           " save it again from the modeler or fix that line", line=line, reason=reason),
                             code="file.not_xml")
    except ValueError:  # a str with an encoding declaration that does not match
        return None, Problem(name, None, t("cannot be parsed: it is not XML text; save it again as UTF-8 from the modeler"),
                             code="file.not_xml")


def analyse(files: Mapping[str, str], roles: Mapping[str, str] | None = None,
            evaluator: RestrictedEvaluator | None = None) -> list[Problem]:
    """The to-do list of BPMN/DMN files: what to change before the engine can run them."""
    evaluator = evaluator or RestrictedEvaluator()
    problems: list[Problem] = []
    for name, text in sorted(files.items()):
        if not name.lower().endswith((".bpmn", ".dmn")):
            continue  # the deploy check names files of other kinds
        root, problem = read_xml(name, text)
        if problem is not None:
            problems.append(problem)
            continue
        if name.lower().endswith(".dmn"):
            if etree.QName(root).namespace not in DMN or local(root) != "definitions":
                problems.append(Problem(name, None, t("is not a DMN decision table file (it holds %(root)s); export the"
                                                      " table as DMN 1.3 XML", root=repr(local(root) or "?")),
                                        code="file.not_dmn"))
            continue
        if root.tag != q("definitions"):
            problems.append(Problem(name, None, t("is not a BPMN 2.0 file (it holds %(root)s); export the diagram as"
                                                  " BPMN 2.0 XML", root=repr(local(root) or "?")), code="file.not_bpmn"))
            continue
        problems.extend(_BpmnAnalysis(name, root, roles, evaluator).run())
    return _unique(problems)


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[tuple[str, str | None, str | None]] = set()
    out = []
    for p in problems:
        key = (p.file, p.element_id, p.code)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def merge(first: Iterable[Problem], then: Iterable[Problem]) -> list[Problem]:
    """`first`, then the problems of `then` that say nothing new: one per element and kind of problem.

    Two problems are the same kind when their codes share the part before the dot (the import's
    "operator.camunda" and the engine's "operator.missing" on one service task say one thing).
    """
    out = list(first)
    said = {(p.file, p.element_id, (p.code or "").split(".")[0]) for p in out if p.code}
    unreadable = {p.file for p in out if (p.code or "").startswith("file.")}
    for p in then:
        if p.code and (p.file, p.element_id, p.code.split(".")[0]) in said:
            continue
        if p.element_id is None and p.file in unreadable:
            continue  # the file cannot be read: said once is enough
        if p.code == "element.invalid" and any(o.file == p.file and o.element_id == p.element_id for o in out):
            continue  # the library tripping over an element the list already names
        if any(o.file == p.file and o.element_id == p.element_id and o.message == p.message for o in out):
            continue
        out.append(p)
    return out


def blocking(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a deploy (not the advice)."""
    return [p for p in problems if p.code not in ADVICE]


# --------------------------------------------------------------------------- shared words
# The deploy check (engine/definitions.py) says these things in the same words.


def not_executable(file: str, process_id: str, name: str | None = None) -> Problem:
    """A process marked isExecutable="false", and how to mark it."""
    return Problem(file, process_id, t(
        "process %(process)s is marked not executable; mark it executable (in the modeler: select the process and"
        " tick Executable; in the file: isExecutable=\"true\")", process=repr(" ".join((name or "").split()) or process_id)),
        code="process.not_executable")


def no_lane(file: str, element_id: str, camunda_people: str = "") -> Problem:
    """A user task outside every lane (a Camunda assignee or candidate group is named if it had one)."""
    if camunda_people:
        message = t("user task is in no lane; put it in the lane of the role that does it (its Camunda %(people)s is"
                    " not used here)", people=camunda_people)
    else:
        message = t("user task is in no lane; put it in the lane of the role that does it")
    return Problem(file, element_id, message, code="lane.missing")


def unknown_role(file: str, element_id: str, lane: str, roles: Mapping[str, str]) -> Problem:
    """A user task in a lane whose name is no role."""
    known = ", ".join(sorted(set(roles.values())))
    return Problem(file, element_id, t(
        "lane %(lane)s names no known role (known roles: %(known)s); name the lane after one of them",
        lane=repr(lane), known=known), code="lane.role")


def juel_condition(file: str, element_id: str, expression: str, evaluator: RestrictedEvaluator) -> Problem | None:
    """A condition written in JUEL (`${…}`, `#{…}`) or FEEL (`=…`), with a Python suggestion when one is plain."""
    text = expression.strip()
    if re.fullmatch(r"[$#]\{.*\}", text, re.S):
        inner, language = text[2:-1].strip(), "JUEL"
    elif text.startswith("=") and not text.startswith("=="):
        inner, language = text[1:].strip(), "FEEL"
    else:
        return None
    python = _python_of(inner)
    try:
        evaluator.compile_check(python, mode="eval")
    except ExpressionError:
        python = ""
    if python:
        message = t("condition %(expression)s is written in %(language)s; write it in Python, e.g. %(python)s",
                    expression=shorten(text), language=language, python=shorten(python))
    else:
        message = t("condition %(expression)s is written in %(language)s; write it in Python",
                    expression=shorten(text), language=language)
    return Problem(file, element_id, message, code="condition.juel")


_JUEL_TO_PYTHON = [
    (r"&&|\band\b", " and "), (r"\|\||\bor\b", " or "), (r"!(?!=)", " not "), (r"\beq\b", "=="), (r"\bne\b", "!="),
    (r"\bgt\b", ">"), (r"\blt\b", "<"), (r"\bge\b", ">="), (r"\ble\b", "<="), (r"\bnull\b", "None"),
    (r"\btrue\b", "True"), (r"\bfalse\b", "False"),
    (r"(?<![=!<>])=(?!=)", "=="),  # FEEL compares with a single =
]


def _python_of(inner: str) -> str:
    """A JUEL/FEEL comparison in Python words (`&&` → and, `null` → None…); '' when it is not that simple."""
    if re.search(r"[?:;{}]|\bempty\b|\.\w+\(", inner):
        return ""
    out = inner
    for pattern, python in _JUEL_TO_PYTHON:
        out = re.sub(pattern, python, out)
    return " ".join(out.split())


def script_problems(file: str, element_id: str, script: str) -> list[Problem]:
    """Camunda's Java/JavaScript idioms and the sandbox's missing builtins in a Python script."""
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return []  # the sandbox's compile check says why, in its words
    nodes = list(ast.walk(tree))
    assigned = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    problems = []
    idioms = sorted({n.value.id for n in nodes if isinstance(n, ast.Attribute)
                     and isinstance(n.value, ast.Name) and n.value.id in _JAVA_IDIOMS and n.value.id not in assigned})
    if idioms:
        problems.append(Problem(file, element_id, t(
            "script uses %(names)s, Camunda's Java/JavaScript API, which this engine does not provide; in Python, read a"
            " process variable by its name and set one by assigning it (amount = 5)", names=", ".join(idioms)),
            code="script.java"))
    refused = sorted({n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                      and n.func.id in _FORBIDDEN_BUILTINS and n.func.id not in assigned})
    if refused:
        problems.append(Problem(file, element_id, t(
            "script calls %(names)s, which the sandbox does not provide; compute the value another way",
            names=", ".join(refused)), code="script.refused"))
    return problems


# --------------------------------------------------------------------------- one BPMN document


class _BpmnAnalysis:
    """The to-do items of one BPMN document."""

    def __init__(self, file: str, root: Any, roles: Mapping[str, str] | None, evaluator: RestrictedEvaluator):
        self.file = file
        self.root = root
        self.roles = roles
        self.evaluator = evaluator
        self.lane_of: dict[str, str] = {}
        for lane in root.iter(q("lane")):
            for ref in lane.iter(q("flowNodeRef")):
                if ref.getparent() is lane and ref.text:
                    self.lane_of[ref.text.strip()] = " ".join((lane.get("name") or "").split())
        self.messages = {m.get("id"): m for m in root.iter(q("message"))}
        self.by_id = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")}

    def problem(self, node: Any, message: Text, code: str) -> Problem:
        return Problem(self.file, node.get("id"), message, code=code)

    def run(self) -> list[Problem]:
        processes = [p for p in self.root.iter(q("process"))]
        if not processes:
            return [Problem(self.file, None, t("holds no process (only a diagram or a collaboration without a pool's"
                                               " process); draw the process in a pool"), code="process.none")]
        problems: list[Problem] = []
        runs = [p for p in processes if p.get("isExecutable", "true") == "true"]
        called = {c.get("calledElement") for c in self.root.iter(q("callActivity"))}
        for process in processes:
            if process not in runs and runs and process.get("id") not in called:
                # Beside a process that runs, a pool marked not executable is usually a partner drawn
                # for the picture: say it will not run, and look no further into it.
                problems.append(self.problem(process, t(
                    "process %(process)s is marked not executable, so it will not run (a partner's pool drawn for the"
                    " picture); mark it executable if it should run", process=label(process)), "process.not_run"))
                continue
            if process not in runs:
                problems.append(not_executable(self.file, process.get("id"), process.get("name")))
            problems.extend(self._flow(process))
            for node in process.iter():
                problems.extend(self._element(node))
        return problems

    # -- structure
    def _flow(self, container: Any) -> list[Problem]:
        """Start events that lead nowhere and elements no start event reaches, per process and sub-process."""
        problems = []
        nodes = [n for n in container if local(n) in FLOW_NODES and etree.QName(n).namespace == BPMN]
        flows = [f for f in container if f.tag == q("sequenceFlow")]
        for sub in nodes:
            if local(sub) in _CONTAINERS:
                problems.extend(self._flow(sub))
        if local(container) == "adHocSubProcess" or not nodes:
            return problems
        outgoing: dict[str, list[str]] = {}
        for f in flows:
            outgoing.setdefault(f.get("sourceRef"), []).append(f.get("targetRef"))
        starts = [n for n in nodes if local(n) == "startEvent"]
        if not starts:
            if local(container) == "process":
                problems.append(self.problem(container, t("process has no start event; add one where the work begins"),
                    "process.no_start"))
            else:
                problems.append(self.problem(container, t("sub-process has no start event; add one inside it"),
                    "process.no_start"))
            return problems
        for start in starts:
            if not outgoing.get(start.get("id")):
                problems.append(self.problem(start, t("start event leads nowhere; connect it to the first step"),
                    "flow.start_dead_end"))
        seeds = [n.get("id") for n in nodes if local(n) == "startEvent" or _is_event_subprocess(n) or _is_link_catch(n)]
        reached = set(seeds)
        todo = list(seeds)
        boundary = {n.get("id"): n.get("attachedToRef") for n in nodes if local(n) == "boundaryEvent"}
        while todo:
            current = todo.pop()
            nexts = list(outgoing.get(current, []))
            nexts += [b for b, host in boundary.items() if host == current]
            for target in nexts:
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        for n in nodes:
            if n.get("id") not in reached and not (local(n) == "boundaryEvent" and boundary.get(n.get("id")) not in reached):
                problems.append(self.problem(n, t("cannot be reached from any start event; connect it or remove it"),
                    "flow.unreachable"))
        return problems

    # -- one element
    def _element(self, node: Any) -> Iterator[Problem]:
        if not isinstance(node.tag, str):
            return
        ns, tag = etree.QName(node).namespace, local(node)
        if ns != BPMN:
            return
        if tag == "userTask":
            yield from self._user_task(node)
        if tag in ("serviceTask", "sendTask", "businessRuleTask"):
            yield from self._implementation(node, tag)
        if tag == "task":
            yield self.problem(node, t("task has no type, so it does nothing here; make it a user task, a service"
                                       " task or a script task"), "task.untyped")
        if tag == "scriptTask":
            yield from self._script_task(node)
        if tag == "sequenceFlow":
            yield from self._sequence_flow(node)
        if tag == "timerEventDefinition":
            yield from self._timer(node)
        if tag == "messageEventDefinition":
            yield from self._message(node)
        if tag == "complexGateway":
            yield self.problem(node, t("complex gateway cannot run in this engine; use exclusive, inclusive or parallel"
                                       " gateways"), "element.unsupported")
        if tag == "compensateEventDefinition" or node.get("isForCompensation") == "true":
            owner = node if tag != "compensateEventDefinition" else node.getparent()
            yield self.problem(owner, t("uses compensation, which this engine does not run; model the undo steps as"
                                        " ordinary tasks on an error path"),
                               "element.compensation")
        if tag == "linkEventDefinition":
            owner = node.getparent()
            yield self.problem(owner, t("link events are not supported; connect the two ends with a sequence flow"),
                "element.link")
        if tag == "dataStoreReference":
            yield self.problem(node, t("data stores are not supported; keep the data in process variables or let an"
                                       " operator store it"), "element.data_store")
        if tag == "multiInstanceLoopCharacteristics":
            yield from self._multi_instance(node)
        if tag in ("startEvent", "userTask") or tag in _ACTIVITIES:
            yield from self._listeners(node)

    def _user_task(self, node: Any) -> Iterator[Problem]:
        task_id = node.get("id")
        lane = self.lane_of.get(task_id)
        if lane is None:
            people = [f"{attr} {value!r}" for attr in ("assignee", "candidateGroups", "candidateUsers")
                      if (value := _camunda_attr(node, attr))]
            yield no_lane(self.file, task_id, ", ".join(people))
        elif self.roles is not None and lane not in self.roles:
            yield unknown_role(self.file, task_id, lane, self.roles)
        has_fields = any((p.get("name") or "").startswith("field.") for p in _spiff_children(node, "property"))
        camunda_form = _camunda_attr(node, "formKey") or (_camunda_children(node, "formData") and "formData") \
            or (list(node.iter(q("formDefinition", ZEEBE))) and "zeebe:formDefinition")
        if camunda_form and not has_fields:
            yield self.problem(node, t("user task has a Camunda form (%(form)s), which is not shown here; define its"
                                       " fields with the product's form fields", form=shorten(str(camunda_form))), "form.camunda")

    def _implementation(self, node: Any, tag: str) -> Iterator[Problem]:
        if tag == "businessRuleTask":
            ref = _camunda_attr(node, "decisionRef")
            called = [c for c in node.iter(q("calledDecision", ZEEBE))]
            if (ref or called) and not _spiff_children(node, "calledDecisionId"):
                name = ref or called[0].get("decisionId") or "?"
                yield self.problem(node, t("business rule task names its decision the Camunda way (%(decision)s); choose"
                                           " the decision table it calls", decision=repr(name)), "decision.camunda")
            return
        how = [f"camunda:{attr}" for attr in ("class", "expression", "delegateExpression") if _camunda_attr(node, attr)]
        if _camunda_attr(node, "type") == "external":
            how.append("camunda:type=\"external\"")
        if _camunda_children(node, "connector"):
            how.append("camunda:connector")
        if list(node.iter(q("taskDefinition", ZEEBE))):
            how.append("zeebe:taskDefinition")
        if how and not _spiff_children(node, "serviceTaskOperator"):
            if tag == "serviceTask":
                message = t("service task uses a Camunda implementation (%(how)s); choose an operator from the registry"
                            " instead", how=", ".join(how))
            else:
                message = t("send task uses a Camunda implementation (%(how)s); make it a service task and choose an"
                            " operator from the registry", how=", ".join(how))
            yield self.problem(node, message, "operator.camunda")

    def _script_task(self, node: Any) -> Iterator[Problem]:
        language = (node.get("scriptFormat") or "").strip()
        script = node.find(q("script"))
        if _camunda_attr(node, "resource"):
            yield self.problem(node, t("script task reads its script from a separate file (camunda:resource); paste"
                                       " the script into the task, in Python"), "script.missing")
            return
        if language.lower() not in _PYTHON_SCRIPTS:
            yield self.problem(node, t("script task is written in %(language)s; rewrite it in Python",
                                       language=language), "script.language")
            return
        if script is None or not (script.text or "").strip():
            yield self.problem(node, t("script task has no script; write one in Python"),
                               "script.missing")
            return
        yield from script_problems(self.file, node.get("id"), script.text)

    def _sequence_flow(self, node: Any) -> Iterator[Problem]:
        condition = node.find(q("conditionExpression"))
        if condition is not None and (condition.text or "").strip():
            language = (condition.get("language") or "").lower()
            if language and "python" not in language and language not in ("text", "plain"):
                yield self.problem(node, t("condition %(expression)s is written in %(language)s; write it in Python",
                                           expression=shorten(condition.text), language=language), "condition.juel")
                return
            found = juel_condition(self.file, node.get("id"), condition.text, self.evaluator)
            if found is not None:
                yield found
            return
        source = self.by_id.get(node.get("sourceRef"))
        if source is None or local(source) not in ("exclusiveGateway", "inclusiveGateway"):
            return
        if source.get("default") == node.get("id"):
            return
        siblings = [f for f in source.getparent() if f.tag == q("sequenceFlow") and f.get("sourceRef") == source.get("id")]
        if len(siblings) > 1:
            yield self.problem(node, t("flow leaves gateway %(gateway)s without a condition and is not its default flow;"
                                       " write a Python condition or make it the default flow", gateway=label(source)),
                                           "condition.missing")

    def _timer(self, node: Any) -> Iterator[Problem]:
        owner = node.getparent()
        parts = [c for c in node if local(c) in _TIMER_PARTS and (c.text or "").strip()]
        if not parts:
            yield self.problem(owner, t("timer has no definition; give it a date, a duration or a cycle, e.g. \"PT4H\""),
                "timer.missing")
            return
        text = parts[0].text.strip()
        if re.fullmatch(r"[$#]\{.*\}", text, re.S):
            yield self.problem(owner, t("timer is the JUEL expression %(expression)s; write it in Python, e.g. a"
                                        " variable or f\"PT{hours}H\"", expression=shorten(text)),
                               "timer.juel")
        elif local(parts[0]) == "timeCycle" and len(text.split()) >= 5 and not text.startswith(("R", "\"", "'", "f\"")):
            yield self.problem(owner, t("timer is the cron expression %(expression)s; write an ISO 8601 cycle in quotes,"
                                        " e.g. \"R/PT5M\"", expression=shorten(text)),
                               "timer.cron")

    def _message(self, node: Any) -> Iterator[Problem]:
        owner = node.getparent()
        ref = node.get("messageRef")
        message = self.messages.get(ref) if ref else None
        if message is None and ref:
            yield self.problem(owner, t("message event names a message that does not exist; choose one of the file's"
                                        " messages"), "message.missing")
            return
        if message is None:
            yield self.problem(owner, t("message event names no message; choose the message it sends or waits for"),
                               "message.missing")
            return
        catching = local(owner) in ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask")
        if catching and not _spiff_children(message, "messageVariable") and not _spiff_children(node, "messageVariable"):
            yield self.problem(owner, t("message %(message)s brings data that this event drops; give the message a"
                                        " message variable to keep it", message=label(message)),
                               "message.variable")

    def _multi_instance(self, node: Any) -> Iterator[Problem]:
        owner = node.getparent()
        if node.find(q("loopCardinality")) is not None or node.find(q("loopDataInputRef")) is not None:
            return
        collection = _camunda_attr(node, "collection") or next(
            (c.get("inputCollection") for c in node.iter(q("loopCharacteristics", ZEEBE))), None)
        if collection:
            message = t("repeats for each item of its Camunda collection %(collection)s, which is not read here; give it"
                        " a loop cardinality or an input collection", collection=shorten(collection))
        else:
            message = t("repeats for each item but says neither how many times nor over which list; give it a loop"
                        " cardinality or an input collection")
        yield self.problem(owner, message, "multi_instance.input")

    def _listeners(self, node: Any) -> Iterator[Problem]:
        if local(node) == "startEvent" and (_camunda_attr(node, "formKey") or _camunda_children(node, "formData")):
            yield self.problem(node, t("start event has a Camunda start form, which is not shown here (a process starts"
                                       " with the case's data); move its fields to the first user task"), "form.start")
        ext = node.find(q("extensionElements"))
        if ext is None:
            return
        direct = list(ext)
        listeners = [c for c in direct if local(c) in ("executionListener", "taskListener")
                     and etree.QName(c).namespace in CAMUNDA]
        if listeners:
            yield self.problem(node, t("has Camunda listeners, which do not run here; do their work in a Python pre- or"
                                       " post-script"), "extension.listener")
        if any(local(c) in ("inputOutput", "ioMapping") and etree.QName(c).namespace in (*CAMUNDA, ZEEBE) for c in direct):
            yield self.problem(node, t("maps variables the Camunda way (input/output parameters), which is not read here;"
                                       " set the variables in a Python pre- or post-script"),
                               "extension.io")


def _is_event_subprocess(node: Any) -> bool:
    return local(node) == "subProcess" and node.get("triggeredByEvent") == "true"


def _is_link_catch(node: Any) -> bool:
    return local(node) == "intermediateCatchEvent" and node.find(q("linkEventDefinition")) is not None


def with_code(problem: Problem, code: str) -> Problem:
    """`problem` with its kind set (when it has none)."""
    return problem if problem.code else replace(problem, code=code)
