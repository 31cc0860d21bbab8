"""Shared helpers: build a workload's variant, turning a skip into asv's skip.

Set ``TAPEGRAD_BENCH_QUICK=1`` to run every benchmark on tiny sizes (the test suite
does, so the suite cannot rot). Every library runs on one thread (BLAS, OpenMP, PyTorch,
XLA), as in ``python -m tapegrad bench``: comparisons are per core, and a machine
shared with other work does not turn thread contention into results.
"""

from __future__ import annotations

import os

from tapegrad.bench.peers import VARIANTS, Skip, build
from tapegrad.bench.runner import limit_threads
from tapegrad.bench.workloads import WORKLOADS

limit_threads(int(os.environ.get("TAPEGRAD_BENCH_THREADS", "1")))
QUICK = os.environ.get("TAPEGRAD_BENCH_QUICK") == "1"

# Gradient workloads timed in gradients.py (the per-op and long-tape ones have their own).
GRADIENT_WORKLOADS = [name for name in WORKLOADS
                      if not name.startswith(("op_", "tape_"))]
ALL_VARIANTS = list(VARIANTS)
# Variants whose buffers are NumPy arrays, so tracemalloc sees their memory.
NUMPY_VARIANTS = ["numpy", "eager", "tape", "compiled", "autograd"]


def prepare(workload: str, variant: str):
    """The warmed-up callable for ``(workload, variant)``; NotImplementedError skips it."""
    try:
        fn = build(WORKLOADS[workload], variant, QUICK)
    except Skip as e:
        raise NotImplementedError(str(e)) from e
    fn()  # warm up: jit compilation and tapegrad's compile happen here, not in timing
    return fn
