"""Counts, not times: tape length, and the compiler's own statistics.

``track_`` benchmarks record a number per commit, so a pass that stops firing (more
equations after the passes, fewer fused groups, a larger planned peak) shows up in the
asv history even when timings are too noisy to tell.
"""

from __future__ import annotations

import tapegrad as tg
from tapegrad.bench.peers import compiler_status
from tapegrad.bench.workloads import WORKLOADS

from .common import GRADIENT_WORKLOADS, QUICK


class TapeRecords:
    """Operations recorded on the tape for one forward pass."""

    params = GRADIENT_WORKLOADS
    param_names = ["workload"]

    def track_records(self, workload):
        w = WORKLOADS[workload]
        args = list(w.make_inputs(QUICK))
        for i in w.argnums:
            args[i] = tg.tensor(args[i], requires_grad=True)
        with tg.tape() as t:
            w.function(tg, QUICK)(*args)
        return len(t)

    track_records.unit = "records"


def _stat(stats: dict, stat: str):
    """One number out of ``CompiledFunction.stats()``."""
    if stat == "equations_before":
        return stats["eqns"][0][1]  # [(stage, equations, ms), ...]: as lowered
    if stat == "equations_after":
        return stats["eqns"][-1][1]  # after the last pass
    return stats[stat]


class CompilerStats:
    """What the passes did to each workload's joint forward + backward graph."""

    params = (GRADIENT_WORKLOADS, ["equations_before", "equations_after", "fused_groups",
                                   "planned_peak_bytes"])
    param_names = ["workload", "stat"]
    timeout = 300

    def setup(self, workload, stat):
        reason = compiler_status()
        if reason is not None:
            raise NotImplementedError(reason)
        w = WORKLOADS[workload]
        fn = tg.compile(tg.grad(w.function(tg, QUICK), argnums=w.argnums))
        fn(*w.make_inputs(QUICK))
        try:
            self.value = _stat(fn.stats(), stat)
        except (AttributeError, KeyError, IndexError) as e:
            raise NotImplementedError(f"the compiler reports no {stat!r}") from e

    def track_stat(self, workload, stat):
        return self.value
