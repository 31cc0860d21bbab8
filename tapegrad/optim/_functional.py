"""Functional optimisers (optax style) over pytrees, with ``torch.optim``'s numerics.

An optimiser is a :class:`GradientTransformation`, a pair of pure functions: ``init``
makes the state from the parameters, ``update`` maps gradients (and the state, and the
parameters) to updates and a new state. Everything is computed with tapegrad
operations, so a training step built from them records like any other function: it can
be differentiated, and ``tg.compile`` turns the whole step into one program. The step
count lives in the state as a 0-d integer tensor, not a Python number, so that a
compiled step does not see a new constant (and recompile) on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import primitives as P
from ..backend import backend_of
from ..pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten
from ..tensor import Tensor

__all__ = ["GradientTransformation", "SGDState", "AdamState", "RMSpropState",
           "AdagradState", "sgd", "adam", "adamw", "rmsprop", "adagrad", "apply_updates"]

Schedule = Callable[[Tensor], Any]


class GradientTransformation(NamedTuple):
    """An optimiser as two pure functions (optax's ``GradientTransformation``).

    Attributes
    ----------
    init : callable
        ``init(params) -> state``.
    update : callable
        ``update(grads, state, params=None) -> (updates, state)``; add the updates to
        the parameters with :func:`apply_updates`.
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class SGDState(NamedTuple):
    """State of :func:`sgd`: the step count and the momentum buffers (None without)."""

    count: Any
    momentum: Any


class AdamState(NamedTuple):
    """State of :func:`adam` and :func:`adamw`: step count, first and second moments
    (and their running maximum with ``amsgrad``, else None)."""

    count: Any
    mu: Any
    nu: Any
    nu_max: Any


class RMSpropState(NamedTuple):
    """State of :func:`rmsprop`: step count, mean square, mean (``centered``) and
    momentum buffers (None where unused)."""

    count: Any
    nu: Any
    mu: Any
    momentum: Any


class AdagradState(NamedTuple):
    """State of :func:`adagrad`: the step count and the sums of squared gradients."""

    count: Any
    sum: Any


# -- helpers ----------------------------------------------------------------------------
def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _zeros_tree(params: Any, fill: float = 0.0) -> Any:
    def zeros(p: Any) -> Tensor:
        a = _data(p)
        if backend_of(a) is None:
            a = np.asarray(a)
        z = backend_of(a).xp.zeros_like(a)
        return Tensor(z + fill if fill else z)

    return tree_map(zeros, params)


def _count(params: Any) -> Tensor:
    leaves = tree_leaves(params)
    be = backend_of(_data(leaves[0])) if leaves else None
    xp = be.xp if be is not None else np
    return Tensor(xp.zeros((), dtype=xp.int64))


def _value(lr: float | Schedule, count: Tensor) -> Any:
    return lr(count) if callable(lr) else lr


def _as(x: Any, like: Any) -> Any:
    """``x`` (a Python number or a 0-d tensor) in the dtype of ``like``."""
    if isinstance(x, Tensor) and x.dtype != _data(like).dtype:
        return P.astype(x, _data(like).dtype)
    return x


def _scale(lr: Any, factor: float, like: Any) -> Any:
    """``lr * factor``: a Python number when ``lr`` is one (so that it stays weakly
    typed and a float32 parameter stays float32), else a 0-d tensor in ``like``'s dtype."""
    if isinstance(lr, Tensor):
        return _as(P.multiply(lr, factor), like)
    return lr * factor


def _map(fn: Callable[..., tuple], n_out: int, *trees: Any) -> tuple:
    """Map ``fn`` over matching leaves of ``trees``; ``n_out`` trees of its results."""
    leaves, treedef = tree_flatten(trees[0])
    rest = [tree_flatten(t)[0] if t is not None else [None] * len(leaves) for t in trees[1:]]
    outs = [fn(*xs) for xs in zip(leaves, *rest)]
    return tuple(tree_unflatten(treedef, [o[i] for o in outs]) for i in range(n_out))


def _check_params(params: Any, what: str, needed: bool) -> None:
    if needed and params is None:
        raise ValueError(f"{what}: update needs params (weight decay uses them); call "
                         "tx.update(grads, state, params)")


def _check_lr(lr: Any, what: str) -> None:
    if not callable(lr) and lr < 0:
        raise ValueError(f"{what}: learning_rate must be >= 0 or a schedule, got {lr}")


# -- the optimisers ---------------------------------------------------------------------
def sgd(learning_rate: float | Schedule, momentum: float = 0.0, dampening: float = 0.0,
        nesterov: bool = False, weight_decay: float = 0.0) -> GradientTransformation:
    """Stochastic gradient descent, as :class:`tapegrad.optim.SGD`, in functional form.

    Parameters
    ----------
    learning_rate : float or callable
        A number, or a schedule: a function of the step count (a 0-d integer tensor,
        0 on the first step) returning the rate.
    momentum : float
        Momentum factor (0: none).
    dampening : float
        Dampening of the momentum.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    weight_decay : float
        L2 penalty added to the gradient (``update`` then needs ``params``).

    Returns
    -------
    GradientTransformation

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> tx = tg.optim.sgd(0.1)
    >>> state = tx.init(params)
    >>> grads = tg.grad(lambda p: (p["w"] ** 2).sum())(params)
    >>> updates, state = tx.update(grads, state, params)
    >>> tg.optim.apply_updates(params, updates)
    {'w': tensor([ 0.8000, -1.6000], dtype=float64)}
    """
    _check_lr(learning_rate, "sgd")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("sgd: Nesterov momentum requires a momentum and zero dampening")

    def init(params: Any) -> SGDState:
        return SGDState(_count(params), _zeros_tree(params) if momentum else None)

    def update(grads: Any, state: SGDState, params: Any = None) -> tuple[Any, SGDState]:
        _check_params(params, "sgd", weight_decay != 0)
        lr = _value(learning_rate, state.count)
        first = P.equal(state.count, 0)

        def one(g: Any, buf: Any, p: Any) -> tuple:
            if weight_decay != 0:
                g = P.add(g, P.multiply(p, weight_decay))
            if momentum:
                # torch starts the buffer at the first gradient, undamped.
                buf = P.where(first, g, P.add(P.multiply(buf, momentum),
                                              P.multiply(g, 1.0 - dampening)))
                g = P.add(g, P.multiply(buf, momentum)) if nesterov else buf
            return P.multiply(g, _scale(lr, -1.0, g)), buf

        updates, bufs = _map(one, 2, grads, state.momentum, params)
        return updates, SGDState(P.add(state.count, 1), bufs if momentum else None)

    return GradientTransformation(init, update)


def _adam(what: str, learning_rate: float | Schedule, b1: float, b2: float, eps: float,
          weight_decay: float, decoupled: bool, amsgrad: bool) -> GradientTransformation:
    _check_lr(learning_rate, what)
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"{what}: b1 and b2 must be in [0, 1), got {b1} and {b2}")

    def init(params: Any) -> AdamState:
        return AdamState(_count(params), _zeros_tree(params), _zeros_tree(params),
                         _zeros_tree(params) if amsgrad else None)

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        _check_params(params, what, weight_decay != 0)
        lr = _value(learning_rate, state.count)
        count = P.add(state.count, 1)
        bias1 = P.subtract(1.0, P.power(b1, count))
        bias2_sqrt = P.sqrt(P.subtract(1.0, P.power(b2, count)))

        def one(g: Any, m: Any, v: Any, vmax: Any, p: Any) -> tuple:
            if weight_decay != 0 and not decoupled:
                g = P.add(g, P.multiply(p, weight_decay))
            m = P.add(m, P.multiply(P.subtract(g, m), 1.0 - b1))
            v = P.add(P.multiply(v, b2), P.multiply(P.square(g), 1.0 - b2))
            if amsgrad:
                vmax = P.maximum(vmax, v)
            denom = P.add(P.divide(P.sqrt(vmax if amsgrad else v), _as(bias2_sqrt, g)), eps)
            step = P.divide(_scale(lr, 1.0, g), _as(bias1, g))
            u = P.negative(P.multiply(P.divide(m, denom), step))
            if weight_decay != 0 and decoupled:
                u = P.subtract(u, P.multiply(p, _scale(lr, weight_decay, g)))
            return u, m, v, vmax

        updates, mu, nu, nu_max = _map(one, 4, grads, state.mu, state.nu, state.nu_max,
                                       params)
        return updates, AdamState(count, mu, nu, nu_max if amsgrad else None)

    return GradientTransformation(init, update)


