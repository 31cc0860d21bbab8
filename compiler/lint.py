"""``lint(graph)``: the IR's invariants, checked after every pass in the tests.

1. Single assignment: every variable is defined once (as an input or an output).
2. Define before use: every equation reads only inputs, earlier outputs and literals.
3. Types: each equation's output shapes and dtypes agree with what
   :func:`~tapegrad.compiler.shapes.abstract_eval` (the one shape inference) gives.

``check_plan(graph, plan)`` (and ``lint(graph, plan)``) checks a memory plan against the
graph by running it: no value is read or written into after it is deleted; every
intermediate is deleted exactly once and no graph input or output ever is; an ``out=``
buffer is a whole buffer the program made (not an input, output, literal or view), has
the result's shape and dtype, and is dead there (nothing later reads it or any value
that may share its memory); an in-place target shares no memory with another input.
What may share memory comes from :class:`~tapegrad.compiler.buffers.MemoryFacts`.
"""

from __future__ import annotations

import itertools
from typing import Any

from .buffers import MemoryFacts
from .ir import FusedKernel, Graph, Lit, MemoryPlan, Var, numpy_dtype, pp_eqn, short_dtype
from .shapes import abstract_eval


class LintError(ValueError):
    """A graph breaks an IR invariant; the message lists every problem found."""


def check(graph: Graph, *, types: bool = True) -> list[str]:
    """Every invariant violation in ``graph``, as messages (empty when it is valid)."""
    problems: list[str] = []
    defined: set = set()
    for v in graph.inputs:
        if not isinstance(v, Var):
            problems.append(f"input {v!r} is not a Var")
        elif v in defined:
            problems.append(f"input {v!r} appears twice")
        defined.add(v)
    for i, e in enumerate(graph.eqns):
        where = f"eqn {i} ({pp_eqn(e, '').strip()})"
        ok = True
        for a in e.inputs:
            if type(a) is Lit:
                continue
            if not isinstance(a, Var):
                problems.append(f"{where}: input {a!r} is neither a Var nor a Lit")
                ok = False
            elif a not in defined:
                problems.append(f"{where}: reads {a!r} before it is defined")
                ok = False
        for v in e.outputs:
            if not isinstance(v, Var):
                problems.append(f"{where}: output {v!r} is not a Var")
                ok = False
            elif v in defined:
                problems.append(f"{where}: assigns {v!r} a second time")
                ok = False
            defined.add(v)
        multi = getattr(e.prim, "multiple_results", False)
        if not multi and len(e.outputs) != 1:
            problems.append(f"{where}: a single-result primitive with "
                            f"{len(e.outputs)} outputs")
            ok = False
        if isinstance(e.prim, FusedKernel):
            problems += _check_fused(e, where)
        if types and ok:
            problems += _check_types(e, where)
    for a in graph.outputs:
        if type(a) is not Lit and a not in defined:
            problems.append(f"output {a!r} is never defined")
    return problems


def _check_fused(e, where: str) -> list[str]:
    body = e.prim.body
    out = [f"{where}: fused body: {p}" for p in check(body, types=False)]
    if len(body.inputs) != len(e.inputs):
        out.append(f"{where}: fused body takes {len(body.inputs)} inputs, "
                   f"given {len(e.inputs)}")
    if len(body.outputs) != len(e.outputs):
        out.append(f"{where}: fused body returns {len(body.outputs)} values for "
                   f"{len(e.outputs)} outputs")
    for b in body.eqns:
        if not getattr(b.prim, "elementwise", False):
            out.append(f"{where}: fused body holds non-elementwise {b.prim.name}")
    return out


def _check_types(e, where: str) -> list[str]:
    try:
        avals = abstract_eval(e.prim, list(e.inputs), e.params)
    except Exception as exc:  # noqa: BLE001 - any failure of the rule is a finding
        return [f"{where}: the shape rule fails: {type(exc).__name__}: {exc}"]
    if len(avals) != len(e.outputs):
        return [f"{where}: the primitive gives {len(avals)} outputs, the eqn has "
                f"{len(e.outputs)}"]
    out = []
    for v, (shape, dtype) in zip(e.outputs, avals):
        if tuple(v.shape) != tuple(shape) or numpy_dtype(v.dtype) != numpy_dtype(dtype):
            out.append(f"{where}: {v!r} is declared {short_dtype(v.dtype)}{list(v.shape)} "
                       f"but the primitive gives {short_dtype(dtype)}{list(shape)}")
    return out


def _where(i: int, e) -> str:
    return f"eqn {i} ({pp_eqn(e, '').strip()})"


