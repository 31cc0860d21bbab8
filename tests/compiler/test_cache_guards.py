"""The cache never returns a stale answer: signatures, guards, recompile reasons."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import tapegrad as tg


def _mse(w, x):
    return ((x @ w) ** 2).mean()


def test_same_signature_hits_and_new_shape_recompiles_with_reason():
    f = tg.compile(tg.grad(_mse))
    w = np.ones((3, 2), np.float32)
    f(w, np.ones((4, 3), np.float32))
    f(w * 2, np.full((4, 3), 2.0, np.float32))
    assert f.cache_entries == 1
    got = f(w, np.ones((6, 3), np.float32))
    np.testing.assert_allclose(got.numpy(), tg.grad(_mse)(w, np.ones((6, 3), np.float32)).numpy())
    assert f.cache_entries == 2
    assert f.recompiles == ["first call", "argument 1 shape (4, 3) -> (6, 3)"]


def test_dtype_and_tensor_arguments_get_their_own_entries():
    f = tg.compile(tg.grad(_mse))
    x32 = np.ones((2, 3), np.float32)
    w = np.ones((3, 1), np.float32)
    assert f(w, x32).dtype == np.float32
    g64 = f(w.astype(np.float64), x32.astype(np.float64))
    assert g64.dtype == np.float64
    assert "argument 0 dtype float32 -> float64" in f.recompiles[1]
    f(tg.tensor(w), x32)
    assert "argument 0 type ndarray -> tensor" in f.recompiles[2]
    assert f.cache_entries == 3


def test_recompile_reason_is_logged(caplog):
    f = tg.compile(tg.grad(_mse))
    with caplog.at_level(logging.INFO, logger="tapegrad.compiler"):
        f(np.ones((3, 1)), np.ones((128, 3)))
        f(np.ones((3, 1)), np.ones((64, 3)))
    assert "argument 1 shape (128, 3) -> (64, 3)" in caplog.text


def test_static_argnums_and_python_numbers_are_part_of_the_key():
    def f(x, n, scale):
        for _ in range(n):
            x = tg.sin(x) * scale
        return x.sum()

    c = tg.compile(tg.grad(f), static_argnums=(1,))
    x = np.linspace(0, 1, 5)
    for n, s in [(1, 2.0), (2, 2.0), (2, 3.0), (1, 2.0)]:
        np.testing.assert_allclose(c(x, n, s).numpy(), tg.grad(f)(x, n, s).numpy())
    assert c.cache_entries == 3
    assert "argument 1 static value 1 -> 2" in c.recompiles[1]
    with pytest.raises(TypeError, match="hashable"):
        c(x, [1], 2.0)


def test_pytree_structure_is_part_of_the_key():
    def f(params, x):
        return sum(((x * p) ** 2).sum() for p in params["ws"])

    c = tg.compile(tg.grad(f, argnums=1))
    x = np.ones(3)
    one = {"ws": [np.ones(3)]}
    two = {"ws": [np.ones(3), np.full(3, 2.0)]}
    np.testing.assert_allclose(c(one, x).numpy(), tg.grad(f, argnums=1)(one, x).numpy())
    np.testing.assert_allclose(c(two, x).numpy(), tg.grad(f, argnums=1)(two, x).numpy())
    assert c.cache_entries == 2


def test_guard_on_python_branch_recompiles_instead_of_stale_answer():
    def f(x):
        if x.sum() > 0:
            return (x * 2.0).sum()
        return (x ** 3).sum()

    c = tg.compile(tg.grad(f))
    pos, neg = np.ones(3), -np.ones(3)
    for x in (pos, neg, pos, neg):
        np.testing.assert_allclose(c(x).numpy(), tg.grad(f)(x).numpy())
    assert "guard 0" in c.recompiles[1] and "read True while tracing, now False" in c.recompiles[1]
    # Both branches are cached under the same signature: no further recompiles.
    assert len(c.recompiles) == 2


def test_item_and_float_reads_become_guards():
    def f(x):
        k = int(x.max().item())
        return (x * float(k)).sum()

    c = tg.compile(f)
    assert c(np.array([1.0, 2.5])).item() == pytest.approx(7.0)
    assert c(np.array([1.0, 3.5])).item() == pytest.approx(13.5)
    assert len(c.recompiles) == 2


def test_index_argument_values_are_guarded():
    def f(x, idx):
        return (x[idx] ** 2).sum()

    c = tg.compile(tg.grad(f))
    x = np.arange(5.0)
    for idx in (np.array([0, 0, 3]), np.array([1, 1, 1]), np.array([0, 0, 3])):
        np.testing.assert_allclose(c(x, idx).numpy(), tg.grad(f)(x, idx).numpy())
    assert "used as an index" in c.recompiles[1]


def test_lru_is_bounded():
    c = tg.compile(lambda x: x * 2.0, cache_size=2)
    for n in range(1, 5):
        c(np.ones(n))
    assert c.cache_entries == 2
    np.testing.assert_allclose(c(np.ones(1)).numpy(), [2.0])
    assert c.recompiles[-1].startswith("argument 0 shape")


def test_outputs_do_not_alias_program_constants():
    c = tg.compile(lambda x: (x * 0.0 + 1.0))
    a = c(np.ones(2))
    a.data[:] = 5.0
    np.testing.assert_allclose(c(np.ones(2)).numpy(), [1.0, 1.0])


def test_keyword_arguments_and_decorator_form():
    @tg.compile
    def f(x, *, scale, bias):
        return (x * scale + bias).sum()

    x = np.arange(3.0)
    assert f(x, scale=2.0, bias=np.ones(3)).item() == pytest.approx(9.0)
    assert f(x, scale=3.0, bias=np.ones(3)).item() == pytest.approx(12.0)
    assert "keyword argument 'scale' static value 2.0 -> 3.0" in f.recompiles[1]
    g = tg.compile(static_argnums=1)(lambda x, n: (x ** n).sum())
    assert g(x, 2).item() == pytest.approx(5.0)


def test_repeated_guard_failures_warn():
    def f(x):
        return x * float(x.sum())  # reads a value that changes on every call

    c = tg.compile(f)
    with pytest.warns(UserWarning, match="recompiled 8 times"):
        for k in range(10):
            np.testing.assert_allclose(c(np.full(2, float(k))).numpy(), 2.0 * k * k)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(static_argnums=1.5), TypeError, "static_argnums must be ints, got 1.5"),
    (dict(static_argnums=-1), ValueError, "non-negative positions"),
    (dict(fuze=False), TypeError, "unknown option.*fuze.*expected some of"),
    (dict(cache_size=0), ValueError, "cache_size must be a positive int"),
])
def test_bad_compile_arguments_are_refused_at_once(kwargs, error, match):
    with pytest.raises(error, match=match):
        tg.compile(lambda x, n: (x * n).sum(), **kwargs)


def test_static_argnums_out_of_range_names_the_call():
    f = tg.compile(tg.grad(lambda x, n: (x * n).sum()), static_argnums=2)
    with pytest.raises(TypeError, match=r"static_argnums \[2\] but was called with 2"):
        f(np.ones(2), 3.0)
    with pytest.raises(TypeError, match="compile: expected a callable, got int"):
        tg.compile(3)
    g = tg.compile(tg.grad(lambda x, n: (x * n).sum()), static_argnums=np.int64(1))
    np.testing.assert_allclose(g(np.ones(2), 3.0).numpy(), [3.0, 3.0])
