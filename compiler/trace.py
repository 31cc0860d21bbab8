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

    def __init__(self, fn: Callable) -> None:
        self.fn = fn  # the traced function (named in errors)
        self.inputs: list[Tensor] = []
        self.nodes: list[Node] = []
        self.reads: list[tuple[Tensor, np.ndarray]] = []
        self.marker = Node(registry["identity"], (), {}, None, 0)
        self.out_structure: Any = None
        self.outputs: list = []
        # A backward pass without retain_graph frees its records' arguments; the
        # lowering still needs them, so the sweep hands them here first (on_free).
        self.saved: dict[int, tuple] = {}
        self.detached: set[int] = set()  # ids of the records made by on_detach
        self.arguments: list[Tensor] = []  # the traced inputs as created (never patched)

    def on_record(self, node: Node) -> None:
        self.nodes.append(node)

    def on_free(self, node: Node) -> None:
        """A backward pass is about to free ``node``: keep its arguments and output, and
        the arguments' versions (an in-place change after this is refused)."""
        self.saved[id(node)] = (node.args, node.out, _versions(node.args))

    def on_detach(self, t: Tensor, dtype: Any = None) -> Tensor:
        """``t.detach()`` (or ``tg.tensor(t)``) of a traced tensor, while tracing.

        The eager result is a leaf holding ``t``'s value; a compiled program must
        compute that value for each call instead of keeping the traced one. So the copy
        is recorded, without a gradient, as an ``identity`` (and ``astype``) record.
        """
        from tapegrad.primitives import astype, identity

        token = set_state(grad_enabled=False)
        try:
            out = identity(t)
            self.detached.add(id(out._node))
            if dtype is not None:
                out = astype(out, dtype)
                self.detached.add(id(out._node))
        finally:
            reset_state(token)
        return out

    def on_inplace(self, x: Tensor) -> None:
        """An in-place operation is about to change ``x``: refused when ``x`` is one of
        the traced arguments (a compiled program never writes to its arguments)."""
        for k, t in enumerate(self.arguments):
            if t is x:
                raise _modified_argument(self.fn, k)

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
        self.arguments.append(t)
        return t


def _versions(args: Any) -> tuple:
    return tuple(a._version for a in args if isinstance(a, Tensor)) if args else ()


def trace(fn: Callable, args: Sequence[Any], kwargs: dict | None = None,
          static_argnums: Sequence[int] = ()) -> Trace:
    """Call ``fn(*args, **kwargs)`` on traced tensors and return what it recorded.

    Arguments in ``static_argnums`` are passed through unchanged; in the others, every
    array leaf (of lists, tuples and dicts too) is replaced by a traced tensor.
    """
    tr = Trace(fn)
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


def _modified_argument(fn: Callable, k: int) -> RuntimeError:
    name = getattr(fn, "__name__", "function")
    return RuntimeError(
        f"compile: {name} modifies its argument (array leaf {k}) in place; a compiled "
        "program never writes to its arguments, so it cannot do what the eager function "
        "does. Compute out of place (x = x + 1), or modify a copy (x = x * 1.0 first)")
