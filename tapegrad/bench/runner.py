"""Timing, peak memory and first-call measurements for the workloads.

Timings follow :mod:`timeit`: the garbage collector is off while timing, each repeat
runs the callable enough times to last a few milliseconds, and the reported figure is
the median over repeats (this machine is shared and noisy, so medians, not minima).

On a loaded machine, wall-clock time mostly measures the scheduler. With every library
limited to one thread (:func:`limit_threads`), the process's CPU time is the work done
and is what :func:`use_clock("cpu") <use_clock>` times instead.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from .peers import VARIANTS, Skip, build
from .workloads import WORKLOADS, Workload

_clock = time.perf_counter


def use_clock(kind: str) -> None:
    """Time with ``"wall"`` (``perf_counter``) or ``"cpu"`` (this process's CPU time)."""
    global _clock
    _clock = {"wall": time.perf_counter, "cpu": time.process_time}[kind]


def limit_threads(n: int) -> None:
    """Limit BLAS, OpenMP, PyTorch and XLA to ``n`` threads each.

    Environment variables cover libraries loaded later; threadpoolctl (installed with
    scikit-learn) covers the BLAS NumPy has already loaded.
    """
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


class Result(NamedTuple):
    """One measured (workload, variant) pair; ``seconds`` is None when skipped."""

    workload: str
    variant: str
    seconds: float | None
    note: str = ""  # why it was skipped or failed
    peak_bytes: int | None = None  # traced peak of one call (NumPy-based variants only)


def median_time(fn: Callable[[], Any], *, min_repeat_time: float = 0.01, repeats: int = 7,
                budget: float = 2.0) -> float:
    """Median seconds per call of ``fn`` (after one warm-up call).

    Parameters
    ----------
    fn : callable
        Called with no arguments.
    min_repeat_time : float
        Each repeat loops ``fn`` until it lasts at least this long.
    repeats : int
        Most repeats taken; fewer (at least 3) when one repeat is long.
    budget : float
        Rough total seconds to spend, which bounds the number of repeats.
    """
    fn()
    number, elapsed = 1, _loop(fn, 1)
    while elapsed < min_repeat_time:
        number *= max(2, min(10, int(min_repeat_time / max(elapsed, 1e-9) * number) // number))
        elapsed = _loop(fn, number)
    n_rep = max(3, min(repeats, int(budget / elapsed)))
    times = [elapsed / number] + [_loop(fn, number) / number for _ in range(n_rep - 1)]
    return statistics.median(times)


def _loop(fn: Callable[[], Any], number: int) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = _clock()
        for _ in range(number):
            fn()
        return _clock() - t0
    finally:
        if enabled:
            gc.enable()


def traced_peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated during one call of ``fn``, as seen by :mod:`tracemalloc`.

    NumPy reports its array buffers to tracemalloc, so this covers NumPy-based code
    (tapegrad, hand-written NumPy, HIPS autograd); PyTorch and JAX allocate outside it.
    The result the call returns is included, as it is alive at the end.
    """
    fn()  # warm up: caches and compiled programs are not part of a steady-state call
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del out
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak


def first_call_seconds(workload: Workload, variant: str, quick: bool = False,
                       repeats: int = 3) -> float:
    """Median seconds of building ``variant`` fresh and calling it once.

    For ``compiled`` and ``jax_jit`` this is trace + compile + one run: the latency a
    user waits for on the first call. Caches are cleared between repeats.
    """
    args = workload.make_inputs(quick)
    times = []
    for _ in range(repeats):
        _clear_caches(variant)
        t0 = _clock()
        build(workload, variant, quick, args)()
        times.append(_clock() - t0)
    return statistics.median(times)


def _clear_caches(variant: str) -> None:
    if variant.startswith("jax"):
        import jax

        jax.clear_caches()
    # tapegrad's compile cache belongs to each tg.compile object, and build() makes a
    # fresh one per call, so nothing is shared between repeats.


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TimeoutError` in the block after ``seconds`` (Unix main thread only).

    A pair whose first call does not finish (a compile that scales badly) is reported as
    failed instead of stalling the whole comparison.
    """
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def _expired(signum, frame):
        raise TimeoutError(f"gave up after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def measure(workload: Workload, variant: str, *, quick: bool = False, memory: bool = True,
            budget: float = 2.0, timeout: float | None = 120.0) -> Result:
    """Time one (workload, variant) pair; a skip, failure or timeout becomes a note."""
    try:
        with deadline(timeout):
            fn = build(workload, variant, quick)
            seconds = median_time(fn, min_repeat_time=0.002 if quick else 0.02,
                                  repeats=5 if quick else 7, budget=budget)
            peak = None
            if memory and variant in TRACED_VARIANTS:
                peak = traced_peak_bytes(fn)
    except Skip as e:
        return Result(workload.name, variant, None, f"skipped: {e}")
    except Exception as e:  # a failing variant is reported, not fatal to the run
        return Result(workload.name, variant, None, f"failed: {type(e).__name__}: {e}")
    return Result(workload.name, variant, seconds, "", peak)


# Variants whose memory tracemalloc sees (NumPy buffers).
TRACED_VARIANTS = ("numpy", "eager", "tape", "compiled", "autograd")


def run_all(workloads: Iterable[str] | None = None, variants: Iterable[str] | None = None, *,
            quick: bool = False, memory: bool = True, budget: float = 2.0,
            timeout: float | None = 120.0,
            progress: Callable[[int, int, str], None] | None = None) -> list[Result]:
    """Measure every (workload, variant) pair, in one process, workload by workload."""
    names = list(workloads) if workloads is not None else list(WORKLOADS)
    vnames = list(variants) if variants is not None else list(VARIANTS)
    pairs = [(w, v) for w in names for v in vnames]
    results = []
    for k, (w, v) in enumerate(pairs):
        if progress is not None:
            progress(k, len(pairs), f"{w} / {v}")
        results.append(measure(WORKLOADS[w], v, quick=quick, memory=memory, budget=budget,
                               timeout=timeout))
    if progress is not None:
        progress(len(pairs), len(pairs), "done")
    return results
