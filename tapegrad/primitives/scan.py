"""Scans and orderings: ``cumsum`` and ``cumprod`` (primitives), ``sort``, ``msort`` and
``partition`` (gathers by ``argsort`` / ``argpartition``), and the integer-valued
``argsort``, ``argpartition``, ``argmax``, ``argmin``, ``searchsorted`` (no gradient).
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from ..backend import NUMPY, backend_of
from ..primitive import primitive
from ._native import native
from ._util import constant_like, data_of, norm_axis, shape_of

__all__ = [
    "argmax", "argmin", "argpartition", "argsort", "cumprod", "cumsum", "cumulative_prod",
    "cumulative_sum", "msort", "partition", "searchsorted", "sort",
]


# -- cumsum: its transpose is the reversed cumulative sum ---------------------------
def _cumsum_vjp(g, x, axis):
    return (P.flip(P.cumsum(P.flip(g, axis), axis), axis),)


cumsum_p = primitive("cumsum", lambda xp, x, axis: native(xp, "cumsum")(x, axis=axis),
                     _cumsum_vjp, grad_name="Cumsum")


def _cumprod_vjp(g, x, axis):
    # d out_j / d x_i = prod_{k <= j, k != i} x_k for i <= j. Built without dividing by
    # x (so zeros are exact): row i of an n x n block is x with x_i replaced by 1; its
    # cumulative product, kept on and above the diagonal, weights g. O(n^2) memory.
    xm = P.moveaxis(x, axis, -1)
    gm = P.moveaxis(g, axis, -1)
    n = shape_of(xm)[-1]
    rows = P.where(constant_like(np.eye(n, dtype=bool), x), 1.0, P.expand_dims(xm, -2))
    partial = P.triu(P.cumprod(rows, axis=-1))
    gx = P.sum(partial * P.expand_dims(gm, -2), axis=-1)
    return (P.moveaxis(gx, -1, axis),)


cumprod_p = primitive("cumprod", lambda xp, x, axis: native(xp, "cumprod")(x, axis=axis),
                      _cumprod_vjp, grad_name="Cumprod")


def _scan_args(x, axis, op):
    if axis is None:
        return P.ravel(x), 0
    return x, norm_axis(axis, len(shape_of(x)), op)[0]


def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (of the flattened array by default)."""
    x, axis = _scan_args(x, axis, "cumsum")
    return cumsum_p.bind(x, axis=axis)


def cumprod(x, axis=None):
    """Cumulative product along ``axis``; the gradient is exact when ``x`` has zeros
    (it costs O(n^2) in the length of ``axis``)."""
    x, axis = _scan_args(x, axis, "cumprod")
    return cumprod_p.bind(x, axis=axis)


def _with_initial(y, axis, identity):
    shp = list(shape_of(y))
    shp[axis] = 1
    d = data_of(y)
    first = (backend_of(d) or NUMPY).xp.full(tuple(shp), identity, dtype=d.dtype,
                                             device=d.device)
    return P.concatenate([first, y], axis=axis)


def _scan_axis(x, axis, op):
    nd = len(shape_of(x))
    if axis is None and nd > 1:
        raise ValueError(f"{op}: axis must be given for an array of dimension {nd}")
    return -1 if axis is None else axis


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial: bool = False):
    """Array-API ``cumulative_sum`` (``axis`` may be omitted for 1-D input;
    ``dtype`` casts the input first, so the sums accumulate in it)."""
    axis = _scan_axis(x, axis, "cumulative_sum")
    if dtype is not None:
        x = P.astype(x, dtype, copy=False)
    y = cumsum(x, axis)
    if dtype is not None:  # small integers are promoted by the scan: still ``dtype``
        y = P.astype(y, x.dtype, copy=False)
    return _with_initial(y, axis, 0) if include_initial else y


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial: bool = False):
    """Array-API ``cumulative_prod`` (as :func:`cumulative_sum`, with products)."""
    axis = _scan_axis(x, axis, "cumulative_prod")
    if dtype is not None:
        x = P.astype(x, dtype, copy=False)
    y = cumprod(x, axis)
    if dtype is not None:  # small integers are promoted by the scan: still ``dtype``
        y = P.astype(y, x.dtype, copy=False)
    return _with_initial(y, axis, 1) if include_initial else y


# -- orderings (integer results: no gradient) ---------------------------------------
def _argsort_impl(xp, x, axis, descending):
    if not descending:
        return xp.argsort(x, axis=axis, stable=True)
    # Stable descending order: ascending order of the reversed array, mapped back.
    idx = xp.argsort(xp.flip(x, axis=axis), axis=axis, stable=True)
    return (x.shape[axis] - 1) - xp.flip(idx, axis=axis)


