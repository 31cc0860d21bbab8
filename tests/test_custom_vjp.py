"""tg.custom_vjp against jax.custom_vjp: eagerly, under create_graph and compiled."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

RNG = np.random.default_rng(2)
X, Y = RNG.standard_normal(3), RNG.standard_normal(3)


def _make(lib):
    """The jax docs' example f(x, y) = sin(x) * y, with a deliberately scaled bwd so the
    custom rule is visibly the one used."""
    xnp = tg if lib is tg else jnp
    f = lib.custom_vjp(lambda x, y: xnp.sin(x) * y)

    def fwd(x, y):
        return f(x, y), (xnp.cos(x), xnp.sin(x), y)

    def bwd(res, g):
        cos_x, sin_x, y = res
        return (3.0 * cos_x * g * y, sin_x * g)

    f.defvjp(fwd, bwd)
    return f


F, JF = _make(tg), _make(jax)


def _loss(f, xnp):
    return lambda x, y: xnp.sum(f(x, y) ** 2)


def test_forward_is_the_primal():
    np.testing.assert_allclose(F(tg.tensor(X), Y).numpy(), np.sin(X) * Y)


def test_gradient_matches_jax_custom_vjp():
    got = tg.grad(_loss(F, tg), argnums=(0, 1))(X, Y)
    want = jax.grad(_loss(JF, jnp), argnums=(0, 1))(X, Y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)


def test_backward_method_and_grad_fn_name():
    x = tg.tensor(X, requires_grad=True)
    out = F(x, Y)
    assert out.grad_fn.name().startswith("CustomVjp[")
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.cos(X) * Y)


def test_second_derivative_matches_jax():
    def g(f, xnp):
        return lambda x: xnp.sum(jax_or_tg_grad(f, xnp)(x) ** 2)

    def jax_or_tg_grad(f, xnp):
        grad = tg.grad if xnp is tg else jax.grad
        return grad(lambda x: xnp.sum(f(x, Y)))

    got = tg.grad(g(F, tg))(X)
    want = jax.grad(g(JF, jnp))(X)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_pytree_arguments_outputs_and_nondiff_argnums():
    @functools.partial(tg.custom_vjp, nondiff_argnums=(0,))
    def scaled(k, p):
        return {"u": p["a"] * k, "v": [p["a"] * p["b"]]}

    def fwd(k, p):
        return scaled(k, p), (p["a"], p["b"])

    def bwd(k, res, g):
        a, b = res
        return ({"a": g["u"] * k + g["v"][0] * b * 2.0, "b": None},)

    scaled.defvjp(fwd, bwd)

    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def jscaled(k, p):
        return {"u": p["a"] * k, "v": [p["a"] * p["b"]]}

    jscaled.defvjp(lambda k, p: (jscaled(k, p), (p["a"], p["b"])),
                   lambda k, res, g: ({"a": g["u"] * k + g["v"][0] * res[1] * 2.0,
                                       "b": jnp.zeros_like(res[1])},))
    p = {"a": X, "b": Y}
    got = tg.grad(lambda p: tg.sum(scaled(1.5, p)["u"]) + tg.sum(scaled(1.5, p)["v"][0]))(p)
    want = jax.grad(lambda p: jnp.sum(jscaled(1.5, p)["u"]) + jnp.sum(jscaled(1.5, p)["v"][0]))(p)
    for k in ("a", "b"):
        np.testing.assert_allclose(got[k].numpy(), want[k], rtol=1e-12)


def test_compiled_matches_eager_and_jax():
    grad = tg.grad(_loss(F, tg), argnums=(0, 1))
    compiled = tg.compile(grad)
    for x in (X, X + 0.5):
        want = jax.grad(_loss(JF, jnp), argnums=(0, 1))(x, Y)
        for g, w in zip(compiled(x, Y), want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)


def test_errors():
    f = tg.custom_vjp(lambda x: x * 2.0)
    with pytest.raises(TypeError, match="defvjp"):
        f(tg.tensor(X, requires_grad=True))
    f.defvjp(lambda x: (x * 2.0, None), lambda res, g: (g, g))
    with pytest.raises(TypeError, match="one entry per differentiable argument"):
        tg.grad(lambda x: tg.sum(f(x)))(X)
