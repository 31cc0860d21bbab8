"""Gradients of ``x[idx] = v`` with repeated indices, and of ``logaddexp`` /
``logaddexp2`` at infinite arguments: eager and compiled, against jax and PyTorch.

With a repeated index NumPy (and jax's ``x.at[idx].set(v)``) keeps the last write, so
an overwritten element of ``v`` has no effect on the result and gets no gradient.
"""

from __future__ import annotations

import array_api_strict as xs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

try:  # not in the test extra: the PyTorch comparison runs where it is installed
    import torch
except ImportError:
    torch = None
from tapegrad._inplace import setitem

RNG = np.random.default_rng(7)

# (shape of x, index, shape of v): v of the indexed region's shape or broadcast into it
CASES = {
    "repeat_1d": ((4,), (np.array([1, 1, 3]),), (3,)),
    "negative_aliases_positive": ((4,), (np.array([1, -3, 2]),), (3,)),
    "repeat_rows_broadcast_v": ((4, 3), (np.array([2, 0, 2]),), (3,)),
    "repeat_scalar_v": ((4, 3), (np.array([1, 1]),), ()),
    "repeat_2d_index_array": ((4, 3), (np.array([[1, 2], [1, 0]]), np.array([0, 0])),
                              (2, 2)),
    "repeat_pairs_around_slice": ((4, 3, 5), (np.array([1, 1, 2]), slice(None),
                                              np.array([4, -1, -1])), (3, 3)),
    "repeat_pairs_after_int": ((4, 3, 5), (np.array([1, 1, 2]), 0, np.array([4, 4, -1])),
                               (3,)),
    "repeat_after_ellipsis": ((4, 3, 5), (Ellipsis, np.array([0, -5])), (4, 3, 2)),
    "mask_with_repeats": ((4, 3), (np.array([True, False, True, True]),
                                   np.array([0, 0, 2])), (3,)),
    "no_repeat_array": ((4, 3), (np.array([3, 0]),), (2, 3)),
    "mask": ((4, 3), (np.array([True, False, True, True]),), (3,)),
    "slices": ((4, 3), (slice(1, 3), slice(None, None, 2)), (2,)),
}


def _setitem_grads(shape, idx, v_shape):
    x, v = RNG.standard_normal(shape), RNG.standard_normal(v_shape)
    w = RNG.standard_normal(shape)

    def f(x, v):
        return tg.sum(tg.sin(setitem(x, idx, v)) * w)

    def jf(x, v):
        return jnp.sum(jnp.sin(x.at[idx].set(v)) * w)

    eager = tg.grad(f, argnums=(0, 1))(x, v)
    compiled = tg.compile(tg.grad(f, argnums=(0, 1)))(x, v)
    ref = jax.jit(jax.grad(jf, argnums=(0, 1)))(x, v)
    return eager, compiled, ref


