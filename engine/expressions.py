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
* one C call never outlasts the checks (section "structures"): operands of
  comparisons, hashed keys and sorted lists are measured first (nodes counted at
  each shared reference, nesting depth), and whatever consumes an iterable in C
  (list(), set(), sorted(), star unpacking…) takes it item by item under the budget
  unless it is a small container;
* the budget (`_Budget`): a per-call deadline, plus a cap on how much the
  process's resident memory may grow during the call (Linux /proc only);
* after the run: nothing callable leaks into task data, and the data must stay
  storable as JSON in bounded size (no sets, bytes, complex numbers, NaN or
  infinity, non-text keys, cycles or exploding shared references).

What remains approximate: memory is capped process-wide, sampled every 5 ms of run
time, and a single C call may still take up to about the work the script already did
under the deadline (e.g. one probe of a table built with colliding hashes). Hard
isolation would need a subprocess with rlimits.
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
from engine.i18n import t

__all__ = ["RestrictedEnvironment", "RestrictedEvaluator", "check_storable"]

# Size limits. They are generous for case data and tiny next to what a single C call
# could otherwise allocate (``"a" * 10**10`` is 10 GB before any deadline check runs).
MAX_SEQUENCE_LEN = 1_000_000  # items/characters one repeat/pad/join/replace may produce
MAX_CONCAT_LEN = 2_000_000  # items/characters of a concatenation (it at most doubles)
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
_MISSING = object()


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


_JSON_SCALARS = frozenset({str, int, bool, _NoneType})
_JSON_KEYS = frozenset({str, int, float, bool, _NoneType})  # json.dumps writes them as texts


def _unstorable_part(value: Any) -> tuple[str, str] | None:
    """What in `value` JSON cannot hold, as ("type" | "key" | "number", its type or value), or None.

    Task data is saved as JSON: one set, complex number, bytes, NaN or tuple-keyed dict
    made every later save of the instance raise. Call after `_rendered_size` (depth and
    cycles are bounded then); shared containers are looked at once.
    """
    seen: set[int] = set()
    pending = [value]
    while pending:
        part = pending.pop()
        kind = type(part)
        if kind in _JSON_SCALARS:
            continue
        if kind is float:
            if math.isfinite(part):
                continue
            return "number", repr(part)
        if kind is not list and kind is not tuple and kind is not dict:
            return "type", kind.__name__
        if id(part) in seen:
            continue
        seen.add(id(part))
        if kind is dict:
            for key in part:
                if type(key) not in _JSON_KEYS:
                    return "key", type(key).__name__
            pending.extend(part.values())
        else:
            pending.extend(part)
    return None


def check_storable(name: str, value: Any) -> None:
    """Refuse a variable that task data could not save (its name and what is wrong, translatable)."""
    _rendered_size(value, MAX_DATA_SIZE, f"variable {name!r}", allow_cycles=False)
    found = _unstorable_part(value)
    if found is None:
        return
    kind, what = found
    if kind == "key":
        message = t("variable %(name)s holds a dict with a key of type %(what)s, which task data cannot store "
                    "(it is saved as JSON); use texts as keys", name=name, what=what)
    elif kind == "number":
        message = t("variable %(name)s holds the number %(what)s, which task data cannot store (JSON has no NaN "
                    "or infinity); store a finite number or nothing", name=name, what=what)
    else:
        message = t("variable %(name)s holds a value of type %(what)s, which task data cannot store (it is saved "
                    "as JSON); store texts, numbers, true/false, lists or dicts with text keys", name=name, what=what)
    raise UnsafeExpressionError(message)


def _check_renderable(obj: Any) -> None:
    if type(obj) not in _PLAIN:
        _rendered_size(obj, MAX_DATA_SIZE, "the text of this value")


def _check_repeat(length: int, times: Any) -> None:
    if isinstance(times, int) and length * times > MAX_SEQUENCE_LEN:
        raise _refuse(f"repeating a sequence of {length:,} items {times:,} times would exceed "
                      f"{MAX_SEQUENCE_LEN:,} items")


