"""Labels and losses of ``tg.nn``: one_hot, cross_entropy, binary cross-entropy, MSE."""


from __future__ import annotations

from typing import Any

import numpy as np

from .. import _config
from .. import primitives as P
from ..backend import backend_of, dtype_kind
from ..tensor import Tensor
from ._activations import log_softmax

ArrayLike = Any  # a Tensor, a NumPy/CuPy array, or Python numbers


# -- labels ---------------------------------------------------------------------------
def _data(x: ArrayLike) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _array(x: ArrayLike) -> Any:
    """A tensor or array as it is; Python numbers and lists as a NumPy array."""
    return x if isinstance(x, Tensor) or backend_of(x) is not None else np.asarray(x)


def _integer_labels(labels: ArrayLike, num_classes: int, what: str) -> ArrayLike:
    """``labels`` checked to be integers in [0, num_classes)."""
    labels = _array(labels)
    kind = dtype_kind(labels.dtype)
    if kind not in "iu":
        raise TypeError(f"{what}: labels must be integers, got dtype {labels.dtype}")
    if _size(labels):
        # Under tg.compile, this read becomes a guard of the program (re-checked on
        # every call), not a constant.
        low, high = P.min(labels), P.max(labels)
        if bool(P.less(low, 0)) or bool(P.greater_equal(high, num_classes)):
            raise ValueError(f"{what}: labels must be integers in [0, {num_classes}), got "
                             f"values from {int(low)} to {int(high)}")
    return labels


def _size(x: ArrayLike) -> int:
    return int(np.prod(_data(x).shape, dtype=np.int64))


def one_hot(labels: ArrayLike, num_classes: int | None = None, *, dtype: Any = None,
            axis: int = -1) -> Tensor:
    """One-hot encoding of integer labels, as ``jax.nn.one_hot``.

    Parameters
    ----------
    labels : Tensor or array-like of ints
        Class indices in ``[0, num_classes)``.
    num_classes : int, optional
        Number of classes; by default ``labels.max() + 1`` (as PyTorch's ``-1``), which
        reads the labels' values.
    dtype : dtype-like, optional
        The result's dtype: the default floating dtype unless given (PyTorch returns
        int64; pass ``dtype="int64"`` for that).
    axis : int
        Where the new class axis goes (the last by default).

    Returns
    -------
    Tensor
        Shape ``labels.shape`` with ``num_classes`` inserted at ``axis``.

    Raises
    ------
    ValueError
        When a label is negative or not below ``num_classes``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.one_hot([0, 2], 3)
    tensor([[1., 0., 0.],
            [0., 0., 1.]])
    """
    if num_classes is None:
        lab = _integer_labels(labels, 2**62, "one_hot")
        num_classes = int(P.max(lab)) + 1 if _size(lab) else 0
    elif not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be a non-negative int, got "
                         f"{num_classes!r}")
    lab = _integer_labels(labels, int(num_classes), "one_hot")
    hot = P.equal(P.expand_dims(lab, -1), P.arange(int(num_classes)))
    out = P.astype(hot, dtype if dtype is not None else _config.get_default_dtype())
    if axis != -1 and axis != out.ndim - 1:
        out = P.moveaxis(out, -1, axis)
    return out


