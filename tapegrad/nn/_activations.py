"""Activations and normalisations of ``tg.nn`` (elementwise ones fuse when compiled)."""


from __future__ import annotations

import math
from typing import Any

from .. import primitives as P
from ..tensor import Tensor

ArrayLike = Any  # a Tensor, a NumPy/CuPy array, or Python numbers


# -- activations ----------------------------------------------------------------------
def relu(x: ArrayLike) -> Tensor:
    """The rectified linear unit, ``max(x, 0)``.

    Parameters
    ----------
    x : Tensor or array-like
        Input.

    Returns
    -------
    Tensor
        ``x`` where it is positive, 0 elsewhere. The gradient at 0 is 0, as in PyTorch
        and JAX.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.relu(tg.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    return P.where(P.greater(x, 0), x, 0)


def softplus(x: ArrayLike, beta: float = 1.0, threshold: float | None = None) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, computed as ``logaddexp(beta * x, 0) / beta``.

    Parameters
    ----------
    x : Tensor or array-like
        Input.
    beta : float
        Sharpness (PyTorch's ``beta``); 1 gives ``jax.nn.softplus``.
    threshold : float, optional
        Above ``beta * x > threshold`` return ``x`` itself, as PyTorch does (its default
        is 20). None (the default) computes the exact value everywhere, as JAX does.

    Returns
    -------
    Tensor
        Finite for every finite input (``softplus(50) == 50``, ``softplus(-50)`` is
        about ``2e-22``).

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.softplus(tg.tensor([-50.0, 0.0, 50.0]))
    tensor([1.9287e-22, 6.9315e-01, 5.0000e+01])
    """
    bx = x if beta == 1.0 else P.multiply(x, beta)
    out = P.logaddexp(bx, 0.0)
    if beta != 1.0:
        out = P.divide(out, beta)
    if threshold is not None:
        out = P.where(P.greater(bx, threshold), x, out)
    return out


def log_sigmoid(x: ArrayLike) -> Tensor:
    """``log(sigmoid(x))``, computed as ``-softplus(-x)`` (finite for every finite input).

    Parameters
    ----------
    x : Tensor or array-like
        Input.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.log_sigmoid(tg.tensor([-50.0, 0.0]))
    tensor([-50.0000,  -0.6931])
    """
    return P.negative(P.logaddexp(P.negative(x), 0.0))


def sigmoid(x: ArrayLike) -> Tensor:
    """The logistic function ``1 / (1 + exp(-x))``.

    Computed as ``exp(log_sigmoid(x))``, so that neither tail overflows and small
    values keep their relative precision (``sigmoid(-50)`` is about ``2e-22``, not 0).

    Parameters
    ----------
    x : Tensor or array-like
        Input.

    Returns
    -------
    Tensor
        Values in [0, 1].

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.sigmoid(tg.tensor([-2.0, 0.0, 2.0]))
    tensor([0.1192, 0.5000, 0.8808])
    """
    return P.exp(log_sigmoid(x))


def silu(x: ArrayLike) -> Tensor:
    """The sigmoid linear unit (swish), ``x * sigmoid(x)``.

    Parameters
    ----------
    x : Tensor or array-like
        Input.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.silu(tg.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.2689,  0.0000,  0.7311])
    """
    return P.multiply(x, sigmoid(x))


# Chebyshev coefficients of log(erfc(z) / t) + z**2 in ty = 4 t - 2, t = 2 / (2 + z), for
# z >= 0 (Numerical Recipes, 3rd edition, section 6.2.2): erfc to about 1e-16 relative.
_ERFC_COF = (-1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2,
             -9.561514786808631e-3, -9.46595344482036e-4, 3.66839497852761e-4,
             4.2523324806907e-5, -2.0278578112534e-5, -1.624290004647e-6,
             1.303655835580e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9,
             5.059343495e-9, -9.91364156e-10, -2.27365122e-10, 9.6467911e-11,
             2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13, -1.12708e-13,
             3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17)


def _erfc_nonneg(z: Tensor) -> Tensor:
    """erfc(z) for z >= 0 from tapegrad operations (NumPy has no erf)."""
    t = P.divide(2.0, P.add(z, 2.0))
    ty = P.subtract(P.multiply(t, 4.0), 2.0)
    d: Any = 0.0
    dd: Any = 0.0
    for c in _ERFC_COF[:0:-1]:
        d, dd = P.add(P.subtract(P.multiply(ty, d), dd), c), d
    inner = P.add(P.multiply(P.add(P.multiply(ty, d), _ERFC_COF[0]), 0.5), P.negative(dd))
    return P.multiply(t, P.exp(P.subtract(inner, P.square(z))))


