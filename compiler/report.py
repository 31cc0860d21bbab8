"""``CompiledFunction.explain()``: a compiled function shows itself.

The text has four parts: why it was compiled (and the signature), the IR after each
pipeline stage, the generated Python, and the numbers.
"""

from __future__ import annotations

from typing import Any


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def explain(cf: Any, passes: bool = True) -> str:
    """The report of the latest program of a :class:`CompiledFunction`."""
    entry = cf.latest()
    info = entry.info
    opt = info["optimized"]
    st = cf.stats()
    out = [f"== compiled {cf.__name__} ==",
           f"signature: ({', '.join(info['signature'])}) on {info['backend']}",
           f"compiled because: {info['reason']}"]
    if entry.guards or entry.value_guards:
        out.append(f"guards: {len(entry.guards)} read values, "
                   f"{len(entry.value_guards)} baked-in inputs")
    stages = opt.stages if passes else opt.stages[-1:]
    prev = None
    for s in stages:
        head = f"\n-- {s.name} ({len(s.graph.eqns)} eqns"
        head += ")" if s.name == "lowered" else f", {s.seconds * 1e3:.2f} ms)"
        text = str(s.graph)
        if text == prev:
            out.append(head + ": unchanged --")
            continue
        out.append(head + " --")
        out.append(text)
        prev = text
    out.append("\n-- python --")
    out.append(info["program"].source.rstrip())
    out.append("\n-- stats --")
    out.append("eqns: " + " -> ".join(f"{name} {n}" for name, n, _ in st["eqns"]))
    out.append(f"fused groups: {st['fused_groups']}")
    out += [f"  {note}" for note in st["fusion"]]
    out.append(f"planned peak bytes: {st['planned_peak_bytes']} "
               f"({_fmt_bytes(st['planned_peak_bytes'])})")
    steps = ", ".join(f"{k} {v} ms" for k, v in st["compile_ms_by_step"].items())
    out.append(f"compile time: {st['compile_ms']} ms ({steps})")
    out.append(f"cache entries: {st['cache_entries']}")
    if len(cf.recompiles) > 1:
        out.append("recompiles: " + "; ".join(cf.recompiles))
    return "\n".join(out)
