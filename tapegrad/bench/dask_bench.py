"""Data-parallel benchmarks: :func:`tapegrad.dask.value_and_grad` on worker processes.

Three variants join :data:`~tapegrad.bench.peers.VARIANTS` for the ``logreg_dask`` and
``logreg_dask_small`` workloads (``python -m tapegrad bench --only logreg_dask
logreg_dask_small --clock wall``):

- ``dask_1w`` and ``dask_2w``: ``tapegrad.dask.value_and_grad`` on a ``LocalCluster`` of
  one or two single-threaded worker processes, the data persisted on the cluster first;
- ``dask_glm``: dask-glm's own logistic-regression gradient
  (``dask_glm.families.Logistic.pointwise_gradient``) on the same persisted data and
  the two-worker cluster, divided by the number of samples to match the mean loss.

The work happens in other processes, so these variants are timed in wall-clock time
only (under ``--clock cpu`` they are skipped with that reason). With ``quick`` sizes
they run on Dask's threaded scheduler instead of a cluster, so tests stay fast.

:func:`out_of_core` runs the same gradient over a Zarr array on disk larger than the
memory given to the workers and reports the workers' peak resident memory.
``python -m tapegrad.bench.dask_bench`` prints all of it.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import importlib.util
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .peers import VARIANTS, Skip, Variant, _arrays_to_numpy, _tg_to_numpy
from .workloads import Workload

#: Chunks along the sample axis of each data-parallel workload.
CHUNKS = {"logreg_dask": 8, "logreg_dask_small": 2}


def _skip(reason: str) -> Exception:

    return Skip(reason)


def _check(w: Workload, *modules: str) -> None:
    if w.name not in CHUNKS:
        raise _skip(f"runs on the data-parallel workloads only ({', '.join(CHUNKS)})")
    for m in modules:
        if importlib.util.find_spec(m) is None:
            raise _skip(f"{m} is not installed")
    from . import runner

    if runner._clock is time.process_time:
        raise _skip("the work runs in other processes: timed with --clock wall only")


@functools.cache
def cluster(n_workers: int) -> Any:
    """A ``distributed.Client`` on a LocalCluster of ``n_workers`` single-threaded worker
    processes on 127.0.0.1, started once per process and closed at exit."""
    from distributed import Client, LocalCluster

    lc = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None)
    client = Client(lc, set_as_default=False)

    def close() -> None:
        client.close()
        lc.close()

    atexit.register(close)
    return client


def _chunked(X: np.ndarray, y: np.ndarray, k: int) -> tuple:
    import dask.array as da

    rows = -(-X.shape[0] // k)
    return da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)


def _persisted(client: Any, *arrays: Any) -> list:
    from distributed import wait

    out = client.persist(list(arrays))
    with client.as_current():  # wait() asks for the current client
        wait(out)
    return out


def tapegrad_dask_variant(n_workers: int) -> Callable:
    """The ``build`` of the ``dask_{n}w`` variant: ``tapegrad.dask.value_and_grad``."""

    def build(w: Workload, args: tuple, quick: bool) -> Callable[[], Any]:
        _check(w, "dask", "distributed")
        import dask

        import tapegrad as tg
        import tapegrad.dask as tgd

        w0, X, y = args
        Xd, yd = _chunked(X, y, CHUNKS[w.name])
        loss = w.function(tg, quick)
        if quick:
            vg = tgd.value_and_grad(loss, batch_argnums=(1, 2))

            def run() -> Any:
                with dask.config.set(scheduler="threads", num_workers=n_workers):
                    return vg(w0, Xd, yd)[1]

            return run
        client = cluster(n_workers)
        Xd, yd = _persisted(client, Xd, yd)
        vg = tgd.value_and_grad(loss, batch_argnums=(1, 2), client=client)
        return lambda: vg(w0, Xd, yd)[1]

    build.__doc__ = f"``tapegrad.dask.value_and_grad`` on {n_workers} worker process(es)"
    return build


def dask_glm_variant(n_workers: int) -> Callable:
    """The ``build`` of the ``dask_glm`` variant: dask-glm's logistic gradient."""

    def build(w: Workload, args: tuple, quick: bool) -> Callable[[], Any]:
        _check(w, "dask", "distributed", "dask_glm")
        from dask_glm.families import Logistic

        w0, X, y = args
        n = X.shape[0]
        # dask-glm's labels are 0/1 and its loss a sum: the same loss as ours up to 1/n.
        Xd, yd = _chunked(X, (y + 1.0) / 2.0, CHUNKS[w.name])
        if quick:
            def run() -> Any:
                g = Logistic.pointwise_gradient(w0, Xd, yd)
                return g.compute(scheduler="threads", num_workers=n_workers) / n

            return run
        client = cluster(n_workers)
        Xd, yd = _persisted(client, Xd, yd)
        return lambda: client.compute(Logistic.pointwise_gradient(w0, Xd, yd)).result() / n

    build.__doc__ = f"dask-glm's logistic-regression gradient on {n_workers} workers"
    return build


