"""Rearranging elements: diagonals, triangles, flips, rolls, tiling, padding, gathering
along an axis, differences. Splitting and joining are in :mod:`.join`.

Almost everything here is a composition of indexing (``getitem``, whose VJP is a
scatter-add), ``reshape``/``broadcast_to`` and ``where``: each is exactly how NumPy
computes the result, so no new derivative is needed. ``roll`` is a primitive: its VJP,
the opposite roll, is cheaper than gathering.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from ..backend import NUMPY, backend_of, dtype_kind, to_numpy
from ..primitive import primitive
from ._util import along, constant_like, data_of, norm_axis, shape_of
from .index import read_values

__all__ = [
    "diag", "diagonal", "diff", "flip", "fliplr", "flipud", "matrix_transpose", "pad",
    "repeat", "roll", "rollaxis", "rot90", "take", "take_along_axis", "tile", "trace",
    "tril", "triu",
]


def _xp(x):
    be = backend_of(data_of(x))
    return (be or NUMPY).xp


def _ndim(x) -> int:
    return len(shape_of(x))


def _numpy_indexing(x) -> bool:
    """Whether ``x``'s library indexes with several integer arrays and scatter-adds their
    gradient (NumPy, CuPy); the array API only takes one integer array along one axis."""
    be = backend_of(data_of(x))
    return be is None or be.name in ("numpy", "cupy")


# -- diagonals and triangles --------------------------------------------------------
def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """The ``offset`` diagonal over ``axis1`` and ``axis2``, as the last axis."""
    nd = _ndim(x)
    a1, a2 = norm_axis(axis1, nd, "diagonal")[0], norm_axis(axis2, nd, "diagonal")[0]
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    moved = P.moveaxis(x, (a1, a2), (-2, -1))
    rows, cols = shape_of(moved)[-2:]
    n = max(0, min(rows - max(0, -offset), cols - max(0, offset)))
    if _numpy_indexing(x):
        r = constant_like(np.arange(n) + max(0, -offset), x)
        c = constant_like(np.arange(n) + max(0, offset), x)
        return P.getitem(moved, (Ellipsis, r, c))
    # Elsewhere a mask picks the diagonal and a sum reads it out of each row (no gather
    # with two index arrays, whose gradient would need a scatter-add).
    mask = constant_like(np.eye(rows, cols, k=offset, dtype=bool), x)
    per_row = P.sum(P.where(mask, moved, 0.0), axis=-1)
    start = max(0, -offset) if n else 0  # (the array API refuses out-of-range starts)
    return P.getitem(per_row, (Ellipsis, slice(start, start + n)))


def diag(v, k: int = 0):
    """The ``k``-th diagonal of a matrix, or a matrix with ``v`` on its ``k``-th diagonal."""
    shp = shape_of(v)
    if len(shp) == 2:
        return diagonal(v, k)
    if len(shp) != 1:
        raise ValueError("diag: input must be 1-D or 2-D")
    n = shp[0] + abs(k)
    if _numpy_indexing(v):
        idx = np.arange(shp[0])
        return P.index_add_into(v, (n, n), (constant_like(idx + max(0, -k), v),
                                            constant_like(idx + max(0, k), v)))
    # Element i lands in row i (k >= 0) or column i (k < 0) of the k-th diagonal.
    mask = constant_like(np.eye(n, k=k, dtype=bool), v)
    padded = P.pad(v, [(0, abs(k))])
    return P.where(mask, P.expand_dims(padded, 1 if k >= 0 else 0), 0.0)


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """Sum along a diagonal."""
    return P.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def _triangle(x, k: int, lower: bool):
    rows, cols = shape_of(x)[-2:]
    i = np.arange(rows).reshape(rows, 1)
    j = np.arange(cols).reshape(1, cols)
    mask = constant_like((j <= i + k) if lower else (j >= i + k), x)
    # A Python int zero keeps every dtype (0.0 would turn integers into float64).
    return P.where(mask, x, False if dtype_kind(x.dtype) == "b" else 0)


def tril(x, k: int = 0):
    """Zero the elements above the ``k``-th diagonal (last two axes)."""
    return _triangle(x, k, lower=True)


def triu(x, k: int = 0):
    """Zero the elements below the ``k``-th diagonal (last two axes)."""
    return _triangle(x, k, lower=False)


def matrix_transpose(x):
    """Swap the last two axes."""
    return P.swapaxes(x, -1, -2)


# -- flips and rolls ----------------------------------------------------------------
def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    nd = _ndim(x)
    axes = norm_axis(axis, nd, "flip")
    axes = range(nd) if axes is None else axes
    return P.getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                             for i in range(nd)))


def flipud(x):
    """Reverse along axis 0."""
    return flip(x, 0)


def fliplr(x):
    """Reverse along axis 1."""
    return flip(x, 1)


def rot90(x, k: int = 1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    a, b = axes
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a), b)
    perm = list(range(_ndim(x)))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return P.transpose(flip(x, b), perm)
    return flip(P.transpose(x, perm), b)


def _roll_impl(xp, x, shift, axis):
    if axis is None:
        return xp.reshape(xp.roll(xp.reshape(x, (-1,)), shift), x.shape)
    return xp.roll(x, shift, axis=axis)


def _negate(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


roll_p = primitive("roll", _roll_impl,
                   lambda g, x, shift, axis: (P.roll_p.bind(g, shift=_negate(shift), axis=axis),),
                   grad_name="Roll", xp_name="roll")


def roll(x, shift, axis=None):
    """Shift elements cyclically along ``axis`` (the flattened array by default)."""
    shift = int(shift) if isinstance(shift, (int, np.integer)) else tuple(int(s) for s in shift)
    if axis is not None:
        axis = int(axis) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
    return roll_p.bind(x, shift=shift, axis=axis)


def rollaxis(x, axis: int, start: int = 0):
    """Move ``axis`` to before position ``start`` (NumPy's older ``moveaxis``)."""
    nd = _ndim(x)
    axis %= nd
    start = start + nd if start < 0 else start
    if axis < start:
        start -= 1
    return x if axis == start else P.moveaxis(x, axis, start)


# -- tile, repeat, pad ----------------------------------------------------------------
def tile(x, reps):
    """Repeat the whole array ``reps`` times along each axis."""
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shp = shape_of(x)
    nd = max(len(shp), len(reps))
    shp = (1,) * (nd - len(shp)) + shp
    reps = (1,) * (nd - len(reps)) + reps
    x = P.reshape(x, tuple(v for s in shp for v in (1, s)))
    x = P.broadcast_to(x, tuple(v for r, s in zip(reps, shp) for v in (r, s)))
    return P.reshape(x, tuple(r * s for r, s in zip(reps, shp)))


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element)."""
    if axis is None:
        x, axis = P.ravel(x), 0
    shp = shape_of(x)
    axis = norm_axis(axis, len(shp), "repeat")[0]
    if isinstance(repeats, (int, np.integer)) or np.ndim(repeats) == 0:
        r = int(repeats)
        y = P.expand_dims(x, axis + 1)
        y = P.broadcast_to(y, shp[:axis + 1] + (r,) + shp[axis + 1:])
        return P.reshape(y, shp[:axis] + (shp[axis] * r,) + shp[axis + 1:])
    # The counts decide the result's shape: they are read on the host.
    counts = to_numpy(read_values(repeats)) if hasattr(data_of(repeats), "shape") \
        else np.asarray(repeats)
    idx = np.repeat(np.arange(shp[axis]), counts)
    return P.getitem(x, along(axis, len(shp), constant_like(idx, x)))


def _pad_widths(pad_width, nd: int) -> list[tuple[int, int]]:
    w = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    if (w < 0).any():
        raise ValueError("pad: index can't contain negative values")
    return [(int(a), int(b)) for a, b in w]


def pad(x, pad_width, mode: str = "constant", constant_values=0):
    """Pad with a constant (``mode="constant"``) or with the array's own elements
    (``"edge"``, ``"reflect"``, ``"symmetric"``, ``"wrap"``)."""
    shp = shape_of(x)
    widths = _pad_widths(pad_width, len(shp))
    if mode == "constant":
        if np.ndim(constant_values) != 0:
            raise NotImplementedError("pad: constant_values must be a single number")
        new = tuple(n + a + b for n, (a, b) in zip(shp, widths))
        inner = tuple(slice(a, a + n) for n, (a, _) in zip(shp, widths))
        out = P.index_add_into(x, new, inner)
        if constant_values != 0:
            d = data_of(x)
            fill = _xp(x).full(new, float(constant_values), dtype=d.dtype, device=d.device)
            fill[inner] = 0
            out = out + fill
        return out
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported")
    for axis, (n, w) in enumerate(zip(shp, widths)):
        if w != (0, 0):
            # Which source element each padded position copies: NumPy pads the indices.
            src = constant_like(np.pad(np.arange(n), w, mode=mode), x)
            x = P.getitem(x, along(axis, len(shp), src))
    return x


# -- gathering ----------------------------------------------------------------------
def take(x, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (of the flattened array by default)."""
    idx = read_values(indices)
    if not hasattr(idx, "__array_namespace__"):  # a list or a number
        idx = constant_like(np.asarray(idx), x)
    if axis is None:
        return P.getitem(P.ravel(x), idx)
    nd = _ndim(x)
    return P.getitem(x, along(norm_axis(axis, nd, "take")[0], nd, idx))


