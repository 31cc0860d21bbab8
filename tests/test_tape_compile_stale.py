"""tape.compile never keeps the old value of a tensor cut from the tape's sources.

A value computed from a source under ``no_grad`` (or detached from it) carries no
record, so a replayed tape cannot recompute it for new sources; ``tape.compile``
refuses it. That must hold however many other cut values are alive: the knowledge is
exact, not a lookup in ``explain_grad``'s bounded history.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _cuts, explain

X = np.array([1.0, 2.0])
NEW = np.array([10.0, 20.0])


def _eager_grad(v: np.ndarray) -> np.ndarray:
    """d/dw sum(s * w) with s = w * 3 computed under no_grad: s is a constant, so the
    gradient is s = 3 * v (what a correct program returns for new sources)."""
    w = tg.tensor(v, requires_grad=True)
    with tg.no_grad():
        s = w * 3.0
    (s * w).sum().backward()
    return w.grad.numpy()


def test_refusal_survives_many_unrelated_no_grad_values():
    other = tg.tensor(np.ones(3), requires_grad=True)
    with tg.no_grad():  # more unrelated cut values alive than the diagnostic table holds
        kept = [other * 2.0 for _ in range(5000)]
    assert len(explain._cuts) <= explain.MAX_CUTS < len(kept)
    w = tg.tensor(X, requires_grad=True)
    with tg.tape() as t:
        with tg.no_grad():
            s = w * 3.0  # from the source, with recording off
        for _ in range(5000):  # and the history moves on again
            with tg.no_grad():
                kept.append(other * 2.0)
        loss = (s * w).sum()
    assert explain._cut_of(s) is not None  # still known exactly
    np.testing.assert_allclose(_eager_grad(NEW), 3.0 * NEW)  # what eager gives
    with pytest.raises(NotImplementedError, match=r"tape.compile: .*computed under no_grad"):
        t.compile(w, loss)(NEW)
    assert len(kept) == 10000


def test_refusal_of_a_detached_value_survives_many_cuts():
    other = tg.tensor(np.ones(3), requires_grad=True)
    w = tg.tensor(X, requires_grad=True)
    with tg.tape() as t:
        d = (w * 2.0).detach()
        with tg.no_grad():
            kept = [other * 2.0 for _ in range(5000)]
        loss = (d * w).sum()
    with pytest.raises(NotImplementedError, match=r"tape.compile: .*detached"):
        t.compile(w, loss)(NEW)
    del kept


def test_a_genuine_constant_still_compiles_and_matches_eager():
    other = tg.tensor(np.full(2, 4.0), requires_grad=True)
    with tg.no_grad():
        c = other * 0.5  # from a tensor outside the tape: a constant for it
        kept = [other * 2.0 for _ in range(5000)]
    w = tg.tensor(X, requires_grad=True)
    with tg.tape() as t:
        loss = (c * w * w).sum()
    prog = t.compile(w, loss)
    for v in (X, NEW):
        ww = tg.tensor(v, requires_grad=True)
        (c * ww * ww).sum().backward()  # eager, with the same constant
        np.testing.assert_allclose(prog(v).numpy(), ww.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(prog(v).numpy(), 2.0 * 2.0 * v, rtol=1e-12)
    del kept


def test_exact_table_forgets_dead_tensors():
    x = tg.tensor(1.0, requires_grad=True)
    before = len(_cuts._live)
    with tg.no_grad():
        ys = [x * 2.0 for _ in range(100)]
    assert len(_cuts._live) == before + 100
    assert all(_cuts.cut_of(y) is not None for y in ys)
    del ys
    gc.collect()
    assert len(_cuts._live) == before


@pytest.mark.parametrize("cut", ["no_grad", "detach"])
def test_values_computed_from_a_cut_value_are_refused_too(cut):
    # s2 = s + 1 is recorded by nothing either (s carries no graph): as stale as s.
    w = tg.tensor(X, requires_grad=True)
    with tg.tape() as t:
        if cut == "no_grad":
            with tg.no_grad():
                s = w * 3.0
        else:
            s = (w * 3.0).detach()
        s2 = tg.exp(s / 10.0) + 1.0
        y = (s2 * w).sum()
    with pytest.raises(NotImplementedError, match="tape.compile: the tape uses a value"):
        t.compile([w], y)
    # Eagerly it is a constant, as in PyTorch: the gradient is s2 itself.
    grad = t.gradient(y, w)
    np.testing.assert_allclose(grad.numpy(), np.exp(3.0 * X / 10.0) + 1.0)