# -- out of core -------------------------------------------------------------------
def _logreg_chunk_sums(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple:
    """Hand-written sum of the logistic loss and its gradient over one block."""
    m = -y * (X @ w)
    e = np.exp(m)
    return float(np.sum(np.log1p(e))), X.T @ (-y * (e / (1.0 + e)))


def write_zarr(path: str, rows: int, cols: int, chunk_rows: int, seed: int = 0) -> None:
    """Write a seeded logistic-regression data set ``X`` (``rows x cols`` float64) and
    labels ``y`` in {-1, +1} as Zarr arrays under ``path``, a chunk at a time."""
    import zarr

    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(cols) / np.sqrt(cols)
    X = zarr.open_array(os.path.join(path, "X"), mode="w", shape=(rows, cols),
                        chunks=(chunk_rows, cols), dtype="f8")
    y = zarr.open_array(os.path.join(path, "y"), mode="w", shape=(rows,),
                        chunks=(chunk_rows,), dtype="f8")
    for start in range(0, rows, chunk_rows):
        stop = min(rows, start + chunk_rows)
        xb = rng.standard_normal((stop - start, cols))
        yb = np.sign(xb @ w_true + 0.5 * rng.standard_normal(stop - start))
        yb[yb == 0] = 1.0
        X[start:stop] = xb
        y[start:stop] = yb


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _max_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _warm() -> int:
    import tapegrad.dask  # noqa: F401  (what a gradient task imports)

    return _rss()


def out_of_core(path: str | None = None, rows: int = 3_000_000, cols: int = 50,
                chunk_rows: int = 25_000, memory_limit: str = "512MiB",
                n_workers: int = 2, client: Any = None) -> dict:
    """One gradient over a Zarr array on disk larger than the workers' memory.

    Parameters
    ----------
    path : str, optional
        A folder for the Zarr arrays (reused when it already holds them with these
        sizes); default a temporary folder, removed afterwards.
    rows, cols, chunk_rows : int
        The data's shape and its chunks along the sample axis (float64).
    memory_limit : str
        Memory given to each worker (``LocalCluster(memory_limit=...)``): beyond it
        Dask pauses, spills and finally restarts a worker.
    n_workers : int
        Worker processes of the cluster started here.
    client : distributed.Client, optional
        Run on this cluster instead of starting one (``memory_limit`` then unused).

    Returns
    -------
    dict
        ``data_bytes``, ``memory_limit_bytes`` (per worker; None with ``client``),
        ``n_workers``, ``seconds`` (the call), ``baseline_rss`` and ``peak_rss`` (the
        largest worker's resident bytes before the call and at its peak during it,
        sampled every 10 ms), ``max_rss`` (the largest worker's lifetime peak, from
        ``getrusage``), and ``max_error`` (against a streaming NumPy reference).
    """
    import dask.array as da
    import psutil

    import tapegrad as tg
    import tapegrad.dask as tgd

    from .workloads import logreg_loss

    tmp = None
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="tapegrad-ooc-")
        path = tmp.name
    try:
        try:
            import zarr

            ok = zarr.open_array(os.path.join(path, "X"), mode="r").shape == (rows, cols)
        except Exception:  # absent or unreadable: written below
            ok = False
        if not ok:
            write_zarr(path, rows, cols, chunk_rows)
        Xz = da.from_zarr(os.path.join(path, "X"))
        yz = da.from_zarr(os.path.join(path, "y"))
        own = None
        limit = None
        if client is None:
            from dask.utils import parse_bytes
            from distributed import Client, LocalCluster

            limit = parse_bytes(memory_limit)
            lc = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None,
                              memory_limit=memory_limit)
            own = (Client(lc, set_as_default=False), lc)
            client = own[0]
        try:
            baseline = client.run(_warm)
            pids = client.run(os.getpid)
            procs = [psutil.Process(p) for p in pids.values()]
            peak = [max(baseline.values())]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    try:
                        peak[0] = max(peak[0], *(p.memory_info().rss for p in procs))
                    except psutil.Error:
                        pass
                    stop.wait(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            w = 0.1 * np.random.default_rng(1).standard_normal(cols)
            vg = tgd.value_and_grad(functools.partial(logreg_loss, tg), batch_argnums=(1, 2),
                                    client=client)
            t0 = time.perf_counter()
            value, grad = vg(w, Xz, yz)
            seconds = time.perf_counter() - t0
            stop.set()
            sampler.join()
            max_rss = max(client.run(_max_rss).values())
        finally:
            if own is not None:
                own[0].close()
                own[1].close()
        # The reference: hand-written NumPy, streamed a chunk at a time in this process.
        total, g = 0.0, np.zeros(cols)
        for start in range(0, rows, chunk_rows):
            s, gb = _logreg_chunk_sums(w, np.asarray(Xz[start:start + chunk_rows]),
                                       np.asarray(yz[start:start + chunk_rows]))
            total, g = total + s, g + gb
        err = max(abs(value.item() - total / rows), float(np.abs(grad.numpy() - g / rows).max()))
        return {"data_bytes": rows * cols * 8, "memory_limit_bytes": limit,
                "n_workers": len(pids), "seconds": seconds,
                "baseline_rss": max(baseline.values()), "peak_rss": peak[0],
                "max_rss": max_rss, "max_error": err}
    finally:
        if tmp is not None:
            tmp.cleanup()


# -- python -m tapegrad.bench.dask_bench ------------------------------------------

# The data-parallel variants join the others (peers.py knows nothing of Dask).
VARIANTS.update({v.name: v for v in [
    Variant("dask_1w", "tapegrad.dask, 1 worker", tapegrad_dask_variant(1), _tg_to_numpy),
    Variant("dask_2w", "tapegrad.dask, 2 workers", tapegrad_dask_variant(2), _tg_to_numpy),
    Variant("dask_glm", "dask-glm, 2 workers", dask_glm_variant(2), _arrays_to_numpy),
]})


def main(argv: list[str] | None = None) -> int:
    """Print the data-parallel comparison and the out-of-core run.

    Parameters
    ----------
    argv : list of str, optional
        Command-line options (``--help`` lists them).

    Returns
    -------
    int
        The process exit status.
    """
    from . import report
    from .runner import limit_threads, measure, use_clock
    from .workloads import DASK_WORKLOAD_VARIANTS, WORKLOADS

    p = argparse.ArgumentParser(prog="python -m tapegrad.bench.dask_bench",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, threaded scheduler")
    p.add_argument("--budget", type=float, default=3.0, help="seconds timing each pair")
    p.add_argument("--rows", type=int, default=3_000_000, help="out-of-core rows (x 50)")
    p.add_argument("--memory-limit", default="512MiB", help="memory per worker")
    p.add_argument("--zarr", default=None, help="folder for the out-of-core Zarr arrays")
    p.add_argument("--no-out-of-core", action="store_true", help="skip the out-of-core run")
    args = p.parse_args(argv)
    limit_threads(1)
    use_clock("wall")
    results = [measure(WORKLOADS[w], v, quick=args.quick, memory=False, budget=args.budget)
               for w in CHUNKS for v in DASK_WORKLOAD_VARIANTS]
    print(f"machine: {report.machine()}")
    print("wall-clock median time per gradient (ratio to hand-written NumPy, one process)\n")
    print(report.time_table(results))
    for line in report.failures(results):
        print(f"FAILED {line}")
    skipped = sorted({r.note for r in results if r.note.startswith("skipped")})
    if skipped:
        print("\nskipped: " + "; ".join(n.removeprefix("skipped: ") for n in skipped))
    if not args.no_out_of_core:
        rows = 20_000 if args.quick else args.rows
        r = out_of_core(args.zarr, rows=rows, chunk_rows=min(25_000, rows // 4),
                        memory_limit=args.memory_limit)
        fb = report.format_bytes
        print(f"\nout of core: {fb(r['data_bytes'])} of float64 in Zarr, {r['n_workers']} "
              f"workers with {fb(r['memory_limit_bytes'])} each: {r['seconds']:.2f} s; "
              f"worker resident memory {fb(r['baseline_rss'])} before, peak "
              f"{fb(r['peak_rss'])} (getrusage peak {fb(r['max_rss'])}); max error "
              f"{r['max_error']:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
