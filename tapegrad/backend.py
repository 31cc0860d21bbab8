"""Array backends: which namespace an array belongs to.

Primitives never call NumPy directly; they receive the namespace (``xp``) of their
inputs. NumPy arrays use ``numpy`` itself (NumPy >= 2 implements the array API in its
main namespace), CuPy arrays use CuPy, and any other array that implements
``__array_namespace__`` (``array_api_strict`` in the tests) uses that namespace.
Lookups are cached by array type, so the per-operation cost is one dict lookup.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Backend:
    """An array library as tapegrad sees it.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"cupy"`` or the namespace's module name.
    xp : module
        The array-API namespace primitives call.
    array_type : type
        The array class results must be instances of.
    """

    __slots__ = ("name", "xp", "array_type", "native")

    def __init__(self, name: str, xp: Any, array_type: type, native: Any = None) -> None:
        self.name = name
        self.xp = xp
        self.array_type = array_type
        # The library's own module (cupy for CuPy), for the few operations the array
        # API lacks (scatter-add); xp itself when it has everything.
        self.native = native if native is not None else xp

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


NUMPY = Backend("numpy", np, np.ndarray)
_by_type: dict[type, Backend | None] = {np.ndarray: NUMPY}
_SCALARS = (bool, int, float, complex)
for _t in _SCALARS:
    _by_type[_t] = None


def _lookup(t: type, x: Any) -> Backend | None:
    if issubclass(t, np.generic):
        be = NUMPY
    elif t.__module__.startswith("cupy"):
        import array_api_compat
        import cupy

        be = Backend("cupy", array_api_compat.array_namespace(x), cupy.ndarray, cupy)
    elif hasattr(x, "__array_namespace__"):
        xp = x.__array_namespace__()
        be = Backend(xp.__name__, xp, t)
    elif isinstance(x, (list, tuple)):
        return None
    else:
        raise TypeError(
            f"tapegrad: expected an array, a tensor or a Python number, got {t.__name__}"
        )
    _by_type[t] = be
    return be


def backend_of(x: Any) -> Backend | None:
    """The :class:`Backend` of array ``x``; None for Python scalars."""
    t = type(x)
    try:
        return _by_type[t]
    except KeyError:
        return _lookup(t, x)


def is_array(x: Any) -> bool:
    """Whether ``x`` is an array of a known backend (not a Python scalar)."""
    return backend_of(x) is not None


def to_numpy(x: Any) -> np.ndarray:
    """Copy an array of any backend to host memory as a NumPy array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get"):  # CuPy: the documented device-to-host transfer
        return x.get()
    return np.asarray(x)


def is_floating(dtype) -> bool:
    """Whether ``dtype`` is real or complex floating point, for any backend's dtypes."""
    kind = getattr(dtype, "kind", None)
    if kind is not None:
        return kind in "fc"
    name = str(dtype)
    return "float" in name or "complex" in name
