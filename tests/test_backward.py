"""backward(): seeding, accumulation, retain_graph, create_graph, broadcasting, errors,
long chains, threads and memory."""

from __future__ import annotations

import threading
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_specs import scaled

import tapegrad as tg


def test_backward_needs_scalar_or_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="implicitly created only for one-element"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*\(2,\)"):
        y.backward(gradient=np.ones(3))
    y.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 30.0])


def test_backward_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor(1.0).backward()


def test_second_backward_without_retain_graph_is_an_error():
    x = tg.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_and_accumulates():
    x = tg.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(8.0)
    x.grad = None
    (x * 3).backward()
    assert x.grad.item() == pytest.approx(3.0)


def test_create_graph_second_derivative_of_cube():
    x = tg.tensor([1.0, 2.0, -3.0], dtype="float64", requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_broadcasting_is_undone_for_every_input():
    a = tg.tensor(np.ones((3, 1)), requires_grad=True)
    b = tg.tensor(np.arange(4.0), requires_grad=True)
    c = tg.tensor(2.0, dtype="float64", requires_grad=True)
    (a * b * c).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 12.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 6.0))
    assert c.grad.shape == () and c.grad.item() == pytest.approx(18.0)


def test_gradient_dtype_follows_the_input():
    x = tg.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = (x * np.array([1.0, 2.0])).sum()  # float64 result
    y.backward()
    assert x.grad.dtype == np.float32


def test_repeated_indices_accumulate():
    x = tg.tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0, 0.0])


def test_max_ties_split_like_jax():
    x = tg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


def test_long_chain_has_no_recursion_limit():
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_visits_only_records_leading_to_the_output():
    x = tg.tensor(1.0, requires_grad=True)
    unrelated = x
    for _ in range(1000):
        unrelated = unrelated * 2.0
    y = x * 3.0
    y.backward()
    # A visited record is freed (no retain_graph): its saved values are dropped, its
    # links kept (as PyTorch keeps them); the unrelated chain was never visited.
    assert y.grad_fn.args is None and unrelated.grad_fn.args is not None
    (leaf, _), (const, _) = y.grad_fn.next_functions
    assert leaf.name() == "AccumulateGrad" and leaf.variable is x and const is None
    assert x.grad.item() == 3.0


# A random program: each step applies an op to values picked from everything computed so
# far, so values are reused at different depths and by multi-output records (split).
_STEPS = st.lists(st.tuples(st.sampled_from(["add", "mul", "sin", "tanh", "split"]),
                            st.integers(0, 10**6), st.integers(0, 10**6)),
                  min_size=1, max_size=25)


def _run_program(ops, steps, x, y):
    vals = [x, y]
    for op, i, j in steps:
        a, b = vals[i % len(vals)], vals[j % len(vals)]
        if op == "add":
            vals.append(a + b)
        elif op == "mul":
            vals.append(a * b * 0.5)
        elif op == "sin":
            vals.append(ops.sin(a))
        elif op == "tanh":
            vals.append(ops.tanh(a))
        else:
            lo, hi = ops.split(a, 2)
            vals.extend([ops.concatenate([hi, lo]), ops.concatenate([lo * 2.0, hi])])
    out = vals[-1]
    for k, v in enumerate(vals[::2] + [vals[1]]):  # some values feed the output twice
        out = out + v * (k + 1.0)
    return ops.sum(out * out)


@scaled(1.0)
@given(steps=_STEPS, seed=st.integers(0, 2**31 - 1))
def test_random_graphs_match_jax(steps, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    got = tg.grad(lambda x, y: _run_program(tg, steps, x, y), argnums=(0, 1))(x, y)
    xt, yt = tg.tensor(x, requires_grad=True), tg.tensor(y, requires_grad=True)
    _run_program(tg, steps, xt, yt).backward()
    want = jax.grad(lambda x, y: _run_program(jnp, steps, x, y), argnums=(0, 1))(x, y)
    for g, t, w in zip(got, (xt, yt), want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(t.grad.numpy(), w, rtol=1e-10, atol=1e-12)


def test_no_grad_and_enable_grad():
    x = tg.tensor(1.0, requires_grad=True)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert tg.is_grad_enabled()


def test_training_loop_memory_is_flat():
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((8, 1)), requires_grad=True)
    xs = rng.standard_normal((16, 8))
    ys = rng.standard_normal((16, 1))

    def step():
        loss = ((tg.tanh(xs @ w) - ys) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w.data = w.data - 0.01 * w.grad.data
        w.grad = None

    for _ in range(200):
        step()
    tracemalloc.start()
    for _ in range(2000):
        step()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(8000):
        step()
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert second - first < 64 * 1024, (first, second)


def test_threads_record_independently():
    results = {}

    def work(k):
        x = tg.tensor(float(k), dtype="float64", requires_grad=True)
        with tg.tape() as t:
            y = x
            for _ in range(200):
                y = y * 1.0 + x * 0.0
            y = y * y * k
        n = len(t)
        results[k] = (t.gradient(y, x).item(), n)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for k in range(1, 5):
        assert results[k][0] == pytest.approx(2 * k * k)
        assert results[k][1] == 200 * 3 + 2  # each thread's tape saw only its own records


def test_hooks_see_and_replace_gradients():
    x = tg.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x * 3.0
    handle = h.register_hook(lambda g: g * 10.0)  # d loss/d h = 2h, replaced by 20h
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 3.0 * 20.0 * 3.0 * np.array([1.0, -2.0]))
    np.testing.assert_allclose(x.grad.numpy(), seen[0])
    handle.remove()
    x.grad = None
    h = x * 3.0
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9.0 * np.array([1.0, -2.0]))
