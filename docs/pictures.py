"""Regenerate the pictures in docs/img: ``python docs/pictures.py`` (needs Graphviz's ``dot``).

Each picture is committed twice: as DOT text (``.dot``), which tests/test_docs.py
compares with what tapegrad draws today so the pictures cannot fall behind the code,
and rendered (``.svg``), which the pages show.
"""

from __future__ import annotations

from pathlib import Path

import tapegrad as tg

IMG = Path(__file__).parent / "img"


def seed_graph() -> tg.viz.Diagram:
    """The tutorial's graph of f(x1, x2) = 0.2 x1^2 + 0.2 x2^2 - 5 (docs/tutorial.md)."""
    x1 = tg.tensor(2.0, requires_grad=True)
    x2 = tg.tensor(2.0, requires_grad=True)
    x3 = x1.square()
    x5 = x3 * 0.2
    x4 = x2.square()
    x6 = x4 * 0.2
    x7 = x5 + x6 - 5
    return tg.viz.graph(x7, {"x1": x1, "x2": x2, "x3": x3, "x4": x4, "x5": x5, "x6": x6,
                             "x7": x7}, constants=True)


def mlp_backward() -> tg.viz.Diagram:
    """The compiled gradient of a two-layer MLP's loss: fused groups, saved values, frees."""
    import numpy as np

    def loss(w1, w2, x, y):
        h = tg.tanh(x @ w1)
        return ((h @ w2 - y) ** 2).mean()

    rng = np.random.default_rng(0)
    args = (rng.standard_normal((4, 8)), rng.standard_normal((8, 1)),
            rng.standard_normal((16, 4)), rng.standard_normal((16, 1)))
    return tg.viz.program(tg.compile(tg.grad(loss, argnums=(0, 1))), *args)


PICTURES = {"seed_graph": seed_graph, "mlp_backward": mlp_backward}


def main() -> None:
    IMG.mkdir(exist_ok=True)
    for name, make in PICTURES.items():
        diagram = make()
        diagram.render(IMG / f"{name}.dot")
        diagram.render(IMG / f"{name}.svg")
        print("wrote", IMG / f"{name}.svg")


if __name__ == "__main__":
    main()
