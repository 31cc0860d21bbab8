"""The tour printed by ``python -m tapegrad``."""

from __future__ import annotations

import warnings


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def seed_example() -> None:
    """The seed chapter: f(x1, x2) = 0.2 x1^2 + 0.2 x2^2 - 5 at (2, 2)."""
    import tapegrad as tg

    _section("1. The seed example: f(x1, x2) = 0.2*x1**2 + 0.2*x2**2 - 5")
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
    print(">>> tg.viz.graph(x7).render(path)   # the graph as a picture (the seed's figure 4.2)")
    print("wrote", tg.viz._save_for_tour(tg.viz.graph(x7), "seed_graph"))
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
    """A compiled gradient: its program and a quick timing."""
    import timeit

    import numpy as np

    import tapegrad as tg

    _section("2. A compiled gradient")

    def loss(w, x, y):
        p = tg.tanh(x @ w)
        return ((p - y) ** 2).mean()

    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 1))
    x = rng.standard_normal((64, 8))
    y = rng.standard_normal((64, 1))
    fast = tg.compile(tg.grad(loss))
    g = fast(w, x, y)
    eager = tg.grad(loss)(w, x, y)
    print(">>> fast = tg.compile(tg.grad(loss)); fast(w, x, y) matches eager:",
          bool(np.allclose(g.numpy(), eager.numpy())))
    print(fast.explain() if hasattr(fast, "explain") else fast)
    n = 200
    t_eager = min(timeit.repeat(lambda: tg.grad(loss)(w, x, y), number=n, repeat=3)) / n
    t_fast = min(timeit.repeat(lambda: fast(w, x, y), number=n, repeat=3)) / n
    _section("3. A quick timing (median of repeats, this machine)")
    print(f"eager tg.grad:              {t_eager * 1e6:8.1f} us per call")
    print(f"tg.compile(tg.grad(loss)):  {t_fast * 1e6:8.1f} us per call "
          f"({t_eager / t_fast:.1f}x faster)")


def tour() -> None:
    """Run every section of the tour."""
    seed_example()
    try:
        import tapegrad.compiler  # noqa: F401
        from tapegrad.compiler import compile as _c  # noqa: F401
    except ImportError:
        return
    compiled_example()
