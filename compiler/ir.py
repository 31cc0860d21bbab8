"""The compiler's IR: small, frozen, jaxpr-like.

A :class:`Graph` is a list of input variables, a topologically ordered tuple of
equations, and output atoms. An :class:`Eqn` applies one primitive (from tapegrad's
registry, or a :class:`FusedKernel` made by the fusion pass) to atoms — variables or
literals — and defines new variables. Every variable is assigned exactly once.

``print(graph)`` shows it the way a person reads it::

    { lambda %0:f32[128,784] %1:f32[784,256] .
        %2:f32[128,256] = matmul %0 %1
        %3:f32[128,256] = tanh %2
      in (%3) }
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

_ids = itertools.count()


class Var:
    """A value defined once: an input or an equation output. Compared by identity."""

    __slots__ = ("id", "shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.id = next(_ids)
        self.shape = tuple(shape)
        self.dtype = dtype

    @property
    def nbytes(self) -> int:
        """Size of the value in bytes."""
        return int(np.prod(self.shape, dtype=np.int64)) * numpy_dtype(self.dtype).itemsize

    def __repr__(self) -> str:
        return f"%{self.id}"


class Lit:
    """A constant: a Python number or an array baked into the program."""

    __slots__ = ("value", "shape", "dtype")

    def __init__(self, value: Any) -> None:
        self.value = value
        if isinstance(value, (bool, int, float, complex)):
            self.shape = ()
            self.dtype = type(value)  # a weak (Python) scalar, as NumPy treats it
        else:
            self.shape = tuple(value.shape)
            self.dtype = value.dtype

    @property
    def is_scalar(self) -> bool:
        """A Python number (weakly typed), not an array."""
        return isinstance(self.value, (bool, int, float, complex))

    def __repr__(self) -> str:
        from tapegrad._printing import format_value

        return format_value(self.value)


Atom = "Var | Lit"


class Eqn(NamedTuple):
    """``outputs = prim(*inputs, **params)``."""

    prim: Any  # tapegrad.primitive.Primitive or FusedKernel
    inputs: tuple  # of Var | Lit
    params: dict
    outputs: tuple  # of Var


class Graph(NamedTuple):
    """A straight-line program: ``outputs = f(*inputs)``."""

    inputs: tuple  # of Var
    eqns: tuple  # of Eqn, in a valid evaluation order
    outputs: tuple  # of Var | Lit

    def __str__(self) -> str:
        return pp_graph(self)


#: ``"eval_graph"``: the reference interpreter (:mod:`.interpreter` registers it when
#: imported; it reads this module, so this module does not import it).
evaluator: dict[str, Any] = {}


@dataclass(frozen=True, eq=False)
class FusedKernel:
    """A group of elementwise equations run as one kernel (made by the fusion pass).

    ``body`` is a graph over the group's external inputs whose equations are all
    elementwise; its outputs are the group's outputs. Code generation lowers it to
    one numexpr call, a chain of NumPy ufuncs writing into ``out=`` buffers, or a
    ``cupy.ElementwiseKernel``.
    """

    body: Graph
    name: str = "fused"
    elementwise: bool = True
    multiple_results: bool = False
    vjp: Any = None
    grad_name: str = "Fused"
    xp_name: Any = None
    numexpr: Any = None
    saves_output: bool = False
    meta: dict = field(default_factory=dict)

    def impl(self, xp, *args, **params):
        """Evaluate the body (the reference semantics of the kernel)."""
        outs = evaluator["eval_graph"](self.body, args, xp=xp)
        return tuple(outs) if self.multiple_results else outs[0]


@dataclass(frozen=True)
class MemoryPlan:
    """What the generated code does with memory, equation by equation.

    Made by :func:`~tapegrad.compiler.passes.memory.plan_memory`, emitted as it is by
    code generation and checked by :func:`~tapegrad.compiler.lint.check_plan`.

    Attributes
    ----------
    frees : tuple of tuple of Var
        ``frees[i]``: the names deleted right after equation ``i``. Every intermediate
        value is deleted exactly once, after its last reader; graph inputs and outputs
        never are.
    reuse : dict
        ``{eqn index: Var}``: equation ``i`` writes its output into the dead buffer of
        that variable (same shape and dtype) through ``out=``.
    inplace : dict
        ``{eqn index: Var}``: equation ``i`` overwrites its own input variable.
    peak_bytes : int
        Planned peak bytes of live intermediate values (inputs excluded).
    lowering : object or None
        The lowering whose abilities the plan relies on (None: the primitives'
        declared facts). Code generation emits a plan only for its own lowering.
    """

    frees: tuple
    reuse: dict
    inplace: dict
    peak_bytes: int
    lowering: Any = field(default=None, compare=False, repr=False)


def numpy_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype for any backend's dtype (array-API dtypes by their name)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def short_dtype(dtype: Any) -> str:
    """``float32`` -> ``f32``; Python scalar types as ``weak``."""
    if isinstance(dtype, type) and dtype in (bool, int, float, complex):
        return f"weak_{dtype.__name__}"
    try:
        dt = numpy_dtype(dtype)
    except TypeError:
        return str(dtype)
    return {"f": "f", "i": "i", "u": "u", "b": "bool", "c": "c"}[dt.kind] + (
        "" if dt.kind == "b" else str(dt.itemsize * 8))


def pp_atom(a: Any, names: dict | None = None) -> str:
    if names is not None and type(a) is Var and a in names:
        return names[a]
    return repr(a)


def pp_var(v: Var, names: dict | None = None) -> str:
    return f"{pp_atom(v, names)}:{short_dtype(v.dtype)}[{','.join(map(str, v.shape))}]"


def pp_params(params: dict) -> str:
    from tapegrad._printing import format_value

    if not params:
        return ""
    return "[" + " ".join(f"{k}={format_value(v)}" for k, v in params.items()) + "]"


def pp_eqn(e: Eqn, indent: str = "    ", names: dict | None = None) -> str:
    outs = " ".join(pp_var(v, names) for v in e.outputs)
    args = " ".join(pp_atom(a, names) for a in e.inputs)
    name = getattr(e.prim, "name", str(e.prim))
    line = f"{indent}{outs} = {name}{pp_params(e.params)} {args}"
    if isinstance(e.prim, FusedKernel):
        inner = "\n".join(pp_eqn(x, indent + "    ", names) for x in e.prim.body.eqns)
        ins = " ".join(pp_var(v, names) for v in e.prim.body.inputs)
        outs_b = " ".join(pp_atom(v, names) for v in e.prim.body.outputs)
        line += f"  {{ lambda {ins} .\n{inner}\n{indent}    in ({outs_b}) }}"
    return line


def _number(g: Graph, names: dict) -> None:
    for v in g.inputs:
        names.setdefault(v, f"%{len(names)}")
    for e in g.eqns:
        if isinstance(e.prim, FusedKernel):
            _number(e.prim.body, names)
        for v in e.outputs:
            names.setdefault(v, f"%{len(names)}")


def pp_graph(g: Graph, renumber: bool = False) -> str:
    """The jaxpr-like text of a graph.

    With ``renumber``, variables are numbered ``%0, %1, ...`` in order of definition
    (stable text for documentation); otherwise each keeps its global id, which is also
    its name (``v12``) in generated code.
    """
    names: dict | None = None
    if renumber:
        names = {}
        _number(g, names)
    ins = " ".join(pp_var(v, names) for v in g.inputs)
    body = "\n".join(pp_eqn(e, names=names) for e in g.eqns)
    outs = ", ".join(pp_atom(a, names) for a in g.outputs)
    return f"{{ lambda {ins} .\n{body}\n  in ({outs}) }}" if body else \
        f"{{ lambda {ins} .\n  in ({outs}) }}"


def count_eqns(g: Graph) -> int:
    """Number of equations (a fused kernel counts once)."""
    return len(g.eqns)
