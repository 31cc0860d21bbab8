"""How equations become Python on NumPy (and, by ``impl``, on any array namespace).

A lowering answers, for one equation: the expression that computes it, whether it can
write into a given buffer (``out=``), and whether its result is a freshly allocated
array (so its memory may be reused once it is dead) rather than a view. A fused group
of elementwise equations becomes one helper function: a chain of NumPy ufunc calls
writing into dead temporaries through ``out=``, or one precompiled numexpr call when
that is measurably faster for this group at this size (timed once, at compile time).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .interpreter import eval_graph
from .ir import FusedKernel, Graph, Lit, Var

try:  # numexpr is optional (the ``fast`` extra)
    import numexpr
    from numexpr.necompiler import getType as _ne_type
except ImportError:  # pragma: no cover
    numexpr = None

# Below this many elements a numexpr call's fixed cost (a few microseconds) always
# loses to a short ufunc chain; above it, both are timed.
NUMEXPR_MIN_SIZE = 1 << 14
_decisions: dict = {}  # fused group signature -> "numexpr" | "numpy"
_add_reduce = np.add.reduce


def _all_scalar(eqn) -> bool:
    return all(not a.shape if type(a) is Var else a.is_scalar or not a.shape
               for a in eqn.inputs)


def _ufunc_named(prim: Any) -> bool:
    return getattr(prim, "ufunc", None) is not None


def _ufunc(prim: Any, params: dict) -> Any:
    """The primitive's ufunc when the call is a plain ufunc call (no parameters)."""
    f = getattr(prim, "ufunc", None)
    return f if f is not None and not params else None


class GenericLowering:
    """Calls each primitive's ``impl`` with the namespace bound: right on any backend."""

    name = "generic"
    scalar_wrap = None

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def fresh(self, eqn) -> bool:
        return False

    def supports_out(self, eqn) -> bool:
        return False

    def expr(self, em, eqn, ins: list[str], buf: str | None) -> str:
        prim = eqn.prim
        if prim.name == "identity" and not isinstance(prim, FusedKernel):
            return ins[0]
        f = em.bind(prim.impl, f"{prim.name}_impl")
        xp = em.bind(self.xp, "xp")
        args = [xp, *ins] + [f"{k}={em.value(v)}" for k, v in eqn.params.items()]
        return f"{f}({', '.join(args)})"


