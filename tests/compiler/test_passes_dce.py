"""Dead-code elimination: goldens and result preservation."""

import numpy as np
from tapegrad.compiler.ir import Graph
from tapegrad.compiler.passes import dce, fuse_elementwise
from test_passes_support import Builder, canon, check_pass, golden


def _joint_graph():
    """Forward ``sum(tanh(x*w))`` and the gradients for both inputs, as lowered."""
    b = Builder()
    x, w = b.input((4,)), b.input((4,))
    z = b("multiply", x, w)
    y = b("tanh", z)
    b("sum", y, axis=None, keepdims=False)  # the loss: nobody returns it
    g = b("broadcast_to", b("reshape", np.ones((), np.float32), shape=(1,)), shape=(4,))
    gz = b("multiply", g, b("subtract", 1.0, b("multiply", y, y)))
    gx = b("multiply", gz, w)  # the gradient for x: nobody asked for it
    gw = b("multiply", gz, x)
    return b, gx, gw


def test_dce_golden_forward_and_unrequested_gradient():
    b, gx, gw = _joint_graph()
    after = check_pass(dce, b.graph(gw), exact=True)
    assert canon(after) == golden("""
        { lambda %0:f32[4] %1:f32[4] .
            %2:f32[4] = multiply %0 %1
            %3:f32[4] = tanh %2
            %4:f32[1] = reshape[shape=(1,)] array(1.0)
            %5:f32[4] = broadcast_to[shape=(4,)] %4
            %6:f32[4] = multiply %3 %3
            %7:f32[4] = subtract 1.0 %6
            %8:f32[4] = multiply %5 %7
            %9:f32[4] = multiply %8 %0
          in (%9) }
    """)


def test_dce_keeps_everything_needed():
    b, gx, gw = _joint_graph()
    g = b.graph(gx, gw)
    after = check_pass(dce, g, exact=True)
    assert len(after.eqns) == len(g.eqns) - 1  # only the loss goes


def test_dce_keeps_unused_inputs_and_literal_outputs():
    b = Builder()
    x, unused = b.input((2,)), b.input((3,))
    b("exp", unused)
    g = b.graph(b("sin", x))
    after = check_pass(dce, g, exact=True)
    assert after.inputs == (x, unused) and len(after.eqns) == 1
    empty = dce(Graph(g.inputs, g.eqns, ()))
    assert empty.eqns == ()


def test_dce_prunes_fused_kernel_outputs():
    b = Builder()
    x = b.input((3,))
    t = b("tanh", x)
    u = b("multiply", t, t)
    v = b("sin", b("add", u, 1.0))
    fused = fuse_elementwise(b.graph(t, v))
    (kernel,) = fused.eqns
    assert len(kernel.outputs) == 2
    only_v = Graph(fused.inputs, fused.eqns, (fused.outputs[1],))
    after = check_pass(dce, only_v, exact=True)
    (kernel,) = after.eqns
    assert len(kernel.outputs) == 1 and not kernel.prim.multiple_results
    assert len(kernel.prim.body.outputs) == 1
    assert canon(after) == golden("""
        { lambda %0:f32[3] .
            %1:f32[3] = fused_tanh_mul_add_sin %0  { lambda %2:f32[3] .
                %3:f32[3] = tanh %2
                %4:f32[3] = multiply %3 %3
                %5:f32[3] = add %4 1.0
                %6:f32[3] = sin %5
                in (%6) }
          in (%1) }
    """)
