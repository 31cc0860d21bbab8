"""What memory planning knows about an equation: facts, not decisions.

:class:`MemoryFacts` answers the three questions the planner
(:func:`~.passes.memory.plan_memory`) and its check (:func:`~.lint.check_plan`) ask of
each equation, from one source:

- ``fresh(e)``: its results are new arrays that share no memory with anything;
- ``view(e)``: it may return a view of its input, so it owns no bytes of its own;
- ``takes_out(e)``: it can write its one (non 0-d) result into a given buffer (``out=``).

With a lowering, ``fresh`` and ``takes_out`` are the lowering's own answers
(``lowering.fresh``, ``lowering.supports_out``): what the generated code will really do.
Without one they come from the primitives' declarations: ``aliasing="fresh"`` (every
NumPy ufunc) allocates, ``aliasing="view"`` may return a view, anything else may alias
its inputs; a ufunc, ``matmul`` and a fused kernel take ``out=``.

:func:`storages` says which buffers each value may point into. Any equation that is not
fresh may alias every input it reads; a buffer is named by the value that made it.
"""

from __future__ import annotations

from typing import Any

from tapegrad.primitive import registry

from .ir import Eqn, FusedKernel, Graph, Var


def _ufunc(prim: Any) -> bool:
    return (getattr(prim, "ufunc", None) is not None
            and registry.get(getattr(prim, "name", None)) is prim)


def allocates(e: Eqn) -> bool:
    """Whether the equation's outputs are new arrays that share no memory (the
    primitive's ``aliasing`` is ``"fresh"``; a fused kernel's outputs are made by such
    equations of its body)."""
    if isinstance(e.prim, FusedKernel):
        made = {o for b in e.prim.body.eqns if allocates(b) for o in b.outputs}
        return all(o in made for o in e.prim.body.outputs)
    return getattr(e.prim, "aliasing", None) == "fresh"


def is_view(e: Eqn) -> bool:
    """Whether the primitive is declared to return a view of its input."""
    return getattr(e.prim, "aliasing", None) == "view"


class MemoryFacts:
    """The memory facts of equations, as ``lowering`` implements them.

    Parameters
    ----------
    lowering : object, optional
        A lowering with ``fresh(eqn)`` and ``supports_out(eqn)``; None uses the
        primitives' declared facts.
    """

    def __init__(self, lowering: Any = None) -> None:
        self.lowering = lowering

    def fresh(self, e: Eqn) -> bool:
        """Whether ``e``'s results are new arrays sharing no memory."""
        return self.lowering.fresh(e) if self.lowering is not None else allocates(e)

    def view(self, e: Eqn) -> bool:
        """Whether ``e`` may return a view of its input (and so owns no bytes)."""
        return is_view(e) and not self.fresh(e)

    def takes_out(self, e: Eqn) -> bool:
        """Whether ``e`` can write its single, not 0-d, result into a given buffer."""
        if len(e.outputs) != 1 or e.outputs[0].shape == ():
            return False
        if self.lowering is not None:
            return bool(self.lowering.supports_out(e))
        return isinstance(e.prim, FusedKernel) or _ufunc(e.prim)

    def in_place(self, e: Eqn) -> bool:
        """Whether ``e`` may write its result over one of its own inputs: an
        elementwise primitive (not a fused kernel) that takes ``out=``."""
        return (not isinstance(e.prim, FusedKernel) and bool(getattr(e.prim, "elementwise",
                                                                     False))
                and self.takes_out(e))


def storages(graph: Graph, facts: MemoryFacts) -> tuple[dict, set]:
    """Which buffers each value may point into, before any ``out=`` write.

    Returns
    -------
    store : dict
        ``{value: frozenset of buffers}``; a buffer is named by the value that made it.
        Graph inputs and literals point into no buffer the program owns.
    owned : set
        The values that made their buffer (results of fresh equations): the only
        buffers a program may write into.
    """
    store: dict[Var, frozenset] = {v: frozenset() for v in graph.inputs}
    owned: set[Var] = set()
    empty: frozenset = frozenset()
    for e in graph.eqns:
        if facts.fresh(e):
            for o in e.outputs:
                store[o] = frozenset({o})
                owned.add(o)
            continue
        ins = empty.union(*(store.get(a, empty) for a in e.inputs if type(a) is Var))
        own = empty if facts.view(e) else None
        for o in e.outputs:  # may alias every input (and, unless a view, hold its own)
            store[o] = ins if own is not None else ins | {o}
    return store, owned