class NumpyLowering(GenericLowering):
    """NumPy: ufuncs called directly, cheap method forms for layout operations."""

    name = "numpy"
    scalar_wrap = np.asarray  # NumPy returns scalars from 0-d operations

    def __init__(self, numexpr_mode: Any = "auto") -> None:
        super().__init__(np)
        self.numexpr_mode = numexpr_mode if numexpr is not None else False

    # -- what a lowering may do -------------------------------------------------
    def fresh(self, eqn) -> bool:
        prim = eqn.prim
        if isinstance(prim, FusedKernel):
            return True
        # Declared fresh; a ufunc only when called as one (without parameters).
        if _ufunc_named(prim):
            return _ufunc(prim, eqn.params) is not None
        return prim.aliasing == "fresh"

    def supports_out(self, eqn) -> bool:
        prim = eqn.prim
        if isinstance(prim, FusedKernel):
            return self.supports_out_body(prim.body) and not self._use_numexpr(eqn)
        if prim.operator is not None and _all_scalar(eqn):
            return False
        return _ufunc(prim, eqn.params) is not None

    def supports_out_body(self, body: Graph) -> bool:
        """A fused helper can take ``out=``: its one output is its last ufunc's."""
        last = body.eqns[-1] if body.eqns else None
        return (len(body.outputs) == 1 and last is not None
                and last.outputs[0] is body.outputs[0] and bool(last.outputs[0].shape)
                and _ufunc(last.prim, last.params) is not None)

    # -- expressions ------------------------------------------------------------
    def expr(self, em, eqn, ins: list[str], buf: str | None) -> str:
        prim = eqn.prim
        if isinstance(prim, FusedKernel):
            return self.fused(em, eqn, ins, buf)
        # On 0-d values a Python operator uses NumPy's scalar arithmetic, several times
        # faster than a ufunc call (same IEEE operations, same type promotion).
        op = prim.operator
        if op is not None and buf is None and _all_scalar(eqn):
            return f"{op}{ins[0]}" if len(ins) == 1 else f"{ins[0]} {op} {ins[1]}"
        f = _ufunc(prim, eqn.params)
        if f is not None:
            fn = em.bind(f, f.__name__)
            return f"{fn}({', '.join(ins)}{f', out={buf}' if buf else ''})"
        rule = getattr(self, "_" + prim.name, None)
        if rule is not None:
            out = rule(em, eqn, ins)
            if out is not None:
                return out
        return super().expr(em, eqn, ins, buf)

    def _identity(self, em, eqn, ins):
        return ins[0]

    def _reshape(self, em, eqn, ins):
        return f"{ins[0]}.reshape({eqn.params['shape']!r})"

    def _transpose(self, em, eqn, ins):
        return f"{ins[0]}.transpose({eqn.params['axes']!r})"

    def _astype(self, em, eqn, ins):
        return f"{ins[0]}.astype({em.bind(np.dtype(eqn.params['dtype']), 'dtype')})"

    def _getitem(self, em, eqn, ins):
        return f"{ins[0]}[{em.value(eqn.params['idx'])}]"

    def _broadcast_to(self, em, eqn, ins):
        return f"{em.bind(np.broadcast_to, 'broadcast_to')}({ins[0]}, {eqn.params['shape']!r})"

    def _where(self, em, eqn, ins):
        return f"{em.bind(np.where, 'where')}({', '.join(ins)})"

    def _sum(self, em, eqn, ins):
        red = em.bind(_add_reduce, "add_reduce")
        p = eqn.params
        return f"{red}({ins[0]}, {p['axis']!r}, None, None, {p['keepdims']!r})"

    def _mean(self, em, eqn, ins):
        x = eqn.inputs[0]
        if np.dtype(x.dtype).char not in "fd":
            return None
        p = eqn.params
        axes = range(len(x.shape)) if p["axis"] is None else p["axis"]
        n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        red = em.bind(_add_reduce, "add_reduce")
        div = em.bind(np.true_divide, "true_divide")
        return f"{div}({red}({ins[0]}, {p['axis']!r}, None, None, {p['keepdims']!r}), {n})"

    def _sum_to(self, em, eqn, ins):
        shape = eqn.params["shape"]
        in_shape = eqn.inputs[0].shape
        lead = len(in_shape) - len(shape)
        keep = tuple(lead + i for i, s in enumerate(shape) if s == 1 and in_shape[lead + i] != 1)
        red = em.bind(_add_reduce, "add_reduce")
        if not keep:
            if not lead:
                return f"{ins[0]}.reshape({shape!r})"
            return f"{red}({ins[0]}, {tuple(range(lead))!r})"
        axes = tuple(range(lead)) + keep
        return f"{red}({ins[0]}, {axes!r}, None, None, True).reshape({shape!r})"

    # -- fused elementwise groups -----------------------------------------------
    def _use_numexpr(self, eqn) -> bool:
        if not self.numexpr_mode:
            return False
        key = _group_key(eqn)
        if key is None:
            return False
        if self.numexpr_mode is True:
            return True
        if key not in _decisions:
            _decisions[key] = _time_candidates(eqn)
        return _decisions[key] == "numexpr"

    def fused(self, em, eqn, ins: list[str], buf: str | None) -> str:
        prim = eqn.prim
        body = prim.body
        n = len(em.helpers)
        if self._use_numexpr(eqn):
            expr, names, consts = numexpr_expression(body)
            sig = [(nm, _ne_type(np.empty((), v.dtype))) for nm, v in zip(names, body.inputs)]
            sig += [(nm, _ne_type(np.asarray(c))) for nm, c in consts]
            fn = em.bind(numexpr.NumExpr(expr, signature=sig), f"numexpr_{n}")
            extra = [em.bind(np.asarray(c), "c") for _, c in consts]
            em.notes.append(f"fused_{n}: {len(body.eqns)} ops as numexpr '{expr}'")
            return f"{fn}({', '.join(ins + extra)})"
        from .codegen import body_source

        name = f"fused_{n}"
        em.helpers.append(body_source(body, name, self, em))
        em.notes.append(f"{name}: {len(body.eqns)} ops as a NumPy ufunc chain")
        return f"{name}({', '.join(ins)}{f', out={buf}' if buf else ''})"



