"""Compiled gradients of composed functions equal eager tapegrad and jax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _models import data

import tapegrad as tg

jax.config.update("jax_enable_x64", True)

MODELS = sorted(data())


def _argnums(args):
    return tuple(i for i, a in enumerate(args) if a.ndim or i == 1)


@pytest.mark.parametrize("name", MODELS)
def test_compiled_grad_equals_eager_and_jax(name):
    fn, args = data()[name]
    nums = tuple(range(len(args))) if name not in ("mlp", "logistic") else \
        (0, 1, 2, 3) if name == "mlp" else (0, 1)
    compiled = tg.compile(tg.grad(fn, argnums=nums), check=True)
    got = compiled(*args)
    eager = tg.grad(fn, argnums=nums)(*args)
    ref = jax.grad(lambda *a: fn(*a, m=jnp), argnums=nums)(*map(jnp.asarray, args))
    assert isinstance(got, tuple) and len(got) == len(nums)
    for g, e, r in zip(got, eager, ref):
        assert isinstance(g, tg.Tensor)
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g.numpy(), np.asarray(r), rtol=1e-8, atol=1e-10)
    # A second call with new values reuses the program and stays right.
    _, args2 = data(seed=1)[name]
    got2 = compiled(*args2)
    eager2 = tg.grad(fn, argnums=nums)(*args2)
    for g, e in zip(got2, eager2):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10, atol=1e-12)
    assert compiled.cache_entries == 1


@pytest.mark.parametrize("name", ["mlp", "attention", "chain100"])
def test_float32_and_tensor_arguments(name):
    fn, args = data(dtype=np.float32)[name]
    compiled = tg.compile(tg.grad(fn))
    targs = [tg.tensor(a) for a in args]
    got = compiled(*targs)
    eager = tg.grad(fn)(*targs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), eager.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fuse", [True, False])
def test_value_and_grad_with_and_without_fusion(fuse):
    fn, args = data()["mlp"]
    compiled = tg.compile(tg.value_and_grad(fn, argnums=(0, 2)), fuse=fuse, check=True)
    (v, (g0, g2)) = compiled(*args)
    ve, (e0, e2) = tg.value_and_grad(fn, argnums=(0, 2))(*args)
    assert v.shape == () and isinstance(v.data, np.ndarray)
    np.testing.assert_allclose(v.numpy(), ve.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g0.numpy(), e0.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g2.numpy(), e2.numpy(), rtol=1e-10, atol=1e-12)


def test_compile_forward_function_and_structures():
    def f(d, xs):
        return {"sum": (d["a"] * xs[0]).sum(), "parts": [d["a"] + 1.0, tg.exp(xs[1])]}

    cf = tg.compile(f)
    d = {"a": np.arange(3.0)}
    xs = (np.ones(3), np.zeros(2))
    got, want = cf(d, xs), f(d, xs)
    assert set(got) == {"sum", "parts"} and isinstance(got["parts"], list)
    assert isinstance(got["sum"], tg.Tensor)  # outputs are tensors
    np.testing.assert_allclose(got["sum"].numpy(), np.asarray(want["sum"]))
    for g, w in zip(got["parts"], want["parts"]):
        np.testing.assert_allclose(g.numpy(), np.asarray(w))


def test_second_derivative_compiles():
    f = tg.compile(tg.grad(tg.grad(lambda x: tg.sin(x) * x)))
    x = np.array(0.7)
    want = jax.grad(jax.grad(lambda x: jnp.sin(x) * x))(0.7)
    np.testing.assert_allclose(f(x).numpy(), want, rtol=1e-12)


def test_tape_compile_reuses_program_with_new_sources():
    w = tg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    x = np.array([1.0, 2.0, 3.0])
    with tg.tape() as t:
        y = (tg.tanh(w * x) ** 2).sum()
    grad_w = t.compile(w, y)
    for new in (np.array([0.1, 0.2, 0.3]), np.array([-1.0, 0.0, 1.0])):
        want = jax.grad(lambda w: (jnp.tanh(w * x) ** 2).sum())(new)
        np.testing.assert_allclose(grad_w(new).numpy(), want, rtol=1e-12)
    assert grad_w.cache_entries == 1


def test_tape_compile_several_sources_and_unconnected():
    a = tg.tensor(2.0, dtype="float64", requires_grad=True)
    b = tg.tensor(3.0, dtype="float64", requires_grad=True)
    c = tg.tensor(1.0, dtype="float64", requires_grad=True)
    with tg.tape() as t:
        y = a * b + a
    prog = t.compile([a, b, c], y)
    ga, gb, gc = prog(np.array(1.0), np.array(5.0), np.array(0.0))
    assert ga.item() == 6.0 and gb.item() == 1.0 and gc is None
