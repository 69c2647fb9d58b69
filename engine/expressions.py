"""Sandboxed evaluation of BPMN/DMN expressions and scripts (RestrictedPython + time bound).

Every gateway condition, script task, DMN cell, timer expression and service-task
parameter goes through `RestrictedEvaluator`, because a deployed BPMN file is
untrusted code running inside the server.

Cost (measured on the dev container, CPython 3.11, 22 variables in the data):
``priority == "high" and sla_hours > 4`` takes about 2 µs (1.5-2.5 µs over runs)
per `evaluate` call once compiled (a bare `eval` of the same code object: 0.25 µs);
compiling it with RestrictedPython takes about 30-35 µs, hence the LRU cache of
compiled code. A two-line script through `execute` takes about 9 µs.

Layers of defence, from cheapest to most expensive:

* compile time (`_SandboxPolicy`, a RestrictingNodeTransformer): no names or
  attributes starting with ``_``, no imports, no class statements, no
  ``exec``/``eval`` calls; loops, comprehensions and function bodies get a
  budget check; ``* ** << + %`` and f-string fields become size-checked helpers;
* run time guards: attribute access refuses private names and ``str.format``;
  dangerous builtins (``open``, ``type``, ``globals``...) are stubs that refuse;
  padding/replace/join-style methods refuse results over `MAX_SEQUENCE_LEN`;
* the budget (`_Budget`): a per-call deadline, plus a cap on how much the
  process's resident memory may grow during the call (Linux /proc only);
* after the run: nothing callable leaks into task data, and the data must stay
  serialisable in bounded size (no cycles, no exploding shared references).

What it cannot bound: CPU spent inside one comparison or hash of a deliberately
built, deeply shared structure (``a == b`` walks every shared reference), and
memory is only capped approximately (process-wide, sampled every 5 ms). Hard
isolation needs a subprocess with rlimits.
"""

from __future__ import annotations

import ast
import collections.abc
import functools
import math
import operator
import os
import re
import reprlib
import textwrap
import threading
import types
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from time import monotonic
from typing import Any, Literal

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_builtins,
)
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine.errors import EngineError, ExpressionError, ExpressionTimeoutError, UnsafeExpressionError

__all__ = ["RestrictedEnvironment", "RestrictedEvaluator"]

# Size limits. They are generous for case data and tiny next to what a single C call
# could otherwise allocate (``"a" * 10**10`` is 10 GB before any deadline check runs).
MAX_SEQUENCE_LEN = 1_000_000  # items/characters one repeat/pad/join/replace may produce
MAX_CONCAT_LEN = 10_000_000  # items/characters of a concatenation (it at most doubles)
MAX_INT_BITS = 100_000  # ~30 000 decimal digits; 2**10, 10**100 are fine
MAX_RANGE_LEN = 100_000
MAX_FORMAT_WIDTH = 10_000  # widths/precisions in f-string specs and "%" formats
MAX_NDIGITS = 10_000  # round(x, -10**7) silently computes 10**(10**7)
MAX_DATA_SIZE = 10_000_000  # rendered size of a value (str/repr/f-string) and of task data
MAX_NESTING = 100
MAX_SOURCE_LEN = 100_000
DEFAULT_MEMORY_LIMIT = 512 * 2**20  # bytes the process may grow during one call

_Mode = Literal["eval", "exec"]
_NoneType = type(None)
# Types whose str()/repr()/format() is small by construction (ints are capped by
# Python's own 4300-digit conversion limit and by MAX_INT_BITS).
_PLAIN = frozenset({str, int, float, bool, _NoneType, complex})
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, dict, set, frozenset)


def _refuse(message: str) -> UnsafeExpressionError:
    return UnsafeExpressionError(message)


# --------------------------------------------------------------------------- sizes


