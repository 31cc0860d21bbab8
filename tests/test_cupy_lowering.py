"""The CuPy lowering without CuPy: generated CUDA source and the programs around it.

Kernel sources are checked as text (C expressions, parameter lists, dtypes), and also
*run*: :mod:`cuda_host` compiles them with the host C++ compiler, so each kernel runs
with C's own conversion rules and its values are compared with NumPy's. Every template
is run over every dtype combination NumPy accepts (:mod:`cuda_cases`). Whole programs
are generated with stand-in kernel builders that run those compiled sources, so
argument order, constants and reduction wiring are checked too. Building real ``cupy``
kernels needs CuPy (tests/test_cupy_nvcc.py compiles them without a GPU) and running
them needs a GPU (tests/test_cupy.py).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from cuda_cases import CUDA, Case, assert_matches, awkward_values, template_cases
from cuda_host import CXX, host_kernels
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tapegrad.compiler.backends import lowering_for_namespace
from tapegrad.compiler.backends.cupy import (
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
from tapegrad.pytree import tree_leaves, tree_map

needs_cxx = pytest.mark.skipif(CXX is None, reason="no C++ compiler to run kernel "
                               "sources on the host")


def run_kernel(src, *args):
    """Run one KernelSource, compiled for the host, on NumPy arrays."""
    (fn,) = host_kernels([src])
    with np.errstate(all="ignore"):
        out = fn(*args)
    return out if isinstance(out, tuple) else (out,)


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
    assert "bool t0 = i0 > ((float)0.5);" in op  # float32 vs a weak 0.5: in float32
    # maximum(float32, float64) computes in double: the float32 operand is cast
    assert "(((double)i0) > i1 || isnan(((double)i0))) ? ((double)i0) : i1" in op
    assert " ? t1 : ((double)t2);" in op  # where: both branches in the result type
    (abs_pow,) = [s for name, s in srcs.items() if "abs" in name]
    assert "fabs(i0)" in abs_pow.operation and "pow(t0, ((double)1.5))" in abs_pow.operation


def test_operands_are_cast_to_the_type_numpy_computes_in():
    def ops(x, y):
        return x / y + x * 2.5, (x >= 2.5) & (x < y)

    (a, b) = (np.arange(1, 7), np.arange(2, 8))
    ops_src = [kernel_source(e.prim.body) for e in _groups(_graph(ops, a, b))]
    text = "\n".join(s.operation for s in ops_src)
    assert "((double)i0) / ((double)i1)" in text  # true division, not C's integer one
    assert "((double)i0) * ((double)2.5)" in text  # 2.5 stays 2.5 next to int64
    assert "((double)i0) >= ((double)2.5)" in text  # compared in float64, as NumPy does
    assert "i0 < i1" in text  # same dtype: no cast


def test_integer_results_use_integer_templates():
    src = kernel_source(_groups(_graph(lambda x: tg.abs(x) * 3 - tg.sign(x),
                                       np.arange(-3, 3)))[0].prim.body)
    assert "(i0 < 0) ? -i0 : i0" in src.operation  # not fabs, which is for floats
    assert "isnan" not in src.operation
    assert registry["power"].cuda_integer == ""  # NumPy's integer power is not fused


def test_unsupported_dtype_or_primitive_is_not_fused():
    (group,) = _groups(_graph(lambda x: tg.exp(x) * 2.0 + 1.0, np.ones(4, np.float16)))
    assert kernel_source(group.prim.body) is None


# -- the C, evaluated ---------------------------------------------------------------------
_CASES = template_cases()


@needs_cxx
@pytest.mark.parametrize("name", sorted(CUDA))
def test_template_gives_numpys_values_on_every_dtype(name):
    cases = [c for c in _CASES if c.id.startswith(name + "(")]
    assert cases, name
    srcs = [(c, kernel_source(c.body, f"k{i}")) for i, c in enumerate(cases)]
    fused = [(c, s) for c, s in srcs if s is not None]
    for (case, _), fn in zip(fused, host_kernels([s for _, s in fused])):
        with np.errstate(all="ignore"):
            assert_matches(case, fn(*case.inputs))
    for case, src in srcs:
        if src is None:  # falls back to the array-API lowering; only for these reasons
            out = np.dtype(case.body.outputs[0].dtype)
            integer_power = out.kind in "biu" and registry[name].cuda_integer == ""
            assert out == np.float16 or integer_power or case.id.endswith(",-1)"), case.id


@needs_cxx
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


# Operations IEEE arithmetic rounds exactly, so C and NumPy must agree bit for bit
# however values grow; libm functions (exp, sin...) differ by an ulp between
# libraries, which a chain can amplify, and are checked one at a time above.
_UNARY = [tg.abs, tg.negative, tg.sqrt, tg.sign, tg.logical_not]
_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / b, tg.maximum, tg.minimum, lambda a, b: a < b,
           lambda a, b: a >= b, lambda a, b: a == b, tg.logical_and,
           lambda a, b: tg.where(a > b, a, b)]
_DTYPES = ["float32", "float64", "int32", "int64", "bool"]


@needs_cxx
@settings(deadline=None)
@given(data=st.data())
def test_random_fused_groups_give_numpys_values(data):
    """Random elementwise programs over mixed dtypes and Python numbers: every fused
    group's kernel, run as C, gives the dtype and values NumPy gives."""
    draw = data.draw
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_in = draw(st.integers(1, 3))
    dtypes = [draw(st.sampled_from(_DTYPES)) for _ in range(n_in)]
    steps = []
    for _ in range(draw(st.integers(2, 7))):
        if draw(st.booleans()):
            steps.append((draw(st.integers(0, len(_UNARY) - 1)), None))
        else:
            other = draw(st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -2.5, True]),
                                   st.integers(0, 9).map(lambda k: ("value", k))))
            steps.append((draw(st.integers(0, len(_BINARY) - 1)), other))

    def program(*xs):
        values = list(xs)
        for op, other in steps:
            a = values[-1]
            if other is None:
                values.append(_UNARY[op](a))
                continue
            b = values[other[1] % len(values)] if isinstance(other, tuple) else other
            values.append(_BINARY[op](a, b))
        return values[-1]

    args = [awkward_values(d, rng, 6) for d in dtypes]
    try:
        with np.errstate(all="ignore"):
            graph = _graph(program, *args)
    except (TypeError, ValueError, OverflowError):
        assume(False)  # NumPy refuses this combination (bool subtraction...)
    groups = [g for g in _groups(graph) if kernel_source(g.prim.body) is not None]
    assume(groups)
    srcs = [kernel_source(g.prim.body, f"k{i}") for i, g in enumerate(groups)]
    for group, src, fn in zip(groups, srcs, host_kernels(srcs)):
        body = group.prim.body
        ins = [awkward_values(v.dtype, rng, v.shape) for v in body.inputs]
        with np.errstate(all="ignore"):
            got = fn(*ins, *src.consts)
            want = tuple(eval_graph(body, ins, xp=np))
        assert_matches(Case(src.name, body, tuple(ins), want), got)


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
    """``cupy.ReductionKernel``'s meaning, with its C parts compiled for the host: map
    each element (the preamble's function), sum in the output type, then post-map."""

    def __init__(self, parts):
        in_p, out_p, map_e, reduce_e, post, ident, preamble, name, _ = parts
        assert (reduce_e, ident) == ("a + b", "0")
        out_t = out_p.split()[0]
        mapper = KernelSource(f"{name}_map", in_p, f"{out_t} m", f"m = {map_e};", ())
        poster = KernelSource(f"{name}_post", f"{out_t} a", out_p, f"{post};", ())
        self.map, self.post = host_kernels([mapper, poster], preamble=preamble)

    def __call__(self, *args, axis=None, keepdims=False):
        with np.errstate(all="ignore"):
            return self.post(np.sum(self.map(*args), axis=axis, keepdims=keepdims))


