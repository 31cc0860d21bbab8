"""Tracing: run a Python function once on traced tensors and keep its Wengert list.

Every array argument becomes a traced leaf tensor holding the call's real values:
floating-point arguments require grad, so every operation that depends on one records a
node (also under ``tg.grad``, which then records its backward pass too: one joint
forward+backward tape); integer and boolean arguments carry a marker node, which makes
``bind`` record the operations on them while tracing. Operations that depend on no
argument are constants. Values Python reads from traced tensors (``bool(t)``,
``t.item()``) are kept: they become the compiled program's guards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapegrad._state import reset_state, set_state
from tapegrad.backend import backend_of, is_floating, to_numpy
from tapegrad.node import Node
from tapegrad.primitive import registry
from tapegrad.tensor import Tensor, _make

# -- pytrees: lists, tuples and dicts of arrays ---------------------------------------
ARRAY = "A"  # a raw array leaf
TENSOR = "T"  # a tensor leaf


def flatten(obj: Any, leaves: list) -> Any:
    """Append the array leaves of ``obj`` to ``leaves``; return its hashable structure.

    Lists, tuples and dicts are containers; arrays and tensors are leaves (``"A"`` /
    ``"T"`` in the structure); anything else (numbers, strings, None) is static and
    stays in the structure itself, so a new value gives a new structure.
    """
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return TENSOR
    t = type(obj)
    if t is list or t is tuple:
        return (t, tuple(flatten(x, leaves) for x in obj))
    if t is dict:
        keys = tuple(obj)
        return (dict, keys, tuple(flatten(obj[k], leaves) for k in keys))
    if t is np.ndarray or isinstance(obj, np.generic) or (
            not isinstance(obj, (bool, int, float, complex, str, bytes, type(None)))
            and hasattr(obj, "__array_namespace__")):
        leaves.append(obj)
        return ARRAY
    return ("S", t, *exact_key(obj))


_NAN = float("nan")


def exact_key(obj: Any) -> tuple:
    """``(value, tag)`` under which equal keys mean interchangeable Python values.

    ``0.0 == -0.0`` but ``1/x`` tells them apart, so floats and complex numbers carry
    their ``repr``; every float NaN is the same object (``nan != nan`` would make each
    call a cache miss).
    """
    t = type(obj)
    if t is float or t is complex:
        return (_NAN if obj != obj and t is float else obj), repr(obj)
    return obj, None


def unflatten(structure: Any, leaves: Any) -> Any:
    """Rebuild an object of ``structure`` taking its leaves, in order, from an iterator."""
    if structure is TENSOR or structure is ARRAY:
        return next(leaves)
    head = structure[0]
    if head is list or head is tuple:
        return head(unflatten(s, leaves) for s in structure[1])
    if head is dict:
        return {k: unflatten(s, leaves) for k, s in zip(structure[1], structure[2])}
    return structure[2]


# -- the trace ------------------------------------------------------------------------
class Trace:
    """What one traced call recorded (the ``State.tracing`` object while it runs).

    Attributes
    ----------
    inputs : list of Tensor
        The traced leaf tensors standing for the array arguments, in order.
    nodes : list of Node
        Every node recorded while the function ran, in recording order.
    reads : list of (Tensor, numpy.ndarray)
        Traced tensors whose values Python read, with the values read.
    marker : Node
        The marker node carried by integer and boolean inputs.
    """

    def __init__(self) -> None:
        self.inputs: list[Tensor] = []
        self.nodes: list[Node] = []
        self.reads: list[tuple[Tensor, np.ndarray]] = []
        self.marker = Node(registry["identity"], (), {}, None, 0)
        self.out_structure: Any = None
        self.outputs: list = []

    def on_record(self, node: Node) -> None:
        self.nodes.append(node)

    def on_read(self, t: Tensor) -> None:
        self.reads.append((t, np.array(to_numpy(t.data), copy=True)))

    def traced_input(self, x: Any) -> Tensor:
        """A traced leaf tensor for the array argument ``x`` (a raw array or tensor)."""
        data = x.data if isinstance(x, Tensor) else x
        if isinstance(data, np.generic):
            data = np.asarray(data)
        if is_floating(data.dtype):
            t = _make(data, None, 0, True)
        else:
            t = _make(data, self.marker, len(self.inputs), False)
        self.inputs.append(t)
        return t


def trace(fn: Callable, args: Sequence[Any], kwargs: dict | None = None,
          static_argnums: Sequence[int] = ()) -> Trace:
    """Call ``fn(*args, **kwargs)`` on traced tensors and return what it recorded.

    Arguments in ``static_argnums`` are passed through unchanged; in the others, every
    array leaf (of lists, tuples and dicts too) is replaced by a traced tensor.
    """
    tr = Trace()
    call_args = []
    for i, a in enumerate(args):
        if i in static_argnums:
            call_args.append(a)
            continue
        leaves: list = []
        structure = flatten(a, leaves)
        call_args.append(unflatten(structure, iter([tr.traced_input(x) for x in leaves])))
    kw = {}
    for k, v in (kwargs or {}).items():
        leaves = []
        structure = flatten(v, leaves)
        kw[k] = unflatten(structure, iter([tr.traced_input(x) for x in leaves]))
    token = set_state(tracing=tr, grad_enabled=True, tapes=())
    try:
        out = fn(*call_args, **kw)
    finally:
        reset_state(token)
    leaves = []
    tr.out_structure = flatten(out, leaves)
    tr.outputs = leaves
    for x in leaves:
        if not isinstance(x, Tensor) and backend_of(x) is None:
            raise TypeError(f"compile: cannot return {type(x).__name__} values")
    return tr
