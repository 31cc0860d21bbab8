"""The passes together: an MLP gradient graph through the compiler's PIPELINE, lint after
every pass, results against the interpreter, and random elementwise programs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import FusedKernel
from tapegrad.compiler.lint import lint
from tapegrad.compiler.passes import (
    fuse_elementwise,
    plan_memory,
    unplanned_peak_bytes,
)
from tapegrad.compiler.pipeline import PIPELINE
from test_passes_support import (
    Builder,
    assert_same_results,
    random_args,
    run_with_plan,
    specs,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
f32 = np.float32


def mlp_gradient_graph(n=16, d=12, h=8, k=4):
    """The joint graph of ``grad(mean cross-entropy of softmax(tanh(x@W1+b1)@W2+b2))``
    for W1, b1, W2, b2, as lowering a traced ``tg.grad`` produces it."""
    b = Builder()
    w1, b1, w2, b2 = b.input((d, h)), b.input((h,)), b.input((h, k)), b.input((k,))
    x, y = b.input((n, d)), b.input((n, k))
    w1i, b1i, w2i, b2i = (b("identity", v) for v in (w1, b1, w2, b2))
    hid = b("tanh", b("add", b("matmul", x, w1i), b1i))
    logits = b("add", b("matmul", hid, w2i), b2i)
    lse = b("logsumexp", logits, axis=(1,), keepdims=True)
    logp = b("subtract", logits, lse)
    loss = b("negative", b("mean", b("sum", b("multiply", y, logp), axis=(1,),
                                      keepdims=False), axis=None, keepdims=False))
    # Backward, as the VJP rules record it (the seed and mean's VJP are constants).
    g = np.full((n, k), -1.0 / n, f32)
    glogp = b("multiply", g, y)
    b("multiply", g, logp)  # the gradient for y: nobody asked for it
    glse = b("sum_to", b("negative", glogp), shape=(n, 1))
    glogits = b("add", glogp, b("multiply", glse, b("exp", b("subtract", logits, lse))))
    gb2 = b("sum_to", glogits, shape=(k,))
    gh = b("matmul", glogits, b("transpose", w2i, axes=(1, 0)))
    gw2 = b("matmul", b("transpose", hid, axes=(1, 0)), glogits)
    gz = b("multiply", gh, b("subtract", 1.0, b("multiply", hid, hid)))
    gb1 = b("sum_to", gz, shape=(h,))
    b("matmul", gz, b("transpose", w1i, axes=(1, 0)))  # the gradient for x: unused
    gw1 = b("matmul", b("transpose", x, axes=(1, 0)), gz)
    return b.graph(gw1, gb1, gw2, gb2), loss


def run_pipeline(graph, args):
    counts = [("lowered", len(graph.eqns))]
    for name, fn in PIPELINE:
        new = fn(graph)
        lint(new)
        assert specs(new) == specs(graph), name
        assert_same_results(graph, new, args)
        graph = new
        counts.append((name, len(graph.eqns)))
    return graph, counts


def test_mlp_gradient_through_the_pipeline():
    graph, _ = mlp_gradient_graph()
    args = random_args(graph)
    args[5] = np.eye(4, dtype=f32)[np.arange(16) % 4]
    final, counts = run_pipeline(graph, args)
    assert counts == [("lowered", 36), ("dce", 28), ("cse", 28), ("fold", 28),
                      ("simplify", 24), ("dce", 24), ("fuse", 17)]
    kernels = sorted(e.prim.name for e in final.eqns if isinstance(e.prim, FusedKernel))
    assert kernels == ["fused_add_tanh_mul_sub", "fused_mul_neg", "fused_sub_exp_mul_add"]
    # Against the reference computed without any pass.
    for got, want in zip(eval_graph(final, args), eval_graph(graph, args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    plan = plan_memory(final)
    for got, want in zip(run_with_plan(final, plan, args), eval_graph(final, args)):
        np.testing.assert_array_equal(got, want)
    assert plan.peak_bytes < unplanned_peak_bytes(final)


def test_traced_mlp_gradient_through_the_pipeline():
    trace = pytest.importorskip("tapegrad.compiler.trace")
    lower = pytest.importorskip("tapegrad.compiler.lower")
    import tapegrad as tg
    import tapegrad.primitives as P

    def loss(w1, b1, w2, b2, x, y):
        logits = P.tanh(x @ w1 + b1) @ w2 + b2
        lse = P.logsumexp(logits, axis=1, keepdims=True)
        return -P.mean(P.sum(y * (logits - lse), axis=1))

    rng = np.random.default_rng(0)
    args = [rng.normal(size=s).astype(f32) * 0.3 for s in [(12, 8), (8,), (8, 4), (4,),
                                                            (16, 12)]]
    args.append(np.eye(4, dtype=f32)[rng.integers(0, 4, 16)])
    want = tg.grad(loss, argnums=(0, 1, 2, 3))(*args)
    graph = lower.lower(trace.trace(tg.grad(loss, argnums=(0, 1, 2, 3)), args)).graph
    final, _ = run_pipeline(graph, args)
    plan = plan_memory(final)
    for got, w in zip(run_with_plan(final, plan, args), want):
        np.testing.assert_allclose(got, w.data, rtol=1e-5, atol=1e-6)


# -- random elementwise programs ---------------------------------------------------------
SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]
UNARY = ["tanh", "sin", "cos", "negative", "abs", "identity"]
BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "divide"]
LITERALS = [0.0, 1.0, -1.0, 2.0, 0.5, np.asarray(1.0, f32), np.ones((3, 4), f32)]


@st.composite
def elementwise_programs(draw):
    b = Builder()
    vals = [b.input((3, 4), draw(st.sampled_from(["float32", "float64"])))]
    vals += [b.input(draw(st.sampled_from(SHAPES))) for _ in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(2, 14))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "literal", "special"]))
        a = draw(st.sampled_from(vals))
        if kind == "unary":
            vals.append(b(draw(st.sampled_from(UNARY)), a))
        elif kind == "binary":
            vals.append(b(draw(st.sampled_from(BINARY)), a, draw(st.sampled_from(vals))))
        elif kind == "literal":
            lit = draw(st.sampled_from(LITERALS))
            op = draw(st.sampled_from(BINARY + ["power"]))
            vals.append(b(op, a, lit) if draw(st.booleans()) else b(op, lit, a))
        else:
            c = draw(st.sampled_from(vals))
            which = draw(st.integers(0, 3))
            if which == 0:
                vals.append(b("where", b("greater", a, c), a, draw(st.sampled_from(vals))))
            elif which == 1 and a.shape == (3, 4):
                vals.append(b("sum", a, axis=(draw(st.integers(0, 1)),), keepdims=True))
            elif which == 2:
                vals.append(b("log", b("add", 1.0, b("abs", a))))
            else:
                vals.append(b("broadcast_to", a, shape=(3, 4)))
    n_out = draw(st.integers(1, 3))
    outs = [vals[-1]] + [draw(st.sampled_from(vals[1:])) for _ in range(n_out - 1)]
    return b.graph(*outs)


def _close_where_finite(got, want, tol):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    ok = np.isfinite(want) & (np.abs(want) < 1e30)
    np.testing.assert_allclose(got[ok], want[ok], rtol=tol, atol=tol)


@given(elementwise_programs(), st.integers(0, 3))
def test_fuse_and_plan_preserve_results(graph, seed):
    args = random_args(graph, seed)
    want = eval_graph(graph, args)
    fused = fuse_elementwise(graph)
    lint(fused)
    for got, w in zip(eval_graph(fused, args), want):
        np.testing.assert_array_equal(got, w)
    plan = plan_memory(fused)
    for got, w in zip(run_with_plan(fused, plan, args), want):
        np.testing.assert_array_equal(got, w)
    assert plan.peak_bytes <= unplanned_peak_bytes(fused)


@given(elementwise_programs(), st.integers(0, 3))
def test_pipeline_preserves_results(graph, seed):
    args = random_args(graph, seed)
    want = eval_graph(graph, args)
    new = graph
    for name, fn in PIPELINE:
        new = fn(new)
        lint(new)
        assert specs(new) == specs(graph), name
    plan = plan_memory(new)
    # Rewrites round differently (x/c -> x*(1/c), log1p): float32 anywhere sets the bar.
    tol = 1e-4 if any(np.dtype(v.dtype) == f32 for v in graph.inputs) else 1e-10
    for got, w in zip(run_with_plan(new, plan, args), want):
        _close_where_finite(got, w, tol)
