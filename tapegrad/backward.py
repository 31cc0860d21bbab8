"""The backward driver: one reverse sweep over the records that lead to the outputs.

Nodes that hold a gradient wait in a heap keyed by recording order; the sweep pops the
latest one, runs its VJP and adds the results to its inputs' nodes, queueing those it
reaches first. A node's users were all recorded after it, so it is visited only once
its gradient is complete, and nodes that no gradient reaches are never touched (no
recursion and no separate graph walk: a 100 000-op chain is fine). Gradients live in a
dict that pops each node's entry as it is consumed. Broadcasting is undone here, once,
for every rule: a gradient whose shape differs from its input's shape is summed down to
it.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import _inplace
from . import tensor as _tensor
from ._checks import broadcast_reducible, hook_result, seed_dtype
from ._inplace import resolve_args
from ._state import _STATE, reset_state, set_state
from .backend import backend_of, dtype_kind
from .primitives import astype as _astype
from .primitives import real as _real
from .primitives import sum_to as _sum_to
from .tensor import Tensor, _make, tensor

_FREED = (
    "backward: trying to backward through the graph a second time (or directly access "
    "saved values after they have already been freed). Saved values are freed when you "
    "call .backward() or tape.gradient(); specify retain_graph=True (or use a persistent "
    "tape) if you need to backward through the graph a second time."
)


def _seed(y: Tensor, g: Any) -> Tensor:
    """The starting gradient for output ``y``: ones for one element, else ``g``."""
    if g is None:
        n = 1
        for s in y.data.shape:
            n *= s
        if n != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for one-element outputs; "
                f"this output has shape {y.shape}, so pass gradient= of that shape"
            )
        xp = backend_of(y.data).xp
        return _make(xp.ones_like(y.data), None, 0, False)
    if not isinstance(g, Tensor):
        be = backend_of(y.data)
        if backend_of(g) is not None:
            g = Tensor(g)
        elif be.xp is np:
            g = tensor(g, dtype=y.data.dtype)
        else:  # numbers or lists: made in the output's namespace, on its device
            g = Tensor(be.xp.asarray(g, dtype=y.data.dtype, device=y.data.device))
    if g.shape != y.shape:
        raise RuntimeError(
            f"backward: gradient has shape {g.shape} but the output has shape {y.shape}; "
            "they must match"
        )
    return seed_dtype(g, y, "backward")


def _reachable(roots: Sequence[Tensor]) -> list:
    """Nodes reachable from ``roots`` through arguments that require grad, by seq."""
    seen = set()
    stack = []
    for r in roots:
        if r._node is not None and r._rg and id(r._node) not in seen:
            seen.add(id(r._node))
            stack.append(r._node)
    nodes = []
    while stack:
        node = stack.pop()
        nodes.append(node)
        args = node.args
        if args is None:
            raise RuntimeError(_FREED)
        for a in args:
            if type(a) is Tensor:
                if a._version:  # modified in place since: see the snapshots instead
                    break
                if a._rg:
                    n = a._node
                    if n is not None and id(n) not in seen:
                        seen.add(id(n))
                        stack.append(n)
        else:
            continue
        for a in resolve_args(node):
            if type(a) is Tensor and a._rg:
                n = a._node
                if n is not None and id(n) not in seen:
                    seen.add(id(n))
                    stack.append(n)
    nodes.sort(key=_seq_key, reverse=True)
    return nodes


def _seq_key(node) -> int:
    return node.seq


def _unbroadcast(g: Tensor, like: Tensor, node=None) -> Tensor:
    """Sum ``g`` down to ``like``'s shape and cast to its dtype (undo broadcasting)."""
    if g.data.shape != like.data.shape:
        shape = tuple(like.data.shape)
        if not broadcast_reducible(tuple(g.data.shape), shape):
            k = next((i for i, a in enumerate(node.args) if a is like), 0) if node else 0
            raise RuntimeError(
                f"backward: the VJP of {node.name() if node else 'an operation'} returned a "
                f"gradient of shape {g.shape} for argument {k} of shape {like.shape}; a "
                "gradient must have its argument's shape (or one that broadcasts to it)")
        g = _sum_to(g, shape)
    if g.data.dtype != like.data.dtype:
        if dtype_kind(g.data.dtype) == "c" and dtype_kind(like.data.dtype) != "c":
            g = _real(g)  # a real input's gradient is the real part (JAX's convention)
        g = _astype(g, like.data.dtype)
    return g


def _add(a, b):
    if a is None:
        return b
    return a + b


