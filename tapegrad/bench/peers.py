"""How each workload runs in each system: tapegrad's three modes and the peers.

A *variant* turns a :class:`~tapegrad.bench.workloads.Workload` into a zero-argument
callable that computes the gradient once (the thing that is timed), plus a way to read
its result back as NumPy arrays (the thing the tests check). Peers that are not
installed, and combinations that make no sense, raise :class:`Skip` with the reason.
"""

from __future__ import annotations

import functools
import importlib.util
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .workloads import Workload


class Skip(Exception):
    """This variant cannot run here; the message says why."""


class Variant(NamedTuple):
    """One way of computing a workload's gradient.

    ``build(workload, args, quick)`` returns the callable to time; ``to_numpy`` turns
    what it returns into a tuple of NumPy arrays.
    """

    name: str
    label: str
    build: Callable[[Workload, tuple, bool], Callable[[], Any]]
    to_numpy: Callable[[Any], tuple]


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise Skip(f"{module} is not installed")


# -- tapegrad ----------------------------------------------------------------------
def _tg_leaves(w: Workload, args: tuple):
    import tapegrad as tg

    call_args = list(args)
    leaves = []
    for i in w.argnums:
        leaf = tg.tensor(args[i], requires_grad=True)
        call_args[i] = leaf
        leaves.append(leaf)
    return call_args, leaves


def _tg_eager(w: Workload, args: tuple, quick: bool):
    """PyTorch style: leaves with ``requires_grad``, ``loss.backward()``, read ``.grad``."""
    import tapegrad as tg

    f = w.function(tg, quick)
    call_args, leaves = _tg_leaves(w, args)
    return _backward_runner(w, f, call_args, leaves)


def _backward_runner(w: Workload, f, call_args, leaves):
    """PyTorch-style step shared by tapegrad eager and PyTorch: reset, backward, read."""
    if w.kind == "forward":
        return lambda: f(*call_args)

    def run():
        for leaf in leaves:
            leaf.grad = None
        f(*call_args).backward()
        return tuple(leaf.grad for leaf in leaves)

    return run


def _tg_tape(w: Workload, args: tuple, quick: bool):
    """TensorFlow style: ``with tg.tape() as t`` and ``t.gradient(loss, sources)``."""
    import tapegrad as tg

    f = w.function(tg, quick)
    call_args, leaves = _tg_leaves(w, args)

    def run():
        with tg.tape() as t:
            out = f(*call_args)
        if w.kind == "forward":
            return out
        return t.gradient(out, leaves)

    return run


@functools.cache
def compiler_status() -> str | None:
    """None when ``tg.compile(tg.grad(f))`` works, else why compiled variants are skipped."""
    import tapegrad as tg

    try:
        g = tg.compile(tg.grad(lambda x: (x * x).sum()))
        got = _tensor_data(g(np.arange(3.0)))
    except Exception as e:  # the compiler may be absent or incomplete
        return f"tg.compile is not available yet ({type(e).__name__}: {e})"
    if not np.allclose(got, [0.0, 2.0, 4.0]):
        return "tg.compile(tg.grad(f)) gives a wrong gradient on a probe"
    return None


def _tg_compiled(w: Workload, args: tuple, quick: bool):
    """JAX style: ``tg.compile(tg.grad(f, argnums))`` called on NumPy arrays."""
    import tapegrad as tg

    reason = compiler_status()
    if reason is not None:
        raise Skip(reason)
    f = w.function(tg, quick)
    g = tg.compile(f if w.kind == "forward" else tg.grad(f, argnums=w.argnums))
    return lambda: g(*args)


def _tensor_data(t) -> np.ndarray:
    return np.asarray(getattr(t, "data", t))


def _tg_to_numpy(out) -> tuple:
    return tuple(_tensor_data(t) for t in _as_tuple(out))


# -- hand-written NumPy ------------------------------------------------------------
def _numpy(w: Workload, args: tuple, quick: bool):
    ref = w.reference(quick)
    return lambda: ref(*args)


