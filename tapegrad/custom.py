"""``tg.custom_vjp``: user-defined gradients, with JAX's interface.

>>> import tapegrad as tg
>>> @tg.custom_vjp
... def clip_gradient(x):
...     return x
>>> def fwd(x):
...     return x, None
>>> def bwd(res, g):
...     return (tg.clip(g, -1.0, 1.0),)
>>> clip_gradient.defvjp(fwd, bwd)
>>> tg.grad(lambda x: (clip_gradient(x) * 5.0).sum())(tg.tensor([1.0]))
tensor([1.])

How it is recorded: ``fwd`` runs as ordinary (recorded) tapegrad code, returning the
output and the residuals. Then one record is added whose arguments are the primal
inputs, the residuals and ``fwd``'s output, and whose value is that output passed
through unchanged. Its VJP calls ``bwd``, sends the result to the primal inputs and
nothing to the residuals or to ``fwd``'s output, so the gradient flows only through
``bwd``. Because ``bwd`` is written with tapegrad operations on residuals that are
themselves recorded, it is recorded under ``create_graph`` (second derivatives
differentiate ``bwd`` and ``fwd``, as in JAX), and the compiler, which traces through
``bind``, sees ``fwd``'s operations, the pass-through record and ``bwd``'s operations
like any others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ._checks import check_callable
from ._state import _STATE
from .backend import backend_of, is_floating
from .primitive import Primitive
from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor, _make

__all__ = ["custom_vjp"]


class UnregisteredPrimitive(Primitive):
    """A :class:`Primitive` made at run time (per user function), kept out of the
    registry: it is reached only through the records that hold it."""

    def __init__(self, name: str, impl: Callable, vjp: Callable, *, grad_name: str,
                 multiple_results: bool = False) -> None:
        super().__init__(name, impl, vjp, grad_name=grad_name,
                         multiple_results=multiple_results, register=False)


def _is_array(x: Any) -> bool:
    return isinstance(x, Tensor) or backend_of_safe(x) is not None


def backend_of_safe(x: Any):
    try:
        return backend_of(x)
    except TypeError:
        return None


class _Rule:
    """What the pass-through record needs to call ``bwd`` (one per call)."""

    __slots__ = ("bwd", "nondiff", "in_defs", "in_slots", "res_def", "res_leaves",
                 "res_slots", "out_def", "name")

    def __repr__(self) -> str:
        return f"custom_vjp({self.name})"


def _pass_single(xp, *args, rule, start):
    return args[start]


def _pass_multi(xp, *args, rule, start):
    return tuple(args[start:])


def _custom_vjp_rule(g, *args, rule: _Rule, start: int):
    n_out = rule.out_def.num_leaves
    g_tree = tree_unflatten(rule.out_def, list(g) if n_out > 1 else [g])
    res = list(rule.res_leaves)
    for k, pos in enumerate(rule.res_slots):
        res[pos] = args[len(rule.in_slots) + k]
    grads = rule.bwd(*rule.nondiff, tree_unflatten(rule.res_def, res), g_tree)
    if not isinstance(grads, (tuple, list)) or len(grads) != len(rule.in_defs):
        got = (f"{len(grads)} entries" if isinstance(grads, (tuple, list))
               else type(grads).__name__)
        raise TypeError(f"custom_vjp {rule.name}: bwd must return a tuple with one entry "
                        f"per differentiable argument ({len(rule.in_defs)}), got {got}")
    flat: list = []
    for gi, treedef in zip(grads, rule.in_defs):
        _flatten_like(treedef, gi, flat, rule.name)
    # bwd may return arrays (as in JAX) or numbers: the driver works on tensors.
    out = [_as_tensor(flat[pos], rule.name) for pos in rule.in_slots]
    return tuple(out) + (None,) * (len(args) - len(out))


def _as_tensor(g: Any, name: str) -> Any:
    if g is None or isinstance(g, Tensor):
        return g
    try:
        return Tensor(g)
    except TypeError:
        raise TypeError(f"custom_vjp {name}: bwd must return tensors, arrays or None as "
                        f"gradients, got {type(g).__name__}") from None


def no_grad_if_integer(o: Any) -> Any:
    """``o``, not requiring grad if it is an integer or boolean tensor.

    A multi-output record marks every output as requiring grad; an integer output (an
    argmax) cannot, as when the function runs unrecorded. The record stays, so a
    compiler trace still computes it.
    """
    if isinstance(o, Tensor) and o._rg and not is_floating(o.data.dtype):
        return _make(o.data, o._node, o._idx, False)
    return o


def _flatten_like(treedef, g: Any, out: list, name: str) -> None:
    """Flatten gradient ``g`` against its argument's structure; None is zero anywhere."""
    if g is None:
        out += [None] * treedef.num_leaves
    elif treedef.kind is None:
        out.append(g)
    elif treedef.kind is not type(None):
        kids = [g.get(k) for k in treedef.meta] if isinstance(g, dict) else list(g)
        if len(kids) != len(treedef.children) or (isinstance(g, dict) and
                                                   set(g) != set(treedef.meta)):
            raise TypeError(f"custom_vjp {name}: bwd returned a gradient of structure "
                            f"{tree_flatten(g)[1]!r} for an argument of structure "
                            f"{treedef!r}")
        for child, kid in zip(treedef.children, kids):
            _flatten_like(child, kid, out, name)


