"""``with tg.tape() as t`` (GradientTape semantics) and the grad transforms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg


def test_watch_and_gradient_structure():
    a = tg.tensor([1.0, 2.0])
    b = tg.tensor(3.0, requires_grad=True)  # watched automatically
    with tg.tape() as t:
        t.watch(a)
        y = (a * a).sum() * b
    ga, gb = t.gradient(y, (a, b))
    np.testing.assert_allclose(ga.numpy(), [6.0, 12.0])
    assert gb.item() == pytest.approx(5.0)
    assert not a.requires_grad  # watch is undone once the tape is used
    assert a.grad is None and b.grad is None  # tapes never touch .grad


def test_gradient_returns_list_for_list_sources_and_none_when_unconnected():
    x = tg.tensor(1.0, requires_grad=True)
    z = tg.tensor(2.0, requires_grad=True)
    with tg.tape(persistent=True) as t:
        y = x * 4
    gx, gz = t.gradient(y, [x, z])
    assert gx.item() == 4.0 and gz is None
    gz0 = t.gradient(y, [z], unconnected="zero")[0]
    assert gz0.item() == 0.0


def test_non_persistent_tape_allows_one_gradient():
    x = tg.tensor(1.0, requires_grad=True)
    with tg.tape() as t:
        y = x * x
    t.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent tape can only compute one"):
        t.gradient(y, x)


def test_persistent_tape_allows_many():
    x = tg.tensor(3.0, requires_grad=True)
    with tg.tape(persistent=True) as t:
        y = x * x
        z = y * x
    assert t.gradient(y, x).item() == pytest.approx(6.0)
    assert t.gradient(z, x).item() == pytest.approx(27.0)


def test_nested_tapes_give_second_derivatives():
    x = tg.tensor(2.0, dtype="float64", requires_grad=True)
    with tg.tape() as outer:
        with tg.tape() as inner:
            y = x ** 3
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert dy.item() == pytest.approx(12.0)
    assert d2y.item() == pytest.approx(12.0)


def test_gradient_of_intermediate_source():
    x = tg.tensor(2.0, requires_grad=True)
    with tg.tape() as t:
        h = x * 3
        y = h * h
    assert t.gradient(y, h).item() == pytest.approx(12.0)


def test_tape_prints_numbered_wengert_list():
    x1 = tg.tensor(2.0, requires_grad=True)
    with tg.tape() as t:
        y = x1.square() * 0.2 - 5
    text = str(t)
    assert len(t) == 3
    lines = text.splitlines()
    assert lines[0] == "inputs %0: float32[]"
    assert lines[1].startswith("%1 = pow %0, 2.0") and lines[1].endswith("# PowBackward0")
    assert lines[2].startswith("%2 = mul %1, 0.2") and lines[2].endswith("# MulBackward1")
    assert lines[3].startswith("%3 = sub %2, 5") and lines[3].endswith("# SubBackward1")
    assert [n.name() for n in t] == ["PowBackward0", "MulBackward1", "SubBackward1"]
    assert y.item() == pytest.approx(-4.2)


def test_gradient_errors():
    x = tg.tensor(1.0, requires_grad=True)
    with tg.tape() as t:
        y = x * 2
    with pytest.raises(TypeError, match="sources must be a tensor or a list"):
        t.gradient(y, [np.ones(1)])
    with pytest.raises(ValueError, match="unconnected must be"):
        t.gradient(y, x, unconnected="nan")
    with pytest.raises(TypeError, match="tape.watch: expected tensors"):
        t.watch(3.0)


def _f(w, x):
    return tg.sum(tg.tanh(x @ w) ** 2)


def _jf(w, x):
    return jnp.sum(jnp.tanh(x @ w) ** 2)


def test_grad_matches_jax_with_argnums():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    gw, gx = tg.grad(_f, argnums=(0, 1))(w, x)
    jw, jx = jax.grad(_jf, argnums=(0, 1))(w, x)
    np.testing.assert_allclose(gw.numpy(), jw, rtol=1e-10)
    np.testing.assert_allclose(gx.numpy(), jx, rtol=1e-10)
    np.testing.assert_allclose(tg.grad(_f)(w, x).numpy(), jw, rtol=1e-10)
    np.testing.assert_allclose(tg.grad(_f, argnums=-1)(w, x).numpy(), jx, rtol=1e-10)


def test_value_and_grad_and_has_aux():
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    v, g = tg.value_and_grad(_f)(w, x)
    jv, jg = jax.value_and_grad(_jf)(w, x)
    assert v.item() == pytest.approx(float(jv))
    np.testing.assert_allclose(g.numpy(), jg, rtol=1e-10)
    (v2, aux), g2 = tg.value_and_grad(lambda w, x: (_f(w, x), "aux"), has_aux=True)(w, x)
    assert aux == "aux" and v2.item() == pytest.approx(float(jv))
    g3, aux3 = tg.grad(lambda w: (_f(w, x), 7), has_aux=True)(w)
    assert aux3 == 7
    np.testing.assert_allclose(g3.numpy(), jg, rtol=1e-10)


def test_grad_of_grad_matches_jax():
    f = lambda x: tg.sum(tg.sin(x) * x ** 3)  # noqa: E731
    jf = lambda x: jnp.sum(jnp.sin(x) * x ** 3)  # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    h = tg.grad(lambda x: tg.sum(tg.grad(f)(x)))(x)
    jh = jax.grad(lambda x: jnp.sum(jax.grad(jf)(x)))(x)
    np.testing.assert_allclose(h.numpy(), jh, rtol=1e-10)


def test_grad_avoids_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = d/dx [x] = 1, not 2.
    def outer(x):
        return x * tg.grad(lambda y: x + y)(x)

    assert tg.grad(outer)(tg.tensor(1.0)).item() == pytest.approx(1.0)


def test_grad_errors():
    with pytest.raises(TypeError, match="grad: the function must return a scalar"):
        tg.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(ValueError, match="argnums"):
        tg.grad(_f, argnums=5)(np.ones((3, 2)), np.ones((4, 3)))
    with pytest.raises(TypeError, match="floating-point inputs"):
        tg.grad(lambda x: x.sum())(np.arange(3))
    with pytest.raises(TypeError, match="has_aux=True the function must return a pair"):
        tg.grad(lambda x: x.sum(), has_aux=True)(np.ones(3))


def test_grad_of_unconnected_argument_is_zeros():
    g = tg.grad(lambda x, y: (x * 2).sum(), argnums=1)(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(g.numpy(), np.zeros(3))
