"""Function transforms in JAX's style, built on the tape: ``grad``, ``value_and_grad``,
``vjp`` and ``jvp`` (the Jacobian and Hessian transforms in ``jacobian.py`` build on
these).

Every transform does the same three things: wrap each array leaf of the differentiated
arguments (pytrees of lists, tuples and dicts) in a fresh recorded tensor, run ``f``,
and sweep backward to exactly those tensors. The sweep is itself recorded
(``create_graph``) when an enclosing transform, tape or compiler trace will need to
differentiate it again, so ``tg.grad(tg.grad(f))`` and ``tg.compile(tg.grad(f))`` work.

Forward mode (``jvp``) uses the double-VJP trick: ``u -> vjp(f)(u)`` is linear in the
cotangent ``u``, so its own VJP, taken at the tangent, is the Jacobian-vector product.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from . import _checks
from ._state import _STATE, reset_state, set_state
from .backend import backend_of, is_floating
from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor, _make


def _source(x: Any, name: str, linked: bool) -> Tensor:
    """A fresh tensor standing for the leaf ``x`` inside the transformed function.

    ``linked``: the enclosing level records (grad mode on, or a compiler trace), so the
    source stays connected to ``x`` for higher-order derivatives. Under ``no_grad`` it
    is cut from ``x``'s graph, as ``torch.func.grad`` ignores an outer ``no_grad``: the
    transform still differentiates its own function.
    """
    from .primitives import identity

    if isinstance(x, Tensor):
        if not is_floating(x.data.dtype):
            raise TypeError(f"{name}: can only differentiate with respect to floating-point "
                            f"inputs, got dtype {x.dtype}")
        if x._rg or x._node is not None:
            st = _STATE.get()
            if linked and st.grad_enabled:
                # Keep the link to x through an identity record, so this level's
                # sources are distinct from the enclosing level's.
                return identity(x)
            if st.tracing is not None:
                # Cut from x's gradient (grad mode is off, so the identity record has
                # no gradient path), but computed from x on every compiled call.
                cut = identity(x)
                return _make(cut.data, cut._node, cut._idx, True)
        return _make(x.data, None, 0, True)
    try:
        be = backend_of(x)
    except TypeError:
        raise TypeError(f"{name}: arguments to differentiate must be arrays, tensors or "
                        f"numbers (in lists, tuples or dicts), got {type(x).__name__}") from None
    if be is None:
        from .tensor import tensor

        x = tensor(x).data
    if not is_floating(x.dtype):
        raise TypeError(f"{name}: can only differentiate with respect to floating-point "
                        f"inputs, got dtype {x.dtype}")
    return _make(x, None, 0, True)


def _has_graph(x: Any) -> bool:
    return isinstance(x, Tensor) and (x._rg or x._node is not None)


def _outer_records() -> bool:
    """Whether the enclosing level records operations (grad mode on, or a compiler
    trace, which keeps every operation on traced values)."""
    st = _STATE.get()
    return st.grad_enabled or st.tracing is not None


def _recording_outside() -> bool:
    """Whether an enclosing transform, tape or compiler trace will differentiate again."""
    st = _STATE.get()
    return st.tracing is not None or (st.grad_enabled and (st.nested > 0 or bool(st.tapes)))


class _Traced:
    """``fun`` run once on fresh source tensors: what every transform starts from.

    Attributes
    ----------
    out : pytree
        What ``fun`` returned (without the aux part).
    srcs : list of Tensor
        The source tensors, the leaves of the differentiated arguments in order.
    in_defs : list of TreeDef
        The structure of each differentiated argument.
    create_graph : bool
        Whether sweeps must be recorded (an enclosing transform, tape or trace, or
        arguments that are themselves part of a graph).
    """

    def __init__(self, fun: Callable, args: tuple, kwargs: dict, nums: tuple, name: str,
                 has_aux: bool = False) -> None:
        st = _STATE.get()
        call_args = list(args)
        self.srcs: list[Tensor] = []
        self.in_defs = []
        # Under no_grad the transform still records its own function (a transform's
        # result must not depend on the caller's grad mode), but nothing links it to
        # the enclosing level.
        self.linked = _outer_records()
        self.create_graph = _recording_outside()
        for i in nums:
            leaves, treedef = tree_flatten(args[i])
            self.create_graph = self.create_graph or (self.linked and any(map(_has_graph,
                                                                              leaves)))
            srcs = [_source(x, name, self.linked) for x in leaves]
            self.srcs += srcs
            self.in_defs.append(treedef)
            call_args[i] = tree_unflatten(treedef, srcs)
        fields = {} if self.linked else {"tapes": (), "no_grad_site": None}
        token = set_state(nested=st.nested + 1, grad_enabled=True, **fields)
        try:
            out = fun(*call_args, **kwargs)
        finally:
            reset_state(token)
        self.aux = None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{name}: with has_aux=True the function must return a "
                                f"pair (output, aux), got {type(out).__name__}")
            out, aux = out
            # aux is a result like the others: detached at the top level, so it does
            # not keep the forward graph alive.
            self.aux = self.result(aux)
        self.out = out

    def graph_from(self, leaves: Sequence[Any]) -> None:
        """Record the sweeps also when tangents or cotangents carry a graph."""
        self.create_graph = self.create_graph or (_outer_records() and
                                                  any(map(_has_graph, leaves)))

    def pull(self, roots: Sequence[Tensor], cts: Sequence[Any], *, create_graph=None,
             keep: bool = True) -> list:
        """Gradients of ``roots`` (seeded with ``cts``) for every source (None: none)."""
        from .backward import backward

        cg = self.create_graph if create_graph is None else create_graph
        pairs = [(r, c) for r, c in zip(roots, cts) if isinstance(r, Tensor) and r._rg]
        if not pairs:
            return [None] * len(self.srcs)
        return backward([r for r, _ in pairs], [c for _, c in pairs], sources=self.srcs,
                        create_graph=cg, retain_graph=keep or cg)

    def split(self, grads: Sequence[Any]) -> list:
        """Per-argument pytrees from a flat list of per-source gradients."""
        out, k = [], 0
        for treedef in self.in_defs:
            n = treedef.num_leaves
            leaves = [_zeros_if_none(g, s) for g, s in zip(grads[k:k + n], self.srcs[k:k + n])]
            out.append(tree_unflatten(treedef, leaves))
            k += n
        return out

    def result(self, x: Any) -> Any:
        """Detach outputs unless the graph is being built for an enclosing level."""
        if self.create_graph:
            return x
        leaves, treedef = tree_flatten(x)
        return tree_unflatten(treedef, [v.detach() if isinstance(v, Tensor) else v
                                        for v in leaves])


def _zeros_if_none(g, s: Tensor) -> Tensor:
    if g is None:
        xp = backend_of(s.data).xp
        return _make(xp.zeros_like(s.data), None, 0, False)
    return g


def _as_output(out: Any) -> Any:
    """A function's array or number output as a (constant) tensor."""
    if isinstance(out, Tensor) or out is None or isinstance(out, (str, bytes)):
        return out
    if isinstance(out, (int, float)) or _checks.backend_or_none(out) is not None:
        return Tensor(out)
    return out


