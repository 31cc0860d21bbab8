"""CuPy lowering: fused elementwise groups as ``cupy.ElementwiseKernel``s.

A fused group's body (a small graph of elementwise equations) becomes CUDA C: one
typed local per equation, from the expression template its primitive declares
(``cuda``, ``cuda_integer``, ``cuda_operands``), then one assignment per output. CuPy
compiles that once per source text and caches the binary, so a group costs one kernel
launch instead of one per primitive, and its intermediates never reach global memory.
A ``sum`` or ``mean`` that is the only reader of a fused group's output goes one step
further: both become a single ``cupy.ReductionKernel`` whose map expression is the
group (:meth:`CupyLowering.prepare`).

Everything else (matmul, layout, groups with a primitive or dtype that has no template)
lowers as on any array-API namespace (:class:`.array_api.ArrayAPILowering`).

The source generation is plain Python and is tested without CuPy
(``tests/test_cupy_lowering.py``); only building the kernel objects needs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..ir import Eqn, FusedKernel, Graph, Lit, Var
from .array_api import ArrayAPILowering

#: NumPy dtype name -> CUDA C type. Other dtypes (complex, float16) are not fused.
C_TYPES = {
    "bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
    "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
    "uint32": "unsigned int", "uint64": "unsigned long long", "float32": "float",
    "float64": "double",
}

class KernelSource(NamedTuple):
    """What ``cupy.ElementwiseKernel(in_params, out_params, operation, name)`` takes.

    ``consts`` are the array literals of the body, passed after the group's inputs.
    """

    name: str
    in_params: str
    out_params: str
    operation: str
    consts: tuple


def c_type(dtype: Any) -> str | None:
    """The CUDA C type of a dtype (None when kernels do not handle it)."""
    try:
        return C_TYPES.get(np.dtype(dtype).name)
    except TypeError:
        return None


_C_DTYPES = {c: np.dtype(n) for n, c in C_TYPES.items()}


def _literal(value: Any, ctype: str) -> str | None:
    """A Python number as a C constant of ``ctype`` (None: it has no such value, as
    ``-1`` next to a uint8 array, which NumPy compares exactly)."""
    if isinstance(value, bool) and ctype == "bool":
        return "true" if value else "false"
    if isinstance(value, int):  # bools too, as 0 and 1
        dt = _C_DTYPES[ctype]
        if dt.kind in "iu" and not np.iinfo(dt).min <= value <= np.iinfo(dt).max:
            return None
        return f"(({ctype}){int(value)})"
    if isinstance(value, float) and math.isfinite(value):
        return f"(({ctype}){value!r})"
    return None


def _loop_dtype(eqn: Eqn) -> np.dtype | None:
    """The dtype NumPy's ufunc loop computes ``eqn`` in, or None to leave operands as
    they are.

    Arithmetic and math compute in the result's dtype (``int / int`` in float64,
    ``float32 * int64`` in float64); comparisons in the operands' promoted dtype, with
    Python numbers weak as in NumPy (``int_array >= 2.5`` compares in float64).
    """
    operands = eqn.prim.cuda_operands
    if operands == "as_is":
        return None
    if operands == "compare":
        try:
            return np.result_type(*(a.value if type(a) is Lit and a.is_scalar
                                    else np.dtype(a.dtype) for a in eqn.inputs))
        except (TypeError, OverflowError):
            return None
    return np.dtype(eqn.outputs[0].dtype)


def _operand(a: Any, text: dict, loop: np.dtype | None, consts: list,
             const_params: list) -> str | None:
    """C text of one operand, cast to ``loop`` (None: as it is)."""
    if type(a) is Var:
        ref = text[a]
    elif a.is_scalar:
        natural = {bool: "bool", int: "long long", float: "double"}.get(type(a.value))
        return _literal(a.value, c_type(loop) if loop is not None else natural)
    else:
        if c_type(a.dtype) is None:
            return None
        ref = f"k{len(consts)}"
        consts.append(a.value)
        const_params.append(f"{np.dtype(a.dtype).name} {ref}")
    if loop is None or np.dtype(a.dtype) == loop:
        return ref
    return f"(({c_type(loop)}){ref})"


def _template(prim: Any, out_dtype: Any) -> str | None:
    """The primitive's CUDA expression for this result dtype (None: not fused)."""
    if np.dtype(out_dtype).kind in "biu" and prim.cuda_integer is not None:
        return prim.cuda_integer or None  # "": integer results are not fused
    return getattr(prim, "cuda", None)


