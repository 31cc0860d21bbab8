"""``tapegrad.dask.value_and_grad`` on Dask's threaded scheduler and on a LocalCluster.

Every result is checked against the single-process full-batch ``tg.value_and_grad`` on
the concatenated data (to 1e-10 in float64). One LocalCluster of two worker processes
(with nannies, on 127.0.0.1) serves the whole module and is closed at its end; one test
kills a worker process mid-call and checks the gradient is still exactly right.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tapegrad as tg

try:
    import cloudpickle
    import dask
    import dask.array as da
    import distributed  # noqa: F401

    import tapegrad.dask as tgd

    HAVE_DASK = True
    # The losses below are defined in this test module, which the worker processes
    # cannot import: send them by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:
    HAVE_DASK = False
needs_dask = pytest.mark.skipif(
    not HAVE_DASK, reason="needs dask[array] and distributed (pip install 'tapegrad[dask]')")

TOL = 1e-10


def logreg(w, X, y):
    """Mean logistic loss, labels in {-1, +1}."""
    return tg.mean(tg.log1p(tg.exp(-y * (X @ w))))


def logreg_sum(w, X, y):
    return tg.sum(tg.log1p(tg.exp(-y * (X @ w))))


def mlp(params, X, y):
    """Mean squared error of a 5-8-1 tanh network with dict parameters."""
    h = tg.tanh(X @ params["w1"] + params["b1"])
    z = (h @ params["w2"])[:, 0] + params["b2"]
    return tg.mean((z - y) ** 2)


def _data(n=1003, d=5, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = np.sign(X[:, 0] + 0.5 * rng.standard_normal(n)).astype(dtype)
    w = (0.1 * rng.standard_normal(d)).astype(dtype)
    return w, X, y


def _mlp_params(d=5, h=8, seed=1):
    rng = np.random.default_rng(seed)
    return {"w1": rng.standard_normal((d, h)) / np.sqrt(d), "b1": np.zeros(h),
            "w2": rng.standard_normal((h, 1)) / np.sqrt(h), "b2": np.zeros(())}


def _chunked(X, y, chunks):
    return (da.from_array(X, chunks=(chunks, X.shape[1])), da.from_array(y, chunks=(chunks,)))


def _assert_same(got, want, tol=TOL):
    (v, g), (v0, g0) = got, want
    assert isinstance(v, tg.Tensor) and v.shape == ()
    np.testing.assert_allclose(v.numpy(), v0.numpy(), rtol=tol, atol=tol)
    leaves, tree = tg.tree_flatten(g)
    leaves0, tree0 = tg.tree_flatten(g0)
    assert tree == tree0
    for a, b in zip(leaves, leaves0):
        assert isinstance(a, tg.Tensor) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)


@pytest.fixture(scope="module")
def client():
    """Two worker processes (one thread each) behind nannies, on the loopback address."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture
def threads():
    with dask.config.set(scheduler="threads"):
        yield


# -- the threaded scheduler --------------------------------------------------------
@needs_dask
@pytest.mark.parametrize("chunks", [(250, 250, 250, 253), (1003,), (17, 600, 386)])
def test_logreg_threads_matches_full_batch(threads, chunks):
    w, X, y = _data()
    Xd, yd = _chunked(X, y, chunks)
    got = tgd.value_and_grad(logreg, batch_argnums=(1, 2))(w, Xd, yd)
    _assert_same(got, tg.value_and_grad(logreg)(w, X, y))


@needs_dask
def test_mlp_dict_params_threads(threads):
    _, X, y = _data()
    p = _mlp_params()
    Xd, yd = _chunked(X, y, 300)
    got = tgd.value_and_grad(mlp, batch_argnums=(1, 2))(p, Xd, yd)
    want = tg.value_and_grad(mlp)(p, X, y)
    assert set(got[1]) == set(p)
    _assert_same(got, want)


@needs_dask
def test_compiled_once_per_shape(threads):
    w, X, y = _data()
    Xd, yd = _chunked(X, y, 250)              # four chunks of 250 and one of 3
    vg = tgd.value_and_grad(logreg, batch_argnums=(1, 2))
    for _ in range(3):
        vg(w, Xd, yd)
    mine = [n for token, n in tgd._cache_info().items() if token.startswith("logreg-")]
    assert 2 in mine                           # two shapes, compiled once each


@needs_dask
def test_empty_chunk_is_skipped(threads):
    w, X, y = _data()
    Xd, yd = _chunked(X, y, (500, 0, 503, 0))
    got = tgd.value_and_grad(logreg, batch_argnums=(1, 2))(w, Xd, yd)
    _assert_same(got, tg.value_and_grad(logreg)(w, X, y))


