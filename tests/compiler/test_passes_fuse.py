"""Elementwise fusion: goldens, convexity, shapes, result preservation."""

import numpy as np
from tapegrad.compiler.ir import FusedKernel
from tapegrad.compiler.passes import fuse_elementwise
from tapegrad.compiler.passes.fuse import kernel_name
from test_passes_support import Builder, canon, check_pass, golden


def test_fuse_golden_layer_and_its_gradient():
    b = Builder()
    x, w, bias, gy = b.input((4, 5)), b.input((5, 3)), b.input((3,)), b.input((4, 3))
    h = b("tanh", b("add", b("matmul", x, w), bias))
    dz = b("multiply", gy, b("subtract", 1.0, b("multiply", h, h)))
    s = b("sum", h, axis=(1,), keepdims=True)  # h is read outside: a kernel output
    o = b("exp", b("subtract", h, s))
    u = b("add", o, b("exp", bias))  # exp(bias) has another shape: left alone
    after = check_pass(fuse_elementwise, b.graph(dz, u), exact=True)
    assert canon(after) == golden("""
        { lambda %0:f32[4,5] %1:f32[5,3] %2:f32[3] %3:f32[4,3] .
            %4:f32[4,3] = matmul %0 %1
            %5:f32[4,3] %6:f32[4,3] = fused_add_tanh_mul_sub_mul %4 %2 %3  { lambda %7:f32[4,3] %8:f32[3] %9:f32[4,3] .
                %10:f32[4,3] = add %7 %8
                %11:f32[4,3] = tanh %10
                %12:f32[4,3] = multiply %11 %11
                %13:f32[4,3] = subtract 1.0 %12
                %14:f32[4,3] = multiply %9 %13
                in (%11 %14) }
            %15:f32[4,1] = sum[axis=(1,) keepdims=True] %5
            %16:f32[3] = exp %2
            %17:f32[4,3] = fused_sub_exp_add %5 %15 %16  { lambda %18:f32[4,3] %19:f32[4,1] %20:f32[3] .
                %21:f32[4,3] = subtract %18 %19
                %22:f32[4,3] = exp %21
                %23:f32[4,3] = add %22 %20
                in (%23) }
          in (%6, %17) }
    """)  # noqa: E501
    kernels = [e.prim for e in after.eqns if isinstance(e.prim, FusedKernel)]
    assert [k.meta["shape"] for k in kernels] == [(4, 3), (4, 3)]
    assert [k.multiple_results for k in kernels] == [True, False]


def test_fuse_never_makes_a_cycle():
    # add reads exp directly and through a matmul: fusing exp with add would make the
    # kernel wait for a matmul that waits for the kernel.
    b = Builder()
    x = b.input((3, 3))
    a = b("exp", x)
    g = b.graph(b("add", a, b("matmul", a, a)))
    after = check_pass(fuse_elementwise, g, exact=True)
    assert [e.prim.name for e in after.eqns] == ["exp", "matmul", "add"]


def test_fuse_joins_sibling_groups_and_keeps_order_valid():
    b = Builder()
    x, y = b.input((6,)), b.input((6,))
    a = b("exp", x)
    s = b("sum", a, axis=None, keepdims=False)  # reads an early member, before the end
    c = b("sin", y)
    d = b("multiply", a, c)
    g = b.graph(b("add", d, s), s)
    after = check_pass(fuse_elementwise, g, exact=True)
    # exp and sin join through multiply; the sum that read exp now comes after the
    # kernel; add waits for the sum, so it cannot join without a cycle.
    assert canon(after) == golden("""
        { lambda %0:f32[6] %1:f32[6] .
            %2:f32[6] %3:f32[6] = fused_exp_sin_mul %0 %1  { lambda %4:f32[6] %5:f32[6] .
                %6:f32[6] = exp %4
                %7:f32[6] = sin %5
                %8:f32[6] = multiply %6 %7
                in (%6 %8) }
            %9:f32[] = sum[axis=None keepdims=False] %2
            %10:f32[6] = add %3 %9
          in (%10, %9) }
    """)


def test_single_equations_stay_unfused():
    b = Builder()
    x = b.input((3,))
    g = b.graph(b("matmul", b("exp", x), x))
    after = check_pass(fuse_elementwise, g, exact=True)
    assert after == g


def test_fuse_broadcasting_inputs_and_literals():
    b = Builder()
    x, col, row = b.input((3, 4)), b.input((3, 1)), b.input((4,))
    out = b("where", b("greater", x, col), b("multiply", x, row), np.float32(0.5))
    out = b("add", out, np.arange(4, dtype=np.float32))
    after = check_pass(fuse_elementwise, b.graph(out), exact=True)
    (e,) = after.eqns
    assert e.prim.meta["shape"] == (3, 4)
    assert [a.shape for a in e.inputs] == [(3, 4), (3, 1), (4,)]


def test_kernel_names():
    b = Builder()
    x = b.input((2,))
    ops = [b("exp", x)]
    for name in ("multiply", "subtract", "negative", "tanh", "add", "sin"):
        ops.append(b(name, ops[-1]) if name in ("negative", "tanh", "sin")
                   else b(name, ops[-1], 2.0))
    eqns = b.graph(ops[-1]).eqns
    assert kernel_name(eqns[:3]) == "fused_exp_mul_sub"
    assert kernel_name(eqns) == "fused_exp_mul_sub_neg_plus3"


def test_fuse_never_makes_a_cycle_between_two_groups():
    # {t2, a} reads the sum of t1, so c may not join t1 *and* leave t2 in another
    # kernel ({t1, c} -> sum -> {t2, a} -> c is a cycle); c joins t2's group instead.
    b = Builder()
    x = b.input((3, 4))
    t1, t2 = b("tanh", x), b("tanh", x)
    s = b("sum", t1, axis=(0,), keepdims=True)
    a = b("add", t2, s)
    c = b("add", t1, t2)
    after = check_pass(fuse_elementwise, b.graph(c, a), exact=True)
    assert canon(after) == golden("""
        { lambda %0:f32[3,4] .
            %1:f32[3,4] = tanh %0
            %2:f32[1,4] = sum[axis=(0,) keepdims=True] %1
            %3:f32[3,4] %4:f32[3,4] = fused_tanh_add_add %0 %2 %1  { lambda %5:f32[3,4] %6:f32[1,4] %7:f32[3,4] .
                %8:f32[3,4] = tanh %5
                %9:f32[3,4] = add %8 %6
                %10:f32[3,4] = add %7 %8
                in (%9 %10) }
          in (%4, %3) }
    """)  # noqa: E501
