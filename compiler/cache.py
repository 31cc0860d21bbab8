"""The compilation cache: signatures, a bounded LRU, guards and recompile reasons.

A call's *signature* is everything the generated program depends on besides the array
values: each argument's shape, dtype and array type (hence backend), the values of
static arguments and Python numbers, and the pytree structure (the ``TreeDef`` of
``tapegrad.pytree``: node classes, dict keys, the static data of registered nodes) of
every argument that is not a plain array, with the same facts about each of its leaves.
Computing it is the first thing every call does, so the common case (a positional
NumPy array) costs one type check and one tuple.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tapegrad.backend import device_of, to_numpy
from tapegrad.pytree import is_node_type, tree_flatten
from tapegrad.tensor import Tensor

from .ir import short_dtype
from .trace import exact_key, is_array

log = logging.getLogger("tapegrad.compiler")

_ndarray = np.ndarray
_TENSOR = "tensor"
#: The kind of a tensor that carries a graph (requires grad, or is a recorded result).
#: A call with one never runs a program directly: see ``CompiledFunction._slow_call``.
GRAPH = "tensor with a graph"


def _tensor_kind(t: Tensor) -> str:
    return GRAPH if t._rg or t._node is not None else _TENSOR


def has_graph(key: Any) -> bool:
    """Whether a cache key has a tensor that carries a graph."""
    if type(key) is tuple:
        return any(k == GRAPH if type(k) is str else has_graph(k) for k in key)
    return False


def _leaf_sig(a: Any) -> Any:
    d = a.data if isinstance(a, Tensor) else a
    sig = (_tensor_kind(a) if d is not a else "array", type(d), tuple(d.shape), d.dtype)
    # The array type names the backend; other backends also have several devices.
    return sig if type(d) is _ndarray else sig + (device_of(d),)


def _other(a: Any, static: bool) -> Any:
    if static:
        try:
            hash(a)
        except TypeError:
            raise TypeError(f"compile: static argument {a!r} must be hashable") from None
        return ("static", type(a), a)
    if is_node_type(type(a)):
        leaves, treedef = tree_flatten(a)
        sig = ("tree", treedef, tuple([_leaf_sig(x) if is_array(x)
                                       else ("static", type(x), *exact_key(x))
                                       for x in leaves]))
        try:
            hash(sig)
        except TypeError:
            raise TypeError(
                f"compile: an argument of structure {treedef!r} has a part that is not "
                "hashable (a leaf that is not an array, or a registered node's static "
                "data); the cache key needs it hashable: make it an array, or hashable"
            ) from None
        return sig
    if isinstance(a, Tensor) or hasattr(a, "shape"):
        return _leaf_sig(a)
    return ("static", type(a), *exact_key(a))


def signature(args: Sequence[Any], static: frozenset) -> tuple:
    """The cache key of a call with positional ``args``."""
    key = []
    for i, a in enumerate(args):
        t = type(a)
        if t is _ndarray and i not in static:
            key.append((a.shape, a.dtype))
        elif t is Tensor and i not in static:
            d = a.data  # (_tensor_kind inlined: this runs on every call)
            key.append((GRAPH if a._rg or a._node is not None else _TENSOR, type(d), d.shape,
                        d.dtype) if type(d) is _ndarray
                       else _leaf_sig(a))
        else:
            key.append(_other(a, i in static))
    return tuple(key)


def signature_kw(args: Sequence[Any], kwargs: dict, static: frozenset) -> tuple:
    """The cache key of a call with keyword arguments too."""
    return signature(args, static) + tuple(
        (("kw", k), _other(v, False)) for k, v in sorted(kwargs.items()))


def describe_arg(sig: Any) -> str:
    """One argument's signature in words, e.g. ``f32[128,784]``."""
    if len(sig) == 2 and isinstance(sig[0], tuple):
        return f"{short_dtype(sig[1])}[{','.join(map(str, sig[0]))}]"
    kind = sig[0]
    if kind == _TENSOR or kind == "array":
        name = "tensor " if kind == _TENSOR else f"{sig[1].__name__} "
        return f"{name}{short_dtype(sig[3])}[{','.join(map(str, sig[2]))}]"
    if kind == "static":
        return f"{sig[2]!r}"
    if kind == "tree":
        n = sum(1 for x in sig[2] if x[0] != "static")
        return f"{_kind_name(sig[1])} of {n} array{'s' if n != 1 else ''}"
    return repr(sig)


def _kind_name(treedef: Any) -> str:
    kind = treedef.kind
    return "None" if kind is type(None) else kind.__name__


def _shape_dtype(sig: Any) -> tuple | None:
    if len(sig) == 2 and isinstance(sig[0], tuple):
        return ("ndarray", sig[0], sig[1])
    if sig[0] in (_TENSOR, "array"):
        return (sig[1].__name__ if sig[0] == "array" else "tensor", sig[2], sig[3])
    return None


