"""``check_plan``: the memory plan the code follows, checked against the graph.

Plans the planner makes for the test models pass (for the program and every fused
helper, with and without a lowering); code generation emits exactly the plan; each kind
of broken plan is caught with a message that names the equation and the value.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from _models import data
from tapegrad.compiler.backends.array_api import ArrayAPILowering
from tapegrad.compiler.codegen import generate, name_of
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import FusedKernel, Lit
from tapegrad.compiler.lint import LintError, check_plan, lint, plan_problems
from tapegrad.compiler.numpy_lowering import NumpyLowering
from tapegrad.compiler.passes import plan_memory, unplanned_peak_bytes
from test_passes_support import Builder, random_args, run_with_plan

import tapegrad as tg


def _compiled(name, fuse=True, **options):
    fn, args = data()[name]
    argnums = tuple(i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f")
    f = tg.compile(tg.value_and_grad(fn, argnums=argnums), fuse=fuse, **options)
    f(*args)
    return f, args


# -- valid plans ------------------------------------------------------------------------
@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("name", sorted(data()))
def test_plans_of_the_models_pass(name, fuse):
    f, args = _compiled(name, fuse, check=True, numexpr=False)  # checks every plan
    graph = f.graph
    low = NumpyLowering(False)
    for lowering in (None, low, ArrayAPILowering(np)):
        plan = plan_memory(graph, lowering)
        assert plan_problems(graph, plan) == []
        lint(graph, plan)
        assert plan.peak_bytes <= unplanned_peak_bytes(graph)
        for got, want in zip(run_with_plan(graph, plan, list(args)),
                             eval_graph(graph, list(args))):
            np.testing.assert_allclose(got, want, rtol=1e-12)
    for e in graph.eqns:
        if isinstance(e.prim, FusedKernel):
            body = e.prim.body
            plan = plan_memory(body, low, into_out=low.supports_out_body(body))
            assert plan_problems(body, plan, low) == []
            if low.supports_out_body(body):  # the caller's ``out`` takes the last result
                assert len(body.eqns) - 1 not in {**plan.reuse, **plan.inplace}
    prog = f.latest().info["program"]
    assert f.stats()["planned_peak_bytes"] == prog.plan.peak_bytes
    assert prog.plan.lowering is f.latest().info["lowering"]


def test_a_lowering_without_out_plans_no_writes():
    f, _ = _compiled("mlp")
    plan = plan_memory(f.graph, ArrayAPILowering(np))
    assert plan.reuse == {} and plan.inplace == {}
    assert plan_problems(f.graph, plan) == []
    # Declared facts would write into buffers, which that lowering cannot do.
    declared = plan_memory(f.graph)
    assert declared.reuse or declared.inplace
    assert any("cannot write its result into a given buffer" in p
               for p in plan_problems(f.graph, declared, ArrayAPILowering(np)))


def _main_statements(source: str, name: str) -> list[str]:
    lines = source.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"    def {name}("))
    body = []
    for ln in lines[start + 1:]:
        if ln.strip().startswith("return"):
            break
        body.append(ln.strip())
    return body


@pytest.mark.parametrize("name", sorted(data()))
def test_code_emits_exactly_the_plan(name):
    f, args = _compiled(name, numexpr=False)
    low = NumpyLowering(False)
    prog = generate(f.graph, low, name="program")
    plan = prog.plan
    writes = {**plan.reuse, **plan.inplace}
    stmts = [s for s in _main_statements(prog.source, "program")
             if not re.fullmatch(r"v\d+ = p\d+.*|v\d+ = v\d+\[\(\)\]", s)]
    k = 0
    for i, e in enumerate(prog.graph.eqns):
        line = stmts[k]
        k += 1
        assert line.startswith(", ".join(name_of(v) for v in e.outputs)), (line, i)
        target = re.search(r"out=(v\d+)", line)
        assert (target.group(1) if target else None) == (
            name_of(writes[i]) if i in writes else None), line
        if plan.frees[i]:
            assert stmts[k] == "del " + ", ".join(name_of(v) for v in plan.frees[i])
            k += 1
        assert k == len(stmts) or not stmts[k].startswith("del ")
    assert k == len(stmts)


# -- broken plans -----------------------------------------------------------------------
def _model():
    """The planner's test graph: a view, in-place chains and one buffer reuse."""
    b = Builder()
    x = b.input((1000,), "float64")
    a = b("exp", x)
    v = b("reshape", a, shape=(10, 100))
    c = b("sin", x)
    d = b("sum", v, axis=(1,), keepdims=False)
    e = b("cos", c)
    f = b("tanh", e)
    k = b("multiply", f, 2.0)
    m = b("exp", x)
    g = b.graph(d, k, m)
    plan = plan_memory(g)
    assert plan.frees == ((), (), (), (v,), (c,), (e,), (f,), (a,))
    assert plan.reuse == {7: a} and plan.inplace == {4: c, 5: e, 6: f}
    assert plan_problems(g, plan) == []
    return g, plan, dict(x=x, a=a, v=v, c=c, d=d, e=e, f=f, k=k, m=m)


def _frees(plan, **at):
    frees = list(plan.frees)
    for i, vs in at.items():
        frees[int(i[1:])] = tuple(vs)
    return dataclasses.replace(plan, frees=tuple(frees))


