"""Function transforms in JAX's style, built on the tape: ``grad``, ``value_and_grad``.

``tg.grad(f)(x)`` wraps each differentiated argument in a fresh recorded tensor, runs
``f``, and sweeps backward to exactly those tensors. The gradient is itself recorded
(``create_graph``) when an enclosing transform, tape or compiler trace will need to
differentiate it again, so ``tg.grad(tg.grad(f))`` works.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ._state import _STATE, reset_state, set_state
from .backend import backend_of, is_floating
from .tensor import Tensor, _make


def _check_argnums(argnums, n: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError(f"{name}: argnums must name at least one argument")
    for i in nums:
        if not isinstance(i, int) or not -n <= i < n:
            raise ValueError(f"{name}: argnums {argnums!r} is out of range for a function "
                             f"called with {n} positional arguments")
    return tuple(i % n for i in nums)


def _source(x: Any, name: str) -> Tensor:
    """A fresh tensor standing for argument ``x`` inside the transformed function."""
    from .primitives import identity

    if isinstance(x, Tensor):
        if not is_floating(x.data.dtype):
            raise TypeError(f"{name}: can only differentiate with respect to floating-point "
                            f"inputs, got dtype {x.dtype}")
        if x._rg or x._node is not None:
            # Keep the link to x (for higher-order derivatives) through an identity
            # record, so this level's sources are distinct from the enclosing level's.
            return identity(x)
        return _make(x.data, None, 0, True)
    if backend_of(x) is None:
        if isinstance(x, (list, tuple, dict)):
            raise TypeError(f"{name}: differentiating with respect to a {type(x).__name__} "
                            "argument is not supported here; pass arrays or tensors")
        from .tensor import tensor

        x = tensor(x).data
    if not is_floating(x.dtype):
        raise TypeError(f"{name}: can only differentiate with respect to floating-point "
                        f"inputs, got dtype {x.dtype}")
    return _make(x, None, 0, True)


def _value_and_grad(fun: Callable, argnums, has_aux: bool, name: str, args: tuple,
                    kwargs: dict):
    from .backward import backward

    nums = _check_argnums(argnums, len(args), name)
    st = _STATE.get()
    outer = st.nested > 0 or bool(st.tapes) or st.tracing is not None
    srcs = [_source(args[i], name) for i in nums]
    call_args = list(args)
    for i, s in zip(nums, srcs):
        call_args[i] = s
    create_graph = outer or any(isinstance(args[i], Tensor) and args[i]._rg for i in nums)
    token = set_state(nested=st.nested + 1, grad_enabled=True)
    try:
        out = fun(*call_args, **kwargs)
    finally:
        reset_state(token)
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"{name}: with has_aux=True the function must return a pair "
                            f"(output, aux), got {type(out).__name__}")
        out, aux = out
    if not isinstance(out, Tensor) and (isinstance(out, (int, float)) or
                                        backend_of(out) is not None):
        out = Tensor(out)  # a constant: every gradient is zero
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: the function must return a scalar tensor, got "
                        f"{type(out).__name__}")
    if out.data.ndim != 0 and out.size != 1:
        raise TypeError(f"{name}: the function must return a scalar (one-element) output, "
                        f"got shape {out.shape}; use tg.vjp or tg.jacobian for others")
    if out._rg:
        grads = backward([out], [None], sources=srcs, create_graph=create_graph,
                         retain_graph=create_graph)
    else:
        grads = [None] * len(srcs)
    grads = [_zeros_if_none(g, s) for g, s in zip(grads, srcs)]
    if not create_graph:
        out = out.detach()
    result = grads[0] if isinstance(argnums, int) else tuple(grads)
    return (out, result, aux) if has_aux else (out, result)


def _zeros_if_none(g, s: Tensor) -> Tensor:
    if g is None:
        xp = backend_of(s.data).xp
        return _make(xp.zeros_like(s.data), None, 0, False)
    return g


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function, as a function (JAX's ``grad``).

    Parameters
    ----------
    fun : callable
        Returns a one-element tensor (and auxiliary data if ``has_aux``).
    argnums : int or tuple of ints
        Which positional arguments to differentiate; a tuple gives a tuple of grads.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the gradient function returns
        ``(grad, aux)``.

    Returns
    -------
    callable
        Takes the same arguments as ``fun`` (arrays, numbers or tensors) and returns
        tensors shaped like the differentiated arguments.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.grad(lambda x: (x ** 3).sum())(tg.tensor([2.0]))
    tensor([12.])
    """
    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        res = _value_and_grad(fun, argnums, has_aux, "grad", args, kwargs)
        return (res[1], res[2]) if has_aux else res[1]

    grad_fun.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    return grad_fun


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable:
    """Like :func:`grad`, but returns ``(value, grad)`` (``((value, aux), grad)`` with
    ``has_aux``), as in JAX."""
    @functools.wraps(fun)
    def vg_fun(*args, **kwargs):
        res = _value_and_grad(fun, argnums, has_aux, "value_and_grad", args, kwargs)
        if has_aux:
            return (res[0], res[2]), res[1]
        return res

    vg_fun.__name__ = f"value_and_grad({getattr(fun, '__name__', 'fun')})"
    return vg_fun
