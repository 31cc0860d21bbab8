"""Algebraic simplification: a table of local rewrites, one comment each.

Each entry is ``(primitive name, rule)``; ``"*"`` applies to every primitive. A rule
gets ``m`` (see :class:`~._rewrite.Match`) and the equation's inputs and parameters and
returns the replacement or None. ``m.const(a)`` is the number every element of ``a``
equals (through broadcasts of literals), ``m.src(a, "neg", 0)`` is the first input of
the ``neg`` that made ``a``, ``m.emit`` builds an equation, and ``m.convert(x)`` casts
and broadcasts ``x`` to the output's dtype and shape (what ``x*1`` really computes).

The engine accepts a replacement only if its shape and dtype equal the original
output's, computed with NumPy's own promotion: ``x_f32 * 2.0`` stays float32, so
``x_f32 / 2.0 -> x_f32 * 0.5`` is taken, but ``x_i64 ** 2.0 -> x*x`` (int64, not
float64) is not.

Rewrites change results by at most rounding (``x/3 -> x*(1/3)``) and the sign of a
zero (``x+0 -> x``); never NaN/inf behaviour, so ``x*0 -> 0`` and ``x-x -> 0`` are
absent. Nor are "more accurate" forms such as ``log(1+x) -> log1p(x)`` or
``exp(x)-1 -> expm1(x)``: where ``1+x`` rounds to 1 the program would give ``x`` where
the function gives 0 (and ``1/log(1+x)`` a finite number where it gives inf).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ir import Graph, Lit
from ._rewrite import Match, commute, rewrite_to_fixpoint, table
from ._util import xp_of_values


def _is(m: Match, a: Any, value: float) -> bool:
    c = m.const(a)
    return c is not None and c == value


def _square(m: Match, x, y):
    if not _is(m, y, 2):
        return None
    c = m.convert(x)
    return m.emit("multiply", c, c)


def _square_root(m: Match, x, y):
    """NumPy computes float32/float64 ``pow(x, 0.5)`` as ``sqrt(x)`` only when the
    exponent is a number or 0-d (``pow(-inf, 0.5)`` is then NaN, not inf, and
    ``pow(-0.0, 0.5)`` is -0.0); with an exponent array it calls C's ``pow``."""
    if (not isinstance(y, Lit) or not (y.is_scalar or y.value.shape == ())
            or not _is(m, y, 0.5) or np.dtype(m.out.dtype).char not in "fd"):
        return None
    return m.emit("sqrt", m.convert(x))


def _negated(m: Match, y):
    """``z`` when ``y = -z`` was computed in the output's dtype (a negation in a
    narrower or integer dtype wraps first: ``x_f64 + -(i8(-128))`` is ``x - 128``)."""
    z = m.src(y, "negative", 0)
    if z is None or np.dtype(y.dtype) != np.dtype(m.out.dtype):
        return None
    return z


def _reciprocal_of(c: Lit) -> Lit | None:
    """``1/c`` for a literal divisor that is a nonzero finite float (or int) number."""
    v = c.value
    if c.is_scalar:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v == 0 \
                or not math.isfinite(v):
            return None
        return Lit(1.0 / v)
    if np.dtype(v.dtype).kind != "f" or v.size > 4096:
        return None
    with np.errstate(all="ignore"):
        r = 1 / v
    if not bool(np.isfinite(r).all()) or r.dtype != v.dtype:
        return None
    return Lit(r)


def _divide_by_constant(m: Match, x, y):
    if not isinstance(y, Lit) or isinstance(x, Lit):
        return None
    r = _reciprocal_of(y)
    return m.emit("multiply", x, r) if r is not None else None


def _compose_transpose(m: Match, x, axes):
    inner = m.src(x, "transpose")
    if inner is None:
        return None
    first = inner.params["axes"]
    return m.emit("transpose", inner.inputs[0], axes=tuple(first[i] for i in axes))


def _broadcast_only_over(src_shape: tuple, shape: tuple, axes) -> bool:
    """``broadcast_to(src, shape)`` repeats ``src`` exactly along ``axes`` and nowhere
    else (so reducing over ``axes`` only counts copies)."""
    pad = (1,) * (len(shape) - len(src_shape)) + tuple(src_shape)
    reduced = range(len(shape)) if axes is None else axes
    return all((p == 1) if k in reduced else (p == s)
               for k, (p, s) in enumerate(zip(pad, shape)))


