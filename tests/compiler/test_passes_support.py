"""Shared helpers for the pass tests: build graphs by hand, print them canonically,
check that a pass keeps a graph valid and its results unchanged, and run a graph the way
generated code would under a memory plan."""

from __future__ import annotations

import re

import numpy as np
from tapegrad.compiler.interpreter import eval_eqn, eval_graph
from tapegrad.compiler.ir import Eqn, FusedKernel, Graph, Lit, Var
from tapegrad.compiler.lint import lint
from tapegrad.compiler.shapes import abstract_eval

from tapegrad.primitive import registry


class Builder:
    """Write a graph as calls: ``b = Builder(); x = b.input((3,)); y = b("exp", x)``."""

    def __init__(self) -> None:
        self.inputs: list[Var] = []
        self.eqns: list[Eqn] = []

    def input(self, shape=(), dtype="float32") -> Var:
        v = Var(shape, np.dtype(dtype))
        self.inputs.append(v)
        return v

    def __call__(self, name: str, *ins, **params) -> Var:
        ins = tuple(a if isinstance(a, (Var, Lit)) else Lit(a) for a in ins)
        eqn = Eqn(registry[name], ins, params, ())
        (shape, dtype), = abstract_eval(eqn.prim, list(ins), params)
        v = Var(shape, np.dtype(dtype))
        self.eqns.append(eqn._replace(outputs=(v,)))
        return v

    def graph(self, *outputs) -> Graph:
        return Graph(tuple(self.inputs), tuple(self.eqns), tuple(outputs))


def canon(graph: Graph) -> str:
    """``print(graph)`` with variables renumbered by first appearance (stable goldens)."""
    names: dict[str, str] = {}

    def rename(m: re.Match) -> str:
        return names.setdefault(m.group(0), f"%{len(names)}")

    return re.sub(r"%\d+", rename, str(graph))


def golden(text: str) -> str:
    """A golden program written in a test, without its common indentation."""
    lines = text.rstrip().strip("\n").splitlines()
    pad = min(len(ln) - len(ln.lstrip()) for ln in lines if ln.strip())
    return "\n".join(ln[pad:] for ln in lines)


def random_args(graph: Graph, seed: int = 0, low: float = -1.5, high: float = 1.5) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for v in graph.inputs:
        dt = np.dtype(v.dtype)
        if dt.kind == "b":
            out.append(rng.random(v.shape) > 0.5)
        elif dt.kind in "iu":
            out.append(rng.integers(-3, 4, v.shape).astype(dt))
        else:
            out.append(rng.uniform(low, high, v.shape).astype(dt))
    return out


def specs(graph: Graph) -> list:
    return [(tuple(a.shape), str(np.dtype(a.dtype))) for a in graph.outputs]


def assert_same_results(before: Graph, after: Graph, args: list, exact: bool = False) -> None:
    want = eval_graph(before, args)
    got = eval_graph(after, args)
    for w, g, a in zip(want, got, after.outputs):
        w, g = np.asarray(w), np.asarray(g)
        assert g.shape == w.shape == tuple(a.shape)
        assert g.dtype == w.dtype == np.dtype(a.dtype)
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            rtol = 1e-5 if w.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)


def check_pass(fn, graph: Graph, exact: bool = False, seeds=(0, 1)) -> Graph:
    """Run a pass; the result lints, keeps output shapes/dtypes, and computes the same."""
    lint(graph)
    text_before = str(graph)
    new = fn(graph)
    assert str(graph) == text_before, "the pass modified its input graph"
    lint(new)
    assert specs(new) == specs(graph)
    assert new.inputs == graph.inputs
    for s in seeds:
        assert_same_results(graph, new, random_args(graph, s), exact=exact)
    return new


def run_with_plan(graph: Graph, plan, args: list) -> list:
    """Evaluate as generated code would: write through ``out=`` into reused and in-place
    buffers, and delete every freed value (reading one later fails)."""
    env = dict(zip(graph.inputs, args))
    protected = set(graph.inputs) | {a for a in graph.outputs if isinstance(a, Var)}

    def read(a):
        if isinstance(a, Lit):
            return a.value
        assert a in env, f"{a!r} is read after it was freed"
        return env[a]

    for i, e in enumerate(graph.eqns):
        vals = [read(a) for a in e.inputs]
        target = plan.reuse.get(i, plan.inplace.get(i))
        if target is None:
            outs = eval_eqn(e, vals, np)
        else:
            buf = env[target]
            o = e.outputs[0]
            assert buf.shape == tuple(o.shape) and buf.dtype == np.dtype(o.dtype)
            assert buf.flags.writeable
            if isinstance(e.prim, FusedKernel):
                np.copyto(buf, eval_eqn(e, vals, np)[0])
            else:
                getattr(np, e.prim.xp_name)(*vals, out=buf)
            outs = (buf,)
        env.update(zip(e.outputs, outs))
        for v in plan.frees[i]:
            assert v not in protected, f"{v!r} is an input or output but is freed"
            del env[v]
    left = set(env) - protected
    assert not left, f"never freed: {left}"
    return [read(a) for a in graph.outputs]
