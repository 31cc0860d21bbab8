"""Every op spec through ``tg.compile(tg.grad(...))``: compiled equals eager."""

from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg

_TESTS = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS))
from op_specs import SPECS, scaled  # noqa: E402

for _path in sorted(_TESTS.glob("specs_*.py")):
    importlib.import_module(_path.stem)


def _diff(spec, arrays):
    if spec.diff is not None:
        return spec.diff
    return tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.25)
@given(data=st.data())
def test_op_spec_compiled_grad_equals_eager(spec, data):
    arrays, kw = spec.make(data.draw, np.float64)
    idx = _diff(spec, arrays)
    try:
        out = spec.fn(*map(tg.tensor, arrays), **kw)
    except Exception as exc:  # noqa: BLE001 - the eager op itself is test_vjp's concern
        pytest.skip(f"eager {spec.name} fails: {type(exc).__name__}: {exc}")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    ct = rng.standard_normal(out.shape)

    def f(*args):
        return (spec.fn(*args, **kw) * ct).sum()

    if not idx:
        got = tg.compile(f, check=True)(*arrays)
        np.testing.assert_allclose(got.numpy(), np.asarray(f(*arrays)), rtol=1e-10)
        return
    try:
        want = tg.grad(f, argnums=idx)(*arrays)
    except Exception as exc:  # noqa: BLE001 - as above: an eager VJP failure
        pytest.skip(f"eager gradient of {spec.name} fails: {type(exc).__name__}: {exc}")
    got = tg.compile(tg.grad(f, argnums=idx), check=True, verify=True)(*arrays)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-9, atol=1e-12)
