"""tapegrad.compiler: from a recorded tape to an optimised, cached backward program.

The pipeline, one module per step::

    trace.py        run the function on traced tensors: a Wengert list of nodes
    lower.py        nodes -> IR Graph (ir.py); the backward pass is already in it
    pipeline.py     the passes (passes/): dce, cse, fold, simplify, fuse, memory
    codegen.py      Graph -> straight-line Python (numpy_lowering.py for NumPy)
    cache.py        signatures, bounded LRU, guards, recompile reasons
    api.py          tg.compile / tape.compile: CompiledFunction
    interpreter.py  eval_graph, the reference semantics; lint.py, the invariants
"""

from .api import CompiledFunction, compile, compile_tape
from .interpreter import eval_graph
from .ir import Eqn, FusedKernel, Graph, Lit, MemoryPlan, Var
from .lint import LintError, lint
from .verify import VerificationError

__all__ = ["CompiledFunction", "Eqn", "FusedKernel", "Graph", "LintError", "Lit",
           "MemoryPlan", "Var", "VerificationError", "compile", "compile_tape",
           "eval_graph", "lint"]
