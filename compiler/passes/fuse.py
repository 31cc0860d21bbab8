"""Elementwise fusion: groups of elementwise equations become one fused-kernel equation.

Going front to back, an elementwise equation joins the groups of the elementwise
equations that produce its inputs, when they all compute values of the same shape (the
kernel's iteration shape; inputs from outside may broadcast) and the merged group stays
acyclic: no path leaves the group and comes back into it, through outside equations or
through other groups (each runs as one equation), which would make a fused equation
depend on itself.

A group of two or more equations becomes one :class:`~tapegrad.compiler.ir.FusedKernel`
equation. Its body is a closed graph over fresh variables: the group's external inputs
are its inputs, literals stay inline, and the values that are read outside the group
(or are graph outputs) are its outputs, so intermediates read only inside the group are
never materialised. ``kernel.meta["shape"]`` is the iteration shape. The fused equation
goes where its last member was, unless an outside reader of an earlier member must come
after it (a stable topological order keeps the rest in place).
"""

from __future__ import annotations

import heapq

from tapegrad.primitive import registry

from ..ir import Eqn, FusedKernel, Graph, Var

MAX_NAME_OPS = 5  # kernel names spell out this many primitives, then count the rest


def _fusible(e: Eqn) -> bool:
    prim = e.prim
    return (getattr(prim, "elementwise", False) and registry.get(prim.name) is prim
            and not prim.multiple_results and len(e.outputs) == 1)


def kernel_name(eqns: list) -> str:
    """A readable kernel name from its primitives: ``fused_tanh_mul_sub``."""
    names = [e.prim.short for e in eqns]
    if len(names) > MAX_NAME_OPS:
        names = names[:MAX_NAME_OPS - 1] + [f"plus{len(names) - MAX_NAME_OPS + 1}"]
    return "fused_" + "_".join(names)


def _groups(eqns: tuple) -> list[list[int]]:
    """Equation indices of each fusion group (contracting them keeps the DAG acyclic).

    Groups are merged by size (the smaller one is relabelled) and each keeps its lowest
    and highest member, so growing one long group costs time linear in its length.
    """
    producer = {o: i for i, e in enumerate(eqns) for o in e.outputs}

    def producers(i: int) -> set:
        return {producer[a] for a in eqns[i].inputs if isinstance(a, Var) and a in producer}

    group_of: dict[int, int] = {}  # eqn index -> group id
    members: dict[int, list] = {}
    outside: dict[int, set] = {}  # producers of the group's inputs outside the group
    span: dict[int, tuple] = {}  # group id -> (lowest, highest member)
    multi: set = set()  # groups of two or more equations

    def acyclic(merging: set, ext: set, low: int) -> bool:
        """Whether the groups ``merging`` as one equation keep the program acyclic: no
        path leads from it back into it, through outside equations or other groups (a
        group runs as a whole, so reading one member waits for all of its inputs)."""
        # Values made before ``floor`` depend on nothing at or after ``low``, not even
        # through a group that straddles ``low``: no need to look behind them.
        floor = min([low] + [span[g][0] for g in multi
                             if span[g][1] >= low and g not in merging])
        stack, seen, seen_groups = list(ext), set(), set()
        while stack:
            p = stack.pop()
            g = group_of.get(p)
            if g in merging:
                return False
            if p in seen:
                continue
            seen.add(p)
            if g in multi:
                if g not in seen_groups:
                    seen_groups.add(g)
                    stack.extend(outside[g])
            elif p >= floor:
                stack.extend(producers(p))
        return True

    for i, e in enumerate(eqns):
        if not _fusible(e):
            continue
        shape = tuple(e.outputs[0].shape)
        merging, ext, low = {i}, producers(i), i
        for p in sorted(ext):
            g = group_of.get(p)
            if g is None or g in merging or tuple(eqns[p].outputs[0].shape) != shape:
                continue
            m_ext = {q for q in ext | outside[g] if group_of.get(q) not in merging
                     and group_of.get(q) != g}
            m_low = min(low, span[g][0])
            if acyclic(merging | {g}, m_ext, m_low):
                merging.add(g)
                ext, low = m_ext, m_low
        merging.discard(i)
        if not merging:
            group_of[i], members[i], outside[i], span[i] = i, [i], ext, (i, i)
            continue
        big = max(merging, key=lambda g: (len(members[g]), g))
        for g in merging - {big}:
            for j in members[g]:
                group_of[j] = big
            members[big] += members.pop(g)
            del outside[g], span[g]
            multi.discard(g)
        members[big].append(i)
        group_of[i] = big
        outside[big], span[big] = ext, (low, i)
        multi.add(big)
    # In the order the groups were last extended (stable kernel numbering).
    groups = sorted((span[g][1], g) for g in multi)
    return [sorted(members[g]) for _, g in groups]