def take_along_axis(x, indices, axis):
    """``x`` indexed by ``indices`` along ``axis``, matching on the other axes."""
    idx = read_values(indices)
    if axis is None:
        x, axis = P.ravel(x), 0
    shp = shape_of(x)
    axis = norm_axis(axis, len(shp), "take_along_axis")[0]
    if idx.ndim != len(shp):
        raise ValueError("take_along_axis: indices and arr must have the same number of "
                         "dimensions")
    xp = backend_of(idx).xp
    full = []
    for d, n in enumerate(shp):
        if d == axis:
            full.append(idx)
        else:
            ones = tuple(n if k == d else 1 for k in range(len(shp)))
            full.append(xp.reshape(xp.arange(n, device=idx.device), ones))
    return P.getitem(x, tuple(full))


def diff(x, n: int = 1, axis: int = -1, prepend=None, append=None):
    """``n``-th discrete difference along ``axis``."""
    nd = _ndim(x)
    axis = norm_axis(axis, nd, "diff")[0]
    if prepend is not None or append is not None:
        parts = [x]
        for side, v in ((0, prepend), (1, append)):
            if v is None:
                continue
            shp = list(shape_of(x))
            shp[axis] = 1
            if isinstance(v, (int, float, complex, np.generic)):  # NumPy's dtype for it
                v = P.full(tuple(shp), v, dtype=np.asarray(v).dtype, like=x)
            elif _ndim(v) == 0:
                v = P.broadcast_to(v, tuple(shp))
            parts.insert(0 if side == 0 else len(parts), v)
        x = P.concatenate(parts, axis=axis)
    for _ in range(n):
        x = P.subtract(P.getitem(x, along(axis, nd, slice(1, None))),
                       P.getitem(x, along(axis, nd, slice(None, -1))))
    return x