def numexpr_expression(body: Graph) -> tuple[str, list[str], list]:
    """The numexpr text of a single-output elementwise body.

    Returns the expression, the input names (one per body input) and ``(name, value)``
    constants. A Python-number literal becomes a 0-d array of the dtype of the
    equation reading it (NumPy's weak-scalar rule): numexpr would otherwise compute in
    double precision, and a float32 step of a float64 group must still round to float32.
    """
    names = [f"i{k}" for k in range(len(body.inputs))]
    text: dict = dict(zip(body.inputs, names))
    consts: list = []
    for e in body.eqns:
        args = []
        for a in e.inputs:
            if type(a) is Lit:
                nm = f"k{len(consts)}"
                val = a.value
                consts.append((nm, np.asarray(val, dtype=np.dtype(e.outputs[0].dtype))
                               if a.is_scalar else np.asarray(val)))
                args.append(nm)
            else:
                args.append(text[a])
        text[e.outputs[0]] = "(" + e.prim.numexpr.format(*args) + ")"
    return text[body.outputs[0]], names, consts


def _group_key(eqn) -> Any:
    body = eqn.prim.body
    if len(body.outputs) != 1 or type(body.outputs[0]) is not Var:
        return None
    size = int(np.prod(body.outputs[0].shape, dtype=np.int64))
    if size < NUMEXPR_MIN_SIZE:
        return None
    for e in body.eqns:
        if not getattr(e.prim, "numexpr", None) or len(e.outputs) != 1:
            return None
        if np.dtype(e.outputs[0].dtype).char not in "fd":
            return None
    for v in body.inputs:  # numexpr's abs(complex) is complex; uint64 has no numexpr type
        dt = np.dtype(v.dtype)
        if dt.kind not in "biuf" or (dt.kind == "u" and dt.itemsize == 8):
            return None
    expr, _, consts = numexpr_expression(body)
    types = tuple((v.shape, np.dtype(v.dtype).str) for v in body.inputs)
    return (expr, types, tuple(np.asarray(c).dtype.str for _, c in consts))


def _time_candidates(eqn) -> str:
    """Time numexpr against the ufunc chain on random inputs; pick the faster."""
    body = eqn.prim.body
    rng = np.random.default_rng(0)
    args = [rng.uniform(0.5, 1.5, v.shape).astype(v.dtype) for v in body.inputs]
    expr, names, consts = numexpr_expression(body)
    sig = [(nm, _ne_type(a)) for nm, a in zip(names, args)]
    sig += [(nm, _ne_type(c)) for nm, c in consts]
    try:
        ex = numexpr.NumExpr(expr, signature=sig)
        cargs = args + [c for _, c in consts]
        got = ex(*cargs)
    except Exception:  # noqa: BLE001 - numexpr cannot express it: use NumPy
        return "numpy"
    with np.errstate(all="ignore"):
        want = eval_graph(body, args, xp=np)[0]
    out = body.outputs[0]
    if got.dtype != np.dtype(out.dtype) or got.shape != tuple(out.shape) or \
            not np.allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True):
        return "numpy"

    def best(f) -> float:
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    with np.errstate(all="ignore"):
        t_np = best(lambda: eval_graph(body, args, xp=np))
    t_ne = best(lambda: ex(*cargs))
    return "numexpr" if t_ne < 0.8 * t_np else "numpy"
