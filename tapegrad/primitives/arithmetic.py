"""Binary elementwise arithmetic: impl, VJP and metadata of each, in one block.

Gradients are written for the broadcast output shape; the backward driver sums them
down to each input's shape. Each rule skips arguments that need no gradient.
"""

from __future__ import annotations

import math

import tapegrad.primitives as P

from ..primitive import primitive, scalar_variant
from ._util import needs

__all__ = [
    "add", "arctan2", "divide", "logaddexp", "maximum", "minimum", "multiply", "power",
    "subtract", "true_divide",
]


def _pow_variant(args) -> int:
    # PyTorch: pow(Tensor, Scalar) -> 0, pow(Tensor, Tensor) -> 1, pow(Scalar, Tensor) -> 2
    x, y = args
    if isinstance(y, (int, float, complex)):
        return 0
    if isinstance(x, (int, float, complex)):
        return 2
    return 1


# -- add, subtract ------------------------------------------------------------------
add_p = primitive(
    "add", lambda xp, x, y: xp.add(x, y),
    lambda g, x, y: (g if needs(x) else None, g if needs(y) else None),
    grad_name="Add", elementwise=True, xp_name="add", numexpr="({0} + {1})",
    variant=scalar_variant,
    commutative=True, operator="+", cuda="{0} + {1}",
)

subtract_p = primitive(
    "subtract", lambda xp, x, y: xp.subtract(x, y),
    lambda g, x, y: (g if needs(x) else None, -g if needs(y) else None),
    grad_name="Sub", elementwise=True, xp_name="subtract", numexpr="({0} - {1})",
    variant=scalar_variant,
    short="sub", operator="-", cuda="{0} - {1}",
)

# -- multiply, divide ---------------------------------------------------------------
multiply_p = primitive(
    "multiply", lambda xp, x, y: xp.multiply(x, y),
    lambda g, x, y: (g * y if needs(x) else None, g * x if needs(y) else None),
    grad_name="Mul", elementwise=True, xp_name="multiply", numexpr="({0} * {1})",
    variant=scalar_variant,
    commutative=True, short="mul", operator="*", cuda="{0} * {1}",
)


def _divide_vjp(g, x, y):
    gx = g / y if needs(x) else None
    gy = -g * x / (y * y) if needs(y) else None
    return gx, gy


divide_p = primitive(
    "divide", lambda xp, x, y: xp.divide(x, y), _divide_vjp,
    grad_name="Div", elementwise=True, xp_name="divide", numexpr="({0} / {1})",
    variant=scalar_variant,
    short="div", operator="/", cuda="{0} / {1}",
)


# -- power --------------------------------------------------------------------------
def _power_vjp(g, x, y, out):
    gx = gy = None
    if needs(x):
        if isinstance(y, (int, float)):
            # d/dx x**c = c * x**(c-1); c == 2 gives 2*x, c == 1 gives 1.
            if y == 2:
                gx = g * (2.0 * x)
            elif y == 1:
                gx = g
            elif y == 0:
                gx = g * 0.0
            else:
                gx = g * (y * x ** (y - 1))
        else:
            # At x == y == 0 the rule reads 0 * inf: the derivative there is 0 (x**0 is
            # constant in x; PyTorch's value, JAX's for integer y). Only that point is
            # masked, so the mixed derivative in y stays exact at y == 0, x != 0.
            at_0 = P.logical_and(P.equal(y, 0), P.equal(x, 0))
            gx = g * P.where(at_0, 0.0, y * x ** (y - 1.0))
    if needs(y):
        # d/dy x**y = x**y * log(x), with log(x) read as 0 at x == 0 (as JAX does).
        if isinstance(x, (int, float)):  # a number base stays a number (no NumPy array)
            # A negative base has no real logarithm: NaN, as in JAX (math.log raises).
            log_x = 0.0 if x == 0 else math.log(x) if x > 0 else math.nan
            gy = g * (log_x * out)
        else:
            gy = g * (P.log(P.where(x == 0, 1.0, x)) * out)
    return gx, gy


power_p = primitive(
    "power", lambda xp, x, y: xp.pow(x, y), _power_vjp,
    grad_name="Pow", elementwise=True, xp_name="pow", numexpr="({0} ** {1})",
    saves_output=True, variant=_pow_variant,
    short="pow", cuda="pow({0}, {1})", cuda_integer="",
)


# -- maximum, minimum (ties split the gradient evenly, as JAX does) -----------------
def _balanced(a, b, out):
    """1 where ``a`` alone attains ``out``, 0.5 where ``a`` and ``b`` tie, else 0."""
    return P.where(a == out, P.where(b == out, 0.5, 1.0), 0.0)


def _extremum_vjp(g, x, y, out):
    gx = g * _balanced(x, y, out) if needs(x) else None
    gy = g * _balanced(y, x, out) if needs(y) else None
    return gx, gy


