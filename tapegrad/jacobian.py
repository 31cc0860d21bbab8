"""Whole Jacobians and Hessians: ``jacrev``, ``jacfwd``, ``jacobian``, ``hessian``, ``hvp``.

``jacrev`` builds the Jacobian a row at a time (one reverse sweep per output element),
``jacfwd`` a column at a time (one forward push per input element; see
:func:`tapegrad.transforms.jvp`). For ``f: R^n -> R^m`` pick ``jacrev`` when ``m < n``.
Both return, for an output leaf of shape ``S_out`` and an input leaf of shape ``S_in``,
an array of shape ``S_out + S_in``, nested as JAX nests them: the output's structure
outside, the differentiated arguments' structure inside. The rows and columns are
joined with recorded ``stack`` operations, so Jacobians can be differentiated again:
``hessian(f)`` is ``jacfwd(jacrev(f))``, exactly as in JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from . import primitives as P
from ._checks import argnums as _check_argnums
from ._checks import check_complex, check_primals_tangents
from ._state import enable_grad
from .backend import backend_of, is_floating
from .pytree import tree_unflatten
from .tensor import Tensor, _make
from .transforms import (
    _output_leaves,
    _Traced,
    _zeros_if_none,
    forward_pusher,
)


def _one_hot(like: Tensor, k: int) -> Tensor:
    xp = backend_of(like.data).xp
    e = xp.zeros(like.data.size, dtype=like.data.dtype)
    e[k] = 1
    return _make(xp.reshape(e, like.data.shape), None, 0, False)


def _assemble(tr: _Traced, outs: list, out_def: Any, blocks: list, argnums) -> Any:
    """Nest the ``blocks[i][j]`` (output leaf i, source j) as JAX does."""
    rows = []
    for i in range(len(outs)):
        per_arg = tr.split(blocks[i])
        rows.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
    return tr.result(tree_unflatten(out_def, rows))


def _block(parts: list, out: Tensor, src: Tensor, axis: int) -> Tensor:
    """Stack the per-element gradients into one ``out.shape + src.shape`` block."""
    if not parts:  # an empty output or input: nothing to stack
        xp = backend_of(src.data).xp
        return _make(xp.zeros(out.shape + src.shape, dtype=src.data.dtype), None, 0, False)
    return P.reshape(P.stack(parts, axis=axis), out.shape + src.shape)


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """The Jacobian of ``fun`` by reverse mode, one row per output element (JAX's
    ``jacrev``).

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors.
    argnums : int or tuple of ints
        Which arguments to differentiate.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the Jacobian function returns ``(jac, aux)``.
    holomorphic : bool
        ``fun`` is holomorphic, with complex inputs and outputs: the result is its
        complex derivative. Without it, the outputs must be real (a real cotangent
        would see only part of a complex one), as in JAX.

    Returns
    -------
    callable
        Returns, per output leaf of shape ``S_out`` and input leaf of shape ``S_in``, a
        tensor of shape ``S_out + S_in``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.jacrev(lambda x: x ** 2)(tg.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), "jacrev")
        tr = _Traced(fun, args, kwargs, nums, "jacrev", has_aux)
        outs, out_def = _output_leaves(tr.out, "jacrev")
        check_complex(tr.srcs, outs, holomorphic, "jacrev", "rev")
        blocks = []
        for o in outs:
            rows = [tr.pull([o], [_one_hot(o, k)]) for k in range(o.size)]
            blocks.append([_block([_zeros_if_none(r[j], s) for r in rows], o, s, 0)
                           for j, s in enumerate(tr.srcs)])
        jac = _assemble(tr, outs, out_def, blocks, argnums)
        return (jac, tr.aux) if has_aux else jac

    jac_fun.__name__ = f"jacrev({getattr(fun, '__name__', 'fun')})"
    return jac_fun


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """The Jacobian of ``fun`` by forward mode, one column per input element (JAX's
    ``jacfwd``). Same arguments and result layout as :func:`jacrev`; cheaper than it when
    there are fewer inputs than outputs.

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors.
    argnums : int or tuple of ints
        Which arguments to differentiate.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the returned function returns ``(result, aux)``.
    holomorphic : bool
        ``fun`` is holomorphic, with complex inputs and outputs: the result is its
        complex derivative. Without it, the differentiated inputs must be real (a real
        tangent would see only part of a complex one), as in JAX.

    Returns
    -------
    callable
        Returns, per output leaf of shape ``S_out`` and input leaf of shape ``S_in``, a
        tensor of shape ``S_out + S_in``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.jacfwd(lambda x: x.sum() * x)(tg.tensor([1.0, 2.0]))
    tensor([[4., 1.],
            [2., 5.]])
    """
    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), "jacfwd")
        tr = _Traced(fun, args, kwargs, nums, "jacfwd", has_aux)
        outs, out_def = _output_leaves(tr.out, "jacfwd")
        check_complex(tr.srcs, outs, holomorphic, "jacfwd", "fwd")
        push = forward_pusher(tr, outs)
        zeros = [_zeros_if_none(None, s) for s in tr.srcs]
        cols = []  # cols[j][k][i]: output leaf i along element k of source j
        for j, s in enumerate(tr.srcs):
            cols.append([push(zeros[:j] + [_one_hot(s, k)] + zeros[j + 1:])
                         for k in range(s.size)])
        # An integer or boolean output has zero blocks of the input's dtype, as jacrev's.
        blocks = [[_block([c[i] for c in cols[j]] if is_floating(o.data.dtype) else [], o, s, -1)
                   for j, s in enumerate(tr.srcs)] for i, o in enumerate(outs)]
        jac = _assemble(tr, outs, out_def, blocks, argnums)
        return (jac, tr.aux) if has_aux else jac

    jac_fun.__name__ = f"jacfwd({getattr(fun, '__name__', 'fun')})"
    return jac_fun


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
             mode: str = "rev", holomorphic: bool = False) -> Callable:
    """The Jacobian of ``fun``: :func:`jacrev` (``mode="rev"``, the default, as HIPS
    autograd's ``jacobian``) or :func:`jacfwd` (``mode="fwd"``).

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors.
    argnums : int or tuple of ints
        Which arguments to differentiate.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the returned function returns ``(result, aux)``.
    mode : {"rev", "fwd"}
        Reverse mode (one sweep per output element) or forward mode (one push per input
        element).
    holomorphic : bool
        As for :func:`jacrev` and :func:`jacfwd`.

    Returns
    -------
    callable
        The Jacobian function, as :func:`jacrev` or :func:`jacfwd` returns it.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.jacobian(lambda x: x ** 2, mode="fwd")(tg.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    return (jacrev if mode == "rev" else jacfwd)(fun, argnums, has_aux, holomorphic)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable:
    """The Hessian of a scalar function, ``jacfwd(jacrev(fun))`` as in JAX.

    Parameters
    ----------
    fun : callable
        A function of pytrees of arrays returning a pytree of tensors.
    argnums : int or tuple of ints
        Which arguments to differentiate.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the returned function returns ``(result, aux)``.
    holomorphic : bool
        ``fun`` is holomorphic in complex inputs (complex second derivative); without
        it the inputs must be real, as in JAX.

    Returns
    -------
    callable
        Returns, for an input leaf of shape ``S``, a tensor of shape ``S + S`` (one block
        per pair of differentiated arguments when there are several).

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.hessian(lambda x: (x ** 3).sum())(tg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)


def hvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """Hessian-vector product of a scalar function, without forming the Hessian.

    Computed reverse-over-reverse: the gradient is recorded, then differentiated in the
    direction ``tangents``. Equals ``jax.jvp(jax.grad(f, argnums=all), primals,
    tangents)[1]``.

    Parameters
    ----------
    fun : callable
        Returns a one-element tensor.
    primals : tuple
        The point (every argument is differentiated; each may be a pytree).
    tangents : tuple
        The direction, one pytree per primal.

    Returns
    -------
    tuple
        One pytree per primal.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.hvp(lambda x: (x ** 3).sum(), (tg.tensor([1.0, 2.0]),), (tg.tensor([1.0, 0.0]),))
    (tensor([6., 0.]),)
    """
    primals, t_leaves = check_primals_tangents(primals, tangents, "hvp")
    tr = _Traced(fun, primals, {}, tuple(range(len(primals))), "hvp")
    tr.graph_from(t_leaves)
    (out,), _ = _output_leaves(tr.out, "hvp")
    if out.size != 1:
        raise TypeError(f"hvp: the function must return a scalar, got shape {out.shape}")
    gs = tr.pull([out], [None], create_graph=True)
    dot = None
    with enable_grad():  # recorded for the second sweep, also under the caller's no_grad
        for g, v in zip(gs, t_leaves):
            if g is not None and g._rg:
                term = P.sum(g * v)
                dot = term if dot is None else dot + term
    hv = tr.pull([dot], [None], keep=False) if dot is not None else [None] * len(tr.srcs)
    return tuple(tr.split(hv))
