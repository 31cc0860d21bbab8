"""The function transforms against their jax counterparts: grad/value_and_grad on
pytrees, vjp, jvp, jacrev, jacfwd, jacobian, hessian, hvp; nesting and tg.compile."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

RNG = np.random.default_rng(0)
TOL = dict(rtol=1e-9, atol=1e-10)


def _np(tree):
    """Tensors (and jax arrays) of a pytree as NumPy arrays."""
    return jax.tree_util.tree_map(
        lambda v: v.numpy() if isinstance(v, tg.Tensor) else np.asarray(v), tree,
        is_leaf=lambda v: isinstance(v, tg.Tensor))


def _close(got, want):
    got, want = _np(got), _np(want)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **TOL)


def _mlp(xnp):
    """The same model for both libraries: xnp is tapegrad or jax.numpy."""
    def loss(params, x):
        h = xnp.tanh(x @ params["layers"][0]["w"] + params["layers"][0]["b"])
        out = h @ params["layers"][1]["w"]
        return xnp.sum(out * out) + 0.1 * xnp.sum(params["scale"][0] ** 2)
    return loss


PARAMS = {
    "layers": [{"w": RNG.standard_normal((3, 4)), "b": RNG.standard_normal(4)},
               {"w": RNG.standard_normal((4, 2))}],
    "scale": (RNG.standard_normal(2), None),
}
X = RNG.standard_normal((5, 3))


def test_grad_of_nested_pytree_matches_jax():
    _close(tg.grad(_mlp(tg))(PARAMS, X), jax.grad(_mlp(jnp))(PARAMS, X))


def test_value_and_grad_pytree_with_argnums_and_aux():
    f = _mlp(tg)
    (v, aux), (gp, gx) = tg.value_and_grad(lambda p, x: (f(p, x), {"n": 3}), argnums=(0, 1),
                                           has_aux=True)(PARAMS, X)
    (jv, _), (jgp, jgx) = jax.value_and_grad(lambda p, x: (_mlp(jnp)(p, x), 0),
                                             argnums=(0, 1), has_aux=True)(PARAMS, X)
    assert aux == {"n": 3}
    np.testing.assert_allclose(v.numpy(), jv, **TOL)
    _close(gp, jgp)
    _close(gx, jgx)


def test_grad_tuple_and_namedtuple_arguments():
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    p = Pair(np.array([1.0, 2.0]), (np.array(3.0),))
    g = tg.grad(lambda p: tg.sum(p.a * p.b[0] ** 2))(p)
    assert isinstance(g, Pair) and isinstance(g.b, tuple)
    _close(g, jax.grad(lambda p: jnp.sum(p.a * p.b[0] ** 2))(p))


def _f(x, y):
    return tg.sin(x) * y[0] + tg.exp(y[1] * x)


def _jf(x, y):
    return jnp.sin(x) * y[0] + jnp.exp(y[1] * x)


XV = RNG.standard_normal(3)
YV = (RNG.standard_normal(3), RNG.standard_normal(()))


def test_vjp_matches_jax_and_can_be_called_twice():
    out, pullback = tg.vjp(_f, XV, YV)
    jout, jpull = jax.vjp(_jf, XV, YV)
    np.testing.assert_allclose(out.numpy(), jout, **TOL)
    for _ in range(2):
        ct = RNG.standard_normal(3)
        _close(pullback(ct), jpull(ct))


def test_vjp_pytree_output_and_aux():
    f = lambda x: ({"a": x * 2.0, "b": [tg.sum(x ** 2)]}, "aux")  # noqa: E731
    jf = lambda x: {"a": x * 2.0, "b": [jnp.sum(x ** 2)]}  # noqa: E731
    out, pullback, aux = tg.vjp(f, XV, has_aux=True)
    assert aux == "aux"
    ct = {"a": RNG.standard_normal(3), "b": [np.array(1.5)]}
    _close(pullback(ct), jax.vjp(jf, XV)[1](ct))
    with pytest.raises(ValueError, match="structure"):
        pullback([ct["a"]])


def test_jvp_matches_jax():
    tx, ty = RNG.standard_normal(3), (RNG.standard_normal(3), RNG.standard_normal(()))
    out, tan = tg.jvp(_f, (XV, YV), (tx, ty))
    jout, jtan = jax.jvp(_jf, (XV, YV), (tx, ty))
    _close((out, tan), (jout, jtan))


def test_jvp_of_output_independent_of_input_is_zero():
    out, tan = tg.jvp(lambda x: {"c": tg.ones(2), "x": x}, (XV,), (np.ones(3),))
    np.testing.assert_array_equal(tan["c"].numpy(), 0.0)
    np.testing.assert_array_equal(tan["x"].numpy(), 1.0)


@pytest.mark.parametrize("tg_jac,jax_jac", [(tg.jacrev, jax.jacrev), (tg.jacfwd, jax.jacfwd)])
def test_jacobians_match_jax(tg_jac, jax_jac):
    a = RNG.standard_normal((2, 3))

    def f(x, a):
        return {"m": tg.tanh(a @ x), "s": tg.sum(x ** 3)}

    def jf(x, a):
        return {"m": jnp.tanh(a @ x), "s": jnp.sum(x ** 3)}

    x = RNG.standard_normal((3, 2))
    _close(tg_jac(f)(x, a), jax_jac(jf)(x, a))
    _close(tg_jac(f, argnums=(0, 1))(x, a), jax_jac(jf, argnums=(0, 1))(x, a))
    _close(tg.jacobian(f, mode="fwd" if tg_jac is tg.jacfwd else "rev")(x, a), jax_jac(jf)(x, a))


def test_jacobian_of_pytree_input():
    f = lambda p: p["u"] * p["v"][0]  # noqa: E731
    p = {"u": RNG.standard_normal(3), "v": [RNG.standard_normal(3)]}
    _close(tg.jacrev(f)(p), jax.jacrev(f)(p))
    _close(tg.jacfwd(f)(p), jax.jacfwd(f)(p))


def test_hessian_matches_jax():
    def f(x, y):
        return tg.sum(tg.sin(x) * x[::-1] ** 2) * y

    def jf(x, y):
        return jnp.sum(jnp.sin(x) * x[::-1] ** 2) * y

    x, y = RNG.standard_normal(4), np.array(1.3)
    _close(tg.hessian(f)(x, y), jax.hessian(jf)(x, y))
    _close(tg.hessian(f, argnums=(0, 1))(x, y), jax.hessian(jf, argnums=(0, 1))(x, y))


def test_hvp_matches_jax_forward_over_reverse():
    f = lambda x, w: tg.sum(tg.tanh(x * w) ** 2)  # noqa: E731
    jf = lambda x, w: jnp.sum(jnp.tanh(x * w) ** 2)  # noqa: E731
    x, w, vx, vw = (RNG.standard_normal(4) for _ in range(4))
    got = tg.hvp(f, (x, w), (vx, vw))
    want = jax.jvp(jax.grad(jf, argnums=(0, 1)), (x, w), (vx, vw))[1]
    _close(got, want)


def test_nesting_grad_of_jvp_and_jacrev_of_grad():
    x = RNG.standard_normal(3)
    g = tg.grad(lambda x: tg.sum(tg.jvp(lambda y: tg.sin(y) * y, (x,), (x,))[1]))(x)
    jg = jax.grad(lambda x: jnp.sum(jax.jvp(lambda y: jnp.sin(y) * y, (x,), (x,))[1]))(x)
    _close(g, jg)
    h = tg.jacrev(tg.grad(lambda x: tg.sum(x ** 4)))(x)
    _close(h, jax.jacrev(jax.grad(lambda x: jnp.sum(x ** 4)))(x))


def test_results_are_detached_at_top_level_and_recorded_on_graph_inputs():
    x = tg.tensor(XV)
    assert tg.jacrev(lambda x: x * x)(x).grad_fn is None
    xr = tg.tensor(XV, requires_grad=True)
    j = tg.jacrev(lambda x: x * x)(xr)
    assert j.requires_grad  # like torch.func: differentiable when the input is
    tg.sum(j).backward()
    np.testing.assert_allclose(xr.grad.numpy(), 2.0 * np.ones(3))


def test_transform_errors():
    with pytest.raises(TypeError, match="floating-point"):
        tg.grad(lambda p: tg.sum(p["a"]))({"a": np.arange(3)})
    with pytest.raises(ValueError, match="primals and tangents"):
        tg.jvp(lambda x: x, (XV,), ((XV,),))
    with pytest.raises(TypeError, match="hvp: the function must return a scalar"):
        tg.hvp(lambda x: x * 2.0, (XV,), (XV,))
    with pytest.raises(ValueError, match="mode"):
        tg.jacobian(lambda x: x, mode="sideways")


def test_pytree_helpers():
    tree = {"a": [1, (2, None)], "b": 3}
    leaves, treedef = tg.tree_flatten(tree)
    assert leaves == [1, 2, 3] and treedef.num_leaves == 3
    assert tg.tree_unflatten(treedef, [4, 5, 6]) == {"a": [4, (5, None)], "b": 6}
    assert tg.tree_map(lambda u, v: u + v, tree, tree) == {"a": [2, (4, None)], "b": 6}
    assert jax.tree_util.tree_leaves(tree) == tg.tree_leaves(tree)
    with pytest.raises(ValueError, match="too many leaves"):
        tg.tree_unflatten(treedef, [1, 2, 3, 4])


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_transforms_under_compile(transform):
    f = lambda x: tg.sum(tg.sin(x) * x) if transform == "hessian" else tg.sin(x) * x[0]  # noqa: E731
    jf = lambda x: jnp.sum(jnp.sin(x) * x) if transform == "hessian" else jnp.sin(x) * x[0]  # noqa: E731
    compiled = tg.compile(getattr(tg, transform)(f))
    for x in (RNG.standard_normal(3), RNG.standard_normal(3)):
        _close(compiled(x), getattr(jax, transform)(jf)(x))


def test_grad_of_pytree_under_compile():
    compiled = tg.compile(tg.grad(_mlp(tg)))
    _close(compiled(PARAMS, X), jax.grad(_mlp(jnp))(PARAMS, X))
