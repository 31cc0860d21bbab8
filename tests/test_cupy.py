"""CuPy on a real GPU: eager op specs, compiled gradients and fused kernel counts.

Every test here is marked ``cupy`` and skips, with the reason, when CuPy or a CUDA
device is missing; the same code paths are checked without a GPU by
test_backend_neutrality.py (array-api-strict on a non-host device) and
test_cupy_lowering.py (the generated CUDA source).
"""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_specs import SPECS

import tapegrad as tg
from tapegrad.backward import backward

for _path in sorted(pathlib.Path(__file__).parent.glob("specs_*.py")):
    importlib.import_module(_path.stem)


def _cupy_or_reason():
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device"
    except Exception as exc:  # noqa: BLE001 - no driver, no device
        return None, f"no usable CUDA device ({exc})"
    return cupy, None


cp, _REASON = _cupy_or_reason()
pytestmark = [pytest.mark.cupy, pytest.mark.skipif(cp is None, reason=str(_REASON))]


def to_cupy(obj):
    if isinstance(obj, np.ndarray):
        return cp.asarray(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_cupy(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_cupy(v) for k, v in obj.items()}
    return obj


def _vjp(spec, arrays, kw, ct, convert):
    idx = spec.diff if spec.diff is not None else tuple(
        i for i, a in enumerate(arrays) if a.dtype.kind == "f")
    args = [tg.tensor(convert(a), requires_grad=(i in idx)) for i, a in enumerate(arrays)]
    out = spec.fn(*args, **convert(kw))
    grads = (backward([out], [tg.tensor(convert(ct))], sources=[args[i] for i in idx])
             if out.requires_grad else [])
    return out, grads


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=5)
@given(data=st.data())
def test_spec_on_cupy_matches_numpy(spec, data):
    arrays, kw = spec.make(data.draw, np.float64)
    out0 = spec.fn(*map(tg.tensor, arrays), **kw)
    ct = np.random.default_rng(0).standard_normal(out0.shape).astype(out0.numpy().dtype)
    want = _vjp(spec, arrays, kw, ct, lambda a: a)
    got = _vjp(spec, arrays, kw, ct, to_cupy)
    assert isinstance(got[0].data, cp.ndarray)
    np.testing.assert_allclose(got[0].numpy(), want[0].numpy(), rtol=1e-9, atol=1e-12)
    for g, w in zip(got[1], want[1]):
        if w is None:
            assert g is None
            continue
        assert isinstance(g.data, cp.ndarray)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-9, atol=1e-12)


def workload(x):
    return tg.sum(tg.sin(x) * tg.exp(-x * x) + tg.log1p(x * x) * tg.tanh(x))


def mlp_loss(W1, b1, W2, b2, X, Y):
    z = tg.tanh(X @ W1 + b1) @ W2 + b2
    return -tg.sum((z - tg.logsumexp(z, axis=1, keepdims=True)) * Y) / X.shape[0]


def test_compiled_gradient_on_cupy_matches_numpy():
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s).astype(np.float32) * 0.3
            for s in [(784, 256), (256,), (256, 10), (10,), (64, 784)]]
    args.append(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)])
    f = tg.compile(tg.grad(mlp_loss, argnums=(0, 1, 2, 3)))
    want = f(*args)
    got = f(*map(cp.asarray, args))
    assert f.cache_entries == 2  # one program per backend
    for g, w in zip(got, want):
        assert isinstance(g.data, cp.ndarray)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=2e-4, atol=1e-5)


def test_fused_workload_is_one_kernel_launch_per_group():
    x = cp.asarray(np.linspace(-2, 2, 10_000, dtype=np.float32))
    fused = tg.compile(tg.value_and_grad(workload))
    unfused = tg.compile(tg.value_and_grad(workload), fuse=False)
    (v1, g1), (v2, g2) = fused(x), unfused(x)
    np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v1.item(), v2.item(), rtol=1e-5)
    notes = fused.stats()["fusion"]
    assert notes and all("cupy.ElementwiseKernel" in n or "cupy.ReductionKernel" in n
                         for n in notes)
    kernels = sum(1 for n in notes)
    assert kernels < len(unfused.graph.eqns)


def test_forward_sum_becomes_a_reduction_kernel():
    x = cp.asarray(np.linspace(-2, 2, 10_000, dtype=np.float32))
    f = tg.compile(workload)
    np.testing.assert_allclose(f(x).item(), workload(tg.tensor(x.get())).item(), rtol=1e-4)
    assert any("cupy.ReductionKernel" in n for n in f.stats()["fusion"])


def test_mixing_numpy_and_cupy_names_both():
    with pytest.raises(TypeError, match="cannot mix cupy and numpy"):
        tg.tensor(cp.ones(3)) + np.ones(3)
