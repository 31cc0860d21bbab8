"""Constant folding and symbolic zeros and ones.

Two kinds of rewrites run together:

- An equation whose inputs are all constants is evaluated now. Small results become
  literals; a large elementwise result of uniform constants (``broadcast_to(1.0) / 128``,
  as ``mean``'s VJP makes) stays symbolic: ``broadcast_to(c)`` of a scalar literal, so
  no big array is baked into the program.
- Symbolic zeros and ones: a constant is seen through ``broadcast_to``/``reshape``, so
  the first gradient contribution is written, not added to zeros (``zeros + g -> g``),
  and the ones that ``sum``'s VJP broadcasts multiply nothing
  (``broadcast_to(1.0) * g -> g``, broadcast or cast only when the output needs it).

Every replacement keeps the shape and dtype of the value it replaces.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Lit
from ._rewrite import Match, rewrite_to_fixpoint, table
from ._util import is_weak, size_of, xp_of_values
from .simplify import IDENTITY_RULES

# Results up to this many elements become literals; larger ones stay broadcasts.
FOLD_MAX_ELEMENTS = 1024


def _evaluate(m: Match, *ins, **params):
    """Evaluate an equation whose inputs are all constants."""
    prim, out = m.eqn.prim, m.out
    if prim.multiple_results:
        return None
    small = size_of(out.shape) <= FOLD_MAX_ELEMENTS
    try:
        if small and all(isinstance(a, Lit) for a in ins):
            xp = xp_of_values([a.value for a in ins])
            with np.errstate(all="ignore"):
                return Lit(xp.asarray(prim.impl(xp, *(a.value for a in ins), **params)))
        if not prim.elementwise:
            return None
        consts = [m.const(a) for a in ins]
        if any(c is None for c in consts):
            return None
        # Uniform inputs give a uniform output: compute one element with the inputs'
        # dtypes (weak literals stay Python numbers, so promotion is NumPy's).
        samples = [a.value if is_weak(a) else np.asarray(c, dtype=a.dtype)
                   for a, c in zip(ins, consts)]
        with np.errstate(all="ignore"):
            one = np.asarray(prim.impl(np, *samples, **params))
    except Exception:  # noqa: BLE001 - a constant that cannot be computed stays as is
        return None
    xp = m.xp()
    if small:
        return Lit(xp.asarray(np.full(tuple(out.shape), one, dtype=one.dtype)))
    return m.emit("broadcast_to", Lit(xp.asarray(one)), shape=tuple(out.shape))


_TABLE = table(IDENTITY_RULES + [
    ("*", _evaluate),  # f(constants) -> constant
])


def fold_constants(graph: Graph) -> Graph:
    """Evaluate constant equations and drop additions of zeros and products with ones.

    Parameters
    ----------
    graph : Graph
        The program; it is not modified.

    Returns
    -------
    Graph
        An equivalent program whose outputs have the same shapes and dtypes. Equations
        left without users are removed by :func:`~.dce.dce`.
    """
    return rewrite_to_fixpoint(graph, _TABLE)


__all__ = ["FOLD_MAX_ELEMENTS", "fold_constants"]
