"""Long programs run as part functions: same values, same frees.

The split (``compiler/parts.py``) normally starts at 50 000 statements; here it is
lowered so every model (and every fused body) is cut into parts of a few statements,
which puts a part boundary between almost every definition and its uses.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _models import data
from tapegrad.compiler import parts

import tapegrad as tg

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture
def tiny_parts(monkeypatch):
    monkeypatch.setattr(parts, "SPLIT_ABOVE", 4)
    monkeypatch.setattr(parts, "PART_LINES", 3)


def _grads(fn, args, **options):
    argnums = tuple(i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f")
    return tg.compile(tg.value_and_grad(fn, argnums=argnums), **options)


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("name", sorted(data()))
def test_split_program_matches_eager(name, fuse, tiny_parts):
    fn, args = data()[name]
    compiled = _grads(fn, args, fuse=fuse)
    (value, grads) = compiled(*args)
    want_value, want_grads = tg.value_and_grad(fn, argnums=tuple(range(len(grads))))(*args)
    np.testing.assert_allclose(value.numpy(), want_value.numpy(), rtol=1e-12)
    for g, w in zip(grads, want_grads):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-11, atol=1e-13)
    source = compiled.latest().info["program"].source
    assert "_part1(r)" in source and "r = [" in source


def test_parts_pass_values_in_slots_and_empty_them_after_their_last_part(tiny_parts):
    f = tg.compile(lambda x: tg.sum(tg.tanh(tg.sin(x) * 2.0 + 1.0) * x), fuse=False)
    f(np.ones(5))
    lines = [ln.strip() for ln in f.latest().info["program"].source.splitlines()]
    init = next(i for i, ln in enumerate(lines) if ln.startswith("r = ["))
    arg = lines[init - 1].split("(")[1].rstrip("):")  # the function's one argument
    assert lines[init].startswith(f"r = [{arg}] + [None] * ")  # handed to the parts
    calls = [ln for ln in lines if ln.endswith("_part0(r)") and not ln.startswith("def")]
    assert len(calls) == 1
    stored = set()
    for ln in lines:  # r[a:b] = ...: each part stores into its own run of slots
        if ln.startswith("r[") and ":" in ln.split("]")[0]:
            lo, hi = map(int, ln[2:ln.index("]")].split(":"))
            stored.update(range(lo, hi))
    emptied = {i for ln in lines if ln.startswith("clear(r, ")
               for i in eval(ln[len("clear(r, "):-1])}  # noqa: S307 - a tuple literal
    returned = {int(ln.split("r[")[1].rstrip("]")) for ln in lines
                if ln.startswith("v") and " = r[" in ln and ln.endswith("]")
                and lines.index(ln) > lines.index(calls[0])}
    assert stored and stored <= emptied | returned | {0}


def _peak(compiled, *args):
    compiled(*args)
    tracemalloc.start()
    compiled(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_split_program_frees_values_as_one_function_does(monkeypatch):
    def chain(x):
        for _ in range(30):
            x = tg.tanh(x * 1.01 + 0.1)
        return tg.sum(x)

    x = np.linspace(-1.0, 1.0, 50_000)  # 400 KB per value: a missed free shows
    whole = _peak(tg.compile(tg.grad(chain), fuse=False), x)
    monkeypatch.setattr(parts, "SPLIT_ABOVE", 4)
    monkeypatch.setattr(parts, "PART_LINES", 3)
    split = tg.compile(tg.grad(chain), fuse=False)
    parted = _peak(split, x)
    assert "_part5(r)" in split.latest().info["program"].source
    assert parted < whole + 100_000, (whole, parted)
