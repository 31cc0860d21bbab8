"""Text form of a Wengert list: ``%3 = mul %2, 0.2    # MulBackward1``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor


def format_value(v: Any) -> str:
    """A literal as it appears in a printed program: numbers as is, arrays by shape."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (int, bool, complex, str)) or v is None:
        return repr(v)
    if isinstance(v, np.dtype):  # has a .shape too, but prints as its name
        return str(v)
    shape = getattr(v, "shape", None)
    if shape is not None:
        if len(shape) == 0 or (len(shape) == 1 and shape[0] <= 4):
            try:
                return f"array({v.tolist()!r})"
            except Exception:  # noqa: BLE001 - e.g. arrays that cannot go to host
                pass
        return f"array<{'x'.join(map(str, shape)) or 'scalar'}, {v.dtype}>"
    if isinstance(v, tuple):
        return "(" + ", ".join(format_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2] if v.step is None else parts)
    if v is Ellipsis:
        return "..."
    return repr(v)


def format_records(records: list) -> str:
    """Number the values of a list of nodes and print one line per record."""
    names: dict[Any, str] = {}
    inputs: list[str] = []
    counter = [0]

    def fresh() -> str:
        name = f"%{counter[0]}"
        counter[0] += 1
        return name

    def name_of(a: Any) -> str:
        if isinstance(a, Tensor):
            key = ("leaf", id(a)) if a._node is None else (id(a._node), a._idx)
            if key not in names:
                names[key] = fresh()
                inputs.append(f"{names[key]}: {_type(a)}")
            return names[key]
        return format_value(a)

    # Number the tape's inputs first: values recorded outside the list, and leaves.
    produced = {(id(n), i) for n in records if n.args is not None
                for i in range(len(n.out) if n.prim.multiple_results else 1)}
    for node in records:
        for a in node.args or ():
            if not isinstance(a, Tensor):
                continue
            outside = a._node is None or (id(a._node), a._idx) not in produced
            if isinstance(a, Tensor) and outside:
                name_of(a)
    lines = []
    for node in records:
        if node.args is None:
            lines.append(f"(freed) {node.name()}")
            continue
        args = ", ".join(name_of(a) for a in node.args)
        params = ", ".join(f"{k}={format_value(v)}" for k, v in node.params.items())
        n_out = len(node.out) if node.prim.multiple_results else 1
        outs = []
        for i in range(n_out):
            key = (id(node), i)
            names[key] = fresh()
            outs.append(names[key])
        op = node.prim.short
        rhs = f"{op} {args}" + (f", {params}" if params else "")
        lines.append(f"{', '.join(outs)} = {rhs}".ljust(40) + f"  # {node.name()}")
    header = ["inputs " + ", ".join(inputs)] if inputs else []
    return "\n".join(header + lines)


def _type(t: Tensor) -> str:
    return f"{t.data.dtype}[{','.join(map(str, t.shape))}]"