def _rendered_size(obj: Any, limit: int, what: str, *, allow_cycles: bool = True) -> int:
    """Characters `obj` would take once written out, refusing past `limit`.

    Shared references count once per occurrence, like str()/json.dumps would
    write them, but each distinct container is walked only once (memo by id), so
    ``x = [x] * 1000`` repeated is measured cheaply and refused.
    """
    memo: dict[int, int | None] = {}

    def walk(o: Any, depth: int) -> int:
        t = type(o)
        if t is str or t is bytes:
            return len(o) + 2
        if t is int:
            return o.bit_length() // 3 + 1
        if not isinstance(o, _CONTAINERS):
            return 8
        key = id(o)
        if key in memo:
            size = memo[key]
            if size is None:
                if not allow_cycles:
                    raise _refuse(f"{what} refers to itself (a circular reference cannot be stored)")
                return 5
            return size
        if depth >= MAX_NESTING:
            raise _refuse(f"{what} is nested more than {MAX_NESTING} levels deep")
        memo[key] = None
        total = 2
        parts = (part for pair in o.items() for part in pair) if isinstance(o, dict) else o
        for part in parts:
            total += walk(part, depth + 1) + 2
            if total > limit:
                raise _refuse(f"{what} would be larger than {limit:,} characters")
        memo[key] = total
        return total

    return walk(obj, 0)


def _check_renderable(obj: Any) -> None:
    if type(obj) not in _PLAIN:
        _rendered_size(obj, MAX_DATA_SIZE, "the text of this value")


def _check_repeat(length: int, times: Any) -> None:
    if isinstance(times, int) and length * times > MAX_SEQUENCE_LEN:
        raise _refuse(f"repeating a sequence of {length:,} items {times:,} times would exceed "
                      f"{MAX_SEQUENCE_LEN:,} items")


# --------------------------------------------------------------------------- operators
# BinOp/AugAssign nodes for these operators are rewritten into calls, because the
# expensive part (allocating the result) happens inside one C call that no deadline
# check can interrupt.


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _refuse(f"multiplication result would exceed {MAX_INT_BITS:,} bits")
    elif isinstance(a, _SEQUENCES):
        _check_repeat(len(a), b)
    elif isinstance(b, _SEQUENCES):
        _check_repeat(len(b), a)


def _guarded_mul(a: Any, b: Any) -> Any:
    _check_mul(a, b)
    return a * b


def _check_pow(base: Any, exp: Any) -> None:
    if (isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1
            and exp * math.log2(abs(base)) > MAX_INT_BITS):
        raise _refuse(f"power {_short_repr(base)} ** {exp:,} would exceed {MAX_INT_BITS:,} bits")


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        _check_pow(base, exp)
        return base ** exp
    if isinstance(exp, int) and isinstance(mod, int) and max(exp.bit_length(), mod.bit_length()) > 4096:
        raise _refuse("pow() with a modulus is limited to 4096-bit numbers")
    return pow(base, exp, mod)


def _guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _refuse(f"shift result would exceed {MAX_INT_BITS:,} bits")
    return a << b


def _check_add(a: Any, b: Any) -> None:
    # Concatenation only doubles, but doubling in a loop reaches gigabytes within
    # the time limit; capping each result keeps the growth linear.
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_CONCAT_LEN:
        raise _refuse(f"concatenation would exceed {MAX_CONCAT_LEN:,} items")


def _guarded_add(a: Any, b: Any) -> Any:
    _check_add(a, b)
    return a + b


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC_NUMBER = re.compile(r"\d+")


def _check_percent_format(fmt: str | bytes, args: Any) -> None:
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    for width, precision in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*":
                raise _refuse("'*' widths in %-formatting are not allowed")
            if number and int(number) > MAX_FORMAT_WIDTH:
                raise _refuse(f"format width {number} exceeds {MAX_FORMAT_WIDTH:,}")
    _check_renderable(args)


def _guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        _check_percent_format(a, b)
    return a % b


def _check_format_spec(spec: str) -> None:
    for number in _SPEC_NUMBER.findall(spec):
        if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
            raise _refuse(f"format width {number} exceeds {MAX_FORMAT_WIDTH:,}")


def _guarded_format(value: Any, conversion: int, spec: str) -> str:
    # f-string fields: {x!r:>{n}} -> _format_(x, ord("r"), f">{n}").
    if conversion == 115:
        value = _guarded_str(value)
    elif conversion == 114:
        value = _guarded_repr(value)
    elif conversion == 97:
        value = _guarded_ascii(value)
    elif type(value) not in _PLAIN:
        _check_renderable(value)
    if spec:
        _check_format_spec(spec)
    return format(value, spec)


