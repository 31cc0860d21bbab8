"""Library-wide defaults."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the floating dtype that Python scalars and lists become (default float32).

    NumPy arrays keep their own dtype; this only affects Python numbers and lists.

    Parameters
    ----------
    dtype : dtype-like
        A floating-point dtype such as ``"float64"``.

    Raises
    ------
    TypeError
        When ``dtype`` is not a floating-point dtype.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.set_default_dtype("float64")
    >>> tg.tensor(2.0).dtype
    dtype('float64')
    >>> tg.set_default_dtype("float32")
    """
    global _default_dtype
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating-point dtype, got {dt}")
    _default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The floating dtype that Python scalars and lists become.

    Returns
    -------
    numpy.dtype
        ``float32`` unless :func:`set_default_dtype` changed it.
    """
    return _default_dtype
