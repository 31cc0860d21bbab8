"""Generated programs against the reference interpreter, and what the source shows."""

from __future__ import annotations

import inspect
import traceback

import numpy as np
import pytest
from _models import data
from tapegrad.compiler.backends import lowering_for
from tapegrad.compiler.codegen import generate
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import Eqn, FusedKernel, Graph, Lit, Var
from tapegrad.compiler.lint import plan_problems
from tapegrad.compiler.lower import lower
from tapegrad.compiler.numpy_lowering import NumpyLowering
from tapegrad.compiler.passes.memory import plan_memory
from tapegrad.compiler.pipeline import optimize
from tapegrad.compiler.trace import trace

import tapegrad as tg
from tapegrad.backend import NUMPY

P = tg.registry


def _optimized(name, **kw):
    fn, args = data()[name]
    low = lower(trace(tg.grad(fn), args))
    return optimize(low.graph, check=True, **kw), args


@pytest.mark.parametrize("name", sorted(data()))
@pytest.mark.parametrize("numexpr", [False, True])
def test_program_equals_interpreter(name, numexpr):
    opt, args = _optimized(name)
    want = eval_graph(opt.graph, args)
    low = NumpyLowering(numexpr)
    # A plan from the primitives' declared facts is replaced by one for the lowering.
    for plan in (plan_memory(opt.graph), plan_memory(opt.graph, low), None):
        prog = generate(opt.graph, low, plan=plan, check=True)
        assert prog.plan.lowering is low and not plan_problems(prog.graph, prog.plan)
        got = prog.fn(*args)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_unfused_program_equals_interpreter_on_every_stage():
    fn, args = data()["mlp"]
    low = lower(trace(tg.grad(fn, argnums=(0, 1, 2, 3)), args))
    opt = optimize(low.graph, check=True)
    for stage in opt.stages:
        want = eval_graph(stage.graph, args)
        got = generate(stage.graph, lowering_for(NUMPY)).fn(*args)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def _chain_graph(n=4, shape=(8,)):
    x = Var(shape, np.float64)
    vals, eqns = [x], []
    for k in range(n):
        v = Var(shape, np.float64)
        prim = P["sin"] if k % 2 else P["multiply"]
        ins = (vals[-1],) if k % 2 else (vals[-1], Lit(1.5))
        eqns.append(Eqn(prim, ins, {}, (v,)))
        vals.append(v)
    return Graph((x,), tuple(eqns), (vals[-1],))


def test_source_frees_values_and_reuses_buffers():
    g = _chain_graph(6)
    prog = generate(g, lowering_for(NUMPY))
    assert prog.source.count("del ") >= 4
    assert "out=" in prog.source
    x = np.linspace(0, 1, 8)
    np.testing.assert_allclose(prog.fn(x)[0], eval_graph(g, [x])[0])
    # The argument is never written into.
    np.testing.assert_array_equal(x, np.linspace(0, 1, 8))


def test_views_are_not_reused_while_alive():
    # %t = transpose(%a); %a dies, but %t (a view of it) is still read later.
    x = Var((2, 3), np.float64)
    a, t, b, c = Var((2, 3), np.float64), Var((3, 2), np.float64), \
        Var((2, 3), np.float64), Var((3, 2), np.float64)
    eqns = (Eqn(P["exp"], (x,), {}, (a,)),
            Eqn(P["transpose"], (a,), {"axes": (1, 0)}, (t,)),
            Eqn(P["sin"], (x,), {}, (b,)),
            Eqn(P["multiply"], (t, Lit(2.0)), {}, (c,)))
    g = Graph((x,), eqns, (c, b))
    low = lowering_for(NUMPY)
    plan = plan_memory(g, low)
    assert plan.reuse == {} and plan.inplace == {}
    xv = np.arange(6.0).reshape(2, 3)
    for got, want in zip(generate(g, low).fn(xv), eval_graph(g, [xv])):
        np.testing.assert_allclose(got, want)


def test_fused_kernel_is_one_call_and_matches():
    inner = _chain_graph(5, (4, 5))
    y = Var((4, 5), np.float64)
    x = Var((4, 5), np.float64)
    g = Graph((x,), (Eqn(FusedKernel(inner), (x,), {}, (y,)),), (y,))
    for mode in (False, True):
        prog = generate(g, NumpyLowering(mode))
        assert prog.source.count("fused_0(") + prog.source.count("numexpr_0(") >= 1
        xv = np.linspace(-1, 1, 20).reshape(4, 5)
        np.testing.assert_allclose(prog.fn(xv)[0], eval_graph(g, [xv])[0], rtol=1e-12)


def test_numexpr_keeps_float32():
    inner = _chain_graph(3, (200, 200))
    inner = Graph((inner.inputs[0],), tuple(
        e._replace(outputs=tuple(Var(v.shape, np.float32) for v in e.outputs))
        for e in inner.eqns), ())
    # Rebuild with consistent float32 variables.
    x = Var((200, 200), np.float32)
    v1, v2 = Var((200, 200), np.float32), Var((200, 200), np.float32)
    body = Graph((x,), (Eqn(P["multiply"], (x, Lit(1.5)), {}, (v1,)),
                        Eqn(P["sin"], (v1,), {}, (v2,))), (v2,))
    y = Var((200, 200), np.float32)
    xo = Var((200, 200), np.float32)
    g = Graph((xo,), (Eqn(FusedKernel(body), (xo,), {}, (y,)),), (y,))
    prog = generate(g, NumpyLowering(True))
    assert "numexpr_0" in prog.source
    xv = np.random.default_rng(0).standard_normal((200, 200)).astype(np.float32)
    out = prog.fn(xv)[0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.sin(xv * np.float32(1.5)), rtol=1e-5, atol=1e-6)


def test_source_is_visible_to_inspect_and_tracebacks():
    f = tg.compile(tg.grad(lambda x: (tg.log(x) * x).sum()))
    f(np.array([1.0, 2.0]))
    src = inspect.getsource(f.latest().fn)
    assert "def grad_" in src and src in f.source

    def bad(x):
        return tg.log(x).sum()

    g = tg.compile(tg.grad(bad))
    g(np.array([1.0, 2.0]))
    entry = g.latest()
    with pytest.raises(TypeError) as info:
        entry.fn("not an array")  # fails inside the generated program
    text = "".join(traceback.format_exception(info.value))
    assert "tapegrad-compiled" in text


def test_functions_are_bound_once_as_closure_constants():
    f = tg.compile(tg.grad(lambda x: tg.tanh(x).sum()), fuse=False)
    f(np.ones(3))
    fn = f.latest().fn
    assert fn.__code__.co_freevars  # ufuncs and constants are closure variables
    assert not any(n in fn.__code__.co_names for n in ("np", "numpy"))


def test_zero_d_results_are_arrays():
    f = tg.compile(tg.value_and_grad(lambda x: (x * 3.0).sum()))
    v, g = f(np.array(2.0))
    assert type(v.data) is np.ndarray and type(g.data) is np.ndarray
    assert v.item() == 6.0 and g.item() == 3.0
