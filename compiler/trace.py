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

from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapegrad._state import reset_state, set_state
from tapegrad.backend import backend_of, is_floating, to_numpy
from tapegrad.node import Node
from tapegrad.primitive import registry
from tapegrad.pytree import TreeDef, registered, tree_flatten, tree_unflatten
from tapegrad.tensor import Tensor, _make

# -- pytrees: how a program receives its array leaves and returns its results ----------
# Arguments and results are pytrees of tapegrad.pytree (the one implementation the
# transforms use too). A *layout* is derived from a tree's TreeDef and leaves: it tells
# code generation how the program reaches each array leaf of an argument and how it
# spells its result. ARRAY / TENSOR stand for an array leaf; ``(list | tuple,
# children)`` and ``(dict, keys, children)`` are nodes the program indexes (or builds)
# directly; ``("S", type, value, tag)`` is a leaf that is not an array: a constant of
# the program, part of the cache key. A tree with nodes a program cannot index (a
# registered class) is passed to the program as the flat tuple of its array leaves
# (:func:`flat_layout`), and a result it cannot spell is returned flat and rebuilt with
# ``tree_unflatten`` (see ``CompiledFunction._compile_now``).
ARRAY = "A"  # a raw array leaf
TENSOR = "T"  # a tensor leaf

_NUMBERS = (bool, int, float, complex, str, bytes, type(None))


def is_array(x: Any) -> bool:
    """Whether the pytree leaf ``x`` is an array or tensor (else a static value)."""
    return isinstance(x, Tensor) or type(x) is np.ndarray or isinstance(x, np.generic) or (
        not isinstance(x, _NUMBERS) and hasattr(x, "__array_namespace__"))


def leaf_layout(x: Any) -> Any:
    """The layout of one leaf: ``TENSOR``, ``ARRAY`` or a static ``("S", ...)`` entry."""
    if isinstance(x, Tensor):
        return TENSOR
    if is_array(x):
        return ARRAY
    return ("S", type(x), *exact_key(x))


def layout(treedef: TreeDef, leaves: Sequence[Any], result: bool = False) -> Any:
    """The layout of a tree, or None when a program cannot reach (``result``: build)
    its nodes directly.

    Arguments may be indexed through namedtuples and every kind of dict; a result is
    spelled directly only with ``list``, ``tuple`` and ``dict`` nodes.
    """
    try:
        return _layout(treedef, iter(leaves), result)
    except _NotDirect:
        return None


class _NotDirect(Exception):
    pass


_STATIC_NONE = ("S", type(None), None, None)


def _layout(t: TreeDef, it: Any, result: bool) -> Any:
    kind = t.kind
    if kind is None:
        return leaf_layout(next(it))
    if kind is type(None):
        return _STATIC_NONE
    if kind is list or kind is tuple or (not result and registered(kind) is None
                                         and issubclass(kind, tuple)):
        return (kind if kind is list else tuple, tuple(_layout(c, it, result)
                                                       for c in t.children))
    if kind is dict or (not result and kind in (OrderedDict, defaultdict)):
        keys = t.meta[1] if kind is defaultdict else t.meta
        return (dict, keys, tuple(_layout(c, it, result) for c in t.children))
    raise _NotDirect


def flat_layout(leaves: Sequence[Any], arrays_only: bool = True) -> tuple:
    """The layout of a flat tuple of leaves (array leaves only, by default)."""
    return (tuple, tuple(leaf_layout(x) for x in leaves
                         if not arrays_only or is_array(x)))


def flatten(obj: Any, leaves: list) -> Any:
    """Append the array leaves of ``obj`` to ``leaves``; return a hashable description.

    The description is ``obj``'s layout when a program can index it directly, else
    ``("tree", treedef, leaf layouts)``; either way equal descriptions mean the same
    structure, the same static leaves and the same array/tensor leaf kinds.
    """
    all_leaves, treedef = tree_flatten(obj)
    leaves.extend(x for x in all_leaves if is_array(x))
    lay = layout(treedef, all_leaves)
    if lay is None:
        return ("tree", treedef, tuple(leaf_layout(x) for x in all_leaves))
    return lay


def arg_layout(obj: Any) -> tuple[Any, bool]:
    """The layout in which a program takes argument ``obj``, and whether ``obj`` is
    passed to it as the flat tuple of its array leaves (see :func:`array_leaves`)."""
    all_leaves, treedef = tree_flatten(obj)
    lay = layout(treedef, all_leaves)
    if lay is None:
        return flat_layout(all_leaves), True
    return lay, False


def array_leaves(obj: Any) -> tuple:
    """The array leaves of ``obj``, in flattening order."""
    return tuple([x for x in tree_flatten(obj)[0] if is_array(x)])


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
        self.out_structure: Any = None  # the result's layout (None: rebuilt from flat)
        self.out_treedef: TreeDef | None = None  # the result's structure
        self.out_leaves: list = []  # every leaf of the result (static ones too)
        self.outputs: list = []  # its array leaves
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
        call_args.append(a if i in static_argnums else _traced_tree(tr, a))
    kw = {k: _traced_tree(tr, v) for k, v in (kwargs or {}).items()}
    token = set_state(tracing=tr, grad_enabled=True, tapes=())
    try:
        out = fn(*call_args, **kw)
    finally:
        reset_state(token)
    leaves, tr.out_treedef = tree_flatten(out)
    for x in leaves:
        if not isinstance(x, Tensor) and is_array(x) and backend_of(x) is None:
            raise TypeError(f"compile: cannot return {type(x).__name__} values")
    tr.out_leaves = leaves
    tr.outputs = [x for x in leaves if is_array(x)]
    tr.out_structure = layout(tr.out_treedef, leaves, result=True)
    return tr


def _traced_tree(tr: Trace, a: Any) -> Any:
    """``a`` with each array leaf replaced by a traced input (rebuilt as a pytree)."""
    leaves, treedef = tree_flatten(a)
    if treedef.kind is None:
        return tr.traced_input(a) if is_array(a) else a
    return tree_unflatten(treedef, [tr.traced_input(x) if is_array(x) else x
                                    for x in leaves])


def _modified_argument(fn: Callable, k: int) -> RuntimeError:
    name = getattr(fn, "__name__", "function")
    return RuntimeError(
        f"compile: {name} modifies its argument (array leaf {k}) in place; a compiled "
        "program never writes to its arguments, so it cannot do what the eager function "
        "does. Compute out of place (x = x + 1), or modify a copy (x = x * 1.0 first)")
