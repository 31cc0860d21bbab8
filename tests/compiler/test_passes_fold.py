"""Constant folding and symbolic zeros/ones: goldens, dtypes, result preservation."""

import numpy as np
from tapegrad.compiler.ir import Lit
from tapegrad.compiler.passes import dce, fold_constants
from tapegrad.compiler.passes.fold import FOLD_MAX_ELEMENTS
from test_passes_support import Builder, canon, check_pass, golden

f32 = np.float32


def _fold(graph):
    return dce(check_pass(fold_constants, graph, exact=True))


def test_fold_golden_gradient_seed():
    b = Builder()
    _, y = b.input((2, 3)), b.input((2, 3))
    # sum's VJP broadcasts the seed's ones; the first contribution lands on zeros.
    ones = b("broadcast_to", b("reshape", np.ones((), f32), shape=(1, 1)), shape=(2, 3))
    gx = b("add", np.zeros((2, 3), f32), b("multiply", ones, y))
    c = b("add", b("multiply", np.float32(2.0), np.full((2,), 3.0, f32)), 1.0)
    # mean's VJP: large and uniform, so it stays a broadcast of one number.
    big = b("divide", b("broadcast_to", np.ones((), f32), shape=(64, 64)), 128)
    g = b.graph(gx, c, big)
    assert canon(g) == golden("""
        { lambda %0:f32[2,3] %1:f32[2,3] .
            %2:f32[1,1] = reshape[shape=(1, 1)] array(1.0)
            %3:f32[2,3] = broadcast_to[shape=(2, 3)] %2
            %4:f32[2,3] = multiply %3 %1
            %5:f32[2,3] = add array<2x3, float32> %4
            %6:f32[2] = multiply array(2.0) array([3.0, 3.0])
            %7:f32[2] = add %6 1.0
            %8:f32[64,64] = broadcast_to[shape=(64, 64)] array(1.0)
            %9:f32[64,64] = divide %8 128
          in (%5, %7, %9) }
    """)
    assert canon(_fold(g)) == golden("""
        { lambda %0:f32[2,3] %1:f32[2,3] .
            %2:f32[64,64] = broadcast_to[shape=(64, 64)] array(0.0078125)
          in (%1, array([7.0, 7.0]), %2) }
    """)


def test_fold_keeps_dtypes_and_shapes():
    b = Builder()
    x = b.input((3,))
    g = b.graph(
        b("multiply", x, np.ones(3)),  # float64 ones promote: a cast, not x
        b("multiply", x, 1.0),  # a weak 1.0 keeps float32: x itself
        b("add", x, np.zeros((2, 3), f32)),  # zeros that broadcast: x broadcast
        b("multiply", x, 0.0),  # x*0 is NaN for inf: kept
        b("subtract", 0.0, x),
    )
    assert canon(_fold(g)) == golden("""
        { lambda %0:f32[3] .
            %1:f64[3] = astype[dtype=float64] %0
            %2:f32[2,3] = broadcast_to[shape=(2, 3)] %0
            %3:f32[3] = multiply %0 0.0
            %4:f32[3] = negative %0
          in (%1, %0, %2, %3, %4) }
    """)


def test_fold_integer_and_bool_constants():
    b = Builder()
    x = b.input((4,), "int32")
    k = b("add", np.arange(4, dtype=np.int32), np.int32(1))
    m = b("less", k, 3)
    w = b("where", m, x, b("multiply", x, 1))
    after = _fold(b.graph(w, b("add", x, 0.0)))
    assert len(after.eqns) == 2  # the where with a constant mask, and int32 -> float64
    assert isinstance(after.eqns[0].inputs[0], Lit)
    assert after.eqns[0].inputs[0].value.tolist() == [True, True, False, False]
    assert after.eqns[1].prim.name == "astype"


def test_fold_size_limit():
    n = FOLD_MAX_ELEMENTS + 1
    b = Builder()
    x = b.input((n,))
    lit = np.linspace(0, 1, n).astype(f32)
    g = b.graph(b("multiply", x, b("exp", lit)), b("exp", lit[:8]))
    after = _fold(g)
    assert [e.prim.name for e in after.eqns] == ["exp", "multiply"]
    assert isinstance(after.outputs[1], Lit)
