"""Bitwise operations on integer and bool tensors, and ``logical_xor`` (no gradient).

NumPy's semantics: on integers they act on the bits (``uint8(3) & uint8(5)`` is
``uint8(1)``, ``~uint8(0)`` is ``uint8(255)``), on bools they are the logical
operations, and the result dtype follows NumPy's promotion (Python ints are "weak": a
``uint8`` tensor ``& 5`` stays ``uint8``). Floating-point and complex operands are
refused, as NumPy refuses them. The tensor operators ``&``, ``|``, ``^``, ``~``, ``<<``,
``>>`` (and their reflected and in-place forms) call these functions.
"""

from __future__ import annotations

import tapegrad.primitives as P

from ..backend import dtype_kind
from ..primitive import primitive
from ..tensor import Tensor

__all__ = [
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "invert", "left_shift", "logical_xor",
    "right_shift",
]


def _bitwise(name, **meta):
    # xp_name: NumPy (>= 2), CuPy and the array API spell them all this way, so eager
    # NumPy calls and generated code call the ufunc directly.
    return primitive(name, lambda xp, *a, _f=name: getattr(xp, _f)(*a), None,
                     elementwise=True, xp_name=name, **meta)


bitwise_and_p = _bitwise("bitwise_and",
                         commutative=True)
bitwise_or_p = _bitwise("bitwise_or",
                        commutative=True)
bitwise_xor_p = _bitwise("bitwise_xor",
                         commutative=True)
bitwise_invert_p = _bitwise("bitwise_invert")
bitwise_left_shift_p = _bitwise("bitwise_left_shift")
bitwise_right_shift_p = _bitwise("bitwise_right_shift")
logical_xor_p = primitive("logical_xor", lambda xp, x, y: xp.logical_xor(x, y), None,
                          elementwise=True, xp_name="logical_xor", numexpr="({0} ^ {1})",
                          commutative=True)


def _all_bool(op: str, *args) -> bool:
    """Whether every operand is bool; a TypeError naming ``op`` for a floating-point or
    complex operand."""
    all_bool = True
    for a in args:
        if isinstance(a, Tensor):
            dt = a.data.dtype
        elif isinstance(a, bool):
            continue
        elif isinstance(a, int):
            all_bool = False
            continue
        elif isinstance(a, (float, complex)):
            raise TypeError(f"{op}: not supported for a Python {type(a).__name__}; "
                            "expected integer or bool operands")
        else:
            dt = getattr(a, "dtype", None)
            if dt is None:
                all_bool = False  # bind reports what it cannot take
                continue
        kind = dtype_kind(dt)
        if kind in "fc":
            raise TypeError(f"{op}: not supported for {dt}; expected integer or bool "
                            "operands")
        all_bool = all_bool and kind == "b"
    return all_bool


# On bools the bitwise operations are the logical ones, with the same results: recorded
# as those (logical_and, logical_or, not_equal, logical_not), masks keep the fused
# kernels the compiler has for them.
def bitwise_and(x, y):
    """Elementwise bitwise AND of integer or bool operands (logical AND for bools).

    Parameters
    ----------
    x, y : tensor, array or Python int/bool
        Integer or bool operands (broadcast together).

    Returns
    -------
    Tensor
        NumPy's result dtype for the operands; never requires grad.

    Raises
    ------
    TypeError
        For floating-point or complex operands.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> tg.bitwise_and(tg.tensor(np.uint8(3)), 5)
    tensor(1, dtype=uint8)
    """
    if _all_bool("bitwise_and", x, y):
        return P.logical_and_p.bind(x, y)
    return bitwise_and_p.bind(x, y)


def bitwise_or(x, y):
    """Elementwise bitwise OR of integer or bool operands (logical OR for bools).

    Parameters
    ----------
    x, y : tensor, array or Python int/bool
        Integer or bool operands (broadcast together).

    Returns
    -------
    Tensor
        NumPy's result dtype for the operands; never requires grad.

    Raises
    ------
    TypeError
        For floating-point or complex operands.
    """
    if _all_bool("bitwise_or", x, y):
        return P.logical_or_p.bind(x, y)
    return bitwise_or_p.bind(x, y)


def bitwise_xor(x, y):
    """Elementwise bitwise XOR of integer or bool operands (logical XOR for bools).

    Parameters
    ----------
    x, y : tensor, array or Python int/bool
        Integer or bool operands (broadcast together).

    Returns
    -------
    Tensor
        NumPy's result dtype for the operands; never requires grad.

    Raises
    ------
    TypeError
        For floating-point or complex operands.
    """
    if _all_bool("bitwise_xor", x, y):
        return P.not_equal_p.bind(x, y)
    return bitwise_xor_p.bind(x, y)


def bitwise_invert(x):
    """Elementwise bitwise NOT (``~x``) of an integer or bool operand.

    Parameters
    ----------
    x : tensor, array or Python int/bool
        An integer or bool operand; for bools it is the logical NOT.

    Returns
    -------
    Tensor
        ``x``'s dtype (``~uint8(0)`` is ``uint8(255)``); never requires grad.

    Raises
    ------
    TypeError
        For a floating-point or complex operand.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> tg.bitwise_invert(tg.tensor(np.uint8(0)))
    tensor(255, dtype=uint8)
    """
    if _all_bool("bitwise_invert", x):
        return P.logical_not_p.bind(x)
    return bitwise_invert_p.bind(x)


def bitwise_left_shift(x, y):
    """Elementwise ``x << y``: the bits of integer ``x`` shifted left by ``y``.

    Parameters
    ----------
    x, y : tensor, array or Python int/bool
        Integer or bool operands (broadcast together).

    Returns
    -------
    Tensor
        NumPy's result dtype for the operands; never requires grad.

    Raises
    ------
    TypeError
        For floating-point or complex operands.
    """
    _all_bool("bitwise_left_shift", x, y)
    return bitwise_left_shift_p.bind(x, y)


def bitwise_right_shift(x, y):
    """Elementwise ``x >> y``: the bits of integer ``x`` shifted right by ``y``
    (arithmetic shift for signed integers, as NumPy).

    Parameters
    ----------
    x, y : tensor, array or Python int/bool
        Integer or bool operands (broadcast together).

    Returns
    -------
    Tensor
        NumPy's result dtype for the operands; never requires grad.

    Raises
    ------
    TypeError
        For floating-point or complex operands.
    """
    _all_bool("bitwise_right_shift", x, y)
    return bitwise_right_shift_p.bind(x, y)


def logical_xor(x, y):
    """Elementwise logical XOR: a bool tensor, true where exactly one operand is
    non-zero (any dtype, as NumPy's ``logical_xor``; no gradient).

    Parameters
    ----------
    x, y : tensor, array or Python number
        Operands of any dtype (broadcast together).

    Returns
    -------
    Tensor
        A bool tensor; never requires grad.
    """
    return logical_xor_p.bind(x, y)


# NumPy's other spellings.
bitwise_not = invert = bitwise_invert
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift
