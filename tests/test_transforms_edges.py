"""Edge cases of the function transforms, against jax: pullbacks and tangents that
carry a graph, auxiliary data, hvp's argument checks, dict key order in pytrees,
complex dtypes (``holomorphic=``), and Jacobian shapes and dtypes."""

from __future__ import annotations

from collections import OrderedDict, defaultdict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

jax.config.update("jax_enable_x64", True)

X = np.array([0.3, -0.5, 0.9])
CT = np.array([1.0, 2.0, -3.0])
Z = np.array([0.5 + 1.0j, -1.0 + 0.2j])


def _close(got, want, rtol=1e-10):
    got = jax.tree_util.tree_map(lambda v: v.numpy(), got,
                                 is_leaf=lambda v: isinstance(v, tg.Tensor))
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        w = np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-12)


def _f(a):
    return tg.sin(a) * a


def _jf(a):
    return jnp.sin(a) * a


def test_pullback_differentiated_by_a_later_transform():
    _, pullback = tg.vjp(_f, X)
    _, jpullback = jax.vjp(_jf, X)
    _close(tg.grad(lambda c: tg.sum(pullback(c)[0] ** 2))(CT),
           jax.grad(lambda c: jnp.sum(jpullback(c)[0] ** 2))(CT))
    _close(tg.jacrev(lambda c: pullback(c)[0])(CT), jax.jacrev(lambda c: jpullback(c)[0])(CT))
    _close(pullback(CT), jpullback(CT))  # still usable, and detached, at the top level
    assert not pullback(CT)[0].requires_grad


def test_tangents_and_cotangents_that_require_grad_stay_recorded():
    def want(fn):
        return jax.grad(lambda t: jnp.sum(fn(t) ** 2))(CT)

    jhvp = jax.grad(lambda a: jnp.sum(jnp.sin(a) * a ** 2))
    _, jpullback = jax.vjp(_jf, X)
    cases = [
        (lambda t: tg.jvp(_f, (X,), (t,))[1], lambda t: jax.jvp(_jf, (X,), (t,))[1]),
        (lambda t: tg.hvp(lambda a: tg.sum(tg.sin(a) * a ** 2), (X,), (t,))[0],
         lambda t: jax.jvp(jhvp, (X,), (t,))[1]),
        (lambda t: tg.vjp(_f, X)[1](t)[0], lambda t: jpullback(t)[0]),
    ]
    for fn, jfn in cases:
        t = tg.tensor(CT, requires_grad=True)
        tg.sum(fn(t) ** 2).backward()
        _close(t.grad, want(jfn))


def test_aux_is_detached_at_top_level_but_differentiable_inside():
    g, aux = tg.grad(lambda a: (tg.sum(a * a), {"t": a * 2.0}), has_aux=True)(X)
    assert aux["t"]._node is None and not aux["t"].requires_grad
    _, aux = tg.jacrev(lambda a: (a * a, a * 2.0), has_aux=True)(X)
    assert aux._node is None

    def outer(lib, grad):
        return lambda b: lib.sum(grad(lambda a: (lib.sum(a * b), a * b), has_aux=True)(b)[1])
    _close(tg.grad(outer(tg, tg.grad))(X), jax.grad(outer(jnp, jax.grad))(X))


def test_hvp_checks_its_arguments():
    f = lambda a: tg.sum(a ** 3)  # noqa: E731
    for bad in (np.array([1.0]), np.ones((2, 3)), X + 1j):
        with pytest.raises(ValueError, match="hvp: tangent 0"):
            tg.hvp(f, (X,), (bad,))
    with pytest.raises(TypeError, match="hvp: primals and tangents must be tuples"):
        tg.hvp(f, X, X)


def test_dicts_are_ordered_by_key_as_in_jax():
    d1, d2 = {"b": X, "a": 2.0 * X}, {"a": CT, "b": 2.0 * CT}
    f = lambda d: {"b": d["b"] * d["a"], "a": tg.sin(d["a"])}  # noqa: E731
    jf = lambda d: {"b": d["b"] * d["a"], "a": jnp.sin(d["a"])}  # noqa: E731
    _close(tg.vjp(f, d1)[1](d2), jax.vjp(jf, d1)[1](d2))
    _close(tg.jvp(f, (d1,), (d2,)), jax.jvp(jf, (d1,), (d2,)))
    _close(tg.tree_map(lambda u, v: tg.tensor(u + v), d1, d2),
           jax.tree_util.tree_map(lambda u, v: u + v, d1, d2))
    assert list(tg.grad(lambda d: tg.sum(d["b"] * d["a"]))(d1)) == ["a", "b"]
    for tree in ({"b": 1, "a": (2, None, [3])}, OrderedDict(b=1, a=2),
                 defaultdict(list, b=1, a=2)):
        leaves, treedef = tg.tree_flatten(tree)
        assert leaves == jax.tree_util.tree_leaves(tree)
        back = tg.tree_unflatten(treedef, leaves)
        assert type(back) is type(tree) and back == tree


@pytest.mark.parametrize("kind", [OrderedDict, lambda **kw: defaultdict(list, **kw)])
def test_grad_of_ordered_and_default_dicts(kind):
    p = kind(b=X, a=2.0 * X)
    loss = lambda lib: lambda d: lib.sum(d["b"] * d["a"] ** 2)  # noqa: E731
    got = tg.grad(loss(tg))(p)
    assert type(got) is type(p) and list(got) == list(jax.grad(loss(jnp))(p))
    _close(got, jax.grad(loss(jnp))(p))


def test_non_holomorphic_complex_jacobians_raise_as_in_jax():
    with pytest.raises(TypeError, match="jacrev: got complex outputs"):
        tg.jacrev(lambda a: tg.exp(a * 1j))(X)  # would drop the imaginary part
    with pytest.raises(TypeError, match="jacfwd: got complex inputs"):
        tg.jacfwd(lambda z: tg.abs(z) ** 2)(Z)
    with pytest.raises(TypeError, match="jacfwd: got complex inputs"):
        tg.hessian(lambda z: tg.sum(tg.abs(z) ** 4))(Z)
    with pytest.raises(TypeError, match="inputs must be complex"):
        tg.grad(lambda a: tg.sum(a * 1j), holomorphic=True)(X)
    with pytest.raises(TypeError, match="outputs must be complex"):
        tg.jacrev(lambda z: tg.abs(z), holomorphic=True)(Z)
    # real-valued functions of complex inputs keep JAX's gradient convention
    _close(tg.jacrev(lambda z: tg.abs(z) ** 2)(Z), jax.jacrev(lambda z: jnp.abs(z) ** 2)(Z))
    _close(tg.jacfwd(lambda a: tg.exp(a * 1j))(X), jax.jacfwd(lambda a: jnp.exp(a * 1j))(X))


def test_holomorphic_derivatives_match_jax():
    f = lambda lib: lambda z: lib.sin(z) * z  # noqa: E731
    s = lambda lib: lambda z: lib.sum(lib.sin(z) * z)  # noqa: E731
    for name in ("jacrev", "jacfwd"):
        _close(getattr(tg, name)(f(tg), holomorphic=True)(Z),
               getattr(jax, name)(f(jnp), holomorphic=True)(Z))
    _close(tg.hessian(s(tg), holomorphic=True)(Z), jax.hessian(s(jnp), holomorphic=True)(Z))
    _close(tg.value_and_grad(s(tg), holomorphic=True)(Z),
           jax.value_and_grad(s(jnp), holomorphic=True)(Z))


def test_jacobian_shapes_and_dtypes():
    x = np.random.default_rng(0).standard_normal((2, 3))
    f = lambda lib: lambda a: lib.stack([lib.sum(a), a[0, 1] * a[1, 2], lib.sum(a ** 3)])  # noqa: E731
    want = np.asarray(jax.jacrev(f(jnp))(x))
    assert want.shape == (3, 2, 3)
    hess = np.diag(6.0 * x.ravel()).reshape(2, 3, 2, 3)
    for dt, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        for name in ("jacrev", "jacfwd"):
            got = getattr(tg, name)(f(tg))(x.astype(dt))
            assert got.shape == (3, 2, 3) and got.dtype == dt
            np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=rtol)
        got = tg.hessian(lambda a: tg.sum(a ** 3))(x.astype(dt))
        assert got.shape == (2, 3, 2, 3) and got.dtype == dt
        np.testing.assert_allclose(got.numpy(), hess, rtol=rtol, atol=rtol)
    # integer and boolean outputs: zero blocks of the input's dtype in both modes
    for name in ("jacrev", "jacfwd"):
        jac = getattr(tg, name)(lambda a: (tg.argmax(a), a > 0))(X)
        assert all(j.dtype == np.float64 and not j.numpy().any() for j in jac)
