"""Property: for random programs built from the registered primitives, the compiled
gradient equals the eager one (and the graph lints after every pass)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.primitives as P

# How to apply each primitive to values of shape (3, 4) so that it stays in its domain
# and keeps the shape: ``name -> fn(x, y)``.
UNARY = {
    "sin": lambda x: P.sin(x), "cos": lambda x: P.cos(x), "tanh": lambda x: P.tanh(x),
    "exp": lambda x: P.exp(P.tanh(x)), "log": lambda x: P.log(x * x + 1.0),
    "log1p": lambda x: P.log1p(x * x), "sqrt": lambda x: P.sqrt(x * x + 0.5),
    "negative": lambda x: -x, "abs": lambda x: P.abs(x) + x,
    "expm1": lambda x: P.expm1(P.tanh(x)), "arctan": lambda x: P.arctan(x),
    "sinh": lambda x: P.sinh(P.tanh(x)), "cosh": lambda x: P.cosh(P.tanh(x)),
    "arcsin": lambda x: P.arcsin(P.tanh(x) * 0.9), "tan": lambda x: P.tan(P.tanh(x)),
    "power": lambda x: x ** 2, "square": lambda x: P.square(x) * 0.5,
    "sum": lambda x: x - P.sum(x, axis=1, keepdims=True),
    "mean": lambda x: x * P.mean(x, axis=0),
    "max": lambda x: x - P.max(x, axis=1, keepdims=True),
    "logsumexp": lambda x: x - P.logsumexp(x, axis=0, keepdims=True),
    "transpose": lambda x: P.transpose(P.transpose(x) * 2.0),
    "reshape": lambda x: P.reshape(P.reshape(x, (4, 3)) + 1.0, (3, 4)),
    "getitem": lambda x: x * x[:, 1:2],
    "where": lambda x: P.where(x > 0, x, 0.1 * x),
    "var": lambda x: x * P.var(x, axis=1, keepdims=True),
}
BINARY = {
    "add": lambda x, y: x + y, "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y, "divide": lambda x, y: x / (y * y + 1.0),
    "maximum": lambda x, y: P.maximum(x, y), "minimum": lambda x, y: P.minimum(x, y),
    "matmul": lambda x, y: (x @ P.transpose(y)) @ x * 0.1,
    "logaddexp": lambda x, y: P.logaddexp(x, y), "arctan2": lambda x, y: P.arctan2(x, y + 3.0),
    "broadcast": lambda x, y: x * y[0],
}

step = st.one_of(
    st.tuples(st.just(1), st.sampled_from(sorted(UNARY)), st.integers(0, 9)),
    st.tuples(st.just(2), st.sampled_from(sorted(BINARY)), st.integers(0, 9),
              st.integers(0, 9)),
)


def _program(steps):
    def f(a, b):
        pool = [a, b]
        for s in steps:
            if s[0] == 1:
                pool.append(UNARY[s[1]](pool[s[2] % len(pool)]))
            else:
                pool.append(BINARY[s[1]](pool[s[2] % len(pool)], pool[s[3] % len(pool)]))
        return (pool[-1] * pool[-1]).sum() + pool[-2].sum() * 0.5

    return f


def test_every_table_name_is_registered():
    names = set(UNARY) | set(BINARY)
    assert names - {"square", "broadcast"} <= set(tg.registry)


@given(steps=st.lists(step, min_size=1, max_size=8), seed=st.integers(0, 2**16),
       fuse=st.booleans())
def test_random_programs_compiled_grad_equals_eager(steps, seed, fuse):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (3, 4))
    b = rng.uniform(-1, 1, (3, 4))
    f = _program(steps)
    want = tg.grad(f, argnums=(0, 1))(a, b)
    got = tg.compile(tg.grad(f, argnums=(0, 1)), fuse=fuse, check=True)(a, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-9, atol=1e-10)
