"""Decision-table cells: does the engine read each one as its author meant?

dmn-js's simple editors write FEEL (`[1..10]`, `not("a")`, `"a","b"`) while SpiffWorkflow's DMN engine
evaluates Python: an input entry is compared with `==` unless it begins with an operator (`>= 5`), and `?`
stands for the input value. `[1..10]` then raises when the rule is tried, `"a","b"` compares with a tuple and
never matches, `not("a")` compares with False. Each FEEL form the editors write has a Python form that means
the same (`1 <= ? <= 10`, `? in ("a", "b")`, `? != "a"`); `check_files` names the cells written in FEEL with
that form, and those it cannot translate, so no table the engine would read differently is deployed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from lxml import etree

from engine.errors import ExpressionError, Problem
from engine.i18n import Text, t, text_of

_FEEL_LITERALS = {"true": "True", "false": "False", "null": "None"}
# FEEL's built-in functions a table is likely to use; none of them exists in the engine's sandbox.
_FEEL_FUNCTIONS = re.compile(
    r"\b(date and time|date|time|duration|years and months duration|number|string|string length|substring|"
    r"upper case|lower case|contains|starts with|ends with|matches|count|mean|list contains)\s*\(")
_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$", re.S)
_COMPARISON = re.compile(r"^(<=|>=|<|>|!=|==)\s*(.+)$", re.S)
_INPUT = "dmn_input"  # stands for the input value when a cell is checked by the sandbox


class UntranslatableCellError(ValueError):
    """A cell the engine cannot read and that has no Python form; the argument says why."""


@dataclass(frozen=True)
class Cell:
    """One input or output entry of a decision table rule."""

    file: str
    decision: str  # decision id
    decision_name: str
    row: int  # 1-based, as the engine counts rules
    rule_id: str
    column: str  # the column's label, name or expression
    entry_id: str | None
    kind: str  # "input" or "output"
    text: str
    input_expression: str | None = None  # of the input column (input cells only)


# -- reading text outside string literals
def _outside_quotes(text: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth) of every character that is not inside a string literal."""
    quote = None
    depth = 0
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        yield i, ch, depth


def _split_top(text: str) -> list[str]:
    """`text` split at the commas outside strings and brackets."""
    parts, start = [], 0
    for i, ch, depth in _outside_quotes(text):
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _masked(text: str) -> str:
    """`text` with the inside of its string literals blanked out."""
    outside = {i for i, _ch, _d in _outside_quotes(text)}
    return "".join(ch if i in outside else " " for i, ch in enumerate(text))


def _has_marker(text: str) -> bool:
    """Whether `?` (the input value) appears outside string literals."""
    return any(ch == "?" for _i, ch, _d in _outside_quotes(text))


def _parses(source: str) -> bool:
    try:
        ast.parse(source, mode="eval")
    except SyntaxError:
        return False
    return True


def _feel_function(text: str) -> str | None:
    """The FEEL function `text` calls outside its strings, if any."""
    match = _FEEL_FUNCTIONS.search(_masked(text))
    return match.group(1) if match else None


def _negated(text: str) -> str | None:
    """The tests inside a FEEL `not(...)` that spans the whole cell, else None."""
    if not re.match(r"^not\s*\(", text) or not text.endswith(")"):
        return None
    inner_start = text.index("(") + 1
    for i, ch, depth in _outside_quotes(text):
        if i >= inner_start - 1 and ch == ")" and depth == 0 and i != len(text) - 1:
            return None  # `not(a) or not(b)`: the first parenthesis closes early
    return text[inner_start:-1].strip()


# -- FEEL to Python
def _value(text: str) -> str:
    """The Python of a FEEL endpoint or simple value."""
    if text in _FEEL_LITERALS:
        return _FEEL_LITERALS[text]
    function = _feel_function(text)
    if function:
        raise UntranslatableCellError(t("FEEL's %(function)s() does not exist in the engine", function=function))
    if not _parses(text):
        raise UntranslatableCellError(t("%(value)s is not a value the engine can read", value=text))
    return text


def _test(text: str) -> tuple[str, str]:
    """One FEEL unary test as ("eq", value) or ("test", a Python condition on `?`)."""
    match = _RANGE.match(text)
    if match:
        opening, low, high, closing = match.groups()
        low_op = "<=" if opening == "[" else "<"
        high_op = "<=" if closing == "]" else "<"
        return "test", f"{_value(low)} {low_op} ? {high_op} {_value(high)}"
    match = _COMPARISON.match(text)
    if match:
        return "test", f"? {match.group(1)} {_value(match.group(2).strip())}"
    return "eq", _value(text)


