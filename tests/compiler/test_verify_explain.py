"""``verify=True`` names the first diverging equation; ``explain`` shows everything."""

from __future__ import annotations

import numpy as np
import pytest
from _models import data
from tapegrad.compiler import VerificationError, pipeline
from tapegrad.compiler.ir import Eqn, Graph

import tapegrad as tg


def test_verify_passes_on_correct_programs():
    for name in ("mlp", "attention", "repeated_index"):
        fn, args = data()[name]
        c = tg.compile(tg.grad(fn), verify=True)
        np.testing.assert_allclose(c(*args).numpy(), tg.grad(fn)(*args).numpy(), rtol=1e-10)
        c(*args)  # the cached path verifies too


def _broken_pass(graph: Graph) -> Graph:
    """Turns every tanh into sin: a wrong 'optimisation'."""
    sin = tg.registry["sin"]
    eqns = tuple(Eqn(sin, e.inputs, e.params, e.outputs)
                 if getattr(e.prim, "name", "") == "tanh" else e for e in graph.eqns)
    return graph._replace(eqns=eqns)


def test_verify_names_the_pass_and_equation(monkeypatch):
    monkeypatch.setattr(pipeline, "PIPELINE", pipeline.PIPELINE + (("broken", _broken_pass),))
    fn, args = data()["mlp"]
    c = tg.compile(tg.grad(fn), verify=True, fuse=False)
    with pytest.raises(VerificationError, match=r"pass 'broken' changed equation: .*= sin"):
        c(*args)


def test_verify_names_the_equation_of_a_codegen_bug(monkeypatch):
    from tapegrad.compiler import numpy_lowering

    real = numpy_lowering.NumpyLowering._transpose
    monkeypatch.setattr(numpy_lowering.NumpyLowering, "_transpose",
                        lambda self, em, eqn, ins: f"({real(self, em, eqn, ins)} * 2.0)")
    fn, args = data()["mlp"]
    c = tg.compile(tg.grad(fn), verify=True)
    with pytest.raises(VerificationError, match=r"generated code differs at equation: .*"
                                                r"transpose"):
        c(*args)


def test_explain_shows_passes_source_and_stats():
    fn, args = data(dtype=np.float32)["mlp"]
    c = tg.compile(tg.grad(fn, argnums=(0, 1, 2, 3)))
    assert "not called yet" in str(c)
    c(*args)
    text = c.explain()
    for part in ("== compiled grad(mlp_loss) ==", "compiled because: first call",
                 "-- lowered (", "-- dce (", "-- fuse (", "-- python --",
                 "def grad_mlp_loss(", "eqns: lowered", "fused groups:",
                 "planned peak bytes:", "compile time:", "cache entries: 1"):
        assert part in text, part
    assert str(c) == text
    st = c.stats()
    counts = [n for _, n, _ in st["eqns"]]
    assert counts[-1] < counts[0]  # the passes removed equations
    assert st["fused_groups"] >= 1 and st["planned_peak_bytes"] > 0
    assert c.graph is c.latest().info["optimized"].graph