def _kernel_eqn(eqns: tuple, idx: list, read_outside: set) -> Eqn | None:
    """The fused equation of a group, or None if nothing of it is read outside."""
    group = [eqns[i] for i in idx]
    made = {o: None for e in group for o in e.outputs}  # ordered: stable numbering
    outs = [o for e in group for o in e.outputs if o in read_outside]
    if not outs:
        return None
    ext: dict[Var, None] = {}  # ordered set: the kernel's inputs in first-use order
    for e in group:
        for a in e.inputs:
            if isinstance(a, Var) and a not in made:
                ext[a] = None
    fresh = {v: Var(v.shape, v.dtype) for v in (*ext, *made)}
    body_eqns = tuple(
        Eqn(e.prim, tuple(fresh.get(a, a) if isinstance(a, Var) else a for a in e.inputs),
            dict(e.params), tuple(fresh[o] for o in e.outputs))
        for e in group)
    body = Graph(tuple(fresh[v] for v in ext), body_eqns, tuple(fresh[o] for o in outs))
    kernel = FusedKernel(body=body, name=kernel_name(group),
                         multiple_results=len(outs) > 1,
                         meta={"shape": tuple(group[0].outputs[0].shape)})
    return Eqn(kernel, tuple(ext), {}, tuple(outs))


def fuse_elementwise(graph: Graph) -> Graph:
    """Fuse maximal groups of same-shape elementwise equations (without cycles).

    Parameters
    ----------
    graph : Graph
        The program; it is not modified.

    Returns
    -------
    Graph
        The program where each group of two or more elementwise equations is one
        equation whose primitive is a :class:`~tapegrad.compiler.ir.FusedKernel`.
        Single elementwise equations stay as they are.
    """
    eqns = graph.eqns
    groups = _groups(eqns)
    if not groups:
        return graph
    member_of = {i: k for k, g in enumerate(groups) for i in g}
    readers: dict[Var, set] = {}
    for i, e in enumerate(eqns):
        for a in e.inputs:
            if isinstance(a, Var):
                readers.setdefault(a, set()).add(member_of.get(i, ("eqn", i)))
    graph_outs = {a for a in graph.outputs if isinstance(a, Var)}

    # Nodes of the new program: fused groups and the equations left alone, each with
    # the position of its last member (the order they keep when dependencies allow).
    nodes: list[tuple[int, Eqn]] = []
    for k, g in enumerate(groups):
        read_outside = {o for i in g for o in eqns[i].outputs
                        if o in graph_outs or readers.get(o, set()) - {k}}
        fused = _kernel_eqn(eqns, g, read_outside)
        if fused is None:
            continue
        nodes.append((g[-1], fused))
    nodes += [(i, e) for i, e in enumerate(eqns) if i not in member_of]
    return Graph(graph.inputs, _stable_toposort(nodes), graph.outputs)


def _stable_toposort(nodes: list[tuple[int, Eqn]]) -> tuple:
    """Equations in dependency order, otherwise by their position (Kahn, min-heap)."""
    producer = {o: n for n, (_, e) in enumerate(nodes) for o in e.outputs}
    waiting = [0] * len(nodes)
    users: list[list[int]] = [[] for _ in nodes]
    for n, (_, e) in enumerate(nodes):
        deps = {producer[a] for a in e.inputs if isinstance(a, Var) and a in producer}
        waiting[n] = len(deps)
        for d in deps:
            users[d].append(n)
    ready = [(pos, n) for n, (pos, _) in enumerate(nodes) if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(nodes[n][1])
        for u in users[n]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, (nodes[u][0], u))
    if len(order) != len(nodes):
        raise AssertionError("fuse_elementwise: fused groups form a cycle")
    return tuple(order)
