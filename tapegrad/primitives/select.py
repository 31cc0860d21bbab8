"""Selection and comparison: ``where``, ``clip``, comparisons, and the data-dependent
searches ``nonzero``, ``count_nonzero``, ``unique`` (no gradient)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

import tapegrad.primitives as P

from ..backend import dtype_kind
from ..primitive import primitive
from ..tensor import Tensor
from ._native import native
from ._util import needs, norm_axis, shape_of
from .index import read_values

__all__ = [
    "argwhere", "clip", "count_nonzero", "equal", "flatnonzero", "greater", "greater_equal",
    "less", "less_equal", "logical_and", "logical_not", "logical_or", "nonzero", "not_equal",
    "unique", "unique_all", "unique_counts", "unique_inverse", "unique_values", "where",
]


def _where_vjp(g, cond, x, y):
    return (None,
            P.where(cond, g, 0.0) if needs(x) else None,
            P.where(cond, 0.0, g) if needs(y) else None)


def _where_impl(xp, c, x, y):
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        # The array API wants one array branch; NumPy makes both default-dtype arrays.
        x = xp.asarray(x, device=getattr(c, "device", None))
    return xp.where(c, x, y)


where_p = primitive(
    "where", _where_impl, _where_vjp,
    elementwise=True, xp_name="where", numexpr="where({0}, {1}, {2})",
    aliasing="fresh", cuda="{0} ? {1} : {2}",
    cuda_operands="select",
)


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` holds, else ``y``. No gradient flows to
    ``condition``; each branch gets the gradient where it was selected."""
    return where_p.bind(condition, x, y)


def clip(x, /, min=None, max=None, *, a_min=None, a_max=None):  # noqa: A002  (standard's names)
    """Limit values to ``[min, max]`` (NumPy's ``a_min`` and ``a_max`` are also accepted).

    Defined as ``minimum(maximum(x, min), max)``, so a value equal to a bound shares the
    gradient with it, exactly as ``jax.numpy.clip``. Without bounds it returns ``x``
    unchanged, as the array API specifies. Positional bounds (``clip(x, 0, 1)``) mean
    the same in NumPy and the array API.
    """
    for name, new, old in (("min", min, a_min), ("max", max, a_max)):
        if new is not None and old is not None:
            raise TypeError(f"clip: pass {name} or a_{name} (NumPy's name for it), not both")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    if lo is None and hi is None:
        return x if isinstance(x, Tensor) else Tensor(x)
    if lo is not None:
        x = P.maximum(x, lo)
    if hi is not None:
        x = P.minimum(x, hi)
    return x


