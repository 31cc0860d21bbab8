"""Common-subexpression elimination.

Two equations compute the same values when they apply the same primitive to the same
inputs with the same parameters; the second one is dropped and its outputs are replaced
by the first one's. The key is exact: literals compare by type, dtype, shape and bytes
(so ``1 != 1.0 != True`` and ``0.0 != -0.0``), parameters are frozen recursively
(tuples, slices, index arrays, dtypes), and anything without a reliable value key
compares by identity, which can only miss a duplicate, never merge two different ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Eqn, Graph, Var
from ._util import resolve

_ARRAY_KEY_MAX_BYTES = 1 << 20  # bigger literal arrays are keyed by identity


def freeze(v: Any) -> Any:
    """A hashable key that is equal only for values that are interchangeable."""
    if v is None or v is Ellipsis or isinstance(v, str):
        return v
    if isinstance(v, (np.ndarray, np.generic)):  # before float: np.float64 is a float
        if v.nbytes <= _ARRAY_KEY_MAX_BYTES and v.dtype.kind != "O":
            return ("array", v.dtype.str, v.shape, np.ascontiguousarray(v).tobytes())
        return ("id", id(v))
    if isinstance(v, float):
        return ("float", v.hex())
    if isinstance(v, (bool, int, complex)):
        return (type(v).__name__, repr(v))
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(freeze(x) for x in v))
    if isinstance(v, slice):
        return ("slice", freeze(v.start), freeze(v.stop), freeze(v.step))
    if isinstance(v, dict):
        return ("dict", tuple(sorted((k, freeze(x)) for k, x in v.items())))
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    if isinstance(v, type):
        return ("type", v.__module__, v.__qualname__)
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return ("obj", type(v).__module__, type(v).__qualname__, v)


def _atom_key(a: Any) -> Any:
    if isinstance(a, Var):
        return ("var", a.id)
    return ("lit", freeze(a.value))


def eqn_key(e: Eqn) -> tuple:
    """The key under which equations that compute the same values collide."""
    args = tuple(_atom_key(a) for a in e.inputs)
    if getattr(e.prim, "commutative", False) and len(args) == 2:  # f(a, b) is f(b, a)
        args = tuple(sorted(args, key=repr))
    prim = ("prim", id(e.prim))
    return prim, args, freeze(e.params)


def cse(graph: Graph) -> Graph:
    """Drop equations that repeat an earlier one.

    Parameters
    ----------
    graph : Graph
        The program; it is not modified.

    Returns
    -------
    Graph
        The program where each distinct computation appears once.
    """
    env: dict[Var, Any] = {}
    seen: dict[tuple, Eqn] = {}
    eqns: list[Eqn] = []
    for e in graph.eqns:
        ins = tuple(resolve(env, a) for a in e.inputs)
        if any(a is not b for a, b in zip(ins, e.inputs)):
            e = e._replace(inputs=ins)
        key = eqn_key(e)
        first = seen.get(key)
        if first is not None and len(first.outputs) == len(e.outputs):
            for old, new in zip(e.outputs, first.outputs):
                env[old] = new
            continue
        seen[key] = e
        eqns.append(e)
    outs = tuple(resolve(env, a) for a in graph.outputs)
    return Graph(graph.inputs, tuple(eqns), outs)