# --------------------------------------------------------------------------- structures
# A C call holds the GIL until it returns, so one comparison, hash, sort or set build of a
# hostile structure would stall every thread of the server. Shared references make a
# structure that takes a few bytes of memory and a few loop iterations to build, but
# 2**30 nodes to walk: ``a = [a, a]`` thirty times, then ``a == b`` or ``hash(t)``. And
# consuming an iterator inside one C call (``list(zip(s, s))``, ``[*s, *s]``, ``set(...)``)
# allocates and hashes without any deadline or memory check. So:
#
# * every operand of a comparison, every key hashed, and every list sorted is measured
#   first (`_walk_cost`: its nodes counted once per occurrence, as the C code would visit
#   them, with each distinct container walked once) and refused past `MAX_WALK` units or
#   `MAX_NESTING` levels; a set or dict counts its size times its content, because a
#   comparison probes one table once per item of the other (and crafted hash collisions
#   make each probe walk the table);
# * every C call that consumes an iterable (list(), tuple(), set(), dict(), sorted(),
#   min(), max(), sum(), any(), all(), str.join, list.extend, set and dict updates, star
#   unpacking) takes a small built-in container as it is and anything else item by item
#   through the call's budget, so the deadline and the memory bound are checked as it goes.

MAX_DIRECT = 100_000  # items a C call may take from a sized container in one go
MAX_HASHED_DIRECT = 1_000  # items a C call may hash into one table in one go (collisions: quadratic)
MAX_WALK = 1_000_000  # nodes one comparison, hash or sort may visit (about 50 ms of C here)
MAX_SORT = 100_000  # items of one sort

_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_SCALARS = frozenset({int, float, bool, complex, _NoneType})
_FLAT = _SCALARS | {str, bytes}
_WALKED = frozenset({list, tuple, dict, set, frozenset, *_DICT_VIEWS})
_HASHED = frozenset({dict, set, frozenset, _DICT_VIEWS[0], _DICT_VIEWS[2]})
_SHORT = frozenset({list, tuple, set, frozenset})
_SIZED = frozenset({list, tuple, str, bytes, dict, set, frozenset, range, *_DICT_VIEWS})
class _RunningBudget(threading.local):
    current: Any = None  # the running call's _Budget, for the guards that consume iterables


_BUDGET = _RunningBudget()


def _flat_cost(items: Any) -> int | None:
    """Cost of a container whose items are all numbers and texts (one C pass), else None."""
    kinds = set(map(type, items))
    if kinds <= _SCALARS:
        return len(items)
    if kinds <= _FLAT:
        text = items if kinds <= {str} or kinds <= {bytes} else [i for i in items if type(i) in (str, bytes)]
        return len(items) + sum(map(len, text)) // 100
    return None