def _problems(graph, plan):
    found = plan_problems(graph, plan)
    assert found
    with pytest.raises(LintError, match="the memory plan is invalid"):
        check_plan(graph, plan)
    return "\n".join(found)


def test_read_after_delete():
    g, plan, n = _model()
    text = _problems(g, _frees(plan, e1=(n["v"],), e3=()))
    assert f"eqn 3 ({n['d']!r}:" in text and f"reads {n['v']!r} after it was " \
        "deleted (after eqn 1)" in text


def test_write_after_delete():
    g, plan, n = _model()
    text = _problems(g, _frees(plan, e1=(n["a"],), e7=()))
    assert f"eqn 7 ({n['m']!r}:" in text
    assert f"writes into {n['a']!r} after it was deleted (after eqn 1)" in text


def test_deleted_twice_or_never():
    g, plan, n = _model()
    text = _problems(g, _frees(plan, e7=(n["v"], n["a"])))
    assert f"deletes {n['v']!r} twice (first after eqn 3)" in text
    text = _problems(g, _frees(plan, e3=()))
    assert f"never deleted: {n['v']!r}" in text


def test_inputs_and_outputs_are_never_deleted():
    g, plan, n = _model()
    assert f"deletes {n['x']!r}, a graph input" in _problems(g, _frees(plan, e0=(n["x"],)))
    text = _problems(g, _frees(plan, e3=(n["v"], n["d"])))
    assert f"deletes {n['d']!r}, a graph output" in text


def test_out_buffer_still_read_later():
    g, plan, n = _model()  # a's memory is read through the view v by eqn 3
    text = _problems(g, dataclasses.replace(plan, reuse={2: n["a"]}))
    assert f"eqn 2 ({n['c']!r}:" in text
    assert (f"writes into {n['a']!r}, which is not dead: {n['v']!r} may share its memory "
            "and is read by eqn 3") in text


@pytest.mark.parametrize("kind", ["input", "output", "literal"])
def test_out_buffer_is_an_input_output_or_literal(kind):
    g, plan, n = _model()
    target = {"input": n["x"], "output": n["k"], "literal": Lit(np.zeros(1000))}[kind]
    text = _problems(g, dataclasses.replace(plan, reuse={7: target}))
    want = {"input": f"writes into {n['x']!r}, a graph input",
            "output": f"writes into {n['k']!r}, a graph output",
            "literal": "writes into a literal"}[kind]
    assert want in text


def test_out_buffer_is_a_view():
    b = Builder()
    x = b.input((4, 4), "float64")
    a = b("exp", x)
    t = b("transpose", a, axes=(1, 0))
    s = b("sum", t, axis=None, keepdims=False)
    m = b("sin", x)
    g = b.graph(s, m)
    plan = plan_memory(g)
    assert plan.reuse == {3: a} and plan_problems(g, plan) == []
    text = _problems(g, dataclasses.replace(plan, reuse={3: t}))
    assert f"writes into {t!r}, a view (or a value that may share its inputs' memory)" in text


@pytest.mark.parametrize("other", ["dtype", "shape"])
def test_out_buffer_of_another_shape_or_dtype(other):
    b = Builder()
    x = b.input((1000,), "float64")
    y = b.input((1000,) if other == "dtype" else (999,), "float32" if other == "dtype"
                else "float64")
    a = b("exp", y)
    s = b("sum", a, axis=None, keepdims=False)
    m = b("exp", x)
    g = b.graph(s, m)
    plan = plan_memory(g)
    assert plan.reuse == {} and plan_problems(g, plan) == []
    broken = dataclasses.replace(plan, reuse={2: a}, frees=((), (), (a,)))
    text = _problems(g, broken)
    assert f"eqn 2 ({m!r}:" in text
    assert f"writes into {a!r}, of another shape or dtype than {m!r}" in text


def test_in_place_target_shared_with_another_input():
    b = Builder()
    x = b.input((3, 3), "float64")
    a = b("exp", x)
    t = b("transpose", a, axes=(1, 0))
    out = b("add", a, t)
    g = b.graph(out)
    plan = plan_memory(g)
    assert plan.inplace == {} and plan.reuse == {}
    text = _problems(g, dataclasses.replace(plan, inplace={2: a}))
    assert f"eqn 2 ({out!r}:" in text
    assert f"overwrites {a!r}, which shares memory with its other input {t!r}" in text
    # Overwriting a buffer that a later equation still reads is caught too.
    b = Builder()
    x = b.input((8,), "float64")
    a = b("exp", x)
    s = b("sin", a)
    r = b("add", s, a)
    g = b.graph(r)
    text = _problems(g, dataclasses.replace(plan_memory(g), inplace={1: a}))
    assert f"overwrites {a!r}, which is not dead: {a!r} may share its memory and is read " \
           "by eqn 2" in text


def test_generated_code_runs_the_checked_plan():
    g, plan, _ = _model()
    low = NumpyLowering(False)
    prog = generate(g, low, check=True)
    assert prog.plan == plan  # NumPy can do all the planner proposed from declared facts
    args = random_args(g)
    for got, want in zip(prog.fn(*args), eval_graph(g, args)):
        np.testing.assert_allclose(got, want)