# The numexpr forms are NumPy's: a NaN on either side propagates, and a tie returns the
# second operand (``maximum(-0.0, 0.0)`` is 0.0); a bare ``where(x > y, x, y)`` would
# drop a NaN in ``x``.
maximum_p = primitive(
    "maximum", lambda xp, x, y: xp.maximum(x, y), _extremum_vjp,
    grad_name="Maximum", elementwise=True, xp_name="maximum",
    numexpr="where({0} > {1}, {0}, where({0} == {0}, {1}, {0}))", saves_output=True,
    cuda="({0} > {1} || isnan({0})) ? {0} : {1}", cuda_integer="({0} > {1}) ? {0} : {1}",
)

minimum_p = primitive(
    "minimum", lambda xp, x, y: xp.minimum(x, y), _extremum_vjp,
    grad_name="Minimum", elementwise=True, xp_name="minimum",
    numexpr="where({0} < {1}, {0}, where({0} == {0}, {1}, {0}))", saves_output=True,
    cuda="({0} < {1} || isnan({0})) ? {0} : {1}", cuda_integer="({0} < {1}) ? {0} : {1}",
)


# -- arctan2, logaddexp -------------------------------------------------------------
def _arctan2_vjp(g, y, x):
    denom = x * x + y * y
    return (g * x / denom if needs(y) else None,
            -g * y / denom if needs(x) else None)


arctan2_p = primitive(
    "arctan2", lambda xp, y, x: xp.atan2(y, x), _arctan2_vjp,
    grad_name="Atan2", elementwise=True, xp_name="atan2", numexpr="arctan2({0}, {1})",
    cuda="atan2({0}, {1})",
)


def _logaddexp_vjp_for(exp):
    """The VJP of ``out = log(exp(x) + exp(y))``, ``exp`` being ``P.exp`` or ``P.exp2``
    (``logaddexp2``): ``d out/dx = exp(x - out)``, finite at infinite arguments."""
    def vjp(g, x, y, out):
        # Where out is +inf, x - out is inf - inf: there the larger argument takes the
        # whole gradient ((1, 0) at (inf, 0), as PyTorch; JAX gives (1, 1)) and two +inf
        # arguments share it (0.5 each, the limit along x == y; PyTorch gives NaN, JAX
        # (1, 1)). At x == y == -inf the gradient stays NaN, as PyTorch and JAX give.
        top = P.logical_and(P.isinf(out), out > 0)
        safe = P.where(top, 0.0, out)  # no inf - inf (nor NumPy's warning) below

        def share(a, b):
            w = exp(P.where(top, 0.0, a - safe))  # 1 where out is +inf
            w = P.where(P.logical_and(top, a < b), 0.0, w)
            return g * P.where(P.logical_and(top, a == b), 0.5, w)

        return (share(x, y) if needs(x) else None, share(y, x) if needs(y) else None)

    return vjp


_logaddexp_vjp = _logaddexp_vjp_for(lambda z: P.exp(z))


logaddexp_p = primitive(
    "logaddexp", lambda xp, x, y: xp.logaddexp(x, y), _logaddexp_vjp,
    grad_name="Logaddexp", elementwise=True, xp_name="logaddexp", saves_output=True,
    # NumPy's logaddexp returns x + log(2) for equal arguments (so -inf, -inf is -inf).
    cuda=("({0} == {1}) ? {0} + ({T})0.6931471805599453"
          " : max({0}, {1}) + log1p(exp(-fabs({0} - {1})))"),
)


def add(x, y):
    """Elementwise ``x + y`` (NumPy broadcasting)."""
    return add_p.bind(x, y)


def subtract(x, y):
    """Elementwise ``x - y``."""
    return subtract_p.bind(x, y)


def multiply(x, y):
    """Elementwise ``x * y``."""
    return multiply_p.bind(x, y)


def divide(x, y):
    """Elementwise ``x / y`` (true division)."""
    return divide_p.bind(x, y)


def power(x, y):
    """Elementwise ``x ** y``."""
    return power_p.bind(x, y)


def maximum(x, y):
    """Elementwise maximum; tied elements share the gradient equally (as in JAX)."""
    return maximum_p.bind(x, y)


def minimum(x, y):
    """Elementwise minimum; tied elements share the gradient equally (as in JAX)."""
    return minimum_p.bind(x, y)


def arctan2(y, x):
    """Elementwise angle of the point ``(x, y)``, NumPy's ``arctan2(y, x)``."""
    return arctan2_p.bind(y, x)


def logaddexp(x, y):
    """Elementwise ``log(exp(x) + exp(y))``, computed stably."""
    return logaddexp_p.bind(x, y)


def true_divide(x, y):
    """Alias of :func:`divide`."""
    return divide_p.bind(x, y)
