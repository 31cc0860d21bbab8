"""``t.jacobian`` (TensorFlow's GradientTape.jacobian) equals tg.jacobian and jax."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

A = np.random.default_rng(0).standard_normal((3, 4))


def f(w):
    return tg.tanh(A @ w)


def test_matches_functional_jacobian_and_closed_form():
    w0 = np.random.default_rng(1).standard_normal((4, 2))
    w = tg.tensor(w0)
    with tg.tape() as t:
        t.watch(w)
        y = f(w)
    jac = t.jacobian(y, w).numpy()
    assert jac.shape == (3, 2, 4, 2)
    np.testing.assert_allclose(jac, tg.jacobian(f)(w0).numpy(), rtol=1e-12)
    # closed form: d tanh(A w)[i, j] / d w[k, l] = (1 - y[i, j]**2) A[i, k] [j == l]
    yv = np.tanh(A @ w0)
    want = np.einsum("ij,ik,jl->ijkl", 1 - yv ** 2, A, np.eye(2))
    np.testing.assert_allclose(jac, want, rtol=1e-12)


def test_structures_unconnected_and_persistence():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    z = tg.tensor([3.0], requires_grad=True)
    with tg.tape(persistent=True) as t:
        y = x * x
    out = t.jacobian(y, {"x": x, "z": z})
    np.testing.assert_array_equal(out["x"].numpy(), np.diag([2.0, 4.0]))
    assert out["z"] is None
    assert t.jacobian(y, [z], unconnected="zero")[0].shape == (2, 1)
    with tg.tape() as once:
        y = x * x
    once.jacobian(y, x)
    with pytest.raises(RuntimeError, match="tape.jacobian: a non-persistent tape"):
        once.jacobian(y, x)
    with pytest.raises(ValueError, match="tape.jacobian: unconnected must be"):
        t.jacobian(y, x, unconnected="nan")


def test_nested_tapes_give_second_derivatives():
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    with tg.tape() as outer:
        with tg.tape() as inner:
            y = (x ** 3).sum()
        g = inner.jacobian(y, x)          # 3 x**2
    h = outer.jacobian(g, x)              # diag(6 x)
    np.testing.assert_allclose(h.numpy(), np.diag([3.0, -6.0]), rtol=1e-6)