def gelu(x: ArrayLike, approximate: str | bool = "none") -> Tensor:
    """The Gaussian error linear unit, ``x * Phi(x)``.

    Parameters
    ----------
    x : Tensor or array-like
        Input.
    approximate : {"none", "tanh"} or bool
        ``"none"`` (the default, as PyTorch): the exact ``0.5 x (1 + erf(x / sqrt(2)))``.
        ``"tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))``. ``True`` and
        ``False`` mean ``"tanh"`` and ``"none"``, as in ``jax.nn.gelu`` (whose default
        is the approximation).

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.gelu(tg.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    >>> tg.nn.gelu(tg.tensor([-1.0, 0.0, 1.0]), approximate="tanh")
    tensor([-0.1588,  0.0000,  0.8412])
    """
    if approximate is True or approximate == "tanh":
        inner = P.multiply(P.add(x, P.multiply(P.power(x, 3), 0.044715)),
                           math.sqrt(2.0 / math.pi))
        return P.multiply(P.multiply(x, 0.5), P.add(P.tanh(inner), 1.0))
    if approximate is not False and approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    # erfc of |x| / sqrt(2) on both sides: no cancellation in either tail.
    e = _erfc_nonneg(P.multiply(P.abs(x), 1.0 / math.sqrt(2.0)))
    half = P.multiply(P.multiply(x, 0.5), e)
    return P.where(P.greater_equal(x, 0), P.subtract(x, half), half)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Parameters
    ----------
    x : Tensor or array-like
        Input.
    negative_slope : float
        The slope for negative inputs (PyTorch's default, 0.01; JAX's is also 0.01).

    Returns
    -------
    Tensor
        The gradient at 0 is ``negative_slope``, as in PyTorch.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.leaky_relu(tg.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2000,  3.0000])
    """
    return P.where(P.greater(x, 0), x, P.multiply(x, negative_slope))


def elu(x: ArrayLike, alpha: float = 1.0) -> Tensor:
    """The exponential linear unit: ``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    Parameters
    ----------
    x : Tensor or array-like
        Input.
    alpha : float
        The value approached as ``x`` goes to minus infinity is ``-alpha``.

    Returns
    -------
    Tensor
        The exponential only ever sees non-positive values, so large inputs neither
        overflow nor give a ``nan`` gradient.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.elu(tg.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    pos = P.greater(x, 0)
    neg = P.multiply(P.expm1(P.where(pos, 0.0, x)), alpha)
    return P.where(pos, x, neg)


# -- normalisations -------------------------------------------------------------------
def _axis(axis: int | None, dim: int | None, what: str) -> int | None:
    if dim is not None:
        if axis is not None and axis != -1 and axis != dim:
            raise TypeError(f"{what}: give axis or dim (PyTorch's name), not both")
        return dim
    return axis


def log_softmax(x: ArrayLike, axis: int | None = -1, *, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x)`` along ``axis``: log-probabilities from logits.

    Parameters
    ----------
    x : Tensor or array-like
        Logits.
    axis : int or None
        The axis to normalise over (the last by default, as ``jax.nn.log_softmax``);
        None normalises over all elements.
    dim : int, optional
        PyTorch's name for ``axis``.

    Returns
    -------
    Tensor
        Shaped like ``x``; ``exp`` of it sums to 1 along ``axis``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.log_softmax(tg.tensor([0.0, 50.0]))
    tensor([-50.,   0.])
    """
    axis = _axis(axis, dim, "log_softmax")
    return P.subtract(x, P.logsumexp(x, axis=axis, keepdims=True))


def softmax(x: ArrayLike, axis: int | None = -1, *, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed as ``exp(log_softmax(x))``.

    Parameters
    ----------
    x : Tensor or array-like
        Logits.
    axis : int or None
        The axis to normalise over (the last by default); None: all elements.
    dim : int, optional
        PyTorch's name for ``axis``.

    Returns
    -------
    Tensor
        Shaped like ``x``, non-negative, summing to 1 along ``axis``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.softmax(tg.tensor([[1.0, 1.0], [0.0, 50.0]]))
    tensor([[5.0000e-01, 5.0000e-01],
            [1.9287e-22, 1.0000e+00]])
    """
    return P.exp(log_softmax(x, _axis(axis, dim, "softmax")))
