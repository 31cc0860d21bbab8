"""First-call latency: trace + compile + one run, each sample in a fresh interpreter."""

from __future__ import annotations

import importlib.util

from tapegrad.bench.peers import compiler_status
from tapegrad.bench.workloads import WORKLOADS

from .common import QUICK


class FirstCall:
    """``tg.compile(tg.grad(f))`` and ``jax.jit(jax.grad(f))``, called once."""

    params = (["seed", "logreg", "chain100", "mlp_b128", "attention", "tape_1e4", "tape_1e5"],
              ["compiled", "jax_jit"])
    param_names = ["workload", "variant"]
    timeout = 600
    repeat = 3

    def setup(self, workload, variant):
        w = WORKLOADS[workload]
        if w.variants is not None and variant not in w.variants:
            raise NotImplementedError(f"{variant} is not run on {workload}")
        if variant == "compiled" and compiler_status() is not None:
            raise NotImplementedError(compiler_status())
        if variant == "jax_jit" and importlib.util.find_spec("jax") is None:
            raise NotImplementedError("jax is not installed")

    def timeraw_first_call(self, workload, variant):
        if variant == "compiled":
            imports = "import tapegrad.compiler"
        else:
            imports = "from tapegrad.bench.peers import jax_ops; jax_ops()"
        # Imports and inputs are set up outside the timed statement.
        setup = f"""
from tapegrad.bench.peers import build
from tapegrad.bench.workloads import WORKLOADS
{imports}
w = WORKLOADS[{workload!r}]
args = w.make_inputs({QUICK})
"""
        return f"build(w, {variant!r}, {QUICK}, args)()", setup