def _is_kw(sig: Any) -> bool:
    return isinstance(sig, tuple) and len(sig) == 2 and isinstance(sig[0], tuple) \
        and len(sig[0]) == 2 and sig[0][0] == "kw"


def _unkw(sig: Any) -> Any:
    return sig[1] if _is_kw(sig) else sig


def _label(k: int, old: Any) -> str:
    if _is_kw(old):
        return f"keyword argument {old[0][1]!r}"
    return f"argument {k}"


def explain_miss(old: tuple | None, new: tuple) -> str:
    """Why ``new`` needs its own program, compared with the nearest cached key."""
    if old is None:
        return "first call"
    if len(old) != len(new):
        return f"number of arguments {len(old)} -> {len(new)}"
    reasons = []
    for k, (a, b) in enumerate(zip(old, new)):
        if a == b:
            continue
        what, a, b = _label(k, a), _unkw(a), _unkw(b)
        if _is_kw(new[k]) != _is_kw(old[k]):  # one call passed it by keyword
            reasons.append(f"{what} -> {_label(k, new[k])}")
            continue
        sa, sb = _shape_dtype(a), _shape_dtype(b)
        if sa and sb:
            if sa[0] != sb[0]:
                reasons.append(f"{what} type {sa[0]} -> {sb[0]}")
            if sa[1] != sb[1]:
                reasons.append(f"{what} shape {sa[1]} -> {sb[1]}")
            if sa[2] != sb[2]:
                reasons.append(f"{what} dtype {sa[2]} -> {sb[2]}")
            if len(a) == len(b) == 5 and a[4] != b[4]:
                reasons.append(f"{what} device {a[4]} -> {b[4]}")
        elif a[0] == "static" and b[0] == "static":
            reasons.append(f"{what} static value {a[2]!r} -> {b[2]!r}")
        elif a[0] == "tree" and b[0] == "tree":
            reasons.append(_tree_change(what, a, b))
        else:
            reasons.append(f"{what} {describe_arg(a)} -> {describe_arg(b)}")
    return "; ".join(reasons) or "new signature"


def _tree_change(what: str, a: tuple, b: tuple) -> str:
    """How the pytree argument ``a`` differs from ``b`` (structure first, then a leaf)."""
    if a[1] != b[1]:
        return f"{what} structure {a[1]!r} -> {b[1]!r}"
    for k, (x, y) in enumerate(zip(a[2], b[2])):
        if x != y:
            inner = explain_miss((x,), (y,)).replace("argument 0", f"{what} leaf {k}")
            return inner
    return f"{what} changed"


def nearest(keys: Sequence[tuple], new: tuple) -> tuple | None:
    """The cached key differing from ``new`` in the fewest arguments."""
    best, score = None, None
    for k in keys:
        s = len(k) != len(new), sum(a != b for a, b in zip(k, new))
        if score is None or s < score:
            best, score = k, s
    return best


@dataclass(eq=False)
class Entry:
    """One compiled program and what it needs to be valid.

    ``guards`` are the values Python read while tracing; the program returns the same
    quantities alongside its result, and a mismatch means this program does not
    apply. ``value_guards`` are ``(leaf position, value)`` pairs for arguments whose
    values were baked in; they are checked before running.
    """

    fn: Any
    guards: tuple = ()
    value_guards: tuple = ()
    info: dict = field(default_factory=dict)
    plain: bool = False  # no guards and no verification: the fast path may run it


class LRU:
    """A bounded mapping from signatures to lists of entries (newest first)."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict = OrderedDict()

    def get(self, key: tuple) -> Any:
        entries = self.data.get(key)
        if entries is not None:
            self.data.move_to_end(key)
        return entries

    def put(self, key: tuple, entry: Entry, per_key: int = 8) -> None:
        entries = self.data.get(key) or []
        self.data[key] = [entry] + entries[: per_key - 1]
        self.data.move_to_end(key)
        while len(self.data) > self.maxsize:
            old, _ = self.data.popitem(last=False)
            log.info("compile cache full: evicted %s", old)

    def __len__(self) -> int:
        return sum(len(v) for v in self.data.values())

    def keys(self) -> list:
        return list(self.data)


def guard_failure(entry: Entry, values: Sequence[Any]) -> str | None:
    """A description of the first guard that ``values`` break, or None."""
    for k, (want, got) in enumerate(zip(entry.guards, values)):
        got = to_numpy(got)  # a guard reads a value on the host, as .item() does
        if want.shape != got.shape or not np.array_equal(
                want, got, equal_nan=want.dtype.kind in "fc"):
            what = entry.info.get("guard_names", [""] * len(entry.guards))[k]
            return (f"guard {k}{what} read {_short(want)} while tracing, "
                    f"now {_short(got)}")
    return None


def _short(a: np.ndarray) -> str:
    return repr(a.item()) if a.size == 1 else f"array{list(a.shape)}"


def describe_input(a: Any) -> str:
    """An argument as the signature sees it, e.g. ``f32[128,784]``."""
    try:
        return describe_arg(signature([a], frozenset())[0])
    except TypeError:
        return repr(a)
