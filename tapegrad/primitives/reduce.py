"""Reductions. Each VJP reshapes the output gradient to the ``keepdims`` shape and
broadcasts it back over the reduced axes."""

from __future__ import annotations

import math

import tapegrad.primitives as P

from ..backend import dtype_kind
from ..primitive import primitive
from ._util import count, norm_axis, reduced_shape, shape_of

__all__ = ["all", "amax", "amin", "any", "logsumexp", "max", "mean", "min", "prod", "std",
           "sum", "var"]


def _expand(g, x, axis, keepdims):
    """Output-shaped ``g`` as the keepdims shape, ready to broadcast against ``x``."""
    if keepdims or axis is None:  # a full reduction's 0-d result broadcasts as it is
        return g
    return P.reshape(g, reduced_shape(shape_of(x), axis))


def _sum_vjp(g, x, axis, keepdims):
    return (P.broadcast_to(_expand(g, x, axis, keepdims), shape_of(x)),)


sum_p = primitive("sum", lambda xp, x, axis, keepdims: xp.sum(x, axis=axis, keepdims=keepdims),
                  _sum_vjp,
                  aliasing="fresh")


def _mean_vjp(g, x, axis, keepdims):
    n = count(shape_of(x), axis)
    return (P.broadcast_to(_expand(g, x, axis, keepdims), shape_of(x)) / n,)


mean_p = primitive("mean",
                   lambda xp, x, axis, keepdims: xp.mean(x, axis=axis, keepdims=keepdims),
                   _mean_vjp,
                   aliasing="fresh")


def _prod_vjp(g, x, axis, keepdims):
    # d prod / d x_i is the product of the other elements. Computed without division so
    # zeros are exact: move the reduced axes last, flatten them to length n, put each
    # x_i's place to 1 along a new axis (an n x n identity mask), and multiply.
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axis is None else axis
    keep = tuple(i for i in range(len(shape)) if i not in axes)
    perm = keep + axes
    moved = P.transpose(x, perm)
    lead = tuple(shape[i] for i in keep)
    n = count(shape, axis)
    flat = P.reshape(moved, (*lead, 1, n))
    others = P.prod(P.where(P.eye(n, dtype=bool, like=x), 1.0, flat), axis=-1)  # (*lead, n)
    others = P.reshape(others, tuple(shape[i] for i in perm))
    inverse = tuple(perm.index(i) for i in range(len(shape)))
    return (P.transpose(others, inverse) * _expand(g, x, axis, keepdims),)


prod_p = primitive("prod",
                   lambda xp, x, axis, keepdims: xp.prod(x, axis=axis, keepdims=keepdims),
                   _prod_vjp,
                   aliasing="fresh")


def _extremum_vjp(g, x, axis, keepdims, out):
    # Ties share the gradient equally, as in JAX.
    outk = _expand(out, x, axis, keepdims)
    mask = P.astype(x == outk, x.dtype)
    share = mask / P.sum(mask, axis=axis, keepdims=True)
    return (share * _expand(g, x, axis, keepdims),)


max_p = primitive("max", lambda xp, x, axis, keepdims: xp.max(x, axis=axis, keepdims=keepdims),
                  _extremum_vjp, saves_output=True,
                  aliasing="fresh")
min_p = primitive("min", lambda xp, x, axis, keepdims: xp.min(x, axis=axis, keepdims=keepdims),
                  _extremum_vjp, saves_output=True,
                  aliasing="fresh")


def _centered(x, axis):
    """``x - mean(x)``, conjugated for complex ``x`` (JAX's convention for the gradient
    of a real-valued function of complex inputs)."""
    centered = x - P.mean(x, axis=axis, keepdims=True)
    if dtype_kind(centered.dtype) == "c":
        centered = P.conj(centered)
    return centered


def _inverse_dof(n: int, ddof) -> float:
    """``1 / (n - ddof)``; infinite when ``ddof >= n``, where NumPy's variance is
    (a Python division would raise instead)."""
    return 1.0 / (n - ddof) if n > ddof else math.inf


def _var_vjp(g, x, axis, keepdims, ddof):
    n = count(shape_of(x), axis)
    centered = _centered(x, axis)
    return (_expand(g, x, axis, keepdims) * centered * (2.0 * _inverse_dof(n, ddof)),)


var_p = primitive(
    "var",
    lambda xp, x, axis, keepdims, ddof: xp.var(x, axis=axis, keepdims=keepdims, correction=ddof),
    _var_vjp,
    aliasing="fresh",
)


