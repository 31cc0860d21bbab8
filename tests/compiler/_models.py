"""Composed functions the compiler tests share, each with a jax.numpy twin."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad as tg


def mlp_loss(W1, b1, W2, b2, X, Y, m=None):
    """Two-layer tanh MLP with log-softmax cross-entropy."""
    m = m or tg
    h = m.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    lse = (m.logsumexp(z, axis=1, keepdims=True) if m is tg
           else jnp.log(jnp.exp(z).sum(axis=1, keepdims=True)))
    return -((z - lse) * Y).sum() / X.shape[0]


def logistic_loss(w, b, X, y, m=None):
    """Logistic regression: mean of log(1 + exp(-y * (X w + b)))."""
    m = m or tg
    z = X @ w + b
    return m.logaddexp(0.0, -y * z).mean()


def attention_loss(q, k, v, m=None):
    """One head of softmax attention, squared output summed."""
    m = m or tg
    s = q @ k.T / np.sqrt(q.shape[-1])
    s = s - s.max(axis=-1, keepdims=True)
    e = m.exp(s)
    a = e / e.sum(axis=-1, keepdims=True)
    return ((a @ v) ** 2).sum()


def rosenbrock(x, m=None):
    """The Rosenbrock function (slices of one vector)."""
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def chain100(x, m=None):
    """A 100-operation elementwise chain."""
    m = m or tg
    for _ in range(25):
        x = m.sin(x) * 0.5 + x * 0.25 - 0.1
    return x.sum()


def broadcasting(x, y, b, m=None):
    """Broadcast (3,1) against (1,4) and (4,); everything summed down again."""
    m = m or tg
    return (m.tanh(x * y + b) * y).sum() + (x ** 2).mean()


REPEATED = np.array([0, 0, 2, 2, 2, 4])


def repeated_index(x, m=None):
    """Indexing with repeated indices: the gradient accumulates."""
    m = m or tg
    return (m.exp(x[REPEATED]) * x[1:3].sum()).sum()


def data(seed: int = 0, dtype=np.float64) -> dict:
    """Arguments for each model."""
    rng = np.random.default_rng(seed)

    def r(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    Y = np.eye(5, dtype=dtype)[rng.integers(0, 5, 16)]
    return {
        "mlp": (mlp_loss, (r(12, 8, scale=0.3), r(8), r(8, 5, scale=0.3), r(5),
                           r(16, 12), Y)),
        "logistic": (logistic_loss, (r(6), r(), r(20, 6),
                                     np.where(rng.random(20) > 0.5, 1.0, -1.0).astype(dtype))),
        "attention": (attention_loss, (r(4, 8), r(6, 8), r(6, 3))),
        "rosenbrock": (rosenbrock, (r(7),)),
        "chain100": (chain100, (r(16),)),
        "broadcasting": (broadcasting, (r(3, 1), r(1, 4), r(4))),
        "repeated_index": (repeated_index, (r(6),)),
    }
