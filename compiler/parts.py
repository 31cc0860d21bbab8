"""Long generated bodies as part functions.

A generated body is straight-line code: assignments, one per equation, and ``del``
statements. Past :data:`SPLIT_ABOVE` statements it is cut into parts of
:data:`PART_LINES`, each a function of the program's closure that the body calls once,
in order. Values that one part defines and another uses travel in a list of slots.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from .ir import Lit

#: A body longer than ``SPLIT_ABOVE`` statements runs as part functions of at most
#: ``PART_LINES`` statements each.
SPLIT_ABOVE = 50_000
PART_LINES = 2_000


def may_split(n_eqns: int) -> bool:
    """Whether a body of ``n_eqns`` equations (at most two statements each) may be long
    enough to split, so that its statements' facts are worth collecting."""
    return 2 * n_eqns > SPLIT_ABOVE


def _clear(r: list, slots: tuple) -> None:
    """Empty ``slots`` of ``r``, so the values there can be freed by their last user."""
    for i in slots:
        r[i] = None


def in_parts(body: list[str], facts: list, returned: tuple, name: str, indent: str,
             em: Any) -> list[str]:
    """``body`` (statements of function ``name``, which then returns ``returned``) as it
    is, or, when longer than :data:`SPLIT_ABOVE`, as calls of part functions, which go
    to ``em.helpers`` (functions of the program's closure, so their statements keep
    ``body``'s indentation). ``facts`` has per statement the variables it writes, its
    input atoms, its ``out=`` buffer (a variable, ``"out"`` or None) and the variables
    it deletes; ``em.bind(obj, hint)`` names an object the program calls.

    CPython finds a line number by scanning the code object's line table from the
    start, and tracing, profiling and tracebacks ask for it often: on a single
    function of 10^5 lines that is quadratic. Parts keep every code object short.
    Values that cross parts travel in one list, ``r``: a part stores what later parts
    need in its own run of slots, takes what it needs with one ``itemgetter``, and
    empties the slots no later part reads, so its ``del`` frees those values exactly
    as in one function. (Sharing them as ``nonlocal`` cells instead makes CPython's
    compiler quadratic in the number of shared names and parts.)
    """
    if len(body) <= SPLIT_ABOVE:
        return body

    def _name(v: Any) -> str:  # a variable, or a fused body's ``out`` parameter
        return v if type(v) is str else em.atom(v)

    n_parts = -(-len(body) // PART_LINES)
    born: dict = {}  # variable -> the part that writes it (each is written once)
    for k in range(n_parts):
        for written, _, _, _ in facts[k * PART_LINES:(k + 1) * PART_LINES]:
            for v in written:
                born[v] = k
    used: list = []  # per part, ordered: what it reads that an earlier part wrote
    last_part: dict = {}  # variable -> the last part that reads it
    for k in range(n_parts):
        reads: dict = {}
        for _, ins, buf, deleted in facts[k * PART_LINES:(k + 1) * PART_LINES]:
            for a in ins:
                if type(a) is not Lit and born.get(a) != k:
                    reads[a] = None
            if buf is not None and born.get(buf) != k:
                reads[buf] = None
            for a in deleted:
                if born[a] != k:
                    reads[a] = None
        for a in reads:
            last_part[a] = k
        used.append(reads)
    out = [a for a in dict.fromkeys(returned) if type(a) is not Lit and a in born]
    for v in out:
        last_part[v] = n_parts
    given = [a for a in dict.fromkeys(a for u in used for a in u) if a not in born]
    stores: list = [[] for _ in range(n_parts)]
    for v, k in born.items():
        if last_part.get(v, -1) > k:
            stores[k].append(v)
    slot = {v: i for i, v in enumerate(given + [v for vs in stores for v in vs])}
    clear = em.bind(_clear, "clear")
    lines = [f"{indent}r = [{', '.join(map(_name, given))}] + "
             f"[None] * {len(slot) - len(given)}  # values the parts share"]
    for k in range(n_parts):
        part, reads = f"{name}_part{k}", list(used[k])
        src = [f"    def {part}(r):"]
        if len(reads) == 1:
            src.append(f"{indent}{_name(reads[0])} = r[{slot[reads[0]]}]")
        elif reads:
            take = em.bind(itemgetter(*(slot[v] for v in reads)), f"take_{k}")
            src.append(f"{indent}{', '.join(map(_name, reads))} = {take}(r)")
        done = tuple(slot[v] for v in reads if last_part[v] == k)
        if done:
            src.append(f"{indent}{clear}(r, {done!r})")
        src += body[k * PART_LINES:(k + 1) * PART_LINES]
        if stores[k]:
            first = slot[stores[k][0]]
            names = ", ".join(map(_name, stores[k])) + ("," if len(stores[k]) == 1 else "")
            src.append(f"{indent}r[{first}:{first + len(stores[k])}] = {names}")
        em.helpers.append("\n".join(src))
        lines.append(f"{indent}{part}(r)")
    lines += [f"{indent}{_name(v)} = r[{slot[v]}]" for v in out]
    return lines