def _value_and_grad(fun: Callable, argnums, has_aux: bool, name: str, args: tuple,
                    kwargs: dict, holomorphic: bool = False):
    nums = _checks.argnums(argnums, len(args), name)
    tr = _Traced(fun, args, kwargs, nums, name, has_aux)
    out = _as_output(tr.out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: the function must return a scalar tensor, got "
                        f"{type(out).__name__}")
    if holomorphic:
        _checks.check_complex(tr.srcs, [out], True, name, "rev")
    else:
        _checks.output_dtype(out, name)
    if out.data.ndim != 0 and out.size != 1:
        raise TypeError(f"{name}: the function must return a scalar (one-element) output, "
                        f"got shape {out.shape}; use tg.vjp or tg.jacobian for others")
    grads = tr.split(tr.pull([out], [None], keep=False))
    result = tuple(grads) if isinstance(argnums, (tuple, list)) else grads[0]
    return tr.result(out), result, tr.aux


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Callable:
    """The gradient of a scalar function, as a function (JAX's ``grad``).

    Parameters
    ----------
    fun : callable
        Returns a one-element tensor (and auxiliary data if ``has_aux``).
    argnums : int or tuple of ints
        Which positional arguments to differentiate; a tuple gives a tuple of grads.
        Each may be a pytree (nested lists, tuples, dicts) of arrays.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the gradient function returns
        ``(grad, aux)``.
    holomorphic : bool
        ``fun`` is holomorphic with complex inputs and a complex output; the result is
        the complex derivative ``f'(z)`` (otherwise the output must be real).

    Returns
    -------
    callable
        Takes the same arguments as ``fun`` (arrays, numbers or tensors) and returns
        gradients with the structure and shapes of the differentiated arguments.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.grad(lambda x: (x ** 3).sum())(tg.tensor([2.0]))
    tensor([12.])
    >>> tg.grad(lambda p: (p["w"] * p["b"]).sum())({"w": tg.tensor([2.0]), "b": 3.0})
    {'b': tensor(2.), 'w': tensor([3.])}
    """
    _checks.check_callable(fun, "grad")

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        _, g, aux = _value_and_grad(fun, argnums, has_aux, "grad", args, kwargs,
                                    holomorphic)
        return (g, aux) if has_aux else g

    grad_fun.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    return grad_fun


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """Like :func:`grad`, but returns ``(value, grad)`` (``((value, aux), grad)`` with
    ``has_aux``), as in JAX."""
    _checks.check_callable(fun, "value_and_grad")

    @functools.wraps(fun)
    def vg_fun(*args, **kwargs):
        v, g, aux = _value_and_grad(fun, argnums, has_aux, "value_and_grad", args, kwargs,
                                    holomorphic)
        return ((v, aux), g) if has_aux else (v, g)

    vg_fun.__name__ = f"value_and_grad({getattr(fun, '__name__', 'fun')})"
    return vg_fun


