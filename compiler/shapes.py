"""Shapes and dtypes of equations: the one inference the lowering, the lint and every
pass use.

:func:`abstract_eval` answers, for a primitive and the types of its inputs, the shapes
and dtypes of its outputs. In order:

1. the primitive's own ``shape_rule`` (declared on the :class:`~tapegrad.Primitive`:
   ``reshape``, ``transpose``, ``matmul``...);
2. an elementwise primitive: the inputs' broadcast shape, and the dtype NumPy's own
   promotion gives on one-element samples (Python numbers stay weak);
3. otherwise, the primitive's ``impl`` run on zero-stride stand-in arrays
   (``np.broadcast_to(np.zeros((), dtype), shape)``, one element each), so a primitive
   needs no table entry anywhere to be typed.

Passes ask with ``evaluate=False``: a rewrite whose type needs step 3 is not attempted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .interpreter import eval_eqn
from .ir import Eqn, FusedKernel, Lit, Var, numpy_dtype

_WEAK = (bool, int, float, complex)


def dummy(shape: tuple, dtype: Any) -> np.ndarray:
    """A read-only array of zeros of any shape that allocates one element."""
    return np.broadcast_to(np.zeros((), numpy_dtype(dtype)), shape)


def _is_aval(a: Any) -> bool:
    return isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], tuple)


def _stand_in(a: Any) -> Any:
    """An input as a value: a dummy array for a variable or an aval, a literal's value."""
    if type(a) is Var:
        return dummy(a.shape, a.dtype)
    if type(a) is Lit:
        return a.value
    return dummy(*a) if _is_aval(a) else a


def _sample(a: Any) -> Any:
    """A one-element stand-in with ``a``'s dtype (weak Python numbers stay numbers)."""
    if type(a) is Lit:
        a = a.value
    if isinstance(a, _WEAK):
        return a
    dtype = a[1] if _is_aval(a) else a.dtype
    return np.ones((), numpy_dtype(dtype))


def _shape(a: Any) -> tuple:
    if _is_aval(a):
        return a[0]
    return tuple(getattr(a, "shape", ()))


def abstract_eval(prim: Any, inputs: list, params: dict, *,
                  evaluate: bool = True) -> list[tuple[tuple, Any]] | None:
    """Output ``(shape, dtype)`` pairs of ``prim`` applied to ``inputs``.

    Parameters
    ----------
    prim : Primitive or FusedKernel
    inputs : list
        One entry per input: a ``Var``, a ``Lit``, a ``(shape, dtype)`` pair, or a
        literal value.
    params : dict
        The equation's parameters.
    evaluate : bool
        Run ``impl`` on stand-ins when neither a shape rule nor elementwise broadcasting
        gives the answer (otherwise return None there).
    """
    fused = isinstance(prim, FusedKernel)
    rule = None if fused else getattr(prim, "shape_rule", None)
    if rule is not None:
        return [(tuple(s), np.dtype(d)) for s, d in rule([_stand_in(a) for a in inputs],
                                                          params)]
    if not fused and getattr(prim, "elementwise", False) \
            and not getattr(prim, "multiple_results", False):
        try:
            shape = np.broadcast_shapes(*(_shape(a) for a in inputs))
            with np.errstate(all="ignore"):
                out = prim.impl(np, *(_sample(a) for a in inputs), **params)
            return [(tuple(shape), np.asarray(out).dtype)]
        except Exception:  # noqa: BLE001 - e.g. integers to negative powers
            if not evaluate:
                return None
    if not evaluate:
        return None
    vals = [_stand_in(a) for a in inputs]
    eqn = Eqn(prim, tuple(inputs), params, ())
    with np.errstate(all="ignore"):
        try:
            outs = eval_eqn(eqn, vals, np)
        except np.linalg.LinAlgError:
            # Zeros are singular: linear algebra gets identity matrices instead.
            outs = eval_eqn(eqn, [_eye_like(v) if isinstance(v, np.ndarray) else v
                                  for v in vals], np)
    return [(tuple(o.shape), o.dtype) for o in outs]


def _eye_like(a: np.ndarray) -> np.ndarray:
    """Identity matrices in the last two axes (ones when they are not square)."""
    shape = a.shape
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        return np.broadcast_to(np.eye(shape[-1], dtype=a.dtype), shape)
    return np.broadcast_to(np.ones((), a.dtype), shape)
