"""The pass pipeline: lowered graph -> optimised graph -> memory plan.

Passes live in :mod:`tapegrad.compiler.passes`, one module each, every one a pure
function ``Graph -> Graph``. The pipeline looks them up by name, so a pass that is not
available is skipped (and reported as skipped) rather than breaking compilation.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .ir import Graph, MemoryPlan
from .lint import lint

#: ``(stage name, module in compiler/passes, function names to try)``, in order.
PIPELINE: tuple = (
    ("dce", "dce", ("dce",)),
    ("cse", "cse", ("cse",)),
    ("fold", "fold", ("fold", "fold_constants", "constant_fold")),
    ("simplify", "simplify", ("simplify",)),
    ("dce", "dce", ("dce",)),
    ("fuse", "fuse", ("fuse_elementwise",)),
)

_found: dict = {}


def find_pass(module: str, names: Sequence[str]) -> Callable | None:
    """The pass function ``passes.<module>.<name>``, or None while it does not exist."""
    key = (module, tuple(names))
    if key in _found:
        return _found[key]
    try:
        mod = importlib.import_module(f"{__package__}.passes.{module}")
    except ImportError:
        return None
    for n in names:
        fn = getattr(mod, n, None)
        if callable(fn):
            _found[key] = fn
            return fn
    return None


class Stage(NamedTuple):
    """One step of the pipeline: the graph after it and what it cost."""

    name: str
    graph: Graph
    seconds: float
    skipped: bool = False


class Optimized(NamedTuple):
    """What the pipeline produced."""

    graph: Graph
    stages: tuple  # of Stage, starting with ("lowered", input graph)
    plan: MemoryPlan | None


def optimize(graph: Graph, *, passes: Sequence[str] | None = None, fuse: bool = True,
             check: bool = False) -> Optimized:
    """Run the passes over ``graph`` and plan its memory.

    Parameters
    ----------
    graph : Graph
        The lowered graph.
    passes : sequence of str, optional
        Stage names to run (default: all of :data:`PIPELINE`); ``()`` runs none.
    fuse : bool
        Run elementwise fusion (``fuse=False`` keeps one statement per primitive).
    check : bool
        :func:`lint` the graph after every pass (the tests turn this on).
    """
    if check:
        lint(graph)
    stages = [Stage("lowered", graph, 0.0)]
    for name, module, names in PIPELINE:
        if (passes is not None and name not in passes) or (name == "fuse" and not fuse):
            continue
        fn = find_pass(module, names)
        if fn is None:
            stages.append(Stage(name, graph, 0.0, skipped=True))
            continue
        t0 = time.perf_counter()
        new = fn(graph)
        dt = time.perf_counter() - t0
        if check:
            try:
                lint(new)
            except Exception as exc:
                raise type(exc)(f"after pass {name!r}: {exc}") from None
        graph = new
        stages.append(Stage(name, graph, dt))
    plan = None
    planner = find_pass("memory", ("plan_memory",))
    if planner is not None:
        plan = planner(graph)
    return Optimized(graph, tuple(stages), plan)


def describe_stages(stages: Sequence[Stage]) -> list[tuple[str, int, Any]]:
    """``(stage, equations after it, milliseconds or "skipped")`` rows for reports."""
    rows = []
    for s in stages:
        rows.append((s.name, len(s.graph.eqns), "skipped" if s.skipped
                     else round(s.seconds * 1e3, 3)))
    return rows