def kernel_source(body: Graph, name: str = "fused") -> KernelSource | None:
    """CUDA source of a fused elementwise body, or None when some part has no template.

    Inputs are ``i0, i1, ...`` (then array constants ``k0, ...``), outputs ``o0, ...``,
    and every equation result is a typed local ``t<k>``. Each operand is cast to the
    dtype NumPy computes that equation in (:func:`_loop_dtype`), so the kernel gives
    NumPy's values, not C's: ``int64 / int64`` divides in double, and a Python
    ``2.5`` next to an int64 array stays 2.5.
    """
    text: dict = {}
    ins, consts, const_params = [], [], []
    for k, v in enumerate(body.inputs):
        if c_type(v.dtype) is None:
            return None
        text[v] = f"i{k}"
        ins.append(f"{np.dtype(v.dtype).name} i{k}")
    lines = []
    for k, e in enumerate(body.eqns):
        if isinstance(e.prim, FusedKernel) or len(e.outputs) != 1:
            return None
        out = e.outputs[0]
        out_t = c_type(out.dtype)
        template = _template(e.prim, out.dtype) if out_t else None
        if template is None:
            return None
        loop = _loop_dtype(e)
        if e.prim.cuda_operands == "select":  # the condition as it is, branches in T
            loops = (None, loop, loop)
        else:
            loops = (loop,) * len(e.inputs)
        args = [_operand(a, text, lp, consts, const_params)
                for a, lp in zip(e.inputs, loops)]
        if None in args:
            return None
        local = f"t{k}"
        lines.append(f"{out_t} {local} = {template.format(*args, T=out_t)};")
        text[out] = local
    outs = []
    for k, a in enumerate(body.outputs):
        if type(a) is not Var or c_type(a.dtype) is None:
            return None
        outs.append(f"{np.dtype(a.dtype).name} o{k}")
        lines.append(f"o{k} = {text[a]};")
    return KernelSource(name, ", ".join(ins + const_params), ", ".join(outs),
                        "\n".join(lines), tuple(consts))


# -- sums of fused groups as reduction kernels ------------------------------------------
@dataclass(frozen=True, eq=False)
class FusedReduction:
    """``sum`` (or ``mean``) over ``axis`` of a fused elementwise group's one output.

    ``impl`` is the reference semantics (the group, then the reduction), used by any
    lowering that does not build a ``cupy.ReductionKernel``.
    """

    body: Graph
    kind: str  # "sum" or "mean"
    name: str = "fused_reduce"
    elementwise: bool = False
    multiple_results: bool = False

    def impl(self, xp: Any, *args: Any, axis: Any = None, keepdims: bool = False) -> Any:
        """Evaluate the body, then reduce."""
        from ..interpreter import eval_graph

        full = eval_graph(self.body, args, xp=xp)[0]
        return getattr(xp, self.kind)(full, axis=axis, keepdims=keepdims)


class ReductionSource(NamedTuple):
    """What ``cupy.ReductionKernel`` takes, in its argument order, and the array
    literals of the map (passed after the inputs, as for :class:`KernelSource`)."""

    in_params: str
    out_params: str
    map_expr: str
    reduce_expr: str
    post_map_expr: str
    identity: str
    preamble: str
    name: str
    consts: tuple


def reduction_source(red: FusedReduction, out_dtype: Any,
                     count: int) -> ReductionSource | None:
    """The ``cupy.ReductionKernel`` source of a fused reduction, or None."""
    src = kernel_source(red.body, red.name)
    out_t = c_type(out_dtype)
    if src is None or out_t is None or len(red.body.outputs) != 1:
        return None
    # The group becomes a device function; the map expression calls it.
    params = [p for p in src.in_params.split(", ") if p]
    c_params = ", ".join(f"{C_TYPES[p.split()[0]]} {p.split()[1]}" for p in params)
    names = ", ".join(p.split()[1] for p in params)
    body_c = src.operation.replace("o0 = ", "return ")
    preamble = f"__device__ {out_t} {red.name}_map({c_params}) {{\n{body_c}\n}}"
    post = "y = a" if red.kind == "sum" else f"y = a / ({out_t}){count}"
    return ReductionSource(src.in_params, f"{np.dtype(out_dtype).name} y",
                           f"{red.name}_map({names})", "a + b", post, "0", preamble,
                           red.name, src.consts)


