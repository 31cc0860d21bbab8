"""A small rewrite engine for tables of local rules (tinygrad's symbolic.py, in spirit).

A rule is a function ``rule(m, *inputs, **params)`` looked up by primitive name. It
returns the atom that replaces the equation's output, or None when it does not apply.
``m`` (a :class:`Match`) lets it look through producers (``m.src``), read constants
(``m.const``) and build new equations (``m.emit``).

The engine checks every accepted replacement: it must have exactly the shape and dtype
of the variable it replaces (NumPy's promotion decides the dtype of emitted equations),
otherwise the rule is skipped. New equations are themselves rewritten, so rules compose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad.primitive import registry

from ..ir import Eqn, Graph, Lit, Var
from ._util import make_eqn, prim_of, resolve, same_spec, uniform_value, xp_of_values

Rule = Callable[..., Any]


class Reject(Exception):
    """Raised inside a rule when a piece it needs cannot be built."""


class Match:
    """What a rule sees while it looks at one equation."""

    __slots__ = ("rw", "eqn", "out", "new")

    def __init__(self, rw: Rewriter, eqn: Eqn) -> None:
        self.rw = rw
        self.eqn = eqn
        self.out = eqn.outputs[0]
        self.new: list[Eqn] = []

    def const(self, a: Any) -> Any:
        """The number every element of ``a`` equals (through broadcasts), or None."""
        return None if a is None else self.rw.const(a)

    def src(self, a: Any, name: str, index: int | None = None) -> Any:
        """The producer of ``a`` if it is primitive ``name``: its input ``index``, or the
        equation itself when ``index`` is None. None when ``a`` comes from elsewhere."""
        e = self.rw.producers.get(a) if isinstance(a, Var) else None
        if e is None or e.prim is not registry.get(name):
            return None
        return e if index is None else e.inputs[index]

    def emit(self, prim: Any, *inputs: Any, **params: Any) -> Var | None:
        """A new equation ``prim(*inputs, **params)``; None if an input is None.
        Python numbers become (weak) literals."""
        if any(a is None for a in inputs):
            return None
        inputs = tuple(Lit(a) if isinstance(a, (bool, int, float)) else a for a in inputs)
        e = make_eqn(prim, inputs, params)
        if e is None:
            raise Reject(getattr(prim_of(prim), "name", prim))
        self.new.append(e)
        return e.outputs[0]

    def convert(self, a: Any) -> Any:
        """``a`` cast and broadcast to the output's dtype and shape (exact conversions)."""
        if a is None:
            return None
        out = self.out
        if isinstance(a, Lit):
            if np.dtype(out.dtype).kind not in "biufc":
                return None
            xp = xp_of_values([a.value])
            a = Lit(xp.asarray(xp.asarray(a.value), dtype=out.dtype))
        elif np.dtype(a.dtype) != np.dtype(out.dtype):
            a = self.emit("astype", a, dtype=np.dtype(out.dtype))
        if tuple(a.shape) != tuple(out.shape):
            a = self.emit("broadcast_to", a, shape=tuple(out.shape))
        return a

    def xp(self) -> Any:
        """The array namespace of the constants this equation reads (NumPy by default)."""
        return xp_of_values([b.value for a in self.eqn.inputs
                             if (b := self.rw.const_base(a)) is not None])


def commute(rule: Rule) -> Rule:
    """Try a binary rule with its operands in both orders."""

    def both(m: Match, x: Any, y: Any, **params: Any) -> Any:
        try:
            r = rule(m, x, y, **params)
        except Reject:
            r = None
        if r is None:
            m.new.clear()
            r = rule(m, y, x, **params)
        return r

    both.__name__ = getattr(rule, "__name__", "rule")
    return both


def table(entries: list) -> dict[str, list[Rule]]:
    """``[(primitive name or "*", rule), ...]`` as ``{name: [rule, ...]}`` (order kept)."""
    out: dict[str, list[Rule]] = {}
    for name, rule in entries:
        out.setdefault(name, []).append(rule)
    return out


class Rewriter:
    """Apply a rule table to every single-output registry equation, front to back."""

    max_depth = 8  # rules applied to equations that rules created, at most this deep

    def __init__(self, rules: dict[str, list[Rule]]) -> None:
        self.rules = rules
        self.any_rules = rules.get("*", [])

    def __call__(self, graph: Graph) -> tuple[Graph, int]:
        """The rewritten graph and the number of rules that fired."""
        self.env: dict[Var, Any] = {}
        self.producers: dict[Var, Eqn] = {}
        self.eqns: list[Eqn] = []
        self._const: dict[int, tuple] = {}
        self.fired = 0
        for e in graph.eqns:
            self.visit(e, 0)
        outs = tuple(resolve(self.env, a) for a in graph.outputs)
        return Graph(graph.inputs, tuple(self.eqns), outs), self.fired

    def visit(self, e: Eqn, depth: int) -> None:
        ins = tuple(resolve(self.env, a) for a in e.inputs)
        if any(a is not b for a, b in zip(ins, e.inputs)):
            e = e._replace(inputs=ins)
        name = getattr(e.prim, "name", None)
        if (depth < self.max_depth and len(e.outputs) == 1
                and registry.get(name) is e.prim):
            for rule in self.rules.get(name, []) + self.any_rules:
                m = Match(self, e)
                try:
                    a = rule(m, *ins, **e.params)
                except Reject:
                    continue
                if a is None or a is m.out or not same_spec(a, m.out):
                    continue
                for new in m.new:
                    self.visit(new, depth + 1)
                self.env[m.out] = a
                self.fired += 1
                return
        self.eqns.append(e)
        for o in e.outputs:
            self.producers[o] = e

    def const_base(self, a: Any) -> Lit | None:
        """The literal that ``a`` broadcasts or reshapes, if any."""
        while isinstance(a, Var):
            e = self.producers.get(a)
            if e is None or getattr(e.prim, "name", None) not in _VALUE_PRESERVING:
                return None
            a = e.inputs[0]
        return a

    def const(self, a: Any) -> Any:
        """The number all elements of ``a`` equal, looking through broadcasts and
        reshapes of literals and exact casts; None when not a known constant."""
        key = id(a)
        hit = self._const.get(key)
        if hit is not None and hit[0] is a:
            return hit[1]
        if isinstance(a, Lit):
            value = uniform_value(a.value)
        else:
            e = self.producers.get(a)
            name = getattr(e.prim, "name", None) if e is not None else None
            value = self.const(e.inputs[0]) if name in _VALUE_PRESERVING else None
            if value is not None and name == "astype":
                cast = np.asarray(value).astype(e.params["dtype"]).item()
                value = cast if cast == value else None
        self._const[key] = (a, value)
        return value


# Primitives whose output holds the same numbers as their first input.
_VALUE_PRESERVING = ("broadcast_to", "reshape", "astype", "identity")


def rewrite_to_fixpoint(graph: Graph, rules: dict[str, list[Rule]], rounds: int = 4) -> Graph:
    """Run the rules over the graph until none fires (at most ``rounds`` sweeps)."""
    rw = Rewriter(rules)
    for _ in range(rounds):
        graph, fired = rw(graph)
        if not fired:
            break
    return graph
