"""Memory planning: frees, reuse through out=, in-place updates, views, peak bytes.

Every plan is also checked by ``check_plan`` and executed the way generated code runs it
(``run_with_plan``: real ``out=`` writes, freed names deleted) and compared with the
interpreter.
"""

import numpy as np
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.lint import check_plan
from tapegrad.compiler.passes import fuse_elementwise, plan_memory, unplanned_peak_bytes
from test_passes_support import Builder, random_args, run_with_plan


def _run_plan(graph):
    plan = plan_memory(graph)
    check_plan(graph, plan)
    args = random_args(graph)
    for got, want in zip(run_with_plan(graph, plan, args), eval_graph(graph, args)):
        np.testing.assert_array_equal(got, want)
    return plan


def test_plan_frees_reuse_inplace_and_peak():
    b = Builder()
    x = b.input((1000,), "float64")  # 8000 bytes per value
    a = b("exp", x)
    v = b("reshape", a, shape=(10, 100))  # a view: a's buffer lives while v does
    c = b("sin", x)
    d = b("sum", v, axis=(1,), keepdims=False)  # last reader of a's memory
    e = b("cos", c)  # c dies here: written in place
    f = b("tanh", e)
    k = b("multiply", f, 2.0)
    m = b("exp", x)  # a's dead buffer, through out=
    g = b.graph(d, k, m)
    plan = _run_plan(g)
    assert plan.frees == ((), (), (), (v,), (c,), (e,), (f,), (a,))
    assert plan.reuse == {7: a}
    assert plan.inplace == {4: c, 5: e, 6: f}
    assert plan.peak_bytes == 2 * 8000 + 80
    assert unplanned_peak_bytes(g) == 6 * 8000 + 80


def test_live_view_blocks_reuse():
    b = Builder()
    x = b.input((4, 5))
    a = b("exp", x)
    t = b("transpose", a, axes=(1, 0))  # a view of a, read at the end
    s = b("sum", a, axis=None, keepdims=False)  # a's own last reader
    n = b("sin", x)  # same shape and dtype as a: must not take a's buffer
    out = b("add", b("transpose", t, axes=(1, 0)), n)
    plan = _run_plan(b.graph(out, s))
    assert a not in plan.reuse.values() and a not in plan.inplace.values()


def test_inputs_and_outputs_are_never_freed_or_overwritten():
    b = Builder()
    x, y = b.input((8,)), b.input((8,))
    a = b("exp", x)
    r = b("add", a, y)  # a dies here: in place into a, never into x or y
    g = b.graph(r, b("tanh", r), a)  # a is an output too: it must survive
    plan = _run_plan(g)
    written = set(plan.reuse.values()) | set(plan.inplace.values())
    assert not written & {x, y, a, r}
    freed = {v for f in plan.frees for v in f}
    assert not freed & {x, y, a, r}


def test_no_inplace_when_another_input_shares_memory():
    b = Builder()
    x = b.input((3, 3))
    a = b("exp", x)
    out = b("add", a, b("transpose", a, axes=(1, 0)))
    plan = _run_plan(b.graph(out))
    assert plan.inplace == {} and plan.reuse == {}


def test_reuse_never_raises_the_peak():
    b = Builder()
    x = b.input((1000,), "float64")
    a = b("exp", x)
    s = b("sum", a, axis=None, keepdims=False)  # a is dead from here
    big = b("matmul", b("reshape", x, shape=(1000, 1)), b("reshape", x, shape=(1, 1000)))
    s2 = b("sum", big, axis=None, keepdims=False)
    late = b("exp", x)  # a's buffer would have been held across the 8 MB matmul
    g = b.graph(s, s2, late)
    plan = _run_plan(g)
    assert plan.reuse == {}
    assert plan.peak_bytes == 8_000_000 + 8 + 8


def test_fused_kernels_take_out_buffers():
    b = Builder()
    x = b.input((50,), "float64")
    a = b("tanh", b("exp", x))
    s = b("sum", a, axis=None, keepdims=False)
    c = b("multiply", b("sin", x), s)  # a fused kernel of a's shape after a died
    g = fuse_elementwise(b.graph(c))
    plan = _run_plan(g)
    assert len(g.eqns) == 3 and plan.reuse == {2: g.eqns[0].outputs[0]}
