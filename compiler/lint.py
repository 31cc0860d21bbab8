"""``lint(graph)``: the IR's invariants, checked after every pass in the tests.

1. Single assignment: every variable is defined once (as an input or an output).
2. Define before use: every equation reads only inputs, earlier outputs and literals.
3. Types: each equation's output shapes and dtypes agree with its primitive's shape
   rule. The default rule runs the primitive's own ``impl`` on zero-stride dummy arrays
   (``np.broadcast_to(np.zeros((), dtype), shape)``): no extra table to keep in sync,
   and it costs one small allocation per output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .interpreter import eval_eqn
from .ir import FusedKernel, Graph, Lit, Var, numpy_dtype, pp_eqn, short_dtype

#: ``name -> rule(input_values, params) -> [(shape, dtype), ...]`` overriding the
#: default dummy-evaluation rule for primitives whose impl cannot run on dummies.
shape_rules: dict[str, Callable] = {}


class LintError(ValueError):
    """A graph breaks an IR invariant; the message lists every problem found."""


def dummy(shape: tuple, dtype: Any) -> np.ndarray:
    """A read-only array of zeros of any shape that allocates one element."""
    return np.broadcast_to(np.zeros((), numpy_dtype(dtype)), shape)


def abstract_eval(eqn, in_avals: list) -> list[tuple[tuple, Any]]:
    """Output ``(shape, dtype)`` pairs of ``eqn`` for inputs of the given types.

    ``in_avals`` holds one entry per input: ``(shape, dtype)`` for a variable, or the
    literal's value itself.
    """
    name = getattr(eqn.prim, "name", None)
    is_aval = [isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], tuple)
               for a in in_avals]
    vals = [dummy(*a) if k else a for a, k in zip(in_avals, is_aval)]
    rule = shape_rules.get(name)
    if rule is not None and not isinstance(eqn.prim, FusedKernel):
        return list(rule(vals, eqn.params))
    with np.errstate(all="ignore"):
        try:
            outs = eval_eqn(eqn, vals, np)
        except np.linalg.LinAlgError:
            # Zeros are singular: linear algebra gets identity matrices instead.
            vals = [_eye_like(*a) if k else a for a, k in zip(in_avals, is_aval)]
            outs = eval_eqn(eqn, vals, np)
    return [(tuple(o.shape), o.dtype) for o in outs]


def _eye_like(shape: tuple, dtype: Any) -> np.ndarray:
    """Identity matrices in the last two axes (ones when they are not square)."""
    dt = numpy_dtype(dtype)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        return np.broadcast_to(np.eye(shape[-1], dtype=dt), shape)
    return np.broadcast_to(np.ones((), dt), shape)


def _aval(atom) -> Any:
    if type(atom) is Lit:
        return atom.value
    return (atom.shape, atom.dtype)


def check(graph: Graph, *, types: bool = True) -> list[str]:
    """Every invariant violation in ``graph``, as messages (empty when it is valid)."""
    problems: list[str] = []
    defined: set = set()
    for v in graph.inputs:
        if not isinstance(v, Var):
            problems.append(f"input {v!r} is not a Var")
        elif v in defined:
            problems.append(f"input {v!r} appears twice")
        defined.add(v)
    for i, e in enumerate(graph.eqns):
        where = f"eqn {i} ({pp_eqn(e, '').strip()})"
        ok = True
        for a in e.inputs:
            if type(a) is Lit:
                continue
            if not isinstance(a, Var):
                problems.append(f"{where}: input {a!r} is neither a Var nor a Lit")
                ok = False
            elif a not in defined:
                problems.append(f"{where}: reads {a!r} before it is defined")
                ok = False
        for v in e.outputs:
            if not isinstance(v, Var):
                problems.append(f"{where}: output {v!r} is not a Var")
                ok = False
            elif v in defined:
                problems.append(f"{where}: assigns {v!r} a second time")
                ok = False
            defined.add(v)
        multi = getattr(e.prim, "multiple_results", False)
        if not multi and len(e.outputs) != 1:
            problems.append(f"{where}: a single-result primitive with "
                            f"{len(e.outputs)} outputs")
            ok = False
        if isinstance(e.prim, FusedKernel):
            problems += _check_fused(e, where)
        if types and ok:
            problems += _check_types(e, where)
    for a in graph.outputs:
        if type(a) is not Lit and a not in defined:
            problems.append(f"output {a!r} is never defined")
    return problems


def _check_fused(e, where: str) -> list[str]:
    body = e.prim.body
    out = [f"{where}: fused body: {p}" for p in check(body, types=False)]
    if len(body.inputs) != len(e.inputs):
        out.append(f"{where}: fused body takes {len(body.inputs)} inputs, "
                   f"given {len(e.inputs)}")
    if len(body.outputs) != len(e.outputs):
        out.append(f"{where}: fused body returns {len(body.outputs)} values for "
                   f"{len(e.outputs)} outputs")
    for b in body.eqns:
        if not getattr(b.prim, "elementwise", False):
            out.append(f"{where}: fused body holds non-elementwise {b.prim.name}")
    return out


def _check_types(e, where: str) -> list[str]:
    try:
        avals = abstract_eval(e, [_aval(a) for a in e.inputs])
    except Exception as exc:  # noqa: BLE001 - any failure of the rule is a finding
        return [f"{where}: the shape rule fails: {type(exc).__name__}: {exc}"]
    if len(avals) != len(e.outputs):
        return [f"{where}: the primitive gives {len(avals)} outputs, the eqn has "
                f"{len(e.outputs)}"]
    out = []
    for v, (shape, dtype) in zip(e.outputs, avals):
        if tuple(v.shape) != tuple(shape) or numpy_dtype(v.dtype) != numpy_dtype(dtype):
            out.append(f"{where}: {v!r} is declared {short_dtype(v.dtype)}{list(v.shape)} "
                       f"but the primitive gives {short_dtype(dtype)}{list(shape)}")
    return out


def lint(graph: Graph) -> None:
    """Check single assignment, define-before-use and shapes/dtypes of ``graph``.

    Raises
    ------
    LintError
        Listing every violation found.
    """
    problems = check(graph)
    if problems:
        raise LintError("lint: the graph is invalid:\n  " + "\n  ".join(problems)
                        + "\n" + str(graph))


def _matmul_rule(vals: list, params: dict) -> list:
    # The dummy product would run NumPy's slow non-BLAS loop on zero strides: check the
    # contracted sizes here, then multiply dummies whose contracted size is 1.
    a, b = vals
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: contracted dimensions {ka} and {kb} differ")
    a1 = dummy(a.shape[:-1] + (1,), a.dtype)
    b1 = dummy((1,) if b.ndim == 1 else b.shape[:-2] + (1, b.shape[-1]), b.dtype)
    out = np.matmul(a1, b1)
    return [(tuple(out.shape), out.dtype)]


shape_rules["matmul"] = _matmul_rule
