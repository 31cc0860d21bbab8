"""The array API's signatures for ``tg.linalg``: ``matrix_rank``, ``pinv(rtol=)``,
``qr(mode="complete")``, ``svd(full_matrices=True)`` of non-square matrices,
``trace(dtype=)`` and ``vector_norm(keepdims=True)`` with ``axis=None``.

Each extends the NumPy-style function of the same name in ``_core.py``; the package
exports these. Where a factorization is
not unique (the extra columns of a complete ``Q`` or of a full ``U``/``Vh``) there is no
gradient, as in JAX: the value is computed for inputs outside a gradient graph, and a
tensor being differentiated is refused with ``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapegrad.primitives as P

from .._state import no_grad
from ..backend import backend_of, dtype_kind
from ..primitives._util import data_of, shape_of
from ..primitives.linalg_ext import QRResult, SVDResult, pinv_rtol_p
from ..tensor import Tensor
from . import _core as _linalg

_qr, _svd, _pinv, _trace = _linalg.qr, _linalg.svd, _linalg.pinv, _linalg.trace
_vector_norm = _linalg.vector_norm


def _matrices(x: Any, op: str) -> tuple[int, int]:
    shape = shape_of(x)
    if len(shape) < 2:
        raise ValueError(f"linalg.{op}: expected a stack of matrices (at least 2-D), got "
                         f"shape {shape}")
    return shape[-2], shape[-1]


def _refuse_graph(x: Any, op: str, what: str, instead: str) -> None:
    if isinstance(x, Tensor) and (x._rg or x._node is not None):
        raise NotImplementedError(
            f"linalg.{op}: {what} has no gradient (the extra columns are not unique; JAX "
            f"does not differentiate it either); pass {instead} (the reduced "
            "factorization) for tensors being differentiated")


def _direct(x: Any, fn) -> tuple:
    """``fn(xp, data)`` on a tensor outside any graph, as leaf tensors."""
    data = data_of(x)
    be = backend_of(data)
    xp = np if be is None else be.xp
    if be is None:
        data = np.asarray(data)
    return tuple(Tensor(r) for r in fn(xp, data))


def qr(x: Any, /, mode: str = "reduced") -> QRResult:
    """QR factorization: ``mode="reduced"`` (``k = min(m, n)`` columns of ``Q``) or
    ``"complete"`` (all ``m``).

    Parameters
    ----------
    x : tensor or array
        A stack of ``m x n`` matrices.
    mode : {"reduced", "complete"}
        The reduced factorization is differentiable for ``m >= n``. The complete one
        equals it when ``m <= n``; for ``m > n`` its extra columns of ``Q`` are not
        unique, so it has no gradient.

    Returns
    -------
    QRResult
        ``(Q, R)``.

    Raises
    ------
    ValueError
        For another ``mode``.
    NotImplementedError
        For ``mode="complete"`` with ``m > n`` on a tensor being differentiated.
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"linalg.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    m, n = _matrices(x, "qr")
    if mode == "reduced" or m <= n:
        return _qr(x)
    _refuse_graph(x, "qr", "mode='complete' with more rows than columns", "mode='reduced'")
    return QRResult(*_direct(x, lambda xp, a: xp.linalg.qr(a, mode="complete")))


