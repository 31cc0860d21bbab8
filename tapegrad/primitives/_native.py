"""Reaching the array library's own module for the few functions the array API lacks.

NumPy's namespace and CuPy's (through array-api-compat) also export NumPy's full
function set (``einsum``, ``logaddexp2``, ``diagonal``...); a strict array-API namespace
does not, and then the operation says so instead of failing obscurely.
"""

from __future__ import annotations

from typing import Any

from ..backend import dtype_kind


def native(xp: Any, name: str):
    """``xp.<name>``, or a NotImplementedError naming the namespace that lacks it."""
    fn = getattr(xp, name, None)
    if fn is None:
        raise NotImplementedError(
            f"{name}: the {getattr(xp, '__name__', xp)!s} namespace has no {name}; "
            "use NumPy or CuPy arrays for this operation"
        )
    return fn


def is_complex(a: Any) -> bool:
    """Whether a tensor, array or number holds complex values."""
    if isinstance(a, complex):
        return True
    dt = getattr(a, "dtype", None)
    # array-API dtypes (array_api_strict's) have no NumPy ``kind``: read their name.
    return dt is not None and dtype_kind(dt) == "c"
