"""Indexing: ``x[idx]`` and its transpose, a scatter-add into zeros.

Indices may hold ints, slices, ``None``, ``Ellipsis``, integer arrays (repeated
indices accumulate in the gradient) and boolean masks.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from ..backend import backend_of
from ..primitive import primitive
from ..tensor import Tensor
from ._util import shape_of

__all__ = ['getitem', 'index_add_into']


def _is_basic(idx: tuple) -> bool:
    """Only ints, slices, None and Ellipsis: each output element reads one input."""
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in idx)


def _getitem_vjp(g, x, idx):
    return (P.index_add_into(g, shape=shape_of(x), idx=idx),)


getitem_p = primitive("getitem", lambda xp, x, idx: x[idx], _getitem_vjp, grad_name="Index")


def _index_add_impl(xp, g, shape, idx):
    out = xp.zeros(shape, dtype=g.dtype)
    if _is_basic(idx):
        out[idx] = g
        return out
    be = backend_of(out)
    if be.name == "numpy":
        np.add.at(out, idx, g)
    elif be.name == "cupy":
        import cupyx

        cupyx.scatter_add(out, idx, g)
    else:
        raise NotImplementedError(
            f"getitem: the gradient of advanced indexing needs a scatter-add, which the "
            f"{be.name} namespace does not provide"
        )
    return out


index_add_p = primitive(
    "index_add_into", _index_add_impl,
    lambda gg, g, shape, idx: (P.getitem(gg, idx),),
    grad_name="IndexPut",
)


def index_add_into(g, shape, idx):
    """Zeros of ``shape`` with ``g`` added at ``idx`` (repeated indices accumulate)."""
    return index_add_p.bind(g, shape=tuple(shape), idx=idx)


def normalize_index(idx):
    """Turn an index into a tuple of ints, slices, None, Ellipsis and arrays."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if isinstance(i, Tensor):
            if i._rg:
                raise TypeError("getitem: an index tensor cannot require grad")
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        elif isinstance(i, (bool, np.bool_)):
            i = np.asarray(i)
        elif isinstance(i, np.integer):
            i = int(i)
        if not isinstance(i, (int, slice, type(None), type(Ellipsis))) and \
                backend_of(i) is not None:
            kind = getattr(i.dtype, "kind", "i")
            if kind not in "iub":
                raise IndexError(f"getitem: arrays used as indices must be of integer or "
                                 f"boolean type, got {i.dtype}")
        out.append(i)
    return tuple(out)


def getitem(x, idx):
    """``x[idx]`` with NumPy's basic and advanced indexing."""
    return getitem_p.bind(x, idx=normalize_index(idx))