_BINOP_GUARDS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Add: "_add_",
    ast.Mod: "_mod_",
}


def _checked_inplace(check: Callable[[Any, Any], None],
                     in_place: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    # operator.iadd/imul keep Python's semantics: ``lst += [x]`` extends the same list.
    def apply(a: Any, b: Any) -> Any:
        check(a, b)
        return in_place(a, b)
    return apply


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _checked_inplace(_check_add, operator.iadd),
    "*=": _checked_inplace(_check_mul, operator.imul),
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    "%=": _guarded_mod,
    "-=": operator.isub,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def _guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    return _INPLACE_OPS[op](target, value)


# --------------------------------------------------------------------------- attributes


def _width_checked(name: str) -> Callable[..., Any]:
    def method(self: Any, width: Any, *args: Any) -> Any:
        if isinstance(width, int) and width > MAX_SEQUENCE_LEN:
            raise _refuse(f"{name}() width {width:,} exceeds {MAX_SEQUENCE_LEN:,}")
        return getattr(_text_type(self), name)(self, width, *args)
    return method


def _text_type(obj: Any) -> type:
    if isinstance(obj, str):
        return str
    if isinstance(obj, bytes):
        return bytes
    raise TypeError(f"expected a str or bytes, not {type(obj).__name__}")


def _checked_expandtabs(self: Any, tabsize: int = 8) -> Any:
    kind = _text_type(self)
    tab = "\t" if kind is str else b"\t"
    if isinstance(tabsize, int) and len(self) + self.count(tab) * tabsize > MAX_SEQUENCE_LEN:
        raise _refuse(f"expandtabs() result would exceed {MAX_SEQUENCE_LEN:,} characters")
    return kind.expandtabs(self, tabsize)


def _checked_replace(self: Any, old: Any, new: Any, count: int = -1) -> Any:
    kind = _text_type(self)
    if isinstance(old, kind) and isinstance(new, kind) and len(new) > len(old):
        hits = len(self) + 1 if not old else self.count(old)
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        if len(self) + hits * (len(new) - len(old)) > MAX_SEQUENCE_LEN:
            raise _refuse(f"replace() result would exceed {MAX_SEQUENCE_LEN:,} characters")
    return kind.replace(self, old, new, count)


def _checked_join(self: Any, iterable: Any) -> Any:
    kind = _text_type(self)
    items = list(iterable)
    total = len(self) * max(len(items) - 1, 0)
    total += sum(len(item) for item in items if isinstance(item, (str, bytes)))
    if total > MAX_SEQUENCE_LEN:
        raise _refuse(f"join() result would exceed {MAX_SEQUENCE_LEN:,} characters")
    return kind.join(self, items)


def _checked_translate(self: Any, table: Any) -> Any:
    kind = _text_type(self)
    if kind is str:
        if isinstance(table, dict):
            values = table.values()
        elif isinstance(table, (list, tuple, str)):
            values = table
        else:
            raise _refuse("str.translate() takes a dict (from str.maketrans) in expressions")
        longest = max((len(v) for v in values if isinstance(v, str)), default=1)
        if len(self) * max(longest, 1) > MAX_SEQUENCE_LEN:
            raise _refuse(f"translate() result would exceed {MAX_SEQUENCE_LEN:,} characters")
    return kind.translate(self, table)


def _checked_to_bytes(self: int, length: int = 1, *args: Any, **kwargs: Any) -> bytes:
    if isinstance(length, int) and length > MAX_SEQUENCE_LEN:
        raise _refuse(f"to_bytes() length {length:,} exceeds {MAX_SEQUENCE_LEN:,}")
    return int.to_bytes(self, length, *args, **kwargs)


def _checked_extend(self: list, iterable: Any) -> None:
    if isinstance(iterable, collections.abc.Sized) and len(self) + len(iterable) > MAX_CONCAT_LEN:
        raise _refuse(f"extend() would grow the list past {MAX_CONCAT_LEN:,} items")
    list.extend(self, iterable)


# name -> (types the check applies to, replacement taking self first)
_CHECKED_METHODS: dict[str, tuple[tuple[type, ...], Callable[..., Any]]] = {
    **{n: ((str, bytes), _width_checked(n)) for n in ("ljust", "rjust", "center", "zfill")},
    "expandtabs": ((str, bytes), _checked_expandtabs),
    "replace": ((str, bytes), _checked_replace),
    "join": ((str, bytes), _checked_join),
    "translate": ((str, bytes), _checked_translate),
    "to_bytes": ((int,), _checked_to_bytes),
    "extend": ((list,), _checked_extend),
}
_FORBIDDEN_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES) | {"mro"}


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    """getattr() for sandboxed code: no private names, no str.format, size-checked methods."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_"):
        raise _refuse(f'access to attribute "{name}" is not allowed (names starting with "_" are private)')
    if name in _FORBIDDEN_ATTRIBUTES:
        raise _refuse(f'access to attribute "{name}" is not allowed')
    if name in ("format", "format_map") and (
            isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
        raise _refuse(f"str.{name}() is not allowed (it can reach private attributes); use an f-string")
    checked = _CHECKED_METHODS.get(name)
    if checked is not None:
        owners, replacement = checked
        if isinstance(obj, owners):
            return functools.partial(replacement, obj)
        if isinstance(obj, type) and issubclass(obj, owners):
            return replacement
    return getattr(obj, name, *default)


def _guarded_hasattr(obj: Any, name: str) -> bool:
    try:
        _guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def _guarded_write(obj: Any) -> Any:
    # `d["k"] = v`, `del lst[0]` and `x.attr = v` all pass through here; only plain
    # data containers may be changed in place.
    if isinstance(obj, (dict, list)):
        return obj
    raise _refuse(f"changing {type(obj).__name__} objects is not allowed (only dicts and lists)")


# --------------------------------------------------------------------------- builtins


def _forbidden(name: str) -> Callable[..., Any]:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise _refuse(f"{name}() is not allowed in BPMN expressions and scripts")
    refuse.__name__ = name
    return refuse


def _guarded_range(*args: Any) -> range:
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = MAX_RANGE_LEN + 1
    if length > MAX_RANGE_LEN:
        raise _refuse(f"range() of {length:,} items is too long (at most {MAX_RANGE_LEN:,})")
    return result


def _guarded_round(number: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_NDIGITS:
        raise _refuse(f"round() to {ndigits:,} digits is not allowed")
    return round(number) if ndigits is None else round(number, ndigits)


def _guarded_sum(iterable: Any, /, start: Any = 0) -> Any:
    # sum(list_of_lists, []) concatenates quadratically inside one C call.
    if not isinstance(start, (int, float, complex)):
        raise _refuse("sum() only adds numbers; use a comprehension to join lists or strings")
    return sum(iterable, start)


def _guarded_iter(obj: Any, *sentinel: Any) -> Any:
    if sentinel:
        # iter(int, 1) would make list()/sum() loop forever inside one C call.
        raise _refuse("iter(callable, sentinel) is not allowed")
    return iter(obj)


def _guarded_format_builtin(value: Any, spec: str = "") -> str:
    return _guarded_format(value, -1, spec)


def _guarded_repr(obj: Any) -> str:
    _check_renderable(obj)
    return repr(obj)


def _guarded_ascii(obj: Any) -> str:
    _check_renderable(obj)
    return ascii(obj)


def _guarded_str(*args: Any, **kwargs: Any) -> str:
    if args:
        _check_renderable(args[0])
    return str(*args, **kwargs)


class _StrType(type):
    """Metaclass that makes the sandbox's `str` behave like `str` while size-checking str(x)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return _guarded_str(*args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, str)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, str)

    def __repr__(cls) -> str:
        return "<class 'str'>"