argsort_p = primitive("argsort", _argsort_impl, None)
argmax_p = primitive("argmax", lambda xp, x, axis, keepdims: xp.argmax(x, axis=axis,
                                                                       keepdims=keepdims),
                     None, xp_name="argmax")
argmin_p = primitive("argmin", lambda xp, x, axis, keepdims: xp.argmin(x, axis=axis,
                                                                       keepdims=keepdims),
                     None, xp_name="argmin")
searchsorted_p = primitive("searchsorted",
                           lambda xp, a, v, side: xp.searchsorted(a, v, side=side), None,
                           xp_name="searchsorted")


def argsort(x, axis: int | None = -1, descending: bool = False, stable: bool = True):
    """Indices that sort ``x`` along ``axis``; always a stable sort (equal elements keep
    their order), as ``jax.numpy.argsort``."""
    x, axis = _scan_args(x, axis, "argsort")
    return argsort_p.bind(x, axis=axis, descending=bool(descending))


def sort(x, axis: int | None = -1, descending: bool = False, stable: bool = True):
    """Sorted copy of ``x`` along ``axis``.

    Computed as a gather by the stable ``argsort``, so the gradient of an output
    position goes to the input element that landed there; among equal elements that is
    the stable order, exactly as ``jax.numpy.sort`` assigns it.
    """
    x, axis = _scan_args(x, axis, "sort")
    idx = argsort_p.bind(x, axis=axis, descending=bool(descending))
    return P.take_along_axis(x, idx, axis)


def _arg_axis(x, axis, op):
    return None if axis is None else norm_axis(axis, len(shape_of(x)), op)[0]


def argmax(x, axis=None, keepdims: bool = False):
    """Index of the first maximum along ``axis`` (of the flattened array by default)."""
    return argmax_p.bind(x, axis=_arg_axis(x, axis, "argmax"), keepdims=bool(keepdims))


def argmin(x, axis=None, keepdims: bool = False):
    """Index of the first minimum along ``axis``."""
    return argmin_p.bind(x, axis=_arg_axis(x, axis, "argmin"), keepdims=bool(keepdims))


def searchsorted(a, v, side: str = "left", sorter=None):
    """Where ``v``'s elements would be inserted into sorted 1-D ``a``.

    ``sorter`` (integer indices that sort ``a``, e.g. ``argsort(a)``) searches
    ``take(a, sorter)`` instead, as NumPy and the array API do.
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if sorter is not None:
        a = P.take(a, sorter)
    return searchsorted_p.bind(a, v, side=side)


def msort(x):
    """``x`` sorted along its first axis (``sort(x, axis=0)``; NumPy 2 removed
    ``np.msort``, HIPS autograd differentiated it)."""
    return sort(x, axis=0)


def _argpartition_impl(xp, x, kth, axis):
    fn = getattr(xp, "argpartition", None)
    if fn is not None:
        return fn(x, kth, axis=axis)
    # The array API has no selection algorithm; a stable sort is also a partition.
    return xp.argsort(x, axis=axis, stable=True)


argpartition_p = primitive("argpartition", _argpartition_impl, None)


def _kth(x, kth, axis, op):
    n = shape_of(x)[axis]
    ks = (kth,) if isinstance(kth, int) or hasattr(kth, "__index__") else tuple(kth)
    out = []
    for k in ks:
        k = int(k)
        if not -n <= k < n:
            raise ValueError(f"{op}: kth {k} is out of bounds for an axis of length {n}")
        out.append(k % n)
    return out[0] if len(out) == 1 else tuple(out)


def argpartition(x, kth, axis: int | None = -1):
    """Indices that partition ``x`` along ``axis``: the element at each ``kth``
    position is where a sort would put it, smaller ones before, larger ones after (no
    gradient). The order inside each part is unspecified, as in NumPy."""
    x, axis = _scan_args(x, axis, "argpartition")
    return argpartition_p.bind(x, kth=_kth(x, kth, axis, "argpartition"), axis=axis)


def partition(x, kth, axis: int | None = -1):
    """A copy of ``x`` partitioned along ``axis`` around the ``kth`` element(s) (see
    :func:`argpartition`). A gather, so each output gets the gradient of the input
    element that landed there; the order inside each part is unspecified (NumPy's
    selection algorithm on NumPy arrays; JAX sorts the parts)."""
    x, axis = _scan_args(x, axis, "partition")
    idx = argpartition_p.bind(x, kth=_kth(x, kth, axis, "partition"), axis=axis)
    return P.take_along_axis(x, idx, axis)
