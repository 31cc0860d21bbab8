"""Helpers shared by the passes: atom specs, shape/dtype inference, constant values.

Every pass that creates an equation asks :func:`infer_spec` for its output shape and
dtype (the compiler's one shape inference), so a rewrite can be checked against the
variable it replaces before it is accepted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapegrad.primitive import registry

from ..ir import Eqn, FusedKernel, Lit, Var
from ..shapes import abstract_eval

_WEAK = (bool, int, float, complex)


def same_dtype(a: Any, b: Any) -> bool:
    """Whether two dtypes are equal; Python scalar types (weak) equal only themselves."""
    if isinstance(a, type) and a in _WEAK or isinstance(b, type) and b in _WEAK:
        return a is b
    return np.dtype(a) == np.dtype(b)


def same_spec(a: Any, b: Any) -> bool:
    """Whether two atoms have the same shape and dtype."""
    return tuple(a.shape) == tuple(b.shape) and same_dtype(a.dtype, b.dtype)


def is_weak(a: Any) -> bool:
    """A Python-number literal: NumPy lets the other operand's dtype win."""
    return isinstance(a, Lit) and a.is_scalar


def size_of(shape: tuple) -> int:
    """Number of elements of ``shape``."""
    return math.prod(shape)


def prim_of(p: Any) -> Any:
    """A registry primitive by name, or ``p`` itself."""
    return registry[p] if isinstance(p, str) else p


def xp_of_values(values: list) -> Any:
    """The namespace of the first array among ``values`` (NumPy by default)."""
    from tapegrad.backend import backend_of

    for v in values:
        be = backend_of(v)
        if be is not None and not isinstance(v, _WEAK):
            return be.xp
    return np


def sample(a: Any, value: Any = 1) -> Any:
    """A one-element stand-in for ``a`` with its dtype (weak literals stay numbers)."""
    if is_weak(a):
        return a.value
    return np.asarray(value, dtype=a.dtype)


def infer_spec(prim: Any, inputs: tuple, params: dict) -> tuple[tuple, Any] | None:
    """Output ``(shape, dtype)`` of a single-output primitive, or None if unknown.

    The one shape inference (:func:`~tapegrad.compiler.shapes.abstract_eval`), without
    running ``impl`` on stand-ins: a rewrite whose type needs that is not attempted.
    """
    prim = prim_of(prim)
    if getattr(prim, "multiple_results", False):
        return None
    got = abstract_eval(prim, list(inputs), params, evaluate=False)
    if got is None:
        return None
    (shape, dtype), = got
    return shape, np.dtype(dtype)


def uniform_value(value: Any) -> Any:
    """The Python number every element of ``value`` equals, or None.

    Arrays holding NaN never count (NaN != NaN), nor do complex or empty arrays.
    """
    if isinstance(value, (int, float)):
        return value
    dtype = getattr(value, "dtype", None)
    if dtype is None or np.dtype(dtype).kind not in "biuf" or value.size == 0:
        return None
    try:
        flat = np.asarray(value).reshape(-1)
    except Exception:  # noqa: BLE001 - arrays that cannot be read on the host
        return None
    first = flat[0]
    if not (flat == first).all():
        return None
    return first.item()


def make_eqn(prim: Any, inputs: tuple, params: dict, out: Var | None = None) -> Eqn | None:
    """An equation with an inferred output variable (or the given ``out`` if it matches)."""
    spec = infer_spec(prim, inputs, params)
    if spec is None:
        return None
    if out is None:
        out = Var(*spec)
    elif tuple(out.shape) != spec[0] or not same_dtype(out.dtype, spec[1]):
        return None
    return Eqn(prim_of(prim), tuple(inputs), dict(params), (out,))


def resolve(env: dict, a: Any) -> Any:
    """Follow substitutions ``env`` (Var -> atom) until an atom that is not replaced."""
    while isinstance(a, Var) and a in env:
        a = env[a]
    return a


def is_fused(e: Eqn) -> bool:
    """Whether an equation runs a fused kernel."""
    return isinstance(e.prim, FusedKernel)
