"""The benchmark code itself, run once on tiny sizes so that it cannot silently rot.

Each hand-written NumPy gradient is checked against central finite differences; every
variant that can run here (tapegrad eager, tape, compiled, and each installed peer) is
checked against that hand-written gradient. The command line, the report and the asv
suite are exercised too. Nothing here asserts a timing.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

from tapegrad.bench import report
from tapegrad.bench.peers import VARIANTS, Skip, build
from tapegrad.bench.runner import Result, median_time, traced_peak_bytes
from tapegrad.bench.workloads import WORKLOADS

NUMPY_OPS = types.SimpleNamespace(sin=np.sin, tanh=np.tanh, exp=np.exp, log1p=np.log1p,
                                  square=np.square, sum=np.sum, mean=np.mean,
                                  logsumexp=logsumexp)
GRAD_WORKLOADS = [name for name, w in WORKLOADS.items() if w.kind == "grad"]


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


@pytest.mark.parametrize("name", GRAD_WORKLOADS)
def test_hand_written_numpy_gradient_matches_finite_differences(name):
    w = WORKLOADS[name]
    args = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in w.make_inputs(True)]
    f = w.function(NUMPY_OPS, quick=True)
    grads = w.reference(True)(*args)
    rng = np.random.default_rng(1)
    directions = {i: rng.standard_normal(np.shape(args[i])) for i in w.argnums}
    eps = 1e-6

    def at(sign):
        shifted = list(args)
        for i, d in directions.items():
            shifted[i] = args[i] + sign * eps * d
        return float(f(*shifted))

    numeric = (at(1) - at(-1)) / (2 * eps)
    analytic = sum(float(np.sum(g * directions[i])) for i, g in zip(w.argnums, grads))
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_variant_matches_hand_written_numpy(name, variant):
    w = WORKLOADS[name]
    args = w.make_inputs(True)
    expected = _as_tuple(w.reference(True)(*args))
    try:
        fn = build(w, variant, quick=True, args=args)
    except Skip as e:
        pytest.skip(str(e))
    got = VARIANTS[variant].to_numpy(fn())
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        e = np.asarray(e)
        assert g.shape == e.shape
        assert g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=w.rtol, atol=1e-6)


def test_inputs_are_fresh_and_seeded():
    for w in WORKLOADS.values():
        a, b = w.make_inputs(True), w.make_inputs(True)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_full_sizes_match_the_issue():
    shapes = {name: [np.shape(a) for a in WORKLOADS[name].make_inputs(False)]
              for name in ("mlp_b128", "mlp_b1024", "elementwise_1e6", "logreg", "rosenbrock")}
    assert shapes["mlp_b128"][0] == (784, 256) and shapes["mlp_b128"][4] == (128, 784)
    assert shapes["mlp_b1024"][4] == (1024, 784)
    assert shapes["elementwise_1e6"] == [(1_000_000,)]
    assert shapes["logreg"][1] == (569, 30)
    assert shapes["rosenbrock"] == [(1000,)]
    assert WORKLOADS["chain100"].static(False) == {"n": 100}
    assert WORKLOADS["tape_1e5"].static(False) == {"n": 100_000}


def test_traced_peak_bytes_sees_numpy_buffers():
    peak = traced_peak_bytes(lambda: np.ones(1_000_000).sum())
    assert 8_000_000 <= peak < 9_000_000


def test_median_time_is_per_call():
    assert 0 < median_time(lambda: None, min_repeat_time=1e-4, repeats=3, budget=0.01) < 1e-3


def test_targets_are_ratios_of_medians():
    results = [Result("seed", "eager", 2e-5), Result("seed", "torch", 4e-5),
               Result("seed", "compiled", 1e-6, peak_bytes=50),
               Result("seed", "jax_jit", 1e-5),
               Result("chain100", "eager", 3e-4, peak_bytes=100),
               Result("chain100", "compiled", 1e-4, peak_bytes=200),
               Result("tape_1e4", "eager", 1.0), Result("tape_1e5", "eager", 11.0)]
    got = {t.name: t for t in report.targets(results)}
    assert got["eager seed quadratic / PyTorch eager"].value == pytest.approx(0.5)
    assert got["eager seed quadratic / PyTorch eager"].status == "met"
    assert got["compiled seed quadratic / jax.jit"].value == pytest.approx(0.1)
    assert got["peak memory: compiled / eager (worst workload)"].value == pytest.approx(2.0)
    assert got["peak memory: compiled / eager (worst workload)"].status == "missed by 2x"
    assert got["1e5-op tape / 1e4-op tape (eager record + backward)"].value == 11.0
    assert got["compiled MLP b128 / NumPy"].status == "not measured"


def test_format_helpers():
    assert report.format_seconds(1.5e-5) == "15 us"
    assert report.format_seconds(2.0) == "2 s"
    assert report.format_seconds(None) == "-"
    assert report.format_bytes(3 * 1024 * 1024) == "3.0 MiB"


def test_command_line_prints_the_table(capsys, tmp_path):
    from tapegrad.__main__ import main

    out_json = tmp_path / "r.json"
    rc = main(["bench", "--quick", "--only", "seed", "logreg", "--variants", "numpy", "eager",
               "compiled", "--budget", "0.02", "--no-first-call", "--json", str(out_json)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "NumPy (hand)" in text and "tapegrad eager" in text and "targets" in text
    assert "seed" in text and "logreg" in text
    assert out_json.read_text().startswith("{")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    report.plot([Result("seed", "numpy", 1e-6), Result("seed", "eager", 2e-5),
                 Result("chain100", "numpy", 1e-4), Result("chain100", "eager", 3e-4)],
                str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _asv_module(name: str):
    root = Path(__file__).resolve().parents[1] / "asv_bench"
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"benchmarks.{name}")
    finally:
        sys.path.remove(str(root))


def test_asv_benchmarks_run_on_tiny_sizes(monkeypatch):
    common = _asv_module("common")
    monkeypatch.setattr(common, "QUICK", True)
    gradients = _asv_module("gradients")
    bench = gradients.Gradient()
    bench.setup("logreg", "eager")
    bench.time_gradient("logreg", "eager")
    stats = _asv_module("stats")
    monkeypatch.setattr(stats, "QUICK", True)
    assert stats.TapeRecords().track_records("seed") == 6
    memory = _asv_module("memory")
    mem = memory.PeakMemory()
    mem.setup("logreg", "numpy")
    assert mem.track_traced_peak_bytes("logreg", "numpy") > 0
    with pytest.raises(NotImplementedError):
        bench.setup("tape_1e5", "jax_jit")  # not a combination that is run


def test_asv_compiler_stats():
    from tapegrad.bench.peers import compiler_status

    if compiler_status() is not None:
        pytest.skip(compiler_status())
    stats = _asv_module("stats")
    bench = stats.CompilerStats()
    values = {}
    for stat in ("equations_before", "equations_after", "fused_groups"):
        bench.setup("seed", stat)
        values[stat] = bench.track_stat("seed", stat)
    assert values["equations_after"] <= values["equations_before"]
    assert values["fused_groups"] >= 0


def test_deadline_stops_a_stalled_pair():
    import time

    from tapegrad.bench.runner import deadline

    t0 = time.perf_counter()
    with pytest.raises(TimeoutError):
        with deadline(0.05):
            time.sleep(2)
    assert time.perf_counter() - t0 < 1.5