# -- PyTorch -----------------------------------------------------------------------
@functools.cache
def torch_ops() -> types.SimpleNamespace:
    """The operations ``Workload.loss`` uses, spelled for PyTorch."""
    import torch

    def _reduce(fn):
        return lambda x, axis=None: fn(x) if axis is None else fn(x, dim=axis)

    return types.SimpleNamespace(
        sin=torch.sin, tanh=torch.tanh, exp=torch.exp, log1p=torch.log1p,
        square=torch.square, sum=_reduce(torch.sum), mean=_reduce(torch.mean),
        logsumexp=lambda x, axis, keepdims=False: torch.logsumexp(x, dim=axis,
                                                                   keepdim=keepdims),
    )


def _torch(w: Workload, args: tuple, quick: bool):
    """PyTorch eager on the CPU: leaves with ``requires_grad``, ``backward()``."""
    _require("torch")
    import torch

    f = w.function(torch_ops(), quick)
    call_args = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    leaves = [call_args[i].clone().requires_grad_(True) for i in w.argnums]
    for i, leaf in zip(w.argnums, leaves):
        call_args[i] = leaf
    return _backward_runner(w, f, call_args, leaves)


def _torch_to_numpy(out) -> tuple:
    return tuple(t.detach().numpy() for t in _as_tuple(out))


# -- JAX ---------------------------------------------------------------------------
@functools.cache
def jax_ops() -> types.SimpleNamespace:
    """The operations ``Workload.loss`` uses, spelled for ``jax.numpy``."""
    import jax

    # float64 workloads must stay float64 in JAX too.
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    return types.SimpleNamespace(sin=jnp.sin, tanh=jnp.tanh, exp=jnp.exp, log1p=jnp.log1p,
                                 square=jnp.square, sum=jnp.sum, mean=jnp.mean,
                                 logsumexp=logsumexp)


def _jax_args(args: tuple) -> list:
    import jax.numpy as jnp

    return [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]


def _jax(jit: bool):
    def build(w: Workload, args: tuple, quick: bool):
        _require("jax")
        import jax

        f = w.function(jax_ops(), quick)
        g = f if w.kind == "forward" else jax.grad(f, argnums=w.argnums)
        if jit:
            g = jax.jit(g)
        jargs = _jax_args(args)
        return lambda: jax.block_until_ready(g(*jargs))

    build.__doc__ = ("``jax.jit(jax.grad(f))``" if jit else "``jax.grad(f)``, not jitted")
    return build


# -- HIPS autograd -----------------------------------------------------------------
@functools.cache
def autograd_ops() -> types.SimpleNamespace:
    """The operations ``Workload.loss`` uses, spelled for HIPS ``autograd.numpy``."""
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    return types.SimpleNamespace(sin=anp.sin, tanh=anp.tanh, exp=anp.exp, log1p=anp.log1p,
                                 square=anp.square, sum=anp.sum, mean=anp.mean,
                                 logsumexp=logsumexp)


def _autograd(w: Workload, args: tuple, quick: bool):
    """HIPS ``autograd.grad(f, argnum=...)``."""
    _require("autograd")
    if w.kind == "forward":
        raise Skip("HIPS autograd records operations only inside grad")
    import autograd

    g = autograd.grad(w.function(autograd_ops(), quick), argnum=w.argnums)
    return lambda: g(*args)


def _arrays_to_numpy(out) -> tuple:
    return tuple(np.asarray(a) for a in _as_tuple(out))


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("numpy", "NumPy (hand)", _numpy, _arrays_to_numpy),
    Variant("eager", "tapegrad eager", _tg_eager, _tg_to_numpy),
    Variant("tape", "tapegrad tape", _tg_tape, _tg_to_numpy),
    Variant("compiled", "tapegrad compiled", _tg_compiled, _tg_to_numpy),
    Variant("torch", "PyTorch eager", _torch, _torch_to_numpy),
    Variant("jax_jit", "jax.jit(grad)", _jax(True), _arrays_to_numpy),
    Variant("jax", "jax.grad", _jax(False), _arrays_to_numpy),
    Variant("autograd", "HIPS autograd", _autograd, _arrays_to_numpy),
]}


def build(workload: Workload, variant: str, quick: bool = False,
          args: tuple | None = None) -> Callable[[], Any]:
    """The zero-argument callable computing ``workload`` with ``variant``.

    Raises
    ------
    Skip
        When the variant does not apply to the workload or its system is not installed.
    """
    if workload.variants is not None and variant not in workload.variants:
        raise Skip(f"{variant} is not run on {workload.name}")
    if args is None:
        args = workload.make_inputs(quick)
    return VARIANTS[variant].build(workload, args, quick)