def plan_problems(graph: Graph, plan: MemoryPlan, lowering: Any = None) -> list[str]:
    """Every way ``plan`` breaks the module docstring's rules for ``graph``, as messages.

    ``lowering`` (default: the one the plan was made for) says which equations return
    fresh arrays and which take ``out=``."""
    eqns = graph.eqns
    n = len(eqns)
    if len(plan.frees) != n:
        return [f"the plan has frees for {len(plan.frees)} equations, the graph has {n}"]
    facts = MemoryFacts(plan.lowering if lowering is None else lowering)
    problems: list[str] = []
    writes: dict = {}
    for kind, table in (("reuse", plan.reuse), ("inplace", plan.inplace)):
        for i, b in table.items():
            if not (type(i) is int and 0 <= i < n):
                problems.append(f"{kind}: {i!r} is not an equation index")
            elif i in writes:
                problems.append(f"{_where(i, eqns[i])}: both reuses and overwrites a buffer")
            else:
                writes[i] = (kind, b)
    inputs = set(graph.inputs)
    outputs = {a for a in graph.outputs if type(a) is Var}
    last: dict = {}  # value -> last equation reading it (graph outputs: read at the end)
    for i, e in enumerate(eqns):
        for a in e.inputs:
            if type(a) is Var:
                last[a] = i
    for a in outputs:
        last[a] = n
    mem: dict = {v: frozenset({-k - 1}) for k, v in enumerate(graph.inputs)}
    members: dict = {}  # buffer -> values that may point into it (since its last write)
    whole: set = set()  # values holding a whole buffer the program made
    defined: dict = {v: -1 for v in graph.inputs}
    deleted: dict = {}
    fresh_ids = itertools.count()
    for i, e in enumerate(eqns):
        where = _where(i, e)
        for a in e.inputs:
            if type(a) is Var and a in deleted:
                problems.append(f"{where}: reads {a!r} after it was deleted (after eqn "
                                f"{deleted[a]})")
        w = writes.get(i)
        buf = None
        if w is not None:
            buf = _check_write(e, i, where, w, facts, mem, members, whole, last, defined,
                               deleted, inputs, outputs, problems)
        for o in e.outputs:
            defined[o] = i
            if buf is not None:
                mem[o] = frozenset({buf})
                members[buf] = [o]
                whole.add(o)
            elif facts.fresh(e):
                made = next(fresh_ids)
                mem[o] = frozenset({made})
                members[made] = [o]
                whole.add(o)
            else:  # may point into every input's memory
                mem[o] = frozenset().union(*(mem.get(a, frozenset()) for a in e.inputs
                                             if type(a) is Var))
                for b in mem[o]:
                    members.setdefault(b, []).append(o)
        for v in plan.frees[i]:
            if type(v) is not Var:
                problems.append(f"{where}: deletes {v!r}, which is not a variable")
            elif v in inputs or v in outputs:
                problems.append(f"{where}: deletes {v!r}, a graph "
                                f"{'input' if v in inputs else 'output'}")
            elif v not in defined:
                problems.append(f"{where}: deletes {v!r} before it is defined")
            elif v in deleted:
                problems.append(f"{where}: deletes {v!r} twice (first after eqn "
                                f"{deleted[v]})")
            else:
                deleted[v] = i
    never = [v for e in eqns for v in e.outputs if v not in outputs and v not in deleted]
    if never:
        problems.append(f"never deleted: {', '.join(map(repr, never))}")
    return problems


def _check_write(e, i, where, w, facts, mem, members, whole, last, defined, deleted,
                 inputs, outputs, problems) -> Any:
    """Check one ``out=`` write; the buffer written into, or None when it is invalid."""
    kind, b = w
    bad = []
    if type(b) is Lit:
        bad.append("a literal")
    elif type(b) is not Var or b not in defined or defined[b] >= i:
        bad.append(f"{b!r}, which is not defined before it")
    else:
        if b in deleted:
            bad.append(f"{b!r} after it was deleted (after eqn {deleted[b]})")
        if b in inputs or b in outputs:
            bad.append(f"{b!r}, a graph {'input' if b in inputs else 'output'}")
        elif b not in whole:
            bad.append(f"{b!r}, a view (or a value that may share its inputs' memory)")
        if len(e.outputs) == 1:
            o = e.outputs[0]
            if tuple(b.shape) != tuple(o.shape) or numpy_dtype(b.dtype) != numpy_dtype(
                    o.dtype):
                bad.append(f"{b!r}, of another shape or dtype than {o!r} "
                           f"({short_dtype(b.dtype)}{list(b.shape)} vs "
                           f"{short_dtype(o.dtype)}{list(o.shape)})")
    verb = "writes into" if kind == "reuse" else "overwrites"
    problems += [f"{where}: {verb} {x}" for x in bad]
    if not facts.takes_out(e):
        problems.append(f"{where}: cannot write its result into a given buffer (out=)")
    if kind == "inplace":
        if not facts.in_place(e):
            problems.append(f"{where}: is not elementwise, so it cannot work in place")
        if b not in e.inputs:
            problems.append(f"{where}: overwrites {b!r}, which is not one of its inputs")
    if bad:
        return None
    (buf,) = mem[b]
    ins = {a for a in e.inputs if type(a) is Var}
    for v in members.get(buf, ()):
        r = last.get(v, -1)
        if r > i or (kind == "reuse" and r == i):
            by = "a graph output" if v in outputs else f"read by eqn {r}"
            problems.append(f"{where}: {verb} {b!r}, which is not dead: {v!r} may share "
                            f"its memory and is {by}")
        elif kind == "inplace" and v is not b and v in ins:
            problems.append(f"{where}: overwrites {b!r}, which shares memory with its "
                            f"other input {v!r}")
    return buf


def check_plan(graph: Graph, plan: MemoryPlan, lowering: Any = None) -> None:
    """Check a memory plan for ``graph`` (see the module docstring).

    Raises
    ------
    LintError
        Listing every problem found.
    """
    problems = plan_problems(graph, plan, lowering)
    if problems:
        raise LintError("lint: the memory plan is invalid:\n  " + "\n  ".join(problems)
                        + "\n" + str(graph))


def lint(graph: Graph, plan: MemoryPlan | None = None) -> None:
    """Check single assignment, define-before-use and shapes/dtypes of ``graph``, and,
    when given, its memory ``plan`` (:func:`check_plan`).

    Raises
    ------
    LintError
        Listing every violation found.
    """
    problems = check(graph)
    if problems:
        raise LintError("lint: the graph is invalid:\n  " + "\n  ".join(problems)
                        + "\n" + str(graph))
    if plan is not None:
        check_plan(graph, plan)
