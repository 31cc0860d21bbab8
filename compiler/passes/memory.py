"""The memory plan: which names are deleted where, which results go into which buffer.

:func:`plan_memory` is the one place these are decided; code generation emits exactly
what the plan says and :func:`~tapegrad.compiler.lint.check_plan` checks it. What an
equation can do (allocate, return a view, write into ``out=``) comes from
:class:`~tapegrad.compiler.buffers.MemoryFacts`: the lowering's own answers when one is
given, the primitives' declarations otherwise.

- ``frees[i]``: names deleted right after equation ``i``. A value is deleted after its
  last reader (or right after it is made, if nothing reads it). Graph inputs and outputs
  are never deleted. A buffer handed to a later equation through ``reuse`` is deleted
  after that equation instead (its memory lives on under the new name).
- ``reuse[i] = d``: equation ``i`` writes its single output into ``d``'s buffer with
  ``out=d``. ``d`` is dead (no reader of ``d`` or of any view of its memory remains),
  has the output's shape and dtype, and was made by a fresh equation; equation ``i``
  takes ``out=`` and its result is fresh. A buffer is held for reuse only while that
  does not raise the peak above what freeing alone gives; of those, the most recently
  dead is taken.
- ``inplace[i] = x``: equation ``i`` (an elementwise primitive taking ``out=``)
  overwrites its input ``x``, whose last reader it is; no other input of ``i`` may share
  ``x``'s memory.

Views matter: a value that is not fresh may point into its inputs' memory, so a buffer
is dead only when every value that may point into it is dead, and such a value (or a
graph input, or a literal) is never written into.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..buffers import MemoryFacts, storages
from ..ir import Eqn, Graph, MemoryPlan, Var, numpy_dtype

_NEVER = math.inf


def _last_uses(graph: Graph) -> dict:
    last: dict[Var, float] = {}
    for i, e in enumerate(graph.eqns):
        for o in e.outputs:
            last.setdefault(o, i)
        for a in e.inputs:
            if isinstance(a, Var):
                last[a] = i
    for a in graph.outputs:
        if isinstance(a, Var):
            last[a] = _NEVER
    return last


class _Bytes(dict):
    """``{value: bytes}``, computed once per value."""

    def __missing__(self, v: Var) -> int:
        n = self[v] = math.prod(v.shape) * numpy_dtype(v.dtype).itemsize
        return n


def _simulate(graph: Graph, facts: MemoryFacts, frees: tuple | None, writes: dict,
              nbytes: dict | None = None) -> list[int]:
    """Bytes of live intermediate buffers during each equation (outputs made, before
    the frees after it). ``writes`` is ``{eqn index: buffer written into}``. Views own
    nothing; graph inputs are not counted."""
    nbytes = _Bytes() if nbytes is None else nbytes
    owner: dict[Var, int] = {}  # name -> buffer id
    size: dict[int, int] = {}
    refs: dict[int, int] = {}
    live = 0
    profile = []
    for i, e in enumerate(graph.eqns):
        view = facts.view(e)
        for o in e.outputs:
            target = writes.get(i)
            if target is not None:
                buf = owner[target]
            elif view and e.inputs[0] in owner:
                buf = owner[e.inputs[0]]
            elif view:
                buf = None  # a view of an input or a literal
            else:
                buf = id(o)
                size[buf], refs[buf] = nbytes[o], 0
                live += size[buf]
            if buf is not None:
                owner[o] = buf
                refs[buf] += 1
        profile.append(live)
        for v in frees[i] if frees is not None else ():
            buf = owner.pop(v, None)
            if buf is not None:
                refs[buf] -= 1
                if refs[buf] == 0:
                    live -= size[buf]
    return profile


def unplanned_peak_bytes(graph: Graph, lowering: Any = None) -> int:
    """Peak bytes when every intermediate value lives until the end (nothing freed)."""
    return max(_simulate(graph, MemoryFacts(lowering), None, {}), default=0)


def keep_all(graph: Graph, lowering: Any = None) -> MemoryPlan:
    """The plan that frees nothing and writes into no buffer (every value stays named,
    for programs that return their ``locals()``)."""
    return MemoryPlan(frees=((),) * len(graph.eqns), reuse={}, inplace={},
                      peak_bytes=unplanned_peak_bytes(graph, lowering), lowering=lowering)


def plan_memory(graph: Graph, lowering: Any = None, *, into_out: bool = False
                ) -> MemoryPlan:
    """Plan frees, buffer reuse and in-place updates for a graph's equations.

    Parameters
    ----------
    graph : Graph
        The program (usually after fusion, and after the lowering's ``prepare``).
    lowering : object, optional
        What the generated code can do (``fresh(eqn)``, ``supports_out(eqn)``); None
        plans from the primitives' declared facts (see :mod:`..buffers`).
    into_out : bool
        The last equation writes into a buffer its caller passes (a fused helper's
        ``out``): no buffer is chosen for it.

    Returns
    -------
    MemoryPlan
        ``frees``, ``reuse``, ``inplace`` and the planned ``peak_bytes``; see the module
        docstring for exactly what each promises. Compare ``peak_bytes`` with
        :func:`unplanned_peak_bytes` to see what planning saves.
    """
    facts = MemoryFacts(lowering)
    eqns = graph.eqns
    last = _last_uses(graph)
    store, owned = storages(graph, facts)
    death: dict[Var, float] = {}  # buffer -> last equation any view of it is read
    for v, bufs in store.items():
        for b in bufs:
            death[b] = max(death.get(b, -1), last.get(v, -1))
    protected = set(graph.inputs) | {a for a in graph.outputs if isinstance(a, Var)}

    free_at: dict[Var, int] = {v: int(last[v]) for v in last
                               if v not in protected and last[v] != _NEVER}
    frees = _frees(graph, free_at)
    nbytes = _Bytes()
    profile = _simulate(graph, facts, frees, {}, nbytes)
    target_peak = max(profile, default=0)

    reuse: dict[int, Var] = {}
    inplace: dict[int, Var] = {}
    pool: dict[tuple, list] = {}  # (shape, dtype) -> dead buffers, oldest first
    dying: dict[int, list] = {}  # equation index -> buffers whose last reader it is
    for b in owned:
        if death.get(b, _NEVER) != _NEVER and b.shape != () and b not in protected:
            dying.setdefault(int(death[b]), []).append(b)
    last_eqn = len(eqns) - 1 if into_out else -1
    for i, e in enumerate(eqns):
        o = e.outputs[0] if e.outputs else None
        if o is not None and o in owned and i != last_eqn and facts.takes_out(e):
            key = (tuple(o.shape), np.dtype(o.dtype))
            x = _inplace_candidate(e, i, o, facts, store, owned, death, protected)
            if x is not None:
                inplace[i] = x
                profile[i] -= nbytes[o]
                dying[i].remove(x)
            else:
                d = _take(pool.get(key, []), i, nbytes[o], death, profile, target_peak)
                if d is not None:
                    reuse[i] = d
                    free_at[d] = i
        for b in dying.get(i, ()):
            pool.setdefault((tuple(b.shape), np.dtype(b.dtype)), []).append(b)
    frees = _frees(graph, free_at)
    peak = max(_simulate(graph, facts, frees, {**reuse, **inplace}, nbytes), default=0)
    return MemoryPlan(frees=frees, reuse=reuse, inplace=inplace, peak_bytes=int(peak),
                      lowering=lowering)


def _frees(graph: Graph, free_at: dict) -> tuple:
    """``free_at`` (``{value: eqn index}``) as ``frees``: per equation, in the order
    the values were defined."""
    out: list[list] = [[] for _ in graph.eqns]
    for e in graph.eqns:
        for v in e.outputs:
            at = free_at.get(v)
            if at is not None:
                out[at].append(v)
    return tuple(tuple(f) for f in out)


def _inplace_candidate(e: Eqn, i: int, o: Var, facts, store, owned, death, protected):
    """An input that ``e`` may overwrite: an input of the output's shape and dtype that
    owns its buffer, which dies here and is not shared with another input."""
    if not facts.in_place(e):
        return None
    for x in e.inputs:
        if not (isinstance(x, Var) and x in owned and x not in protected
                and store[x] == frozenset({x}) and death.get(x) == i
                and x.shape == o.shape and np.dtype(x.dtype) == np.dtype(o.dtype)):
            continue
        others = [a for a in e.inputs if isinstance(a, Var) and a is not x]
        if all(x not in store.get(a, ()) for a in others):
            return x
    return None


def _take(candidates: list, i: int, nbytes: int, death, profile, target_peak):
    """The most recently dead buffer whose holding until ``i`` keeps the peak."""
    for k in range(len(candidates) - 1, -1, -1):
        d = candidates[k]
        held = range(int(death[d]) + 1, i)
        if all(profile[t] + nbytes <= target_peak for t in held):
            for t in held:
                profile[t] += nbytes
            del candidates[k]
            return d
    return None
