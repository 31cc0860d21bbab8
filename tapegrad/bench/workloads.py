"""The benchmark workloads, each defined once.

A :class:`Workload` holds a loss written once against a small namespace of operations
(``ops.sin``, ``ops.sum``...; operators ``+ - * / ** @``, slicing and ``.T`` come from
the arrays themselves), so that the same text runs on tapegrad, PyTorch, JAX and HIPS
autograd (see :mod:`tapegrad.bench.peers`). Next to it sits the hand-written NumPy
forward + backward pass: the floor for NumPy-based code, and the reference every other
variant's gradient is checked against in the tests.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Workload(NamedTuple):
    """One benchmark problem.

    Attributes
    ----------
    name : str
        Identifier used on the command line and as the asv parameter.
    title : str
        What a reader sees in tables.
    make_inputs : callable
        ``make_inputs(quick) -> tuple`` of NumPy arrays (fresh, seeded); ``quick``
        gives tiny sizes for the tests and ``--quick``.
    argnums : tuple of int
        The arguments differentiated.
    loss : callable
        ``loss(ops, *args)``: the function, written once for every framework.
    numpy_grad : callable
        ``numpy_grad(*args) -> tuple`` of gradients (one per ``argnums``), by hand; for
        ``kind="forward"`` the forward value.
    kind : str
        ``"grad"`` (forward + backward) or ``"forward"`` (one recorded operation).
    variants : tuple of str or None
        The variants that make sense for this workload (None: all).
    rtol : float
        Tolerance for comparing gradients with ``numpy_grad`` (float32 workloads are
        looser).
    static : callable or None
        ``static(quick) -> dict`` of keyword arguments that are compile-time constants
        (a chain's length), passed to both ``loss`` and ``numpy_grad``.
    """

    name: str
    title: str
    make_inputs: Callable[[bool], tuple]
    argnums: tuple[int, ...]
    loss: Callable[..., Any]
    numpy_grad: Callable[..., Any]
    kind: str = "grad"
    variants: tuple[str, ...] | None = None
    rtol: float = 1e-6
    static: Callable[[bool], dict] | None = None

    def function(self, ops: Any, quick: bool = False) -> Callable[..., Any]:
        """The loss as a plain function of the array arguments, for one framework."""
        kw = self.static(quick) if self.static is not None else {}
        return functools.partial(self.loss, ops, **kw)

    def reference(self, quick: bool = False) -> Callable[..., Any]:
        """The hand-written NumPy forward + backward as a function of the arguments."""
        kw = self.static(quick) if self.static is not None else {}
        return functools.partial(self.numpy_grad, **kw) if kw else self.numpy_grad


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


# -- per-operation overhead: one multiply on tiny tensors ----------------------------
def _op_inputs(quick: bool) -> tuple:
    x = np.linspace(0.5, 2.0, 4, dtype=np.float32)
    return x, x[::-1].copy()


def _op_loss(ops, x, y):
    return x * y


def _op_numpy(x, y):
    return x * y


def _op_backward_inputs(quick: bool) -> tuple:
    return np.asarray(1.5, np.float32), np.asarray(-0.5, np.float32)


def _op_backward_numpy(x, y):
    _ = x * y
    return y, x


# -- the seed quadratic: f(x1, x2) = 0.2 x1^2 + 0.2 x2^2 - 5 -------------------------
def _seed_inputs(quick: bool) -> tuple:
    return np.asarray(2.0, np.float32), np.asarray(2.0, np.float32)


def _seed_loss(ops, x1, x2):
    return 0.2 * ops.square(x1) + 0.2 * ops.square(x2) - 5


def _seed_numpy(x1, x2):
    _ = 0.2 * (x1 * x1) + 0.2 * (x2 * x2) - 5
    return np.float32(0.4) * x1, np.float32(0.4) * x2


# -- an elementwise chain: sin, *0.9, +0.1, tanh, repeated ---------------------------
def _chain_inputs(quick: bool) -> tuple:
    return (np.linspace(-1.0, 1.0, 16),)


def chain_loss(ops, x, n: int = 100):
    """``n`` elementwise operations (cycling sin, *0.9, +0.1, tanh), then a sum."""
    y = x
    for i in range(n):
        step = i % 4
        if step == 0:
            y = ops.sin(y)
        elif step == 1:
            y = y * 0.9
        elif step == 2:
            y = y + 0.1
        else:
            y = ops.tanh(y)
    return ops.sum(y)


def chain_numpy(x, n: int = 100):
    """Hand-written forward and backward of :func:`chain_loss`."""
    saved = []
    y = x
    for i in range(n):
        step = i % 4
        if step == 0:
            saved.append(y)
            y = np.sin(y)
        elif step == 1:
            y = y * 0.9
        elif step == 2:
            y = y + 0.1
        else:
            y = np.tanh(y)
            saved.append(y)
    _ = y.sum()
    g = np.ones_like(x)
    for i in reversed(range(n)):
        step = i % 4
        if step == 0:
            g = g * np.cos(saved.pop())
        elif step == 1:
            g = g * 0.9
        elif step == 3:
            t = saved.pop()
            g = g * (1.0 - t * t)
    return (g,)


# -- a 784-256-10 tanh MLP with softmax cross-entropy, float32 -----------------------
def _mlp_inputs(batch: int) -> Callable[[bool], tuple]:
    def make(quick: bool) -> tuple:
        rng = _rng()
        b, d_in, d_h, d_out = (4, 12, 8, 3) if quick else (batch, 784, 256, 10)
        f32 = np.float32
        w1 = (rng.standard_normal((d_in, d_h)) / math.sqrt(d_in)).astype(f32)
        b1 = np.zeros(d_h, f32)
        w2 = (rng.standard_normal((d_h, d_out)) / math.sqrt(d_h)).astype(f32)
        b2 = np.zeros(d_out, f32)
        x = rng.standard_normal((b, d_in)).astype(f32)
        onehot = np.eye(d_out, dtype=f32)[rng.integers(0, d_out, b)]
        return w1, b1, w2, b2, x, onehot

    return make


def mlp_loss(ops, w1, b1, w2, b2, x, onehot):
    """Mean softmax cross-entropy of a one-hidden-layer tanh network."""
    h = ops.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    return ops.mean(ops.logsumexp(z, axis=1) - ops.sum(onehot * z, axis=1))


def mlp_numpy(w1, b1, w2, b2, x, onehot):
    """Hand-written forward and backward of :func:`mlp_loss`."""
    h = np.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    dz = (p - onehot) / np.float32(x.shape[0])
    dw2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ w2.T) * (1 - h * h)
    dw1 = x.T @ dh
    db1 = dh.sum(axis=0)
    return dw1, db1, dw2, db2


# -- sum(sin(x) exp(-x^2) + log1p(x^2) tanh(x)) on 1e6 float64 -----------------------
def _elementwise_inputs(quick: bool) -> tuple:
    return (_rng().standard_normal(100 if quick else 1_000_000),)


def elementwise_loss(ops, x):
    """The elementwise workload's function, reduced by a sum."""
    x2 = x * x
    return ops.sum(ops.sin(x) * ops.exp(-x2) + ops.log1p(x2) * ops.tanh(x))


def elementwise_numpy(x):
    """Hand-written forward and backward of :func:`elementwise_loss`."""
    x2 = x * x
    s, e, lg, t = np.sin(x), np.exp(-x2), np.log1p(x2), np.tanh(x)
    _ = np.sum(s * e + lg * t)
    g = np.cos(x) * e - 2.0 * x * s * e + (2.0 * x / (1.0 + x2)) * t + lg * (1.0 - t * t)
    return (g,)


# -- logistic regression on scikit-learn's breast-cancer data ------------------------
def _logreg_inputs(quick: bool) -> tuple:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if quick:
        X, y = X[:20], y[:20]
    w = 0.1 * _rng().standard_normal(X.shape[1])
    return w, np.ascontiguousarray(X), 2.0 * y - 1.0


def logreg_loss(ops, w, X, y):
    """Mean logistic loss ``log(1 + exp(-y * Xw))`` with labels in {-1, +1}."""
    return ops.mean(ops.log1p(ops.exp(-y * (X @ w))))


def logreg_numpy(w, X, y):
    """Hand-written forward and backward of :func:`logreg_loss`."""
    m = -y * (X @ w)
    e = np.exp(m)
    _ = np.mean(np.log1p(e))
    dm = e / (1.0 + e) / X.shape[0]
    return (X.T @ (-y * dm),)


# -- Rosenbrock in 1000 dimensions ---------------------------------------------------
def _rosenbrock_inputs(quick: bool) -> tuple:
    return (_rng().uniform(-1.0, 1.0, 10 if quick else 1000),)


def rosenbrock_loss(ops, x):
    """``sum(100 (x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)``."""
    a = x[:-1]
    return ops.sum(100.0 * (x[1:] - a * a) ** 2 + (1.0 - a) ** 2)


def rosenbrock_numpy(x):
    """Hand-written forward and backward of :func:`rosenbrock_loss`."""
    a = x[:-1]
    r = x[1:] - a * a
    _ = np.sum(100.0 * r * r + (1.0 - a) ** 2)
    g = np.zeros_like(x)
    g[1:] += 200.0 * r
    g[:-1] += -400.0 * r * a - 2.0 * (1.0 - a)
    return (g,)


# -- single-head attention, float32 --------------------------------------------------
def _attention_inputs(quick: bool) -> tuple:
    rng = _rng()
    t, d = (5, 4) if quick else (128, 64)
    f32 = np.float32
    x = rng.standard_normal((t, d)).astype(f32)
    ws = [(rng.standard_normal((d, d)) / math.sqrt(d)).astype(f32) for _ in range(3)]
    return (*ws, x)


def attention_loss(ops, wq, wk, wv, x):
    """Mean square of ``softmax(q k^T / sqrt(d)) v`` for one head."""
    q, k, v = x @ wq, x @ wk, x @ wv
    s = (q @ k.T) * (1.0 / math.sqrt(x.shape[1]))
    p = ops.exp(s - ops.logsumexp(s, axis=-1, keepdims=True))
    o = p @ v
    return ops.mean(o * o)


def attention_numpy(wq, wk, wv, x):
    """Hand-written forward and backward of :func:`attention_loss`."""
    c = np.float32(1.0 / math.sqrt(x.shape[1]))
    q, k, v = x @ wq, x @ wk, x @ wv
    s = (q @ k.T) * c
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    o = p @ v
    do = (2.0 / o.size) * o
    dp = do @ v.T
    dv = p.T @ do
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * c
    dq, dk = ds @ k, ds.T @ q
    return x.T @ dq, x.T @ dk, x.T @ dv


# -- long tapes, for linear scaling --------------------------------------------------
def _tape_workload(n: int, quick_n: int, label: str) -> Workload:
    # jax.jit would spend minutes compiling a 1e5-op program; HIPS autograd and
    # un-jitted jax are covered by the shorter workloads.
    return Workload(f"tape_{label}", f"{label}-op tape (record + backward)", _chain_inputs,
                    (0,), chain_loss, chain_numpy,
                    variants=("eager", "tape", "compiled", "numpy", "torch"),
                    static=lambda quick: {"n": quick_n if quick else n})


WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    Workload("op_forward", "one multiply, forward (4 elements)", _op_inputs, (0, 1),
             _op_loss, _op_numpy, kind="forward", rtol=1e-6),
    Workload("op_backward", "one multiply, forward + backward (0-d)", _op_backward_inputs,
             (0, 1), _op_loss, _op_backward_numpy, rtol=1e-6),
    Workload("seed", "seed quadratic 0.2x1^2 + 0.2x2^2 - 5", _seed_inputs, (0, 1),
             _seed_loss, _seed_numpy, rtol=1e-6),
    Workload("chain100", "100-op elementwise chain (16 elements)", _chain_inputs, (0,),
             chain_loss, chain_numpy, static=lambda quick: {"n": 12 if quick else 100}),
    Workload("mlp_b128", "MLP 784-256-10 tanh, batch 128 (float32)", _mlp_inputs(128),
             (0, 1, 2, 3), mlp_loss, mlp_numpy, rtol=2e-4),
    Workload("mlp_b1024", "MLP 784-256-10 tanh, batch 1024 (float32)", _mlp_inputs(1024),
             (0, 1, 2, 3), mlp_loss, mlp_numpy, rtol=2e-4),
    Workload("elementwise_1e6", "sin(x)exp(-x^2) + log1p(x^2)tanh(x), 1e6 float64",
             _elementwise_inputs, (0,), elementwise_loss, elementwise_numpy),
    Workload("logreg", "logistic regression, breast cancer (569x30)", _logreg_inputs, (0,),
             logreg_loss, logreg_numpy),
    Workload("rosenbrock", "Rosenbrock, 1000 dimensions", _rosenbrock_inputs, (0,),
             rosenbrock_loss, rosenbrock_numpy),
    Workload("attention", "single-head attention 128x64 (float32)", _attention_inputs,
             (0, 1, 2), attention_loss, attention_numpy, rtol=2e-4),
    _tape_workload(10_000, 40, "1e4"),
    _tape_workload(100_000, 400, "1e5"),
]}