class _SandboxStr(str, metaclass=_StrType):
    """`str` as seen by sandboxed code: isinstance() and str.upper work, str(huge) is refused."""

    __slots__ = ()


class _DiscardPrinter:
    """Target of RestrictedPython's print rewriting: output is dropped (nothing to show it)."""

    def _call_print(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def __call__(self) -> str:
        return ""


_PRINTER = _DiscardPrinter()

_MATH = types.SimpleNamespace(**{
    name: getattr(math, name) for name in (
        "ceil", "floor", "trunc", "sqrt", "isqrt", "fabs", "fsum", "fmod", "modf", "copysign",
        "exp", "log", "log2", "log10", "pow", "hypot", "gcd", "isclose", "isfinite", "isinf",
        "isnan", "radians", "degrees", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
        "pi", "e", "tau", "inf", "nan")
})

_FORBIDDEN_BUILTINS = (
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "type", "dir", "input",
    "breakpoint", "help", "memoryview", "bytearray", "bytes", "object", "super", "classmethod",
    "staticmethod", "property", "setattr", "delattr", "exit", "quit", "__import__",
)
# Dropped from RestrictedPython's safe_builtins: class creation, attribute writes and
# exceptions whose raising would stop the server thread instead of failing the task.
_DROPPED = {"__build_class__", "_getattr_", "setattr", "delattr", "BaseException", "SystemExit",
            "KeyboardInterrupt", "GeneratorExit"}

_BASE_BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in _DROPPED}
_BASE_BUILTINS.update({name: _forbidden(name) for name in _FORBIDDEN_BUILTINS})
_BASE_BUILTINS.update({
    # C-level iteration (sorted, list, map...) is safe here: every Python-level
    # function body, loop and comprehension checks the deadline, and the data
    # they walk is size-capped.
    "min": min, "max": max, "sorted": sorted, "reversed": reversed, "any": any, "all": all,
    "list": list, "dict": dict, "set": set, "frozenset": frozenset, "tuple": tuple,
    "enumerate": enumerate, "zip": zip, "map": map, "filter": filter, "next": next,
    "sum": _guarded_sum, "range": _guarded_range, "pow": _guarded_pow, "round": _guarded_round,
    "iter": _guarded_iter, "str": _SandboxStr, "repr": _guarded_repr, "ascii": _guarded_ascii,
    "format": _guarded_format_builtin,
    "getattr": _guarded_getattr, "hasattr": _guarded_hasattr, "math": _MATH,
})

