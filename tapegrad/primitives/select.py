"""Selection and comparison: ``where``, ``clip``, comparisons (no gradient)."""

from __future__ import annotations

import tapegrad.primitives as P

from ..primitive import primitive
from ._util import needs

__all__ = [
    "clip", "equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
    "logical_not", "logical_or", "not_equal", "where",
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
)


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` holds, else ``y``. No gradient flows to
    ``condition``; each branch gets the gradient where it was selected."""
    return where_p.bind(condition, x, y)


def clip(x, a_min=None, a_max=None):
    """Limit values to ``[a_min, a_max]``.

    Defined as ``minimum(maximum(x, a_min), a_max)``, so a value equal to a bound
    shares the gradient with it, exactly as ``jax.numpy.clip``.
    """
    if a_min is None and a_max is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    if a_min is not None:
        x = P.maximum(x, a_min)
    if a_max is not None:
        x = P.minimum(x, a_max)
    return x


def _cmp(name, xp_name, op):
    prim = primitive(name, lambda xp, x, y, _f=xp_name: getattr(xp, _f)(x, y), None,
                     elementwise=True, xp_name=xp_name, numexpr=f"({{0}} {op} {{1}})")

    def fn(x, y):
        return prim.bind(x, y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``x {op} y`` as a bool tensor (no gradient)."
    return prim, fn


equal_p, equal = _cmp("equal", "equal", "==")
not_equal_p, not_equal = _cmp("not_equal", "not_equal", "!=")
less_p, less = _cmp("less", "less", "<")
less_equal_p, less_equal = _cmp("less_equal", "less_equal", "<=")
greater_p, greater = _cmp("greater", "greater", ">")
greater_equal_p, greater_equal = _cmp("greater_equal", "greater_equal", ">=")
logical_and_p, logical_and = _cmp("logical_and", "logical_and", "&")
logical_or_p, logical_or = _cmp("logical_or", "logical_or", "|")

logical_not_p = primitive("logical_not", lambda xp, x: xp.logical_not(x), None,
                          elementwise=True, xp_name="logical_not", numexpr="(~{0})")


def logical_not(x):
    """Elementwise logical not (no gradient)."""
    return logical_not_p.bind(x)
