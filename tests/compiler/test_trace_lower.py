"""Tracing a function and lowering its tape to the IR."""

from __future__ import annotations

import numpy as np
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import Lit, Var
from tapegrad.compiler.lint import lint
from tapegrad.compiler.lower import lower
from tapegrad.compiler.trace import trace

import tapegrad as tg


def _names(graph):
    return [e.prim.name for e in graph.eqns]


def test_grad_under_trace_gives_one_joint_graph():
    def loss(w, x):
        return (tg.tanh(x @ w) ** 2).sum()

    w, x = np.ones((3, 1)), np.arange(6.0).reshape(2, 3)
    low = lower(trace(tg.grad(loss), (w, x)))
    lint(low.graph)
    names = _names(low.graph)
    # Forward then backward, both recorded with the eager VJP rules.
    assert names.index("tanh") < names.index("multiply")
    assert names.count("matmul") >= 2
    assert [v.shape for v in low.graph.inputs] == [(3, 1), (2, 3)]
    (g,) = eval_graph(low.graph, [w, x])
    np.testing.assert_allclose(g, tg.grad(loss)(w, x).numpy())


def test_constants_become_literals_and_arguments_variables():
    c = np.array([1.0, 2.0])

    def f(x):
        k = tg.tensor(c) * 3.0  # depends on no argument: a constant
        return (x * k + 0.5).sum()

    low = lower(trace(f, (np.ones(2),)))
    mul = next(e for e in low.graph.eqns if e.prim.name == "multiply")
    assert isinstance(mul.inputs[0], Var) and isinstance(mul.inputs[1], Lit)
    np.testing.assert_allclose(mul.inputs[1].value, c * 3.0)
    add = next(e for e in low.graph.eqns if e.prim.name == "add")
    assert isinstance(add.inputs[1], Lit) and add.inputs[1].value == 0.5
    assert "multiply" not in [e.prim.name for e in low.graph.eqns[1:]]  # k is not traced


def test_integer_arguments_are_traced_without_gradient():
    def f(x, n):
        return (x * n).sum()

    tr = trace(tg.grad(f), (np.ones(3), np.array([1, 2, 3])))
    low = lower(tr)
    assert low.graph.inputs[1].dtype == np.int64
    assert not tr.inputs[1].requires_grad
    (g,) = eval_graph(low.graph, [np.ones(3), np.array([4, 5, 6])])
    np.testing.assert_allclose(g, [4.0, 5.0, 6.0])


def test_reads_become_guard_outputs():
    def f(x):
        return x * 2.0 if x.sum() > 0 else x * 3.0

    low = lower(trace(f, (np.ones(2),)))
    assert low.n_results == 1 and len(low.guards) == 1
    assert low.guards[0].item() is True or low.guards[0].item() == 1
    assert len(low.graph.outputs) == 2


def test_detached_arguments_keep_their_variable():
    def f(x):
        return (x * x.detach()).sum()

    low = lower(trace(f, (np.ones(2),)))
    mul = next(e for e in low.graph.eqns if e.prim.name == "multiply")
    assert all(isinstance(a, Var) for a in mul.inputs)