# Guards RestrictedPython's rewritten code calls. All start with "_", which sandboxed
# code can neither read nor assign, so they cannot be replaced from inside.
_STATIC_GUARDS: dict[str, Any] = {
    "_getattr_": _guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _guarded_write,
    "_inplacevar_": _guarded_inplacevar,
    "_apply_": lambda f, *args, **kwargs: f(*args, **kwargs),
    "_print_": lambda _getattr=None: _PRINTER,
    "_print": _PRINTER,
    "_mul_": _guarded_mul,
    "_pow_": _guarded_pow,
    "_lshift_": _guarded_lshift,
    "_add_": _guarded_add,
    "_mod_": _guarded_mod,
    "_format_": _guarded_format,
}


# --------------------------------------------------------------------------- policy


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


def _located(new: ast.AST, old: ast.AST) -> Any:
    ast.copy_location(new, old)
    return ast.fix_missing_locations(new)


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus deadline checks, operator guards and a few more refusals."""

    def _tick(self, node: ast.AST) -> ast.Expr:
        return _located(ast.Expr(_call("_tick_")), node)

    def visit_Import(self, node: ast.Import) -> ast.AST:
        """Refuse `import x`: nothing importable is safe in the sandbox."""
        names = ", ".join(alias.name for alias in node.names)
        self.error(node, f"import statements are not allowed (import {names})")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        """Refuse `from x import y`."""
        self.error(node, f"import statements are not allowed (from {node.module} import ...)")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """Refuse class statements: task data is plain data, and classes bring dunder methods."""
        self.error(node, f"class definitions are not allowed (class {node.name})")
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        """Check the deadline on every iteration."""
        node = super().visit_While(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        """Check the deadline on every iteration."""
        node = super().visit_For(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        """Check the deadline on every call (bounds recursion and C loops calling back into Python)."""
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        """`lambda: body` becomes `lambda: _tick_() or body` (_tick_ returns None)."""
        node = super().visit_Lambda(node)
        node.body = _located(ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), node.body]), node.body)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        """Wrap each comprehension's iterator so every item checks the deadline."""
        node = super().visit_comprehension(node)
        node.iter = _located(_call("_timed_iter_", node.iter), node.iter)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """Route the operators that can allocate huge results through size checks."""
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return _located(_call(guard, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Also allow `d[k] += v` (RestrictedPython only allows names), evaluating d and k once."""
        if not isinstance(node.target, ast.Subscript) or isinstance(node.target.slice, ast.Slice):
            return super().visit_AugAssign(node)
        container = self.visit(node.target.value)
        key = self.visit(node.target.slice)
        value = self.visit(node.value)
        obj_name, key_name = self.gen_tmp_name(), self.gen_tmp_name()

        def load(name: str) -> ast.Name:
            return ast.Name(name, ast.Load())

        op = ast.Constant(_INPLACE_NAMES[type(node.op)])
        statements = [
            ast.Assign(targets=[ast.Name(obj_name, ast.Store())], value=container),
            ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=key),
            # _write_(obj)[key] = _inplacevar_(op, _getitem_(obj, key), value)
            ast.Assign(
                targets=[ast.Subscript(value=_call("_write_", load(obj_name)), slice=load(key_name),
                                       ctx=ast.Store())],
                value=_call("_inplacevar_", op, _call("_getitem_", load(obj_name), load(key_name)), value)),
        ]
        return [_located(statement, node) for statement in statements]

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        """`{x!r:>{n}}` becomes `{_format_(x, ord('r'), f'>{n}')}` so widths and sizes are checked."""
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        value = _call("_format_", node.value, ast.Constant(node.conversion), spec)
        return _located(ast.FormattedValue(value=value, conversion=-1, format_spec=None), node)


_INPLACE_NAMES = {
    ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.Mod: "%=", ast.Pow: "**=",
    ast.LShift: "<<=", ast.RShift: ">>=", ast.BitOr: "|=", ast.BitXor: "^=", ast.BitAnd: "&=",
    ast.FloorDiv: "//=", ast.MatMult: "@=",
}


_COMPILE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: _Mode) -> tuple[types.CodeType | None, type[ExpressionError] | None, str]:
    """(code, error class, message): refusals are cached too, so a bad BPMN costs one compile."""
    if len(source) > MAX_SOURCE_LEN:
        return None, UnsafeExpressionError, f"source is longer than {MAX_SOURCE_LEN:,} characters"
    # Python warns about some user code ('x is 1', '"\\d"'); those warnings would land
    # in the server log (or fail under -W error) without helping anyone, so they are
    # dropped. catch_warnings swaps process-wide state, hence the lock.
    with _COMPILE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _compile_quietly(source, mode)


def _compile_quietly(source: str, mode: _Mode) -> tuple[types.CodeType | None, type[ExpressionError] | None, str]:
    try:
        tree = ast.parse(source, "<string>", mode)
    except SyntaxError as exc:
        return None, ExpressionError, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except (RecursionError, MemoryError, ValueError) as exc:
        # Deeply nested source exhausts the parser's stack; reject it like a syntax error.
        return None, ExpressionError, f"{type(exc).__name__}: the code is nested too deeply to parse"
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compiler(tree, "<string>", policy=_SandboxPolicy)
    except SyntaxError as exc:  # e.g. 'return' outside function, found after transformation
        return None, ExpressionError, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except (RecursionError, MemoryError, ValueError) as exc:
        return None, ExpressionError, f"{type(exc).__name__}: the code is nested too deeply to compile"
    if result.errors:
        return None, UnsafeExpressionError, "; ".join(result.errors)
    return result.code, None, ""


# --------------------------------------------------------------------------- evaluator


def _rss_bytes() -> int | None:
    """Resident memory of this process (Linux), or None where /proc is unavailable."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MEMORY_CHECK_EVERY = 0.005  # seconds between resident-memory checks inside one call


class _Budget:
    """Time and memory budget of one evaluate/execute call (per call, so threads never share it).

    The hot path of `tick` is one clock read and one comparison against
    `next_check`; every `_MEMORY_CHECK_EVERY` seconds (and at the deadline) the
    slow path looks at the clock and at resident memory. Memory is process-wide,
    so the limit is on growth during this call, measured from its first check:
    calls that finish within a few milliseconds never read /proc at all.
    """

    __slots__ = ("deadline", "failure", "limit", "memory_base", "memory_limit", "next_check")

    def __init__(self, limit: float, memory_limit: int | None):
        self.limit = limit
        self.memory_limit = memory_limit
        self.memory_base: int | None = None
        self.failure: ExpressionError | None = None
        now = monotonic()
        self.deadline = now + limit
        self.next_check = now + min(_MEMORY_CHECK_EVERY, limit)

    def tick(self) -> None:
        if monotonic() > self.next_check:
            self._check()

    def timed_iter(self, iterable: Any) -> Any:
        for item in iterable:
            if monotonic() > self.next_check:
                self._check()
            yield item

    def _check(self) -> None:
        now = monotonic()
        if now > self.deadline:
            self._fail(ExpressionTimeoutError(
                f"expression or script ran longer than {self.limit:g} s and was stopped"))
        self.next_check = min(now + _MEMORY_CHECK_EVERY, self.deadline)
        if self.memory_limit is None:
            return
        rss = _rss_bytes()
        if rss is None:
            return
        if self.memory_base is None:
            self.memory_base = rss
        elif rss - self.memory_base > self.memory_limit:
            self._fail(UnsafeExpressionError(
                f"expression or script used more than {self.memory_limit // 2**20} MiB of memory "
                "and was stopped"))

    def _fail(self, error: ExpressionError) -> None:
        # Sticky: if the script catches this and carries on, every later check
        # raises again and _run reports it once the code returns.
        self.failure = error
        self.next_check = -1.0
        raise error

    def raise_failure(self, cause: BaseException | None = None) -> None:
        """Re-raise the recorded failure, if any, as a fresh exception."""
        if self.failure is not None:
            raise type(self.failure)(str(self.failure)) from cause


_SAFE_ARG_TYPES = (str, int, float, bool, _NoneType)
_short = reprlib.Repr()
_short.maxstring = 200
_short.maxother = 200


def _short_repr(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 1000:
        return f"<int of {value.bit_length()} bits>"
    try:
        return _short.repr(value)
    except Exception:  # noqa: BLE001 - reprs of odd objects may fail; the message must not
        return f"<{type(value).__name__}>"


def _describe(exc: BaseException) -> str:
    """The "Type: message" text of `exc`, kept short: it may carry a hostile multi-GB value."""
    args = exc.args
    plain = all(isinstance(a, _SAFE_ARG_TYPES) and not (isinstance(a, int) and a.bit_length() > 1000)
                and not (isinstance(a, str) and len(a) > 1000) for a in args)
    if not plain:
        # Also shrink the original, which stays chained as __cause__ and may get logged.
        exc.args = (", ".join(_short_repr(a) for a in args),)
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        text = ", ".join(_short_repr(a) for a in exc.args)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_MISSING = object()


def _is_transient(value: Any) -> bool:
    # Not task data: functions, classes, modules, half-consumed iterators.
    return callable(value) or isinstance(value, (types.ModuleType, types.SimpleNamespace,
                                                 collections.abc.Iterator, range))


class RestrictedEvaluator:
    """Evaluates expressions and runs scripts in a RestrictedPython sandbox with a time bound."""

    def __init__(self, time_limit: float = 0.5, extra_globals: dict[str, Any] | None = None,
                 memory_limit: int | None = DEFAULT_MEMORY_LIMIT):
        """`extra_globals` (e.g. helper functions like `now_iso`) are visible to all code as builtins.

        `memory_limit` bounds how many bytes the process may grow during one call
        (None: unbounded); it is checked every few milliseconds of run time.
        """
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.extra_globals = dict(extra_globals or {})
        # Helpers live in __builtins__ so task data may shadow them, as with Python builtins.
        builtins = {**_BASE_BUILTINS, **self.extra_globals}
        self._static = {**_STATIC_GUARDS, "__builtins__": builtins}

    def compile_check(self, source: str, mode: _Mode = "eval") -> None:
        """Raise the ExpressionError/UnsafeExpressionError that running `source` would hit at compile time."""
        self._code(source, mode)

    def evaluate(self, expression: str, names: Mapping[str, Any], *,
                 extra_names: Mapping[str, Any] | None = None) -> Any:
        """Value of `expression` with `names` (then `extra_names`) as its variables."""
        code = self._code(expression, "eval")
        result = self._run(code, names, extra_names, "eval")
        if type(result) not in _PLAIN:
            _rendered_size(result, MAX_DATA_SIZE, "the result", allow_cycles=False)
        return result

    def execute(self, script: str, names: MutableMapping[str, Any], *,
                extra_names: Mapping[str, Any] | None = None) -> None:
        """Run `script`; the variables it assigns (not its functions) are written back into `names`.

        If the script fails, `names` is left as it was, except for lists/dicts the
        script changed in place before failing.
        """
        code = self._code(script, "exec")
        scope = self._run(code, names, extra_names, "exec")
        changed: dict[str, Any] = {}
        for key, value in scope.items():
            if key.startswith("_") or (extra_names and key in extra_names and key not in names):
                continue  # guards, RestrictedPython temporaries, overlay names
            if _is_transient(value):
                if key in names:
                    del names[key]
                continue
            if isinstance(value, _CONTAINERS) or names.get(key, _MISSING) is not value:
                # New or possibly changed in place: it must stay storable as JSON.
                _rendered_size(value, MAX_DATA_SIZE, f"variable {key!r}", allow_cycles=False)
            changed[key] = value
        for key in [k for k in names if k not in scope]:
            del names[key]  # `del x` in the script
        names.update(changed)

    # -- internals

    def _code(self, source: str, mode: _Mode) -> types.CodeType:
        if not isinstance(source, str):
            raise ExpressionError(f"expected {'an expression' if mode == 'eval' else 'a script'} as text, "
                                  f"got {type(source).__name__}")
        if mode == "eval":
            source = source.strip()  # conditions in XML usually come with newlines and indentation
        elif source[:1].isspace() and source.strip():
            source = textwrap.dedent(source)
        code, error, message = _compile(source, mode)
        if code is None:
            raise (error or ExpressionError)(message)
        return code

    def _run(self, code: types.CodeType, names: Mapping[str, Any],
             extra_names: Mapping[str, Any] | None, mode: _Mode) -> Any:
        scope: dict[str, Any] = {**extra_names, **names} if extra_names else dict(names)
        scope.update(self._static)  # after the data, so data can never replace a guard
        budget = _Budget(self.time_limit, self.memory_limit)
        scope["_tick_"] = budget.tick
        scope["_timed_iter_"] = budget.timed_iter
        try:
            if mode == "eval":
                result = eval(code, scope)
            else:
                exec(code, scope)  # noqa: S102 - restricted code object
                result = scope
        except EngineError as exc:
            if exc is not budget.failure:
                budget.raise_failure(exc)  # the script caught our stop and raised something else
            raise  # our guards, or an engine helper from extra_globals: already meaningful
        except Exception as exc:
            budget.raise_failure(exc)
            # The original traceback reaches into "<string>" frames, which is how
            # SpiffWorkflow finds the failing script line.
            raise ExpressionError(_describe(exc)).with_traceback(exc.__traceback__) from exc
        budget.raise_failure()  # the script caught our stop and carried on
        return result


# --------------------------------------------------------------------------- SpiffWorkflow


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow script environment that runs everything through a RestrictedEvaluator."""

    def __init__(self, evaluator: RestrictedEvaluator | None = None,
                 environment_globals: dict[str, Any] | None = None):
        """`environment_globals` are visible like TaskDataEnvironment's globals, never stored in data."""
        super().__init__(environment_globals)
        self.evaluator = evaluator or RestrictedEvaluator()

    def _overlay(self, external_context: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not self.globals and not external_context:
            return None
        return {**self.globals, **(external_context or {})}

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """Evaluate with the task data over external_context (e.g. DMN's `dmninputexpr`) and globals."""
        self._prepare_context(context)
        return self.evaluator.evaluate(expression, context, extra_names=self._overlay(external_context))

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        """Run a script in the task data `context`; assigned variables land in it, functions do not."""
        self.check_for_overwrite(context, external_context or {})
        self._prepare_context(context)
        self.evaluator.execute(script, context, extra_names=self._overlay(external_context))
        return True
