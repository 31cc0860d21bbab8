"""Records of the Wengert list.

A :class:`Node` is one recorded application of a primitive: the primitive, its
arguments (tensors, arrays or Python numbers), its parameters, and the output value when
the primitive's VJP needs it. A tensor produced by an operation points at its node and
its output index; ``tensor.grad_fn`` is that node, in PyTorch's terms.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .primitive import Primitive

from .tensor import Tensor

_seq = itertools.count()


class Node:
    """One record: ``outputs = prim(*args, **params)``.

    Nodes are numbered in recording order (``seq``), so a node's inputs always have
    smaller numbers than the node itself: reverse ``seq`` order is a valid order for the
    backward sweep.
    """

    __slots__ = ("prim", "args", "params", "out", "seq", "variant", "hooks", "retained",
                 "site", "edges", "__weakref__")

    def __init__(self, prim: Primitive, args: tuple, params: dict, out: Any,
                 variant: int | None = 0):
        self.prim = prim
        self.args = args  # None once freed by a backward pass without retain_graph
        self.params = params
        self.out = out  # output data (tuple for multi-output), or None if not saved
        self.seq = next(_seq)
        self.variant = variant  # None: computed from the arguments when first asked
        self.hooks = None  # {output index: [hook, ...]} for register_hook on non-leaves
        self.retained = None  # {output index: weakref to tensor} for retain_grad()
        self.site = None  # "file:line" of the recording call, under detect_anomaly
        self.edges = None  # after free(): what next_functions needs, without the values

    def name(self) -> str:
        """PyTorch-style name, e.g. ``"MulBackward1"``."""
        if self.variant is None:
            self.variant = self.prim.variant(self.args)
        return f"{self.prim.grad_name}Backward{self.variant}"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple:
        """Pairs ``(node or AccumulateGrad or None, output index)``, one per argument."""
        if self.args is None:  # freed: the links were kept, the values dropped
            return tuple(e if type(e) is tuple else (AccumulateGrad(e), 0)
                         for e in self.edges or ())
        pairs = []
        for a in self.args:
            if isinstance(a, Tensor) and a.requires_grad:
                if a._node is None:
                    pairs.append((AccumulateGrad(a), 0))
                else:
                    pairs.append((a._node, a._idx))
            else:
                pairs.append((None, 0))
        return tuple(pairs)

    def free(self) -> None:
        """Drop the saved values (after a backward pass without ``retain_graph``).

        The graph's structure stays (``next_functions``, as PyTorch keeps it, so a graph
        can still be drawn): upstream records, and leaves, but no intermediate arrays.
        """
        args = self.args
        if self.variant is None:
            self.variant = self.prim.variant(args)
        # Per argument: a leaf that requires grad (AccumulateGrad's variable), an
        # upstream (node, output index), or (None, 0). One loop: this runs per record.
        edges = []
        for a in args:
            if type(a) is Tensor and a._rg:
                n = a._node
                edges.append(a if n is None else (n, a._idx))
            else:
                edges.append(_NO_EDGE)
        self.edges = edges
        self.args = None
        self.out = None


_NO_EDGE = (None, 0)


class AccumulateGrad:
    """The sink that accumulates a leaf tensor's gradient into ``.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    next_functions = ()