def backward(roots: Sequence[Tensor], grads: Sequence[Any], *, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None, sources: Sequence[Tensor] | None = None):
    """Run the backward sweep from ``roots`` seeded with ``grads``.

    With ``sources`` given, return their gradients (None where unconnected) and leave
    every ``.grad`` untouched; otherwise accumulate into the ``.grad`` of the leaves
    (all of them, or only ``inputs``) and return None.
    """
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None and sources is None:
        return _backward_to_inputs(roots, grads, _check_inputs(inputs), retain_graph,
                                   create_graph)
    for r in roots:
        if not isinstance(r, Tensor) or not r._rg:
            raise RuntimeError(
                "backward: the output does not require grad and has no grad_fn; did you "
                "forget requires_grad=True on an input, or compute it under no_grad()?"
            )
    seeds = [_seed(r, g) for r, g in zip(roots, grads)]

    # Which leaves collect gradients; with sources, which nodes are visited at all and
    # which node outputs are captured.
    want_leaf = want_node = useful = keep = None
    # Once some tensor was modified in place, records are pointed at their snapshots
    # up front, while the later records that keep those snapshots alive still exist.
    nodes = _reachable(roots) if sources is not None or _inplace.modified else None
    if sources is not None:
        want_leaf = {id(s) for s in sources if s._node is None}
        want_node = {(id(s._node), s._idx) for s in sources if s._node is not None}
        keep, useful = _prune(nodes, want_leaf, want_node)
    elif inputs is not None:
        want_leaf = {id(s) for s in inputs}

    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, gradient]
    captured: dict[tuple, Any] = {}
    node_grads: dict = {}  # node -> gradient (a list for multi-output)
    # Nodes holding a gradient, as (-seq, node): the heap pops the newest record first,
    # so a node is visited only after every reachable node that used its outputs (those
    # were recorded later): one sweep both discovers and orders the graph.
    heap: list = []
    # A compiler trace lowers the records after this sweep, so it keeps what freeing drops.
    tracing = _STATE.get().tracing if not retain_graph else None
    token = set_state(grad_enabled=create_graph)
    try:
        for r, g in zip(roots, seeds):
            if r._node is None:
                _accumulate_leaf_grad(leaf_grads, want_leaf, r, g)
            elif keep is None or id(r._node) in keep:
                _accumulate(node_grads, heap, r._node, r._idx, g)
        anomaly = _STATE.get().anomaly is True  # "sites" only records where
        pop = node_grads.pop
        while heap:
            node = heappop(heap)[1]
            g = pop(node)
            args = node.args
            if args is None:
                raise RuntimeError(_FREED)
            prim = node.prim
            multi = prim.multiple_results
            if multi:
                g = _fill_missing(node, g)
            if node.hooks or node.retained:
                g = ([_visit_output(node, i, gi) for i, gi in enumerate(g)] if multi
                     else _visit_output(node, 0, g))
            if want_node:
                for i, gi in enumerate(g if multi else (g,)):
                    if (id(node), i) in want_node:
                        captured[(id(node), i)] = gi
                if id(node) not in useful:
                    continue  # a captured source with no other source behind it
            if prim.saves_output:
                results = prim.vjp(tuple(g) if multi else g, *args, out=_outputs(node),
                                   **node.params)
            else:
                results = prim.vjp(g, *args, **node.params)
            if anomaly:
                _check_finite(node, results)
            for a, ga in zip(args, results):
                if ga is None or type(a) is not Tensor or not a._rg:
                    continue
                gd, ad = ga.data, a.data
                if gd.shape != ad.shape or (gd.dtype is not ad.dtype and gd.dtype != ad.dtype):
                    ga = _unbroadcast(ga, a, node)
                n = a._node
                if n is None:
                    _accumulate_leaf_grad(leaf_grads, want_leaf, a, ga)
                elif keep is not None and id(n) not in keep:
                    continue
                elif n.prim.multiple_results:
                    _accumulate(node_grads, heap, n, a._idx, ga)
                else:
                    prev = node_grads.get(n)
                    if prev is None:
                        node_grads[n] = ga
                        heappush(heap, (-n.seq, n))
                    else:
                        node_grads[n] = prev + ga
            if not retain_graph:
                if tracing is not None:
                    tracing.on_free(node)
                node.free()
    finally:
        reset_state(token)

    if sources is not None:
        out = []
        for s in sources:
            if s._node is None:
                entry = leaf_grads.get(id(s))
                g = None if entry is None else entry[1]
                if g is not None and s._hooks:  # as PyTorch's autograd.grad does
                    g = _run_hooks(s._hooks, g)
                out.append(g)
            else:
                out.append(captured.get((id(s._node), s._idx)))
        return [None if g is None else _own(g) for g in out]
    for leaf, g in leaf_grads.values():
        _store_leaf_grad(leaf, g, create_graph)
    return None