def fuse_reductions(graph: Graph) -> Graph:
    """Merge each ``sum``/``mean`` with the fused group that alone feeds it."""
    readers: dict = {}
    for e in graph.eqns:
        for a in e.inputs:
            if type(a) is Var:
                readers[a] = readers.get(a, 0) + 1
    outputs = {a for a in graph.outputs if type(a) is Var}
    producer = {e.outputs[0]: i for i, e in enumerate(graph.eqns)
                if isinstance(e.prim, FusedKernel) and len(e.outputs) == 1}
    drop: set = set()
    eqns = list(graph.eqns)
    for i, e in enumerate(eqns):
        name = getattr(e.prim, "name", None)
        if name not in ("sum", "mean") or type(e.inputs[0]) is not Var:
            continue
        x = e.inputs[0]
        j = producer.get(x)
        if j is None or readers.get(x) != 1 or x in outputs:
            continue
        group = eqns[j]
        red = FusedReduction(group.prim.body, name, f"{group.prim.name}_{name}")
        if kernel_source(red.body) is None:
            continue
        eqns[i] = Eqn(red, group.inputs, dict(e.params), e.outputs)
        drop.add(j)
    if not drop:
        return graph
    return Graph(graph.inputs, tuple(e for k, e in enumerate(eqns) if k not in drop),
                 graph.outputs)


# -- the lowering -----------------------------------------------------------------------
_kernels: dict = {}  # source -> kernel object (CuPy caches binaries; this avoids rebuilds)


def _cupy_elementwise(src: KernelSource) -> Any:
    import cupy

    return cupy.ElementwiseKernel(src.in_params, src.out_params, src.operation, src.name)


def _cupy_reduction(src: ReductionSource) -> Any:
    import cupy

    return cupy.ReductionKernel(src.in_params, src.out_params, src.map_expr,
                                src.reduce_expr, src.post_map_expr, src.identity, src.name,
                                preamble=src.preamble)


class CupyLowering(ArrayAPILowering):
    """CuPy: fused groups as ElementwiseKernels, fused sums as ReductionKernels.

    ``elementwise_kernel`` and ``reduction_kernel`` build the kernel objects from their
    source; tests replace them to check the generated program without a GPU.
    """

    name = "cupy"

    def __init__(self, xp: Any, device: Any = None, fuse_kernels: bool = True,
                 elementwise_kernel: Callable = _cupy_elementwise,
                 reduction_kernel: Callable = _cupy_reduction) -> None:
        super().__init__(xp, device)
        self.fuse_kernels = fuse_kernels
        self.elementwise_kernel = elementwise_kernel
        self.reduction_kernel = reduction_kernel

    def _kernel(self, src: KernelSource | ReductionSource, build: Callable) -> Any:
        """The kernel built from ``src``; the array constants it takes as arguments
        (unhashable, and not part of the source) are left out of the cache key."""
        key = src._replace(consts=())
        k = _kernels.get((build, key))
        if k is None:
            k = _kernels[(build, key)] = build(key)
        return k

    def prepare(self, graph: Graph) -> Graph:
        graph = super().prepare(graph)
        return fuse_reductions(graph) if self.fuse_kernels else graph

    def expr(self, em, eqn, ins: list[str], buf: str | None) -> str:
        prim = eqn.prim
        if isinstance(prim, FusedReduction):
            out = eqn.outputs[0]
            count = math.prod(prim.body.outputs[0].shape) // max(1, math.prod(out.shape))
            src = reduction_source(prim, out.dtype, count)
            if src is not None:
                k = em.bind(self._kernel(src, self.reduction_kernel), prim.name)
                consts = [em.bind(self.constant(c), "c") for c in src.consts]
                p = eqn.params
                em.notes.append(f"{prim.name}: {len(prim.body.eqns)} ops + {prim.kind} as "
                                "cupy.ReductionKernel")
                return (f"{k}({', '.join(ins + consts)}, axis={p['axis']!r}, "
                        f"keepdims={p['keepdims']!r})")
        if isinstance(prim, FusedKernel) and self.fuse_kernels:
            src = kernel_source(prim.body, prim.name)
            if src is not None:
                k = em.bind(self._kernel(src, self.elementwise_kernel), prim.name)
                consts = [em.bind(self.constant(c), "c") for c in src.consts]
                em.notes.append(f"{prim.name}: {len(prim.body.eqns)} ops as "
                                "cupy.ElementwiseKernel")
                return f"{k}({', '.join(ins + consts)})"
        return super().expr(em, eqn, ins, buf)
