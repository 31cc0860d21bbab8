"""asv benchmarks for tapegrad; the workloads themselves live in ``tapegrad.bench``."""
