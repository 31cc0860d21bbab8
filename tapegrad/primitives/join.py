"""Splitting and joining: ``split`` and friends, the ``*stack`` family, ``atleast_*d``,
``append``, ``broadcast_arrays``.

All are compositions: a split is a list of basic slices (``getitem``), a stack is
``concatenate`` after a ``reshape``, so their gradients come from those primitives.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from ._util import along, norm_axis, shape_of

__all__ = [
    "append", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays",
    "column_stack", "dsplit", "dstack", "hsplit", "hstack", "row_stack", "split", "unstack",
    "vsplit", "vstack",
]


def _ndim(x) -> int:
    return len(shape_of(x))


def array_split(x, indices_or_sections, axis: int = 0) -> list:
    """Split into pieces (sections may differ in size by one)."""
    nd = _ndim(x)
    axis = norm_axis(axis, nd, "array_split")[0]
    n = shape_of(x)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("array_split: number sections must be larger than 0")
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    return [P.getitem(x, along(axis, nd, slice(a, max(a, b))))
            for a, b in zip(bounds[:-1], bounds[1:])]


def split(x, indices_or_sections, axis: int = 0) -> list:
    """Split into equal sections (or at the given indices)."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(x)[norm_axis(axis, _ndim(x), "split")[0]]
        if n % int(indices_or_sections):
            raise ValueError("split: array split does not result in an equal division")
    return array_split(x, indices_or_sections, axis)


def hsplit(x, sections) -> list:
    """Split along axis 1 (axis 0 for 1-D input)."""
    return split(x, sections, 1 if _ndim(x) > 1 else 0)


def vsplit(x, sections) -> list:
    """Split along axis 0."""
    return split(x, sections, 0)


def dsplit(x, sections) -> list:
    """Split along axis 2."""
    return split(x, sections, 2)


def unstack(x, axis: int = 0) -> tuple:
    """The slices along ``axis``, as a tuple."""
    nd = _ndim(x)
    axis = norm_axis(axis, nd, "unstack")[0]
    return tuple(P.getitem(x, along(axis, nd, i)) for i in range(shape_of(x)[axis]))


def _atleast(x, n: int):
    shp = shape_of(x)
    if len(shp) >= n:
        return x
    if n == 3 and len(shp) == 2:
        return P.reshape(x, shp + (1,))
    if n == 3 and len(shp) == 1:
        return P.reshape(x, (1,) + shp + (1,))
    return P.reshape(x, (1,) * (n - len(shp)) + shp)


def atleast_1d(*arys):
    """View each input with at least one dimension."""
    out = [_atleast(a, 1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """View each input with at least two dimensions (new axes in front)."""
    out = [_atleast(a, 2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """View each input with at least three dimensions (NumPy's placement of new axes)."""
    out = [_atleast(a, 3) for a in arys]
    return out[0] if len(out) == 1 else out


def hstack(arrays):
    """Concatenate along axis 1 (axis 0 for 1-D inputs)."""
    arrays = [atleast_1d(a) for a in arrays]
    return P.concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def vstack(arrays):
    """Concatenate along axis 0 after making inputs at least 2-D."""
    return P.concatenate([atleast_2d(a) for a in arrays], axis=0)


row_stack = vstack


def dstack(arrays):
    """Concatenate along axis 2 after making inputs at least 3-D."""
    return P.concatenate([atleast_3d(a) for a in arrays], axis=2)


def column_stack(arrays):
    """Stack 1-D inputs as columns (2-D inputs are concatenated along axis 1)."""
    cols = [P.reshape(a, (-1, 1)) if _ndim(a) < 2 else a for a in arrays]
    return P.concatenate(cols, axis=1)


def append(x, values, axis=None):
    """``x`` with ``values`` appended (both flattened when ``axis`` is None)."""
    if axis is None:
        return P.concatenate([P.ravel(x), P.ravel(values)], axis=0)
    return P.concatenate([x, values], axis=axis)


def broadcast_arrays(*arrays) -> list:
    """Broadcast the inputs against each other."""
    shape = np.broadcast_shapes(*(shape_of(a) for a in arrays))
    return [P.broadcast_to(a, shape) for a in arrays]
