"""The CuPy lowering without CuPy: generated CUDA source and the programs around it.

Kernel sources are checked as text (C expressions, parameter lists, dtypes), and also
*run*: a small translator turns the generated C back into NumPy so each kernel's values
are compared with the group's reference semantics. Whole programs are generated with
stand-in kernel builders that run that translation, so argument order, constants and
reduction wiring are checked too. Only building real ``cupy`` kernels needs a GPU
(tests/test_cupy.py).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from tapegrad.compiler.backends import lowering_for_namespace
from tapegrad.compiler.backends.cupy import (
    CUDA,
    CupyLowering,
    FusedReduction,
    KernelSource,
    fuse_reductions,
    kernel_source,
    reduction_source,
)
from tapegrad.compiler.codegen import generate
from tapegrad.compiler.interpreter import eval_graph
from tapegrad.compiler.ir import FusedKernel

import tapegrad as tg
from tapegrad.primitive import registry

# -- a translator from the generated C back to NumPy --------------------------------------
_NP_TYPES = {"float": np.float32, "double": np.float64, "bool": np.bool_,
             "long long": np.int64, "int": np.int32}
_FUNCS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "expm1": np.expm1,
          "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt, "tanh": np.tanh,
          "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin, "atan": np.arctan,
          "atan2": np.arctan2, "pow": np.power, "fabs": np.abs, "isnan": np.isnan,
          "max": np.maximum, "where": np.where, "logical_not": np.logical_not}
_CAST = "|".join(sorted(map(re.escape, _NP_TYPES), key=len, reverse=True))


def c_to_numpy(expr: str) -> str:
    """Python for one generated C expression (the subset the templates produce)."""
    if " ? " in expr:  # one top-level ternary per template
        cond, rest = expr.split(" ? ", 1)
        a, b = rest.split(" : ", 1)
        return f"where({c_to_numpy(cond)}, {c_to_numpy(a)}, {c_to_numpy(b)})"
    expr = re.sub(rf"\(({_CAST})\)\(", lambda m: f"cast_{m[1].replace(' ', '_')}(", expr)
    expr = re.sub(rf"\(({_CAST})\)([\w.]+)",
                  lambda m: f"cast_{m[1].replace(' ', '_')}({m[2]})", expr)
    expr = expr.replace("&&", "&").replace("||", "|")
    return re.sub(r"!(?!=)(\w+)", r"logical_not(\1)", expr)


def _caster(t):
    return lambda v: np.asarray(v).astype(t)


def run_kernel(src, *args):
    """Evaluate a KernelSource's operation on NumPy arrays (broadcast like CuPy)."""
    names = [p.split()[-1] for p in src.in_params.split(", ") if p]
    env = dict(_FUNCS)
    env.update({f"cast_{k.replace(' ', '_')}": _caster(t) for k, t in _NP_TYPES.items()})
    shape = np.broadcast_shapes(*[np.shape(a) for a in args])
    env.update({n: np.broadcast_to(a, shape) for n, a in zip(names, args)})
    outs = {}
    with np.errstate(all="ignore"):
        for line in src.operation.splitlines():
            lhs, rhs = line.rstrip(";").split(" = ", 1)
            target = lhs.split()[-1]
            value = eval(c_to_numpy(rhs), env)  # noqa: S307 - our own generated text
            if lhs.split()[0] in _NP_TYPES or lhs.startswith("long long"):
                ctype = lhs.rsplit(" ", 1)[0]
                value = np.asarray(value).astype(_NP_TYPES[ctype])
            env[target] = value
            if target.startswith("o"):
                outs[int(target[1:])] = value
    dtypes = [p.split()[0] for p in src.out_params.split(", ")]
    return tuple(np.asarray(outs[k]).astype(d) for k, d in enumerate(dtypes))


# -- fixtures: compiled graphs with fused groups --------------------------------------------
def _graph(fn, *args, **options):
    c = tg.compile(fn, **options)
    c(*args)
    return c.graph


def _groups(graph):
    return [e for e in graph.eqns if isinstance(e.prim, FusedKernel)]


def workload(x):
    return tg.sum(tg.sin(x) * tg.exp(-x * x) + tg.log1p(x * x) * tg.tanh(x))


def mixed(x, y):
    return tg.where(x > 0.5, tg.maximum(x, y), -x) * 2.0 + tg.abs(y) ** 1.5


# -- source text --------------------------------------------------------------------------
def test_every_template_names_a_registered_elementwise_primitive():
    for name in CUDA:
        assert name in registry and registry[name].elementwise, name


def test_workload_kernel_source_text():
    (group,) = _groups(_graph(tg.grad(workload), np.ones(64, np.float32)))
    src = kernel_source(group.prim.body, group.prim.name)
    assert src.in_params == "float32 i0"
    assert src.out_params == "float32 o0"
    lines = src.operation.splitlines()
    assert "float t0 = sin(i0);" in lines
    assert any(re.fullmatch(r"float t\d+ = tanh\(i0\);", ln) for ln in lines)
    assert any("((float)1.0)" in ln for ln in lines)  # weak scalars take the array type
    assert lines[-1].startswith("o0 = t")
    assert all(ln.startswith(("float ", "o0 = ")) for ln in lines)