def adam(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8, weight_decay: float = 0.0,
         amsgrad: bool = False) -> GradientTransformation:
    """Adam, as :class:`tapegrad.optim.Adam`, in functional form.

    Parameters
    ----------
    learning_rate : float or callable
        A number, or a schedule of the step count (see :func:`sgd`).
    b1, b2 : float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the bias-corrected root of the second moment (outside the root, as
        PyTorch and optax do).
    weight_decay : float
        L2 penalty added to the gradient (``update`` then needs ``params``).
    amsgrad : bool
        Use the running maximum of the second moment.

    Returns
    -------
    GradientTransformation

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> tx = tg.optim.adam(0.1)
    >>> params = np.array([1.0, -1.0])
    >>> updates, state = tx.update(np.array([2.0, -2.0]), tx.init(params))
    >>> updates
    tensor([-0.1000,  0.1000], dtype=float64)
    """
    return _adam("adam", learning_rate, b1, b2, eps, weight_decay, False, amsgrad)


def adamw(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999,
          eps: float = 1e-8, weight_decay: float = 1e-2,
          amsgrad: bool = False) -> GradientTransformation:
    """AdamW (decoupled weight decay), as :class:`tapegrad.optim.AdamW`, in functional form.

    The update is the Adam step minus ``learning_rate * weight_decay * params``, which
    is PyTorch's ``p *= 1 - lr * weight_decay`` followed by the Adam step.

    Parameters
    ----------
    learning_rate : float or callable
        A number, or a schedule of the step count (see :func:`sgd`).
    b1, b2 : float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the bias-corrected root of the second moment.
    weight_decay : float
        Decoupled decay rate (PyTorch's default, 0.01; ``update`` needs ``params``).
    amsgrad : bool
        Use the running maximum of the second moment.

    Returns
    -------
    GradientTransformation
    """
    return _adam("adamw", learning_rate, b1, b2, eps, weight_decay, True, amsgrad)