# -- losses ---------------------------------------------------------------------------
_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, what: str) -> Tensor:
    if reduction == "mean":
        return P.mean(loss)
    if reduction == "sum":
        return P.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy(logits: ArrayLike, labels: ArrayLike, *, axis: int = -1,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits against integer labels or class probabilities.

    PyTorch's ``F.cross_entropy`` (without ``weight`` and ``ignore_index``) and optax's
    ``softmax_cross_entropy`` / ``softmax_cross_entropy_with_integer_labels``, computed
    from ``log_softmax`` so that no logit overflows.

    Parameters
    ----------
    logits : Tensor or array-like
        Unnormalised scores, classes along ``axis``.
    labels : Tensor or array-like
        Integer class indices, shaped like ``logits`` without ``axis``; or
        floating-point class probabilities, shaped like ``logits``.
    axis : int
        The class axis: the last by default (optax's layout; for PyTorch's
        ``(N, C, d1, ...)`` layout pass ``axis=1``; for 2-d logits the two agree).
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages over the examples (every position except the class axis),
        ``"none"`` returns one loss per example.
    label_smoothing : float
        In [0, 1]: the target becomes ``(1 - label_smoothing) * target +
        label_smoothing / num_classes``, as in PyTorch.

    Returns
    -------
    Tensor
        A scalar, or the per-example losses for ``reduction="none"``.

    Raises
    ------
    ValueError
        For labels outside ``[0, num_classes)``, shapes that do not fit, an unknown
        reduction or a smoothing outside [0, 1].

    Examples
    --------
    >>> import tapegrad as tg
    >>> logits = tg.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    >>> tg.nn.cross_entropy(logits, [0, 2], reduction="none")
    tensor([0.2413, 0.0949])
    >>> tg.nn.cross_entropy(logits, [0, 2], label_smoothing=0.1)
    tensor(0.3431)
    """
    what = "cross_entropy"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing}")
    logits = _array(logits)
    if logits.ndim == 0:
        raise ValueError(f"{what}: logits must have a class axis, got a 0-d tensor")
    ax = axis % logits.ndim
    num_classes = logits.shape[ax]
    logp = log_softmax(logits, ax)
    labels = _array(labels)
    if dtype_kind(labels.dtype) in "iu":
        want = logits.shape[:ax] + logits.shape[ax + 1:]
        if tuple(labels.shape) != want:
            raise ValueError(f"{what}: integer labels must have shape {want} (the logits' "
                             f"{logits.shape} without axis {axis}), got {tuple(labels.shape)}")
        labels = _integer_labels(labels, num_classes, what)
        # A one-hot mask rather than take_along_axis: an index would be read as a value
        # (a guard, and a recompile for every new batch of labels, under tg.compile);
        # the mask is one more elementwise operation, fused with the rest.
        classes = P.reshape(P.arange(num_classes), (num_classes,) + (1,) * (logp.ndim - ax - 1))
        hot = P.astype(P.equal(P.expand_dims(labels, ax), classes), logp.dtype)
        nll = P.negative(P.sum(P.multiply(hot, logp), axis=ax))
        if label_smoothing:
            smooth = P.negative(P.mean(logp, axis=ax))
            nll = P.add(P.multiply(nll, 1.0 - label_smoothing),
                        P.multiply(smooth, label_smoothing))
    else:
        if tuple(labels.shape) != tuple(logits.shape):
            raise ValueError(f"{what}: probability labels must have the logits' shape "
                             f"{logits.shape}, got {tuple(labels.shape)}")
        target = labels
        if label_smoothing:
            target = P.add(P.multiply(target, 1.0 - label_smoothing),
                           label_smoothing / num_classes)
        nll = P.negative(P.sum(P.multiply(target, logp), axis=ax))
    return _reduce(nll, reduction, what)


def binary_cross_entropy_with_logits(logits: ArrayLike, targets: ArrayLike, *,
                                     weight: ArrayLike | None = None,
                                     pos_weight: ArrayLike | None = None,
                                     reduction: str = "mean") -> Tensor:
    """Sigmoid cross-entropy, ``-(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))``.

    As PyTorch's ``F.binary_cross_entropy_with_logits`` (and optax's
    ``sigmoid_binary_cross_entropy``): computed as ``(1 - y) x + softplus(-x)``, so a
    logit of ±50 gives a finite loss and gradient.

    Parameters
    ----------
    logits : Tensor or array-like
        Unnormalised scores.
    targets : Tensor or array-like
        Probabilities in [0, 1], broadcastable against ``logits``.
    weight : Tensor or array-like, optional
        Multiplies each element's loss.
    pos_weight : Tensor or array-like, optional
        Multiplies the positive term ``y log sigmoid(x)`` (per class, broadcast).
    reduction : {"mean", "sum", "none"}
        How to reduce the elementwise losses.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.binary_cross_entropy_with_logits(tg.tensor([2.0, -1.0]), tg.tensor([1.0, 0.0]))
    tensor(0.2201)
    """
    what = "binary_cross_entropy_with_logits"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    sp = P.logaddexp(P.negative(logits), 0.0)  # softplus(-x) = -log sigmoid(x)
    if pos_weight is not None:
        sp = P.multiply(sp, P.add(P.multiply(targets, P.subtract(pos_weight, 1.0)), 1.0))
    loss = P.add(P.multiply(P.subtract(1.0, targets), logits), sp)
    if weight is not None:
        loss = P.multiply(loss, weight)
    return _reduce(loss, reduction, what)


def mse_loss(input: ArrayLike, target: ArrayLike, *, reduction: str = "mean") -> Tensor:
    """The squared error ``(input - target) ** 2``, averaged by default.

    Parameters
    ----------
    input : Tensor or array-like
        Predictions.
    target : Tensor or array-like
        Targets, broadcastable against ``input``.
    reduction : {"mean", "sum", "none"}
        How to reduce the elementwise errors.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.nn.mse_loss(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 0.0]))
    tensor(2.5000)
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    return _reduce(P.square(P.subtract(input, target)), reduction, "mse_loss")
