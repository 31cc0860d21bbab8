"""A steady-state compiled call allocates only its outputs and the planned buffers."""

from __future__ import annotations

import tracemalloc

import numpy as np

import tapegrad as tg


def _mlp_loss(W1, b1, W2, b2, X, Y):
    h = tg.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    return -(Y * (z - tg.logsumexp(z, axis=1, keepdims=True))).sum(axis=1).mean()


def test_compiled_call_stays_within_planned_bytes():
    rng = np.random.default_rng(0)
    W1 = (rng.standard_normal((64, 32)) * 0.1).astype(np.float32)
    b1 = np.zeros(32, np.float32)
    W2 = (rng.standard_normal((32, 10)) * 0.1).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    X = rng.standard_normal((16, 64)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
    f = tg.compile(tg.grad(_mlp_loss, argnums=(0, 1, 2, 3)))
    f(W1, b1, W2, b2, X, Y)  # compile
    f(W1, b1, W2, b2, X, Y)  # warm
    planned = f.stats()["planned_peak_bytes"]
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = f(W1, b1, W2, b2, X, Y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    outputs = sum(o.data.nbytes for o in out)
    # Planned live bytes include the outputs; allow small Python objects on top.
    assert peak - base <= max(planned, outputs) + 16 * 1024, (peak - base, planned, outputs)
    eager = tg.grad(_mlp_loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, Y)
    for a, b in zip(out, eager):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
