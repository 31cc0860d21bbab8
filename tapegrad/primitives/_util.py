"""Small helpers shared by the primitive definitions."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import NUMPY, backend_of, namespace_dtype
from ..primitive import holds_tensor
from ..tensor import Tensor


def needs(a: Any) -> bool:
    """Whether a gradient must be computed for argument ``a`` (saves work in VJPs)."""
    return type(a) is Tensor and a._rg


def norm_axis(axis, ndim: int, op: str) -> tuple[int, ...] | None:
    """Normalise ``axis`` to a sorted tuple of non-negative ints (None: all axes)."""
    if axis is None:
        return None
    if isinstance(axis, Tensor):
        axis = axis.item()
    axes = (axis,) if isinstance(axis, int) or hasattr(axis, "__index__") else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            # NumPy's AxisError: both the ValueError NumPy documents and the IndexError
            # the array API asks for.
            raise np.exceptions.AxisError(f"{op}: axis {a} is out of bounds for an array "
                                          f"of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def shape_of(a: Any) -> tuple[int, ...]:
    """Shape of a tensor, array, nested list or Python number."""
    s = getattr(a, "shape", None)
    if s is None:
        if isinstance(a, (list, tuple)):
            # A list holding tensors: its stacked shape (np.shape would convert them).
            return (len(a), *shape_of(a[0])) if a and holds_tensor(a) else np.shape(a)
        return ()
    return tuple(s)


def reduced_shape(shape: tuple, axis: tuple | None) -> tuple:
    """``shape`` with the reduced axes kept as 1 (the ``keepdims=True`` shape)."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else s for i, s in enumerate(shape))


def count(shape: tuple, axis: tuple | None) -> int:
    """Number of elements reduced over."""
    n = 1
    for i, s in enumerate(shape):
        if axis is None or i in axis:
            n *= s
    return n


def data_of(a: Any) -> Any:
    """The array inside a tensor, or ``a`` itself."""
    return a.data if isinstance(a, Tensor) else a


def constant_like(a: Any, like: Any) -> Any:
    """``a``, a small NumPy constant computed from shapes (an index, a mask), as an array
    of ``like``'s namespace on ``like``'s device; ``a`` itself when ``like`` is NumPy.

    ``like`` is a tensor or an array. Index arrays must live where the array they index
    lives: CuPy and the array API refuse a host index for a device array.
    """
    data = data_of(like)
    be = backend_of(data)
    if be is None or be is NUMPY:
        return a
    return be.xp.asarray(a, dtype=namespace_dtype(be.xp, a.dtype), device=data.device)


def along(axis: int, nd: int, idx: Any) -> tuple:
    """An index that applies ``idx`` to ``axis`` and keeps the other axes."""
    return (slice(None),) * axis + (idx,) + (slice(None),) * (nd - axis - 1)
