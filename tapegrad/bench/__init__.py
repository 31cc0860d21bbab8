"""Benchmarks of tapegrad against hand-written NumPy, PyTorch, JAX and HIPS autograd.

:mod:`~tapegrad.bench.workloads` defines each problem once, :mod:`~tapegrad.bench.peers`
runs it in each system, :mod:`~tapegrad.bench.runner` times it. ``python -m tapegrad
bench`` and the asv suite in ``asv_bench/`` both use these modules.
"""

from . import dask_bench  # noqa: F401  (registers the data-parallel variants)
