"""The tour printed by ``python -m tapegrad``."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

#: Where the tour writes its two pictures (a temporary folder, not the working directory).
TOUR_DIR = Path(tempfile.gettempdir()) / "tapegrad-tour"


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def _picture_path(stem: str) -> Path:
    """``TOUR_DIR/stem.svg`` when Graphviz's ``dot`` can render it, else ``stem.dot``."""
    from .viz import dot_available

    TOUR_DIR.mkdir(parents=True, exist_ok=True)
    return TOUR_DIR / f"{stem}.{'svg' if dot_available() else 'dot'}"


def _write_picture(diagram, stem: str, call: str) -> None:
    """Render ``diagram`` where the printed call says, and say what was written."""
    path = _picture_path(stem)
    print(f">>> {call}.render({str(path)!r})")
    written = diagram.render(path)
    kind = "an SVG picture" if path.suffix == ".svg" else (
        "DOT text; with Graphviz's dot installed it is an SVG")
    print(f"wrote {written} ({written.stat().st_size} bytes: {kind})")


def tutorial_example() -> None:
    """The tutorial's example (docs/tutorial.md): f(x1, x2) = 0.2 x1^2 + 0.2 x2^2 - 5 at (2, 2)."""
    import tapegrad as tg

    _section("1. The tutorial example: f(x1, x2) = 0.2*x1**2 + 0.2*x2**2 - 5")
    x1 = tg.tensor(2.0, requires_grad=True)
    x2 = tg.tensor(2.0, requires_grad=True)
    with tg.tape() as t:
        x3 = x1.square()
        x5 = x3 * 0.2
        x4 = x2.square()
        x6 = x4 * 0.2
        x7 = x5 + x6 - 5
    print(">>> x7\n" + repr(x7))
    print(">>> x7.requires_grad\n" + repr(x7.requires_grad))
    print(">>> the recorded tape (a Wengert list)")
    print(t)
    print("# the figure of docs/tutorial.md:")
    _write_picture(tg.viz.graph(x7), "seed_graph", "tg.viz.graph(x7)")
    x7.backward()
    print(">>> x7.backward(); x1.grad, x2.grad")
    print(x1.grad, x2.grad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = x3.grad
    print(">>> x3.grad   # not a leaf: warns and returns None")
    print(f"UserWarning: {caught[0].message}" if caught else "")
    print(g)

    x3 = x1.square()
    x3.retain_grad()
    x5 = x3 * 0.2
    x5.retain_grad()
    x4 = x2.square()
    x4.retain_grad()
    x6 = x4 * 0.2
    x6.retain_grad()
    x7 = x5 + x6 - 5
    x7.backward()
    print(">>> with retain_grad(): x3.grad, x4.grad, x5.grad, x6.grad")
    print(x3.grad, x4.grad, x5.grad, x6.grad)
    print(">>> grad_fn of x3, x4, x5, x6")
    print(x3.grad_fn, x4.grad_fn, x5.grad_fn, x6.grad_fn)
    print(">>> x1.grad after a second backward (gradients accumulate)")
    print(x1.grad)


def compiled_example() -> None:
    """A compiled gradient: its program, its stats and a quick timing."""
    import timeit

    import numpy as np

    import tapegrad as tg

    _section("2. A compiled gradient: tg.compile(tg.grad(loss))")

    def loss(w, x, y):
        p = tg.tanh(x @ w)
        return ((p - y) ** 2).mean()

    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 1)).astype(np.float32)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    fast = tg.compile(tg.grad(loss))
    g = fast(w, x, y)
    eager = tg.grad(loss)(w, x, y)
    print(">>> fast = tg.compile(tg.grad(loss)); fast(w, x, y)  # equals eager:",
          bool(np.allclose(g.numpy(), eager.numpy(), rtol=1e-5)))
    print(g)
    print(">>> fast.graph   # the joint forward+backward program after the passes")
    print(fast.graph)
    print(">>> print(fast.source)   # the generated Python")
    print(fast.source)
    print("# the program as a picture: fused groups, saved values, frees:")
    _write_picture(tg.viz.program(fast, w, x, y), "compiled_program",
                   "tg.viz.program(fast, w, x, y)")
    st = fast.stats()
    print(">>> fast.stats()")
    print("equations per stage: " + " -> ".join(
        f"{name} {n}" for name, n, ms in st["eqns"] if ms != "skipped"))
    print(f"fused groups: {st['fused_groups']}; planned peak bytes: "
          f"{st['planned_peak_bytes']}; compile time: {st['compile_ms']} ms; "
          f"cache entries: {st['cache_entries']}")
    print(">>> fast(w, x[:32], y[:32])   # a new shape compiles a new entry, and says why")
    fast(w, x[:32], y[:32])
    print(f"recompiled because: {fast.recompiles[-1]}")
    print("(fast.explain() prints the IR before and after every pass)")

    def per_call(f, n=200):
        ts = sorted(timeit.repeat(f, number=n, repeat=5))
        return ts[len(ts) // 2] / n

    t_eager = per_call(lambda: tg.grad(loss)(w, x, y))
    t_fast = per_call(lambda: fast(w, x, y))
    _section("3. A quick timing (median of 5 repeats, this machine)")
    print(f"eager tg.grad:              {t_eager * 1e6:8.1f} us per call")
    print(f"tg.compile(tg.grad(loss)):  {t_fast * 1e6:8.1f} us per call "
          f"({t_eager / t_fast:.1f}x faster)")


def where_next() -> None:
    """Point to the documentation."""
    _section("4. Where next")
    print(f"The pictures are in {TOUR_DIR}.")
    print("The documentation (every example in it runs as written):")
    for page, what in (
            ("docs/index.md", "start here"),
            ("docs/tutorial.md", "section 1, step by step"),
            ("docs/compiler.md", "section 2: what tg.compile did, pass by pass"),
            ("docs/training.md", "an MLP trained with tg.nn and tg.optim, eager and compiled"),
            ("docs/api.md", "the API reference")):
        print(f"  {page:<20} {what}")
    print("Browse it as a site from a checkout: python -m pip install -e \".[test]\" && "
          "python -m mkdocs serve")


def tour() -> None:
    """Run every section of the tour."""
    tutorial_example()
    compiled_example()
    where_next()
