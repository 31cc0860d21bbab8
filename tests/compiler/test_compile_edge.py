"""Compiled programs against eager tapegrad on IEEE and dtype edge cases: NaN, inf and
signed zeros, integer wrap-around, float32 steps inside float64 kernels, numexpr
kernels, and Python numbers in the cache key."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.primitives as P

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-8, -1.5, 2.0])
N = 1 << 15  # above NUMEXPR_MIN_SIZE


def _same(got, want):
    """Same dtype, shape, NaN/inf positions, signs of zeros and values (to rounding)."""
    g, w = got.numpy(), want.numpy()
    assert g.dtype == w.dtype and g.shape == w.shape
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
    np.testing.assert_array_equal(np.signbit(g[g == 0]), np.signbit(w[w == 0]))
    np.testing.assert_allclose(g, w, rtol=1e-6 if g.dtype == np.float32 else 1e-13)


def _check(f, *args, **options):
    copies = [a.copy() for a in args]
    want = f(*[tg.tensor(a) for a in args])
    _same(tg.compile(f, **options)(*args), want)
    for a, c in zip(args, copies):  # the program never writes into its arguments
        np.testing.assert_array_equal(a, c)


def test_log_of_one_plus_is_not_log1p():
    # float32 1 + 1e-8 rounds to 1: eager 1/log(1+x) is inf, log1p would give 1e8
    x = np.array([1e-8, 1e-3, 0.5], np.float32)
    _check(lambda x: 1.0 / P.log(x + 1.0), x)
    _check(lambda x: 1.0 / (P.exp(x) - 1.0), x)


def test_negation_in_a_narrower_dtype_is_kept():
    # -(int32 min) wraps to itself before the float64 addition; u8 negation wraps too
    i = np.array([-2**31, 5, 0], np.int32)
    u = np.array([1, 0, 200], np.uint8)
    for a in (i, u):
        _check(lambda a: 1.0 + (-a), a)
        _check(lambda a: (-a) + 0.5, a)
        _check(lambda a: 2.0 - (-a), a)


def test_power_one_half_follows_numpy():
    # a number exponent is NumPy's sqrt fast path (pow(-inf, .5) = nan, pow(-0., .5) =
    # -0.); an exponent array is C's pow (inf, +0.); float16 never takes the fast path
    x = np.array([[-np.inf, -0.0, 4.0, np.nan]])
    _check(lambda x: x ** 0.5, x)
    _check(lambda x: x ** np.full((1, 4), 0.5), x)
    _check(lambda x: x ** np.full((1, 4), 0.5, np.float32), x.astype(np.float32))
    _check(lambda x: x ** 0.5, x.astype(np.float16))
    _check(lambda x: P.exp(x) ** np.full((3, 1, 4), 0.5), x)


@pytest.mark.parametrize("numexpr", [True, False])
def test_maximum_minimum_nan_and_ties_in_kernels(numexpr):
    a = np.resize(SPECIAL, N)
    b = np.resize(SPECIAL[::-1], N)
    _check(lambda a, b: P.maximum(a * 2.0, b) + 1.0, a, b, numexpr=numexpr)
    _check(lambda a, b: P.minimum(a * 2.0, b) + 1.0, a, b, numexpr=numexpr)
    _check(lambda a: P.maximum(P.sin(a), 0.0) * 3.0, a, numexpr=numexpr)  # relu
    _check(lambda a, b: 1.0 / P.maximum(a * 1.0, b), np.resize([-0.0, 0.0], N),
           np.resize([0.0, -0.0], N), numexpr=numexpr)


def test_numexpr_float32_step_of_a_float64_kernel_rounds_to_float32():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(N).astype(np.float32)
    b = -(a * np.float32(0.1)).astype(np.float64) + 1e-9  # cancels a*0.1 to its rounding
    _check(lambda a, b: (a * 0.1) + b, a, b, numexpr=True)


def test_numexpr_is_not_used_for_complex_or_uint64_inputs():
    y = np.ones(N)
    _check(lambda x, y: (P.abs(x) + y) * 2.0 + 1.0, np.full(N, 3 + 4j), y, numexpr=True)
    _check(lambda x, y: (x * 0.5 + y) * 2.0, np.full(N, 2**63 + 5, np.uint64), y,
           numexpr=True)


def test_sum_of_broadcast_float16_keeps_eager_accumulation():
    x = np.array([[1.0, 2.0, 3.0]], np.float16)
    _check(lambda x: P.sum(P.broadcast_to(x, (70000, 3)), axis=(0,)), x)


def test_signed_zero_python_numbers_get_their_own_program():
    x = np.array([1.0, -2.0])
    f = tg.compile(lambda x, c: (x * 1.0) / c)
    np.testing.assert_array_equal(f(x, 0.0).numpy(), [np.inf, -np.inf])
    np.testing.assert_array_equal(f(x, -0.0).numpy(), [-np.inf, np.inf])
    g = tg.compile(lambda x, cs: (x * 1.0) / cs[0])  # numbers inside a list too
    np.testing.assert_array_equal(g(x, [0.0]).numpy(), [np.inf, -np.inf])
    np.testing.assert_array_equal(g(x, [-0.0]).numpy(), [-np.inf, np.inf])
    # every NaN is the same key: no recompilation on each call
    f(x, float("nan"))
    f(x, float("nan"))
    assert f.cache_entries == 3


def test_compiled_gradients_with_special_values_equal_eager():
    rng = np.random.default_rng(1)
    x = np.resize(SPECIAL, (4, 6))
    y = rng.standard_normal((4, 6)).astype(np.float32)

    def loss(x, y):
        a = P.maximum(x, 0.0) * y + P.minimum(y, x) ** 2
        return (a + 1.0 / P.negative(-y) + P.where(x > 0, x, 0.5 * x)).sum()

    gf = tg.grad(loss, argnums=(0, 1))
    want = gf(x, y)
    for fuse in (True, False):
        got = tg.compile(gf, fuse=fuse, check=True)(x, y)
        for g, w in zip(got, want):
            _same(g, w)
