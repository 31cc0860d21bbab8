"""``tg.fft``: NumPy's ``fft`` namespace, differentiable.

``fft``, ``ifft``, ``rfft`` and ``irfft`` are primitives
(:mod:`tapegrad.primitives.fft`); the 2-D and n-D transforms apply them one axis at a
time, the Hermitian transforms ``hfft``/``ihfft`` are ``irfft``/``rfft`` of the conjugate
(as NumPy computes them), and the shifts are rolls.
"""

from __future__ import annotations

import numpy as np

import tapegrad.primitives as P

from .primitives._native import is_complex
from .primitives._util import shape_of
from .primitives.fft import fft, ifft, irfft, rfft
from .tensor import Tensor

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn",
    "ifftshift", "ihfft", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
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


# The Hermitian pair swaps the direction of the normalisation, as NumPy does.
_SWAPPED_NORM = {None: "forward", "backward": "forward", "ortho": "ortho",
                 "forward": "backward"}


def _swapped(norm, op: str) -> str:
    if norm not in _SWAPPED_NORM:
        raise ValueError(f"{op}: invalid norm {norm!r}; use one of "
                         "('backward', 'ortho', 'forward')")
    return _SWAPPED_NORM[norm]


def hfft(x, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Transform of a Hermitian-symmetric signal given by its first half: real output
    of length ``n`` (``2 * (m - 1)`` by default). Computed as ``irfft(conj(x))`` with the
    opposite normalisation, so the gradient follows ``irfft``'s (the imaginary parts of
    the zero and Nyquist terms get none)."""
    return irfft(P.conj(x), n, axis, _swapped(norm, "hfft"))


def ihfft(x, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Inverse of :func:`hfft` for real input: ``conj(rfft(x))`` with the opposite
    normalisation (``n // 2 + 1`` outputs)."""
    if is_complex(x):
        raise TypeError("ihfft: input must be real")
    return P.conj(rfft(x, n, axis, _swapped(norm, "ihfft")))


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


def _freq(fn, n: int, d: float, dtype, device, op: str) -> Tensor:
    from .primitives.create import _dtype, _placed

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{op}: n must be a positive integer, got {n!r}")
    dt = _dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"{op}: dtype must be a real floating-point dtype, got {dt}")
    return Tensor(_placed(fn(int(n), d).astype(dt, copy=False), device, op))


def fftfreq(n: int, /, d: float = 1.0, *, dtype=None, device=None) -> Tensor:
    """Sample frequencies of :func:`fft` (a constant).

    Parameters
    ----------
    n : int
        The window length.
    d : float
        The sample spacing.
    dtype : dtype, optional
        A real floating-point dtype; the default float dtype unless given.
    device : optional
        Where to create it (``"cpu"`` by default).
    """
    return _freq(np.fft.fftfreq, n, d, dtype, device, "fftfreq")


def rfftfreq(n: int, /, d: float = 1.0, *, dtype=None, device=None) -> Tensor:
    """Sample frequencies of :func:`rfft` (a constant; ``n // 2 + 1`` of them).

    Parameters are those of :func:`fftfreq`.
    """
    return _freq(np.fft.rfftfreq, n, d, dtype, device, "rfftfreq")
