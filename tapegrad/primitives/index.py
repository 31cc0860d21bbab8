"""Indexing: ``x[idx]`` and its transpose, a scatter-add into zeros.

Indices may hold ints, slices, ``None``, ``Ellipsis``, integer arrays (repeated
indices accumulate in the gradient) and boolean masks.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from .._state import _STATE
from ..backend import backend_of, dtype_kind
from ..primitive import primitive
from ..tensor import Tensor
from ._util import shape_of

__all__ = ['getitem', 'index_add_into']


def _is_basic(idx: tuple) -> bool:
    """Only ints, slices, None and Ellipsis: each output element reads one input."""
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in idx)


def _getitem_vjp(g, x, idx):
    return (P.index_add_into(g, shape=shape_of(x), idx=idx),)


def _numpy_style(xp) -> bool:
    """NumPy and CuPy index exactly as NumPy does; other namespaces follow the array API."""
    return xp is np or "cupy" in getattr(xp, "__name__", "")


def _is_mask(i) -> bool:
    return getattr(i, "dtype", None) is not None and dtype_kind(i.dtype) == "b"


def _axes_used(i) -> int:
    """Axes of the indexed array that index entry ``i`` consumes."""
    return 0 if i is None or i is Ellipsis else i.ndim if _is_mask(i) else 1


def _complete(idx: tuple, ndim: int) -> tuple:
    """``idx`` with a trailing Ellipsis when it indexes fewer axes than ``ndim``.

    NumPy reads ``x[0]`` of a matrix as ``x[0, ...]``; the array API wants the
    Ellipsis written out.
    """
    if any(i is Ellipsis for i in idx) or (len(idx) == 1 and _is_mask(idx[0])):
        return idx  # (a mask must be the sole index in the array API)
    used = sum(_axes_used(i) for i in idx)
    return idx + (Ellipsis,) if used < ndim else idx


def _array_api_getitem(xp, x, idx):
    """``x[idx]`` on an array-API namespace, which lacks NumPy's integer-array indexing
    beyond ``take`` along one axis."""
    idx = _complete(idx, x.ndim)
    arrays = [k for k, i in enumerate(idx) if getattr(i, "dtype", None) is not None
              and not _is_mask(i)]
    if not arrays:
        return x[idx]
    k = arrays[0]
    rest = idx[:k] + idx[k + 1:]
    if len(arrays) == 1 and all(i == slice(None) or i is Ellipsis for i in rest) \
            and (Ellipsis not in idx[:k]):
        a = idx[k]
        out = xp.take(x, xp.reshape(a, (-1,)), axis=k)
        return xp.reshape(out, x.shape[:k] + tuple(a.shape) + x.shape[k + 1:])
    raise NotImplementedError(
        f"getitem: the index {idx!r} needs NumPy's integer-array indexing, which the "
        f"{backend_of(x).name} namespace does not provide (only one integer array among "
        "full slices is supported there); run it on NumPy or CuPy arrays"
    )


def _getitem_impl(xp, x, idx):
    if _numpy_style(xp):
        return x[idx]
    return _array_api_getitem(xp, x, idx)


getitem_p = primitive("getitem", _getitem_impl, _getitem_vjp, grad_name="Index",
                      aliasing="view")


def _index_add_impl(xp, g, shape, idx):
    out = xp.zeros(shape, dtype=g.dtype, device=g.device)
    if _is_basic(idx) or (len(idx) == 1 and _is_mask(idx[0])):  # no repeated targets
        if _numpy_style(xp):
            out[idx] = g
            return out
        if not _is_basic(idx):
            return _unmask(xp, g, idx[0], out)
        # The array API has no None (new axes) in assignments: drop those axes of g.
        full = _complete(idx, len(shape))
        keep, pos = [], 0
        for i in full:
            n = len(shape) - sum(map(_axes_used, full)) if i is Ellipsis else \
                0 if isinstance(i, int) else 1
            if i is not None:
                keep += range(pos, pos + n)
            pos += n
        g = xp.reshape(g, tuple(g.shape[k] for k in keep))
        out[tuple(i for i in full if i is not None)] = g
        return out
    be = backend_of(out)
    if be.name == "numpy":
        np.add.at(out, idx, g)
    elif be.name == "cupy":
        import cupyx

        cupyx.scatter_add(out, idx, g)
    else:
        raise NotImplementedError(
            f"index_add_into (the gradient of getitem with integer-array indices) needs "
            f"a scatter-add, which the {be.name} namespace does not provide; run it on "
            "NumPy or CuPy arrays"
        )
    return out


def _unmask(xp, g, mask, zeros):
    """Zeros with the rows of ``g`` placed where ``mask`` holds (``x[mask]``'s transpose),
    as a gather: row ``cumsum(mask) - 1`` of ``g`` lands at each selected position."""
    if g.shape[0] == 0:
        return zeros
    flat = xp.reshape(mask, (-1,))
    rows = xp.cumulative_sum(xp.astype(flat, xp.int64)) - 1
    picked = xp.take(g, xp.clip(rows, 0, None), axis=0)
    keep = xp.reshape(flat, (-1,) + (1,) * (g.ndim - 1))
    return xp.reshape(xp.where(keep, picked, xp.zeros_like(picked)), zeros.shape)


index_add_p = primitive(
    "index_add_into", _index_add_impl,
    lambda gg, g, shape, idx: (P.getitem(gg, idx),),
    grad_name="IndexPut",
    aliasing="fresh",
)


def index_add_into(g, shape, idx):
    """Zeros of ``shape`` with ``g`` added at ``idx`` (repeated indices accumulate)."""
    return index_add_p.bind(g, shape=tuple(shape), idx=idx)


def read_values(t):
    """The data of ``t``, noted as read when a compiler trace is active.

    Values that become parameters (an index computed from the inputs, ``x[argsort(x)]``)
    or decide a result's shape (``nonzero``) are compile-time constants of a compiled
    program; reading them makes them its guards, so a call with other values compiles
    again instead of reusing them.
    """
    if isinstance(t, Tensor):
        st = _STATE.get()
        if t._node is not None:
            # An integer argument of the traced function itself (it carries the trace's
            # marker node) is already checked on every call by the compiler.
            if st.tracing is not None and t._node is not getattr(st.tracing, "marker", None):
                st.tracing.on_read(t)
        if st.tapes and st.tracing is None:
            for tp in st.tapes:  # tape.compile warns about values read while recording
                tp.on_read()
        return t.data
    return t


def normalize_index(idx, like=None):
    """Turn an index into a tuple of ints, slices, None, Ellipsis and arrays.

    Lists and bools become arrays of ``like``'s namespace and device (NumPy without it).
    """
    if not isinstance(idx, tuple):
        idx = (idx,)
    data = like.data if isinstance(like, Tensor) else like
    be = None if data is None else backend_of(data)
    out = []
    for i in idx:
        if isinstance(i, Tensor):
            if i._rg:
                raise TypeError("getitem: an index tensor cannot require grad")
            i = read_values(i)
        elif isinstance(i, (list, bool, np.bool_)):
            i = np.asarray(i) if be is None or be.xp is np else \
                be.xp.asarray(i, device=data.device)
        elif isinstance(i, np.integer):
            i = int(i)
        b = None if isinstance(i, (int, slice, type(None), type(Ellipsis))) else backend_of(i)
        if b is not None:
            if be is not None and b is not be:
                raise TypeError(f"getitem: cannot index a {be.name} array with a {b.name} "
                                "array; move the index to the same backend first")
            kind = dtype_kind(i.dtype)
            if kind not in "iub":
                raise IndexError(f"getitem: arrays used as indices must be of integer or "
                                 f"boolean type, got {i.dtype}")
        out.append(i)
    return tuple(out)


def getitem(x, idx):
    """``x[idx]`` with NumPy's basic and advanced indexing."""
    return getitem_p.bind(x, idx=normalize_index(idx, like=x))