@needs_dask
def test_reduce_sum(threads):
    w, X, y = _data()
    Xd, yd = _chunked(X, y, 300)
    got = tgd.value_and_grad(logreg_sum, batch_argnums=(1, 2), reduce="sum")(w, Xd, yd)
    _assert_same(got, tg.value_and_grad(logreg_sum)(w, X, y), tol=1e-9)


@needs_dask
def test_float32(threads):
    w, X, y = _data(dtype=np.float32)
    Xd, yd = _chunked(X, y, 300)
    v, g = tgd.value_and_grad(logreg, batch_argnums=(1, 2))(w, Xd, yd)
    v0, g0 = tg.value_and_grad(logreg)(w, X, y)
    assert v.dtype == np.float32 and g.dtype == np.float32
    np.testing.assert_allclose(v.numpy(), v0.numpy(), rtol=1e-5)
    np.testing.assert_allclose(g.numpy(), g0.numpy(), rtol=1e-4, atol=1e-6)


@needs_dask
def test_several_argnums_and_chunked_columns(threads):
    _, X, y = _data()
    p = _mlp_params()

    def loss(w1, rest, X, y):
        return mlp({"w1": w1, **rest}, X, y)

    rest = {k: v for k, v in p.items() if k != "w1"}
    Xd = da.from_array(X, chunks=(400, 2))     # columns in chunks: joined per sample
    yd = da.from_array(y, chunks=400)
    got = tgd.value_and_grad(loss, argnums=(0, 1), batch_argnums=(2, 3), split_every=2)(
        p["w1"], rest, Xd, yd)
    want = tg.value_and_grad(loss, argnums=(0, 1))(p["w1"], rest, X, y)
    assert isinstance(got[1], tuple) and len(got[1]) == 2
    _assert_same(got, want)


@needs_dask
def test_zarr_source(threads, tmp_path):
    pytest.importorskip("zarr", reason="needs zarr")
    w, X, y = _data()
    da.from_array(X, chunks=(256, 5)).to_zarr(str(tmp_path / "X.zarr"))
    Xz = da.from_zarr(str(tmp_path / "X.zarr"))
    got = tgd.value_and_grad(logreg, batch_argnums=(1, 2))(w, Xz, da.from_array(y, 256))
    _assert_same(got, tg.value_and_grad(logreg)(w, X, y))


@needs_dask
def test_processes_scheduler():
    w, X, y = _data()
    Xd, yd = _chunked(X, y, 500)
    with dask.config.set(scheduler="processes", num_workers=2):
        got = tgd.value_and_grad(logreg, batch_argnums=(1, 2))(w, Xd, yd)
    _assert_same(got, tg.value_and_grad(logreg)(w, X, y))


# -- errors ------------------------------------------------------------------------
@needs_dask
def test_misaligned_chunks_error_names_arrays_and_chunks(threads):
    w, X, y = _data()
    Xd = da.from_array(X, chunks=(300, 5))
    yd = da.from_array(y, chunks=250)
    vg = tgd.value_and_grad(logreg, batch_argnums=(1, 2))
    with pytest.raises(ValueError) as e:
        vg(w, Xd, yd)
    msg = str(e.value)
    assert "value_and_grad" in msg and "axis 0" in msg
    assert "X (argument 1) has chunks (300, 300, 300, 103)" in msg
    assert "y (argument 2) has chunks (250, 250, 250, 250, 3)" in msg
    assert "y.rechunk({0: X.chunks[0]})" in msg


@needs_dask
def test_argument_errors(threads):
    w, X, y = _data()
    Xd, yd = _chunked(X, y, 500)
    with pytest.raises(ValueError, match="both argnums and batch_argnums"):
        tgd.value_and_grad(logreg, argnums=(0, 1), batch_argnums=(1, 2))
    with pytest.raises(ValueError, match="reduce must be 'mean' or 'sum'"):
        tgd.value_and_grad(logreg, batch_argnums=(1, 2), reduce="max")
    vg = tgd.value_and_grad(logreg, batch_argnums=(1, 2))
    with pytest.raises(TypeError, match=r"batch argument X \(argument 1\) must be a Dask"):
        vg(w, X, yd)
    with pytest.raises(ValueError, match="no samples"):
        vg(w, Xd[:0], yd[:0])


def test_import_tapegrad_does_not_import_dask():
    code = ("import sys, tapegrad; assert 'tapegrad.dask' not in sys.modules; "
            "assert 'dask' not in sys.modules; import tapegrad.dask")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


# -- a LocalCluster of two worker processes ----------------------------------------
@needs_dask
def test_cluster_logreg_and_mlp(client):
    w, X, y = _data()
    Xd, yd = _chunked(X, y, (250, 250, 250, 253))
    got = tgd.value_and_grad(logreg, batch_argnums=(1, 2), client=client)(w, Xd, yd)
    _assert_same(got, tg.value_and_grad(logreg)(w, X, y))
    p = _mlp_params()
    got = tgd.value_and_grad(mlp, batch_argnums=(1, 2))(p, Xd, yd)  # the default client
    _assert_same(got, tg.value_and_grad(mlp)(p, X, y))