def rmsprop(learning_rate: float | Schedule, alpha: float = 0.99, eps: float = 1e-8,
            weight_decay: float = 0.0, momentum: float = 0.0,
            centered: bool = False) -> GradientTransformation:
    """RMSprop, as :class:`tapegrad.optim.RMSprop`, in functional form.

    ``eps`` is added outside the square root, as in PyTorch (optax adds it inside).

    Parameters
    ----------
    learning_rate : float or callable
        A number, or a schedule of the step count (see :func:`sgd`).
    alpha : float
        Smoothing constant of the running mean of squared gradients.
    eps : float
        Added to the root of that mean.
    weight_decay : float
        L2 penalty added to the gradient (``update`` then needs ``params``).
    momentum : float
        Momentum factor.
    centered : bool
        Normalise by the estimated variance.

    Returns
    -------
    GradientTransformation
    """
    _check_lr(learning_rate, "rmsprop")

    def init(params: Any) -> RMSpropState:
        return RMSpropState(_count(params), _zeros_tree(params),
                            _zeros_tree(params) if centered else None,
                            _zeros_tree(params) if momentum > 0 else None)

    def update(grads: Any, state: RMSpropState,
               params: Any = None) -> tuple[Any, RMSpropState]:
        _check_params(params, "rmsprop", weight_decay != 0)
        lr = _value(learning_rate, state.count)

        def one(g: Any, nu: Any, mu: Any, buf: Any, p: Any) -> tuple:
            if weight_decay != 0:
                g = P.add(g, P.multiply(p, weight_decay))
            nu = P.add(P.multiply(nu, alpha), P.multiply(P.square(g), 1.0 - alpha))
            if centered:
                mu = P.add(mu, P.multiply(P.subtract(g, mu), 1.0 - alpha))
                avg = P.sqrt(P.subtract(nu, P.square(mu)))
            else:
                avg = P.sqrt(nu)
            scaled = P.divide(g, P.add(avg, eps))
            if momentum > 0:
                buf = P.add(P.multiply(buf, momentum), scaled)
                scaled = buf
            return P.multiply(scaled, _scale(lr, -1.0, g)), nu, mu, buf

        updates, nu, mu, buf = _map(one, 4, grads, state.nu, state.mu, state.momentum, params)
        return updates, RMSpropState(P.add(state.count, 1), nu, mu if centered else None,
                                     buf if momentum > 0 else None)

    return GradientTransformation(init, update)


