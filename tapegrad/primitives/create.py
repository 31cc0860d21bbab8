"""Constructors. They make leaf tensors: NumPy arrays, or, given ``like=``, arrays of the
same namespace and device as ``like`` (a tensor or array). VJP rules that need a
constant array pass ``like=`` so they run unchanged on CuPy and other backends.

Given tensors that are part of a gradient graph, ``full``/``full_like`` (the fill value)
and ``linspace`` (the endpoints) are compositions instead, differentiable as in JAX."""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from .. import _config
from ..backend import backend_of, device_of, dtype_name, namespace_dtype, to_device, to_numpy
from ..tensor import Tensor, _device_key
from ._util import data_of, shape_of

__all__ = [
    "arange", "empty", "empty_like", "eye", "full", "full_like", "linspace", "ones",
    "ones_like", "zeros", "zeros_like",
]


def _complex_default() -> np.dtype:
    """The complex dtype matching the default float dtype (complex64 for float32)."""
    return np.result_type(_config.get_default_dtype(), np.complex64)


def _value_dtype(value) -> np.dtype:
    """The dtype a fill value or endpoint makes.

    An array, tensor or NumPy scalar keeps its dtype. Python values (and lists of them)
    follow NumPy's kinds with tapegrad's defaults: bools give bool, ints int64 (uint64
    beyond its range, as NumPy), floats the default float dtype, complex numbers the
    matching complex dtype.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype_name(dtype))
    kind = np.asarray(value).dtype
    if kind.kind == "b":
        return np.dtype(bool)
    if kind.kind == "i":
        return np.dtype(np.int64)
    if kind.kind == "u":
        return kind
    if kind.kind == "c":
        return _complex_default()
    return _config.get_default_dtype()


def _dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else _config.get_default_dtype()
    return np.dtype(dtype_name(dtype))  # also another namespace's dtype object


def _leaf(data, requires_grad: bool, device=None, op: str = "tensor") -> Tensor:
    return Tensor(_placed(data, device, op), requires_grad=requires_grad)


def _placed(data, device, op: str):
    """``data`` on ``device`` (the array API's ``device=``: ``"cpu"``, ``"cuda:N"``, or a
    device object of ``data``'s library); ``data`` itself when it is there already."""
    if device is None or device_of(data) == _device_key(device):
        return data
    be = backend_of(data)
    if be is not None and be.name not in ("numpy", "cupy"):
        return data.to_device(device)
    return to_device(to_numpy(data), device, op)


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


def zeros(shape, dtype=None, requires_grad: bool = False, like=None, *,
          device=None) -> Tensor:
    """A tensor of zeros (default dtype unless given; ``like``'s backend if given, on
    ``device`` if given)."""
    return _leaf(_make_in(like, "zeros", _shape(shape), dtype=_dtype(dtype)), requires_grad,
                 device, "zeros")


def ones(shape, dtype=None, requires_grad: bool = False, like=None, *,
         device=None) -> Tensor:
    """A tensor of ones (default dtype unless given; ``like``'s backend if given, on
    ``device`` if given)."""
    return _leaf(_make_in(like, "ones", _shape(shape), dtype=_dtype(dtype)), requires_grad,
                 device, "ones")


def _tracked(v) -> bool:
    """``v`` is a tensor a gradient can flow from (or one a compiler trace follows)."""
    return isinstance(v, Tensor) and (v._rg or v._node is not None)


def _graph_fill(shape: tuple, fill_value, dtype, requires_grad: bool, op: str) -> Tensor:
    if requires_grad:
        raise ValueError(f"{op}: requires_grad=True makes a leaf, but fill_value is part "
                         "of a gradient graph (the result follows it already)")
    try:
        fits = np.broadcast_shapes(shape_of(fill_value), shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: fill_value of shape {shape_of(fill_value)} cannot be "
                         f"broadcast to {shape}")
    v = fill_value if dtype is None else P.astype(fill_value, dtype)
    # fill * ones: a fresh array whose gradient sums back onto the fill value.
    return v * P.ones(shape, dtype=str(v.dtype).rsplit(".", 1)[-1], like=v)


def full(shape, fill_value, dtype=None, requires_grad: bool = False, like=None, *,
         device=None) -> Tensor:
    """A tensor filled with ``fill_value`` (``like``'s backend if given).

    Without ``dtype``, the dtype is ``fill_value``'s when it is an array, tensor or
    NumPy scalar; a Python bool gives bool, an int int64, a float the default float
    dtype and a complex number the matching complex dtype (complex64 when the default
    is float32, complex128 when it is float64), as PyTorch's ``full``.

    A ``fill_value`` tensor that requires grad makes the result part of its graph: its
    gradient is the sum of the result's, as ``jax.numpy.full``. ``device`` places the
    result (the array API's keyword).
    """
    if _tracked(fill_value):
        return _graph_fill(_shape(shape), fill_value, dtype, requires_grad, "full")
    fill = data_of(fill_value)
    if dtype is None:
        dtype = _value_dtype(fill)
    return _leaf(_make_in(like, "full", _shape(shape), fill, dtype=_dtype(dtype)),
                 requires_grad, device, "full")


def _like(x, fill, dtype, requires_grad, device, op):
    data = x.data if isinstance(x, Tensor) else x
    be = backend_of(data)
    xp = be.xp if be is not None else np
    if be is None:  # Python values: the dtype full() would give them
        data = np.asarray(data, dtype=_value_dtype(data) if dtype is None else _dtype(dtype))
    dtype = data.dtype if dtype is None else namespace_dtype(xp, dtype)
    return _leaf(xp.full_like(data, fill, dtype=dtype), requires_grad, device, op)


def zeros_like(x, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """Zeros with the shape, dtype and backend of ``x`` (on ``device`` if given)."""
    return _like(x, 0, dtype, requires_grad, device, "zeros_like")


def ones_like(x, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """Ones with the shape, dtype and backend of ``x`` (on ``device`` if given)."""
    return _like(x, 1, dtype, requires_grad, device, "ones_like")


def empty_like(x, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """An uninitialised tensor with the shape, dtype and backend of ``x`` (its values
    are arbitrary; on ``device`` if given)."""
    return _like(x, 0, dtype, requires_grad, device, "empty_like")


def full_like(x, fill_value, dtype=None, requires_grad: bool = False, *,
              device=None) -> Tensor:
    """``fill_value`` with the shape, dtype and backend of ``x`` (differentiable in a
    ``fill_value`` tensor, as :func:`full`; on ``device`` if given)."""
    if _tracked(fill_value):
        out = _graph_fill(shape_of(x), fill_value,
                          dtype if dtype is not None else x.dtype, requires_grad, "full_like")
        return out if device is None else out.to_device(device)
    return _like(x, data_of(fill_value), dtype, requires_grad, device, "full_like")


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False,
           like=None, *, device=None) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (on ``device`` if given).

    Integer (and bool) arguments give int64 (as PyTorch); any float argument gives the
    default float dtype, a complex one the matching complex dtype.
    """
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        vals = (start, stop, step)
        if all(isinstance(v, (int, np.integer, np.bool_)) for v in vals):
            dtype = np.int64
        elif any(isinstance(v, (complex, np.complexfloating)) for v in vals):
            dtype = _complex_default()
        else:
            dtype = _config.get_default_dtype()
    return _leaf(_make_in(like, "arange", start, stop, step, dtype=np.dtype(dtype)),
                 requires_grad, device, "arange")


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0, requires_grad: bool = False, like=None, *,
             device=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` (inclusive unless
    ``endpoint=False``); array endpoints give one sequence per element along ``axis``.

    Endpoints that are tensors requiring grad make the result differentiable in them,
    computed as ``jax.numpy.linspace`` does (``start * (1 - t) + stop * t``, the last
    sample exactly ``stop``). With ``retstep=True`` it also returns the spacing.
    ``device`` places the result (the array API's keyword).
    """
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    if _tracked(start) or _tracked(stop):
        if requires_grad:
            raise ValueError("linspace: requires_grad=True makes a leaf, but start or stop "
                             "is part of a gradient graph (the result follows it already)")
        out = _graph_linspace(start, stop, num, endpoint, retstep, dtype, axis)
        if device is None:
            return out
        return (out[0].to_device(device), out[1]) if retstep else out.to_device(device)
    start, stop = data_of(start), data_of(stop)
    if dtype is None:
        dtype = _endpoint_dtype(start, stop)
    if like is None:
        out, step = np.linspace(start, stop, num, endpoint=endpoint, retstep=True,
                                dtype=_dtype(dtype), axis=axis)
    else:
        if axis != 0:
            raise NotImplementedError("linspace: axis= with like= (the array API's "
                                      "linspace has no axis)")
        out = _make_in(like, "linspace", start, stop, num, dtype=_dtype(dtype),
                       endpoint=endpoint)
        step = (stop - start) / ((num - 1) if endpoint else num) if num > 1 else float("nan")
    out = _leaf(out, requires_grad, device, "linspace")
    return (out, step) if retstep else out


def _endpoint_dtype(start, stop):
    """The floating dtype of array endpoints (None for numbers: the default dtype); a
    complex endpoint gives a complex dtype (complex numbers the default's)."""
    kinds = [np.dtype(str(v.dtype).rsplit(".", 1)[-1]) for v in (start, stop)
             if hasattr(v, "dtype")]
    kinds += [_complex_default() for v in (start, stop) if isinstance(v, complex)]
    dt = np.result_type(*kinds) if kinds else None
    return dt if dt is not None and dt.kind in "fc" else None


def _graph_linspace(start, stop, num, endpoint, retstep, dtype, axis):
    ref = start if isinstance(start, Tensor) else stop
    dt = dtype if dtype is not None and np.dtype(dtype).kind in "fc" else (
        _endpoint_dtype(start, stop) or _config.get_default_dtype())
    start, stop = (P.astype(v, dt) if hasattr(v, "dtype") else full((), v, dt, like=ref)
                   for v in (start, stop))
    bounds = np.broadcast_shapes(shape_of(start), shape_of(stop))
    start, stop = P.broadcast_to(start, bounds), P.broadcast_to(stop, bounds)
    axis = axis + len(bounds) + 1 if axis < 0 else axis
    lifted = bounds[:axis] + (1,) + bounds[axis:]
    div = (num - 1) if endpoint else num
    if num > 1:
        t = P.reshape(arange(div, dtype=dt, like=ref) / div,
                      (1,) * axis + (div,) + (1,) * (len(bounds) - axis))
        out = P.reshape(start, lifted) * (1 - t) + P.reshape(stop, lifted) * t
        if endpoint:
            out = P.concatenate([out, P.reshape(stop, lifted)], axis=axis)
        step = (stop - start) / div
    else:
        out = P.reshape(start, lifted)
        if num == 0:
            out = out[(slice(None),) * axis + (slice(0, 0),)]
        step = stop - start if not endpoint else start * float("nan")
    if dtype is not None and np.dtype(dtype).kind in "iub":
        out = P.astype(P.floor(out), dtype)
    return (out, step) if retstep else out


def eye(n, m=None, k=0, dtype=None, requires_grad: bool = False, like=None, *,
        device=None) -> Tensor:
    """A 2-D tensor with ones on the ``k``-th diagonal (``like``'s backend if given, on
    ``device`` if given)."""
    return _leaf(_make_in(like, "eye", n, m, k=k, dtype=_dtype(dtype)), requires_grad,
                 device, "eye")


def empty(shape, dtype=None, requires_grad: bool = False, like=None, *,
          device=None) -> Tensor:
    """An uninitialised tensor (its values are arbitrary; ``like``'s backend if given, on
    ``device`` if given)."""
    return _leaf(_make_in(like, "empty", _shape(shape), dtype=_dtype(dtype)), requires_grad,
                 device, "empty")
