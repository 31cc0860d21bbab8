"""Lowering for any array-API namespace: every equation calls the inputs' namespace.

This is what runs array-api-strict programs in CI, and what CuPy falls back to for
anything it does not turn into a kernel. Three things differ from NumPy:

- Constants and dtype parameters are host values in the IR; :meth:`constant` moves
  each one to the program's device once, when the program is built (the closure
  holds the device copy), never per call.
- A fused elementwise group becomes a helper function of namespace calls: the
  intermediates still exist, but the program reads as the fused graph does.
- Values a graph returns as literals are copied per call (:meth:`prepare`), so a
  caller that mutates a result never changes the program's constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tapegrad.backend import namespace_dtype

from ..ir import Eqn, FusedKernel, Graph, Lit, Var
from ..numpy_lowering import GenericLowering


@dataclass(frozen=True, eq=False)
class CopyConstant:
    """``xp.asarray(value, copy=True, device=device)``: a fresh result from a constant."""

    name: str = "copy_constant"
    elementwise: bool = False
    multiple_results: bool = False

    @staticmethod
    def impl(xp: Any, value: Any, *, device: Any = None) -> Any:
        """A new array holding ``value`` on ``device``."""
        return xp.asarray(value, copy=True, device=device)


COPY_CONSTANT = CopyConstant()


class ArrayAPILowering(GenericLowering):
    """Equations as calls into the namespace ``xp``; constants placed on ``device``."""

    name = "array_api"

    def __init__(self, xp: Any, device: Any = None) -> None:
        super().__init__(xp)
        self.device = device
        self._moved: dict[int, tuple] = {}  # id(host value) -> (host value, device value)

    # -- what a lowering may do -------------------------------------------------
    def supports_out_body(self, body: Graph) -> bool:
        return False  # the array API has no out= arguments

    # -- host values to the device ----------------------------------------------
    def constant(self, value: Any) -> Any:
        """The device version of a host constant or parameter (converted once)."""
        hit = self._moved.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        moved = self._convert(value)
        self._moved[id(value)] = (value, moved)
        return moved

    def _convert(self, v: Any) -> Any:
        if isinstance(v, (np.ndarray, np.generic)):
            return self.xp.asarray(v, device=self.device)
        if isinstance(v, np.dtype):
            return namespace_dtype(self.xp, v)
        if isinstance(v, tuple):
            return tuple(self._convert(x) for x in v)
        if isinstance(v, list):
            return [self._convert(x) for x in v]
        return v

    # -- graph and expressions --------------------------------------------------
    def prepare(self, graph: Graph) -> Graph:
        """Literal outputs become per-call copies of a device constant."""
        if not any(type(a) is Lit for a in graph.outputs):
            return graph
        eqns, outs = list(graph.eqns), []
        for a in graph.outputs:
            if type(a) is Lit:
                v = Var(a.shape, a.dtype if not a.is_scalar else np.dtype(a.dtype))
                eqns.append(Eqn(COPY_CONSTANT, (a,), {"device": self.device}, (v,)))
                a = v
            outs.append(a)
        return Graph(graph.inputs, tuple(eqns), tuple(outs))

    def expr(self, em, eqn, ins: list[str], buf: str | None) -> str:
        prim = eqn.prim
        if isinstance(prim, FusedKernel):
            return self.fused(em, eqn, ins)
        if prim is COPY_CONSTANT:
            ins = [em.bind(self.constant(np.asarray(eqn.inputs[0].value)), "c")]
        if prim.name == "identity":
            return ins[0]
        f = em.bind(prim.impl, f"{prim.name}_impl")
        xp = em.bind(self.xp, "xp")
        params = [f"{k}={em.value(self.constant(v))}" for k, v in eqn.params.items()]
        return f"{f}({', '.join([xp, *ins, *params])})"

    def fused(self, em, eqn, ins: list[str]) -> str:
        """A fused group as a helper function calling the namespace, op by op."""
        from ..codegen import body_source

        name = f"fused_{len(em.helpers)}"
        em.helpers.append(body_source(eqn.prim.body, name, self, em))
        em.notes.append(f"{name}: {len(eqn.prim.body.eqns)} ops as {self.xp.__name__} calls")
        return f"{name}({', '.join(ins)})"
