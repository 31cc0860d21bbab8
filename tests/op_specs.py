"""The op-spec table: one entry per differentiable operation, driving the VJP tests.

Each :class:`OpSpec` names the tapegrad function, the ``jax.numpy`` reference, how to
draw its arguments (shapes and values in the op's domain), and which registered
primitives it covers. ``test_vjp.py`` checks every spec against ``jax.vjp`` and finite
differences, and fails when a registered primitive has no spec. Other modules append
their specs to ``SPECS`` through :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

DOMAINS = {
    "real": (-3.0, 3.0),
    "pos": (0.2, 3.0),
    "unit": (-0.9, 0.9),
    "small": (-1.2, 1.2),
}


@dataclass(frozen=True)
class OpSpec:
    """How to test one operation.

    Attributes
    ----------
    name : str
        Test id.
    fn : callable
        ``fn(*args, **kwargs)`` with tapegrad.
    ref : callable
        ``ref(*args, **kwargs)`` with ``jax.numpy``; same arguments.
    make : callable
        ``make(draw, dtype) -> (arrays, kwargs)``: arrays are NumPy arrays (floating
        ones are differentiated, others are passed as constants), kwargs are static.
    prims : tuple of str
        Registered primitives this spec exercises.
    smooth : bool
        Also check second derivatives against jax.
    fd : bool
        Also check against central finite differences (off for ops with kinks).
    """

    name: str
    fn: Callable
    ref: Callable
    make: Callable
    prims: tuple = ()
    smooth: bool = True
    fd: bool = True
    diff: tuple | None = None  # indices of differentiated args (default: floating ones)
    tags: frozenset = field(default_factory=frozenset)

    def __repr__(self) -> str:
        return f"OpSpec({self.name})"


SPECS: list[OpSpec] = []


def register(*specs: OpSpec) -> None:
    """Add specs to the table (names must be unique)."""
    names = {s.name for s in SPECS}
    for s in specs:
        if s.name in names:
            raise ValueError(f"duplicate op spec {s.name!r}")
        names.add(s.name)
        SPECS.append(s)


# -- argument builders --------------------------------------------------------------
def values(draw, shape, dtype, domain="real"):
    """An array of ``shape`` with values in ``domain``, away from awkward points."""
    lo, hi = DOMAINS[domain]
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    arr = draw(hnp.arrays(np.float64, shape, elements=elems))
    # Tiny magnitudes become denormal in float32, which XLA flushes to zero: use 0.
    arr[np.abs(arr) < 1e-6] = 0.0
    return arr.astype(dtype)


def distinct(draw, shape, dtype, domain="real"):
    """Values with no ties (for max/min/sort-like ops, where ties change the rule)."""
    n = int(np.prod(shape, dtype=np.int64))
    lo, hi = DOMAINS[domain]
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    base = np.linspace(lo, hi, max(n, 1))[:n]
    return rng.permutation(base).reshape(shape).astype(dtype)


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def elementwise(n: int, domains=("real",), values_fn=values):
    """``n`` arrays with mutually broadcastable shapes."""
    doms = tuple(domains) * n if len(domains) == 1 else tuple(domains)

    def make(draw, dtype):
        shp = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=4))
        return [values_fn(draw, s, dtype, d) for s, d in zip(shp.input_shapes, doms)], {}

    return make


def reduction(domain="real", values_fn=values, extra: Callable | None = None, min_side=1):
    """One array plus ``axis`` (None, an int or a tuple) and ``keepdims``."""

    def make(draw, dtype):
        shape = draw(shapes(min_dims=1, min_side=min_side))
        nd = len(shape)
        axis = draw(st.one_of(
            st.none(),
            st.integers(-nd, nd - 1),
            st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple),
        ))
        kw = {"axis": axis, "keepdims": draw(st.booleans())}
        if extra is not None:
            kw.update(extra(draw, shape, axis))
        return [values_fn(draw, shape, dtype, domain)], kw

    return make


def fixed(*shape_list, domains=None, kwargs=None):
    """Arrays of fixed shapes (with drawn values)."""

    def make(draw, dtype):
        doms = domains or ("real",) * len(shape_list)
        return [values(draw, s, dtype, d) for s, d in zip(shape_list, doms)], dict(kwargs or {})

    return make


def custom(fn: Callable[[Any, Any], tuple]) -> Callable:
    """A builder written by hand: ``fn(draw, dtype) -> (arrays, kwargs)``."""
    return fn


def scaled(fraction: float):
    """Hypothesis settings with ``fraction`` of the active profile's examples (at least 1).

    The op-spec suite multiplies every spec by several checks; the quick ``ci`` profile
    gives each check a few examples, ``HYPOTHESIS_PROFILE=thorough`` hundreds.
    """
    from hypothesis import settings

    return settings(max_examples=max(1, round(settings.default.max_examples * fraction)))
