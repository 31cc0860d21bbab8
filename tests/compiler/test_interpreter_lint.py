"""The reference interpreter and ``lint`` on hand-built graphs."""

from __future__ import annotations

import numpy as np
import pytest
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import Eqn, Graph, Lit, Var
from tapegrad.compiler.lint import LintError, check, lint

import tapegrad as tg

P = tg.registry


def _graph():
    a, b = Var((3, 4), np.float32), Var((4,), np.float32)
    c, d, e = Var((3, 4), np.float32), Var((3,), np.float32), Var((3,), np.float32)
    eqns = (Eqn(P["multiply"], (a, b), {}, (c,)),
            Eqn(P["sum"], (c,), {"axis": (1,), "keepdims": False}, (d,)),
            Eqn(P["multiply"], (d, Lit(0.5)), {}, (e,)))
    return Graph((a, b), eqns, (e,))


def test_eval_graph_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal(4).astype(np.float32)
    (out,) = eval_graph(_graph(), [x, tg.tensor(y)])
    np.testing.assert_allclose(out, (x * y).sum(1) * 0.5, rtol=1e-6)
    assert out.dtype == np.float32


def test_eval_graph_fills_env_and_checks_arity():
    g = _graph()
    env = {}
    eval_graph(g, [np.ones((3, 4), np.float32), np.ones(4, np.float32)], env=env)
    assert all(v in env for e in g.eqns for v in e.outputs)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        eval_graph(g, [np.ones(3)])


def test_lint_accepts_valid_graph():
    lint(_graph())
    assert check(_graph()) == []


def test_lint_finds_use_before_definition():
    g = _graph()
    bad = g._replace(eqns=(g.eqns[1], g.eqns[0], g.eqns[2]))
    with pytest.raises(LintError, match="before it is defined"):
        lint(bad)


def test_lint_finds_double_assignment():
    g = _graph()
    e0 = g.eqns[0]
    bad = g._replace(eqns=(e0, e0._replace(inputs=(g.inputs[0], g.inputs[0])), *g.eqns[1:]))
    with pytest.raises(LintError, match="second time"):
        lint(bad)


def test_lint_finds_wrong_shape_and_dtype():
    g = _graph()
    e1 = g.eqns[1]
    wrong = Var((4,), np.float32)
    bad = g._replace(eqns=(g.eqns[0], e1._replace(outputs=(wrong,)),
                           g.eqns[2]._replace(inputs=(wrong, Lit(0.5)))))
    with pytest.raises(LintError, match=r"declared f32\[4\] but the primitive gives"):
        lint(bad)
    e2 = g.eqns[2]
    bad = g._replace(eqns=(*g.eqns[:2], e2._replace(outputs=(Var((3,), np.float64),))))
    assert any("f64" in p for p in check(bad))
