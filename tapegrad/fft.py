"""``tg.fft``: NumPy's ``fft`` namespace, differentiable.

``fft``, ``ifft``, ``rfft`` and ``irfft`` are primitives
(:mod:`tapegrad.primitives.fft`); the 2-D and n-D transforms apply them one axis at a
time, and the shifts are rolls.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from .primitives._util import shape_of
from .primitives.fft import fft, ifft, irfft, rfft
from .tensor import Tensor

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn", "ifftshift",
    "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]


def _axes_and_sizes(x, s, axes):
    nd = len(shape_of(x))
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    axes = tuple(a % nd for a in axes)
    if s is None:
        s = [None] * len(axes)
    if len(s) != len(axes):
        raise ValueError("fftn: shape and axes have different lengths")
    return axes, list(s)


def fftn(x, s=None, axes=None, norm: str | None = None):
    """N-dimensional transform over ``axes`` (all by default)."""
    axes, s = _axes_and_sizes(x, s, axes)
    for a, n in zip(axes, s):
        x = fft(x, n, a, norm)
    return x


def ifftn(x, s=None, axes=None, norm: str | None = None):
    """Inverse of :func:`fftn`."""
    axes, s = _axes_and_sizes(x, s, axes)
    for a, n in zip(axes, s):
        x = ifft(x, n, a, norm)
    return x


def rfftn(x, s=None, axes=None, norm: str | None = None):
    """Real-input n-D transform: ``rfft`` over the last axis, ``fft`` over the others."""
    axes, s = _axes_and_sizes(x, s, axes)
    x = rfft(x, s[-1], axes[-1], norm)
    for a, n in zip(axes[:-1], s[:-1]):
        x = fft(x, n, a, norm)
    return x


def irfftn(x, s=None, axes=None, norm: str | None = None):
    """Inverse of :func:`rfftn`."""
    axes, s = _axes_and_sizes(x, s, axes)
    for a, n in zip(axes[:-1], s[:-1]):
        x = ifft(x, n, a, norm)
    return irfft(x, s[-1], axes[-1], norm)


def fft2(x, s=None, axes=(-2, -1), norm: str | None = None):
    """2-D transform over the last two axes."""
    return fftn(x, s, axes, norm)


def ifft2(x, s=None, axes=(-2, -1), norm: str | None = None):
    """Inverse of :func:`fft2`."""
    return ifftn(x, s, axes, norm)


def rfft2(x, s=None, axes=(-2, -1), norm: str | None = None):
    """2-D transform of real input."""
    return rfftn(x, s, axes, norm)


def irfft2(x, s=None, axes=(-2, -1), norm: str | None = None):
    """Inverse of :func:`rfft2`."""
    return irfftn(x, s, axes, norm)


def _shift(x, axes, sign):
    nd = len(shape_of(x))
    axes = tuple(range(nd)) if axes is None else (axes,) if isinstance(axes, int) else axes
    shifts = tuple(sign * (shape_of(x)[a] // 2) for a in axes)
    return P.roll(x, shifts, tuple(axes))


def fftshift(x, axes=None):
    """Move the zero frequency to the centre."""
    return _shift(x, axes, 1)


def ifftshift(x, axes=None):
    """Inverse of :func:`fftshift`."""
    return _shift(x, axes, -1)


def fftfreq(n: int, d: float = 1.0) -> Tensor:
    """Sample frequencies of :func:`fft` (a constant)."""
    return Tensor(np.fft.fftfreq(n, d))


def rfftfreq(n: int, d: float = 1.0) -> Tensor:
    """Sample frequencies of :func:`rfft` (a constant)."""
    return Tensor(np.fft.rfftfreq(n, d))