def svd(x: Any, /, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``x = U @ diag(S) @ Vh``.

    Parameters
    ----------
    x : tensor or array
        A stack of ``m x n`` matrices.
    full_matrices : bool
        ``U`` of shape ``(m, m)`` and ``Vh`` of ``(n, n)`` (the default, as the array
        API), or the reduced ``(m, k)`` and ``(k, n)``. For square matrices they are the
        same and differentiable; full factors of a non-square matrix have columns that
        are not unique, so they have no gradient (use ``full_matrices=False``).
    compute_uv : bool
        False: only the singular values (NumPy's keyword; differentiable everywhere).

    Returns
    -------
    SVDResult or Tensor
        ``(U, S, Vh)``, or ``S`` when ``compute_uv`` is False.

    Raises
    ------
    NotImplementedError
        For full factors of a non-square tensor being differentiated.
    """
    m, n = _matrices(x, "svd")
    if not compute_uv or not full_matrices or m == n:
        return _svd(x, full_matrices=False, compute_uv=compute_uv)
    _refuse_graph(x, "svd", "full_matrices=True for a non-square matrix",
                  "full_matrices=False")
    return SVDResult(*_direct(x, lambda xp, a: xp.linalg.svd(a, full_matrices=True)))


def pinv(x: Any, /, *, rtol: Any = None) -> Tensor:
    """Moore-Penrose pseudo-inverse; the gradient assumes the rank is locally constant.

    The gradient is JAX's rule (Golub and Pereyra): exact while ``rtol`` cuts off no
    singular value; where it does cut one, the rule (JAX's too) is not the derivative of
    the cut pseudo-inverse.

    Parameters
    ----------
    x : tensor or array
        A stack of ``m x n`` matrices.
    rtol : float or array, optional
        Singular values at most ``rtol`` times the largest one count as zero (an array
        broadcasts against the stack's shape). None: the array API's default,
        ``max(m, n) * eps`` of the dtype.

    Returns
    -------
    Tensor
        A stack of ``n x m`` matrices.
    """
    _matrices(x, "pinv")
    if rtol is None:
        return _pinv(x)
    return pinv_rtol_p.bind(x, data_of(rtol))


def matrix_rank(x: Any, /, *, rtol: Any = None) -> Tensor:
    """The rank of each matrix: the number of singular values above the cut-off.

    Parameters
    ----------
    x : tensor or array
        A stack of ``m x n`` matrices.
    rtol : float or array, optional
        Relative cut-off: singular values at most ``rtol`` times the largest count as
        zero. None: ``max(m, n) * eps`` of the dtype (the array API's default).

    Returns
    -------
    Tensor
        int64 ranks, of the stack's shape; no gradient (an integer).

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.linalg.matrix_rank(tg.asarray([[1.0, 2.0], [2.0, 4.0]]))
    tensor(1)
    """
    m, n = _matrices(x, "matrix_rank")
    with no_grad():
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if dtype_kind(x.dtype) not in "fc":
            x = P.astype(x, np.float64)
        s = _linalg.svdvals(x)
        if rtol is None:
            real = "float32" if str(x.dtype).endswith(("float32", "complex64")) else "float64"
            rtol = max(m, n) * float(np.finfo(real).eps)
        elif not isinstance(rtol, (int, float)):
            rtol = P.expand_dims(rtol, -1)
        cut = P.max(s, axis=-1, keepdims=True) * rtol if min(m, n) else s
        return P.sum(P.astype(s > cut, np.int64), axis=-1)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Tensor:
    """Traces of the last two axes (the array API's ``linalg.trace``).

    Parameters
    ----------
    x : tensor or array
        A stack of matrices.
    offset : int
        The diagonal: 0 the main one, positive above it, negative below.
    dtype : dtype, optional
        Cast ``x`` to it first, so the sums accumulate in it (as ``sum``'s ``dtype``).
    """
    if dtype is None:
        return _trace(x, offset)
    x = P.astype(x, dtype, copy=False)
    return P.astype(_trace(x, offset), x.dtype, copy=False)  # small integers stay ``dtype``


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False,
                ord: Any = 2) -> Tensor:  # noqa: A002  (the standard's name)
    """Vector ``ord``-norm over ``axis`` (all elements by default).

    Parameters
    ----------
    x : tensor or array
        The input.
    axis : int, tuple of ints or None
        The axes the norm is over; None: all of them (the flattened array).
    keepdims : bool
        Keep the reduced axes as length 1 (with ``axis=None``: every axis).
    ord : int, float, inf or -inf
        The order (2 by default).

    Notes
    -----
    At the zero vector the 2-norm's gradient is NaN, as in JAX (the norm is not
    differentiable there).
    """
    out = _vector_norm(x, axis=axis, keepdims=keepdims if axis is not None else False,
                       ord=ord)
    if axis is None and keepdims:
        out = P.reshape(out, (1,) * len(shape_of(x)))
    return out