def test_mixed_dtype_kernel_source_text():
    x, y = np.ones((3, 4), np.float32), np.ones(4, np.float64)
    srcs = {e.prim.name: kernel_source(e.prim.body, e.prim.name)
            for e in _groups(_graph(mixed, x, y))}
    (src,) = [s for name, s in srcs.items() if "greater" in name]
    assert src.in_params == "float32 i0, float64 i1, float64 i2"
    assert src.out_params == "float64 o0"
    op = src.operation
    assert "bool t0 = i0 > ((float)0.5);" in op
    assert "((i0 > i1) || isnan(i0)) ? (double)i0 : (double)i1" in op
    assert " ? (double)t1 : (double)t2;" in op  # where: both branches in the result type
    (abs_pow,) = [s for name, s in srcs.items() if "abs" in name]
    assert "fabs(i0)" in abs_pow.operation and "pow((double)" in abs_pow.operation


def test_unsupported_dtype_or_primitive_is_not_fused():
    (group,) = _groups(_graph(lambda x: tg.exp(x) * 2.0 + 1.0, np.ones(4, np.float16)))
    assert kernel_source(group.prim.body) is None


# -- the C, evaluated -----------------------------------------------------------------------
@pytest.mark.parametrize("case", ["workload_grad", "mixed", "mixed_grad"])
def test_generated_c_computes_the_group(case):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    y = rng.uniform(-1, 1, 4)
    fn, args = {"workload_grad": (tg.grad(workload), (x,)), "mixed": (mixed, (x, y)),
                "mixed_grad": (tg.grad(lambda a, b: tg.sum(mixed(a, b))), (x, y))}[case]
    for group in _groups(_graph(fn, *args)):
        body = group.prim.body
        src = kernel_source(body, group.prim.name)
        assert src is not None
        ins = [rng.uniform(0.1, 1.0, v.shape).astype(v.dtype) for v in body.inputs]
        got = run_kernel(src, *ins, *src.consts)
        want = eval_graph(body, ins, xp=np)
        for g, w in zip(got, want):
            assert g.dtype == np.asarray(w).dtype
            np.testing.assert_allclose(g, w, rtol=1e-6 if g.dtype == np.float32 else 1e-12)


# -- reductions --------------------------------------------------------------------------
def test_sum_of_a_fused_group_becomes_one_reduction_kernel():
    x = np.linspace(-1, 1, 40, dtype=np.float32).reshape(4, 10)
    graph = _graph(lambda a: tg.mean(tg.sin(a) * tg.exp(-a * a) + 1.0, axis=1), x)
    fused = fuse_reductions(graph)
    (red,) = [e for e in fused.eqns if isinstance(e.prim, FusedReduction)]
    assert len(fused.eqns) == len(graph.eqns) - 1 and red.prim.kind == "mean"
    src = reduction_source(red.prim, red.outputs[0].dtype, 10)
    in_p, out_p, map_e, reduce_e, post, ident, preamble, name, _ = src
    assert (in_p, out_p, reduce_e, post, ident) == (
        "float32 i0", "float32 y", "a + b", "y = a / (float)10", "0")
    assert map_e == f"{name}_map(i0)"
    assert preamble.startswith(f"__device__ float {name}_map(float i0) {{")
    assert preamble.rstrip("}\n").splitlines()[-1].startswith("return t")
    np.testing.assert_allclose(red.prim.impl(np, x, **red.params),
                               np.mean(np.sin(x) * np.exp(-x * x) + 1.0, axis=1), rtol=1e-6)


def test_group_read_elsewhere_is_not_merged_into_the_sum():
    x = np.ones(8, np.float32)
    graph = _graph(lambda a: (lambda h: (tg.sum(h), h))(tg.sin(a) * 2.0 + a), x)
    assert fuse_reductions(graph) is graph


# -- whole programs with stand-in kernels ---------------------------------------------------
class _ElementwiseStandIn:
    def __init__(self, src):
        self.src = src

    def __call__(self, *args):
        out = run_kernel(self.src, *args)
        return out[0] if len(out) == 1 else out


class _ReductionStandIn:
    def __init__(self, parts):
        self.parts = parts

    def __call__(self, *args, axis=None, keepdims=False):
        in_p, out_p, map_e, _, post, _, preamble, name, consts = self.parts
        body = preamble.split("{\n", 1)[1].rsplit("\n}", 1)[0].replace("return ", "o0 = ")
        mapped = run_kernel(KernelSource(name, in_p, out_p, body, consts), *args)[0]
        total = np.sum(mapped, axis=axis, keepdims=keepdims)
        return (total / (mapped.size // max(1, total.size)) if "/" in post else total
                ).astype(out_p.split()[0])


@pytest.mark.parametrize("model", ["workload", "workload_grad", "mean_axis"])
def test_program_with_kernels_matches_numpy(model):
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, (5, 6)).astype(np.float32)
    fn = {"workload": workload, "workload_grad": tg.grad(workload),
          "mean_axis": lambda a: tg.mean(tg.tanh(a) * a + 0.5, axis=0)}[model]
    c = tg.compile(fn)
    want = c(x).numpy()
    low = CupyLowering(np, None, elementwise_kernel=_ElementwiseStandIn,
                       reduction_kernel=_ReductionStandIn)
    prog = generate(c.graph, low, name="program")
    got = prog.fn(x)[0]
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5)
    assert any("cupy.ElementwiseKernel" in n or "cupy.ReductionKernel" in n
               for n in prog.notes), prog.notes
    if model != "workload_grad":
        assert any("cupy.ReductionKernel" in n for n in prog.notes)


def test_cupy_backend_picks_the_cupy_lowering():
    class _Backend:
        name, xp = "cupy", np

    assert isinstance(lowering_for_namespace(_Backend(), device=None), CupyLowering)