def _sum_of_broadcast(m: Match, x, axis, keepdims):
    src = m.src(x, "broadcast_to", 0)
    if src is None or not _broadcast_only_over(src.shape, x.shape, axis):
        return None
    if np.dtype(m.out.dtype) == np.float16:  # the count itself may overflow float16
        return None
    n = math.prod(s for k, s in enumerate(x.shape) if axis is None or k in axis)
    return m.emit("multiply", m.emit("reshape", src, shape=m.out.shape), n)


def _mean_of_broadcast(m: Match, x, axis, keepdims):
    src = m.src(x, "broadcast_to", 0)
    if src is None or not _broadcast_only_over(src.shape, x.shape, axis):
        return None
    return m.emit("reshape", src, shape=m.out.shape)


def _sum_to_of_broadcast(m: Match, x, shape):
    src = m.src(x, "broadcast_to", 0)
    if src is None or tuple(src.shape) != tuple(shape):
        return None
    return m.emit("multiply", src, math.prod(x.shape) // max(math.prod(shape), 1))


def _is_exponent(m: Match, i: int) -> bool:
    """Operand ``i`` is a power's exponent: NumPy's ``pow`` computes differently when
    the exponent is one number (see :func:`_square_root`), so its size must stay."""
    return i == 1 and m.eqn.prim.name == "power"


def _drop_broadcast_operand(m: Match, *ins, **params):
    if not m.eqn.prim.elementwise:
        return None
    for i, a in enumerate(ins):
        if _is_exponent(m, i):
            continue
        src = m.src(a, "broadcast_to", 0)
        if src is None:
            continue
        new = ins[:i] + (src,) + ins[i + 1:]
        if np.broadcast_shapes(*(tuple(b.shape) for b in new)) == tuple(m.out.shape):
            return m.emit(m.eqn.prim, *new, **params)
    return None


def _scalar_literal_operand(m: Match, *ins, **params):
    if not m.eqn.prim.elementwise:
        return None
    for i, a in enumerate(ins):
        if _is_exponent(m, i):
            continue
        if not isinstance(a, Lit) or a.is_scalar or a.value.size <= 1:
            continue
        c = m.const(a)
        if c is None:
            continue
        xp = xp_of_values([a.value])
        new = ins[:i] + (Lit(xp.asarray(c, dtype=a.dtype)),) + ins[i + 1:]
        if np.broadcast_shapes(*(tuple(b.shape) for b in new)) == tuple(m.out.shape):
            return m.emit(m.eqn.prim, *new, **params)
    return None


def _power_of_two(v: float) -> bool:
    return math.isfinite(v) and v != 0 and abs(math.frexp(v)[0]) == 0.5


def _merge_constant_factors(m: Match, x, y):
    """``c1 * (c2 * z) -> (c1*c2) * z``, only where it is exact: both products are
    computed in the output's float dtype and one factor is a power of two (so ``c1*c2``
    and the rescaling round exactly as before, barring overflow and underflow)."""
    c1, inner = m.const(x), m.src(y, "multiply")
    out = m.out
    if (c1 is None or inner is None or np.dtype(out.dtype).kind != "f"
            or np.dtype(y.dtype) != np.dtype(out.dtype)):
        return None
    for c, z in (inner.inputs, inner.inputs[::-1]):
        c2 = m.const(c)
        if c2 is not None and m.const(z) is None:
            break
    else:
        return None
    a, b = np.asarray(c1, dtype=out.dtype), np.asarray(c2, dtype=out.dtype)
    if not (_power_of_two(float(a)) or _power_of_two(float(b))):
        return None
    return m.emit("multiply", Lit(m.xp().asarray(a * b, dtype=out.dtype)), z)


# -- identities, also the symbolic zeros and ones of constant folding ----------------
IDENTITY_RULES = [
    ("multiply", commute(lambda m, x, y: m.convert(x) if _is(m, y, 1) else None)),  # x*1 -> x
    ("add", commute(lambda m, x, y: m.convert(x) if _is(m, y, 0) else None)),  # x+0 -> x
    ("subtract", lambda m, x, y: m.convert(x) if _is(m, y, 0) else None),  # x-0 -> x
    ("subtract", lambda m, x, y: m.emit("negative", m.convert(y)) if _is(m, x, 0) else None),  # 0-x -> -x  # noqa: E501
    ("divide", lambda m, x, y: m.convert(x) if _is(m, y, 1) else None),  # x/1 -> x
]

RULES = IDENTITY_RULES + [
    # -- signs
    ("multiply", commute(lambda m, x, y: m.emit("negative", m.convert(x)) if _is(m, y, -1) else None)),  # x*-1 -> -x  # noqa: E501
    ("multiply", commute(_merge_constant_factors)),  # c1*(c2*x) -> (c1*c2)*x when exact
    ("negative", lambda m, x: m.src(x, "negative", 0)),  # --x -> x
    ("add", commute(lambda m, x, y: m.emit("subtract", x, _negated(m, y)))),  # x+(-y) -> x-y
    ("subtract", lambda m, x, y: m.emit("add", x, _negated(m, y))),  # x-(-y) -> x+y
    # -- powers
    ("power", lambda m, x, y: m.convert(x) if _is(m, y, 1) else None),  # pow(x, 1) -> x
    ("power", _square),  # pow(x, 2) -> x*x
    ("power", lambda m, x, y: m.emit("divide", 1, m.convert(x)) if _is(m, y, -1) else None),  # pow(x, -1) -> 1/x  # noqa: E501
    ("power", _square_root),  # pow(x, 0.5) -> sqrt(x), where NumPy takes its own fast path
    # -- fusible forms
    ("tanh_grad", lambda m, g, y: m.emit("subtract", g, m.emit("multiply", m.emit("multiply", g, y), y))),  # tanh_grad(g, y) -> g - g*y*y: ufuncs that fusion chains through out=  # noqa: E501
    # -- division by a constant
    ("divide", _divide_by_constant),  # x/c -> x*(1/c)
    # -- shape no-ops
    ("reshape", lambda m, x, shape: x if tuple(x.shape) == tuple(shape) else None),  # reshape to own shape -> x  # noqa: E501
    ("reshape", lambda m, x, shape: m.emit("reshape", m.src(x, "reshape", 0), shape=shape)),  # reshape(reshape(x)) -> reshape(x)  # noqa: E501
    ("broadcast_to", lambda m, x, shape: x if tuple(x.shape) == tuple(shape) else None),  # broadcast to own shape -> x  # noqa: E501
    ("broadcast_to", lambda m, x, shape: m.emit("broadcast_to", m.src(x, "broadcast_to", 0), shape=shape)),  # broadcast(broadcast(x)) -> broadcast(x)  # noqa: E501
    ("sum_to", lambda m, x, shape: x if tuple(x.shape) == tuple(shape) else None),  # sum_to own shape -> x  # noqa: E501
    ("transpose", lambda m, x, axes: x if tuple(axes) == tuple(range(len(axes))) else None),  # transpose by identity -> x  # noqa: E501
    ("transpose", _compose_transpose),  # transpose(transpose(x)) -> one transpose
    ("astype", lambda m, x, dtype: x if np.dtype(x.dtype) == np.dtype(dtype) else None),  # astype to own dtype -> x  # noqa: E501
    ("identity", lambda m, x: x),  # identity(x) -> x
    # -- selection
    ("where", lambda m, c, x, y: m.convert(x) if x is y else None),  # where(c, x, x) -> x
    ("where", lambda m, c, x, y: m.convert(x) if _is(m, c, True) else None),  # where(True, x, y) -> x  # noqa: E501
    ("where", lambda m, c, x, y: m.convert(y) if _is(m, c, False) else None),  # where(False, x, y) -> y  # noqa: E501
    # -- reductions of broadcasts
    ("sum", _sum_of_broadcast),  # sum(broadcast(x)) -> x * count
    ("mean", _mean_of_broadcast),  # mean(broadcast(x)) -> x
    ("sum_to", _sum_to_of_broadcast),  # sum_to(broadcast(x), x.shape) -> x * count
    # -- elementwise operations broadcast by themselves
    ("*", _drop_broadcast_operand),  # f(broadcast(y), z) -> f(y, z) when the shape stays
    ("*", _scalar_literal_operand),  # f(full(c), z) -> f(c, z): a 0-d literal when the shape stays  # noqa: E501
]

_TABLE = table(RULES)


def simplify(graph: Graph) -> Graph:
    """Apply the algebraic rewrites in :data:`RULES` until none fires.

    Parameters
    ----------
    graph : Graph
        The program to simplify; it is not modified.

    Returns
    -------
    Graph
        An equivalent program (same inputs, outputs of the same shapes and dtypes).
        Equations left without readers (the ``add`` under a ``log1p``) stay until
        :func:`~.dce.dce` removes them.
    """
    return rewrite_to_fixpoint(graph, _TABLE)
