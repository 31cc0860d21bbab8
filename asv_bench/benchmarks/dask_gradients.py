"""Data-parallel gradients: tapegrad.dask on 1 and 2 worker processes against one process
and dask-glm, the overhead of a call on small data, and the out-of-core peak memory.

Needs the ``dask`` extra (and dask-glm, zarr for their rows); missing pieces skip.
"""

from __future__ import annotations

import importlib.util

from .common import QUICK, prepare

VARIANTS = ["numpy", "compiled", "dask_1w", "dask_2w", "dask_glm"]


class DaskGradient:
    """Time per gradient of a chunked logistic regression (8 chunks of 31 250 x 32)."""

    params = (["logreg_dask"], VARIANTS)
    param_names = ["workload", "variant"]
    timeout = 600

    def setup(self, workload, variant):
        self.fn = prepare(workload, variant)

    def time_gradient(self, workload, variant):
        self.fn()


class DaskOverhead:
    """Per-call overhead: the same on 1000 x 8 samples in two chunks."""

    params = (["logreg_dask_small"], VARIANTS)
    param_names = ["workload", "variant"]
    timeout = 300

    def setup(self, workload, variant):
        self.fn = prepare(workload, variant)

    def time_gradient(self, workload, variant):
        self.fn()


class DaskOutOfCore:
    """One gradient over a Zarr array larger than the workers' memory (1.1 GiB on disk,
    two workers with 512 MiB each): the largest worker's peak resident memory."""

    timeout = 1200
    number = 1
    repeat = 1

    def setup_cache(self):
        for module in ("dask", "distributed", "zarr"):
            if importlib.util.find_spec(module) is None:
                return {"skip": f"{module} is not installed"}
        from tapegrad.bench.dask_bench import out_of_core

        return out_of_core(rows=20_000 if QUICK else 3_000_000)

    def setup(self, result):
        if "skip" in result:
            raise NotImplementedError(result["skip"])

    def track_peak_worker_bytes(self, result):
        return result["peak_rss"]

    track_peak_worker_bytes.unit = "bytes"

    def track_peak_worker_increase_bytes(self, result):
        return result["peak_rss"] - result["baseline_rss"]

    track_peak_worker_increase_bytes.unit = "bytes"

    def track_data_bytes(self, result):
        return result["data_bytes"]

    track_data_bytes.unit = "bytes"

    def track_seconds(self, result):
        return result["seconds"]

    track_seconds.unit = "seconds"
