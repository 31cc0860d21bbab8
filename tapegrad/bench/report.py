"""Tables, the performance targets and the bar chart, from a list of measured results."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Sequence
from typing import NamedTuple

from .peers import VARIANTS
from .runner import Result
from .workloads import WORKLOADS


def format_seconds(s: float | None) -> str:
    """``1.23 ms``-style text; ``-`` for a missing value."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def format_bytes(n: int | None) -> str:
    """``1.5 MiB``-style text; ``-`` for a missing value."""
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _index(results: Sequence[Result]) -> dict[tuple[str, str], Result]:
    return {(r.workload, r.variant): r for r in results}


def _grid(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)),
                      *(fmt.format(*r) for r in rows)])


def time_table(results: Sequence[Result], markdown: bool = False) -> str:
    """Median time per call, and in parentheses the ratio to hand-written NumPy."""
    idx = _index(results)
    names = list(dict.fromkeys(r.workload for r in results))
    variants = [v for v in VARIANTS if any(r.variant == v for r in results)]
    rows = []
    for w in names:
        base = idx.get((w, "numpy"))
        base_s = base.seconds if base is not None else None
        row = [w]
        for v in variants:
            r = idx.get((w, v))
            s = r.seconds if r is not None else None
            cell = format_seconds(s)
            if s is not None and base_s and v != "numpy":
                cell += f" ({s / base_s:.2g}x)"
            elif r is not None and s is None and r.note.startswith("failed"):
                cell = "failed"
            row.append(cell)
        rows.append(row)
    return _grid(["workload", *(VARIANTS[v].label for v in variants)], rows, markdown)


def memory_table(results: Sequence[Result], markdown: bool = False) -> str:
    """Traced peak bytes of one call for the NumPy-based variants."""
    idx = _index(results)
    names = list(dict.fromkeys(r.workload for r in results))
    variants = [v for v in VARIANTS if any(r.variant == v and r.peak_bytes is not None
                                           for r in results)]
    rows = [[w, *(format_bytes(getattr(idx.get((w, v)), "peak_bytes", None))
                  for v in variants)] for w in names]
    return _grid(["workload", *(VARIANTS[v].label for v in variants)], rows, markdown)


def failures(results: Sequence[Result]) -> list[str]:
    """``workload / variant: note`` for every failed pair (skips are not listed)."""
    return [f"{r.workload} / {r.variant}: {r.note}" for r in results
            if r.note.startswith("failed")]


class Target(NamedTuple):
    """One performance goal: ``value`` must be at most ``goal``."""

    name: str
    value: float | None
    goal: float

    @property
    def status(self) -> str:
        if self.value is None:
            return "not measured"
        return "met" if self.value <= self.goal else f"missed by {self.value / self.goal:.2g}x"


