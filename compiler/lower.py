"""Lowering: a trace (a Wengert list of nodes) becomes an IR :class:`Graph`.

Each recorded node becomes one equation. Its arguments become atoms: a traced tensor is
the :class:`Var` of the input or node output it stands for; any other tensor, array or
number (constants, the ones that seed the backward pass, a VJP's zeros) becomes a
:class:`Lit`. Because ``tg.grad`` under a trace records its backward pass with the same
VJP rules the eager engine runs, the lowered graph is the joint forward+backward
program; there is no second set of derivative rules.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from tapegrad.backend import to_host, to_numpy
from tapegrad.tensor import Tensor

from .ir import Eqn, Graph, Lit, Var, numpy_dtype
from .shapes import abstract_eval
from .trace import Trace, _versions


class Lowered(NamedTuple):
    """A lowered trace.

    Attributes
    ----------
    graph : Graph
        Inputs: one variable per array argument leaf. Outputs: the function's array
        leaves, then one value per guard.
    n_results : int
        How many of ``graph.outputs`` are results (the rest are guard values).
    guards : tuple of numpy.ndarray
        The value each guard output had while tracing.
    value_guards : tuple of (int, numpy.ndarray)
        Inputs whose values were baked into the program (an argument used as an
        index): ``(input position, value)`` pairs, checked before each call.
    """

    graph: Graph
    n_results: int
    guards: tuple
    value_guards: tuple


def _key(t: Tensor) -> Any:
    return (id(t._node), t._idx) if t._node is not None else id(t)


def lower(tr: Trace) -> Lowered:
    """Turn a :class:`~tapegrad.compiler.trace.Trace` into a :class:`Lowered` graph."""
    env: dict[Any, Var] = {}  # tensor key -> Var
    by_data: dict[int, Var] = {}  # id(array) -> Var, to recognise detached copies
    inputs = []
    for t in tr.inputs:
        v = Var(t.data.shape, numpy_dtype(t.data.dtype))
        env[_key(t)] = v
        by_data[id(t.data)] = v
        inputs.append(v)

    # The types of node outputs, from wherever the tensors were seen.
    seen: dict[Any, tuple] = {}
    node_args = [_args_of(tr, node) if node.args is None or tr.detached else node.args
                 for node in tr.nodes]
    for node, args in zip(tr.nodes, node_args):
        for a in args:
            if isinstance(a, Tensor) and a._node is not None:
                seen[_key(a)] = (a.data.shape, a.data.dtype)
        out = node.out if node.out is not None else tr.saved.get(id(node), (0, None))[1]
        if out is not None:
            outs = out if node.prim.multiple_results else (out,)
            for i, o in enumerate(outs):
                seen[(id(node), i)] = (o.shape, o.dtype)
    for t in list(tr.outputs) + [t for t, _ in tr.reads]:
        if isinstance(t, Tensor) and t._node is not None:
            seen[_key(t)] = (t.data.shape, t.data.dtype)

    def atom(a: Any) -> Any:
        if isinstance(a, Tensor):
            v = env.get(_key(a))
            if v is not None:
                return v
            v = by_data.get(id(a.data))
            return v if v is not None else Lit(to_host(a.data))
        return Lit(to_host(a))

    eqns = []
    for node, args in zip(tr.nodes, node_args):
        ins = tuple(atom(a) for a in args)
        n_out = len(node.out) if node.prim.multiple_results else 1
        types = [seen.get((id(node), i)) for i in range(n_out)]
        if any(t is None for t in types):
            # An output nothing read: ask the shape rule.
            types = abstract_eval(node.prim, list(ins), dict(node.params))
        outs = tuple(Var(s, numpy_dtype(d)) for s, d in types)
        for i, v in enumerate(outs):
            env[(id(node), i)] = v
        eqns.append(Eqn(node.prim, ins, dict(node.params), outs))

    outputs = [atom(t) if isinstance(t, Tensor) else Lit(to_host(t)) for t in tr.outputs]
    guards, guard_atoms = [], []
    for t, value in tr.reads:
        a = atom(t)
        if isinstance(a, Var):
            guard_atoms.append(a)
            guards.append(value)
    value_guards = _baked_inputs(tr, eqns)
    # Constants and parameters are host values whatever the backend (NumPy arrays and
    # dtypes): the passes need no per-backend code; the lowering moves them back.
    eqns = [e._replace(params=to_host(e.params)) for e in eqns]
    graph = Graph(tuple(inputs), tuple(eqns), tuple(outputs + guard_atoms))
    return Lowered(graph, len(outputs), tuple(guards), value_guards)


def _args_of(tr: Trace, node: Any) -> tuple:
    """A record's arguments, also after a backward pass freed them."""
    args = node.args
    if args is None:
        args, _, versions = tr.saved[id(node)]
        if _versions(args) != versions:
            raise RuntimeError(
                f"compile: a tensor that {node.name()} used was modified in place after "
                "a backward pass freed that record; compute out of place, or pass "
                "retain_graph=True to backward")
    for a in args:
        if isinstance(a, Tensor) and a._rg and a._node is not None \
                and id(a._node) in tr.detached:
            raise NotImplementedError(
                "compile: a detached copy of a value computed from the arguments was "
                "made to require grad (x.detach().requires_grad_() or tg.tensor(x, "
                "requires_grad=True)); a compiled function cannot start a new graph "
                "from it. Differentiate with tg.grad instead, or compute that part "
                "outside the compiled function")
    return args


def _baked_inputs(tr: Trace, eqns: list) -> tuple:
    """Inputs whose arrays appear inside parameters (``x[idx]`` with an argument ``idx``).

    Parameters are compile-time constants, so such an input's value is part of the
    program; each call checks it (a value guard) and recompiles when it changes.
    """
    ids = {id(t.data): i for i, t in enumerate(tr.inputs)}
    found = {}

    def scan(p: Any) -> None:
        if isinstance(p, (tuple, list)):
            for q in p:
                scan(q)
        elif isinstance(p, dict):
            for q in p.values():
                scan(q)
        elif id(p) in ids and hasattr(p, "shape"):
            i = ids[id(p)]
            found[i] = np.array(to_numpy(p), copy=True)

    for e in eqns:
        scan(e.params)
    return tuple(sorted(found.items(), key=lambda kv: kv[0]))