def adagrad(learning_rate: float | Schedule, lr_decay: float = 0.0,
            weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
            eps: float = 1e-10) -> GradientTransformation:
    """Adagrad, as :class:`tapegrad.optim.Adagrad`, in functional form.

    Parameters
    ----------
    learning_rate : float or callable
        A number, or a schedule of the step count (see :func:`sgd`).
    lr_decay : float
        The step size at step ``t`` (from 1) is ``lr / (1 + (t - 1) * lr_decay)``.
    weight_decay : float
        L2 penalty added to the gradient (``update`` then needs ``params``).
    initial_accumulator_value : float
        Starting value of the sum of squared gradients.
    eps : float
        Added to the root of that sum (outside it, as PyTorch).

    Returns
    -------
    GradientTransformation
    """
    _check_lr(learning_rate, "adagrad")

    def init(params: Any) -> AdagradState:
        return AdagradState(_count(params), _zeros_tree(params, initial_accumulator_value))

    def update(grads: Any, state: AdagradState,
               params: Any = None) -> tuple[Any, AdagradState]:
        _check_params(params, "adagrad", weight_decay != 0)
        lr = _value(learning_rate, state.count)
        clr = P.divide(lr, P.add(P.multiply(state.count, lr_decay), 1.0)) if lr_decay else lr

        def one(g: Any, s: Any, p: Any) -> tuple:
            if weight_decay != 0:
                g = P.add(g, P.multiply(p, weight_decay))
            s = P.add(s, P.square(g))
            u = P.multiply(P.divide(g, P.add(P.sqrt(s), eps)), _scale(clr, -1.0, g))
            return u, s

        updates, sums = _map(one, 2, grads, state.sum, params)
        return updates, AdagradState(P.add(state.count, 1), sums)

    return GradientTransformation(init, update)


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates``, leaf by leaf, keeping each parameter's dtype (as optax).

    Parameters
    ----------
    params : pytree of arrays or tensors
        The current parameters.
    updates : pytree of the same structure
        From ``tx.update``.

    Returns
    -------
    pytree
        The new parameters (tensors), structured like ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> tg.optim.apply_updates({"w": np.ones(2)}, {"w": np.array([0.5, -0.5])})
    {'w': tensor([1.5000, 0.5000], dtype=float64)}
    """
    def add(p: Any, u: Any) -> Any:
        out = P.add(p, u)
        dtype = _data(p).dtype if hasattr(_data(p), "dtype") else None
        return P.astype(out, dtype) if dtype is not None and out.dtype != dtype else out

    return tree_map(add, params, updates)

