"""Lowerings for array libraries other than NumPy.

The IR is backend-neutral: variables carry NumPy dtypes and constants are host arrays
(see :func:`tapegrad.backend.to_host`), so the passes never look at a backend. A
lowering turns that IR into code for one library:

    array_api.py    any array-API namespace (array-api-strict in CI): every equation
                    calls the inputs' namespace; constants move to the device once,
                    when the program is built; fused groups are helper functions.
    cupy.py         CuPy: fused elementwise groups become ``cupy.ElementwiseKernel``s,
                    sums of a fused group one ``cupy.ReductionKernel``.

:func:`lowering_for` picks one for a :class:`tapegrad.backend.Backend` (NumPy's own,
``compiler/numpy_lowering.py``, for NumPy arrays).
"""

from __future__ import annotations

from typing import Any

from ..numpy_lowering import NumpyLowering
from .array_api import ArrayAPILowering


def lowering_for(backend: Any, **options: Any) -> Any:
    """The lowering for a :class:`~tapegrad.backend.Backend`: NumPy's own (``numexpr``:
    ``"auto"``, True or False), else :func:`lowering_for_namespace`."""
    if backend.name == "numpy":
        return NumpyLowering(options.get("numexpr", "auto"))
    return lowering_for_namespace(backend, **{k: v for k, v in options.items()
                                              if k != "numexpr"})


def lowering_for_namespace(backend: Any, device: Any = None, **options: Any) -> Any:
    """The lowering for a non-NumPy backend on ``device``."""
    if backend.name == "cupy":
        from .cupy import CupyLowering

        return CupyLowering(backend.xp, device, fuse_kernels=options.get("cuda_kernels", True))
    return ArrayAPILowering(backend.xp, device)


__all__ = ["ArrayAPILowering", "lowering_for", "lowering_for_namespace"]
