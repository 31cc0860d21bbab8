"""tg.viz.graph: the DOT text matches the recorded graph (the seed's figure 4.2).

The reference is the graph itself: every record reachable from the output is one box
named by its grad_fn, every ``next_functions`` link is one edge. Rendering runs only
where Graphviz's ``dot`` is installed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _dot, viz

needs_dot = pytest.mark.skipif(not viz.dot_available(), reason="Graphviz `dot` not installed")


def _nodes(src: str) -> dict[str, str]:
    return dict(re.findall(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)"', src, re.M))


def _edges(src: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s+(\w+) -> (\w+)", src, re.M)


def _seed():
    x1 = tg.tensor(2.0, requires_grad=True)
    x2 = tg.tensor(2.0, requires_grad=True)
    x3 = x1.square()
    x5 = x3 * 0.2
    x4 = x2.square()
    x6 = x4 * 0.2
    x7 = x5 + x6 - 5
    return x1, x2, x3, x4, x5, x6, x7


def test_seed_graph_like_figure_4_2():
    x1, x2, x3, x4, x5, x6, x7 = _seed()
    d = tg.viz.graph(x7)  # names come from this frame's variables
    nodes = _nodes(d.source)
    labels = {v.split("\\n")[0]: v for v in nodes.values()}
    assert labels["x1"] == "x1\\nfloat32[]" and labels["x2"] == "x2\\nfloat32[]"
    assert labels["x3"] == "x3\\nPowBackward0\\nfloat32[]"
    assert labels["x4"] == "x4\\nPowBackward0\\nfloat32[]"
    assert labels["x5"] == "x5\\nMulBackward1\\nfloat32[]"
    assert labels["x6"] == "x6\\nMulBackward1\\nfloat32[]"
    assert labels["x7"] == "x7\\nSubBackward1\\nfloat32[]"
    assert labels["AddBackward0"] == "AddBackward0\\nfloat32[]"
    by_name = {v.split("\\n")[0]: k for k, v in nodes.items()}
    edges = {(by_name[a_name], by_name[b_name]) for a_name, b_name in [
        ("x1", "x3"), ("x3", "x5"), ("x2", "x4"), ("x4", "x6"), ("x5", "AddBackward0"),
        ("x6", "AddBackward0"), ("AddBackward0", "x7")]}
    assert set(_edges(d.source)) == edges
    assert "fillcolor=\"#d4edda\"" in d.source.split(by_name["x7"] + " [")[1].split("\n")[0]


def test_edges_follow_next_functions():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = tg.tensor(np.ones((3, 4)), requires_grad=True)
    y = tg.tanh(x @ w).sum(axis=0).mean()
    d = tg.viz.graph(y, names={})
    nodes = _nodes(d.source)
    # Walk grad_fn / next_functions (the engine's own view) and compare.
    expected_records, expected_edges, stack = [], 0, [y.grad_fn]
    while stack:
        fn = stack.pop()
        expected_records.append(fn.name())
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                expected_edges += 1
                if nxt.name() != "AccumulateGrad":
                    stack.append(nxt)
    records = [v.split("\\n")[0] for k, v in nodes.items() if k.startswith("r")]
    assert sorted(records) == sorted(expected_records)
    assert len(_edges(d.source)) == expected_edges
    assert "float64[2,4]" in d.source and "float64[3,4]" in d.source


def test_explicit_names_and_constants():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.5 + np.ones(2)).sum()
    d = tg.viz.graph(y, names={"weights": x, "loss": y}, constants=True, title="demo")
    labels = list(_nodes(d.source).values())
    assert "weights\\nfloat32[2]" in labels
    assert any(v.startswith("loss\\nSumBackward0") for v in labels)
    assert "3.5" in labels and "float64[2]\\n(constant)" in labels
    assert 'label="demo"' in d.source
    assert "3.5" not in _nodes(tg.viz.graph(y, names={}).source).values()


def test_constant_tensor_inputs_are_dashed():
    data = tg.tensor([1.0, 2.0])
    w = tg.tensor(1.0, requires_grad=True)
    d = tg.viz.graph((data * w).sum(), names={"data": data})
    assert "data\\nfloat32[2]\\n(constant)" in _nodes(d.source).values()
    assert "style=dashed" in d.source


def test_freed_records_are_marked():
    *_, x7 = _seed()
    x7.backward()
    d = tg.viz.graph(x7, names={})
    assert "SubBackward1\\n(freed by backward)" in _nodes(d.source).values()


def test_leaf_output_and_bad_input():
    x = tg.tensor(1.0, requires_grad=True)
    src = tg.viz.graph(x).source
    assert list(_nodes(src).values()) == ["x\\nfloat32[]"] and "#d4edda" in src
    with pytest.raises(TypeError, match="expected tensors"):
        tg.viz.graph(3.0)


def test_quote_escapes():
    assert viz.quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_dot_file_needs_no_graphviz(tmp_path):
    *_, x7 = _seed()
    p = tg.viz.graph(x7).render(tmp_path / "g.dot")
    assert p.read_text().startswith("digraph tapegrad {")


def test_missing_dot_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(_dot.shutil, "which", lambda name: None)  # what Diagram calls
    d = tg.viz.graph(_seed()[-1])
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        d.render(tmp_path / "g.svg")
    assert d._repr_svg_() is None
    assert d._repr_mimebundle_() == {"text/plain": d.source}
    with pytest.raises(ValueError, match="format"):
        d.pipe("bmp")


@needs_dot
def test_render_svg_and_png(tmp_path):
    *_, x7 = _seed()
    d = tg.viz.graph(x7)
    svg = d.render(tmp_path / "seed.svg").read_text()
    assert "<svg" in svg and "PowBackward0" in svg and "SubBackward1" in svg
    png = d.render(tmp_path / "seed.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    bundle = d._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


# -- tg.viz.program ---------------------------------------------------------------
def _mlp():
    def loss(w1, w2, x, y):
        h = tg.tanh(x @ w1)
        return ((h @ w2 - y) ** 2).mean()

    rng = np.random.default_rng(0)
    args = (rng.standard_normal((4, 8)), rng.standard_normal((8, 1)),
            rng.standard_normal((16, 4)), rng.standard_normal((16, 1)))
    return tg.compile(tg.grad(loss, argnums=(0, 1))), args


def test_program_matches_the_compiled_graph():
    from tapegrad.compiler.ir import FusedKernel

    fast, args = _mlp()
    fast(*args)
    graph = fast.graph  # what the compiled function runs for these arguments
    d = tg.viz.program(fast, *args)
    nodes = _nodes(d.source)
    fused = [e for e in graph.eqns if isinstance(e.prim, FusedKernel)]
    plain = [e for e in graph.eqns if not isinstance(e.prim, FusedKernel)]
    assert len(re.findall(r"subgraph cluster_g\d+", d.source)) == len(fused) >= 1
    boxes = [k for k in nodes if k.startswith("e")]
    assert len(boxes) == len(plain) + sum(len(e.prim.body.eqns) for e in fused)
    ops = sorted(v.split("\\n")[0].split(" = ")[-1] for k, v in nodes.items()
                 if re.fullmatch(r"e\d+", k))
    assert ops == sorted(e.prim.name for e in plain)
    # Arguments named after the parameters; one box per result.
    assert [v.split("\\n")[0] for k, v in nodes.items() if k.startswith("i")] == [
        "w1", "w2", "x", "y"]
    assert sum(k.startswith("o") for k in nodes) == 2
    # Every intermediate value is freed exactly once; outputs and inputs never.
    freed = re.findall(r"free ((?:%\d+ ?)+)", d.source)
    names = [n for group in freed for n in group.split()]
    n_values = sum(len(e.outputs) for e in graph.eqns)
    assert len(names) == len(set(names)) == n_values - 2
    # The tanh activations are read again by the backward part: a saved value.
    assert 'color="#e8590c", penwidth=2' in d.source


@needs_dot
def test_program_renders(tmp_path):
    fast, args = _mlp()
    svg = tg.viz.program(fast, *args).render(tmp_path / "p.svg").read_text()
    assert "<svg" in svg and "fused" in svg
