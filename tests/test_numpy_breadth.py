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
    # Full factors of a non-square matrix: values for constants, no gradient.
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        tg.linalg.svd(tg.tensor(np.ones((3, 2)), requires_grad=True))
    with pytest.raises(TypeError, match="subscripts as a string"):
        tg.einsum(np.ones(2), [0], [0])
    with pytest.raises(NotImplementedError, match="m >= n"):
        tg.grad(lambda a: tg.linalg.qr(a)[1].sum())(np.ones((2, 3)))


def test_eigvals_gradient_matches_jax_numpy():
    a = np.random.default_rng(2).standard_normal((2, 3, 3))
    ours = tg.grad(lambda m: tg.sum(tg.real(tg.linalg.eigvals(m) ** 3)))(a).numpy()
    ref = jax.grad(lambda m: jnp.sum(jnp.real(jnp.linalg.eigvals(m) ** 3)))(a)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


def test_eig_values_are_numpys_and_always_complex():
    a = np.array([[2.0, 1.0], [0.0, 3.0]])  # real eigenvalues: NumPy returns floats
    w, v = tg.linalg.eig(a)
    assert w.dtype == np.complex128 and v.dtype == np.complex128
    nw, nv = np.linalg.eig(a)
    np.testing.assert_allclose(w.numpy(), nw)
    np.testing.assert_allclose(v.numpy(), nv)
    assert tg.linalg.eig(a.astype(np.float32))[0].dtype == np.complex64
    with pytest.raises(ValueError, match=r"linalg\.eig: last two dimensions must be square"):
        tg.linalg.eig(np.ones((2, 3)))


def test_eigenvector_gradient_at_repeated_eigenvalues_is_nan_like_jax_eig():
    a = np.diag([1.0, 1.0, 2.0])
    ours = tg.grad(lambda m: tg.sum(tg.real(tg.linalg.eig(m)[1])))(a).numpy()
    ref = np.asarray(jax.grad(lambda m: jnp.sum(jnp.real(jax.lax.linalg.eig(
        m, compute_left_eigenvectors=False, enable_eigvec_derivs=True)[1])))(a))
    assert np.isnan(ref).any() and np.isnan(ours).any()
    eig_only = tg.grad(lambda m: tg.sum(tg.real(tg.linalg.eigvals(m))))(a).numpy()
    np.testing.assert_allclose(eig_only, np.eye(3), atol=1e-12)


def test_selections_match_numpy():
    rng = np.random.default_rng(4)
    x = np.round(rng.standard_normal((3, 5)), 1)
    x[0, 1] = x[1, 2] = 0.0
    for got, want in [
        (tg.nonzero(x), np.nonzero(x)), (tg.flatnonzero(x), np.flatnonzero(x)),
        (tg.argwhere(x), np.argwhere(x)), (tg.argwhere(np.float64(2.0)), np.argwhere(2.0)),
        (tg.count_nonzero(x), np.count_nonzero(x)),
        (tg.count_nonzero(x > 0, axis=1, keepdims=True),
         np.count_nonzero(x > 0, axis=1, keepdims=True)),
        (tg.unique(x), np.unique(x)),
        (tg.unique(x, True, True, True), np.unique(x, True, True, True)),
        (tg.unique(np.array([[1, 2], [1, 2], [0, 1]]), axis=0, return_counts=True),
         np.unique(np.array([[1, 2], [1, 2], [0, 1]]), axis=0, return_counts=True)),
        (tg.unique_all(x), np.unique_all(x)), (tg.unique_counts(x), np.unique_counts(x)),
        (tg.unique_inverse(x), np.unique_inverse(x)), (tg.unique_values(x), np.unique_values(x)),
        (tg.partition(x, 2), np.partition(x, 2)), (tg.partition(x, (0, 3), axis=None),
                                                   np.partition(x, (0, 3), axis=None)),
        (tg.argpartition(x, 1, axis=0), np.argpartition(x, 1, axis=0)),
        (tg.msort(x), np.sort(x, axis=0)),
        (tg.meshgrid(x[0], x[1, :2], indexing="ij"), np.meshgrid(x[0], x[1, :2], indexing="ij")),
    ]:
        got = tuple(got) if isinstance(got, (tuple, list)) else (got,)  # meshgrid: a list
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert isinstance(g, tg.Tensor) and g.shape == np.shape(w)
            np.testing.assert_array_equal(g.numpy(), w)


def test_selections_have_no_gradient():
    x = tg.tensor(np.array([1.0, 0.0, 1.0, 3.0]), requires_grad=True)
    outs = [*tg.nonzero(x), tg.count_nonzero(x), tg.unique(x), *tg.unique_all(x),
            tg.argpartition(x, 1)]
    assert not any(o.requires_grad for o in outs)
    # The values they pick still carry the gradient.
    x[tg.unique(x, return_index=True)[1]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 0.0, 1.0])


