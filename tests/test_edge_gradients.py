"""Gradients and values at the edges the op-spec draws stay away from: zero exponents,
negative bases, NaN, integer dtypes, tuple axes, broadcast size-1 operands, empty and
complex matrices, ``ddof >= n``. Each case is compared with jax, with PyTorch where the
two disagree by convention, or with NumPy for values and dtypes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

try:  # not in the test extra: the PyTorch comparison runs where it is installed
    import torch
except ImportError:
    torch = None


def tg_grad(f, *args, argnums=0):
    return [g.numpy() for g in tg.grad(f, argnums=argnums)(*args)]


def jax_grad(f, *args, argnums=0):
    return [np.asarray(g) for g in jax.grad(f, argnums=argnums)(*args)]


# -- power: x**y at y == 0, and a negative Python base -----------------------------------
@pytest.mark.parametrize("y", [np.array([0, 1, 2]), np.array([0.0, 1.0, 2.0])])
def test_power_zero_exponent_at_zero_base(y):
    # x**0 is constant in x, so its derivative is 0, also at x == 0 (PyTorch; JAX too
    # for integer exponents, where the float rule y * x**(y-1) would give 0 * inf).
    x = np.array([0.0, 0.0, 3.0])  # 0**0, 0**1, 3**2
    (gx,) = tg_grad(lambda a: tg.sum(a ** y), x, argnums=(0,))
    np.testing.assert_allclose(gx, [0.0, 1.0, 6.0])  # d/dx of x**0, x**1, x**2
    if torch is not None:
        xt = torch.tensor(x, requires_grad=True)
        (xt ** torch.tensor(y)).sum().backward()
        np.testing.assert_allclose(gx, xt.grad.numpy())
    if y.dtype.kind == "i":
        (ref,) = jax_grad(lambda a: jnp.sum(a ** y), x, argnums=(0,))
        np.testing.assert_allclose(gx, ref)


def test_power_mixed_second_derivative_at_zero_exponent():
    # Only x == y == 0 is masked: d/dy (y * x**(y-1)) = 1/x at y == 0 stays exact.
    x, y = np.array([1.0, 2.0, 0.5]), np.zeros(3)

    def tg_mixed(a, b):
        return tg.sum(tg.grad(lambda u, v: tg.sum(u ** v))(a, b))

    def jax_mixed(a, b):
        return jnp.sum(jax.grad(lambda u, v: jnp.sum(u ** v))(a, b))

    (got,) = tg_grad(tg_mixed, x, y, argnums=(1,))
    (ref,) = jax_grad(jax_mixed, x, y, argnums=(1,))
    np.testing.assert_allclose(got, ref)
    np.testing.assert_allclose(got, 1.0 / x)


def test_power_negative_number_base():
    # d/dy (-2)**y = (-2)**y * log(-2): NaN as in JAX (it used to raise from math.log).
    y = np.array([2.0, 3.0])
    (gy,) = tg_grad(lambda b: tg.sum((-2.0) ** b), y, argnums=(0,))
    (ref,) = jax_grad(lambda b: jnp.sum((-2.0) ** b), y, argnums=(0,))
    np.testing.assert_array_equal(np.isnan(gy), np.isnan(ref))
    (gy,) = tg_grad(lambda b: tg.sum(3.0 ** b), y, argnums=(0,))
    (ref,) = jax_grad(lambda b: jnp.sum(3.0 ** b), y, argnums=(0,))
    np.testing.assert_allclose(gy, ref)


# -- median: tuple axes, NaN, integer input ---------------------------------------------
@pytest.mark.parametrize("axis", [(0, 1), (2, 0), (0, 1, 2), -1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_median_axes(axis, keepdims):
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    w = np.random.default_rng(1).standard_normal(np.median(x, axis, keepdims=keepdims).shape)
    out = tg.median(tg.tensor(x), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.numpy(), np.median(x, axis=axis, keepdims=keepdims))
    (g,) = tg_grad(lambda a: tg.sum(tg.median(a, axis, keepdims) * w), x, argnums=(0,))
    (ref,) = jax_grad(lambda a: jnp.sum(jnp.median(a, axis, keepdims=keepdims) * w), x,
                      argnums=(0,))
    np.testing.assert_allclose(g, ref)


def test_median_nan_and_integers():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(tg.median(tg.tensor(x), axis=1).numpy(),
                                  np.median(x, axis=1))
    (g,) = tg_grad(lambda a: tg.sum(tg.median(a, axis=1)), x, argnums=(0,))
    (ref,) = jax_grad(lambda a: jnp.sum(jnp.median(a, axis=1)), x, argnums=(0,))
    np.testing.assert_array_equal(g, ref)  # the NaN row gets no gradient
    xi = np.arange(6).reshape(2, 3)
    for axis in (None, 1):
        out = tg.median(tg.tensor(xi), axis=axis).numpy()
        assert out.dtype == np.median(xi, axis=axis).dtype == np.float64
        np.testing.assert_array_equal(out, np.median(xi, axis=axis))


# -- einsum with a size-1 axis broadcast against another operand ---------------------------
@pytest.mark.parametrize("spec,shapes", [
    ("ij,j->i", [(2, 3), (1,)]),
    ("ij,j->i", [(2, 1), (3,)]),
    ("ij,ij->i", [(2, 1), (1, 3)]),
    ("ii,i->i", [(3, 3), (1,)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    ("a,a->", [(0,), (1,)]),
])
def test_einsum_broadcast_size_one(spec, shapes):
    rng = np.random.default_rng(2)
    ops = [rng.standard_normal(s) for s in shapes]
    argnums = tuple(range(len(ops)))
    got = tg_grad(lambda *a: tg.sum(tg.einsum(spec, *a) ** 2), *ops, argnums=argnums)
    ref = jax_grad(lambda *a: jnp.sum(jnp.einsum(spec, *a) ** 2), *ops, argnums=argnums)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


# -- det: complex matrices (conjugate transposes in the adjugate), the empty matrix -------
@pytest.mark.parametrize("part", [jnp.abs, jnp.real, jnp.imag])
def test_det_complex(part):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3))
    # A singular one too (rank n - 1: the adjugate is exact there), except under abs,
    # which has no derivative at det == 0.
    if part is not jnp.abs:
        a[1] = np.outer([1 + 1j, 2 - 1j, 0.5j], [1, 2j, 3]) + np.outer([1, 0, 1j], [0.3, 1, 1j])
    tg_part = getattr(tg, part.__name__)
    (g,) = tg_grad(lambda m: tg.sum(tg_part(tg.linalg.det(m))), a, argnums=(0,))
    (ref,) = jax_grad(lambda m: jnp.sum(part(jnp.linalg.det(m))), a, argnums=(0,))
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-10)


def test_det_empty_matrix():
    a = np.zeros((2, 0, 0))
    np.testing.assert_array_equal(tg.linalg.det(tg.tensor(a)).numpy(), [1.0, 1.0])
    (g,) = tg_grad(lambda m: tg.sum(tg.linalg.det(m)), a, argnums=(0,))
    assert g.shape == (2, 0, 0)


# -- dtypes: integer input keeps NumPy's result dtype -------------------------------------
@pytest.mark.parametrize("name,fn,ref", [
    ("tril", lambda t: tg.tril(t, -1), lambda x: np.tril(x, -1)),
    ("triu", lambda t: tg.triu(t, 1), lambda x: np.triu(x, 1)),
    ("triu_bool", lambda t: tg.triu(t > 2), lambda x: np.triu(x > 2)),
    ("nansum", lambda t: tg.nansum(t, axis=0), lambda x: np.nansum(x, axis=0)),
    ("cross_2_3", lambda t: tg.cross(t[:, :2], t), lambda x: np.cross(x[:, :2], x)),
    ("copysign", lambda t: tg.copysign(t, -1), lambda x: np.copysign(x, -1)),
    ("copysign_int8", lambda t: tg.copysign(tg.astype(t, np.int8), -1),
     lambda x: np.copysign(x.astype(np.int8), -1)),
    ("norm", tg.linalg.norm, np.linalg.norm),
    ("norm_ord1", lambda t: tg.linalg.norm(t, ord=1, axis=1),
     lambda x: np.linalg.norm(x, ord=1, axis=1)),
    ("matrix_norm_inf", lambda t: tg.linalg.norm(t, ord=np.inf),
     lambda x: np.linalg.norm(x, ord=np.inf)),
])
def test_integer_dtypes_follow_numpy(name, fn, ref):
    x = np.arange(6).reshape(2, 3)
    out = fn(tg.tensor(x)).numpy()
    want = np.asarray(ref(x))
    assert out.dtype == want.dtype, name
    np.testing.assert_allclose(out, want)


def test_tril_float32_gradient_stays_float32():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    (g,) = tg_grad(lambda m: tg.sum(tg.tril(m) * 2.0), x, argnums=(0,))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, np.tril(np.full((2, 3), 2.0, np.float32)))


# -- logsumexp over an empty axis, var/std with ddof >= n ---------------------------------
def test_logsumexp_empty():
    x = np.zeros((0, 3))
    for axis in (0, None):
        out = tg.logsumexp(tg.tensor(x), axis=axis).numpy()
        np.testing.assert_array_equal(out, jax.scipy.special.logsumexp(x, axis=axis))
    (g,) = tg_grad(lambda m: tg.sum(tg.logsumexp(m, axis=0)), x, argnums=(0,))
    assert g.shape == (0, 3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's "degrees of freedom <= 0"
@pytest.mark.parametrize("ddof", [4, 5])
def test_var_ddof_at_least_n(ddof):
    x = np.array([1.0, 3.0, 3.0, 0.0])
    np.testing.assert_array_equal(tg.var(tg.tensor(x), ddof=ddof).numpy(), np.var(x, ddof=ddof))
    # 1 / (n - ddof) is infinite: the gradient is +-inf (var) and NaN (std), not an error.
    (g,) = tg_grad(lambda m: tg.var(m, ddof=ddof), x, argnums=(0,))
    np.testing.assert_array_equal(g, np.sign(x - x.mean()) * np.inf)
    (g,) = tg_grad(lambda m: tg.std(m, ddof=ddof), x, argnums=(0,))
    assert np.isnan(g).all()
