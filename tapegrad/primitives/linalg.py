"""Matrix products: ``matmul`` (1-D, 2-D and batched, NumPy semantics) and ``dot``."""

from __future__ import annotations

import tapegrad.primitives as P

from ..primitive import primitive
from ._util import needs, shape_of

__all__ = ['dot', 'matmul']


def _matmul_vjp(g, a, b):
    # Promote 1-D operands to matrices (as matmul does), differentiate the matrix
    # product, then drop the added axes. Broadcast batch axes are summed by the driver.
    a1, b1 = len(shape_of(a)) == 1, len(shape_of(b)) == 1
    a2 = P.expand_dims(a, 0) if a1 else a
    b2 = P.expand_dims(b, -1) if b1 else b
    g2 = g
    if b1:
        g2 = P.expand_dims(g2, -1)
    if a1:
        g2 = P.expand_dims(g2, -2)
    ga = gb = None
    if needs(a):
        ga = P.matmul(g2, P.swapaxes(b2, -1, -2))
        if a1:
            ga = P.squeeze(ga, -2)
    if needs(b):
        gb = P.matmul(P.swapaxes(a2, -1, -2), g2)
        if b1:
            gb = P.squeeze(gb, -1)
    return ga, gb


matmul_p = primitive("matmul", lambda xp, a, b: xp.matmul(a, b), _matmul_vjp,
                     grad_name="Mm", xp_name="matmul")


def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` semantics (1-D, 2-D and batched)."""
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} are not aligned: contracted dimensions "
            f"{ka} and {kb} differ"
        )
    return matmul_p.bind(a, b)


def dot(a, b):
    """NumPy's ``dot``: a product with a scalar, else a matrix product (up to 2-D)."""
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        return P.multiply(a, b)
    if len(sa) <= 2 and len(sb) <= 2:
        return matmul(a, b)
    return P.tensordot(a, b, axes=([len(sa) - 1], [max(len(sb) - 2, 0)]))
