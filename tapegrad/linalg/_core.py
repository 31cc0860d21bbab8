"""The NumPy-style functions of ``tg.linalg`` (see the package for the whole namespace)."""

from __future__ import annotations

import math

import numpy as np

import tapegrad.primitives as P

from ..backend import is_floating
from ..primitives._native import is_complex
from ..primitives._util import norm_axis, shape_of
from ..primitives.contract import cross, outer, tensordot, vecdot
from ..primitives.linalg import matmul
from ..primitives.linalg_ext import (
    EighResult,
    EigResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky_p,
    det_p,
    eig_p,
    eigh_p,
    inv_p,
    linalg_solve_p,
    pinv_p,
    qr_p,
    slogdet_p,
    svd_p,
)
from ..primitives.structure import matrix_transpose

__all__ = [
    "cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul",
    "matrix_norm", "matrix_power", "matrix_transpose", "multi_dot", "norm", "outer", "pinv",
    "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace", "vecdot",
    "vector_norm",
]


def _square(a, op: str) -> None:
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"linalg.{op}: last two dimensions must be square, got shape {s}")


def inv(a):
    """Inverse of each square matrix in ``a``."""
    _square(a, "inv")
    return inv_p.bind(a)


def solve(a, b):
    """Solve ``a @ x = b``. ``b`` is a vector only when it is 1-D (NumPy 2 semantics)."""
    _square(a, "solve")
    return linalg_solve_p.bind(a, b)


def det(a):
    """Determinant. The gradient is the transposed adjugate, which is also correct at
    singular matrices (zero when the rank is below ``n - 1``)."""
    _square(a, "det")
    return det_p.bind(a)


def slogdet(a) -> SlogdetResult:
    """Sign and ``log|det|``; ``log|det|``'s gradient is ``inv(a).T``.

    For complex ``a`` the sign is complex (``abs(sign) == 1``) and differentiable too.
    """
    _square(a, "slogdet")
    return SlogdetResult(*slogdet_p.bind(a))


def cholesky(a, upper: bool = False):
    """Cholesky factor of a Hermitian (real: symmetric) positive-definite matrix.

    Lower by default (``a = L @ L^H``); ``upper=True`` gives ``L^H`` (``a = U^H @ U``).
    Reads the Hermitian part ``(a + a^H) / 2`` of ``a``, as
    ``jax.numpy.linalg.cholesky`` does.
    """
    _square(a, "cholesky")
    low = cholesky_p.bind(a)
    if not upper:
        return low
    return P.conj(matrix_transpose(low)) if is_complex(low) else matrix_transpose(low)