def _unary_tests(text: str, negate: bool) -> str:
    """The Python condition meaning the FEEL unary tests `text` (comma-separated, maybe negated)."""
    tests = [_test(part) for part in _split_top(text)]
    if any(not part for part in _split_top(text)):
        raise UntranslatableCellError(t("a comma is followed by nothing"))
    values = [value for kind, value in tests if kind == "eq"]
    if len(values) == len(tests):
        if len(values) == 1:
            return f"? != {values[0]}" if negate else values[0]
        listed = ", ".join(values)
        return f"? not in ({listed})" if negate else f"? in ({listed})"
    conditions = [f"? == {value}" if kind == "eq" else value for kind, value in tests]
    joined = " or ".join(conditions)
    if negate:
        return f"not ({joined})"
    return joined


def input_python(text: str | None) -> str | None:
    """The text of an input cell the engine reads as its author meant: the cell itself when it already is
    (None for "any value"), else the Python form of its FEEL. Raises UntranslatableCellError."""
    cell = (text or "").strip()
    if cell in ("", "-"):
        return None
    if _has_marker(cell):  # `4 < ? < 6`: only the engine's Python has `?`
        if not _parses(cell.replace("?", _INPUT)):
            raise UntranslatableCellError(t("it is not a Python expression"))
        return cell
    inner = _negated(cell)
    if inner is not None:
        return _unary_tests(inner, negate=True)
    if len(_split_top(cell)) > 1 or _RANGE.match(cell) or cell in _FEEL_LITERALS or _feel_function(cell):
        return _unary_tests(cell, negate=False)
    if _parses(cell) or _parses(f"{_INPUT} {cell}"):
        return cell  # compared with ==, or an operator form such as `>= 5` or `in ("a", "b")`
    raise UntranslatableCellError(t("it is neither a value nor a comparison"))


def output_python(text: str | None) -> str | None:
    """The text of an output cell the engine reads as meant (its Python form when it is FEEL)."""
    cell = (text or "").strip()
    if not cell:
        return None
    if cell in _FEEL_LITERALS:
        return _FEEL_LITERALS[cell]
    function = _feel_function(cell)
    if function:
        raise UntranslatableCellError(t("FEEL's %(function)s() does not exist in the engine", function=function))
    if not _parses(cell):
        raise UntranslatableCellError(t("it is not a Python expression"))
    return cell


def engine_expression(cell: str, input_expression: str) -> str:
    """The Python the engine evaluates for an input cell already in its form (`cell` from `input_python`)."""
    if _has_marker(cell):
        masked = _masked(cell)
        return "".join(_INPUT if masked[i] == "?" else ch for i, ch in enumerate(cell))
    if _parses(cell):
        return f"({input_expression}) == ({cell})"
    return f"{input_expression} {cell}"


# -- reading DMN files
def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _child_text(node: etree._Element, name: str) -> str | None:
    for child in node:
        if isinstance(child.tag, str) and _local(child) == name:
            return child.text
    return None


def cells(name: str, xml: str) -> Iterator[Cell]:
    """Every input and output cell of every decision table in a DMN file."""
    root = etree.fromstring(xml.encode("utf-8"))
    for decision in root.iter("{*}decision"):
        for table in decision.iter("{*}decisionTable"):
            inputs, outputs = [], []
            row = 0
            for node in table:
                if not isinstance(node.tag, str):
                    continue
                kind = _local(node)
                if kind == "input":
                    expression = None
                    for child in node:
                        if isinstance(child.tag, str) and _local(child) == "inputExpression":
                            expression = _child_text(child, "text")
                    inputs.append((node.get("label") or expression or node.get("id") or "?", expression))
                elif kind == "output":
                    outputs.append(node.get("label") or node.get("name") or node.get("id") or "?")
                elif kind == "rule":
                    row += 1
                    entries = [c for c in node if isinstance(c.tag, str)]
                    ins = [c for c in entries if _local(c) == "inputEntry"]
                    outs = [c for c in entries if _local(c) == "outputEntry"]
                    common = dict(file=name, decision=decision.get("id") or "", decision_name=decision.get("name")
                                  or decision.get("id") or "", row=row, rule_id=node.get("id") or "")
                    for entry, (column, expression) in zip(ins, inputs, strict=False):
                        yield Cell(**common, column=column, entry_id=entry.get("id"), kind="input",
                                   text=_child_text(entry, "text") or "", input_expression=expression)
                    for entry, column in zip(outs, outputs, strict=False):
                        yield Cell(**common, column=column, entry_id=entry.get("id"), kind="output",
                                   text=_child_text(entry, "text") or "")


