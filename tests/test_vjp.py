"""Every op spec against ``jax.vjp`` (float64 tight, float32 loose), central finite
differences, and second derivatives through ``create_graph=True``."""

from __future__ import annotations

import importlib
import pathlib

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax_ref import compiled, value_and_pullback
from op_specs import SPECS, scaled

import tapegrad as tg
from tapegrad.backward import backward

jax.config.update("jax_enable_x64", True)

for _path in sorted(pathlib.Path(__file__).parent.glob("specs_*.py")):
    importlib.import_module(_path.stem)

TOL = {np.float64: dict(rtol=1e-9, atol=1e-9), np.float32: dict(rtol=2e-3, atol=2e-3)}


def _diff_indices(spec, arrays):
    if spec.diff is not None:
        return spec.diff
    return tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")


def _tg_vjp(spec, arrays, kw, ct, create_graph=False):
    idx = _diff_indices(spec, arrays)
    args = [tg.tensor(a, requires_grad=(i in idx)) for i, a in enumerate(arrays)]
    out = spec.fn(*args, **kw)
    if not out.requires_grad:
        return out, [None] * len(idx), args, idx
    grads = backward([out], [tg.tensor(ct)], sources=[args[i] for i in idx],
                     create_graph=create_graph)
    return out, grads, args, idx


def _jax_vjp(spec, arrays, kw, ct, idx):
    def f(*diff):
        full = list(map(jax.numpy.asarray, arrays))
        for i, d in zip(idx, diff):
            full[i] = d
        return spec.ref(*full, **kw)

    out, grads = value_and_pullback(f, [jax.numpy.asarray(arrays[i]) for i in idx],
                                    jax.numpy.asarray(ct))
    return np.asarray(out), [np.asarray(g) for g in grads]


def _ref_value(spec, arrays, kw):
    return np.asarray(compiled(lambda *a: spec.ref(*a, **kw))(*map(jax.numpy.asarray, arrays)))


def _cotangent(draw, shape, dtype):
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return rng.standard_normal(shape).astype(dtype)


def _close(got, want, dtype, what):
    got = np.zeros_like(want) if got is None else np.asarray(got.numpy())
    np.testing.assert_allclose(got, want, err_msg=what, **TOL[dtype])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.5)
@given(data=st.data())
def test_vjp_matches_jax(spec, data):
    _check_against_jax(spec, np.float64, data)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.2)
@given(data=st.data())
def test_vjp_float32_matches_jax(spec, data):
    _check_against_jax(spec, np.float32, data)


def _check_against_jax(spec, dtype, data):
    arrays, kw = spec.make(data.draw, dtype)
    ref_out = _ref_value(spec, arrays, kw)
    ct = _cotangent(data.draw, ref_out.shape, ref_out.dtype)
    out, grads, _, idx = _tg_vjp(spec, arrays, kw, ct)
    assert out.shape == ref_out.shape
    np.testing.assert_allclose(out.numpy(), ref_out, err_msg="forward", **TOL[dtype])
    if not out.requires_grad:
        return
    _, ref_grads = _jax_vjp(spec, arrays, kw, ct, idx)
    for i, g, rg in zip(idx, grads, ref_grads):
        if g is not None:
            assert g.shape == arrays[i].shape
            assert g.dtype == arrays[i].dtype, f"gradient dtype of argument {i}"
        _close(g, rg, dtype, f"gradient of argument {i}")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.fd], ids=lambda s: s.name)
@scaled(0.3)
@given(data=st.data())
def test_vjp_matches_finite_differences(spec, data):
    arrays, kw = spec.make(data.draw, np.float64)
    idx = _diff_indices(spec, arrays)
    shape = spec.fn(*map(tg.tensor, arrays), **kw).shape
    out, grads, _, _ = _tg_vjp(spec, arrays, kw, np.ones(shape))
    if not out.requires_grad:
        return
    ct = np.ones(out.shape)
    rng = np.random.default_rng(0)
    dirs = [rng.standard_normal(arrays[i].shape) for i in idx]
    eps = 1e-6

    def f(t):
        moved = list(arrays)
        for i, d in zip(idx, dirs):
            moved[i] = arrays[i] + t * d
        return float(np.sum(spec.fn(*map(tg.tensor, moved), **kw).numpy() * ct))

    numeric = (f(eps) - f(-eps)) / (2 * eps)
    analytic = sum(float(np.sum(g.numpy() * d)) for g, d in zip(grads, dirs) if g is not None)
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.smooth], ids=lambda s: s.name)
@scaled(0.2)
@given(data=st.data())
def test_second_order_matches_jax(spec, data):
    arrays, kw = spec.make(data.draw, np.float64)
    ref_out = _ref_value(spec, arrays, kw)
    ct = _cotangent(data.draw, ref_out.shape, np.float64)
    out, grads, args, idx = _tg_vjp(spec, arrays, kw, ct, create_graph=True)
    if not out.requires_grad:
        return
    ws = [_cotangent(data.draw, arrays[i].shape, np.float64) for i in idx]
    # d/dx <vjp(x), w> with tapegrad ...
    pairs = [(g, w) for g, w in zip(grads, ws) if g is not None and g.requires_grad]
    if not pairs:
        return
    total = sum(tg.sum(g * w) for g, w in pairs)
    second = backward([total], [None], sources=[args[i] for i in idx])

    # ... and with jax.
    def inner(*diff):
        def f(*d):
            full = list(map(jax.numpy.asarray, arrays))
            for i, v in zip(idx, d):
                full[i] = v
            return spec.ref(*full, **kw)

        _, pb = jax.vjp(f, *diff)
        gs = pb(jax.numpy.asarray(ct))
        return sum(jax.numpy.sum(g * w) for g, w in zip(gs, ws))

    ref_second = compiled(jax.grad(inner, argnums=tuple(range(len(idx)))))(
        *[jax.numpy.asarray(arrays[i]) for i in idx])
    for k, (g, rg) in enumerate(zip(second, ref_second)):
        _close(g, np.asarray(rg), np.float64, f"second derivative, argument {idx[k]}")


def test_every_primitive_has_a_spec():
    covered = {p for s in SPECS for p in s.prims}
    missing = sorted(set(tg.registry) - covered)
    assert not missing, f"primitives without an op spec: {missing}"
