"""Tensor construction, metadata, repr, operators with NumPy on either side, grad_fn names."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def test_python_data_becomes_default_dtype_and_arrays_keep_theirs():
    assert tg.tensor(2.0).dtype == np.float32
    assert tg.tensor([1, 2]).dtype == np.float32
    assert tg.tensor([True, False]).dtype == np.bool_
    assert tg.tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert tg.tensor(np.ones(2, np.float64)).dtype == np.float64
    assert tg.tensor([1.0], dtype="float64").dtype == np.float64


def test_set_default_dtype():
    try:
        tg.set_default_dtype("float64")
        assert tg.tensor(1.5).dtype == np.float64
        assert tg.zeros(2).dtype == np.float64
    finally:
        tg.set_default_dtype("float32")
    with pytest.raises(TypeError, match="set_default_dtype: expected a floating-point"):
        tg.set_default_dtype("int32")


def test_tensor_copies_numpy_input():
    a = np.ones(3)
    t = tg.tensor(a)
    a[0] = 5
    assert t.numpy()[0] == 1


def test_integer_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="only floating-point tensors can require grad"):
        tg.tensor(np.arange(3), requires_grad=True)
    t = tg.tensor(np.arange(3))
    with pytest.raises(RuntimeError, match="only floating-point tensors can require grad"):
        t.requires_grad = True


def test_metadata():
    x = tg.tensor(np.zeros((2, 3)), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.T.shape == (3, 2)
    assert x.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    assert tg.tensor(1.0).is_leaf
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(tg.tensor(1.0))


def test_repr_like_pytorch():
    assert repr(tg.tensor([1.0, 2.0], requires_grad=True)) == \
        "tensor([1., 2.], requires_grad=True)"
    assert repr(tg.tensor(2.5)) == "tensor(2.5000)"
    assert repr(tg.tensor(np.array([1, 2], dtype=np.int32))) == \
        "tensor([1, 2], dtype=int32)"
    assert repr(tg.tensor(np.array([0.5], dtype=np.float64))) == \
        "tensor([0.5000], dtype=float64)"
    x = tg.tensor(2.0, requires_grad=True)
    assert repr(x - 5.6) == "tensor(-3.6000, grad_fn=<SubBackward1>)"


@pytest.mark.parametrize("values", [
    [[1.0, -2.5], [3.0, 4.0]], [1.2345, -20.5, 3e-5], [-1.0, 10.0, float("nan")],
    [[-1.0, 2.0], [30.0, 4.0]], [0.1, -0.25],
])
def test_repr_aligns_columns_like_pytorch(values):
    torch = pytest.importorskip("torch")
    assert repr(tg.tensor(values)) == repr(torch.tensor(values))


@pytest.mark.parametrize("expr, name", [
    (lambda x, y: x.square(), "PowBackward0"),
    (lambda x, y: x ** 2.0, "PowBackward0"),
    (lambda x, y: x ** y, "PowBackward1"),
    (lambda x, y: 2.0 ** x, "PowBackward2"),
    (lambda x, y: x * 0.2, "MulBackward1"),
    (lambda x, y: 0.2 * x, "MulBackward1"),
    (lambda x, y: x * y, "MulBackward0"),
    (lambda x, y: x - 5, "SubBackward1"),
    (lambda x, y: x - y, "SubBackward0"),
    (lambda x, y: x + 1, "AddBackward1"),
    (lambda x, y: x + y, "AddBackward0"),
    (lambda x, y: x / y, "DivBackward0"),
    (lambda x, y: tg.exp(x), "ExpBackward0"),
    (lambda x, y: x.sum(), "SumBackward0"),
    (lambda x, y: x @ y, "MmBackward0"),
])
def test_grad_fn_names(expr, name):
    x = tg.tensor([2.0], requires_grad=True)
    y = tg.tensor([3.0], requires_grad=True)
    out = expr(x, y)
    assert out.grad_fn.name() == name
    assert repr(out.grad_fn) == f"<{name}>"


def test_next_functions():
    x = tg.tensor(2.0, requires_grad=True)
    c = tg.tensor(3.0)
    y = x * c
    z = y + x
    (n0, i0), (n1, i1) = z.grad_fn.next_functions
    assert n0 is y.grad_fn and i0 == 0
    assert n1.name() == "AccumulateGrad" and n1.variable is x
    assert y.grad_fn.next_functions[1] == (None, 0)


@pytest.mark.parametrize("make", [
    lambda a, t: a * t, lambda a, t: t * a, lambda a, t: a + t, lambda a, t: a - t,
    lambda a, t: a / t, lambda a, t: a ** t, lambda a, t: a @ t, lambda a, t: t @ a,
])
def test_numpy_on_either_side_returns_recorded_tensor(make):
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = tg.tensor(np.array([[0.5, 1.5], [2.0, 1.0]]), requires_grad=True)
    out = make(a, t)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    want = make(a, t.numpy())
    np.testing.assert_allclose(out.numpy(), want)
    out.sum().backward()
    assert t.grad is not None and t.grad.shape == (2, 2)


def test_numpy_scalar_on_the_left():
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    out = np.float64(3.0) * t
    assert isinstance(out, tg.Tensor) and out.requires_grad


def test_comparisons_give_bool_tensors_without_grad():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad and m.grad_fn is None
    assert m.tolist() == [False, True, True]
    assert (x == 2.0).tolist() == [False, True, False]


def test_bool_item_and_conversions():
    assert bool(tg.tensor([1.0])) is True
    assert tg.tensor([[2.5]]).item() == 2.5
    assert float(tg.tensor(1.5)) == 1.5
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="item: only one-element tensors"):
        tg.tensor([1.0, 2.0]).item()


def test_detach_shares_data_and_cuts_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])


def test_requires_grad_on_non_leaf_is_an_error():
    x = tg.tensor(1.0, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only change requires_grad of leaf"):
        y.requires_grad = False
    z = tg.tensor(1.0).requires_grad_()
    assert z.requires_grad


def test_constructors():
    assert tg.zeros((2, 3)).numpy().sum() == 0 and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones(3).numpy().tolist() == [1, 1, 1]
    assert tg.full((2,), 7.0).numpy().tolist() == [7, 7]
    assert tg.arange(4).numpy().tolist() == [0, 1, 2, 3] and tg.arange(4).dtype == np.int64
    assert tg.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert tg.eye(2).numpy().tolist() == [[1, 0], [0, 1]]
    x = tg.tensor(np.ones((2, 2), np.float64))
    assert tg.zeros_like(x).dtype == np.float64 and tg.ones_like(x).numpy().sum() == 4
    assert tg.zeros(2, requires_grad=True).requires_grad
