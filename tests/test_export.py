"""compiled_fn.export(path, *example_args): a standalone NumPy module.

The exported module is imported in a fresh Python process where ``import tapegrad``
fails, run on the example arguments, and its results are compared with tapegrad's
compiled and eager results (and, for the MLP, with jax).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tapegrad as tg

RUNNER = textwrap.dedent("""
    import importlib.util, json, sys
    import numpy as np
    sys.modules["tapegrad"] = None          # any `import tapegrad` now raises ImportError
    spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = [np.load(p) for p in sys.argv[3:]]
    out = getattr(mod, sys.argv[2])(*args)
    flat = out if isinstance(out, (tuple, list)) else [out]
    assert all(type(a) is np.ndarray for a in flat), [type(a) for a in flat]
    assert not [m for m in sys.modules if m.startswith("tapegrad") and sys.modules[m]]
    for i, a in enumerate(flat):
        np.save(sys.argv[1] + f".out{i}.npy", a)
    print(json.dumps(len(flat)))
""")


def run_exported(path, name: str, args, tmp_path) -> list[np.ndarray]:
    """Import ``path`` in a subprocess without tapegrad and call ``name(*args)``."""
    files = []
    for i, a in enumerate(args):
        f = tmp_path / f"arg{i}.npy"
        np.save(f, np.asarray(a))
        files.append(str(f))
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(path), name, *files],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    n = json.loads(proc.stdout)
    return [np.load(f"{path}.out{i}.npy") for i in range(n)]


def _mlp_loss(w1, b1, w2, x, y):
    h = tg.tanh(x @ w1 + b1)
    logits = h @ w2
    return (tg.logsumexp(logits, axis=1) - (logits * y).sum(axis=1)).mean()


def _mlp_data(dtype=np.float64):
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((5, 16)).astype(dtype) * 0.3
    b1 = np.zeros(16, dtype)
    w2 = rng.standard_normal((16, 3)).astype(dtype) * 0.3
    x = rng.standard_normal((32, 5)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 32)]
    return w1, b1, w2, x, y


def test_mlp_gradient_matches_tapegrad_and_jax(tmp_path):
    args = _mlp_data()
    fast = tg.compile(tg.grad(_mlp_loss, argnums=(0, 1, 2)))
    path = fast.export(tmp_path / "mlp_grad.py", *args)
    text = path.read_text()
    assert "import tapegrad" not in text and "import numpy as np" in text
    assert "# %" in text  # lines carry the equation they came from
    got = run_exported(path, "grad__mlp_loss", args, tmp_path)
    want = [g.numpy() for g in fast(*args)]
    eager = [g.numpy() for g in tg.grad(_mlp_loss, argnums=(0, 1, 2))(*args)]
    assert len(got) == 3
    for g, w, e in zip(got, want, eager):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)

    import jax
    import jax.numpy as jnp

    def ref(w1, b1, w2, x, y):
        logits = jnp.tanh(x @ w1 + b1) @ w2
        return (jax.nn.logsumexp(logits, axis=1) - (logits * y).sum(axis=1)).mean()

    jax.config.update("jax_enable_x64", True)  # as tests/conftest.py does
    jg = jax.grad(ref, argnums=(0, 1, 2))(*args)
    for g, r in zip(got, jg):
        np.testing.assert_allclose(g, np.asarray(r), rtol=1e-9, atol=1e-12)


def test_value_and_grad_float32_and_argument_names(tmp_path):
    def loss(w, x):
        return ((x @ w) ** 2).sum()

    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 2)).astype(np.float32)
    x = rng.standard_normal((10, 4)).astype(np.float32)
    fast = tg.compile(tg.value_and_grad(loss))
    path = fast.export(tmp_path / "vg.py", w, x)
    text = path.read_text()
    assert "def value_and_grad_loss(w, x):" in text
    assert re.search(r"%\d+ is w, %\d+ is x", text)
    value, grad = run_exported(path, "value_and_grad_loss", [w, x], tmp_path)
    v, g = fast(w, x)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(value, v.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grad, g.numpy(), rtol=1e-6)


def test_impl_copied_for_primitives_without_a_numpy_rule(tmp_path):
    def f(x):
        return (tg.max(x, axis=1) + tg.var(x, axis=0).sum()).sum()

    x = np.random.default_rng(2).standard_normal((6, 5))
    fast = tg.compile(tg.grad(f))
    path = fast.export(tmp_path / "f.py", x)
    (got,) = run_exported(path, "grad_f", [x], tmp_path)
    np.testing.assert_allclose(got, tg.grad(f)(x).numpy(), rtol=1e-12)


def test_indexing_gradient_accumulates(tmp_path):
    idx = np.array([0, 2, 2, 1])

    def f(x):
        return (x[idx] ** 2).sum()

    x = np.arange(4.0)
    fast = tg.compile(tg.grad(f))
    path = fast.export(tmp_path / "g.py", x)
    (got,) = run_exported(path, "grad_f", [x], tmp_path)
    np.testing.assert_allclose(got, [0.0, 2.0, 8.0, 0.0])


def test_guards_are_not_exported(tmp_path):
    def f(x):
        return (x * 2).sum() if x.sum() > 0 else (x * 3).sum()  # a branch: a guard

    fast = tg.compile(tg.grad(f))
    with pytest.raises(NotImplementedError, match="guards"):
        fast.export(tmp_path / "h.py", np.ones(3))


def test_literal_round_trips():
    from tapegrad.compiler.export import literal

    big = np.arange(200, dtype=np.float32).reshape(10, 20)
    for obj in [np.add.reduce, np.where, np.dtype("float32"), np.float64(1.5), big,
                np.array([1, 2]), (slice(None, 2), Ellipsis, None), float("inf")]:
        back = eval(literal(obj), {"np": np})
        if isinstance(obj, np.ndarray):
            np.testing.assert_array_equal(back, obj)
            assert back.dtype == obj.dtype
        elif isinstance(obj, float) or isinstance(obj, np.generic):
            assert back == obj and type(back) is type(obj)
        else:
            assert back == obj or back is obj
