"""Behaviour of the NumPy-breadth functions beyond the op-spec table: gradients that
must not exist are NaN (never silently finite), compiled gradients equal eager ones, and
functions accept plain arrays."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

jax.config.update("jax_enable_x64", True)


def test_eigenvector_gradient_at_repeated_eigenvalues_is_nan_like_jax():
    a = np.diag([1.0, 1.0, 2.0])
    ours = tg.grad(lambda m: tg.linalg.eigh(m)[1].sum())(a).numpy()
    ref = np.asarray(jax.grad(lambda m: jnp.linalg.eigh(m)[1].sum())(a))
    assert np.isnan(ref).any() and np.isnan(ours).any()


def test_eigenvalue_gradient_at_repeated_eigenvalues_is_exact():
    a = np.eye(3)
    w = np.array([0.0, 1.0, 2.0])
    ours = tg.grad(lambda m: (tg.linalg.eigvalsh(m) * w).sum())(a).numpy()
    ref = jax.grad(lambda m: (jnp.linalg.eigvalsh(m) * w).sum())(a)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("body", [
    lambda a, x: tg.linalg.norm(tg.einsum("ij,j->i", a, x)) + tg.linalg.det(a),
    lambda a, x: tg.sort(a @ x).sum() + tg.cumprod(x).sum() + tg.linalg.slogdet(a)[1],
    lambda a, x: tg.real(tg.fft.rfft(x)).sum() + tg.linalg.eigh(a + a.T)[0].sum()
    + tg.linalg.solve(a, x).sum() + tg.trace(tg.linalg.inv(a)),
], ids=["einsum-norm-det", "sort-cumprod-slogdet", "fft-eigh-solve-inv"])
def test_compiled_gradient_equals_eager(body):
    rng = np.random.default_rng(0)
    a, x = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal(3)
    eager = tg.grad(body, argnums=(0, 1))(a, x)
    compiled = tg.compile(tg.grad(body, argnums=(0, 1)))
    for _ in range(2):  # the second call runs the cached program
        for e, c in zip(eager, compiled(a, x)):
            np.testing.assert_allclose(c.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)


def test_functions_take_plain_arrays():
    x = np.arange(6.0).reshape(2, 3)
    for out, ref in [(tg.flip(x), np.flip(x)), (tg.tile(x, 2), np.tile(x, 2)),
                     (tg.cumsum(x, 1), np.cumsum(x, 1)), (tg.kron(x, x), np.kron(x, x)),
                     (tg.fft.fft(x), np.fft.fft(x)), (tg.linalg.pinv(x), np.linalg.pinv(x))]:
        assert isinstance(out, tg.Tensor)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_unsupported_variants_say_so():
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        tg.linalg.svd(np.ones((3, 2)))
    with pytest.raises(TypeError, match="subscripts as a string"):
        tg.einsum(np.ones(2), [0], [0])
    with pytest.raises(NotImplementedError, match="m >= n"):
        tg.grad(lambda a: tg.linalg.qr(a)[1].sum())(np.ones((2, 3)))
