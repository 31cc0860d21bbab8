"""Library-wide defaults."""

from __future__ import annotations

import numpy as np

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the floating dtype that Python scalars and lists become (default float32).

    Parameters
    ----------
    dtype : dtype-like
        A floating-point dtype such as ``"float64"``.
    """
    global _default_dtype
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating-point dtype, got {dt}")
    _default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The floating dtype that Python scalars and lists become."""
    return _default_dtype
