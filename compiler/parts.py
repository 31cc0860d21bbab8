"""Long generated bodies as nested part functions.

A generated body is straight-line code: assignments, one per equation, and ``del``
statements. Past :data:`SPLIT_ABOVE` statements it is cut into parts of
:data:`PART_LINES`, each a nested function called once in order. Values that one part
defines and another uses are ``nonlocal`` names of the enclosing function.
"""

from __future__ import annotations

import re

#: A body longer than ``SPLIT_ABOVE`` statements runs as nested part functions of at
#: most ``PART_LINES`` statements each.
SPLIT_ABOVE = 50_000
PART_LINES = 2_000
# Value names, and a fused body's ``out`` parameter (not the ``out=`` keyword).
_VAR = re.compile(r"\b(?:v\d+|out(?!=))\b")


def _by_number(name: str) -> tuple:
    return (len(name), name)  # v3 before v11


def in_parts(body: list[str], ret: str, name: str, indent: str) -> list[str]:
    """``body`` (statements of function ``name`` returning ``ret``) as it is, or, when
    longer than :data:`SPLIT_ABOVE`, as a sequence of nested part functions.

    CPython finds a line number by scanning the code object's line table from the
    start, and tracing, profiling and tracebacks ask for it often: on a single
    function of 10^5 lines that is quadratic. Parts keep every code object short.
    Values that cross parts are ``nonlocal`` cells of the enclosing function, so a
    part's ``del`` frees them exactly as in one function, and reading one costs about
    what reading a local does.
    """
    if len(body) <= SPLIT_ABOVE:
        return body
    chunks = [body[k:k + PART_LINES] for k in range(0, len(body), PART_LINES)]
    info = []  # per part: names used without being written first, written, deleted
    for chunk in chunks:
        used: set = set()
        written: set = set()
        deleted: set = set()
        for line in chunk:
            text = line.strip()
            if text.startswith("del "):  # deleting needs the name bound here too
                names = _VAR.findall(text)
                used.update(v for v in names if v not in written)
                deleted.update(names)
                continue
            lhs, rhs = text.split(" = ", 1)
            used.update(v for v in _VAR.findall(rhs) if v not in written)
            written.update(_VAR.findall(lhs))
        info.append((used, written, deleted))
    shared = set(_VAR.findall(ret)).union(*(u for u, _, _ in info))
    shared = sorted(shared & set().union(*(w for _, w, _ in info)), key=_by_number)
    # The enclosing function must bind a name for parts to share it as nonlocal.
    lines = [f"{indent}{' = '.join(shared[k:k + 8])} = None"
             for k in range(0, len(shared), 8)]
    shared_set = set(shared)
    for k, (chunk, (_, written, deleted)) in enumerate(zip(chunks, info)):
        lines.append(f"{indent}def {name}_part{k}():")
        rebinds = sorted((written | deleted) & shared_set, key=_by_number)
        if rebinds:
            lines.append(f"{indent}    nonlocal {', '.join(rebinds)}")
        lines += [f"{indent}    {line.strip()}" for line in chunk]
        lines += [f"{indent}{name}_part{k}()", f"{indent}del {name}_part{k}"]
    return lines