def _std_vjp(g, x, axis, keepdims, ddof, out):
    n = count(shape_of(x), axis)
    centered = _centered(x, axis)
    return (_expand(g / out, x, axis, keepdims) * centered * _inverse_dof(n, ddof),)


std_p = primitive(
    "std",
    lambda xp, x, axis, keepdims, ddof: xp.std(x, axis=axis, keepdims=keepdims, correction=ddof),
    _std_vjp, saves_output=True,
    aliasing="fresh",
)


def _logsumexp_impl(xp, x, axis, keepdims):
    if x.size == 0:  # max has no identity; an empty sum's log is -inf, as in SciPy and JAX
        # (reduced_shape spelled out: export copies this impl into a NumPy-only module)
        m = xp.zeros(tuple(1 if axis is None or i in axis else d for i, d in enumerate(x.shape)),
                     dtype=x.dtype, device=x.device)
    else:
        m = xp.max(x, axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    s = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        s = xp.reshape(s, tuple(d for i, d in enumerate(s.shape)
                                if not (axis is None or i in axis)))
    return s


def _logsumexp_vjp(g, x, axis, keepdims, out):
    outk = _expand(out, x, axis, keepdims)
    return (_expand(g, x, axis, keepdims) * P.exp(x - outk),)


logsumexp_p = primitive("logsumexp", _logsumexp_impl, _logsumexp_vjp, saves_output=True,
                        aliasing="fresh")


def _reduction(prim, doc):
    def fn(x, axis=None, keepdims=False):
        return prim.bind(x, axis=norm_axis(axis, len(shape_of(x)), prim.name),
                         keepdims=bool(keepdims))

    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


def _with_dtype(reduction):
    # The array API's (and NumPy's) ``dtype=``: the input is cast to ``dtype`` first, so
    # the reduction accumulates in it; the cast is recorded, so the gradient reaches a
    # floating input in its own dtype.
    name = reduction.__name__

    def fn(x, axis=None, dtype=None, keepdims=False):
        if dtype is None:
            return reduction(x, axis=axis, keepdims=keepdims)
        x = P.astype(x, dtype, copy=False)
        out = reduction(x, axis=axis, keepdims=keepdims)
        # Small integers are promoted by the reduction: the result is still ``dtype``.
        return P.astype(out, x.dtype, copy=False)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = reduction.__doc__ + (" ``dtype`` casts the input first, so the result "
                                      "(and the accumulation) has that dtype.")
    return fn


sum = _with_dtype(_reduction(sum_p, "Sum over ``axis`` (all axes by default)."))  # noqa: A001
mean = _reduction(mean_p, "Arithmetic mean over ``axis``.")
prod = _with_dtype(_reduction(prod_p, "Product over ``axis``; the gradient is exact with "
                                      "zeros."))
max = _reduction(max_p, "Maximum over ``axis``; tied maxima share the gradient "  # noqa: A001
                        "equally (JAX's convention).")
min = _reduction(min_p, "Minimum over ``axis``; tied minima share the gradient "  # noqa: A001
                        "equally (JAX's convention).")
amax = max
amin = min
logsumexp = _reduction(logsumexp_p, "``log(sum(exp(x)))`` over ``axis``, computed stably.")


def _ddof(op: str, ddof, correction):
    """NumPy's ``ddof`` or the array API's ``correction`` (the same number), not both."""
    if ddof is not None and correction is not None:
        raise TypeError(f"{op}: pass ddof or correction (the array API's name for it), "
                        "not both")
    return ddof if ddof is not None else (correction if correction is not None else 0)


def var(x, axis=None, ddof=None, keepdims=False, *, correction=None):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (NumPy's default 0;
    ``correction`` is the array API's name for ``ddof``)."""
    return var_p.bind(x, axis=norm_axis(axis, len(shape_of(x)), "var"),
                      keepdims=bool(keepdims), ddof=_ddof("var", ddof, correction))


def std(x, axis=None, ddof=None, keepdims=False, *, correction=None):
    """Standard deviation over ``axis`` with ``ddof`` delta degrees of freedom
    (``correction`` is the array API's name for ``ddof``)."""
    return std_p.bind(x, axis=norm_axis(axis, len(shape_of(x)), "std"),
                      keepdims=bool(keepdims), ddof=_ddof("std", ddof, correction))


# Logical reductions: no gradient (their outputs are bool).
any_p = primitive("any", lambda xp, x, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims),
                  None)
all_p = primitive("all", lambda xp, x, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims),
                  None)
any = _reduction(any_p, "Whether any element along ``axis`` is true (no gradient).")  # noqa: A001
all = _reduction(all_p, "Whether all elements along ``axis`` are true (no gradient).")  # noqa: A001
