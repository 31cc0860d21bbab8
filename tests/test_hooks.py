"""Tensor hooks, ``t.register_hook(fn)``, against PyTorch's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

# These tests compare with PyTorch, whose hook semantics tapegrad follows.
torch = pytest.importorskip("torch")

V = np.array([1.0, -2.0, 3.0])


def _both(v=V):
    return (tg.tensor(v, dtype="float64", requires_grad=True),
            torch.tensor(v, dtype=torch.float64, requires_grad=True))


def _run(lib_x, hook_on, hooks):
    """y = (x * 2) ** 2 with hooks on ``x`` (leaf) or ``h`` (non-leaf); sum backward."""
    h = lib_x * 2.0
    target = lib_x if hook_on == "leaf" else h
    for hk in hooks:
        target.register_hook(hk)
    y = h ** 2
    y.sum().backward()
    return lib_x.grad


@pytest.mark.parametrize("hook_on", ["leaf", "nonleaf"])
def test_hooks_observe_and_replace_like_torch(hook_on):
    seen = {"tg": [], "torch": []}

    def hooks(key, lib):
        return [lambda g: seen[key].append(np.array(g.detach().numpy())),
                lambda g: g * 3.0,  # replaces the gradient
                lambda g: None]  # returning None keeps it

    x, tx = _both()
    got = _run(x, hook_on, hooks("tg", tg))
    want = _run(tx, hook_on, hooks("torch", torch))
    np.testing.assert_allclose(got.numpy(), want.numpy())
    np.testing.assert_allclose(seen["tg"][0], seen["torch"][0])


def test_handle_remove():
    x = tg.tensor(V, requires_grad=True)
    handle = x.register_hook(lambda g: g * 10.0)
    handle.remove()
    handle.remove()  # idempotent
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * V)


def test_hook_runs_once_with_the_accumulated_gradient():
    x = tg.tensor(V, requires_grad=True)
    h = x * 1.0
    calls = []
    h.register_hook(lambda g: calls.append(g.numpy().copy()))
    (h * 2.0 + h * 3.0).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], 5.0)


def test_leaf_hooks_run_for_tape_gradient_as_for_torch_autograd_grad():
    x, tx = _both()
    x.register_hook(lambda g: g * 10.0)
    tx.register_hook(lambda g: g * 10.0)
    with tg.tape() as t:
        y = (x * x).sum()
    got = t.gradient(y, x)
    (want,) = torch.autograd.grad((tx * tx).sum(), tx)
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_hook_and_retain_grad_order_like_torch():
    # PyTorch (>= 2.0) stores the retained .grad after the tensor's hooks ran.
    x, tx = _both()
    grads = []
    for a in (x, tx):
        h = a * 2.0
        h.retain_grad()
        h.register_hook(lambda g: g + 1.0)
        (h * h).sum().backward()
        grads.append(h.grad)
    np.testing.assert_allclose(grads[0].numpy(), grads[1].numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_hook_under_create_graph():
    x = tg.tensor(V, requires_grad=True)
    h = x * x
    h.register_hook(lambda g: g * 2.0)
    y = (h * x).sum()
    y.backward(create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * V) * V + V * V)
    assert x.grad.requires_grad


def test_register_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.tensor(V).register_hook(lambda g: g)
