"""``tg.linalg`` on complex matrices against jax: values and gradients (JAX's convention),
eagerly and compiled (``tg.compile(tg.grad(f))``).

Regression tests for rules that were written for real matrices only: ``svd`` (all three
outputs and ``compute_uv=False``), ``eigh`` / ``eigvalsh`` (which read ``(a + a.T) / 2``
instead of the Hermitian part), ``cholesky`` (the same, and ``upper=True`` without the
conjugate), ``slogdet``'s sign, ``qr`` and ``pinv`` of non-square matrices.

Singular and eigenvectors are unique only up to a phase per column. Where a loss depends
on it, tapegrad's factors are first turned to jax's phases by constant factors (the rules
of both move with the phases, so the gradients then agree whatever LAPACK picks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

jax.config.update("jax_enable_x64", True)

TOL = {np.complex128: dict(rtol=1e-10, atol=1e-10), np.complex64: dict(rtol=2e-3, atol=2e-3)}
SHAPES = [(3, 3), (4, 2), (2, 4), (2, 3, 3), (2, 3, 2)]


def _cplx(rng, shape, dtype=np.complex128):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _phases(ref, got, axis):
    """``d`` with ``got == ref * d`` along ``axis`` (a unit complex per vector)."""
    c = np.sum(np.conj(ref) * got, axis=axis, keepdims=True)
    return c / np.abs(c)


def _check_grad(tg_loss, jax_loss, a, dtype):
    want = np.asarray(jax.grad(jax_loss)(jnp.asarray(a)))
    got = tg.grad(tg_loss)(a).numpy()
    assert got.dtype == a.dtype
    np.testing.assert_allclose(got, want, **TOL[dtype])
    compiled = tg.compile(tg.grad(tg_loss))(a)
    np.testing.assert_allclose(np.asarray(compiled.numpy()), want, **TOL[dtype])


# -- svd ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("part", ["U", "S", "Vh", "all"])
def test_svd_gradients_match_jax(part, shape, dtype):
    rng = np.random.default_rng(sum(shape) + len(part))
    a = _cplx(rng, shape, dtype)
    u_ref, s_ref, vh_ref = (np.asarray(x) for x in jnp.linalg.svd(a, full_matrices=False))
    u, s, vh = (x.numpy() for x in tg.linalg.svd(tg.tensor(a), full_matrices=False))
    np.testing.assert_allclose(s, s_ref, **TOL[dtype])
    d = _phases(u_ref, u, -2)  # U = U_jax D and Vh = D^H Vh_jax
    np.testing.assert_allclose(u * np.conj(d), u_ref, **TOL[dtype])
    np.testing.assert_allclose(vh * np.swapaxes(d, -1, -2), vh_ref, **TOL[dtype])
    cu, cs, cvh = _cplx(rng, u.shape), rng.standard_normal(s.shape), _cplx(rng, vh.shape)
    use = {"U": (1, 0, 0), "S": (0, 1, 0), "Vh": (0, 0, 1), "all": (1, 1, 1)}[part]

    def loss(xp, factors):
        uu, ss, vv = factors
        return (use[0] * xp.sum(xp.real(uu * cu)) + use[1] * xp.sum(ss * cs)
                + use[2] * xp.sum(xp.real(vv * cvh)))

    def tg_loss(x):
        uu, ss, vv = tg.linalg.svd(x, full_matrices=False)
        return loss(tg, (uu * np.conj(d), ss, vv * np.swapaxes(d, -1, -2)))

    _check_grad(tg_loss, lambda x: loss(jnp, jnp.linalg.svd(x, full_matrices=False)), a, dtype)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("shape", SHAPES)
def test_singular_values_gradients_match_jax(shape, dtype):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    a = _cplx(rng, shape, dtype)
    c = rng.standard_normal(shape[:-2] + (min(shape[-2:]),))
    np.testing.assert_allclose(tg.linalg.svd(tg.tensor(a), compute_uv=False).numpy(),
                               np.linalg.svd(a, compute_uv=False), **TOL[dtype])
    _check_grad(lambda x: tg.sum(tg.linalg.svd(x, compute_uv=False) * c)
                + tg.sum(tg.linalg.norm(x, "nuc", axis=(-2, -1))) + tg.sum(tg.linalg.svdvals(x)),
                lambda x: jnp.sum(jnp.linalg.svd(x, compute_uv=False) * c)
                + jnp.sum(jnp.linalg.norm(x, "nuc", axis=(-2, -1)))
                + jnp.sum(jnp.linalg.svdvals(x)), a, dtype)


def test_svd_gauge_invariant_loss_matches_jax_directly():
    # |U|^2 and U @ Vh do not depend on the phases: no alignment needed.
    rng = np.random.default_rng(7)
    a = _cplx(rng, (4, 3))
    c1, c2 = rng.standard_normal((4, 3)), _cplx(rng, (4, 3))

    def loss(xp, x):
        u, s, vh = xp.linalg.svd(x, full_matrices=False)
        return xp.sum(xp.abs(u) ** 2 * c1) + xp.sum(xp.real((u @ vh) * c2))

    _check_grad(lambda x: loss(tg, x), lambda x: loss(jnp, x), a, np.complex128)


def test_svd_second_derivative_matches_jax():
    rng = np.random.default_rng(8)
    a = _cplx(rng, (3, 2))
    c = _cplx(rng, (3, 2))
    w_dir = _cplx(rng, (3, 2))

    def loss(xp, x):  # phase-free: singular values, |U|^2 and U @ Vh
        u, s, vh = xp.linalg.svd(x, full_matrices=False)
        return xp.sum(s ** 3) + xp.sum(xp.abs(u) ** 2 * xp.real(c)) + xp.sum(
            xp.real((u @ vh) * c))

    def tg_inner(x):
        return tg.sum(tg.real(tg.grad(lambda y: loss(tg, y))(x) * w_dir))

    def jax_inner(x):
        return jnp.sum(jnp.real(jax.grad(lambda y: loss(jnp, y))(x) * w_dir))

    np.testing.assert_allclose(tg.grad(tg_inner)(a).numpy(), np.asarray(jax.grad(jax_inner)(a)),
                               rtol=1e-9, atol=1e-9)


# -- eigh, eigvalsh ----------------------------------------------------------------------
def _hermitian(rng, shape, dtype=np.complex128):
    z = _cplx(rng, shape)
    return ((z + np.conj(np.swapaxes(z, -1, -2))) / 2).astype(dtype)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_eigvalsh_of_a_hermitian_matrix(shape, dtype):
    rng = np.random.default_rng(shape[-1])
    a = _hermitian(rng, shape, dtype)
    want = np.linalg.eigvalsh(a)
    np.testing.assert_allclose(tg.linalg.eigvalsh(tg.tensor(a)).numpy(), want, **TOL[dtype])
    np.testing.assert_allclose(tg.linalg.eigh(tg.tensor(a)).eigenvalues.numpy(), want,
                               **TOL[dtype])
    c = rng.standard_normal(want.shape)
    _check_grad(lambda x: tg.sum(tg.linalg.eigvalsh(x) * c),
                lambda x: jnp.sum(jnp.linalg.eigvalsh(x) * c), a, dtype)


@pytest.mark.parametrize("hermitian", [True, False])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_eigh_gradients_match_jax(dtype, hermitian):
    # A non-Hermitian input is read through its Hermitian part (a + a^H) / 2, as in jax.
    rng = np.random.default_rng(11)
    a = _hermitian(rng, (2, 3, 3), dtype) if hermitian else _cplx(rng, (2, 3, 3), dtype)
    w_ref, v_ref = (np.asarray(x) for x in jnp.linalg.eigh(a))
    w, v = (x.numpy() for x in tg.linalg.eigh(tg.tensor(a)))
    np.testing.assert_allclose(w, w_ref, **TOL[dtype])
    d = _phases(v_ref, v, -2)
    np.testing.assert_allclose(v * np.conj(d), v_ref, **TOL[dtype])
    cw, cv = rng.standard_normal(w.shape), _cplx(rng, v.shape)

    def tg_loss(x):
        ww, vv = tg.linalg.eigh(x)
        return tg.sum(ww * cw) + tg.sum(tg.real(vv * np.conj(d) * cv))

    def jax_loss(x):
        ww, vv = jnp.linalg.eigh(x)
        return jnp.sum(ww * cw) + jnp.sum(jnp.real(vv * cv))

    _check_grad(tg_loss, jax_loss, a, dtype)


def test_eigh_second_derivative_matches_jax():
    rng = np.random.default_rng(5)
    a = _hermitian(rng, (3, 3))
    c = _cplx(rng, (3, 3))
    w_dir = _cplx(rng, (3, 3))

    def loss(xp, x):  # phase-free: |v|^2 and the eigenvalues
        ww, vv = xp.linalg.eigh(x)
        return xp.sum(ww ** 2) + xp.sum(xp.abs(vv) ** 2 * xp.real(c))

    def tg_inner(x):
        return tg.sum(tg.real(tg.grad(lambda y: loss(tg, y))(x) * w_dir))

    def jax_inner(x):
        return jnp.sum(jnp.real(jax.grad(lambda y: loss(jnp, y))(x) * w_dir))

    np.testing.assert_allclose(tg.grad(tg_inner)(a).numpy(), np.asarray(jax.grad(jax_inner)(a)),
                               rtol=1e-9, atol=1e-9)


# -- cholesky, slogdet, qr, pinv ------------------------------------------------------------
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_of_a_hermitian_matrix(upper):
    rng = np.random.default_rng(2)
    z = _cplx(rng, (2, 3, 3))
    a = z @ np.conj(np.swapaxes(z, -1, -2)) + 3 * np.eye(3)
    low = np.linalg.cholesky(a)
    want = np.conj(np.swapaxes(low, -1, -2)) if upper else low
    np.testing.assert_allclose(tg.linalg.cholesky(tg.tensor(a), upper=upper).numpy(), want,
                               rtol=1e-12, atol=1e-12)
    c = _cplx(rng, a.shape)
    perturbed = a + 0.2 * _cplx(rng, a.shape)  # read through its Hermitian part
    for x in (a, perturbed):
        _check_grad(lambda m: tg.sum(tg.real(tg.linalg.cholesky(m, upper=upper) * c)),
                    lambda m: jnp.sum(jnp.real(jnp.linalg.cholesky(m, upper=upper) * c)),
                    x, np.complex128)


def test_slogdet_sign_gradient_matches_jax():
    rng = np.random.default_rng(4)
    a = _cplx(rng, (2, 3, 3))
    c1, c2 = _cplx(rng, (2,)), rng.standard_normal(2)

    def loss(xp, x):
        sign, logabsdet = xp.linalg.slogdet(x)
        return xp.sum(xp.real(sign * c1)) + xp.sum(logabsdet * c2)

    _check_grad(lambda x: loss(tg, x), lambda x: loss(jnp, x), a, np.complex128)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3, 2)])
def test_qr_gradients_match_jax(shape):
    rng = np.random.default_rng(shape[-2])
    a = _cplx(rng, shape)
    q_ref, r_ref = (np.asarray(x) for x in jnp.linalg.qr(a))
    q, r = (x.numpy() for x in tg.linalg.qr(tg.tensor(a)))
    d = _phases(q_ref, q, -2)  # Q = Q_jax D and R = D^H R_jax
    np.testing.assert_allclose(q * np.conj(d), q_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r * np.swapaxes(d, -1, -2), r_ref, rtol=1e-12, atol=1e-12)
    cq, cr = _cplx(rng, q.shape), _cplx(rng, r.shape)

    def tg_loss(x):
        qq, rr = tg.linalg.qr(x)
        return (tg.sum(tg.real(qq * np.conj(d) * cq))
                + tg.sum(tg.real(rr * np.swapaxes(d, -1, -2) * cr)))

    def jax_loss(x):
        qq, rr = jnp.linalg.qr(x)
        return jnp.sum(jnp.real(qq * cq)) + jnp.sum(jnp.real(rr * cr))

    _check_grad(tg_loss, jax_loss, a, np.complex128)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 2, 3)])
def test_pinv_gradients_match_jax(shape):
    rng = np.random.default_rng(shape[-1] * 3)
    a = _cplx(rng, shape)
    c = _cplx(rng, shape[:-2] + shape[-2:][::-1])
    np.testing.assert_allclose(tg.linalg.pinv(tg.tensor(a)).numpy(), np.linalg.pinv(a),
                               rtol=1e-12, atol=1e-12)
    _check_grad(lambda x: tg.sum(tg.real(tg.linalg.pinv(x) * c)),
                lambda x: jnp.sum(jnp.real(jnp.linalg.pinv(x) * c)), a, np.complex128)


# -- the holomorphic ones: det, inv, solve, matrix_power, eigvals --------------------------
def test_holomorphic_matrix_functions_match_jax():
    rng = np.random.default_rng(9)
    a = _cplx(rng, (2, 3, 3)) + 3 * np.eye(3)
    b = _cplx(rng, (2, 3, 2))
    c = _cplx(rng, (2, 3, 3))

    def loss(xp, x):
        m = (xp.linalg.inv(x) + xp.linalg.matrix_power(x, 3) + xp.linalg.matrix_power(x, -2)
             + xp.linalg.solve(x, b)[..., :1] * xp.linalg.det(x)[..., None, None])
        return xp.sum(xp.real(m * c)) + xp.sum(xp.imag(xp.linalg.eigvals(x) ** 2))

    _check_grad(lambda x: loss(tg, x), lambda x: loss(jnp, x), a, np.complex128)