@pytest.mark.parametrize("name", list(CASES))
def test_setitem_gradients_match_jax_eager_and_compiled(name):
    eager, compiled, ref = _setitem_grads(*CASES[name])
    for e, c, r in zip(eager, compiled, ref):
        np.testing.assert_allclose(e.numpy(), np.asarray(r), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(c.numpy(), e.numpy(), rtol=1e-12, atol=1e-15)


def test_setitem_overwritten_value_gets_no_gradient():
    x, v, w = np.arange(4.0) / 3, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    idx = (np.array([1, 1, 3]),)
    gx, gv = tg.grad(lambda x, v: tg.sum(setitem(x, idx, v) * w), argnums=(0, 1))(x, v)
    np.testing.assert_array_equal(gv.numpy(), [0.0, 2.0, 4.0])  # v[0] is overwritten
    np.testing.assert_array_equal(gx.numpy(), [1.0, 0.0, 3.0, 0.0])  # written places: 0
    # The in-place operator follows the same rule.
    xt, vt = tg.tensor(x, requires_grad=True), tg.tensor(v, requires_grad=True)
    y = xt * 1.0
    y[[1, -3, 3]] = vt
    tg.sum(y * w).backward()
    np.testing.assert_array_equal(vt.grad.numpy(), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(xt.grad.numpy(), [1.0, 0.0, 3.0, 0.0])


def test_setitem_repeats_on_the_array_api_namespace():
    dev = xs.Device("device1")
    x, v = xs.asarray(np.ones((4, 3)), device=dev), xs.asarray([1.0, 2.0, 3.0], device=dev)
    idx = xs.asarray([1, 1, -1], device=dev)
    gx, gv = tg.grad(lambda x, v: tg.sum(setitem(x, (slice(None), idx), v) * x),
                     argnums=(0, 1))(x, v)
    assert isinstance(gv.data, type(v)) and gv.data.device == dev
    np.testing.assert_array_equal(np.asarray(xs.asarray(gv.data, device=xs.Device("CPU_DEVICE"))),
                                  [0.0, 4.0, 4.0])
    want_x = np.array([[2.0, 2.0, 3.0]] * 4)  # out + x * (x where not written)
    np.testing.assert_array_equal(
        np.asarray(xs.asarray(gx.data, device=xs.Device("CPU_DEVICE"))), want_x)


# -- logaddexp, logaddexp2 at infinite arguments ---------------------------------------
INF = np.inf
POINTS = [(INF, 0.0), (0.0, INF), (INF, -INF), (-INF, INF), (-INF, 0.0), (0.0, -INF),
          (INF, INF), (-INF, -INF), (1.0, 2.0), (-3.0, 0.5)]
OPS = [(tg.logaddexp, "logaddexp", np.e), (tg.logaddexp2, "logaddexp2", 2.0)]


def _limit_grads(base, x, y):
    """d/dx and d/dy of log_base(base**x + base**y): 1 / (1 + base**(y - x)), with the
    limits at infinities (1 and 0 for the larger and smaller; 1/2 each on a tie)."""
    with np.errstate(invalid="ignore", over="ignore"):
        gx = np.where(x == y, 0.5, 1.0 / (1.0 + base ** (y - x)))
    return gx, 1.0 - gx


def _torch_grads(op, x, y):
    a = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    op(a, b).backward()
    return a.grad.numpy(), b.grad.numpy()


@pytest.mark.parametrize(("op", "name", "base"), OPS, ids=["logaddexp", "logaddexp2"])
def test_logaddexp_gradients_at_infinities(op, name, base):
    x = np.array([p[0] for p in POINTS])
    y = np.array([p[1] for p in POINTS])

    def f(a, b):
        return tg.sum(op(a, b))

    finite = ~(np.isneginf(x) & np.isneginf(y))
    with np.errstate(invalid="raise"):  # no inf - inf away from (-inf, -inf)
        tg.grad(f, argnums=(0, 1))(x[finite], y[finite])
    eager = [g.numpy() for g in tg.grad(f, argnums=(0, 1))(x, y)]
    compiled = [g.numpy() for g in tg.compile(tg.grad(f, argnums=(0, 1)))(x, y)]
    want = np.array(_limit_grads(base, x[finite], y[finite]))
    if torch is not None:  # PyTorch agrees, except that it gives NaN for two +inf
        ref = getattr(torch, name)
        got = np.array([_torch_grads(ref, a, b) for a, b in zip(x[finite], y[finite])]).T
        tie = (x[finite] == INF) & (y[finite] == INF)
        np.testing.assert_allclose(got[:, ~tie], want[:, ~tie], rtol=1e-12)
    for e, c, w in zip(eager, compiled, want):
        np.testing.assert_allclose(e[finite], w, rtol=1e-12)
        np.testing.assert_allclose(c, e, rtol=1e-12)
    # (-inf, -inf) stays NaN, as PyTorch and JAX give it.
    assert np.isnan(eager[0][~finite]).all() and np.isnan(eager[1][~finite]).all()


@pytest.mark.parametrize(("op", "ref"), [(tg.logaddexp, jnp.logaddexp),
                                         (tg.logaddexp2, jnp.logaddexp2)],
                         ids=["logaddexp", "logaddexp2"])
def test_logaddexp_second_derivatives_match_jax(op, ref):
    x, y = np.array([1.0, -2.0, 0.3, 4.0]), np.array([2.0, -2.0, -1.0, 50.0])

    def mixed(a, b):
        return tg.sum(tg.grad(lambda u, v: tg.sum(op(u, v) ** 2), argnums=(0,))(a, b)[0])

    def jmixed(a, b):
        return jnp.sum(jax.grad(lambda u, v: jnp.sum(ref(u, v) ** 2))(a, b))

    got = tg.grad(mixed, argnums=(0, 1))(x, y)
    for g, r in zip(got, jax.grad(jmixed, argnums=(0, 1))(x, y)):
        np.testing.assert_allclose(g.numpy(), np.asarray(r), rtol=1e-12)
