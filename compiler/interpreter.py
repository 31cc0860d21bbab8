"""The reference interpreter: evaluate a :class:`~tapegrad.compiler.ir.Graph` directly.

It runs each equation's primitive ``impl`` in order, exactly as the eager engine's
``bind`` does, so it is the oracle that generated code and optimisation passes are
tested against. It is slow on purpose: no buffer reuse, no fusion, no cleverness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad.backend import NUMPY, backend_of
from tapegrad.tensor import Tensor

from . import ir as _ir
from .ir import Graph, Lit


def read(env: dict, atom: Any) -> Any:
    """The value of an atom: a literal's value or a variable's entry in ``env``."""
    if type(atom) is Lit:
        return atom.value
    return env[atom]


def infer_xp(values: Sequence[Any]) -> Any:
    """The array namespace of the first array among ``values`` (NumPy if none)."""
    for v in values:
        be = backend_of(v.data if isinstance(v, Tensor) else v)
        if be is not None:
            return be.xp
    return NUMPY.xp


def eval_eqn(eqn, vals: Sequence[Any], xp: Any) -> tuple:
    """Apply one equation to input values; always returns a tuple of outputs."""
    out = eqn.prim.impl(xp, *vals, **eqn.params)
    if not getattr(eqn.prim, "multiple_results", False):
        out = (out,)
    if xp is np:
        # NumPy returns scalars from 0-d operations; the engine always holds arrays.
        out = tuple(o if type(o) is np.ndarray else np.asarray(o) for o in out)
    return tuple(out)


def eval_graph(graph: Graph, args: Sequence[Any], xp: Any = None,
               env: dict | None = None) -> list:
    """Evaluate ``graph`` on ``args`` (raw arrays, numbers or tensors).

    Parameters
    ----------
    graph : Graph
        The program to run.
    args : sequence
        One value per ``graph.inputs``; tensors are unwrapped to their data.
    xp : module, optional
        The array namespace; inferred from the arguments when omitted.
    env : dict, optional
        If given, filled with ``{Var: value}`` for every input and equation output
        (used to compare programs equation by equation).

    Returns
    -------
    list
        One value per ``graph.outputs``.
    """
    if len(args) != len(graph.inputs):
        raise TypeError(f"eval_graph: the graph takes {len(graph.inputs)} inputs, "
                        f"got {len(args)}")
    vals = [a.data if isinstance(a, Tensor) else a for a in args]
    if xp is None:
        xp = infer_xp(vals)
    if env is None:
        env = {}
    for v, a in zip(graph.inputs, vals):
        env[v] = a
    for eqn in graph.eqns:
        outs = eval_eqn(eqn, [read(env, a) for a in eqn.inputs], xp)
        if len(outs) != len(eqn.outputs):
            raise ValueError(f"eval_graph: {getattr(eqn.prim, 'name', eqn.prim)} produced "
                             f"{len(outs)} values for {len(eqn.outputs)} outputs")
        for v, o in zip(eqn.outputs, outs):
            env[v] = o
    return [read(env, a) for a in graph.outputs]


_ir.evaluator["eval_graph"] = eval_graph  # a fused kernel's impl runs its body here
