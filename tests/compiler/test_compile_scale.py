"""Long programs: a 5000-op chain compiles (every stage is near-linear) and matches eager;
constant factors merge without changing the dtype."""

import numpy as np
import pytest
from tapegrad.compiler.passes import simplify
from test_passes_support import Builder, check_pass

import tapegrad as tg
from tapegrad.bench.workloads import chain_loss

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_5000_op_chain_compiles_and_matches_eager():
    def f(x):
        return chain_loss(tg, x, 5000)

    x = np.linspace(-1.0, 1.0, 16)
    got = tg.compile(tg.grad(f))(x)
    want = tg.grad(f)(x)
    np.testing.assert_allclose(got.data, want.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_factors_merge_and_keep_dtype(dtype):
    def f(x):
        return (0.5 * (3.0 * x)).sum() + (0.3 * (4.0 * x * x)).sum()

    x = np.linspace(-1.0, 1.0, 7).astype(dtype)
    cf = tg.compile(tg.grad(f))
    got, want = cf(x), tg.grad(f)(x)
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got.data, want.data)


def test_constant_factors_merge_only_when_exact():
    b = Builder()
    x = b.input((3,))
    merged = check_pass(simplify, b.graph(b("multiply", 0.5, b("multiply", 3.0, x))))
    assert [e.prim.name for e in merged.eqns][-1:] == ["multiply"]
    assert merged.outputs[0].dtype == np.float32
    last = merged.eqns[-1]
    assert last.inputs[1] is x and float(last.inputs[0].value) == np.float32(1.5)
    # 0.3 * 3.0 rounds differently from 0.3 * (3.0 * x): left alone.
    kept = check_pass(simplify, b.graph(b("multiply", 0.3, b("multiply", 3.0, x))))
    assert kept.eqns[-1].inputs[0].value == 0.3