def _walk_cost(obj: Any, limit: int = MAX_WALK, what: str = "this value", *, lookup: bool = False) -> int:
    """Units one C comparison or hash of `obj` may visit; refused past `limit` or `MAX_NESTING`.

    A shared reference counts at each occurrence (as C walks it), yet each distinct
    container is walked once here (memo by id), so ``a = [a, a]`` thirty times is
    refused after about thirty steps. Texts count one unit per 100 characters. With
    `lookup` (the right side of ``in``), a top-level set or dict is probed once, not
    compared item by item, so its size does not multiply its content.
    """
    memo: dict[int, tuple[Any, int]] = {}  # id -> (object kept alive, cost)

    def walk(o: Any, depth: int) -> int:
        kind = type(o)
        if kind not in _WALKED:
            return 1 + len(o) // 100 if kind is str or kind is bytes else 1
        seen = memo.get(id(o))
        if seen is not None:
            return seen[1]
        if depth >= MAX_NESTING:
            raise _refuse(f"{what} is nested more than {MAX_NESTING} levels deep")
        memo[id(o)] = (o, 1)  # a cycle counts once: comparing one stops at Python's recursion limit
        parts = (o.keys(), o.values()) if kind is dict else (o,)
        total = 1
        for part in parts:
            flat = _flat_cost(part)
            if flat is not None:
                total += flat
            else:
                for item in part:
                    total += walk(item, depth + 1)
                    if total > limit:
                        break
            if total > limit:
                break
        if kind in _HASHED and not (lookup and depth == 0):
            total += total * (len(o) // 8)
        if total > limit:
            raise _refuse(f"{what} is too large to compare, hash or sort in one step "
                          f"(more than {limit:,} items, counting shared references each time)")
        memo[id(o)] = (o, total)
        return total

    return walk(obj, 0)


def _small_and_flat(value: Any) -> bool:
    """A short list, tuple or set of numbers and texts: cheap to compare or hash (the usual case)."""
    # 64 texts of the longest length (2,000,000) compare in a few tens of milliseconds.
    return type(value) in _SHORT and len(value) <= 64 and set(map(type, value)) <= _FLAT


def _cmp(value: Any) -> Any:
    """An operand of ==, <, in…: measured unless it is a number, a text or small and flat."""
    if type(value) not in _FLAT and not _small_and_flat(value):
        _walk_cost(value, what="a compared value")
    return value


def _cmp_in(value: Any) -> Any:
    """The container on the right of `in`: probed once, so a big set or dict is fine; an iterator
    (``x in zip(...)``) is searched item by item under the budget."""
    if type(value) in _FLAT or _small_and_flat(value):
        return value
    if isinstance(value, collections.abc.Iterator):
        return _ticking(value)
    _walk_cost(value, what="the container searched by 'in'", lookup=True)
    return value


def _key(value: Any) -> Any:
    """A value about to be hashed (dict key, set item, hash())."""
    if type(value) not in _FLAT and not _small_and_flat(value):
        _walk_cost(value, what="a key")
    return value


def _guarded_getitem(obj: Any, key: Any) -> Any:
    if type(key) not in _FLAT and type(key) is not slice and not _small_and_flat(key):
        _walk_cost(key, what="a key")
    return obj[key]


def _guarded_hash(value: Any) -> int:
    return hash(_key(value))


def _ticking(iterable: Any) -> Any:
    """`iterable` item by item, checking the running call's deadline and memory bound."""
    budget = _BUDGET.current
    return iter(iterable) if budget is None else budget.timed_iter(iterable)


def _feed(iterable: Any) -> Any:
    """What a C call may consume: a small built-in container as is, anything else item by item."""
    if type(iterable) in _SIZED and len(iterable) <= MAX_DIRECT:
        return iterable
    return _ticking(iterable)


def _keyed(iterable: Any) -> Any:
    for item in _ticking(iterable):
        yield _key(item)


def _feed_keys(iterable: Any) -> Any:
    """Items to hash into a table: in one go only a few numbers and texts, else one by one, measured."""
    kind = type(iterable)
    if kind is set or kind is frozenset or (
            kind in _SIZED and len(iterable) <= MAX_HASHED_DIRECT and set(map(type, iterable)) <= _FLAT):
        return iterable  # a set's items go into an empty table without any comparison
    return _keyed(iterable)


def _pairs(iterable: Any) -> Any:
    for pair in _ticking(iterable):
        if type(pair) in (tuple, list) and len(pair) == 2:
            _key(pair[0])
        yield pair


def _copy_dict(source: dict) -> dict:
    if len(source) <= MAX_HASHED_DIRECT:
        return dict(source)
    copy: dict = {}
    for key in _ticking(source):
        copy[key] = source[key]
    return copy


def _make_list(iterable: Any = ()) -> list:
    return list(_feed(iterable))


def _make_tuple(iterable: Any = ()) -> tuple:
    return tuple(_feed(iterable))


def _make_set(iterable: Any = ()) -> set:
    return set(_feed_keys(iterable))


def _make_frozenset(iterable: Any = ()) -> frozenset:
    return frozenset(_feed_keys(iterable))


def _make_dict(*args: Any, **kwargs: Any) -> dict:
    if len(args) > 1:
        raise TypeError(f"dict expected at most 1 argument, got {len(args)}")
    if not args:
        return dict(**kwargs)
    source = args[0]
    result = _copy_dict(source) if isinstance(source, dict) else dict(_pairs(source))
    if kwargs:
        result.update(kwargs)
    return result


def _sort_in_place(items: list, key: Any = None, reverse: bool = False) -> None:
    count = len(items)
    if count > MAX_SORT:
        raise _refuse(f"sorting {count:,} items is not allowed (at most {MAX_SORT:,})")
    limit = MAX_WALK * 8 // max(count.bit_length(), 1)
    if key is None:
        _walk_cost(items, limit, "the list to sort")
        items.sort(reverse=reverse)
        return
    # The keys are compared in C: compute and measure them first, then sort positions by them.
    keys = [key(item) for item in _ticking(items)]
    _walk_cost(keys, limit, "the sort keys")
    order = sorted(range(count), key=keys.__getitem__, reverse=reverse)
    items[:] = [items[i] for i in order]


def _guarded_sorted(iterable: Any, /, *, key: Any = None, reverse: bool = False) -> list:
    items = _make_list(iterable)
    _sort_in_place(items, key, reverse)
    return items


def _checked_sort(self: list, *, key: Any = None, reverse: bool = False) -> None:
    if type(self) is not list:
        raise TypeError(f"sort() needs a list, not {type(self).__name__}")
    _sort_in_place(self, key, reverse)


def _extreme(builtin: Callable[..., Any]) -> Callable[..., Any]:
    name = builtin.__name__

    def pick(*args: Any, key: Any = None, default: Any = _MISSING) -> Any:
        if not args:
            raise TypeError(f"{name} expected at least 1 argument, got 0")
        items = _make_list(args[0]) if len(args) == 1 else list(args)
        if not items:
            if default is _MISSING:
                raise ValueError(f"{name}() arg is an empty sequence")
            return default
        if key is None:
            _walk_cost(items, what=f"the values given to {name}()")
            return builtin(items)
        keys = [key(item) for item in _ticking(items)]
        _walk_cost(keys, what=f"the keys of {name}()")
        return items[builtin(range(len(items)), key=keys.__getitem__)]

    pick.__name__ = name
    return pick


def _guarded_sum(iterable: Any, /, start: Any = 0) -> Any:
    # sum(list_of_lists, []) concatenates quadratically inside one C call.
    if not isinstance(start, (int, float, complex)):
        raise _refuse("sum() only adds numbers; use a comprehension to join lists or strings")
    return sum(_feed(iterable), start)


def _guarded_any(iterable: Any, /) -> bool:
    return any(_feed(iterable))


def _guarded_all(iterable: Any, /) -> bool:
    return all(_feed(iterable))


def _guarded_fsum(iterable: Any, /) -> float:
    return math.fsum(_feed(iterable))


def _guarded_getiter(obj: Any) -> Any:
    # for loops, comprehensions and unpacking (``a, *b = zip(s, s)`` builds a list in C).
    return iter(_feed(obj))


def _star(iterable: Any) -> Any:
    """``*x`` in a list, tuple or call: taken in one go only from a small container."""
    return _feed(iterable)


def _set_star(iterable: Any) -> Any:
    """``*x`` in a set display: its items are hashed."""
    return _feed_keys(iterable)


class _TickingMapping(collections.abc.Mapping):
    """A big mapping handed to ``**`` (dict display or call): read key by key under the budget."""

    __slots__ = ("_source",)

    def __init__(self, source: Mapping[Any, Any]):
        self._source = source

    def keys(self) -> Any:  # noqa: D102 - what dict.update and ** read
        return _keyed(self._source)

    def __iter__(self) -> Any:
        return _keyed(self._source)

    def __getitem__(self, key: Any) -> Any:
        return self._source[key]

    def __len__(self) -> int:
        return len(self._source)


def _dict_star(mapping: Any) -> Any:
    """``**d`` in a dict display or call: in one go only a small dict."""
    if type(mapping) is dict and len(mapping) <= MAX_HASHED_DIRECT:
        return mapping
    if isinstance(mapping, Mapping):
        return _TickingMapping(mapping)
    return mapping  # not a mapping: Python's own TypeError


def _cheap_table(value: Any) -> bool:
    """True unless `value` is a set, dict or view too big (or too deep) to combine in one C call."""
    kind = type(value)
    if kind not in _HASHED and kind is not _DICT_VIEWS[1]:
        return True
    if len(value) > MAX_HASHED_DIRECT:
        return False
    try:
        _walk_cost(value, what="a set")
    except UnsafeExpressionError:
        return False
    return True


def _as_set(value: Any) -> set | frozenset:
    return value if type(value) in (set, frozenset) else set(_keyed(value))


def _combine(symbol: str, a: Any, b: Any, target: set | None = None) -> Any:
    """``a | b``, ``a & b``, ``a - b``, ``a ^ b`` of sets, dicts and views, item by item under the budget."""
    if symbol == "|" and isinstance(a, dict) and isinstance(b, dict):
        merged = a if target is not None else _copy_dict(a)
        for key in _ticking(b):
            merged[key] = b[key]
        return merged
    left, right = _as_set(a), _as_set(b)
    if symbol == "|":
        result = set(left)
        result.update(_ticking(right))
    elif symbol == "&":
        small, big = (left, right) if len(left) <= len(right) else (right, left)
        result = {item for item in _ticking(small) if item in big}
    elif symbol == "-":
        result = {item for item in _ticking(left) if item not in right}
    else:
        result = {item for item in _ticking(left) if item not in right}
        result.update(item for item in _ticking(right) if item not in left)
    if target is not None:
        target.clear()
        target.update(_ticking(result))
        return target
    return frozenset(result) if type(a) is frozenset else result


def _table_operator(symbol: str, direct: Callable[[Any, Any], Any],
                    in_place: bool = False) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if type(a) in _SCALARS or (_cheap_table(a) and _cheap_table(b)):
            return direct(a, b)
        if isinstance(a, (set, frozenset, dict, *_DICT_VIEWS)) and isinstance(b, (set, frozenset, dict, *_DICT_VIEWS)):
            if type(a) is dict and type(b) is not dict:
                return direct(a, b)  # Python's TypeError
            return _combine(symbol, a, b, a if in_place and type(a) in (set, dict) else None)
        return direct(a, b)
    return apply


def _set_method(name: str) -> Callable[..., Any]:
    """set/frozenset methods taking iterables, item by item when anything is big."""
    method = getattr(set, name)
    symbol = {"union": "|", "update": "|", "intersection": "&", "intersection_update": "&",
              "difference": "-", "difference_update": "-", "symmetric_difference": "^",
              "symmetric_difference_update": "^"}.get(name)
    in_place = name.endswith("update")

    def call(self: Any, *others: Any) -> Any:
        if all(type(o) in (set, frozenset) and _cheap_table(o) for o in (self, *others)):
            return getattr(type(self), name)(self, *others)
        if symbol is None:  # issubset, issuperset, isdisjoint
            other = _as_set(others[0]) if others else set()
            if name == "issubset":
                return len(self) <= len(other) and all(item in other for item in _ticking(self))
            if name == "issuperset":
                return all(item in self for item in _ticking(other))
            return not any(item in other for item in _ticking(self))
        if in_place and type(self) is not set:
            return method(self, *others)  # frozenset: Python's AttributeError/TypeError
        result = self if in_place else (set(self) if type(self) is set else frozenset(self))
        for other in others:
            result = _combine(symbol, result, _as_set(other), result if in_place else None)
        return None if in_place else result

    return call


def _checked_dict_update(self: dict, *args: Any, **kwargs: Any) -> None:
    if len(args) > 1:
        raise TypeError(f"update expected at most 1 argument, got {len(args)}")
    if args:
        source = args[0]
        if isinstance(source, Mapping):
            _combine("|", self, dict(_dict_star(source)) if not isinstance(source, dict) else source, self)
        else:
            dict.update(self, _pairs(source))
    if kwargs:
        dict.update(self, kwargs)


def _guarded_fromkeys(iterable: Any, value: Any = None) -> dict:
    return dict.fromkeys(_feed_keys(iterable), value)


def _keyed_method(owner: type, name: str) -> Callable[..., Any]:
    """dict.get/pop/setdefault, set.add/discard/remove: the key is measured before it is hashed."""
    method = getattr(owner, name)

    def call(self: Any, key: Any, *args: Any) -> Any:
        if type(key) not in _FLAT and not _small_and_flat(key):
            _walk_cost(key, what="a key")
        return method(self, key, *args)

    return call


def _searching_method(owner: type, name: str) -> Callable[..., Any]:
    """list/tuple index/count/remove compare the value with every item: both are measured."""
    method = getattr(owner, name)

    def call(self: Any, value: Any, *args: Any) -> Any:
        _cmp(value)
        _walk_cost(self, what=f"the {owner.__name__} searched by {name}()")
        return method(self, value, *args)

    return call


class _GuardedType(type):
    """Metaclass of the sandbox's list, dict, str…: isinstance() works as with the real type,
    calling the type runs a guarded constructor."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._make(*args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.__bases__[0])

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.__bases__[0])

    def __repr__(cls) -> str:
        return f"<class '{cls.__bases__[0].__name__}'>"


def _sandbox_type(base: type, make: Callable[..., Any]) -> type:
    return _GuardedType(base.__name__, (base,), {"__slots__": (), "_make": staticmethod(make)})


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


def _guarded_fjoin(*parts: str) -> str:
    if len(parts) > 1 and sum(map(len, parts)) > MAX_CONCAT_LEN:
        raise _refuse(f"the f-string would exceed {MAX_CONCAT_LEN:,} characters")
    return "".join(parts)


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
    ast.BitOr: "_or_",
    ast.BitAnd: "_and_",
    ast.Sub: "_sub_",
    ast.BitXor: "_xor_",
}


def _checked_inplace(check: Callable[[Any, Any], None],
                     in_place: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    # operator.iadd/imul keep Python's semantics: ``lst += [x]`` extends the same list.
    def apply(a: Any, b: Any) -> Any:
        check(a, b)
        return in_place(a, b)
    return apply


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _checked_inplace(_check_add, lambda a, b: operator.iadd(a, _feed(b) if type(a) is list else b)),
    "*=": _checked_inplace(_check_mul, operator.imul),
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    "%=": _guarded_mod,
    "-=": _table_operator("-", operator.isub, in_place=True),
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    ">>=": operator.irshift,
    "|=": _table_operator("|", operator.ior, in_place=True),
    "^=": _table_operator("^", operator.ixor, in_place=True),
    "&=": _table_operator("&", operator.iand, in_place=True),
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
    items = _make_list(iterable)
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
    list.extend(self, _feed(iterable))


# name -> [(types the check applies to, replacement taking self first)…], first match wins
_CHECKED_METHODS: dict[str, list[tuple[tuple[type, ...], Callable[..., Any]]]] = {}
for _name, _owners, _replacement in [
    *((n, (str, bytes), _width_checked(n)) for n in ("ljust", "rjust", "center", "zfill")),
    ("expandtabs", (str, bytes), _checked_expandtabs),
    ("replace", (str, bytes), _checked_replace),
    ("join", (str, bytes), _checked_join),
    ("translate", (str, bytes), _checked_translate),
    ("to_bytes", (int,), _checked_to_bytes),
    ("extend", (list,), _checked_extend),
    ("sort", (list,), _checked_sort),
    *((n, (list,), _searching_method(list, n)) for n in ("index", "count", "remove")),
    *((n, (tuple,), _searching_method(tuple, n)) for n in ("index", "count")),
    *((n, (dict,), _keyed_method(dict, n)) for n in ("get", "pop", "setdefault")),
    *((n, (set,), _keyed_method(set, n)) for n in ("add", "discard", "remove")),
    *((n, (set, frozenset), _set_method(n)) for n in (
        "union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset", "isdisjoint")),
    *((n, (set,), _set_method(n)) for n in (
        "update", "intersection_update", "difference_update", "symmetric_difference_update")),
    ("update", (dict,), _checked_dict_update),
]:
    _CHECKED_METHODS.setdefault(_name, []).append((_owners, _replacement))
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
    if name == "fromkeys" and (isinstance(obj, dict) or (isinstance(obj, type) and issubclass(obj, dict))):
        return _guarded_fromkeys
    for owners, replacement in _CHECKED_METHODS.get(name, ()):
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


_SandboxStr = _sandbox_type(str, _guarded_str)  # isinstance() and str.upper work, str(huge) is refused


class _DiscardPrinter:
    """Target of RestrictedPython's print rewriting: output is dropped (nothing to show it)."""

    def _call_print(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def __call__(self) -> str:
        return ""


_PRINTER = _DiscardPrinter()

_MATH = types.SimpleNamespace(**{
    name: getattr(math, name) for name in (
        "ceil", "floor", "trunc", "sqrt", "isqrt", "fabs", "fmod", "modf", "copysign",
        "exp", "log", "log2", "log10", "pow", "hypot", "gcd", "isclose", "isfinite", "isinf",
        "isnan", "radians", "degrees", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
        "pi", "e", "tau", "inf", "nan")
}, fsum=_guarded_fsum)

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
    # Lazy iterators (map, zip…) are fine; whatever consumes one in C, or compares,
    # hashes or sorts, goes through the guards of the structures section.
    "min": _extreme(min), "max": _extreme(max), "sorted": _guarded_sorted, "reversed": reversed,
    "any": _guarded_any, "all": _guarded_all, "hash": _guarded_hash,
    "list": _sandbox_type(list, _make_list), "dict": _sandbox_type(dict, _make_dict),
    "set": _sandbox_type(set, _make_set), "frozenset": _sandbox_type(frozenset, _make_frozenset),
    "tuple": _sandbox_type(tuple, _make_tuple),
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
    "_getitem_": _guarded_getitem,
    "_getiter_": _guarded_getiter,
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
    "_or_": _table_operator("|", operator.or_),
    "_and_": _table_operator("&", operator.and_),
    "_sub_": _table_operator("-", operator.sub),
    "_xor_": _table_operator("^", operator.xor),
    "_cmp_": _cmp,
    "_cmp_in_": _cmp_in,
    "_key_": _key,
    "_star_": _star,
    "_set_star_": _set_star,
    "_dict_star_": _dict_star,
    "_format_": _guarded_format,
    "_fjoin_": _guarded_fjoin,
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

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        """Measure each operand before C compares it (``a == b`` of shared structures walks them all)."""
        node = super().visit_Compare(node)
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            return node
        last = len(node.ops) - 1

        def measured(expr: ast.expr, guard: str) -> ast.expr:
            return expr if isinstance(expr, ast.Constant) else _located(_call(guard, expr), expr)

        node.left = measured(node.left, "_cmp_")
        node.comparators = [
            measured(c, "_cmp_in_" if i == last and isinstance(op, (ast.In, ast.NotIn)) else "_cmp_")
            for i, (op, c) in enumerate(zip(node.ops, node.comparators, strict=True))]
        return node

    def _keyed(self, expr: ast.expr) -> ast.expr:
        if isinstance(expr, (ast.Constant, ast.Starred)):
            return expr
        return _located(_call("_key_", expr), expr)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        """`d[k] = v` and `del d[k]` measure k before it is hashed (loads go through _getitem_)."""
        node = super().visit_Subscript(node)
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            node.slice = self._keyed(node.slice)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        """Keys are measured; `**d` is read item by item when d is big."""
        node = super().visit_Dict(node)
        node.keys = [k if k is None else self._keyed(k) for k in node.keys]
        node.values = [_located(_call("_dict_star_", v), v) if k is None else v
                       for k, v in zip(node.keys, node.values, strict=True)]
        return node

    def visit_Set(self, node: ast.Set) -> ast.AST:
        """Items are measured before they are hashed; `*x` is hashed item by item when x is big."""
        node = super().visit_Set(node)
        for elt in node.elts:
            if isinstance(elt, ast.Starred) and isinstance(elt.value, ast.Call):
                elt.value.func.id = "_set_star_"
        node.elts = [self._keyed(e) for e in node.elts]
        return node

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        """Keys are measured before they are hashed."""
        node = super().visit_DictComp(node)
        node.key = self._keyed(node.key)
        return node

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        """Items are measured before they are hashed."""
        node = super().visit_SetComp(node)
        node.elt = self._keyed(node.elt)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        """`lst[a:b] = iterable` takes the iterable in one go only when it is a small container."""
        node = super().visit_Assign(node)
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
                and isinstance(node.targets[0].slice, ast.Slice)):
            node.value = _located(_call("_star_", node.value), node.value)
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        """`*x` in a list, tuple or call: consumed in one go only from a small container."""
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _located(_call("_star_", node.value), node.value)
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        """`f(**d)`: d is read item by item when it is big."""
        node = super().visit_keyword(node)
        if node.arg is None:
            node.value = _located(_call("_dict_star_", node.value), node.value)
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
            ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=self._keyed(key)),
            # _write_(obj)[key] = _inplacevar_(op, _getitem_(obj, key), value)
            ast.Assign(
                targets=[ast.Subscript(value=_call("_write_", load(obj_name)), slice=load(key_name),
                                       ctx=ast.Store())],
                value=_call("_inplacevar_", op, _call("_getitem_", load(obj_name), load(key_name)), value)),
        ]
        return [_located(statement, node) for statement in statements]

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        """`f"{a}{b}…"` becomes `_fjoin_(_format_(a…), _format_(b…), …)`: the joined length is checked
        (each field is bounded, but a thousand fields of a long text joined in one C call are not)."""
        node = self.node_contents_visit(node)
        parts = [value.value if isinstance(value, ast.FormattedValue) else value for value in node.values]
        return _located(_call("_fjoin_", *parts), node)

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
        try:
            scope = self._run(code, names, extra_names, "exec")
        except ExpressionError:
            # Lists and dicts of the data the script changed in place before failing stay
            # as they are: the failed task must remain storable, so drop what is not.
            for key, value in list(names.items()):
                if isinstance(value, _CONTAINERS):
                    try:
                        check_storable(key, value)
                    except UnsafeExpressionError:
                        del names[key]
            raise
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
                check_storable(key, value)
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
        outer, _BUDGET.current = _BUDGET.current, budget
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
        finally:
            _BUDGET.current = outer
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
