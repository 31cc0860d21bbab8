"""GPU benchmark: tapegrad on CuPy, fused vs unfused, against PyTorch CUDA and JAX.

Run on a machine with CuPy and a CUDA GPU::

    python asv_bench/gpu_bench.py            # prints a markdown table
    python asv_bench/gpu_bench.py --json out.json

Workloads (float32, value and gradient each call):

- ``elementwise``: ``sum(sin(x)*exp(-x^2) + log1p(x^2)*tanh(x))`` at 1e7 elements,
  compiled with and without fusion. *Kernels* is the number of GPU kernels one call
  launches, counted from the compiled program (one per fused kernel and per unfused
  equation).
- ``mlp``: the 784-256-10 tanh MLP with softmax cross-entropy at batch 1024, against
  PyTorch CUDA eager and ``jax.jit(jax.grad)`` on the same GPU (each skipped when it
  is not installed with GPU support).

Every row's time is the median wall time of one call followed by a device
synchronisation, so host overhead (Python, launches) counts for every library alike;
tapegrad rows also give the GPU time CuPy's ``benchmark`` measures between events.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

import tapegrad as tg

N_ELEMENTWISE = 10_000_000
BATCH, D_IN, D_HID, D_OUT = 1024, 784, 256, 10


def elementwise(x):
    """The fusion workload."""
    return tg.sum(tg.sin(x) * tg.exp(-x * x) + tg.log1p(x * x) * tg.tanh(x))


def mlp_loss(W1, b1, W2, b2, X, Y):
    """784-256-10 tanh MLP, mean softmax cross-entropy."""
    z = tg.tanh(X @ W1 + b1) @ W2 + b2
    return -tg.sum((z - tg.logsumexp(z, axis=1, keepdims=True)) * Y) / X.shape[0]


def mlp_data(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    r = lambda *s, scale=1.0: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    Y = np.eye(D_OUT, dtype=np.float32)[rng.integers(0, D_OUT, BATCH)]
    return [r(D_IN, D_HID, scale=0.05), r(D_HID), r(D_HID, D_OUT, scale=0.05), r(D_OUT),
            r(BATCH, D_IN), Y]


def gpu_time(fn: Callable, args: tuple, repeat: int = 30) -> float:
    """Median GPU milliseconds of ``fn(*args)`` (CuPy's benchmark, synchronised)."""
    from cupyx.profiler import benchmark

    res = benchmark(fn, args, n_repeat=repeat, n_warmup=3)
    return float(np.median(res.gpu_times[0])) * 1e3


def wall_time(fn: Callable, sync: Callable, repeat: int = 30) -> float:
    """Median wall milliseconds of ``fn()`` followed by ``sync()``."""
    for _ in range(3):
        fn()
    sync()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e3


def kernels_per_call(compiled) -> int:
    """Kernel launches of the latest program: fused kernels count once, other equations
    once each (layout-only equations such as reshape are views and launch nothing)."""
    views = {"reshape", "transpose", "broadcast_to", "identity", "getitem"}
    return sum(1 for e in compiled.graph.eqns if getattr(e.prim, "name", "") not in views)


def bench_elementwise(cp) -> list[dict]:
    x = cp.asarray(np.random.default_rng(0).uniform(-2, 2, N_ELEMENTWISE).astype(np.float32))
    rows = []
    for label, fuse in (("fused", True), ("unfused", False)):
        f = tg.compile(tg.value_and_grad(elementwise), fuse=fuse)
        f(x)
        rows.append({"workload": "elementwise 1e7 f32", "variant": f"tapegrad cupy {label}",
                     "kernels": kernels_per_call(f), **_cupy_times(cp, f, (x,)),
                     "notes": "; ".join(f.stats()["fusion"])})
    return rows


def bench_mlp(cp) -> list[dict]:
    host = mlp_data()
    rows = []
    dev = [cp.asarray(a) for a in host]
    g = tg.compile(tg.value_and_grad(mlp_loss, argnums=(0, 1, 2, 3)))
    g(*dev)
    rows.append({"workload": "mlp 784-256-10 b1024", "variant": "tapegrad cupy compiled",
                 "kernels": kernels_per_call(g), **_cupy_times(cp, g, tuple(dev))})
    eager = tg.value_and_grad(mlp_loss, argnums=(0, 1, 2, 3))
    rows.append({"workload": "mlp 784-256-10 b1024", "variant": "tapegrad cupy eager",
                 "kernels": None, **_cupy_times(cp, eager, tuple(dev))})
    rows += _torch_mlp(host) + _jax_mlp(host)
    return rows


def _cupy_times(cp, fn: Callable, args: tuple) -> dict:
    return {"ms": wall_time(lambda: fn(*args), cp.cuda.Device().synchronize),
            "gpu_ms": gpu_time(fn, args)}


def _torch_mlp(host) -> list[dict]:
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    W1, b1, W2, b2, X, Y = (torch.tensor(a, device="cuda") for a in host)
    params = [W1, b1, W2, b2]
    for p in params:
        p.requires_grad_(True)

    def step():
        z = torch.tanh(X @ params[0] + params[1]) @ params[2] + params[3]
        loss = -((z - torch.logsumexp(z, 1, keepdim=True)) * Y).sum() / X.shape[0]
        return torch.autograd.grad(loss, params)

    return [{"workload": "mlp 784-256-10 b1024", "variant": "PyTorch CUDA eager",
             "kernels": None, "ms": wall_time(step, torch.cuda.synchronize)}]


def _jax_mlp(host) -> list[dict]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return []
    if not any(d.platform == "gpu" for d in jax.devices()):
        return []

    def loss(W1, b1, W2, b2, X, Y):
        z = jnp.tanh(X @ W1 + b1) @ W2 + b2
        return -jnp.sum((z - jax.nn.logsumexp(z, 1, keepdims=True)) * Y) / X.shape[0]

    step = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))
    args = [jax.device_put(a) for a in host]
    # Block on each call's own result: JAX dispatches asynchronously.
    return [{"workload": "mlp 784-256-10 b1024", "variant": "jax.jit(jax.grad)",
             "kernels": None,
             "ms": wall_time(lambda: jax.block_until_ready(step(*args)), lambda: None)}]


def table(rows: list[dict]) -> str:
    lines = ["| workload | variant | kernels/call | median ms (wall, synced) | GPU ms |",
             "|---|---|---|---:|---:|"]
    for r in rows:
        k = "" if r["kernels"] is None else str(r["kernels"])
        gpu = f"{r['gpu_ms']:.3f}" if r.get("gpu_ms") is not None else ""
        lines.append(f"| {r['workload']} | {r['variant']} | {k} | {r['ms']:.3f} | {gpu} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the rows to this file")
    opts = ap.parse_args(argv)
    try:
        import cupy as cp

        name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as exc:  # noqa: BLE001 - no CuPy, driver or device
        print(f"gpu_bench: needs CuPy and a CUDA GPU ({exc})", file=sys.stderr)
        return 2
    rows = bench_elementwise(cp) + bench_mlp(cp)
    print(f"GPU: {name}; CuPy {cp.__version__}; Python {platform.python_version()}\n")
    print(table(rows))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"gpu": name, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
