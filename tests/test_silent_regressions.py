"""Regression tests for answers that used to be silently wrong, each against a reference:
PyTorch where it is installed, and always jax or a closed form."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

try:
    import torch
except ImportError:  # the test extra has no PyTorch
    torch = None

jax.config.update("jax_enable_x64", True)


# -- 1. transforms under no_grad -------------------------------------------------------
def _under_no_grad(fn):
    y = tg.tensor(2.0, requires_grad=True) * 3  # y = 6, part of a graph
    with tg.no_grad():
        return fn(y)


def test_grad_under_no_grad_against_torch_func():
    got = _under_no_grad(lambda y: tg.grad(lambda t: t ** 2)(y))
    assert got.item() == 12.0 and not got.requires_grad
    if torch is not None:
        x = torch.tensor(2.0, requires_grad=True)
        with torch.no_grad():
            want = torch.func.grad(lambda t: t ** 2)(x * 3)
        assert got.item() == want.item()


@pytest.mark.parametrize("name, fn, want", [
    ("value_and_grad", lambda y: tg.value_and_grad(lambda t: t ** 3)(y)[1],
     jax.grad(lambda t: t ** 3)(6.0)),
    ("vjp", lambda y: tg.vjp(lambda t: tg.sin(t), y)[1](tg.tensor(1.0))[0],
     jax.vjp(jnp.sin, 6.0)[1](1.0)[0]),
    ("jvp", lambda y: tg.jvp(lambda t: tg.exp(t / 6), (y,), (tg.tensor(1.0),))[1],
     jax.jvp(lambda t: jnp.exp(t / 6), (6.0,), (1.0,))[1]),
    ("jacobian", lambda y: tg.jacobian(lambda v: v ** 2)(tg.stack([y, y + 1])),
     jax.jacobian(lambda v: v ** 2)(jnp.array([6.0, 7.0]))),
    ("hessian", lambda y: tg.hessian(lambda v: tg.sum(v ** 3))(tg.stack([y, y + 1])),
     jax.hessian(lambda v: jnp.sum(v ** 3))(jnp.array([6.0, 7.0]))),
    ("hvp", lambda y: tg.hvp(lambda v: tg.sum(v ** 3), (tg.stack([y, y]),),
                             (tg.tensor([1.0, 0.0]),))[0],
     jax.jvp(jax.grad(lambda v: jnp.sum(v ** 3)), (jnp.array([6.0, 6.0]),),
             (jnp.array([1.0, 0.0]),))[1]),
])
def test_every_transform_under_no_grad_matches_jax(name, fn, want):
    got = _under_no_grad(fn)
    # float32 (the default dtype) against jax's float64
    np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-6, err_msg=name)


def test_grad_inside_a_custom_vjp_backward_rule():
    @tg.custom_vjp
    def f(t):
        return t * 1.0

    def fwd(t):
        return t * 1.0, t

    def bwd(t, g):  # runs under no_grad during a first-order backward
        return (g * tg.grad(lambda s: s ** 2)(t),)

    f.defvjp(fwd, bwd)
    t = tg.tensor(3.0, requires_grad=True)
    f(t).backward()
    assert t.grad.item() == 6.0  # d/dt t**2 at 3, as jax.custom_vjp gives

    @jax.custom_vjp
    def jf(t):
        return t * 1.0

    jf.defvjp(lambda t: (t * 1.0, t), lambda t, g: (g * jax.grad(lambda s: s ** 2)(t),))
    assert jax.grad(jf)(3.0) == 6.0


def test_grad_under_no_grad_compiled_and_cut_from_the_outer_level():
    def h(z):
        with tg.no_grad():
            return tg.grad(lambda t: t ** 2)(z * 3)

    fast = tg.compile(h)
    for z in (2.0, 5.0):  # computed per call, not baked at the first call's value
        assert fast(np.array(z)).item() == pytest.approx(6.0 * z)  # 2t at t = 3z
    # Outside, h's result is a constant: d/dz (h(z) * z) = h(z).
    assert tg.grad(lambda z: h(z) * z)(tg.tensor(2.0)).item() == pytest.approx(12.0)


def test_no_grad_inside_a_transform_still_cuts():
    def f(x):
        with tg.no_grad():
            c = x * 2
        return x * c

    assert tg.grad(f)(3.0).item() == 6.0  # c is a constant, as jax.lax.stop_gradient
    assert jax.grad(lambda x: x * jax.lax.stop_gradient(x * 2))(3.0) == 6.0


# -- 3. Python numbers inside a transform ----------------------------------------------
@pytest.mark.parametrize("fn", [lambda x: math.sin(x), lambda x: x * float(x),
                                lambda x: x * x.item(), lambda x: x * int(x)],
                         ids=["math.sin", "float", "item", "int"])
def test_numbers_from_differentiated_values_raise(fn):
    for g in (tg.grad(fn), tg.compile(tg.grad(fn))):
        with pytest.raises(tg.ConversionError, match="being differentiated.*detach"):
            g(0.5)


def test_eager_float_of_a_tensor_requiring_grad_warns_and_item_does_not():
    x = tg.tensor(2.0, requires_grad=True)
    with pytest.warns(UserWarning, match="requires_grad=True to a Python number"):
        assert float(x) == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.item() == 2.0  # logging a loss stays quiet
        assert float(x.detach()) == 2.0
        with tg.no_grad():
            assert float(x) == 2.0
    assert complex(tg.tensor(1.5)) == 1.5 + 0j


def test_detached_value_inside_a_transform_is_a_constant():
    assert tg.grad(lambda x: x * float(x.detach()))(0.5).item() == 0.5
    assert jax.grad(lambda x: x * jax.lax.stop_gradient(x))(0.5) == 0.5


# -- 2. sequences holding tensors -------------------------------------------------------
@pytest.mark.parametrize("name, fn, ref", [
    ("mean", lambda x: tg.mean([x, x + 2]), lambda x: jnp.mean(jnp.array([x, x + 2]))),
    ("sum", lambda x: tg.sum([x, 2 * x]), lambda x: jnp.sum(jnp.array([x, 2 * x]))),
    ("append", lambda x: tg.sum(tg.append([x, x, x], x * 2)),
     lambda x: jnp.sum(jnp.append(jnp.array([x, x, x]), x * 2))),
    ("concatenate", lambda x: tg.sum(tg.concatenate([[x], [x ** 2]])),
     lambda x: jnp.sum(jnp.concatenate([jnp.array([x]), jnp.array([x ** 2])]))),
    ("asarray", lambda x: tg.sum(tg.asarray([x, x ** 2]) ** 2),
     lambda x: jnp.sum(jnp.asarray([x, x ** 2]) ** 2)),
    ("matmul", lambda x: tg.tensor([1.0, 2.0], dtype=np.float64) @ [x, 2 * x],
     lambda x: jnp.array([1.0, 2.0]) @ jnp.array([x, 2 * x])),
    ("nested", lambda x: tg.sum(tg.exp([[x, 1.0], [2.0, x]])),
     lambda x: jnp.sum(jnp.exp(jnp.array([[x, 1.0], [2.0, x]])))),
])
def test_lists_holding_tensors_against_jax(name, fn, ref):
    for compiled in (False, True):
        g = tg.compile(tg.grad(fn)) if compiled else tg.grad(fn)
        got = g(np.float64(1.3))
        np.testing.assert_allclose(got.numpy(), jax.grad(ref)(1.3), rtol=1e-12,
                                   err_msg=f"{name}, compiled={compiled}")


def test_tensor_of_a_list_on_a_graph_is_refused_and_numpy_conversion_raises():
    x = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(tg.ConversionError, match=r"tensor: .*tg\.stack"):
        tg.tensor([x, x ** 2])
    with pytest.raises(tg.ConversionError, match="detach"):
        np.array([x, x])
    with pytest.raises(tg.ConversionError, match="detach"):
        np.mean([x, x])  # NumPy converts the list itself; the tensor refuses
    assert tg.tensor([x.detach(), 2.0]).tolist() == [1.0, 2.0]


# -- 8. smaller ones --------------------------------------------------------------------
def test_next_functions_survive_backward():
    x = tg.tensor(2.0, requires_grad=True)
    y = tg.exp(x * 3) * x
    y.backward()
    names = [f.name() for f, _ in y.grad_fn.next_functions]
    assert names == ["ExpBackward0", "AccumulateGrad"]
    (mul, _), = y.grad_fn.next_functions[0][0].next_functions
    assert mul.name() == "MulBackward1" and mul.next_functions[0][0].variable is x
    if torch is not None:
        tx = torch.tensor(2.0, requires_grad=True)
        ty = torch.exp(tx * 3) * tx
        ty.backward()
        assert [f.name().removeprefix("torch::autograd::")
                for f, _ in ty.grad_fn.next_functions] == names


def test_broadcasting_errors_name_the_operation():
    with pytest.raises(ValueError, match=r"^add: operands could not be broadcast"):
        tg.tensor([1.0, 2, 3]) + tg.tensor([1.0, 2, 3, 4])
    with pytest.raises(ValueError, match=r"^multiply: "):
        tg.multiply(tg.ones(3), tg.ones(2))
    # NumPy's own subclasses keep their type: callers catch them by it.
    with pytest.raises(np.linalg.LinAlgError):
        tg.linalg.inv(tg.tensor(np.zeros((2, 2))))


def test_format_of_tensors():
    x = tg.tensor(1.23456, requires_grad=True)
    assert f"{x:.2f}" == "1.23" == f"{1.23456:.2f}"
    assert f"{tg.tensor([1.0, 2.0])}" == str(tg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="format: .*0-d tensors"):
        f"{tg.tensor([1.0, 2.0]):.2f}"


def test_device_cuda_without_cupy_names_cupy():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="tensor: device 'cuda' needs CuPy"):
            tg.tensor([1.0], device="cuda")
    else:  # pragma: no cover - a machine with CuPy
        pytest.skip("CuPy is installed")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.tensor([1.0], device="tpu")
    assert tg.tensor([1.0], device="cpu").device == "cpu"
