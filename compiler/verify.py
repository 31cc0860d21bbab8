"""``verify=True``: run eager and compiled side by side; name the first divergence.

When the results differ, the search narrows down in two steps. First, each pipeline
stage's graph is run by the reference interpreter and compared with the eager result:
the first stage that disagrees is the culprit, and within it the first equation whose
value differs from the same variable before that stage is named. If every stage agrees,
the generated code is at fault: it is regenerated keeping every value, and compared
with the interpreter equation by equation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.tensor import Tensor

from .interpreter import eval_graph
from .ir import Var, pp_eqn
from .trace import flatten


class VerificationError(AssertionError):
    """Compiled and eager results differ; the message names the equation."""


def _np(x: Any) -> np.ndarray:
    from tapegrad.backend import to_numpy

    return to_numpy(x.data if isinstance(x, Tensor) else x)


def close(a: Any, b: Any) -> bool:
    """Equal up to rounding for the dtype (exact for integers and booleans)."""
    a, b = _np(a), _np(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        lo = np.finfo(np.float32).eps if np.float32 in (a.dtype, b.dtype) else 1e-12
        tol = 1e3 * lo  # reassociation by the passes changes rounding a little
        return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return bool(np.array_equal(a, b))


def _flat_inputs(cf: Any, args: tuple, kwargs: dict) -> list:
    leaves: list = []
    for i, a in enumerate(args):
        if i not in cf.static_argnums:
            flatten(a, leaves)
    for v in kwargs.values():
        flatten(v, leaves)
    return [x.data if isinstance(x, Tensor) else x for x in leaves]


def verify_call(cf: Any, entry: Any, out: Any, args: tuple, kwargs: dict) -> None:
    """Raise :class:`VerificationError` if ``out`` differs from eager ``cf.fn``."""
    want_leaves: list = []
    flatten(cf.fn(*args, **kwargs), want_leaves)
    got_leaves: list = []
    flatten(out, got_leaves)
    bad = [k for k, (w, g) in enumerate(zip(want_leaves, got_leaves)) if not close(w, g)]
    if len(want_leaves) != len(got_leaves):
        raise VerificationError(f"verify {cf.__name__}: eager returned {len(want_leaves)} "
                                f"arrays, compiled {len(got_leaves)}")
    if not bad:
        return
    where = locate(entry, _flat_inputs(cf, args, kwargs), want_leaves)
    raise VerificationError(f"verify {cf.__name__}: output {bad[0]} differs from eager; "
                            f"{where}")


def locate(entry: Any, inputs: list, want: list) -> str:
    """Describe where the compiled computation first departs from eager."""
    info = entry.info
    n = info["lowered"].n_results
    prev_env = None
    for stage in info["optimized"].stages:
        env: dict = {}
        with np.errstate(all="ignore"):
            outs = eval_graph(stage.graph, inputs, env=env)
        ok = all(close(w, g) for w, g in zip(want, outs[:n]))
        if not ok:
            if prev_env is None:
                return ("the traced graph itself differs from eager (the function may "
                        "depend on something the trace could not see)")
            for e in stage.graph.eqns:
                for v in e.outputs:
                    if v in prev_env and not close(prev_env[v], env[v]):
                        return f"pass {stage.name!r} changed equation: {pp_eqn(e, '')}"
            return f"pass {stage.name!r} changed the result (no shared equation differs)"
        prev_env = env
    return _locate_codegen(entry, inputs)


def _locate_codegen(entry: Any, inputs: list) -> str:
    from .codegen import generate, name_of

    info = entry.info
    graph = info["optimized"].graph
    env: dict = {}
    with np.errstate(all="ignore"):
        eval_graph(graph, inputs, env=env)
    prog = generate(graph, info["lowering"], keep=True)
    with np.errstate(all="ignore"):
        got = prog.fn(*inputs)
    for e in graph.eqns:
        for v in e.outputs:
            if isinstance(v, Var) and name_of(v) in got and not close(got[name_of(v)], env[v]):
                return f"generated code differs at equation: {pp_eqn(e, '')}"
    return "the generated program's result wrapping differs"

