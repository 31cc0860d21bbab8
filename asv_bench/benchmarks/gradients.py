"""Time per gradient: tapegrad eager, tape and compiled against the peers."""

from __future__ import annotations

from .common import ALL_VARIANTS, GRADIENT_WORKLOADS, prepare


class Gradient:
    """One gradient (forward + backward) of each workload, in each system."""

    params = (GRADIENT_WORKLOADS, ALL_VARIANTS)
    param_names = ["workload", "variant"]
    timeout = 300

    def setup(self, workload, variant):
        self.fn = prepare(workload, variant)

    def time_gradient(self, workload, variant):
        self.fn()


class OpForward:
    """Per-operation eager overhead: one recorded multiply on 4-element tensors."""

    params = ALL_VARIANTS
    param_names = ["variant"]

    def setup(self, variant):
        self.fn = prepare("op_forward", variant)

    def time_forward(self, variant):
        self.fn()


class OpBackward:
    """One multiply of 0-d tensors, recorded and differentiated."""

    params = ALL_VARIANTS
    param_names = ["variant"]

    def setup(self, variant):
        self.fn = prepare("op_backward", variant)

    def time_forward_backward(self, variant):
        self.fn()


class TapeScaling:
    """Record + backward of a 1e4-op and a 1e5-op tape: the cost must grow linearly."""

    params = (["tape_1e4", "tape_1e5"], ["eager", "tape", "compiled", "numpy", "torch"])
    param_names = ["length", "variant"]
    timeout = 600
    number = 1
    repeat = (3, 5, 60.0)

    def setup(self, length, variant):
        self.fn = prepare(length, variant)

    def time_record_backward(self, length, variant):
        self.fn()
