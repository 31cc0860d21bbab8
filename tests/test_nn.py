"""tg.nn against closed forms (always), jax.nn and PyTorch (where installed).

Each function is checked for values and gradients in float64 on points that include
±50 (and ±1000 for finiteness), plus second derivatives, compiled programs equal to the
eager ones, and fusion of the elementwise functions into one kernel.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # CI has no PyTorch: the closed forms and jax still check everything
    torch = None
try:
    import jax
    import jax.numpy as jnp
except ImportError:  # pragma: no cover - jax is a test dependency
    jax = None

X = np.array([-50.0, -20.0, -5.0, -1.5, -0.3, 0.0, 0.3, 1.5, 5.0, 20.0, 50.0])
XR = np.concatenate([X, np.random.default_rng(0).uniform(-8, 8, 40)])
RTOL = 1e-11


def _sig(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


_erfc = np.vectorize(math.erfc)
_C = math.sqrt(2 / math.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(_C * (x + 0.044715 * x ** 3)))


def _gelu_tanh_d(x):
    t = np.tanh(_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _C * (1 + 3 * 0.044715 * x * x)


# name: (tapegrad function, value, derivative, torch function, jax function)
ELEMENTWISE = {
    "relu": (tg.nn.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0,
             "relu", "relu"),
    "sigmoid": (tg.nn.sigmoid, _sig, lambda x: _sig(x) * _sig(-x), "sigmoid", "sigmoid"),
    "softplus": (tg.nn.softplus, lambda x: np.logaddexp(x, 0), _sig, None, "softplus"),
    "silu": (tg.nn.silu, lambda x: x * _sig(x), lambda x: _sig(x) + x * _sig(x) * _sig(-x),
             "silu", "silu"),
    "gelu": (tg.nn.gelu, lambda x: 0.5 * x * _erfc(-x / math.sqrt(2)),
             lambda x: 0.5 * _erfc(-x / math.sqrt(2))
             + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi), "gelu", "gelu_exact"),
    "gelu_tanh": (lambda x: tg.nn.gelu(x, approximate="tanh"), _gelu_tanh, _gelu_tanh_d,
                  "gelu_tanh", "gelu_tanh"),
    "leaky_relu": (tg.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                   lambda x: np.where(x > 0, 1.0, 0.01), "leaky_relu", "leaky_relu"),
    "elu": (tg.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))), "elu", "elu"),
    "log_sigmoid": (tg.nn.log_sigmoid, lambda x: -np.logaddexp(0, -x), lambda x: _sig(-x),
                    "logsigmoid", "log_sigmoid"),
}


def _torch_fn(name):
    return {"relu": F.relu, "sigmoid": torch.sigmoid, "silu": F.silu, "gelu": F.gelu,
            "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
            "leaky_relu": F.leaky_relu, "elu": F.elu, "logsigmoid": F.logsigmoid,
            "softplus20": lambda x: F.softplus(x)}[name]


def _jax_fn(name):
    return {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus,
            "silu": jax.nn.silu, "gelu_exact": lambda x: jax.nn.gelu(x, approximate=False),
            "gelu_tanh": lambda x: jax.nn.gelu(x, approximate=True),
            "leaky_relu": jax.nn.leaky_relu, "elu": jax.nn.elu,
            "log_sigmoid": jax.nn.log_sigmoid}[name]


def _torch_value_grad(fn, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_values_and_gradients(name):
    f, value, deriv, tname, jname = ELEMENTWISE[name]
    y = f(tg.tensor(XR)).numpy()
    g = tg.grad(lambda x: f(x).sum())(XR).numpy()
    # (the tanh form of gelu cancels in 1 + tanh(...) for negative x: absolute tolerance;
    # the tails' relative precision is checked in test_extremes_stay_finite)
    np.testing.assert_allclose(y, value(XR), rtol=RTOL, atol=1e-14)
    # (gelu's derivative Phi(x) + x phi(x) cancels for negative x: absolute tolerance)
    np.testing.assert_allclose(g, deriv(XR), rtol=1e-9, atol=1e-14)
    if jax is not None:
        jf = _jax_fn(jname)
        pts = XR[XR != 0] if name == "leaky_relu" else XR  # jax's slope at 0 is 1
        np.testing.assert_allclose(f(tg.tensor(pts)).numpy(), np.asarray(jf(jnp.asarray(pts))),
                                   rtol=1e-10, atol=1e-14)
        jg = jax.grad(lambda x: jf(x).sum())(jnp.asarray(pts))
        # (jax's own gradients lose the tails' relative precision: sigmoid'(50) is 0)
        np.testing.assert_allclose(tg.grad(lambda x: f(x).sum())(pts).numpy(),
                                   np.asarray(jg), rtol=1e-9, atol=1e-13)
    if torch is not None and tname is not None:
        ty, tgrad = _torch_value_grad(_torch_fn(tname), XR)
        # (PyTorch's exact gelu cancels in 1 + erf(x / sqrt(2)) for negative x)
        np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(g, tgrad, rtol=1e-9, atol=1e-14)


def test_softplus_beta_and_threshold():
    x = XR
    sp = tg.nn.softplus(tg.tensor(x), beta=2.0, threshold=20.0).numpy()
    want = np.where(2 * x > 20, x, np.logaddexp(2 * x, 0) / 2)
    np.testing.assert_allclose(sp, want, rtol=RTOL)
    g = tg.grad(lambda x: tg.nn.softplus(x, beta=2.0).sum())(x).numpy()
    np.testing.assert_allclose(g, _sig(2 * x), rtol=1e-9, atol=1e-300)
    if torch is not None:
        ty, tgr = _torch_value_grad(lambda t: F.softplus(t, beta=2.0, threshold=20.0), x)
        np.testing.assert_allclose(sp, ty, rtol=1e-10)
        g2 = tg.grad(lambda x: tg.nn.softplus(x, beta=2.0, threshold=20.0).sum())(x).numpy()
        np.testing.assert_allclose(g2, tgr, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extremes_stay_finite(name, dtype):
    f, value, deriv, tname, _ = ELEMENTWISE[name]
    x = np.array([-1000.0, -50.0, -30.0, 30.0, 50.0, 1000.0], dtype)
    y = f(tg.tensor(x)).numpy()
    g = tg.grad(lambda x: f(x).sum())(x).numpy()
    assert y.dtype == dtype and g.dtype == dtype
    assert np.isfinite(y).all() and np.isfinite(g).all(), (y, g)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(y, value(x.astype(np.float64)), rtol=1e-5, atol=1e-30)
        # (elu's gradient at -50 comes out 0 rather than 2e-22: expm1's derivative is
        # computed from its output, expm1(x) + 1)
        np.testing.assert_allclose(g, deriv(x.astype(np.float64)), rtol=1e-5, atol=1e-12)
    if torch is not None and tname is not None:
        ty, tgr = _torch_value_grad(_torch_fn(tname), x.astype(np.float64))
        assert np.isfinite(ty).all() and np.isfinite(tgr).all()


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu", "gelu", "gelu_tanh", "elu",
                                  "log_sigmoid"])
def test_second_derivatives(name):
    f, _, deriv, _, _ = ELEMENTWISE[name]
    x = np.linspace(-4, 4, 17) + 0.05
    d2 = tg.grad(lambda x: tg.grad(lambda x: f(x).sum())(x).sum())(x).numpy()
    h = 1e-5  # central differences of the closed-form derivative
    np.testing.assert_allclose(d2, (deriv(x + h) - deriv(x - h)) / (2 * h), rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_fuse_into_one_kernel(name):
    from tapegrad.compiler import FusedKernel

    f = ELEMENTWISE[name][0]
    x = np.linspace(-3, 3, 24).reshape(4, 6)
    fast = tg.compile(tg.grad(lambda x: (f(x) * x).sum()))
    np.testing.assert_allclose(fast(x).numpy(), tg.grad(lambda x: (f(x) * x).sum())(x).numpy(),
                               rtol=1e-12)
    eqns = fast.graph.eqns
    assert fast.stats()["fused_groups"] == 1
    assert len(eqns) == 1 and isinstance(eqns[0].prim, FusedKernel), [e.prim for e in eqns]


# -- softmax and friends -------------------------------------------------------------------
Z = np.array([[1.0, 2.0, 3.0, -1.0], [0.0, 50.0, -50.0, 10.0], [-50.0, -50.0, -49.0, -50.0]])
W = np.random.default_rng(1).standard_normal(Z.shape)


def _np_softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax(axis):
    s = _np_softmax(Z, axis)
    logs = Z - Z.max(axis=axis, keepdims=True)
    logs = logs - np.log(np.exp(logs).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(tg.nn.softmax(Z, axis).numpy(), s, rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(tg.nn.log_softmax(Z, axis).numpy(), logs, rtol=1e-9)
    np.testing.assert_allclose(tg.nn.softmax(Z, dim=axis).numpy(), s, rtol=RTOL, atol=1e-300)
    # vector-Jacobian products, closed form
    gs = tg.grad(lambda z: (tg.nn.softmax(z, axis) * W).sum())(Z).numpy()
    np.testing.assert_allclose(gs, s * (W - (s * W).sum(axis=axis, keepdims=True)),
                               rtol=1e-9, atol=1e-300)
    gl = tg.grad(lambda z: (tg.nn.log_softmax(z, axis) * W).sum())(Z).numpy()
    np.testing.assert_allclose(gl, W - s * W.sum(axis=axis, keepdims=True), rtol=1e-9,
                               atol=1e-12)
    if jax is not None:
        js = jax.grad(lambda z: (jax.nn.softmax(z, axis=axis) * W).sum())(jnp.asarray(Z))
        np.testing.assert_allclose(gs, np.asarray(js), rtol=1e-9, atol=1e-15)
    if torch is not None:
        t = torch.tensor(Z, requires_grad=True)
        (tgr,) = torch.autograd.grad((F.log_softmax(t, dim=axis) * torch.tensor(W)).sum(), t)
        np.testing.assert_allclose(gl, tgr.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tg.nn.softmax(Z, axis).numpy(),
                                   F.softmax(torch.tensor(Z), dim=axis).numpy(), rtol=1e-10,
                                   atol=1e-300)


def test_one_hot():
    got = tg.nn.one_hot(np.array([[0, 3], [2, 1]]), 4)
    assert got.dtype == tg.get_default_dtype()
    np.testing.assert_array_equal(got.numpy(), np.eye(4)[[[0, 3], [2, 1]]])
    np.testing.assert_array_equal(tg.nn.one_hot([1, 0], dtype="int64").numpy(),
                                  [[0, 1], [1, 0]])
    np.testing.assert_array_equal(tg.nn.one_hot([1, 0], 3, axis=0).numpy(), np.eye(3)[[1, 0]].T)
    if torch is not None:
        np.testing.assert_array_equal(
            tg.nn.one_hot([2, 0, 1], 3, dtype="int64").numpy(),
            F.one_hot(torch.tensor([2, 0, 1]), 3).numpy())
    with pytest.raises(ValueError, match=r"one_hot: labels must be integers in \[0, 3\), got "
                                         r"values from 0 to 3"):
        tg.nn.one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="one_hot: labels must be integers, got dtype float"):
        tg.nn.one_hot(np.array([0.0, 1.0]), 3)


# -- losses --------------------------------------------------------------------------------
LOGITS = np.array([[2.0, 0.5, -1.0, 0.0], [0.0, 0.0, 3.0, 1.0], [50.0, -50.0, 0.0, 1.0],
                   [-50.0, 50.0, 49.0, -3.0], [0.1, 0.2, 0.3, 0.4]])
LABELS = np.array([0, 2, 1, 1, 3])
PROBS = np.random.default_rng(2).dirichlet(np.ones(4), size=5)


def _ce_reference(z, target, smoothing):
    """Loss per example and d(mean loss)/dz, from a target distribution (closed form)."""
    c = z.shape[-1]
    target = target * (1 - smoothing) + smoothing / c
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    loss = -(target * logp).sum(-1)
    grad = (np.exp(logp) * target.sum(-1, keepdims=True) - target) / z.shape[0]
    return loss, grad


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_cross_entropy(kind, smoothing):
    target = np.eye(4)[LABELS] if kind == "labels" else PROBS
    labels = LABELS if kind == "labels" else PROBS
    loss, grad = _ce_reference(LOGITS, target, smoothing)
    for reduction, want in (("none", loss), ("sum", loss.sum()), ("mean", loss.mean())):
        got = tg.nn.cross_entropy(LOGITS, labels, reduction=reduction,
                                  label_smoothing=smoothing)
        np.testing.assert_allclose(got.numpy(), want, rtol=RTOL, atol=1e-13)
    g = tg.grad(lambda z: tg.nn.cross_entropy(z, labels, label_smoothing=smoothing))(LOGITS)
    np.testing.assert_allclose(g.numpy(), grad, rtol=1e-9, atol=1e-15)
    if torch is not None:
        t = torch.tensor(LOGITS, requires_grad=True)
        tl = torch.tensor(labels)
        for reduction in ("none", "sum", "mean"):
            want = F.cross_entropy(t, tl, reduction=reduction, label_smoothing=smoothing)
            got = tg.nn.cross_entropy(LOGITS, labels, reduction=reduction,
                                      label_smoothing=smoothing)
            np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10,
                                       atol=1e-13)
        (tgr,) = torch.autograd.grad(F.cross_entropy(t, tl, label_smoothing=smoothing), t)
        np.testing.assert_allclose(g.numpy(), tgr.numpy(), rtol=1e-9, atol=1e-15)


def test_cross_entropy_class_axis_and_hessian():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2, 3, 5))  # PyTorch's (N, C, d) layout
    y = rng.integers(0, 3, (2, 5))
    moved = np.moveaxis(z, 1, -1).reshape(-1, 3)
    want, _ = _ce_reference(moved, np.eye(3)[y.reshape(-1)], 0.0)
    got = tg.nn.cross_entropy(z, y, axis=1, reduction="none").numpy()
    np.testing.assert_allclose(got.reshape(-1), want, rtol=RTOL)
    if torch is not None:
        tw = F.cross_entropy(torch.tensor(z), torch.tensor(y), reduction="none")
        np.testing.assert_allclose(got, tw.numpy(), rtol=1e-10)
    # Hessian of one example's loss: diag(s) - s s^T
    z1 = LOGITS[0]
    h = tg.hessian(lambda z: tg.nn.cross_entropy(z[None], LABELS[:1]))(z1).numpy()
    s = _np_softmax(z1, -1)
    np.testing.assert_allclose(h, np.diag(s) - np.outer(s, s), rtol=1e-9, atol=1e-15)


def test_cross_entropy_compiles_without_recompiling_for_new_labels():
    rng = np.random.default_rng(4)
    eager = tg.grad(lambda z, y: tg.nn.cross_entropy(z, y, label_smoothing=0.05))
    fast = tg.compile(eager)
    for _ in range(3):
        y = rng.integers(0, 4, 5)
        np.testing.assert_allclose(fast(LOGITS, y).numpy(), eager(LOGITS, y).numpy(),
                                   rtol=1e-12, atol=1e-15)
    assert fast.cache_entries == 1, fast.recompiles
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be integers in \[0, 4\)"):
        fast(LOGITS, np.array([0, 1, 2, 3, 4]))


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be integers in \[0, 4\), "
                                         r"got values from -1 to 2"):
        tg.nn.cross_entropy(LOGITS, np.array([0, 1, 2, -1, 0]))
    with pytest.raises(ValueError, match=r"cross_entropy: integer labels must have shape "
                                         r"\(5,\)"):
        tg.nn.cross_entropy(LOGITS, np.array([0, 1]))
    with pytest.raises(ValueError, match="cross_entropy: probability labels must have"):
        tg.nn.cross_entropy(LOGITS, PROBS[:2])
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'mean', 'sum' or "
                                         "'none', got 'avg'"):
        tg.nn.cross_entropy(LOGITS, LABELS, reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        tg.nn.cross_entropy(LOGITS, LABELS, label_smoothing=1.5)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        tg.nn.gelu(LOGITS, approximate="erf")


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_with_logits(weighted):
    x = LOGITS.ravel()
    y = np.random.default_rng(5).uniform(0, 1, x.shape)
    pw = np.linspace(0.5, 3.0, x.size) if weighted else None
    w = np.linspace(0.1, 1.0, x.size) if weighted else None
    p = pw if weighted else 1.0
    loss = (1 - y) * x + (1 + (p - 1) * y) * np.logaddexp(0, -x)
    dloss = (1 - y) - (1 + (p - 1) * y) * _sig(-x)
    if weighted:
        loss, dloss = loss * w, dloss * w
    got = tg.nn.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw,
                                                 reduction="none").numpy()
    np.testing.assert_allclose(got, loss, rtol=RTOL, atol=1e-13)
    g = tg.grad(lambda x: tg.nn.binary_cross_entropy_with_logits(
        x, y, weight=w, pos_weight=pw))(x).numpy()
    np.testing.assert_allclose(g, dloss / x.size, rtol=1e-9, atol=1e-15)
    if torch is not None:
        t = torch.tensor(x, requires_grad=True)
        kw = dict(weight=torch.tensor(w), pos_weight=torch.tensor(pw)) if weighted else {}
        tl = F.binary_cross_entropy_with_logits(t, torch.tensor(y), **kw)
        (tgr,) = torch.autograd.grad(tl, t)
        np.testing.assert_allclose(got.mean(), tl.item(), rtol=1e-10)
        np.testing.assert_allclose(g, tgr.numpy(), rtol=1e-9, atol=1e-15)


def test_mse_loss():
    a, b = LOGITS, PROBS
    for reduction, want in (("mean", ((a - b) ** 2).mean()), ("sum", ((a - b) ** 2).sum()),
                            ("none", (a - b) ** 2)):
        np.testing.assert_allclose(tg.nn.mse_loss(a, b, reduction=reduction).numpy(), want,
                                   rtol=RTOL)
    g = tg.grad(tg.nn.mse_loss)(a, b).numpy()
    np.testing.assert_allclose(g, 2 * (a - b) / a.size, rtol=1e-12)
    if torch is not None:
        t = torch.tensor(a, requires_grad=True)
        (tgr,) = torch.autograd.grad(F.mse_loss(t, torch.tensor(b)), t)
        np.testing.assert_allclose(g, tgr.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="mse_loss: reduction must be"):
        tg.nn.mse_loss(a, b, reduction="max")


def test_losses_compile_like_eager():
    def loss(z, y, t):
        return (tg.nn.cross_entropy(z, y) + tg.nn.binary_cross_entropy_with_logits(z, t)
                + tg.nn.mse_loss(tg.nn.softmax(z), t))

    t = PROBS
    fast = tg.compile(tg.grad(loss))
    np.testing.assert_allclose(fast(LOGITS, LABELS, t).numpy(),
                               tg.grad(loss)(LOGITS, LABELS, t).numpy(), rtol=1e-12,
                               atol=1e-15)
