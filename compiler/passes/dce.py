"""Dead-code elimination: one reverse sweep (jax's ``_dce_jaxpr``, in small).

Walking the equations backwards, a value is needed if an output or a kept equation
reads it. Primitives are pure, so an equation none of whose outputs is needed goes:
forward values the gradient never reads, and gradients nobody asked for.

Per-primitive rules (:data:`dce_rules`) may do better than keep-or-drop; the fused
kernel's rule drops the kernel outputs nobody reads and the body equations behind them.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Eqn, FusedKernel, Graph, Var
from ._util import is_fused

# rule(eqn, used_outputs) -> the equation to keep (None: drop it)
DceRule = Callable[[Eqn, list], "Eqn | None"]


def _keep_whole(eqn: Eqn, used: list) -> Eqn | None:
    return eqn if any(used) else None


def _prune_kernel(eqn: Eqn, used: list) -> Eqn | None:
    """Keep only the kernel outputs that are read, and the body that computes them."""
    if not any(used):
        return None
    if all(used):
        return eqn
    k: FusedKernel = eqn.prim
    outs = tuple(o for o, u in zip(k.body.outputs, used) if u)
    body = dce(Graph(k.body.inputs, k.body.eqns, outs))
    needed = {a for e in body.eqns for a in e.inputs if isinstance(a, Var)}
    needed.update(a for a in body.outputs if isinstance(a, Var))
    keep = [i for i, v in enumerate(body.inputs) if v in needed]
    body = Graph(tuple(body.inputs[i] for i in keep), body.eqns, body.outputs)
    kernel = FusedKernel(body=body, name=k.name, multiple_results=len(outs) > 1,
                         meta=dict(k.meta))
    return Eqn(kernel, tuple(eqn.inputs[i] for i in keep), dict(eqn.params),
               tuple(o for o, u in zip(eqn.outputs, used) if u))


dce_rules: dict[str, DceRule] = {}


def dce(graph: Graph) -> Graph:
    """Remove the equations whose outputs nothing needs.

    Parameters
    ----------
    graph : Graph
        The program; it is not modified. Its inputs are kept even when unused (they
        are the compiled function's signature).

    Returns
    -------
    Graph
        The same program without dead equations.
    """
    live = {a for a in graph.outputs if isinstance(a, Var)}
    kept: list[Eqn] = []
    for eqn in reversed(graph.eqns):
        used = [o in live for o in eqn.outputs]
        if is_fused(eqn):
            rule = _prune_kernel
        else:
            rule = dce_rules.get(getattr(eqn.prim, "name", None), _keep_whole)
        new = rule(eqn, used)
        if new is None:
            continue
        kept.append(new)
        live.update(a for a in new.inputs if isinstance(a, Var))
    kept.reverse()
    return Graph(graph.inputs, tuple(kept), graph.outputs)