def _output_leaves(out: Any, name: str) -> tuple[list, Any]:
    leaves, treedef = tree_flatten(out)
    leaves = [_as_output(v) for v in leaves]
    for v in leaves:
        if not isinstance(v, Tensor):
            raise TypeError(f"{name}: the function must return tensors or arrays (in "
                            f"lists, tuples or dicts), got {type(v).__name__}")
    return leaves, treedef


def vjp(fun: Callable, *primals: Any, has_aux: bool = False):
    """Evaluate ``fun`` and return its vector-Jacobian product function (JAX's ``vjp``).

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors.
    *primals
        The point to differentiate at; every argument is differentiated.
    has_aux : bool
        ``fun`` returns ``(output, aux)``.

    Returns
    -------
    (primals_out, vjp_fun) or (primals_out, vjp_fun, aux)
        ``vjp_fun(cotangent)`` takes a pytree shaped like ``primals_out`` and returns a
        tuple with one gradient pytree per primal. It may be called many times.

    Examples
    --------
    >>> import tapegrad as tg
    >>> y, pullback = tg.vjp(lambda x: x * 3.0, tg.tensor([1.0, 2.0]))
    >>> pullback(tg.tensor([1.0, 10.0]))
    (tensor([ 3., 30.]),)
    """
    _checks.check_callable(fun, "vjp")
    tr = _Traced(fun, primals, {}, tuple(range(len(primals))), "vjp", has_aux)
    outs, out_def = _output_leaves(tr.out, "vjp")

    def vjp_fun(cotangent: Any) -> tuple:
        cts, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(f"vjp: the cotangent has structure {ct_def!r} but the output "
                             f"has structure {out_def!r}")
        _checks.check_like(cts, outs, "vjp", "cotangent", "output")
        # Decided per call: the pullback may run inside a transform (or on cotangents
        # that carry a graph) that vjp itself was not called in.
        cg = tr.create_graph or _recording_outside() or (_outer_records() and
                                                         any(map(_has_graph, cts)))
        return tuple(tr.split(tr.pull(outs, cts, create_graph=cg)))

    primals_out = tr.result(tree_unflatten(out_def, outs))
    return (primals_out, vjp_fun, tr.aux) if has_aux else (primals_out, vjp_fun)


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False):
    """Jacobian-vector product (forward mode), as JAX's ``jvp``.

    Computed with two reverse sweeps (the double-VJP trick), so every primitive with a
    VJP rule works in forward mode too.

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors.
    primals : tuple
        The arguments of ``fun``.
    tangents : tuple
        One tangent per primal, with the same structure and shapes.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; ``aux`` is returned third.

    Returns
    -------
    (primals_out, tangents_out)
        ``fun(*primals)`` and the directional derivative along ``tangents``, with the
        structure of the output.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.jvp(lambda x: x ** 2, (tg.tensor([3.0]),), (tg.tensor([1.0]),))
    (tensor([9.]), tensor([6.]))
    """
    _checks.check_callable(fun, "jvp")
    primals, t_leaves = _checks.check_primals_tangents(primals, tangents, "jvp")
    tr = _Traced(fun, primals, {}, tuple(range(len(primals))), "jvp", has_aux)
    tr.graph_from(t_leaves)
    outs, out_def = _output_leaves(tr.out, "jvp")
    push = forward_pusher(tr, outs)
    t_out = push(t_leaves)
    res = (tr.result(tree_unflatten(out_def, outs)), tr.result(tree_unflatten(out_def, t_out)))
    return (*res, tr.aux) if has_aux else res


def forward_pusher(tr: _Traced, outs: list) -> Callable:
    """A function pushing source tangents (a flat list) to output tangents (flat).

    The first reverse sweep runs once, seeded with zero cotangents ``u`` that require
    grad, and is recorded; each push is a second sweep from its results back to ``u``.
    """
    us = [_make(backend_of(o.data).xp.zeros_like(o.data), None, 0, True) if o._rg else None
          for o in outs]
    live = [(o, u) for o, u in zip(outs, us) if u is not None]
    gs = tr.pull([o for o, _ in live], [u for _, u in live], create_graph=True)

    def push(tangents: Sequence[Any]) -> list:
        from .backward import backward

        pairs = [(g, t) for g, t in zip(gs, tangents) if g is not None and g._rg]
        res: list = [None] * len(live)
        if pairs:
            res = backward([g for g, _ in pairs], [t for _, t in pairs],
                           sources=[u for _, u in live], create_graph=tr.create_graph,
                           retain_graph=True)
        it = iter(res)
        return [_zeros_if_none(next(it), o) if u is not None else _zeros_if_none(None, o)
                for o, u in zip(outs, us)]

    return push
