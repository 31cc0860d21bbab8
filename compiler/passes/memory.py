"""Memory planning: liveness, frees at last use, buffer reuse through ``out=``.

The plan is an analysis, not a rewrite: code generation reads it.

- ``frees[i]``: names deleted right after equation ``i``. A value is deleted after its
  last reader (or right after it is made, if nothing reads it). Graph inputs and outputs
  are never deleted. A buffer handed to a later equation through ``reuse`` is deleted
  after that equation instead (its memory lives on under the new name).
- ``reuse[i] = d``: equation ``i`` writes its single output into ``d``'s buffer with
  ``out=d``. ``d`` is dead (no reader of ``d`` or of any view of its memory remains),
  has the output's shape and dtype, and was made by an equation that allocates a fresh
  array. Only primitives that take ``out=`` qualify: a NumPy ufunc (``xp_name``),
  ``matmul``, and fused kernels. A buffer is held for reuse only while that does not
  raise the peak above what freeing alone gives.
- ``inplace[i] = x``: equation ``i`` (an elementwise ufunc) overwrites its input ``x``,
  whose last reader it is; no other input of ``i`` may share ``x``'s memory.

Views matter: primitives declared ``aliasing="view"`` (``reshape``, ``transpose``,
``broadcast_to``, ``getitem``, ``sum_to``, ``identity``) may return a view of their
input, so a buffer is dead only when every view of it is dead, and a view (or a graph
input, or a literal) is never written into. Primitives declared ``"fresh"`` (and NumPy
ufuncs) allocate; any other may alias its inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapegrad.primitive import registry

from ..ir import Eqn, FusedKernel, Graph, MemoryPlan, Var

_NEVER = math.inf


def _ufunc(prim: Any) -> bool:
    name = getattr(prim, "xp_name", None)
    return (registry.get(getattr(prim, "name", None)) is prim and name is not None
            and isinstance(getattr(np, name, None), np.ufunc))


def allocates(e: Eqn) -> bool:
    """Whether the equation's outputs are new arrays that share no memory (the
    primitive's ``aliasing`` is ``"fresh"``; a fused kernel's outputs are made by such
    equations of its body)."""
    if isinstance(e.prim, FusedKernel):
        made = {o for b in e.prim.body.eqns if allocates(b) for o in b.outputs}
        return all(o in made for o in e.prim.body.outputs)
    return getattr(e.prim, "aliasing", None) == "fresh"


def takes_out(e: Eqn) -> bool:
    """Whether the equation can write its single output into a given buffer."""
    return len(e.outputs) == 1 and (isinstance(e.prim, FusedKernel) or _ufunc(e.prim))


def _is_view(e: Eqn) -> bool:
    return getattr(e.prim, "aliasing", None) == "view"


def _storages(graph: Graph) -> tuple[dict, set]:
    """``{value: buffers it may point into}`` (a buffer is named by the value that made
    it) and the set of buffers that may be written into (fresh, not an input)."""
    store: dict[Var, frozenset] = {v: frozenset() for v in graph.inputs}
    owned: set[Var] = set()
    for e in graph.eqns:
        ins = frozenset().union(*(store.get(a, frozenset()) for a in e.inputs
                                  if isinstance(a, Var)))
        for o in e.outputs:
            if allocates(e):
                store[o] = frozenset({o})
                owned.add(o)
            elif _is_view(e):
                a = e.inputs[0]
                store[o] = store.get(a, frozenset()) if isinstance(a, Var) else frozenset()
            else:  # unknown: may be a view of any input; never written into
                store[o] = frozenset({o}) | ins
    for v in graph.inputs:
        store[v] = frozenset()
    return store, owned


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


def _simulate(graph: Graph, frees: tuple | None, reuse: dict, inplace: dict) -> list[int]:
    """Bytes of live intermediate buffers during each equation (outputs made, before
    the frees after it). Views own nothing; graph inputs are not counted."""
    owner: dict[Var, int] = {}  # name -> buffer id
    size: dict[int, int] = {}
    refs: dict[int, int] = {}
    live = 0
    profile = []
    for i, e in enumerate(graph.eqns):
        for o in e.outputs:
            target = reuse.get(i, inplace.get(i))
            if target is not None:
                buf = owner[target]
            elif _is_view(e) and e.inputs[0] in owner:
                buf = owner[e.inputs[0]]
            elif _is_view(e):
                buf = None  # a view of an input or a literal
            else:
                buf = id(o)
                size[buf], refs[buf] = o.nbytes, 0
                live += o.nbytes
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


def unplanned_peak_bytes(graph: Graph) -> int:
    """Peak bytes when every intermediate value lives until the end (nothing freed)."""
    return max(_simulate(graph, None, {}, {}), default=0)


def plan_memory(graph: Graph) -> MemoryPlan:
    """Plan frees, buffer reuse and in-place updates for a graph's equations.

    Parameters
    ----------
    graph : Graph
        The program (usually after fusion).

    Returns
    -------
    MemoryPlan
        ``frees``, ``reuse``, ``inplace`` and the planned ``peak_bytes``; see the module
        docstring for exactly what each promises. Compare ``peak_bytes`` with
        :func:`unplanned_peak_bytes` to see what planning saves.
    """
    eqns = graph.eqns
    last = _last_uses(graph)
    store, owned = _storages(graph)
    death: dict[Var, float] = {}  # buffer -> last equation any view of it is read
    for v, bufs in store.items():
        for b in bufs:
            death[b] = max(death.get(b, -1), last.get(v, -1))
    protected = set(graph.inputs) | {a for a in graph.outputs if isinstance(a, Var)}

    free_at: dict[Var, int] = {v: int(last[v]) for v in last
                               if v not in protected and last[v] != _NEVER}
    frees = _frees(len(eqns), free_at)
    profile = _simulate(graph, frees, {}, {})
    target_peak = max(profile, default=0)

    reuse: dict[int, Var] = {}
    inplace: dict[int, Var] = {}
    pool: dict[tuple, list] = {}  # (shape, dtype) -> dead buffers, oldest first
    dying: dict[int, list] = {}  # equation index -> buffers whose last reader it is
    for b in owned:
        if death.get(b, _NEVER) != _NEVER and b.shape != () and b not in protected:
            dying.setdefault(int(death[b]), []).append(b)
    for i, e in enumerate(eqns):
        o = e.outputs[0] if e.outputs else None
        if o is not None and o in owned and takes_out(e) and o.shape != ():
            key = (tuple(o.shape), np.dtype(o.dtype))
            x = _inplace_candidate(e, i, o, store, owned, death, protected)
            if x is not None:
                inplace[i] = x
                profile[i] -= o.nbytes
                dying[i].remove(x)
            else:
                d = _take(pool.get(key, []), i, o.nbytes, death, profile, target_peak)
                if d is not None:
                    reuse[i] = d
                    free_at[d] = i
        for b in dying.get(i, ()):
            pool.setdefault((tuple(b.shape), np.dtype(b.dtype)), []).append(b)
    frees = _frees(len(eqns), free_at)
    peak = max(_simulate(graph, frees, reuse, inplace), default=0)
    return MemoryPlan(frees=frees, reuse=reuse, inplace=inplace, peak_bytes=int(peak))


def _frees(n: int, free_at: dict) -> tuple:
    out: list[list] = [[] for _ in range(n)]
    for v, i in sorted(free_at.items(), key=lambda kv: kv[0].id):
        out[i].append(v)
    return tuple(tuple(f) for f in out)


def _inplace_candidate(e: Eqn, i: int, o: Var, store, owned, death, protected):
    """An input that ``e`` may overwrite: an elementwise ufunc's input of the output's
    shape and dtype, whose buffer dies here and is not shared with another input."""
    if isinstance(e.prim, FusedKernel) or not e.prim.elementwise:
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
