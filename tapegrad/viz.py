"""Pictures of what tapegrad recorded: ``tg.viz.graph(y)`` and ``tg.viz.program(fn, *args)``.

Both return a :class:`Diagram`: Graphviz DOT text (``.source``) that renders to SVG or
PNG with the ``dot`` program (Debian package ``graphviz``) and shows inline in Jupyter.
The DOT text is written here, in a few lines, so drawing needs no Python dependency;
only rendering needs ``dot``.

``graph(y)`` draws the recorded graph behind a tensor the way textbook figures draw
``f(x1, x2) = 0.2 x1^2 + 0.2 x2^2 - 5`` (docs/tutorial.md): inputs on the left, one box per
recorded operation with its ``grad_fn`` name and output shape, the output on the right.
Boxes are named after the Python variables that hold them in the calling frame.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ._dot import _STYLE, Diagram, digraph, dot_available, quote, type_str  # noqa: F401

__all__ = ["Diagram", "dot_available", "graph", "program"]


def _save_for_tour(diagram: Diagram, stem: str) -> Path:
    """Write ``diagram`` to a temporary folder: SVG where ``dot`` exists, else DOT text."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / "tapegrad-tour"
    folder.mkdir(exist_ok=True)
    return diagram.render(folder / f"{stem}.{'svg' if dot_available() else 'dot'}")


# -- tg.viz.graph ------------------------------------------------------------------
def _caller_names(depth: int) -> dict:
    """Variable names of tensors in the calling frame: key -> name."""
    from .tensor import Tensor

    frame = sys._getframe(depth)
    names: dict = {}
    for name, v in frame.f_locals.items():
        if isinstance(v, Tensor) and not name.startswith("_"):
            names.setdefault(_key(v), name)
    return names


def _key(t) -> tuple:
    return ("n", id(t._node), t._idx) if t._node is not None else ("t", id(t))


def graph(y: Any, names: dict[str, Any] | None = None, *, constants: bool = False,
          title: str = "") -> Diagram:
    """Draw the recorded graph behind ``y``: inputs, operations, ``grad_fn`` names, shapes.

    Parameters
    ----------
    y : Tensor or sequence of tensors
        The output(s) whose history to draw.
    names : dict of str to Tensor, optional
        Labels for tensors. By default the calling frame's local variables that hold
        tensors name them (``x1``, ``x3``... in the tutorial's example).
    constants : bool
        Also draw Python-number operands (``0.2``, ``5``). Constant tensors and arrays
        (data) are always drawn.
    title : str
        A caption above the picture.

    Returns
    -------
    Diagram
        ``.source`` is the DOT text; ``.render("g.svg")`` draws it.

    Examples
    --------
    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * 3).sum()
    >>> print(tg.viz.graph(y).source.count("->"))
    2
    """
    from .tensor import Tensor

    outs = list(y) if isinstance(y, (list, tuple)) else [y]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"viz.graph: expected tensors, got {type(o).__name__}")
    label_of = _caller_names(2) if names is None else {_key(v): k for k, v in names.items()}

    # Collect records reachable from the outputs, without recursion.
    records: dict[int, Any] = {}
    shapes: dict[tuple, str] = {}
    stack = []
    for o in outs:
        shapes[_key(o)] = type_str(o.shape, o.dtype)
        if o._node is not None:
            stack.append(o._node)
    while stack:
        node = stack.pop()
        if id(node) in records:
            continue
        records[id(node)] = node
        for a in node.args or ():
            if isinstance(a, Tensor):
                shapes.setdefault(_key(a), type_str(a.shape, a.dtype))
                if a._node is not None:
                    stack.append(a._node)
    order = sorted(records.values(), key=lambda n: n.seq)
    rid = {id(n): f"r{i}" for i, n in enumerate(order)}
    out_keys = {_key(o) for o in outs}

    nodes: list[tuple[str, str, str]] = []
    edges: list[tuple[str, str, str]] = []
    leaf_ids: dict[tuple, str] = {}

    def leaf(t) -> str:
        k = _key(t)
        if k not in leaf_ids:
            leaf_ids[k] = f"i{len(leaf_ids)}"
            name = label_of.get(k, "")
            kind = "leaf" if t._rg else "const"
            extra = "" if t._rg else "\n(constant)"
            nodes.append((leaf_ids[k], "\n".join(filter(None, [name, shapes[k]])) + extra,
                          kind))
        return leaf_ids[k]

    n_const = 0
    for node in order:
        n_out = len(node.out) if node.prim.multiple_results and node.out is not None else 1
        keys = [("n", id(node), i) for i in range(n_out)]
        name = ", ".join(label_of[k] for k in keys if k in label_of)
        shape = ", ".join(shapes[k] for k in keys if k in shapes)
        if node.args is None:
            nodes.append((rid[id(node)], f"{node.name()}\n(freed by backward)", "freed"))
            continue
        style = "output" if any(k in out_keys for k in keys) else "record"
        nodes.append((rid[id(node)], "\n".join(filter(None, [name, node.name(), shape])), style))
        for a in node.args:
            if isinstance(a, Tensor):
                src = rid[id(a._node)] if a._node is not None else leaf(a)
                attrs = ""
                if a._node is not None and a._node.prim.multiple_results:
                    attrs = f'label="[{a._idx}]"'
                if not a._rg:
                    attrs = ", ".join(filter(None, [attrs, "style=dashed"]))
                edges.append((src, rid[id(node)], attrs))
            elif hasattr(a, "shape") and hasattr(a, "dtype"):  # a plain array: data
                cid = f"c{n_const}"
                n_const += 1
                nodes.append((cid, f"{type_str(a.shape, a.dtype)}\n(constant)", "const"))
                edges.append((cid, rid[id(node)], "style=dashed"))
            elif constants and isinstance(a, (int, float, complex)):
                cid = f"c{n_const}"
                n_const += 1
                nodes.append((cid, repr(a), "const"))
                edges.append((cid, rid[id(node)], "style=dashed"))
    for o in outs:
        if o._node is None:  # a leaf drawn as an output: just the tensor
            nid = leaf(o)
            nodes[:] = [(i, lab, "output" if i == nid else st) for i, lab, st in nodes]
    # Inputs first, so dot stacks them top to bottom in order of first use.
    nodes.sort(key=lambda n: n[0][0] != "i")
    return Diagram(digraph(nodes, edges, title))


def program(compiled_fn: Any, *args: Any, **kwargs: Any) -> Diagram:
    """Draw the program ``compiled_fn`` runs for ``args``: fused groups, saved values,
    and where buffers are freed (see the compiler page of the docs).

    Parameters
    ----------
    compiled_fn : CompiledFunction
        The result of ``tg.compile(fn)``.
    *args, **kwargs
        Arguments of a call: they pick the program (compiled for them if needed).

    Returns
    -------
    Diagram
        One box per equation of the optimised program; a fused group is a shaded
        cluster, values saved for later are thick orange edges.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> fast = tg.compile(tg.grad(lambda x: (tg.tanh(x) ** 2).sum()))
    >>> "cluster" in tg.viz.program(fast, np.ones(3)).source
    True
    """
    from ._viz_program import draw_program

    return draw_program(compiled_fn, *args, **kwargs)
