"""Common-subexpression elimination: goldens, exact keys, result preservation."""

import numpy as np
from tapegrad.compiler.passes import cse
from tapegrad.compiler.passes.cse import freeze
from test_passes_support import Builder, canon, check_pass, golden


def test_cse_golden():
    b = Builder()
    x, y = b.input((3,)), b.input((3,))
    a1 = b("multiply", x, y)
    a2 = b("multiply", y, x)  # commutes: the same value
    s1 = b("sin", a1)
    s2 = b("sin", a2)  # a duplicate once a2 is a1
    d1 = b("subtract", x, y)
    d2 = b("subtract", y, x)  # does not commute
    g = b.graph(b("add", s1, s2), b("add", d1, d2))
    after = check_pass(cse, g, exact=True)
    assert canon(after) == golden("""
        { lambda %0:f32[3] %1:f32[3] .
            %2:f32[3] = multiply %0 %1
            %3:f32[3] = sin %2
            %4:f32[3] = subtract %0 %1
            %5:f32[3] = subtract %1 %0
            %6:f32[3] = add %3 %3
            %7:f32[3] = add %4 %5
          in (%6, %7) }
    """)


def test_cse_literals_compare_exactly():
    b = Builder()
    x = b.input((3,))
    outs = [b("add", x, lit) for lit in (1.0, 1.0, 1, 0.0, -0.0,
                                         np.float32(1.0), np.asarray(1.0, np.float32),
                                         np.asarray(1.0, np.float64))]
    after = check_pass(cse, b.graph(*outs), exact=True)
    # 1.0 twice is one value, and so are a float32 scalar and a 0-d float32 array;
    # 1, 0.0, -0.0 and the float64 array stay distinct.
    assert len(after.eqns) == len(outs) - 2
    assert after.outputs[0] is after.outputs[1]
    assert after.outputs[5] is after.outputs[6]


def test_cse_index_params():
    b = Builder()
    x = b.input((5, 4))
    i1 = b("getitem", x, idx=(np.array([0, 2, 2]), slice(1, None)))
    i2 = b("getitem", x, idx=(np.array([0, 2, 2]), slice(1, None)))
    i3 = b("getitem", x, idx=(np.array([0, 2, 3]), slice(1, None)))
    i4 = b("getitem", x, idx=(np.array([0, 2, 2]), slice(None, 1)))
    s1 = b("sum", x, axis=(0,), keepdims=False)
    s2 = b("sum", x, axis=(0,), keepdims=True)
    after = check_pass(cse, b.graph(i1, i2, i3, i4, s1, s2), exact=True)
    assert len(after.eqns) == 5
    assert after.outputs[0] is after.outputs[1]


def test_freeze_distinguishes_interchangeable_values_only():
    assert freeze((1, slice(0, 2), None)) == freeze((1, slice(0, 2), None))
    assert freeze(1) != freeze(1.0) != freeze(True)
    assert freeze(0.0) != freeze(-0.0)
    assert freeze(float("nan")) == freeze(float("nan"))
    assert freeze(np.float64(1.0)) != freeze(1.0)
    assert freeze(np.array([1, 2], np.int32)) != freeze(np.array([1, 2], np.int64))
    assert freeze(np.dtype("float32")) == freeze(np.dtype(np.float32))
    hash(freeze({"idx": (np.arange(3), Ellipsis), "shape": (2, 3)}))