def _cmp(name, xp_name, op, **meta):
    prim = primitive(name, lambda xp, x, y, _f=xp_name: getattr(xp, _f)(x, y), None,
                     elementwise=True, xp_name=xp_name, numexpr=f"({{0}} {op} {{1}})",
                     **meta)

    def fn(x, y):
        return prim.bind(x, y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``x {op} y`` as a bool tensor (no gradient)."
    return prim, fn


equal_p, equal = _cmp("equal", "equal", "==",
                      commutative=True, cuda="{0} == {1}", cuda_operands="compare")
not_equal_p, not_equal = _cmp("not_equal", "not_equal", "!=",
                              commutative=True, cuda="{0} != {1}", cuda_operands="compare")
less_p, less = _cmp("less", "less", "<",
                    cuda="{0} < {1}", cuda_operands="compare")
less_equal_p, less_equal = _cmp("less_equal", "less_equal", "<=",
                                cuda="{0} <= {1}", cuda_operands="compare")
greater_p, greater = _cmp("greater", "greater", ">",
                          cuda="{0} > {1}", cuda_operands="compare")
greater_equal_p, greater_equal = _cmp("greater_equal", "greater_equal", ">=",
                                      cuda="{0} >= {1}", cuda_operands="compare")
logical_and_p, logical_and = _cmp("logical_and", "logical_and", "&",
                                  commutative=True, cuda="{0} && {1}", cuda_operands="as_is")
logical_or_p, logical_or = _cmp("logical_or", "logical_or", "|",
                                commutative=True, cuda="{0} || {1}", cuda_operands="as_is")

logical_not_p = primitive("logical_not", lambda xp, x: xp.logical_not(x), None,
                          elementwise=True, xp_name="logical_not", numexpr="(~{0})",
                          cuda="!{0}", cuda_operands="as_is")


def logical_not(x):
    """Elementwise logical not (no gradient)."""
    return logical_not_p.bind(x)


# -- data-dependent searches (integer results, or values picked by value: no gradient) ----
nonzero_p = primitive("nonzero", lambda xp, x: tuple(xp.nonzero(x)), None,
                      multiple_results=True)


def nonzero(x) -> tuple:
    """Indices of the non-zero elements, one integer tensor per axis (no gradient).

    Their length depends on the values: under ``tg.compile`` the input's values become
    guards of the compiled program (other values compile it again).
    """
    if not shape_of(x):
        raise ValueError("nonzero: input must be at least 1-D (NumPy no longer accepts "
                         "0-d arrays); use atleast_1d")
    return nonzero_p.bind(read_values(x))


def flatnonzero(x):
    """Indices of the non-zero elements of the flattened ``x`` (no gradient)."""
    return nonzero(P.ravel(x))[0]


def argwhere(x):
    """Indices of the non-zero elements as rows of an ``(n, x.ndim)`` array
    (no gradient)."""
    nd = len(shape_of(x))
    idx = nonzero(P.reshape(x, (1,)) if nd == 0 else x)
    return P.stack(idx, axis=1)[:, :nd]


def count_nonzero(x, axis=None, keepdims: bool = False):
    """Number of non-zero elements along ``axis`` (an integer tensor; no gradient)."""
    nz = x if dtype_kind(x.dtype) == "b" else P.not_equal(x, 0)
    nz = P.astype(nz, np.int64)
    return P.sum(nz, axis=norm_axis(axis, len(shape_of(x)), "count_nonzero"),
                 keepdims=keepdims)


_UNIQUE_PARTS = ("values", "indices", "inverse_indices", "counts")


def _unique_impl(xp, x, parts, axis, equal_nan):
    fn = getattr(xp, "unique", None)  # NumPy's signature (NumPy, CuPy)
    if fn is not None:
        kw = {} if axis is None else {"axis": axis}
        if not equal_nan:
            kw["equal_nan"] = False
        res = fn(x, return_index="indices" in parts, return_inverse="inverse_indices" in parts,
                 return_counts="counts" in parts, **kw)
        return tuple(res) if isinstance(res, tuple) else (res,)
    if axis is not None:
        native(xp, "unique")  # the error names the namespace that lacks it
    res = native(xp, "unique_all")(x)
    return tuple(getattr(res, p) for p in parts)


unique_p = primitive("unique", _unique_impl, None, multiple_results=True)


def _unique(x, parts, axis=None, equal_nan=True):
    if axis is not None:
        axis = norm_axis(axis, len(shape_of(x)), "unique")[0]
    return unique_p.bind(read_values(x), parts=parts, axis=axis, equal_nan=bool(equal_nan))


def unique(x, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, *, equal_nan: bool = True,
           sorted: bool = True):  # noqa: A002  (NumPy's name)
    """The sorted unique elements of ``x`` (of its slices along ``axis``), optionally
    with the index of each one's first occurrence, the inverse indices that rebuild
    ``x``, and the counts, as NumPy returns them.

    No gradient: the results are new tensors that do not require grad (gather with the
    returned indices, ``x[indices]``, to differentiate through the unique values).
    """
    parts = ("values",) + tuple(p for p, want in zip(
        _UNIQUE_PARTS[1:], (return_index, return_inverse, return_counts)) if want)
    out = _unique(x, parts, axis, equal_nan)
    return out[0] if len(out) == 1 else out


UniqueAllResult = namedtuple("UniqueAllResult", _UNIQUE_PARTS)
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def unique_values(x):
    """The array API's ``unique_values``: sorted unique elements, NaNs kept apart
    (no gradient)."""
    return _unique(x, ("values",), equal_nan=False)[0]


def unique_counts(x) -> UniqueCountsResult:
    """The array API's ``unique_counts``: unique elements and how often each occurs."""
    return UniqueCountsResult(*_unique(x, ("values", "counts"), equal_nan=False))


def unique_inverse(x) -> UniqueInverseResult:
    """The array API's ``unique_inverse``: unique elements and, for each element of
    ``x``, the index of its value among them (shaped like ``x``)."""
    return UniqueInverseResult(*_unique(x, ("values", "inverse_indices"), equal_nan=False))


def unique_all(x) -> UniqueAllResult:
    """The array API's ``unique_all``: values, first indices, inverse indices, counts."""
    return UniqueAllResult(*_unique(x, _UNIQUE_PARTS, equal_nan=False))
