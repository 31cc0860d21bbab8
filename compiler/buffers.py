"""Liveness and buffer reuse for generated programs.

:func:`last_uses` says where each value dies; :func:`choose_buffers` picks, for each
equation, a dead buffer its result may be written into with ``out=`` (validating the
memory plan's proposals, or choosing greedily without one); :func:`peak_bytes` is the
peak of live intermediate values when each is freed at its last use.
"""

from __future__ import annotations

import heapq
from typing import Any

from .ir import Graph, MemoryPlan, Var, numpy_dtype


def last_uses(graph: Graph) -> dict:
    """``{Var: index of the last equation reading it}`` (graph outputs never die)."""
    last: dict = {}
    for i, e in enumerate(graph.eqns):
        for a in e.inputs:
            if type(a) is Var:
                last[a] = i
    for a in graph.outputs:
        if type(a) is Var:
            last[a] = len(graph.eqns)
    return last


def choose_buffers(graph: Graph, plan: MemoryPlan | None, lowering: Any) -> dict:
    """``{eqn index: buffer Var}``: the equations that write into a dead buffer.

    Every value lives in an *allocation*: a fresh result starts one, a view (reshape,
    transpose, an alias) joins its input's. An allocation may be reused when the
    program made it (not an argument, not a 0-d scalar), no graph output lives in it,
    and every value in it is dead. The memory plan's proposals are taken when they
    pass these checks; without a plan, dead allocations of the right shape and dtype
    are reused greedily (the lowest-numbered first) from free lists keyed by shape
    and dtype, so the whole choice is linear in the number of equations.
    """
    eqns = graph.eqns
    n = len(eqns)
    last = last_uses(graph)
    root: dict = {}  # variable -> its allocation
    death: dict = {}  # allocation -> index of the last equation reading any value in it
    owned: set = set()
    handle: dict = {}  # allocation -> the variable whose name holds the whole buffer
    born: dict = {}  # variable -> index of the equation defining it
    for v in graph.inputs:
        root[v] = v
        born[v] = -1
        death[v] = last.get(v, -1)
    for i, e in enumerate(eqns):
        fresh = lowering.fresh(e)
        alone = fresh or not any(type(a) is Var for a in e.inputs)
        for v in e.outputs:
            born[v] = i
            if alone:
                root[v] = v
                death[v] = last.get(v, i)
                if fresh and v.shape:
                    owned.add(v)
                    handle[v] = v
            else:  # a view: it may alias every input's allocation
                rs = {root[a] for a in e.inputs if type(a) is Var}
                owned.difference_update(rs)
                r = rs.pop() if len(rs) == 1 else v
                root[v] = r
                death[r] = max(death.get(r, i), last.get(v, i))
    for a in graph.outputs:
        if type(a) is Var:
            owned.discard(root.get(a))
    # A value's own allocation (itself and its views) dies when ``death[value]`` says;
    # once the value is written into another buffer, that buffer lives at least as long.
    own_death = {v: death[v] for v in handle}
    hints = {} if plan is None else {**plan.reuse, **plan.inplace}
    greedy = plan is None
    free: dict = {}  # (shape, dtype) -> heap of (handle id, allocation) free to reuse
    ready: dict = {}  # equation index -> allocations that become free there

    def release(r: Any) -> None:
        at = max(death[r], born[handle[r]] + 1)
        if at < n:
            ready.setdefault(at, []).append(r)

    chosen: dict = {}
    for i, e in enumerate(eqns):
        for r in ready.pop(i, ()):
            b = handle[r]
            heapq.heappush(free.setdefault((b.shape, numpy_dtype(b.dtype)), []), (b.id, r))
        r = None
        if len(e.outputs) == 1 and e.outputs[0].shape and lowering.supports_out(e):
            out = e.outputs[0]
            want = (out.shape, numpy_dtype(out.dtype))
            if greedy:
                pool = free.get(want)
                r = heapq.heappop(pool)[1] if pool else None
            else:
                b = hints.get(i)
                r = root.get(b)
                if (b is None or r not in owned or handle.get(r) is not b or born[b] >= i
                        or (b.shape, numpy_dtype(b.dtype)) != want or death[r] > i):
                    r = None
        if r is not None:
            chosen[i] = handle[r]
            root[out] = r
            handle[r] = out
            death[r] = max(death[r], own_death.get(out, last.get(out, i)))
            if greedy:
                release(r)
        elif greedy:
            for v in e.outputs:
                if v in owned:
                    release(v)
    return chosen


def peak_bytes(graph: Graph) -> int:
    """Peak bytes of live intermediate values when each is freed at its last use."""
    last = last_uses(graph)
    live = peak = 0
    ending: dict[int, int] = {}
    for i, e in enumerate(graph.eqns):
        for v in e.outputs:
            live += v.nbytes
            j = last.get(v, i)
            ending[j] = ending.get(j, 0) + v.nbytes
        peak = max(peak, live)
        live -= ending.pop(i, 0)
    return peak
