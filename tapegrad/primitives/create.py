"""Constructors. They make leaf tensors: NumPy arrays, or, given ``like=``, arrays of the
same namespace and device as ``like`` (a tensor or array). VJP rules that need a
constant array pass ``like=`` so they run unchanged on CuPy and other backends."""

from __future__ import annotations

import numpy as np

from .. import _config
from ..backend import backend_of, namespace_dtype
from ..tensor import Tensor

__all__ = [
    "arange", "empty", "eye", "full", "full_like", "linspace", "ones", "ones_like", "zeros",
    "zeros_like",
]


def _dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else _config.get_default_dtype()
    return np.dtype(dtype)


def _leaf(data, requires_grad: bool) -> Tensor:
    return Tensor(data, requires_grad=requires_grad)


def _shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _make_in(like, fn: str, *args, dtype, **kw):
    """Call constructor ``fn`` of NumPy, or of ``like``'s namespace on its device."""
    if like is None:
        return getattr(np, fn)(*args, dtype=dtype, **kw)
    data = like.data if isinstance(like, Tensor) else like
    be = backend_of(data)
    if be is None:
        raise TypeError(f"{fn}: like= must be a tensor or an array, got {type(like).__name__}")
    return getattr(be.xp, fn)(*args, dtype=namespace_dtype(be.xp, dtype), device=data.device,
                              **kw)


def zeros(shape, dtype=None, requires_grad: bool = False, like=None) -> Tensor:
    """A tensor of zeros (default dtype unless given; ``like``'s backend if given)."""
    return _leaf(_make_in(like, "zeros", _shape(shape), dtype=_dtype(dtype)), requires_grad)


def ones(shape, dtype=None, requires_grad: bool = False, like=None) -> Tensor:
    """A tensor of ones (default dtype unless given; ``like``'s backend if given)."""
    return _leaf(_make_in(like, "ones", _shape(shape), dtype=_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False, like=None) -> Tensor:
    """A tensor filled with ``fill_value`` (``like``'s backend if given)."""
    return _leaf(_make_in(like, "full", _shape(shape), fill_value, dtype=_dtype(dtype)),
                 requires_grad)


def _like(x, fill, dtype, requires_grad):
    data = x.data if isinstance(x, Tensor) else x
    be = backend_of(data)
    xp = be.xp if be is not None else np
    if be is None:
        data = np.asarray(data, dtype=_dtype(None) if dtype is None else dtype)
    dtype = data.dtype if dtype is None else namespace_dtype(xp, dtype)
    return _leaf(xp.full_like(data, fill, dtype=dtype), requires_grad)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape, dtype and backend of ``x``."""
    return _like(x, 0, dtype, requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape, dtype and backend of ``x``."""
    return _like(x, 1, dtype, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with the shape, dtype and backend of ``x``."""
    return _like(x, fill_value, dtype, requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False,
           like=None) -> Tensor:
    """Evenly spaced values in ``[start, stop)``.

    Integer arguments give int64 (as PyTorch); any float argument gives the default
    float dtype.
    """
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int64 if ints else _config.get_default_dtype()
    return _leaf(_make_in(like, "arange", start, stop, step, dtype=np.dtype(dtype)),
                 requires_grad)


def linspace(start, stop, num=50, dtype=None, requires_grad: bool = False,
             like=None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive."""
    return _leaf(_make_in(like, "linspace", start, stop, num, dtype=_dtype(dtype)),
                 requires_grad)


def eye(n, m=None, k=0, dtype=None, requires_grad: bool = False, like=None) -> Tensor:
    """A 2-D tensor with ones on the ``k``-th diagonal (``like``'s backend if given)."""
    return _leaf(_make_in(like, "eye", n, m, k=k, dtype=_dtype(dtype)), requires_grad)


def empty(shape, dtype=None, requires_grad: bool = False, like=None) -> Tensor:
    """An uninitialised tensor (its values are arbitrary; ``like``'s backend if given)."""
    return _leaf(_make_in(like, "empty", _shape(shape), dtype=_dtype(dtype)), requires_grad)