def _where(cell: Cell) -> Text:
    return t("decision %(decision)s, rule %(row)s (%(rule)s), column %(column)s",
             decision=repr(cell.decision_name), row=cell.row, rule=cell.rule_id, column=repr(cell.column))


def check_cell(cell: Cell, compile_check: Callable[[str], None] | None = None) -> tuple[str, Text] | None:
    """(code, message) of what is wrong with one cell for the engine; None when it reads it as meant."""
    reader = input_python if cell.kind == "input" else output_python
    try:
        python = reader(cell.text)
    except UntranslatableCellError as exc:
        message = t("%(where)s: %(cell)s cannot be read by the engine (%(reason)s); write it in Python, for example"
                    " >= 5, \"a\", ? in (\"a\", \"b\") or 1 <= ? <= 10", where=_where(cell), cell=cell.text.strip(),
                    reason=text_of(exc))
        return "dmn.untranslatable", message
    if python is not None and python != cell.text.strip():
        return "dmn.feel", t("%(where)s: %(cell)s is FEEL, which the engine does not read (it evaluates Python);"
                 " write %(python)s", where=_where(cell), cell=cell.text.strip(), python=python)
    if python is not None and compile_check is not None:
        source = engine_expression(python, cell.input_expression or _INPUT) if cell.kind == "input" else python
        try:
            compile_check(source)
        except ExpressionError as exc:
            return "dmn.refused", t("%(where)s: %(cell)s is refused: %(reason)s", where=_where(cell), cell=python,
                     reason=text_of(exc))
    return None


# The engine takes the first matching rule (or, with COLLECT, the list of every match, never aggregated):
# these hit policies would give another answer than the table's author reads in it.
_HIT_POLICIES_READ_OTHERWISE = {"PRIORITY", "OUTPUT ORDER", "RULE ORDER"}


def hit_policy_problems(name: str, xml: str) -> list[Problem]:
    """A problem for every decision table whose hit policy the engine does not apply."""
    problems = []
    for decision in etree.fromstring(xml.encode("utf-8")).iter("{*}decision"):
        for table in decision.iter("{*}decisionTable"):
            policy = (table.get("hitPolicy") or "UNIQUE").upper()
            aggregation = table.get("aggregation")
            if policy in _HIT_POLICIES_READ_OTHERWISE or (policy == "COLLECT" and aggregation):
                shown = f"{policy} {aggregation}" if aggregation else policy
                problems.append(Problem(name, table.get("id") or decision.get("id"), t(
                    "decision %(decision)s: the engine does not apply hit policy %(policy)s (it takes the first"
                    " matching rule, or with COLLECT the list of every match, never summed or counted); choose"
                    " UNIQUE, FIRST, ANY or COLLECT without aggregation",
                    decision=repr(decision.get("name") or decision.get("id")), policy=shown), code="dmn.hit_policy"))
    return problems


def check_files(files: Mapping[str, str], compile_check: Callable[[str], None] | None = None) -> list[Problem]:
    """A problem for every decision table (of the .dmn files) whose hit policy, and every cell, the engine
    would not read as meant."""
    problems = []
    for name, xml in sorted(files.items()):
        if not name.lower().endswith(".dmn"):
            continue
        try:
            found = list(cells(name, xml))
        except etree.XMLSyntaxError:
            continue  # the parser has said so already
        problems.extend(hit_policy_problems(name, xml))
        for cell in found:
            found = check_cell(cell, compile_check)
            if found is not None:
                code, message = found
                problems.append(Problem(name, cell.entry_id or cell.rule_id or cell.decision, message, code=code))
    return problems


def translate(xml: str) -> tuple[str, int]:
    """The DMN file with every FEEL cell that has a Python form rewritten in it; and how many were."""
    root = etree.fromstring(xml.encode("utf-8"))
    changed = 0
    for cell in cells("-", xml):
        reader = input_python if cell.kind == "input" else output_python
        try:
            python = reader(cell.text)
        except UntranslatableCellError:
            continue
        if python is None or python == cell.text.strip() or not cell.entry_id:
            continue
        for entry in root.iter(f"{{*}}{cell.kind}Entry"):
            if entry.get("id") == cell.entry_id:
                for child in entry:
                    if isinstance(child.tag, str) and _local(child) == "text":
                        child.text = python
                        changed += 1
    text = etree.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text if xml.lstrip().startswith("<?xml") else text), changed
