"""The seed chapter (R torch, chapter 4 "Autograd") reproduced value by value.

Expected values are the chapter's printed outputs: x7 = -3.4, x1.grad = x2.grad = 0.8,
with retain_grad x3.grad = x4.grad = 0.2 and x5.grad = x6.grad = 1, grad_fn names
PowBackward0 / MulBackward1 / SubBackward1, and the non-leaf ``.grad`` warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapegrad as tg


def _graph():
    x1 = tg.tensor(2.0, requires_grad=True)
    x2 = tg.tensor(2.0, requires_grad=True)
    x3 = x1.square()
    x5 = x3 * 0.2
    x4 = x2.square()
    x6 = x4 * 0.2
    x7 = x5 + x6 - 5
    return x1, x2, x3, x4, x5, x6, x7


def test_forward_value_and_grad_fn():
    *_, x7 = _graph()
    assert x7.item() == pytest.approx(-3.4, abs=1e-6)
    assert x7.dtype == np.float32  # the seed's CPUFloatType
    assert x7.requires_grad
    assert x7.grad_fn.name() == "SubBackward1"
    assert repr(x7) == "tensor(-3.4000, grad_fn=<SubBackward1>)"


def test_backward_fills_leaf_grads():
    x1, x2, *_, x7 = _graph()
    x7.backward()
    assert x1.grad.item() == pytest.approx(0.8, abs=1e-6)
    assert x2.grad.item() == pytest.approx(0.8, abs=1e-6)


def test_non_leaf_grad_warns_and_is_none():
    _, _, x3, *_, x7 = _graph()
    x7.backward()
    with pytest.warns(UserWarning, match=r"not a leaf Tensor.*retain_grad\(\)"):
        assert x3.grad is None


def test_retain_grad_values():
    x1 = tg.tensor(2.0, requires_grad=True)
    x2 = tg.tensor(2.0, requires_grad=True)
    x3 = x1.square()
    x3.retain_grad()
    x5 = x3 * 0.2
    x5.retain_grad()
    x4 = x2.square()
    x4.retain_grad()
    x6 = x4 * 0.2
    x6.retain_grad()
    x7 = x5 + x6 - 5
    x7.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # retained grads are read without a warning
        got = [t.grad.item() for t in (x3, x4, x5, x6)]
    assert got == pytest.approx([0.2, 0.2, 1.0, 1.0], abs=1e-6)


def test_grad_fn_names():
    _, _, x3, x4, x5, x6, _ = _graph()
    assert [t.grad_fn.name() for t in (x3, x4, x5, x6)] == [
        "PowBackward0", "PowBackward0", "MulBackward1", "MulBackward1"]
    assert repr(x3.grad_fn) == "<PowBackward0>"


def test_second_backward_accumulates():
    x1, x2, *_, x7 = _graph()
    x7.backward()
    x3 = x1.square()
    x7b = x3 * 0.2 + x2.square() * 0.2 - 5
    x7b.backward()
    assert x1.grad.item() == pytest.approx(1.6, abs=1e-6)
    assert x2.grad.item() == pytest.approx(1.6, abs=1e-6)
