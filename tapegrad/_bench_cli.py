"""``python -m tapegrad bench``: every workload in every system, side by side.

Runs in one process, so ratios compare like with like on one machine. Prints median
times with the ratio to hand-written NumPy, the traced peak memory of the NumPy-based
variants, first-call (compile) latencies, and the results against the performance targets
of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .bench import report
from .bench.peers import VARIANTS, Skip
from .bench.runner import Result, deadline, first_call_seconds, limit_threads, run_all, use_clock
from .bench.workloads import WORKLOADS

# First-call latency pairs: the compiled MLP against jax.jit, and compile scaling.
FIRST_CALLS = [("mlp_b128", "compiled"), ("mlp_b128", "jax_jit"), ("seed", "compiled"),
               ("seed", "jax_jit"), ("logreg", "compiled"), ("logreg", "jax_jit"),
               ("chain100", "compiled"), ("chain100", "jax_jit"),
               ("tape_1e4", "compiled"), ("tape_1e5", "compiled")]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tapegrad bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds, not minutes)")
    p.add_argument("--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD",
                   help=f"workloads to run (default all: {', '.join(WORKLOADS)})")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), metavar="VARIANT",
                   help=f"variants to run (default all: {', '.join(VARIANTS)})")
    p.add_argument("--budget", type=float, default=2.0,
                   help="rough seconds spent timing each pair (default 2)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads per library: BLAS, OpenMP, PyTorch, XLA (default 1; "
                        "0 leaves each library's default)")
    p.add_argument("--clock", choices=["cpu", "wall"], default=None,
                   help="process CPU time or wall time (default: cpu with --threads 1, "
                        "else wall)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="give up on a pair after this many seconds (default 120)")
    p.add_argument("--no-memory", action="store_true", help="skip peak-memory tracing")
    p.add_argument("--no-first-call", action="store_true",
                   help="skip first-call (compile) latencies")
    p.add_argument("--plot", metavar="PNG", help="write a bar chart (needs matplotlib)")
    p.add_argument("--markdown", action="store_true", help="print markdown tables")
    p.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    p.add_argument("--load", metavar="FILE",
                   help="print (and plot) results saved with --json instead of measuring")
    return p


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self.t0 = stream, width, time.perf_counter()

    def __call__(self, done: int, total: int, what: str) -> None:
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"\r[{bar}] {done}/{total} {time.perf_counter() - self.t0:5.0f}s {what:<32}"
        self.stream.write(line)
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def _first_calls(names: list[str], variants: list[str], quick: bool, timeout: float,
                 progress: _Progress) -> dict:
    pairs = [(w, v) for w, v in FIRST_CALLS if w in names and v in variants]
    out = {}
    for k, (w, v) in enumerate(pairs):
        progress(k, len(pairs), f"first call {w} / {v}")
        try:
            with deadline(timeout):
                out[(w, v)] = first_call_seconds(WORKLOADS[w], v, quick)
        except Skip:
            continue
        except Exception as e:  # skipped, failing or too slow: reported as such
            out[(w, v)] = f"{type(e).__name__}: {e}"
    progress(len(pairs), len(pairs), "done")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the tables.

    Parameters
    ----------
    argv : list of str, optional
        The options after ``python -m tapegrad bench`` (default: ``sys.argv[1:]``);
        ``--help`` lists them.

    Returns
    -------
    int
        The process exit status.
    """
    args = _parser().parse_args(argv)
    if args.load:
        with open(args.load) as f:
            saved = json.load(f)
        results = [Result(**r) for r in saved["results"]]
        first = {(w, v): s for w, v, s in saved["first_calls"]}
        clock, machine = saved["clock"], saved["machine"]
        args.threads, args.quick = saved["threads"], saved["quick"]
    else:
        if args.threads:
            limit_threads(args.threads)
        clock = args.clock or ("cpu" if args.threads == 1 else "wall")
        use_clock(clock)
        names = args.only or list(WORKLOADS)
        variants = args.variants or list(VARIANTS)
        progress = _Progress()
        results = run_all(names, variants, quick=args.quick, memory=not args.no_memory,
                          budget=args.budget, timeout=args.timeout, progress=progress)
        first = ({} if args.no_first_call
                 else _first_calls(names, variants, args.quick, args.timeout, progress))
        machine = report.machine()

    md = args.markdown
    print(f"machine: {machine}")
    threads = args.threads or "library default"
    print(f"sizes: {'quick' if args.quick else 'full'}; threads per library: {threads}; "
          f"clock: {clock}; median time per call (ratio to hand-written NumPy)\n")
    print(report.time_table(results, md))
    if not args.no_memory:
        print("\npeak traced memory of one call (tracemalloc: NumPy-based variants only)\n")
        print(report.memory_table(results, md))
    if first:
        print("\nfirst call (trace + compile + run)\n")
        print(report.first_call_table(first, md))
    print("\ntargets\n")
    print(report.target_table(report.targets(results, first), md))
    skipped = sorted({r.note for r in results if r.note.startswith("skipped")})
    if skipped:
        print("\nskipped: " + "; ".join(n.removeprefix("skipped: ") for n in skipped))
    for line in report.failures(results):
        print(f"FAILED {line}")
    if args.plot:
        report.plot(results, args.plot)
        print(f"\nwrote {args.plot}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "quick": args.quick,
                       "threads": args.threads, "clock": clock,
                       "results": [r._asdict() for r in results],
                       "first_calls": [[w, v, s] for (w, v), s in first.items()]}, f,
                      indent=1)
    return 0
