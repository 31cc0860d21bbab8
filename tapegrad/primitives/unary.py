"""Unary elementwise functions: impl, VJP and metadata of each, in one block.

``xp_name`` is the array-API spelling (``asin``), which NumPy >= 2, CuPy (through
array-api-compat) and array-api-strict all provide.
"""

from __future__ import annotations

import sys

import numpy as np

import tapegrad.primitives as P

from ..backend import dtype_kind
from ..primitive import primitive
from ._util import needs

__all__ = [
    "abs", "absolute", "arcsin", "arctan", "cos", "cosh", "exp", "expm1", "identity", "log",
    "log1p", "negative", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh",
]


def _unary(name, xp_name, vjp, *, grad_name=None, numexpr=None, saves_output=False, doc="",
           **meta):
    prim = primitive(
        name, lambda xp, x, _f=xp_name: getattr(xp, _f)(x), vjp,
        grad_name=grad_name, elementwise=True, xp_name=xp_name,
        numexpr=numexpr, saves_output=saves_output, doc=doc, **meta,
    )
    return prim


negative_p = _unary("negative", "negative", lambda g, x: (-g,), grad_name="Neg",
                    numexpr="(-{0})", doc="Elementwise ``-x``.",
                    short="neg", cuda="-{0}",
                    operator="-")
def _abs_vjp(g, x, out):
    if dtype_kind(x.dtype) == "c":  # (array-API dtypes have no .kind)
        # JAX: conj(z) / |z| for complex z, and 0 at z == 0.
        return (g * P.where(out == 0, 0.0, P.conj(x) / P.where(out == 0, 1.0, out)),)
    # |x|' is taken as +1 at x == 0, as in JAX (PyTorch uses 0 there).
    return (P.where(x >= 0, g, -g),)


abs_p = _unary("abs", "abs", _abs_vjp, numexpr="abs({0})", saves_output=True,
               doc="Elementwise absolute value.",
               cuda="fabs({0})", cuda_integer="({0} < 0) ? -{0} : {0}")
sqrt_p = _unary("sqrt", "sqrt", lambda g, x, out: (g / (2.0 * out),), numexpr="sqrt({0})",
                saves_output=True, doc="Elementwise square root.",
                cuda="sqrt({0})")
exp_p = _unary("exp", "exp", lambda g, x, out: (g * out,), numexpr="exp({0})",
               saves_output=True, doc="Elementwise ``e**x``.",
               cuda="exp({0})")
expm1_p = _unary("expm1", "expm1", lambda g, x, out: (g * (out + 1.0),),
                 numexpr="expm1({0})", saves_output=True, doc="Elementwise ``exp(x) - 1``.",
                 cuda="expm1({0})")
log_p = _unary("log", "log", lambda g, x: (g / x,), numexpr="log({0})",
               doc="Elementwise natural logarithm.",
               cuda="log({0})")
log1p_p = _unary("log1p", "log1p", lambda g, x: (g / (1.0 + x),), numexpr="log1p({0})",
                 doc="Elementwise ``log(1 + x)``, accurate near 0.",
                 cuda="log1p({0})")
sin_p = _unary("sin", "sin", lambda g, x: (g * cos_p.bind(x),), numexpr="sin({0})",
               doc="Elementwise sine.",
               cuda="sin({0})")
cos_p = _unary("cos", "cos", lambda g, x: (-g * sin_p.bind(x),), numexpr="cos({0})",
               doc="Elementwise cosine.",
               cuda="cos({0})")
tan_p = _unary("tan", "tan", lambda g, x, out: (g * (1.0 + out * out),), numexpr="tan({0})",
               saves_output=True, doc="Elementwise tangent.",
               cuda="tan({0})")
arcsin_p = _unary("arcsin", "asin", lambda g, x: (g / P.sqrt(1.0 - x * x),),
                  grad_name="Asin", numexpr="arcsin({0})", doc="Elementwise inverse sine.",
                  cuda="asin({0})")
arctan_p = _unary("arctan", "atan", lambda g, x: (g / (1.0 + x * x),),
                  grad_name="Atan", numexpr="arctan({0})", doc="Elementwise inverse tangent.",
                  cuda="atan({0})")
