"""tg.checkpoint: same values and gradients (first and second order, compiled) as the
plain function, with the inside of the block recomputed rather than stored."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad as tg

RNG = np.random.default_rng(3)
W1, W2, X = RNG.standard_normal((4, 4)), RNG.standard_normal((4, 4)), RNG.standard_normal(4)
calls = {"n": 0}


def _block(w, x):
    calls["n"] += 1
    return tg.tanh(w @ x) * x


def _jblock(w, x):
    return jnp.tanh(w @ x) * x


def _model(block, xnp):
    return lambda w1, w2, x: xnp.sum(block(w2, block(w1, x)) ** 2)


def test_gradients_match_jax_and_block_is_recomputed():
    ck = tg.checkpoint(_block)
    calls["n"] = 0
    w1 = tg.tensor(W1, requires_grad=True)
    w2 = tg.tensor(W2, requires_grad=True)
    loss = _model(ck, tg)(w1, w2, X)
    assert calls["n"] == 2
    node = loss.grad_fn
    while node.prim.name != "checkpoint":  # the block left one record, not its insides
        node = node.args[0]._node
    loss.backward()
    assert calls["n"] == 4  # each block ran again in backward
    want = jax.grad(_model(_jblock, jnp), argnums=(0, 1))(W1, W2, X)
    np.testing.assert_allclose(w1.grad.numpy(), want[0], rtol=1e-12)
    np.testing.assert_allclose(w2.grad.numpy(), want[1], rtol=1e-12)


def test_matches_jax_checkpoint_second_order():
    f = lambda x: tg.sum(tg.grad(_model(tg.checkpoint(_block), tg), argnums=2)(W1, W2, x))  # noqa: E731
    jf = lambda x: jnp.sum(jax.grad(_model(jax.checkpoint(_jblock), jnp), argnums=2)(W1, W2, x))  # noqa: E731
    np.testing.assert_allclose(tg.grad(f)(X).numpy(), jax.grad(jf)(X), rtol=1e-10)


def test_pytree_input_and_output():
    def block(p):
        return {"y": tg.sin(p["x"]) * p["s"], "z": (p["x"] ** 2,)}

    ck = tg.checkpoint(block)
    f = lambda x: tg.sum(ck({"x": x, "s": 2.0})["y"]) + tg.sum(ck({"x": x, "s": 2.0})["z"][0])  # noqa: E731
    np.testing.assert_allclose(tg.grad(f)(X).numpy(), 2 * np.cos(X) + 2 * X, rtol=1e-12)


def test_no_graph_calls_the_function_directly():
    out = tg.checkpoint(_block)(tg.tensor(W1), tg.tensor(X))
    assert out.grad_fn is None
    np.testing.assert_allclose(out.numpy(), np.tanh(W1 @ X) * X)


def test_compiled_matches_jax():
    compiled = tg.compile(tg.grad(_model(tg.checkpoint(_block), tg), argnums=(0, 1)))
    for x in (X, X * 2):
        want = jax.grad(_model(_jblock, jnp), argnums=(0, 1))(W1, W2, x)
        for g, w in zip(compiled(W1, W2, x), want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)
