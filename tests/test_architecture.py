"""Adding a primitive is one block: docs/architecture.md's own example, run through every
path (eager, second order, compiled and fused, exported) against jax."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tapegrad.compiler.ir import FusedKernel
from test_docs import code_blocks
from test_export import run_exported

import tapegrad as tg

jax.config.update("jax_enable_x64", True)

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


@pytest.fixture()
def page():
    """The page's example, run as the page runs it, without its final clean-up line."""
    (line, _, code), = [b for b in code_blocks(PAGE.read_text()) if b[1] == "python"]
    code = "\n".join(c for c in code.split("\n") if not c.startswith("tg.registry.pop"))
    ns: dict = {"__name__": "docs.architecture"}
    exec(compile("\n" * (line - 1) + code, str(PAGE), "exec"), ns)  # noqa: S102
    try:
        yield ns
    finally:
        tg.registry.pop("softsign", None)


def _ref(x):
    return jnp.sum(jax.nn.soft_sign(x) * 2.0 + 1.0)


def test_the_new_primitive_is_registered_with_its_facts(page):
    prim = tg.registry["softsign"]
    assert prim is page["softsign_p"] and prim.elementwise and prim.aliasing == "fresh"


def test_eager_and_second_order_match_jax(page):
    x = np.array([-2.0, -0.3, 0.5, 3.0])
    loss = page["loss"]
    np.testing.assert_allclose(tg.grad(loss)(x).numpy(), jax.grad(_ref)(x), rtol=1e-12)
    hvp = tg.hessian(loss)(x).numpy()
    np.testing.assert_allclose(hvp, jax.hessian(_ref)(x), rtol=1e-12, atol=1e-15)


def test_compiled_fused_and_exported_match_jax(page, tmp_path):
    x = np.array([-2.0, -0.3, 0.5, 3.0])
    fast = tg.compile(tg.value_and_grad(page["loss"]))
    value, g = fast(x)
    np.testing.assert_allclose(value.numpy(), _ref(x), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), jax.grad(_ref)(x), rtol=1e-12)
    graph = fast.latest().info["optimized"].graph
    fused = [e.prim for e in graph.eqns if isinstance(e.prim, FusedKernel)]
    assert any("softsign" in [b.prim.name for b in k.body.eqns] for k in fused)
    path = fast.export(tmp_path / "softsign_program.py", x)
    ev, eg = run_exported(path, "value_and_grad__lambda", [x], tmp_path)
    np.testing.assert_allclose(ev, _ref(x), rtol=1e-12)
    np.testing.assert_allclose(eg, jax.grad(_ref)(x), rtol=1e-12)