sinh_p = _unary("sinh", "sinh", lambda g, x: (g * P.cosh(x),), numexpr="sinh({0})",
                doc="Elementwise hyperbolic sine.",
                cuda="sinh({0})")
cosh_p = _unary("cosh", "cosh", lambda g, x: (g * P.sinh(x),), numexpr="cosh({0})",
                doc="Elementwise hyperbolic cosine.",
                cuda="cosh({0})")
tanh_p = _unary("tanh", "tanh", lambda g, x, out: (tanh_grad_p.bind(g, out),),
                numexpr="tanh({0})", saves_output=True, doc="Elementwise hyperbolic tangent.",
                cuda="tanh({0})")


# tanh's VJP ``g * (1 - y**2)`` as one primitive, like PyTorch's ``tanh_backward``: the
# eager backward pays one dispatch for it instead of three. Its own VJP keeps
# higher-order gradients exact; the compiler's simplify pass writes it back as ufuncs.
def _tanh_grad_vjp(gbar, g, y):
    return (tanh_grad_p.bind(gbar, y) if needs(g) else None,
            gbar * g * y * -2.0 if needs(y) else None)


tanh_grad_p = primitive(
    # g - g*y*y: the same product, with no Python-number operand (cheaper in NumPy).
    "tanh_grad", lambda xp, g, y: g - g * y * y, _tanh_grad_vjp,
    grad_name="TanhBackward", elementwise=True, numexpr="({0} - {0} * {1} * {1})",
    cuda="{0} - {0} * {1} * {1}",
)

# Functions with no gradient (zero almost everywhere): their outputs never require grad.
sign_p = _unary("sign", "sign", None, numexpr=None, doc="Elementwise sign (-1, 0, 1).",
                cuda="isnan({0}) ? {0} : ({T})(({0} > 0) - ({0} < 0))",
                cuda_integer="({T})(({0} > 0) - ({0} < 0))")


def _public(prim):
    def fn(x):
        return prim.bind(x)

    fn.__name__ = prim.name
    fn.__qualname__ = prim.name
    fn.__doc__ = prim.doc
    # The calling module, so the API reference lists the function where it is defined.
    fn.__module__ = sys._getframe(1).f_globals["__name__"]
    return fn


negative = _public(negative_p)
abs = _public(abs_p)  # noqa: A001  (NumPy's name)
absolute = abs
sqrt = _public(sqrt_p)
exp = _public(exp_p)
expm1 = _public(expm1_p)
log = _public(log_p)
log1p = _public(log1p_p)
sin = _public(sin_p)
cos = _public(cos_p)
tan = _public(tan_p)
arcsin = _public(arcsin_p)
arctan = _public(arctan_p)
sinh = _public(sinh_p)
cosh = _public(cosh_p)
tanh = _public(tanh_p)
sign = _public(sign_p)


def square(x):
    """Elementwise ``x**2``; recorded as ``power(x, 2.0)`` (``PowBackward0``, as PyTorch).

    Integers keep their dtype and bools become int8, as with NumPy's ``square``
    (``power(x, 2)`` in the integer's own dtype).
    """
    dtype = getattr(x, "dtype", None)
    kind = dtype_kind(dtype) if dtype is not None else (
        "b" if isinstance(x, bool) else "i" if isinstance(x, int) else "f")
    if kind in "biu":
        if kind == "b":
            x = P.astype(x, "int8") if dtype is not None else np.int8(x)
        return P.power_p.bind(x, 2)
    return P.power_p.bind(x, 2.0)


# The identity is recorded where a transform needs a distinct source tensor for a value
# that is already part of the graph (see tapegrad.transforms); the compiler removes it.
identity_p = primitive("identity", lambda xp, x: x, lambda g, x: (g,), grad_name="Alias",
                       elementwise=True, numexpr="{0}",
                       aliasing="view", cuda="{0}", cuda_operands="as_is")


def identity(x):
    """Return ``x`` as a new recorded value (gradient passes straight through)."""
    return identity_p.bind(x)