def _check_inputs(inputs) -> list:
    """``backward(inputs=...)``: a tensor or a non-empty sequence of tensors."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: the inputs argument cannot be empty")
    for s in inputs:
        if not isinstance(s, Tensor):
            raise TypeError(f"backward: inputs must be tensors, got {type(s).__name__}")
        if not s._rg:
            raise RuntimeError("backward: every tensor in inputs must require grad")
    return inputs


def _backward_to_inputs(roots, grads, inputs: list, retain_graph: bool,
                        create_graph: bool) -> None:
    """Accumulate into ``.grad`` of exactly ``inputs``, leaves or not (as PyTorch)."""
    unique = list({id(s): s for s in inputs}.values())
    got = backward(roots, grads, retain_graph=retain_graph, create_graph=create_graph,
                   sources=unique)
    for s, g in zip(unique, got):
        if g is not None:  # leaf hooks already ran in the sweep
            _store_leaf_grad(s, g, create_graph, hooks=False)


def _accumulate_leaf_grad(leaf_grads: dict, want: set | None, leaf: Tensor, g) -> None:
    if want is not None and id(leaf) not in want:
        return
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _prune(nodes: list, want_leaf: set, want_node: set) -> tuple[set, set]:
    """Keep the nodes on some path from a source to a root.

    Returns the ids of the kept nodes and of those whose VJP must run (a source's own
    node runs only when another source lies behind it).
    """
    useful: set[int] = set()
    for node in reversed(nodes):  # ascending seq: inputs before their users
        for a in node.args:
            if type(a) is Tensor and a._rg:
                if a._node is None:
                    hit = id(a) in want_leaf
                else:
                    hit = id(a._node) in useful or (id(a._node), a._idx) in want_node
                if hit:
                    useful.add(id(node))
                    break
    source_nodes = {key[0] for key in want_node}
    return useful | source_nodes, useful


def _accumulate(node_grads: dict, heap: list, node, idx: int, g) -> None:
    """Add ``g`` to the gradient of output ``idx`` of ``node``; queue a node seen first."""
    prev = node_grads.get(node)
    if prev is None:
        heappush(heap, (-node.seq, node))
    if node.prim.multiple_results:
        if prev is None:
            prev = node_grads[node] = [None] * len(node.out)
        prev[idx] = _add(prev[idx], g)
    else:
        node_grads[node] = _add(prev, g)


def _fill_missing(node, g: list) -> list:
    """Zeros for the outputs of a multi-output node that received no gradient."""
    out = []
    for o, gi in zip(node.out, g):
        if gi is None:
            gi = _make(backend_of(o).xp.zeros_like(o), None, 0, False)
        out.append(gi)
    return out


def _run_hooks(hooks: list, g):
    for hook in hooks:
        new = hook(g)
        if new is not None:
            g = hook_result(hook, new, g)
    return g


def _visit_output(node, idx: int, g):
    """Run the hooks of output ``idx`` and fill ``.grad`` if it is retained."""
    if node.hooks and idx in node.hooks:
        g = _run_hooks(node.hooks[idx], g)
    if node.retained and idx in node.retained:
        t = node.retained[idx]()
        if t is not None:
            t._grad = _own(g) if t._grad is None else t._grad + g
    return g


def _outputs(node):
    """The saved output(s) of ``node`` as tensors its VJP can record on."""
    if node.prim.multiple_results:
        return tuple(_make(o, node, i, True) for i, o in enumerate(node.out))
    return _make(node.out, node, 0, True)


def _store_leaf_grad(leaf: Tensor, g: Tensor, create_graph: bool, hooks: bool = True) -> None:
    """Run a leaf's hooks, then accumulate into ``leaf.grad``."""
    if hooks and leaf._hooks:
        g = _run_hooks(leaf._hooks, g)
    if not create_graph and g._node is not None:
        g = g.detach()
    if leaf._grad is None:
        leaf._grad = _own(g)
    else:
        token = set_state(grad_enabled=create_graph)
        try:
            leaf._grad = leaf._grad + g
        finally:
            reset_state(token)


def _own(g: Tensor) -> Tensor:
    # A gradient of its own: one gradient tensor may reach several leaves (x + y) or be
    # the caller's seed, and x.grad.zero_() must not change the others. (Recorded ones
    # keep their identity: a later backward may be taken with respect to them.)
    if g._node is None and not g._rg:
        return _make(g.data, None, 0, False)
    return g


def _check_finite(node, results) -> None:
    for k, r in enumerate(results):
        if r is None:
            continue
        xp = backend_of(r.data).xp
        if not bool(xp.all(xp.isfinite(r.data))):
            where = (f" (recorded at {node.site})" if node.site else
                     " (run the forward pass under detect_anomaly() too to see where it "
                     "was recorded)")
            raise FloatingPointError(
                f"detect_anomaly: the backward of {node.name()} (primitive "
                f"'{node.prim.name}'){where} produced a NaN or inf gradient for its "
                f"argument {k}"
            )


_tensor._engine["backward"] = backward  # Tensor.backward calls the driver through this