def targets(results: Sequence[Result], first_calls: dict | None = None) -> list[Target]:
    """The performance ratio targets, computed from the measured results."""
    idx = _index(results)
    first_calls = first_calls or {}

    def ratio(w: str, a: str, b: str) -> float | None:
        ra, rb = idx.get((w, a)), idx.get((w, b))
        if ra is None or rb is None or ra.seconds is None or rb.seconds is None:
            return None
        return ra.seconds / rb.seconds

    def first_ratio(a: tuple[str, str], b: tuple[str, str]) -> float | None:
        x, y = first_calls.get(a), first_calls.get(b)
        if not isinstance(x, float) or not isinstance(y, float):
            return None  # not measured, or failed (the first-call table says why)
        return x / y

    def peak_ratio() -> float | None:
        worst = None
        for w in WORKLOADS:
            c, e = idx.get((w, "compiled")), idx.get((w, "eager"))
            if c is None or e is None or c.peak_bytes is None or not e.peak_bytes:
                continue
            worst = max(worst or 0.0, c.peak_bytes / e.peak_bytes)
        return worst

    return [
        Target("eager seed quadratic / PyTorch eager", ratio("seed", "eager", "torch"), 1.0),
        Target("eager 100-op chain / PyTorch eager", ratio("chain100", "eager", "torch"), 1.0),
        Target("eager MLP b128 / PyTorch eager", ratio("mlp_b128", "eager", "torch"), 1.5),
        Target("compiled 100-op chain / NumPy", ratio("chain100", "compiled", "numpy"), 1.0),
        Target("compiled MLP b128 / NumPy", ratio("mlp_b128", "compiled", "numpy"), 1.15),
        Target("compiled elementwise 1e6 / NumPy",
               ratio("elementwise_1e6", "compiled", "numpy"), 1.0),
        Target("compiled seed quadratic / jax.jit", ratio("seed", "compiled", "jax_jit"), 0.5),
        Target("compiled logreg / jax.jit", ratio("logreg", "compiled", "jax_jit"), 0.5),
        Target("first call: compiled MLP b128 / jax.jit",
               first_ratio(("mlp_b128", "compiled"), ("mlp_b128", "jax_jit")), 0.2),
        Target("peak memory: compiled / eager (worst workload)", peak_ratio(), 1.0),
        Target("1e5-op tape / 1e4-op tape (eager record + backward)",
               _scale(idx, "eager"), 12.0),
        Target("1e5-op tape / 1e4-op tape (compile, first call)",
               first_ratio(("tape_1e5", "compiled"), ("tape_1e4", "compiled")), 12.0),
    ]


def _scale(idx: dict, variant: str) -> float | None:
    big, small = idx.get(("tape_1e5", variant)), idx.get(("tape_1e4", variant))
    if big is None or small is None or big.seconds is None or small.seconds is None:
        return None
    return big.seconds / small.seconds


def target_table(ts: Sequence[Target], markdown: bool = False) -> str:
    """The targets as a table: measured ratio, goal, status."""
    rows = [[t.name, "-" if t.value is None else f"{t.value:.3g}", f"<= {t.goal:g}", t.status]
            for t in ts]
    return _grid(["target", "measured", "goal", "status"], rows, markdown)


def first_call_table(first_calls: dict, markdown: bool = False) -> str:
    """First-call latency (trace + compile + run) per (workload, variant).

    A value that is not a number is the reason it could not be measured.
    """
    rows = [[w, VARIANTS[v].label, format_seconds(s) if isinstance(s, float) else str(s)]
            for (w, v), s in first_calls.items()]
    return _grid(["workload", "variant", "first call"], rows, markdown)


def machine() -> str:
    """One line describing this machine and the library versions measured."""
    import numpy as np

    parts = [platform.processor() or platform.machine(), f"{os.cpu_count()} cores",
             f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for dist in ("torch", "jax", "autograd"):
        try:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    cpu = _cpu_model()
    if cpu:
        parts[0] = cpu
    return ", ".join(parts)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def plot(results: Sequence[Result], path: str) -> None:
    """Write a PNG bar chart: time per call relative to hand-written NumPy, log scale.

    Needs matplotlib (the ``bench`` extra).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = _index(results)
    names = [w for w in dict.fromkeys(r.workload for r in results)
             if getattr(idx.get((w, "numpy")), "seconds", None)]
    variants = [v for v in VARIANTS if v != "numpy"
                and any(r.variant == v and r.seconds is not None for r in results)]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) * max(1, len(variants)) / 3 + 1.5))
    height = 0.8 / max(1, len(variants))
    for j, v in enumerate(variants):
        ys, xs = [], []
        for i, w in enumerate(names):
            r = idx.get((w, v))
            if r is not None and r.seconds is not None:
                ys.append(i + (j - (len(variants) - 1) / 2) * height)
                xs.append(r.seconds / idx[(w, "numpy")].seconds)
        ax.barh(ys, xs, height=height, label=VARIANTS[v].label)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("median time per gradient / hand-written NumPy (log scale; < 1 is faster)")
    ax.set_title("tapegrad and peers, relative to hand-written NumPy")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
