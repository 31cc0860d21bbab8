"""In-place operations with PyTorch's semantics, and the version counter's errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

W = np.array([0.5, -1.0, 2.0])


def _leaf(v=W):
    return tg.tensor(v, dtype="float64", requires_grad=True)


try:  # PyTorch is an optional second reference for its own in-place semantics
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _torch_leaf(v=W):
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def _chain(lib, w):
    """The same in-place program for tapegrad and torch."""
    a = w * 2.0
    b = a + 1.0  # uses a before it is modified (AddBackward saves nothing)
    a += w  # recorded: a = 2w + w
    a *= w
    a[0] = w[1] * 10.0
    a[1:] -= 1.0
    return (a * a).sum() + b.sum()


@needs_torch
def test_inplace_chain_gradient_matches_torch():
    w = _leaf()
    _chain(tg, w).backward()
    tw = _torch_leaf()
    _chain(torch, tw).backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_saved_then_modified_by_recorded_ops_matches_jax():
    def f(w):
        a = w * 2.0
        c = a * a  # saves a; torch would refuse the backward below
        a *= w
        a[0] = 1.0
        return tg.sum(a * c)

    def jf(w):
        a = w * 2.0
        return jnp.sum((a * w).at[0].set(1.0) * a * a)

    np.testing.assert_allclose(tg.grad(f)(W).numpy(), jax.grad(jf)(W), rtol=1e-12)


def test_operators_record_and_keep_identity():
    w = _leaf()
    x = w * 1.0
    before = id(x)
    for op in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__"):
        x = getattr(x, op)(2.0)
    assert id(x) == before and x._version == 5
    assert x.grad_fn.name() == "PowBackward0"
    want = jax.grad(lambda w: jnp.sum(((w * 1.0 + 2.0 - 2.0) * 2.0 / 2.0) ** 2.0))(W)
    x.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-12)


def test_setitem_on_constant_makes_it_part_of_the_graph():
    w = _leaf()
    buf = tg.zeros(3, dtype="float64")
    for i in range(3):
        buf[i] = w[i] ** 2 * (i + 1)
    assert buf.grad_fn.name() == "CopySlicesBackward0"
    buf.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * W * np.arange(1, 4))


def test_setitem_advanced_and_broadcast_against_jax():
    x, v = np.arange(12.0).reshape(3, 4) / 7, np.array([1.5, -2.0, 0.5, 3.0])
    idx = (np.array([2, 0]),)

    def f(x, v):
        z = x * x
        z[idx] = v * x[1]
        return tg.sum(tg.sin(z))

    def jf(x, v):
        return jnp.sum(jnp.sin((x * x).at[idx].set(v * x[1])))

    got = tg.grad(f, argnums=(0, 1))(x, v)
    for g, w in zip(got, jax.grad(jf, argnums=(0, 1))(x, v)):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)


def test_pytorch_style_methods():
    w = _leaf()
    x = w * 3.0
    x.mul_(w).add_(1.0).sub_(w).div_(2.0)
    y = w * 1.0
    y.zero_()
    z = w * 1.0
    z.fill_(4.0)
    c = tg.zeros(3, dtype="float64")
    c.copy_(w)
    (x.sum() + y.sum() + z.sum() + (c * c).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), (6 * W - 1) / 2 + 2 * W)


def test_inplace_on_leaf_requiring_grad_is_an_error():
    w = _leaf()
    with pytest.raises(RuntimeError, match=r"x \+= \.\.\.: a leaf tensor that requires grad is "
                                           r"being used in an in-place operation"):
        w += 1.0
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0] = 3.0
    assert w._version == 0 and np.array_equal(w.numpy(), W)


def test_optimizer_step_under_no_grad():
    w = _leaf()
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with tg.no_grad():
            w -= 0.25 * w.grad
        w.grad = None
    assert w.is_leaf and w.requires_grad and w._version == 3
    np.testing.assert_allclose(w.numpy(), W * 0.5 ** 3)


def test_no_grad_update_of_non_leaf_keeps_its_record():
    w = _leaf()
    a = w * 2.0
    with tg.no_grad():
        a += 100.0  # like PyTorch: a keeps grad_fn, the change is invisible to autograd
    assert a.grad_fn.name() == "MulBackward1"
    a.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0, 2.0])


def test_modified_saved_constant_raises_naming_both_operations():
    w = _leaf()
    x = tg.tensor([1.0, 2.0, 3.0], dtype="float64")
    loss = (w * x).sum()
    x += 1.0  # x is outside the graph: not recorded, its old value is gone
    with pytest.raises(RuntimeError) as e:
        loss.backward()
    msg = str(e.value)
    assert "modified by an inplace operation" in msg
    assert "argument 1 of MulBackward0" in msg and "`x += ...`" in msg
    assert "now at version 1, MulBackward0 used version 0" in msg


def test_parameter_updated_before_backward_raises():
    w = _leaf()
    loss = tg.sum(tg.sin(w))
    with tg.no_grad():
        w[0] = 0.0
    with pytest.raises(RuntimeError, match=r"argument 0 of SinBackward0.*`x\[\.\.\.\] = v`"):
        loss.backward()


def test_error_names_the_site_under_detect_anomaly():
    w = _leaf()
    x = tg.tensor([1.0, 2.0, 3.0], dtype="float64")
    with tg.detect_anomaly():
        loss = (w * x).sum()
        x *= 2.0
        with pytest.raises(RuntimeError, match=r"MulBackward0 \(recorded at .*test_inplace.py"):
            loss.backward()


def test_recorded_modification_after_use_is_exact_where_torch_refuses():
    # torch raises here (exp saves its output); tapegrad keeps every saved value intact.
    w = _leaf()
    a = tg.exp(w)
    a *= 2.0
    a.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.exp(W))


def test_values_saved_as_outputs_and_views_are_not_overwritten():
    w = _leaf()
    t = tg.tanh(w)
    row = t[1:]
    t[1] = 5.0
    assert row.numpy()[0] == pytest.approx(np.tanh(-1.0))  # arrays are never overwritten
    (t.sum() + row.sum()).backward()
    want = (1 - np.tanh(W) ** 2) * np.array([1.0, 1.0, 2.0])
    np.testing.assert_allclose(w.grad.numpy(), want)


def test_retained_graph_second_backward_after_unrecorded_update_raises():
    w = _leaf()
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    with tg.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="argument 0 of MulBackward0"):
        loss.backward()


def test_shape_and_dtype_checks():
    x = tg.tensor([1.0, 2.0]) * 1.0
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*tensor of shape \(2,\)"):
        x += tg.ones((2, 2))
    i = tg.tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match="dtype float64.*int64"):
        i += 0.5
    x32 = tg.tensor(np.ones(2, np.float32), requires_grad=True) * 1.0
    x32 += tg.tensor(np.ones(2))  # float64 into float32: cast, as NumPy's same_kind
    assert x32.dtype == np.float32


def test_inplace_under_compile_matches_eager():
    def f(x):
        z = x * 1.0
        z[0] = z[1] * 3.0
        z *= x
        buf = tg.zeros(3, dtype="float64")
        buf[1:] = z[:2]
        return tg.sum(tg.sin(z) + buf)

    compiled = tg.compile(tg.grad(f))
    for x in (W, W + 1.0):
        np.testing.assert_allclose(compiled(x).numpy(), tg.grad(f)(x).numpy(), rtol=1e-12)
