"""Matrix products: ``matmul`` (1-D, 2-D and batched, NumPy semantics) and ``dot``."""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from ..primitive import primitive
from ._util import needs, shape_of

__all__ = ['dot', 'matmul']


def _matmul_vjp(g, a, b):
    # NumPy's matmul promotes a 1-D operand to a matrix and drops the added axis again,
    # so each case below is the matrix rule with that axis put back in. Broadcast batch
    # axes are summed by the driver. The products call matmul_p directly: shapes are
    # known to fit here.
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 1 and nb == 1:  # an inner product
        return (g * b if needs(a) else None, g * a if needs(b) else None)
    ga = gb = None
    if needs(a):
        if nb == 1:  # (..., m, k) @ (k,) -> (..., m): the outer product g b^T
            ga = P.expand_dims(g, -1) * b
        elif na == 1 and nb == 2:  # (k,) @ (k, n) -> (n,): b g
            ga = matmul_p.bind(b, g)
        elif na == 1:  # (k,) @ (..., k, n) -> (..., n)
            ga = P.squeeze(matmul_p.bind(b, P.expand_dims(g, -1)), -1)
        else:
            ga = matmul_p.bind(g, P.swapaxes(b, -1, -2))
    if needs(b):
        if na == 1:  # the outer product a g^T
            gb = P.expand_dims(a, -1) * P.expand_dims(g, -2)
        elif nb == 1 and na == 2:  # (m, k) @ (k,) -> (m,): g a
            gb = matmul_p.bind(g, a)
        elif nb == 1:  # (..., m, k) @ (k,) -> (..., m)
            gb = P.squeeze(matmul_p.bind(P.swapaxes(a, -1, -2), P.expand_dims(g, -1)), -1)
        else:
            gb = matmul_p.bind(P.swapaxes(a, -1, -2), g)
    return ga, gb


def _matmul_rule(ins, params):
    # The product of stand-ins would run NumPy's slow non-BLAS loop on zero strides:
    # check the contracted sizes, then multiply stand-ins whose contracted size is 1.
    a, b = ins
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: contracted dimensions {ka} and {kb} differ")
    a1 = np.broadcast_to(np.zeros((), a.dtype), a.shape[:-1] + (1,))
    b1 = np.broadcast_to(np.zeros((), b.dtype),
                         (1,) if b.ndim == 1 else b.shape[:-2] + (1, b.shape[-1]))
    out = np.matmul(a1, b1)
    return [(tuple(out.shape), out.dtype)]


matmul_p = primitive("matmul", lambda xp, a, b: xp.matmul(a, b), _matmul_vjp,
                     grad_name="Mm", xp_name="matmul", shape_rule=_matmul_rule)


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