class custom_vjp:
    """A function with a user-defined VJP, as ``jax.custom_vjp``.

    Parameters
    ----------
    fun : callable
        The primal function, run as is whenever no gradient is recorded.
    nondiff_argnums : tuple of ints
        Arguments that are not differentiated (static values, callables); they are
        passed first to ``bwd``.

    Notes
    -----
    Call ``f.defvjp(fwd, bwd)``: ``fwd(*args)`` returns ``(output, residuals)``;
    ``bwd(*nondiff_args, residuals, g)`` returns a tuple with one gradient per
    differentiable argument (each shaped like the argument; None for zero). Arguments,
    outputs and residuals may be pytrees; residual leaves that are not arrays are
    treated as constants.
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()) -> None:
        check_callable(fun, "custom_vjp")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self._in_fwd = False
        name = getattr(fun, "__name__", "custom")
        self._prims = {
            False: UnregisteredPrimitive(f"custom_vjp[{name}]", _pass_single, _custom_vjp_rule,
                                         grad_name=f"CustomVjp[{name}]"),
            True: UnregisteredPrimitive(f"custom_vjp[{name}]", _pass_multi, _custom_vjp_rule,
                                        grad_name=f"CustomVjp[{name}]", multiple_results=True),
        }

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Define the forward pass (output and residuals) and the backward pass."""
        for f, what in ((fwd, "fwd"), (bwd, "bwd")):
            check_callable(f, f"custom_vjp {self.__name__}.defvjp {what}")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise TypeError(f"custom_vjp {self.__name__}: no VJP defined; call "
                            "defvjp(fwd, bwd) first")
        diff = [a for i, a in enumerate(args) if i not in self.nondiff_argnums]
        st = _STATE.get()
        leaves = tree_flatten(diff)[0]
        if self._in_fwd or not (st.grad_enabled or st.tracing is not None) or not any(
                isinstance(x, Tensor) and (x._rg or x._node is not None) for x in leaves):
            return self.fun(*args)
        self._in_fwd = True  # fwd may call the function itself: that is the primal
        try:
            pair = self.fwd(*args)
        finally:
            self._in_fwd = False
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"custom_vjp {self.__name__}: fwd must return a pair (output, "
                            f"residuals), got {type(pair).__name__}")
        out, res = pair
        return self._record(args, diff, out, res)

    def _record(self, args: tuple, diff: list, out: Any, res: Any) -> Any:
        rule = _Rule()
        rule.name = self.__name__
        rule.bwd = self.bwd
        rule.nondiff = tuple(args[i] for i in self.nondiff_argnums)
        rule.in_defs = [tree_flatten(a)[1] for a in diff]
        in_leaves = tree_flatten(diff)[0]
        rule.in_slots = [k for k, x in enumerate(in_leaves) if _is_array(x)]
        res_leaves, rule.res_def = tree_flatten(res)
        rule.res_slots = [k for k, x in enumerate(res_leaves) if _is_array(x)]
        rule.res_leaves = [None if k in rule.res_slots else x for k, x in enumerate(res_leaves)]
        out_leaves, rule.out_def = tree_flatten(out)
        for x in out_leaves:
            if not _is_array(x):
                raise TypeError(f"custom_vjp {rule.name}: fwd must return arrays or "
                                f"tensors, got {type(x).__name__}")
        inputs = ([in_leaves[k] for k in rule.in_slots] +
                  [res_leaves[k] for k in rule.res_slots] + out_leaves)
        multi = len(out_leaves) != 1
        start = len(rule.in_slots) + len(rule.res_slots)
        result = self._prims[multi].bind(*inputs, rule=rule, start=start)
        return tree_unflatten(rule.out_def, [no_grad_if_integer(o) for o in result] if multi
                              else [result])
