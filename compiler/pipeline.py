"""The pipeline: trace -> lower -> passes, in one place (code generation plans memory).

:data:`PIPELINE` is the one list of passes the compiler runs, each a pure function
``Graph -> Graph`` (one module each in :mod:`tapegrad.compiler.passes`). Folding and
simplification leave the equations they replaced without readers, so ``dce`` runs
again after them (a second ``cse`` there found nothing in the models and cost 6 % of
compile time on long tapes); fusion comes last,
because it hides elementwise equations inside kernels. :func:`build` runs the whole
front of the compiler for one call; ``tg.compile``, ``export`` and ``tg.viz.program``
all build through it, so they show and run the same program.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .ir import Graph
from .lint import lint
from .lower import Lowered, lower
from .passes.cse import cse
from .passes.dce import dce
from .passes.fold import fold_constants
from .passes.fuse import fuse_elementwise
from .passes.simplify import simplify
from .trace import Trace, trace

#: ``(stage name, pass)``, in the order they run.
PIPELINE: tuple[tuple[str, Callable[[Graph], Graph]], ...] = (
    ("dce", dce),
    ("cse", cse),
    ("fold", fold_constants),
    ("simplify", simplify),
    ("dce", dce),
    ("fuse", fuse_elementwise),
)


class Stage(NamedTuple):
    """One step of the pipeline: the graph after it and what it cost."""

    name: str
    graph: Graph
    seconds: float


class Optimized(NamedTuple):
    """What the pipeline produced."""

    graph: Graph
    stages: tuple  # of Stage, starting with ("lowered", input graph)


def optimize(graph: Graph, *, passes: Sequence[str] | None = None, fuse: bool = True,
             check: bool = False) -> Optimized:
    """Run the passes over ``graph``.

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
    for name, fn in PIPELINE:
        if (passes is not None and name not in passes) or (name == "fuse" and not fuse):
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
    return Optimized(graph, tuple(stages))


class Built(NamedTuple):
    """One call through the front of the compiler (see :func:`build`)."""

    trace: Trace
    lowered: Lowered
    optimized: Optimized
    times: dict  # seconds per step: trace, lower, passes


def build(fn: Callable, args: tuple, kwargs: dict | None = None, *,
          static_argnums: Sequence[int] = (), options: dict | None = None) -> Built:
    """Trace ``fn`` on ``args``, lower the trace and run the pipeline over it.

    Parameters
    ----------
    fn : callable
        The function being compiled.
    args, kwargs
        One call's arguments.
    static_argnums : sequence of int
        Positions passed through unchanged (not traced).
    options : dict, optional
        ``tg.compile``'s options: ``passes``, ``fuse``, ``check``.
    """
    opts = options or {}
    t0 = time.perf_counter()
    tr = trace(fn, args, kwargs, static_argnums)
    t1 = time.perf_counter()
    low = lower(tr)
    t2 = time.perf_counter()
    opt = optimize(low.graph, passes=opts.get("passes"), fuse=opts.get("fuse", True),
                   check=opts.get("check", False))
    t3 = time.perf_counter()
    return Built(tr, low, opt, {"trace": t1 - t0, "lower": t2 - t1, "passes": t3 - t2})


def describe_stages(stages: Sequence[Stage]) -> list[tuple[str, int, Any]]:
    """``(stage, equations after it, milliseconds)`` rows for reports."""
    return [(s.name, len(s.graph.eqns), round(s.seconds * 1e3, 3)) for s in stages]