@needs_dask
def test_cluster_gradient_descent_matches_local(client):
    w, X, y = _data()
    p = _mlp_params()
    Xd, yd = (client.persist(a) for a in _chunked(X, y, 200))
    vg = tgd.value_and_grad(mlp, batch_argnums=(1, 2), client=client)
    local = tg.compile(tg.value_and_grad(mlp))
    p_dask, p_local = dict(p), dict(p)
    for _ in range(20):
        v, g = vg(p_dask, Xd, yd)
        v0, g0 = local(p_local, X, y)
        np.testing.assert_allclose(v.numpy(), v0.numpy(), rtol=TOL, atol=TOL)
        p_dask = {k: p_dask[k] - 0.3 * g[k].numpy() for k in p}
        p_local = {k: p_local[k] - 0.3 * g0[k].numpy() for k in p}
    for k in p:
        np.testing.assert_allclose(p_dask[k], p_local[k], rtol=TOL, atol=TOL)
    assert v.item() < mlp(p, X, y).item()      # it did descend
    # Each worker compiled this function once per chunk shape (200 rows, 3 rows).
    counts = [n for info in client.run(tgd._cache_info).values()
              for token, n in info.items() if token.startswith("mlp-")]
    assert counts and max(counts) <= 2


def _slow(block):
    time.sleep(0.15)
    return block


@needs_dask
def test_killed_worker_mid_call_gives_the_exact_gradient(client):
    w, X, y = _data(n=1600)
    p = _mlp_params()
    Xd, yd = _chunked(X, y, 100)
    vg = tgd.value_and_grad(mlp, batch_argnums=(1, 2), client=client)
    undisturbed = vg(p, Xd, yd)
    _assert_same(undisturbed, tg.value_and_grad(mlp)(p, X, y))

    slow = Xd.map_blocks(_slow, dtype=Xd.dtype)  # 16 chunks of 0.15 s: a call of ~1.2 s
    pids = client.run(os.getpid)
    result: dict = {}

    def run():
        try:
            result["out"] = vg(p, slow, yd)
        except BaseException as e:  # reported below
            result["error"] = e

    call = threading.Thread(target=run)
    call.start()
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        # Kill a worker once it holds finished chunk work and is busy with more.
        busy = {a for a, keys in client.processing().items() if keys}
        holding = {a for key, ws in client.who_has().items()
                   if "tapegrad-chunk" in str(key) for a in ws}
        ready = sorted(busy & holding)
        if ready:
            victim = ready[0]
        else:
            time.sleep(0.02)
    assert victim is not None, "no worker became busy"
    assert call.is_alive(), "the call finished before a worker could be killed"
    os.kill(pids[victim], signal.SIGKILL)
    call.join(timeout=120)
    assert not call.is_alive() and "error" not in result, result.get("error")
    got = result["out"]
    # Every chunk counted exactly once: bitwise the undisturbed result.
    assert got[0].numpy() == undisturbed[0].numpy()
    for k in p:
        np.testing.assert_array_equal(got[1][k].numpy(), undisturbed[1][k].numpy())
    client.wait_for_workers(2, timeout=60)     # the nanny restarted the worker
    assert pids[victim] not in client.run(os.getpid).values()


# -- the benchmark code, on tiny sizes ---------------------------------------------
@needs_dask
def test_out_of_core_run_reports_memory_and_matches_numpy(client, tmp_path):
    pytest.importorskip("zarr", reason="needs zarr")
    from tapegrad.bench.dask_bench import out_of_core

    r = out_of_core(str(tmp_path / "data"), rows=8_000, cols=6, chunk_rows=1_000,
                    client=client)
    assert r["max_error"] < 1e-12              # against a streaming NumPy reference
    assert r["data_bytes"] == 8_000 * 6 * 8 and r["n_workers"] == 2
    assert 0 < r["baseline_rss"] <= r["peak_rss"] <= r["max_rss"]


@needs_dask
def test_asv_dask_benchmarks_on_tiny_sizes(monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "asv_bench"
    monkeypatch.syspath_prepend(str(root))
    import benchmarks.common as common

    monkeypatch.setattr(common, "QUICK", True)
    from benchmarks import dask_gradients

    from tapegrad.bench import runner

    monkeypatch.setattr(runner, "_clock", time.perf_counter)  # asv's (wall) clock

    from tapegrad.bench.workloads import WORKLOADS

    bench = dask_gradients.DaskOverhead()
    bench.setup("logreg_dask_small", "dask_2w")
    got = bench.fn()
    want = WORKLOADS["logreg_dask_small"].reference(True)(
        *WORKLOADS["logreg_dask_small"].make_inputs(True))[0]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
