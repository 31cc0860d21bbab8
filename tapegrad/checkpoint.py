"""``tg.checkpoint(f)``: trade compute for memory by recomputing ``f`` in backward.

``checkpoint(f)(*args)`` runs ``f`` without recording and adds a single record whose
arguments are ``f``'s array inputs. Nothing ``f`` computes inside is kept; when the
backward sweep reaches the record, its VJP runs ``f`` again, recorded, from the saved
inputs, and sweeps back through that fresh recording. Under ``create_graph`` the
recomputation is connected to the inputs, so higher derivatives and the compiler (which
traces the recomputation as part of the backward pass) work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._checks import check_callable
from ._state import _STATE, reset_state, set_state
from .backend import is_floating
from .custom import UnregisteredPrimitive, _is_array, no_grad_if_integer
from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor, _make

__all__ = ["checkpoint"]


class _Rule:
    __slots__ = ("fun", "forward", "in_def", "leaves", "slots", "name", "out_def",
                 "out_raw")

    def __repr__(self) -> str:
        return f"checkpoint({self.name})"

    def call(self, arrays, fun: Callable | None = None) -> list:
        """Run ``fun`` (default ``self.fun``) with the array inputs replaced by
        ``arrays``; its output leaves."""
        leaves = list(self.leaves)
        for pos, a in zip(self.slots, arrays):
            leaves[pos] = a
        args, kwargs = tree_unflatten(self.in_def, leaves)
        out_leaves, self.out_def = tree_flatten((fun or self.fun)(*args, **kwargs))
        # Output leaves that are not tensors (a Python int, a NumPy array) are returned
        # as they are, not as outputs of the record.
        self.out_raw = {k: o for k, o in enumerate(out_leaves) if not isinstance(o, Tensor)}
        return out_leaves


def _impl(xp, *arrays, rule: _Rule):
    token = set_state(grad_enabled=False, tracing=None, tapes=())
    try:
        outs = rule.call([_make(a, None, 0, False) for a in arrays], rule.forward)
    finally:
        reset_state(token)
    return tuple(o.data if isinstance(o, Tensor) else o for o in outs)


def _vjp(g, *args, rule: _Rule):
    from .backward import backward
    from .primitives import identity

    create = _STATE.get().grad_enabled  # backward turns grad mode on for create_graph
    srcs = []
    for a in args:
        if isinstance(a, Tensor) and a._rg and is_floating(a.data.dtype):
            srcs.append(identity(a) if create else _make(a.data, None, 0, True))
        else:
            srcs.append(None)
    token = set_state(grad_enabled=True)
    try:
        # ``fun`` gets fresh tensors, never the sources or the caller's tensors: it may
        # modify its arguments in place (as it may when it runs unchecked), and that
        # must change neither where the gradients are read nor the saved inputs.
        call_args = [identity(s) if s is not None else
                     (identity(a) if create else _make(a.data, None, 0, False))
                     if isinstance(a, Tensor) else a for a, s in zip(args, srcs)]
        outs = rule.call(call_args)
    finally:
        reset_state(token)
    pairs = [(o, gi) for o, gi in zip(outs, g) if isinstance(o, Tensor) and o._rg]
    live = [s for s in srcs if s is not None]
    grads = iter(backward([o for o, _ in pairs], [gi for _, gi in pairs], sources=live,
                          create_graph=create, retain_graph=create) if pairs and live else ())
    return tuple(next(grads, None) if s is not None else None for s in srcs)


_checkpoint_p = UnregisteredPrimitive("checkpoint", _impl, _vjp, grad_name="Checkpoint",
                                      multiple_results=True)
_compiled_p = UnregisteredPrimitive("compiled", _impl, _vjp, grad_name="Compiled",
                                    multiple_results=True)


def _record(prim, fun: Callable, forward: Callable | None, name: str, args: tuple,
            kwargs: dict) -> Any:
    """One record of ``prim`` for ``fun(*args, **kwargs)``; see :func:`recompute_in_backward`."""
    leaves, in_def = tree_flatten((args, kwargs))
    rule = _Rule()
    rule.fun, rule.forward, rule.in_def, rule.name = fun, forward, in_def, name
    rule.slots = [k for k, x in enumerate(leaves) if _is_array(x)]
    rule.leaves = [None if k in rule.slots else x for k, x in enumerate(leaves)]
    outs = [o if k not in rule.out_raw else rule.out_raw[k]
            for k, o in enumerate(prim.bind(*[leaves[k] for k in rule.slots], rule=rule))]
    return tree_unflatten(rule.out_def, [no_grad_if_integer(o) for o in outs])


def recompute_in_backward(fun: Callable, forward: Callable, name: str, args: tuple,
                          kwargs: dict) -> Any:
    """``fun(*args, **kwargs)`` with its values computed by ``forward`` (a compiled
    program of ``fun``, given the arguments without their graph), recorded as one
    record whose VJP runs ``fun`` again, recorded, as :func:`checkpoint` does. This
    makes a compiled function's results differentiable like ``fun``'s own."""
    return _record(_compiled_p, fun, forward, name, args, kwargs)


def checkpoint(fun: Callable) -> Callable:
    """Recompute ``fun``'s forward pass during backward instead of storing it.

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors (keyword
        arguments are handled like positional ones). It runs twice when
        differentiated, so it should be deterministic.

    Returns
    -------
    callable
        Same values and gradients as ``fun``; only ``fun``'s array inputs are kept for
        the backward pass.

    Notes
    -----
    ``fun`` runs on stand-ins for its array arguments, both times: in-place changes it
    makes to them stay inside (the caller's tensors are not modified), and tensors made
    inside the first, unrecorded run do not require grad (no ``register_hook`` there).

    Examples
    --------
    >>> import tapegrad as tg
    >>> block = tg.checkpoint(lambda x: tg.tanh(x) * 2.0)
    >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
    >>> block(x).sum().backward()
    >>> x.grad
    tensor([2.0000, 0.8399])
    """
    check_callable(fun, "checkpoint")
    name = getattr(fun, "__name__", "fun")

    @functools.wraps(fun)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        leaves = tree_flatten((args, kwargs))[0]
        st = _STATE.get()
        graph = any(isinstance(x, Tensor) and (x._rg or x._node is not None) for x in leaves)
        if not graph or not (st.grad_enabled or st.tracing is not None):
            return fun(*args, **kwargs)
        return _record(_checkpoint_p, fun, None, name, args, kwargs)

    return checkpointed