# -- data-parallel rows: logistic regression over chunked data (tapegrad.dask) -------
def _logreg_dask_inputs(rows: int, cols: int, quick_rows: int) -> Callable[[bool], tuple]:
    def make(quick: bool) -> tuple:
        rng = _rng()
        n = quick_rows if quick else rows
        X = rng.standard_normal((n, cols))
        w_true = rng.standard_normal(cols) / math.sqrt(cols)
        y = np.sign(X @ w_true + 0.5 * rng.standard_normal(n))
        y[y == 0] = 1.0
        return 0.1 * rng.standard_normal(cols), X, y

    return make


# The variants that apply: single-process floors and the chunked ones (dask_bench.py).
DASK_WORKLOAD_VARIANTS = ("numpy", "eager", "compiled", "dask_1w", "dask_2w", "dask_glm")

WORKLOADS.update({w.name: w for w in [
    Workload("logreg_dask", "logistic regression 250000x32, 8 chunks (float64)",
             _logreg_dask_inputs(250_000, 32, 2_000), (0,), logreg_loss, logreg_numpy,
             variants=DASK_WORKLOAD_VARIANTS, rtol=1e-8),
    Workload("logreg_dask_small", "logistic regression 1000x8, 2 chunks: per-call overhead",
             _logreg_dask_inputs(1_000, 8, 200), (0,), logreg_loss, logreg_numpy,
             variants=DASK_WORKLOAD_VARIANTS, rtol=1e-8),
]})