def test_real_if_close_matches_numpy():
    for z in (np.array([1 + 1e-16j, 2.0]), np.array([1 + 1e-3j, 2.0]), np.array([1.5, 2.0]),
              np.array([1 + 1e-6j], dtype=np.complex64)):
        got, want = tg.real_if_close(z), np.real_if_close(z)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want)
    assert tg.real_if_close(np.array([1 + 1e-3j]), tol=1e-2).dtype == np.float64


def test_full_and_linspace_values_and_gradients():
    v = tg.tensor(np.float64(1.5), requires_grad=True)
    y = tg.full((2, 3), v)
    assert y.dtype == np.float64 and y.requires_grad
    (y * np.arange(6.0).reshape(2, 3)).sum().backward()
    assert v.grad.item() == 15.0
    assert tg.full(3, np.float64(2.0)).dtype == np.float64  # an array fill keeps its dtype
    for kw in ({}, {"endpoint": False}, {"num": 1}, {"num": 0}, {"axis": -1}):
        s, e = np.array([0.0, 1.0]), np.array([2.0, -3.0])
        np.testing.assert_allclose(tg.linspace(s, e, **{"num": 5, **kw}).numpy(),
                                   np.linspace(s, e, **{"num": 5, **kw}))
        np.testing.assert_allclose(
            tg.linspace(tg.tensor(s, requires_grad=True), e, **{"num": 5, **kw}).numpy(),
            np.linspace(s, e, **{"num": 5, **kw}), rtol=1e-12, atol=1e-12)
    out, step = tg.linspace(0.0, 1.0, 5, retstep=True)
    assert step == 0.25 and out.shape == (5,)
    a = tg.tensor(np.float64(0.5), requires_grad=True)
    out, step = tg.linspace(a, 2.0, 4, retstep=True)
    assert step.requires_grad and out.requires_grad
    with pytest.raises(ValueError, match="full: requires_grad=True makes a leaf"):
        tg.full((2,), v, requires_grad=True)
    with pytest.raises(ValueError, match=r"full: fill_value of shape \(3,\) cannot be"):
        tg.full((2,), tg.tensor(np.ones(3), requires_grad=True))
    with pytest.raises(ValueError, match="linspace: number of samples, -1"):
        tg.linspace(0.0, 1.0, -1)


def test_bad_arguments_name_the_function():
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match="var: pass ddof or correction"):
        tg.var(x, ddof=1, correction=1)
    with pytest.raises(TypeError, match="std: pass ddof or correction"):
        tg.std(x, ddof=0, correction=1)
    np.testing.assert_allclose(tg.std(x * np.arange(3), axis=1, correction=1).numpy(),
                               np.std(x * np.arange(3), axis=1, ddof=1))
    with pytest.raises(ValueError, match="partition: kth 3 is out of bounds"):
        tg.partition(x, 3)
    with pytest.raises(ValueError, match="meshgrid: indexing must be"):
        tg.meshgrid(x[0], indexing="ji")
    with pytest.raises(ValueError, match="nonzero: input must be at least 1-D"):
        tg.nonzero(np.float64(1.0))
    with pytest.raises(ValueError, match="hfft: invalid norm"):
        tg.fft.hfft(x, norm="sideways")
    with pytest.raises(TypeError, match="ihfft: input must be real"):
        tg.fft.ihfft(x + 1j)


def test_compiled_gradients_of_the_new_functions_equal_eager():
    def f(x):
        w = tg.linalg.eigvals(tg.reshape(x, (2, 2)))
        grid = tg.meshgrid(x[:2], x[2:], indexing="ij")[0]
        return (tg.sum(tg.real(w * w)) + tg.sum(tg.linspace(x[0], x[3], 4) ** 2)
                + tg.sum(tg.full((3,), x[1]) * x[2]) + tg.sum(grid * grid[::-1])
                + tg.sum(x * tg.astype(tg.count_nonzero(x > 0.0), x.dtype))
                + tg.var(x, correction=1) + tg.sum(tg.fft.hfft(x * 1.0)))

    compiled = tg.compile(tg.grad(f))
    for x in (np.array([1.0, -2.0, 3.0, 0.5]), np.array([-1.0, 2.0, -3.0, -0.5])):
        np.testing.assert_allclose(compiled(x).numpy(), tg.grad(f)(x).numpy(), rtol=1e-12)


def test_compiled_programs_guard_data_dependent_indices():
    def f(x):
        return (tg.sum(x[tg.nonzero(x > 0.0)] ** 2) + tg.sum(tg.partition(x, 1)[:2])
                + tg.sum(tg.sort(x)[:2] * np.array([1.0, 10.0]))
                + tg.sum(x[tg.unique(tg.floor(x), return_index=True)[1]]))

    compiled = tg.compile(tg.grad(f))
    for x in (np.array([1.0, -2.0, 3.0, 0.5]), np.array([-1.0, 2.0, -3.0, -0.5]),
              np.array([1.0, -2.0, 3.0, 0.5])):
        np.testing.assert_allclose(compiled(x).numpy(), tg.grad(f)(x).numpy(), rtol=1e-12)
