"""Statistics built from reductions: ``average``, ``median``, ``ptp``, ``nansum``,
``nanmean`` (compositions; ``mean``, ``var`` and ``std`` with ``ddof`` live in
reduce.py)."""

from __future__ import annotations

import math

import numpy as np

import tapegrad.primitives as P

from ..backend import dtype_kind
from ._util import norm_axis, reduced_shape, shape_of

__all__ = ["average", "median", "nanmean", "nansum", "ptp"]


def average(x, axis=None, weights=None, returned: bool = False, keepdims: bool = False):
    """Weighted mean ``sum(x * w) / sum(w)`` over ``axis``; gradients flow to ``x`` and
    to ``weights``. 1-D ``weights`` along a single ``axis`` are broadcast along it."""
    if weights is None:
        avg = P.mean(x, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        n = P.sum(P.ones_like(x), axis=axis, keepdims=keepdims)
        return avg, P.broadcast_to(n, shape_of(avg))
    sx, sw = shape_of(x), shape_of(weights)
    if sx != sw:
        if axis is None or len(sw) != 1:
            raise TypeError("average: axis must be specified when shapes of a and weights "
                            "differ (and weights must then be 1-D)")
        ax = norm_axis(axis, len(sx), "average")[0]
        weights = P.reshape(weights, tuple(sw[0] if i == ax else 1 for i in range(len(sx))))
    total = P.sum(P.multiply(x, weights), axis=axis, keepdims=keepdims)
    wsum = P.sum(P.broadcast_to(weights, sx), axis=axis, keepdims=keepdims)
    avg = P.divide(total, wsum)
    return (avg, wsum) if returned else avg


def median(x, axis=None, keepdims: bool = False):
    """Median over ``axis`` (an int, a tuple, or all axes): the middle of the sorted
    values, or the mean of the two middles. NaN where a reduced slice holds a NaN, and
    float64 for integer input, as in NumPy. The gradient goes to the element(s) chosen
    (ties: the stable sort order); a NaN result gets none."""
    shp = shape_of(x)
    nd = len(shp)
    axes = norm_axis(axis, nd, "median")
    axes = tuple(range(nd)) if axis is None else axes
    if dtype_kind(x.dtype) in "iub":
        x = P.astype(x, np.float64)  # NumPy's mean of the middle values
    keep = tuple(i for i in range(nd) if i not in axes)
    # The reduced axes moved last and flattened into one, then sorted.
    if keep + axes != tuple(range(nd)):
        x = P.transpose(x, keep + axes)
    n = math.prod(shp[i] for i in axes)
    s = P.sort(P.reshape(x, tuple(shp[i] for i in keep) + (n,)), axis=-1)
    if n % 2:
        m = P.getitem(s, (Ellipsis, n // 2))
    else:
        m = P.multiply(P.add(P.getitem(s, (Ellipsis, n // 2 - 1)),
                             P.getitem(s, (Ellipsis, n // 2))), 0.5)
    if dtype_kind(s.dtype) in "fc":  # a sort puts NaN last
        m = P.where(P.isnan(P.getitem(s, (Ellipsis, -1))), math.nan, m)
    if keepdims:
        m = P.reshape(m, reduced_shape(shp, axes))
    return m


def ptp(x, axis=None, keepdims: bool = False):
    """Range ``max - min`` over ``axis`` (ties share the gradient, as ``max``/``min``)."""
    return P.subtract(P.max(x, axis=axis, keepdims=keepdims),
                      P.min(x, axis=axis, keepdims=keepdims))


def nansum(x, axis=None, keepdims: bool = False):
    """Sum treating NaN as zero (NaN entries get no gradient)."""
    if dtype_kind(x.dtype) in "fc":  # (integers hold no NaN, and keep their dtype)
        x = P.where(P.isnan(x), 0.0, x)
    return P.sum(x, axis=axis, keepdims=keepdims)


def nanmean(x, axis=None, keepdims: bool = False):
    """Mean of the non-NaN entries."""
    keep = P.logical_not(P.isnan(x))
    count = P.sum(P.astype(keep, x.dtype), axis=axis, keepdims=keepdims)
    return P.divide(nansum(x, axis=axis, keepdims=keepdims), count)