def eigh(a, UPLO: str | None = None) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of the Hermitian part ``(a + a^H) / 2``
    of ``a`` (the symmetric part of a real ``a``).

    Domain of the eigenvector gradient: distinct eigenvalues (at repeated ones it is
    not finite, as in JAX). Eigenvalue gradients are exact everywhere.
    """
    _square(a, "eigh")
    return EighResult(*eigh_p.bind(a))


def eigvalsh(a, UPLO: str | None = None):
    """Eigenvalues (real, ascending) of the Hermitian part ``(a + a^H) / 2`` of ``a``."""
    return eigh(a)[0]


def eig(a) -> EigResult:
    """Eigenvalues and right eigenvectors of a general square matrix.

    Both results are always complex (NumPy returns real arrays when all eigenvalues are
    real; JAX, like tapegrad, never does). Eigenvectors are normalised as LAPACK leaves
    them: unit 2-norm, with the largest-magnitude component real. The gradient is JAX's
    (``jax.lax.linalg.eig(..., enable_eigvec_derivs=True)``): it differentiates that
    normalisation, so it needs distinct eigenvalues (NaN at repeated ones, unless only
    eigenvalues are used) and, in each eigenvector, a unique largest-magnitude component.
    A real ``a`` gets the real part of its cotangent.
    """
    _square(a, "eig")
    return EigResult(*eig_p.bind(a))


def eigvals(a):
    """Eigenvalues of a general square matrix (complex); their gradient is
    ``V^-T diag(g) V^T`` with ``V`` the eigenvectors (exact at repeated eigenvalues
    as long as the eigenvector matrix stays invertible)."""
    return eig(a)[0]


def qr(a, mode: str = "reduced") -> QRResult:
    """Reduced QR factorization; differentiable for ``m >= n``."""
    if mode != "reduced":
        raise NotImplementedError("linalg.qr: only mode='reduced' is supported")
    return QRResult(*qr_p.bind(a))


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """Singular value decomposition (the reduced one: pass ``full_matrices=False``).

    Domain of the ``U``/``Vh`` gradients: distinct, non-zero singular values. Singular
    values alone (``compute_uv=False``, :func:`svdvals`) differentiate everywhere.
    """
    if compute_uv and full_matrices and shape_of(a)[-1] != shape_of(a)[-2]:
        raise NotImplementedError("linalg.svd: pass full_matrices=False (the full "
                                  "factorization of a non-square matrix is not supported)")
    out = SVDResult(*svd_p.bind(a))
    return out if compute_uv else out.S


def svdvals(a):
    """Singular values, descending."""
    return svd_p.bind(a)[1]


def pinv(a):
    """Moore-Penrose pseudo-inverse; the gradient assumes the rank is locally constant."""
    return pinv_p.bind(a)


def matrix_power(a, n: int):
    """``a`` multiplied by itself ``n`` times (``n < 0`` uses the inverse)."""
    _square(a, "matrix_power")
    if n < 0:
        a, n = inv(a), -n
    if n == 0:
        return P.broadcast_to(P.eye(shape_of(a)[-1], dtype=a.dtype, like=a), shape_of(a))
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result


def multi_dot(arrays):
    """``arrays[0] @ arrays[1] @ ...`` (left to right)."""
    out = arrays[0]
    for a in arrays[1:]:
        out = P.dot(out, a)
    return out


def diagonal(x, offset: int = 0):
    """Diagonals of the last two axes (the array API's ``linalg.diagonal``)."""
    return P.diagonal(x, offset, -2, -1)


def trace(x, offset: int = 0):
    """Traces of the last two axes."""
    return P.trace(x, offset, -2, -1)


# -- norms, as jax.numpy.linalg composes them --------------------------------------------
def _inexact(x):
    """Integer and boolean input as float64, as NumPy's norms compute them."""
    dtype = getattr(x, "dtype", None)
    return x if dtype is None or is_floating(dtype) else P.astype(x, np.float64)


def _abs2(x):
    return P.real(x * P.conj(x)) if is_complex(x) else x * x


def vector_norm(x, axis=None, keepdims: bool = False, ord=2):
    """Vector ``ord``-norm over ``axis`` (all elements by default).

    At the zero vector the 2-norm's gradient is NaN, as in JAX (the norm is not
    differentiable there); ``ord=1`` uses ``abs``'s +1 at 0; ``inf`` ties share.
    """
    x = _inexact(x)
    if axis is None:
        x, axis = P.ravel(x), 0
        if keepdims:
            raise NotImplementedError("vector_norm: keepdims with axis=None")
    if ord is None or ord == 2:
        return P.sqrt(P.sum(_abs2(x), axis=axis, keepdims=keepdims))
    if ord == math.inf:
        return P.max(P.abs(x), axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return P.min(P.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        nz = P.astype(P.not_equal(x, 0), P.real(x).dtype)
        return P.sum(nz, axis=axis, keepdims=keepdims)
    if ord == 1:
        return P.sum(P.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"vector_norm: invalid order {ord!r} for vectors")
    return P.power(P.sum(P.power(P.abs(x), float(ord)), axis=axis, keepdims=keepdims),
                   1.0 / ord)


def matrix_norm(x, keepdims: bool = False, ord="fro", axis=(-2, -1)):
    """Matrix norm over the two ``axis`` (Frobenius by default; also ``1, -1, 2, -2,
    inf, -inf, "nuc"``). ``2``, ``-2`` and ``"nuc"`` go through singular values."""
    x = _inexact(x)
    nd = len(shape_of(x))
    row, col = (a % nd for a in axis)
    if ord in (None, "f", "fro"):
        return P.sqrt(P.sum(_abs2(x), axis=(row, col), keepdims=keepdims))
    if ord in (1, -1, math.inf, -math.inf):
        if ord in (1, -1):
            inner_axis, outer_axis = row, col
        else:
            inner_axis, outer_axis = col, row
        if not keepdims and outer_axis > inner_axis:
            outer_axis -= 1
        sums = P.sum(P.abs(x), axis=inner_axis, keepdims=keepdims)
        pick = P.max if ord in (1, math.inf) else P.min
        return pick(sums, axis=outer_axis, keepdims=keepdims)
    if ord in (2, -2, "nuc"):
        s = svdvals(P.moveaxis(x, (row, col), (-2, -1)))
        pick = {2: P.max, -2: P.min, "nuc": P.sum}[ord]
        y = pick(s, axis=-1)
        if keepdims:
            y = P.expand_dims(y, tuple(sorted((row, col))))
        return y
    raise ValueError(f"matrix_norm: invalid norm order {ord!r} for matrices")


def norm(x, ord=None, axis=None, keepdims: bool = False):
    """NumPy's ``linalg.norm``: a vector norm for one axis, a matrix norm for two.

    With ``ord=None`` and ``axis=None`` it is the 2-norm of all elements, whatever the
    rank. Gradients at zero and at ties match ``jax.numpy.linalg.norm``.
    """
    x = _inexact(x)
    nd = len(shape_of(x))
    if axis is None:
        if ord is None:
            return P.sqrt(P.sum(_abs2(x), keepdims=keepdims))
        axis = tuple(range(nd))
    axes = norm_axis(axis, nd, "norm")
    if isinstance(axis, int) or len(axes) == 1:
        return vector_norm(x, axis=axes[0], keepdims=keepdims, ord=2 if ord is None else ord)
    if len(axes) == 2:
        ax = (axis,) if isinstance(axis, int) else tuple(a % nd for a in axis)
        return matrix_norm(x, keepdims=keepdims, ord=ord, axis=ax)
    raise ValueError("norm: improper number of dimensions to norm")
