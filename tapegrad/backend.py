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
    """Copy an array of any backend to host memory as a NumPy array.

    This is the one place tapegrad moves data to the host; it runs only for
    ``Tensor.numpy()``, ``.item()``, ``.tolist()`` and printing. Arrays on another
    device (a GPU, or array-api-strict's test devices) go through the library's own
    transfer: CuPy's ``.get()``, else ``to_device`` to the namespace's CPU device.
    """
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    try:
        return np.asarray(x)
    except (RuntimeError, TypeError, ValueError, BufferError):
        cpu = _cpu_device(x)
        if cpu is None:
            raise
        return np.asarray(x.to_device(cpu))


def _cpu_device(x: Any) -> Any:
    """The CPU device of ``x``'s namespace (array API inspection), or None."""
    xp = x.__array_namespace__()
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return None
    for d in info().devices():
        if "cpu" in str(d).lower():
            return d
    return None


def to_device(arr: Any, device: Any, what: str) -> Any:
    """``arr`` (a NumPy array) on ``device``: ``"cpu"``, or ``"cuda"`` / ``"cuda:N"``
    (CuPy). Raises naming the operation when the device's library is missing."""
    if device is None or device == "cpu":
        return arr
    name = str(device)
    if name == "cuda" or name.startswith("cuda:") or name == "gpu":
        try:
            import cupy
        except ImportError:
            raise RuntimeError(
                f"{what}: device {name!r} needs CuPy, which is not installed; install the "
                "CuPy build for your CUDA version (pip install cupy-cuda12x, or "
                "'tapegrad[cupy]'), or use device='cpu'") from None
        n = int(name.split(":")[1]) if ":" in name else 0
        with cupy.cuda.Device(n):
            return cupy.asarray(arr)
    raise ValueError(f"{what}: unknown device {device!r}; expected 'cpu', 'cuda' or "
                     "'cuda:N'")


def device_of(x: Any) -> Any:
    """A hashable key for the device ``x`` lives on (``"cpu"`` for NumPy).

    Part of the compiled programs' cache key: the same shapes on another GPU need a
    program whose kernels and constants live there.
    """
    if type(x) is np.ndarray:
        return "cpu"
    d = getattr(x, "device", "cpu")
    dev_id = getattr(d, "id", None)  # cupy.cuda.Device
    if isinstance(dev_id, int):
        return ("cuda", dev_id)
    try:
        hash(d)
    except TypeError:
        return str(d)
    return d


def dtype_kind(dtype: Any) -> str:
    """NumPy's one-letter kind (``f``, ``c``, ``i``, ``u``, ``b``) of any backend's dtype."""
    kind = getattr(dtype, "kind", None)
    if isinstance(kind, str):
        return kind
    name = str(dtype).rsplit(".", 1)[-1]
    for prefix, k in (("complex", "c"), ("float", "f"), ("uint", "u"), ("int", "i"),
                      ("bool", "b")):
        if name.startswith(prefix):
            return k
    raise TypeError(f"unknown dtype {dtype!r}")


def is_floating(dtype: Any) -> bool:
    """Whether ``dtype`` is real or complex floating point, for any backend's dtypes."""
    return dtype_kind(dtype) in "fc"


def dtype_name(dtype: Any) -> str:
    """The array-API name of a dtype of any backend: ``"float32"``, ``"bool"``..."""
    if isinstance(dtype, str):
        return np.dtype(dtype).name
    if isinstance(dtype, (np.dtype, type)):
        return np.dtype(dtype).name
    return str(dtype).rsplit(".", 1)[-1]


def namespace_dtype(xp: Any, dtype: Any) -> Any:
    """``dtype`` (a string, NumPy dtype or another namespace's dtype) as ``xp``'s dtype.

    NumPy and CuPy use NumPy dtypes; other array-API namespaces have their own dtype
    objects, named as in the standard (``xp.float32``).
    """
    if xp is np or getattr(xp, "__name__", "").startswith("cupy"):
        return dtype if isinstance(dtype, np.dtype) else np.dtype(dtype_name(dtype))
    own = getattr(xp, dtype_name(dtype), None)
    if own is None:
        raise TypeError(f"the {getattr(xp, '__name__', xp)} namespace has no dtype {dtype!r}")
    return own



def host_dtype(dtype: Any) -> Any:
    """``dtype`` of any backend as a NumPy dtype (Python scalar types pass through).

    The compiler's IR is typed with NumPy dtypes whatever the backend, so its passes
    need no per-backend code; the lowering maps them back (:func:`namespace_dtype`).
    """
    if isinstance(dtype, np.dtype) or dtype in (bool, int, float, complex):
        return dtype
    return np.dtype(dtype_name(dtype))


def to_host(obj: Any) -> Any:
    """Arrays (also inside tuples, lists and dicts) as NumPy arrays, dtypes as NumPy
    dtypes: how the compiler keeps constants and parameters (a compile-time copy)."""
    if isinstance(obj, (np.ndarray, np.generic, np.dtype, bool, int, float, complex, str,
                        slice, type(None), type(Ellipsis))):
        return obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_host(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_host(v) for k, v in obj.items()}
    if hasattr(obj, "__array_namespace__") and hasattr(obj, "shape"):
        return to_numpy(obj)
    if type(obj).__name__.lower().endswith("dtype"):  # another namespace's dtype object
        return host_dtype(obj)
    return obj
