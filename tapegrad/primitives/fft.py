"""Discrete Fourier transforms (``tg.fft``): ``fft``, ``ifft``, ``rfft``, ``irfft`` are
primitives; the 2-D and n-D transforms apply them one axis at a time, as NumPy does.

The transforms are linear, so each VJP is the transposed transform (JAX's convention:
transposed, not conjugated). The DFT matrix is symmetric, so ``fft``'s transpose is
``fft`` itself with the same ``norm``; zero-padding (``n`` larger than the input) and
cropping transpose into each other. A real input gets the real part of its cotangent.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from ..backend import NUMPY, backend_of, dtype_name, namespace_dtype
from ..primitive import primitive
from ._native import is_complex
from ._util import data_of, norm_axis, shape_of

__all__: list[str] = []  # exported through tapegrad.fft

_NORMS = ("backward", "ortho", "forward")


def _resize(x, axis: int, length: int):
    """Crop or zero-pad ``x`` along ``axis`` to ``length`` (what ``n=`` does to inputs)."""
    shp = shape_of(x)
    have = shp[axis]
    if have == length:
        return x
    if have > length:
        return P.getitem(x, (slice(None),) * axis + (slice(0, length),))
    widths = [(0, 0)] * len(shp)
    widths[axis] = (0, length - have)
    return P.pad(x, widths)


def _like_input(gx, x, axis):
    gx = _resize(gx, axis, shape_of(x)[axis])
    return gx if is_complex(x) else P.real(gx)


def _fft_vjp(g, x, n, axis, norm):
    return (_like_input(fft_p.bind(g, n=n, axis=axis, norm=norm), x, axis),)


def _ifft_vjp(g, x, n, axis, norm):
    return (_like_input(ifft_p.bind(g, n=n, axis=axis, norm=norm), x, axis),)


def _rfft_vjp(g, x, n, axis, norm):
    # rfft keeps the first n // 2 + 1 outputs of fft: pad them back with zeros.
    full = fft_p.bind(_resize(g, axis, n), n=n, axis=axis, norm=norm)
    return (_like_input(full, x, axis),)


def _irfft_vjp(g, x, n, axis, norm):
    # irfft(X)_j = s * sum_k c_k Re(X_k e^{2 pi i jk/n}) with c = 1 for k = 0 (and n/2
    # when n is even), 2 otherwise, so X_k gets c_k * ifft(g)_k (same scale s).
    m = n // 2 + 1
    xp = (backend_of(data_of(g)) or NUMPY).xp
    c = xp.full((m,), 2.0, dtype=data_of(g).dtype, device=data_of(g).device)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    c = xp.reshape(c, (m,) + (1,) * (len(shape_of(g)) - 1 - axis))
    gx = _resize(ifft_p.bind(g, n=n, axis=axis, norm=norm), axis, m) * c
    return (_resize(gx, axis, shape_of(x)[axis]),)


def _complex_input(xp, x):
    """Real ``x`` as complex: NumPy and CuPy accept real input to ``fft``, ``ifft`` and
    ``irfft``, the array API wants it complex (the same precision, the same result)."""
    if xp is np or is_complex(x):
        return x
    return xp.astype(x, namespace_dtype(xp, "complex64" if dtype_name(x.dtype) == "float32"
                                        else "complex128"))


def _impl(name):
    def impl(xp, x, n, axis, norm):
        if name != "rfft":
            x = _complex_input(xp, x)
        return getattr(xp.fft, name)(x, n=n, axis=axis, norm=norm)

    return impl


fft_p = primitive("fft", _impl("fft"), _fft_vjp, grad_name="Fft")
ifft_p = primitive("ifft", _impl("ifft"), _ifft_vjp, grad_name="Ifft")
rfft_p = primitive("rfft", _impl("rfft"), _rfft_vjp, grad_name="Rfft")
irfft_p = primitive("irfft", _impl("irfft"), _irfft_vjp, grad_name="Irfft")


def _params(x, n, axis, norm, op, real_out=False):
    nd = len(shape_of(x))
    axis = norm_axis(axis, nd, op)[0]
    if norm is None:
        norm = "backward"
    if norm not in _NORMS:
        raise ValueError(f"{op}: invalid norm {norm!r}; use one of {_NORMS}")
    if n is None:
        n = 2 * (shape_of(x)[axis] - 1) if real_out else shape_of(x)[axis]
    if n < 1:
        raise ValueError(f"{op}: invalid number of data points ({n}) specified")
    return {"n": int(n), "axis": axis, "norm": norm}


def fft(x, n: int | None = None, axis: int = -1, norm: str | None = None):
    """One-dimensional discrete Fourier transform along ``axis``."""
    return fft_p.bind(x, **_params(x, n, axis, norm, "fft"))


def ifft(x, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Inverse of :func:`fft`."""
    return ifft_p.bind(x, **_params(x, n, axis, norm, "ifft"))


def rfft(x, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Transform of real input: the ``n // 2 + 1`` non-negative frequencies."""
    if is_complex(x):
        raise TypeError("rfft: input must be real")
    return rfft_p.bind(x, **_params(x, n, axis, norm, "rfft"))


def irfft(x, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Inverse of :func:`rfft`: real output of length ``n`` (``2 * (m - 1)`` by default).

    Like NumPy, it ignores the imaginary parts of the zero (and, for even ``n``, the
    Nyquist) frequency, so those get no gradient.
    """
    return irfft_p.bind(x, **_params(x, n, axis, norm, "irfft", real_out=True))
