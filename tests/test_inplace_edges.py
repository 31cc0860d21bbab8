"""Edge cases of in-place operations, retain_grad, checkpoint, custom_vjp and export.

Each gradient is checked against its closed form or jax; PyTorch, where installed, is a
second reference for its own in-place semantics (the CI test extra has no PyTorch).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

try:
    import torch
except ImportError:
    torch = None

X = np.array([1.0, -2.0, 3.0, 0.5])


def _leaf(v=X):
    return tg.tensor(v, dtype="float64", requires_grad=True)


# -- retain_grad follows the tensor through in-place operations ---------------------
def _retain_then_modify(lib):
    x = _leaf() if lib is tg else torch.tensor(X, requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    y *= 3.0
    (y * y).sum().backward()
    return y.grad, x.grad


def test_retain_grad_holds_the_gradient_of_the_latest_value():
    y_grad, x_grad = _retain_then_modify(tg)
    # loss = sum(y_new ** 2) with y_new = 6 x: d/dy_new = 12 x (not 36 x, the old y's)
    np.testing.assert_allclose(y_grad.numpy(), 12.0 * X)
    np.testing.assert_allclose(x_grad.numpy(), 72.0 * X)
    if torch is not None:
        t_y, t_x = _retain_then_modify(torch)
        np.testing.assert_allclose(y_grad.numpy(), t_y.numpy())
        np.testing.assert_allclose(x_grad.numpy(), t_x.numpy())


# -- copy_ keeps the tensor in the graph ---------------------------------------------
def test_copy_of_a_constant_into_a_tensor_that_requires_grad():
    x = _leaf()
    y = x * 2.0
    y.copy_(tg.tensor(X[::-1].copy()))
    assert y.requires_grad and y.grad_fn is not None  # as PyTorch's CopyBackwards
    (y * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), X[::-1])  # nothing through the old y
    w = _leaf(X[:1])
    z = x * 1.0
    z.copy_(w * 3.0)  # broadcast (1,) -> (4,)
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [12.0])


# -- checkpoint -----------------------------------------------------------------------
def _doubles_its_argument(x):
    x *= 2.0
    return tg.sin(x) * x


def _jax_doubles(x):
    return jnp.sum(jnp.sin(2 * x) * 2 * x)


@pytest.mark.parametrize("wrap", [lambda f: f, tg.checkpoint], ids=["plain", "checkpoint"])
def test_checkpointed_function_modifying_its_argument(wrap):
    a = _leaf()
    y = tg.sum(wrap(_doubles_its_argument)(a * 1.0))
    y.backward(create_graph=True)
    g = a.grad
    a.grad = None
    g.sum().backward()
    np.testing.assert_allclose(g.numpy(), jax.grad(_jax_doubles)(X))
    np.testing.assert_allclose(
        a.grad.numpy(), jax.grad(lambda x: jnp.sum(jax.grad(_jax_doubles)(x)))(X))
    b = _leaf()  # without create_graph (the recomputation's arguments were leaves)
    tg.sum(wrap(_doubles_its_argument)(b * 1.0)).backward()
    np.testing.assert_allclose(b.grad.numpy(), jax.grad(_jax_doubles)(X))


def test_checkpoint_recomputation_leaves_constant_arguments_alone():
    def f(x, c):
        c *= 2.0
        return tg.sin(x) * c

    c = tg.tensor(np.ones(4))
    x = _leaf()
    y = tg.sum(tg.checkpoint(f)(x, c))
    y.backward(retain_graph=True, create_graph=True)
    y.backward()
    np.testing.assert_allclose(c.numpy(), 1.0)
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * 2.0 * np.cos(X))


def test_checkpoint_outputs_that_are_not_differentiable():
    i, y, n = tg.checkpoint(lambda x: (tg.argmax(x), x * 3.0, 3))(_leaf())
    assert n == 3 and type(n) is int
    assert i.item() == 2 and not i.requires_grad
    assert y.requires_grad


# -- custom_vjp ---------------------------------------------------------------------
def test_custom_vjp_bwd_may_return_arrays_and_integer_outputs_need_no_grad():
    @tg.custom_vjp
    def f(x, y):
        return x * y, tg.argmax(x)

    f.defvjp(lambda x, y: (f(x, y), (x, y)),
             lambda r, g: (None, 2.0 * np.asarray(g[0].numpy())))
    x, y = _leaf(), _leaf(X[::-1].copy())
    out, i = f(x, y)
    assert not i.requires_grad
    tg.sum(out).backward()
    assert x.grad is None
    np.testing.assert_allclose(y.grad.numpy(), 2.0)


# -- export ---------------------------------------------------------------------------
_RUNNER = textwrap.dedent("""
    import importlib.util, sys
    import numpy as np
    sys.modules["tapegrad"] = None
    spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = getattr(mod, sys.argv[2])(np.load(sys.argv[3]))
    np.save(sys.argv[1] + ".out.npy", out)
""")


def _in_place_loss(x):
    y = x * 1.0
    y[0] = y[1] * 2.0
    y[:, 1:] += y[:, :-1]
    y[np.array([0, 0])] = x[1:3]
    y.copy_(y * 2.0)
    return tg.sum(y ** 2)


def _jax_in_place_loss(x):
    y = x.at[0].set(x[1] * 2.0)
    y = y.at[:, 1:].add(y[:, :-1])
    y = y.at[np.array([0, 0])].set(x[1:3]) * 2.0
    return jnp.sum(y ** 2)


def test_export_of_a_lambda_with_in_place_operations(tmp_path):
    fn = tg.compile(lambda x: tg.grad(_in_place_loss)(x))
    x = np.random.default_rng(0).normal(size=(3, 4))
    path = fn.export(tmp_path / "g.py", x)
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(path), "compiled_lambda",
                           str(tmp_path / "x.npy")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = np.load(f"{path}.out.npy")
    want = jax.grad(_jax_in_place_loss)(jnp.asarray(x))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(fn(x).numpy(), want, rtol=1e-12)


# -- gradients are not aliased ------------------------------------------------------
def test_grads_of_two_leaves_are_separate_tensors():
    a, b = _leaf(), _leaf()
    seed = tg.tensor(X) * 1.0
    (a + b).backward(seed)  # one gradient tensor reaches both leaves
    with tg.no_grad():
        a.grad.zero_()  # an optimizer's in-place update of one .grad
    np.testing.assert_allclose(b.grad.numpy(), X)
    np.testing.assert_allclose(seed.numpy(), X)
    gx, gy = tg.grad(lambda x, y: tg.sum(x + y), argnums=(0, 1))(X, X)
    gx += 1.0
    np.testing.assert_allclose(gy.numpy(), 1.0)
