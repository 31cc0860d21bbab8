"""One-equation fused bodies for every CUDA template, over the dtypes NumPy accepts.

Each :class:`Case` is a body graph (what the fusion pass hands the CuPy lowering), input
values that include the awkward ones (NaN, infinities, zero, negatives, integer
division), and the reference values: the primitive's NumPy implementation. The dtype
combinations are the ones where C's conversions differ from NumPy's: integer operands
of float results, float32 next to int64, Python numbers next to integer arrays, bools.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import Eqn, Graph, Lit, Var

from tapegrad.primitive import registry

#: Every CUDA template the primitives declare.
CUDA = {name: prim.cuda for name, prim in registry.items() if prim.cuda}

_N = 48
#: Values to draw from, per dtype kind: the awkward ones included.
_POOLS = {
    "f": [-2.5, -1.0, -0.5, -0.0, 0.0, 0.25, 0.5, 1.0, 3.0, np.nan, np.inf, -np.inf],
    "i": [-7, -3, -1, 0, 1, 2, 3, 5],
    "u": [0, 1, 2, 5, 200],
    "b": [True, False],
}
_ARRAY_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
_MIXED = (("float32", "int64"), ("int32", "float64"), ("float32", "float64"),
          ("int64", "float32"), ("uint8", "int32"), ("bool", "float32"), ("int32", "bool"))
_SCALARS = (2, 2.5, True, -1)
_ASTYPE_TO = ("float32", "float64", "int32", "bool")


class Case(NamedTuple):
    """A body of one equation, its input values and the NumPy reference outputs."""

    id: str
    body: Graph
    inputs: tuple
    expected: tuple


def awkward_values(dtype: Any, rng: np.random.Generator, shape: Any = _N) -> np.ndarray:
    """An array of ``dtype`` drawn from the awkward values of its kind."""
    return rng.choice(np.array(_POOLS[np.dtype(dtype).kind], dtype=dtype), shape)


def _arity(template: str) -> int:
    return 1 + max(int(k) for k in re.findall(r"\{(\d)\}", template))


def _signatures(name: str) -> list[tuple]:
    """Operand kinds to try: dtype names for arrays, Python numbers for literals."""
    if name == "where":
        return [("bool", a, b) for a, b in [("float32", "float32"), *_MIXED[:4]]] + [
            ("bool", "float32", 2), ("bool", "int64", 2.5), ("bool", 0.5, "float64")]
    arity = _arity(CUDA[name])
    if arity == 1:
        return [(d,) for d in _ARRAY_DTYPES]
    sigs = [(d, d) for d in _ARRAY_DTYPES] + list(_MIXED)
    return sigs + [(d, s) for d in ("float32", "int64", "uint8") for s in _SCALARS]


def _case(name: str, sig: tuple, params: dict, rng: np.random.Generator) -> Case | None:
    inputs, atoms, values = [], [], []
    for kind in sig:
        if isinstance(kind, str):
            v = Var((_N,), np.dtype(kind))
            inputs.append(v)
            atoms.append(v)
            values.append(awkward_values(kind, rng))
        else:
            atoms.append(Lit(kind))
    prim = registry[name]
    arrays = iter(values)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(prim.impl(np, *(next(arrays) if type(a) is Var else a.value
                                             for a in atoms), **params))
    except (TypeError, ValueError, OverflowError):
        return None  # NumPy rejects this combination, so no program can hold it
    res = Var(out.shape, out.dtype)
    body = Graph(tuple(inputs), (Eqn(prim, tuple(atoms), params, (res,)),), (res,))
    with np.errstate(all="ignore"):
        expected = tuple(eval_graph(body, values, xp=np))
    label = ",".join(k if isinstance(k, str) else repr(k) for k in sig)
    suffix = f"->{params['dtype']}" if params else ""
    return Case(f"{name}({label}){suffix}", body, tuple(values), expected)


def template_cases() -> list[Case]:
    """Every CUDA template over every dtype combination NumPy accepts."""
    rng = np.random.default_rng(0)
    out = []
    for name in CUDA:
        for sig in _signatures(name):
            for params in ([{"dtype": np.dtype(t)} for t in _ASTYPE_TO]
                           if name == "astype" else [{}]):
                case = _case(name, sig, params, rng)
                if case is not None:
                    out.append(case)
    return out


def assert_matches(case: Case, got: Any) -> None:
    """The kernel's outputs equal NumPy's: same dtype, same values, NaN where NaN."""
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, case.expected):
        w = np.asarray(w)
        assert g.dtype == w.dtype, (case.id, g.dtype, w.dtype)
        tol = {np.float32: 4e-6, np.float64: 1e-13}.get(w.dtype.type, 0)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True,
                                   err_msg=f"{case.id}: inputs {case.inputs}")
