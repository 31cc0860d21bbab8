"""More elementwise functions: inverse hyperbolics, other bases, rounding, complex parts.

Primitives where NumPy has a dedicated kernel (``log2``, ``hypot``, ``sinc``); plain
compositions where the definition is exact and cheap (``deg2rad`` is one multiply,
``fmax`` a ``where``). Gradients of holomorphic functions follow JAX: the VJP of ``f``
at ``z`` is ``g * f'(z)`` with no conjugation (see docs/numpy.md, "Complex numbers").
"""

from __future__ import annotations

import math

import numpy as np

import tapegrad.primitives as P

from ..backend import dtype_kind, dtype_name, is_floating
from ..primitive import primitive
from ..tensor import Tensor
from ._native import is_complex, native
from ._util import needs
from .arithmetic import _logaddexp_vjp_for
from .unary import _public, _unary

__all__ = [
    "acos", "acosh", "angle", "arccos", "arccosh", "arcsinh", "arctanh", "asin", "asinh",
    "atan", "atan2", "atanh", "cbrt", "ceil", "conj", "conjugate", "copysign", "deg2rad",
    "degrees", "exp2", "fabs", "fix", "floor", "floor_divide", "fmax", "fmin", "fmod",
    "hypot", "imag", "isfinite", "isinf", "isnan", "log10", "log2", "logaddexp2", "mod",
    "nan_to_num", "positive", "pow", "rad2deg", "radians", "real", "real_if_close",
    "reciprocal", "remainder",
    "rint", "round", "signbit", "sinc", "trunc",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

# -- inverse trigonometric and hyperbolic -------------------------------------------
arccos_p = _unary("arccos", "acos", lambda g, x: (-g / P.sqrt(1.0 - x * x),),
                  grad_name="Acos", numexpr="arccos({0})", doc="Elementwise inverse cosine.")
arcsinh_p = _unary("arcsinh", "asinh", lambda g, x: (g / P.sqrt(x * x + 1.0),),
                   grad_name="Asinh", numexpr="arcsinh({0})",
                   doc="Elementwise inverse hyperbolic sine.")
arccosh_p = _unary("arccosh", "acosh", lambda g, x: (g / P.sqrt(x * x - 1.0),),
                   grad_name="Acosh", numexpr="arccosh({0})",
                   doc="Elementwise inverse hyperbolic cosine (domain ``x >= 1``).")
arctanh_p = _unary("arctanh", "atanh", lambda g, x: (g / (1.0 - x * x),),
                   grad_name="Atanh", numexpr="arctanh({0})",
                   doc="Elementwise inverse hyperbolic tangent (domain ``|x| < 1``).")

# -- other bases --------------------------------------------------------------------
log2_p = _unary("log2", "log2", lambda g, x: (g / (x * _LN2),), doc="Elementwise base-2 log.")
log10_p = _unary("log10", "log10", lambda g, x: (g / (x * _LN10),),
                 numexpr="log10({0})", doc="Elementwise base-10 logarithm.")
exp2_p = primitive(
    "exp2", lambda xp, x: native(xp, "exp2")(x), lambda g, x, out: (g * (out * _LN2),),
    grad_name="Exp2", elementwise=True, saves_output=True,
)
cbrt_p = primitive(
    "cbrt", lambda xp, x: native(xp, "cbrt")(x),
    # d/dx x**(1/3) = 1 / (3 cbrt(x)**2): infinite at 0, as in JAX.
    lambda g, x, out: (g / (3.0 * out * out),),
    grad_name="Cbrt", elementwise=True, saves_output=True,
)


# -- sinc and its derivative (exact at 0 through the second order) -------------------
def _sinc_impl(xp, x):
    # NumPy's definition: sin(pi x) / (pi x), with x == 0 nudged so the ratio is 1.
    y = math.pi * xp.where(x == 0, 1.0e-20, x)
    return xp.sin(y) / y


def _dsinc_impl(xp, x):
    xs = xp.where(x == 0, 1.0, x)
    d = (xp.cos(math.pi * xs) - _sinc_impl(xp, xs)) / xs
    return xp.where(x == 0, 0.0, d)


def _dsinc_vjp(g, x):
    # sinc''(x) = pi^2 ((2 - t^2) sin t - 2 t cos t) / t^3 with t = pi x; -pi^2/3 at 0.
    # The inner where keeps the unused branch finite, so its zero cotangent stays zero.
    zero = x == 0
    t = math.pi * P.where(zero, 1.0, x)
    second = (math.pi ** 2) * ((2.0 - t * t) * P.sin(t) - 2.0 * t * P.cos(t)) / (t * t * t)
    return (g * P.where(zero, -(math.pi ** 2) / 3.0, second),)


sinc_p = primitive("sinc", _sinc_impl, lambda g, x: (g * P.sinc_derivative_p.bind(x),),
                   grad_name="Sinc", elementwise=True)
sinc_derivative_p = primitive("sinc_derivative", _dsinc_impl, _dsinc_vjp,
                              grad_name="SincDerivative", elementwise=True)


# -- binary: hypot, logaddexp2, remainder, fmod --------------------------------------
def _hypot_vjp(g, x, y, out):
    # At the origin each argument gets half the gradient, as jax.numpy.hypot gives.
    at0 = out == 0
    safe = P.where(at0, 1.0, out)
    return (g * P.where(at0, 0.5, x / safe) if needs(x) else None,
            g * P.where(at0, 0.5, y / safe) if needs(y) else None)


hypot_p = primitive("hypot", lambda xp, x, y: xp.hypot(x, y), _hypot_vjp,
                    grad_name="Hypot", elementwise=True, xp_name="hypot", saves_output=True)


logaddexp2_p = primitive(
    "logaddexp2", lambda xp, x, y: native(xp, "logaddexp2")(x, y),
    _logaddexp_vjp_for(lambda z: P.exp2(z)),
    grad_name="Logaddexp2", elementwise=True, saves_output=True,
)

remainder_p = primitive(
    "remainder", lambda xp, x, y: xp.remainder(x, y),
    # x - floor(x / y) * y, with floor's derivative zero.
    lambda g, x, y: (g if needs(x) else None,
                     -g * P.floor(x / y) if needs(y) else None),
    grad_name="Remainder", elementwise=True, xp_name="remainder",
)

fmod_p = primitive(
    "fmod", lambda xp, x, y: native(xp, "fmod")(x, y),
    # x - trunc(x / y) * y (C's fmod: the result has the sign of x).
    lambda g, x, y: (g if needs(x) else None,
                     -g * P.trunc(x / y) if needs(y) else None),
    grad_name="Fmod", elementwise=True,
)


# -- nan_to_num ---------------------------------------------------------------------
def _nan_to_num_impl(xp, x, nan, posinf, neginf):
    return native(xp, "nan_to_num")(x, nan=nan, posinf=posinf, neginf=neginf)


def _nan_to_num_vjp(g, x, nan, posinf, neginf):
    # Replaced entries are constants: the gradient flows only where x was finite. A
    # complex x has its real and imaginary parts replaced separately (NumPy, JAX), so
    # each part of the cotangent flows where that part was finite.
    if not is_complex(x):
        return (P.where(P.isfinite(x), g, 0.0),)
    re = P.where(P.isfinite(P.real(x)), P.real(g), 0.0)
    return (re + 1j * P.where(P.isfinite(P.imag(x)), P.imag(g), 0.0),)


nan_to_num_p = primitive("nan_to_num", _nan_to_num_impl, _nan_to_num_vjp,
                         grad_name="NanToNum", elementwise=True)

# -- complex parts (JAX's transposes: real -> g, imag -> -1j * g, conj -> conj(g)) -----
real_p = primitive("real", lambda xp, x: xp.real(x) if is_complex(x) else x,
                   lambda g, x: (g,), grad_name="Real", elementwise=True)
imag_p = primitive(
    "imag", lambda xp, x: xp.imag(x) if is_complex(x) else xp.zeros_like(x),
    lambda g, x: (g * -1j if is_complex(x) else None,), grad_name="Imag", elementwise=True,
)
conj_p = primitive("conj", lambda xp, x: xp.conj(x) if is_complex(x) else x,
                   lambda g, x: (P.conj(g),), grad_name="Conj", elementwise=True)

# -- zero almost everywhere: no gradient (their outputs never require grad) ---------
floor_p = _unary("floor", "floor", None, numexpr="floor({0})", doc="Elementwise floor.")
ceil_p = _unary("ceil", "ceil", None, numexpr="ceil({0})", doc="Elementwise ceiling.")
trunc_p = _unary("trunc", "trunc", None, doc="Elementwise truncation toward zero.")
signbit_p = _unary("signbit", "signbit", None, doc="Elementwise sign bit (bool).")
isnan_p = _unary("isnan", "isnan", None, doc="Elementwise test for NaN (bool).")
isinf_p = _unary("isinf", "isinf", None, doc="Elementwise test for infinity (bool).")
isfinite_p = _unary("isfinite", "isfinite", None,
                    doc="Elementwise test for finite values (bool).")


def _round_impl(xp, x, decimals):
    if decimals == 0:
        return xp.round(x)
    if xp is np or "cupy" in xp.__name__:
        return xp.round(x, decimals=decimals)
    if not is_floating(x.dtype):
        raise NotImplementedError(
            f"round: decimals= on integers needs NumPy's round, which the {xp.__name__} "
            "namespace does not provide; use NumPy or CuPy arrays for this operation")
    # The array API's round has no decimals: scale, round and unscale, as NumPy does.
    f = 10.0 ** abs(decimals)
    return xp.round(x * f) / f if decimals > 0 else xp.round(x / f) * f


round_p = primitive("round", _round_impl, None, elementwise=True)


def _as_float(x, op: str, complex_ok: bool = False):
    """Integer and bool ``x`` in the floating dtype NumPy's floating-point ufuncs
    compute them in (float16 for 8 bits, float32 for 16, float64 above); a complex
    ``x`` refused unless ``complex_ok``, as NumPy refuses it."""
    if isinstance(x, (bool, int)):  # Python numbers: as NumPy reads them (bool, int64)
        x = np.asarray(x)
    dtype = getattr(x, "dtype", None)
    kind = dtype_kind(dtype) if dtype is not None else "c" if isinstance(x, complex) else ""
    if kind == "c" and not complex_ok:
        raise TypeError(f"{op}: not supported for {dtype or 'a Python complex'}; expected "
                        "real operands")
    if kind in ("b", "i", "u"):
        return P.astype(x, np.result_type(np.dtype(dtype_name(dtype)), np.float16))
    return x
floor_divide_p = primitive("floor_divide", lambda xp, x, y: xp.floor_divide(x, y), None,
                           elementwise=True, xp_name="floor_divide")

arccos = _public(arccos_p)
arcsinh = _public(arcsinh_p)
arccosh = _public(arccosh_p)
arctanh = _public(arctanh_p)
log2 = _public(log2_p)
log10 = _public(log10_p)
floor = _public(floor_p)
ceil = _public(ceil_p)
trunc = _public(trunc_p)
fix = trunc
signbit = _public(signbit_p)
isnan = _public(isnan_p)
isinf = _public(isinf_p)
isfinite = _public(isfinite_p)


def exp2(x):
    """Elementwise ``2**x``."""
    return exp2_p.bind(x)


def cbrt(x):
    """Elementwise cube root (real); the gradient is infinite at 0."""
    return cbrt_p.bind(x)


def sinc(x):
    """Normalised sinc, ``sin(pi x) / (pi x)`` with ``sinc(0) = 1``.

    First and second derivatives are exact at 0 (``0`` and ``-pi**2 / 3``); higher
    orders at exactly 0 are not.
    """
    return sinc_p.bind(x)


def hypot(x, y):
    """Elementwise ``sqrt(x**2 + y**2)`` without overflow.

    At the origin each argument gets half of the gradient (``jax.numpy.hypot`` does
    the same); elsewhere the gradient is ``(x, y) / hypot(x, y)``.
    """
    return hypot_p.bind(x, y)


def logaddexp2(x, y):
    """Elementwise ``log2(2**x + 2**y)``, computed stably."""
    return logaddexp2_p.bind(x, y)


def remainder(x, y):
    """Elementwise remainder with the sign of ``y`` (NumPy's ``mod``).

    Gradients: ``1`` for ``x`` and ``-floor(x / y)`` for ``y``; undefined at the jumps
    (where ``x / y`` is an integer).
    """
    return remainder_p.bind(x, y)


mod = remainder


def fmod(x, y):
    """Elementwise C remainder (sign of ``x``); ``y`` gets ``-trunc(x / y)``."""
    return fmod_p.bind(x, y)


def floor_divide(x, y):
    """Elementwise ``x // y`` (no gradient)."""
    return floor_divide_p.bind(x, y)


def round(x, decimals: int = 0):  # noqa: A001  (NumPy's name)
    """Round half to even to ``decimals`` places (no gradient)."""
    return round_p.bind(x, decimals=int(decimals))


def rint(x):
    """Round half to even to the nearest integer (no gradient); integer and bool
    inputs give floats, as NumPy's ``rint``."""
    return round_p.bind(_as_float(x, "rint", complex_ok=True), decimals=0)


def nan_to_num(x, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """Replace NaN and infinities by finite numbers; they get no gradient."""
    return nan_to_num_p.bind(x, nan=nan, posinf=posinf, neginf=neginf)


def real(x):
    """Real part (``x`` itself for real input)."""
    return real_p.bind(x)


def imag(x):
    """Imaginary part (zeros for real input)."""
    return imag_p.bind(x)


def conj(x):
    """Complex conjugate (``x`` itself for real input; bools become int8, as NumPy)."""
    if isinstance(x, bool):
        x = np.asarray(x)
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype_kind(dtype) == "b":
        x = P.astype(x, "int8")
    return conj_p.bind(x)


conjugate = conj


# -- compositions -------------------------------------------------------------------
def reciprocal(x):
    """Elementwise ``1 / x``. On integers it is NumPy's integer reciprocal (C division
    ``1 / x``: 1 and -1 are their own reciprocals, other non-zero values give 0; bools
    become int8); the reciprocal of an integer 0 is left to the platform by NumPy and
    is 0 here."""
    if isinstance(x, (bool, int)):
        x = np.asarray(x)
    dtype = getattr(x, "dtype", None)
    kind = dtype_kind(dtype) if dtype is not None else ""
    if kind in ("b", "i", "u"):
        if kind == "b":
            x = P.astype(x, "int8")
        return P.where(P.equal(P.abs(x), 1), x, 0)
    return P.divide(1.0, x)


def deg2rad(x):
    """Degrees to radians (``x * pi / 180``; integers computed in NumPy's float)."""
    return P.multiply(_as_float(x, "deg2rad"), math.pi / 180.0)


def rad2deg(x):
    """Radians to degrees (``x * 180 / pi``; integers computed in NumPy's float)."""
    return P.multiply(_as_float(x, "rad2deg"), 180.0 / math.pi)


radians = deg2rad
degrees = rad2deg


def fabs(x):
    """Elementwise absolute value of real input (gradient +1 at 0, as ``abs``);
    integers give floats, as NumPy's ``fabs``."""
    return P.abs(_as_float(x, "fabs"))


def positive(x):
    """Elementwise ``+x`` (the same tensor); refused for bools, as NumPy does."""
    dtype = getattr(x, "dtype", None)
    if isinstance(x, bool) or (dtype is not None and dtype_kind(dtype) == "b"):
        raise TypeError("positive: not supported for bool; expected a numeric operand")
    return x


def fmax(x, y):
    """Elementwise maximum ignoring NaN.

    Defined as ``jax.numpy.fmax`` is, ``where((x > y) | isnan(y), x, y)``, so ties
    send the whole gradient to ``y``.
    """
    return P.where(P.logical_or(P.greater(x, y), P.isnan(y)), x, y)


def fmin(x, y):
    """Elementwise minimum ignoring NaN (ties send the gradient to ``y``)."""
    return P.where(P.logical_or(P.less(x, y), P.isnan(y)), x, y)


def copysign(x, y):
    """``|x|`` with the sign of ``y``; ``y`` gets no gradient. Integer ``x`` gives a
    float result, as NumPy's ``copysign`` (a floating-point function) does."""
    _as_float(x, "copysign")
    _as_float(y, "copysign")
    # NumPy's own choice of loop for these operands (empty arrays of their dtypes).
    dtype = np.copysign(*(np.empty(0, dtype_name(v.dtype)) if hasattr(v, "dtype") else v
                          for v in (x, y))).dtype
    if getattr(x, "dtype", None) is None:
        x = np.asarray(x, dtype=dtype)
    elif np.dtype(dtype_name(x.dtype)) != dtype:
        x = P.astype(x, dtype)
    ax = P.abs(x)
    return P.where(P.signbit(y), P.negative(ax), ax)


def angle(z, deg: bool = False):
    """Argument of complex ``z`` (``arctan2(imag, real)``); NaN gradient at 0, as in JAX."""
    a = P.arctan2(P.imag(z), P.real(z))
    return rad2deg(a) if deg else a


def real_if_close(x, tol: float = 100):
    """The real part of complex ``x`` when every imaginary part is below ``tol``
    (in units of the dtype's machine epsilon when ``tol > 1``), else ``x`` unchanged.

    The test reads the values (under ``tg.compile`` it becomes a guard); the gradient
    is ``real``'s, so the discarded imaginary parts get none.
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not is_complex(x):
        return x
    if tol > 1:
        single = str(x.dtype).endswith("complex64")
        tol = tol * float(np.finfo(np.float32 if single else np.float64).eps)
    if bool(P.all(P.less(P.abs(P.imag(x)), tol))):
        return P.real(x)
    return x


# Array-API spellings.
acos, acosh, asinh, atanh = arccos, arccosh, arcsinh, arctanh
asin, atan, atan2, pow = P.arcsin, P.arctan, P.arctan2, P.power  # noqa: A001