@needs_cxx
def _mlp_loss(W, b, X):
    z = tg.tanh(X @ W + b)
    return -tg.sum((z - tg.logsumexp(z, axis=1, keepdims=True))[:, 0]) / X.shape[0]


@pytest.mark.parametrize("model", ["workload", "workload_grad", "mean_axis", "mlp_grad"])
def test_program_with_kernels_matches_numpy(model):
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, (5, 6)).astype(np.float32)
    mlp = [rng.standard_normal(s).astype(np.float32) for s in [(6, 3), (3,), (5, 6)]]
    fn, args = {"workload": (workload, [x]), "workload_grad": (tg.grad(workload), [x]),
                "mean_axis": (lambda a: tg.mean(tg.tanh(a) * a + 0.5, axis=0), [x]),
                "mlp_grad": (tg.grad(_mlp_loss, argnums=(0, 1)), mlp)}[model]
    c = tg.compile(fn)
    want = tree_map(lambda t: t.numpy(), c(*args))
    low = CupyLowering(np, None, elementwise_kernel=_ElementwiseStandIn,
                       reduction_kernel=_ReductionStandIn)
    prog = generate(c.graph, low, name="program")
    got = prog.fn(*args)
    for g, w in zip(got, tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), w, rtol=2e-5, atol=1e-7)
    assert any("cupy.ElementwiseKernel" in n or "cupy.ReductionKernel" in n
               for n in prog.notes), prog.notes
    if model in ("workload", "mean_axis"):
        assert any("cupy.ReductionKernel" in n for n in prog.notes)
    if model == "mlp_grad":  # a group with an array constant (the 1/batch scale)
        assert any(re.search(r"\bk0\b", e.in_params) for e in _built_sources(c.graph))


def _built_sources(graph):
    srcs = [kernel_source(e.prim.body) for e in _groups(graph)]
    return [s for s in srcs if s is not None]


def test_cupy_backend_picks_the_cupy_lowering():
    class _Backend:
        name, xp = "cupy", np

    assert isinstance(lowering_for_namespace(_Backend(), device=None), CupyLowering)
