"""``lint(graph)``: the IR's invariants, checked after every pass in the tests.

1. Single assignment: every variable is defined once (as an input or an output).
2. Define before use: every equation reads only inputs, earlier outputs and literals.
3. Types: each equation's output shapes and dtypes agree with what
   :func:`~tapegrad.compiler.shapes.abstract_eval` (the one shape inference) gives.
"""

from __future__ import annotations

from .ir import FusedKernel, Graph, Lit, Var, numpy_dtype, pp_eqn, short_dtype
from .shapes import abstract_eval


class LintError(ValueError):
    """A graph breaks an IR invariant; the message lists every problem found."""


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
        avals = abstract_eval(e.prim, list(e.inputs), e.params)
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
