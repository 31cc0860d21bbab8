"""Peak memory of one gradient: asv's process peak and tracemalloc's traced peak."""

from __future__ import annotations

from tapegrad.bench.runner import traced_peak_bytes

from .common import GRADIENT_WORKLOADS, NUMPY_VARIANTS, prepare


class PeakMemory:
    """Compiled programs must never need more memory than eager mode."""

    params = (GRADIENT_WORKLOADS + ["tape_1e4"], NUMPY_VARIANTS)
    param_names = ["workload", "variant"]
    timeout = 300

    def setup(self, workload, variant):
        self.fn = prepare(workload, variant)

    def peakmem_gradient(self, workload, variant):
        # The process's maximum resident size (includes the interpreter and imports).
        self.fn()

    def track_traced_peak_bytes(self, workload, variant):
        # Only what one call allocates, as NumPy reports it to tracemalloc.
        return traced_peak_bytes(self.fn)

    track_traced_peak_bytes.unit = "bytes"
