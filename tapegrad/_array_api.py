"""The parts of the Python array API standard that are not NumPy-named functions.

The inspection API (``tg.__array_namespace_info__()``), DLPack exchange
(``tg.from_dlpack``, ``Tensor.__dlpack__``, ``Tensor.__dlpack_device__``),
``Tensor.to_device`` and the standard's dtype rule for ``tg.asarray``.

Two dtype rules hold for Python numbers (see docs/numpy.md, "Integer, bool and complex
dtypes"): the standard's functions (``asarray``, ``full``, ``arange``...) give a Python
int the default *integer* dtype (int64), while ``tg.tensor`` keeps its documented
PyTorch-like rule (ints and floats become the default float dtype).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _config
from .backend import backend_of, device_of, dtype_name, to_device, to_numpy
from .tensor import Tensor, _converted, _device_key

__all__ = ["ArrayNamespaceInfo", "finfo", "from_dlpack", "iinfo"]

_DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float32", "float64", "complex64", "complex128")
_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
          "real floating": "f", "complex floating": "c", "numeric": "iufc"}


def _cuda_devices() -> list[str]:
    """``"cuda:N"`` for each GPU CuPy sees (none without CuPy or a device)."""
    try:
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy missing, or no driver/device: no GPU devices
        return []
    return [f"cuda:{i}" for i in range(n)]


def _check_device(device: Any, what: str) -> None:
    if device is None or device == "cpu" or str(device).startswith("cuda"):
        return
    raise ValueError(f"{what}: unknown device {device!r}; expected one of "
                     f"{ArrayNamespaceInfo().devices()}")


class ArrayNamespaceInfo:
    """What ``tg.__array_namespace_info__()`` returns: the array API's inspection API.

    Devices are ``"cpu"`` (NumPy arrays) and ``"cuda:N"`` for each GPU when CuPy is
    installed. The default dtypes are the default float dtype
    (:func:`tapegrad.get_default_dtype`, float32 unless changed), its complex
    counterpart, and int64 for integers and indices.
    """

    __module__ = "tapegrad"

    def capabilities(self) -> dict[str, Any]:
        """Optional features: boolean indexing and data-dependent shapes are supported.

        Returns
        -------
        dict
            ``{"boolean indexing": True, "data-dependent shapes": True,
            "max dimensions": 64}``.
        """
        return {"boolean indexing": True, "data-dependent shapes": True,
                "max dimensions": 64}

    def default_device(self) -> str:
        """The device arrays are created on without ``device=``: ``"cpu"``."""
        return "cpu"

    def devices(self) -> list[str]:
        """The devices tensors can live on: ``"cpu"`` and each ``"cuda:N"`` CuPy sees."""
        return ["cpu", *_cuda_devices()]

    def default_dtypes(self, *, device: Any = None) -> dict[str, np.dtype]:
        """The default dtypes for ``device`` (the same on every device).

        Returns
        -------
        dict
            Keys ``"real floating"``, ``"complex floating"``, ``"integral"`` and
            ``"indexing"``.
        """
        _check_device(device, "default_dtypes")
        real = _config.get_default_dtype()
        return {"real floating": real,
                "complex floating": np.result_type(real, np.complex64),
                "integral": np.dtype(np.int64), "indexing": np.dtype(np.int64)}

    def dtypes(self, *, device: Any = None,
               kind: str | tuple[str, ...] | None = None) -> dict[str, np.dtype]:
        """The supported dtypes, by name, optionally only those of ``kind``.

        Parameters
        ----------
        device : optional
            A device from :meth:`devices` (all support the same dtypes).
        kind : str or tuple of str, optional
            ``"bool"``, ``"signed integer"``, ``"unsigned integer"``, ``"integral"``,
            ``"real floating"``, ``"complex floating"``, ``"numeric"``, or a tuple of
            them (their union).
        """
        _check_device(device, "dtypes")
        if kind is None:
            letters = "biufc"
        else:
            kinds = (kind,) if isinstance(kind, str) else tuple(kind)
            unknown = [k for k in kinds if k not in _KINDS]
            if unknown:
                raise ValueError(f"dtypes: unknown kind {unknown[0]!r}; expected one of "
                                 f"{sorted(_KINDS)}")
            letters = "".join(_KINDS[k] for k in kinds)
        return {n: np.dtype(n) for n in _DTYPE_NAMES if np.dtype(n).kind in letters}


def __array_namespace_info__() -> ArrayNamespaceInfo:
    """The array API's inspection namespace (devices, dtypes, capabilities)."""
    return ArrayNamespaceInfo()


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor holding the data of ``x``, an object supporting DLPack.

    Parameters
    ----------
    x : object with ``__dlpack__`` and ``__dlpack_device__``
        An array of any DLPack-capable library, or a tensor.
    device : optional
        ``"cpu"`` or ``"cuda:N"``; by default ``x``'s own device.
    copy : bool, optional
        True: always copy; False: never copy (raises ``BufferError`` or ``ValueError``
        when a copy is needed); None: copy only when needed.

    Returns
    -------
    Tensor
        A leaf: DLPack exchanges memory, not the gradient graph (like
        ``torch.from_dlpack``); a tensor that requires grad is refused while gradients
        are recorded, as ``np.asarray(t)`` is.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> tg.from_dlpack(np.arange(3))
    tensor([0, 1, 2])
    """
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__, got "
                        f"{type(x).__name__}")
    _check_device(device, "from_dlpack")
    src = x.data if isinstance(x, Tensor) else x
    if isinstance(x, Tensor):
        _converted(x, "from_dlpack", array=True)
    on_gpu = type(src).__module__.startswith("cupy") or str(device).startswith("cuda")
    if not on_gpu:
        kw = {"copy": copy} if copy is not None else {}
        if device == "cpu":
            kw["device"] = "cpu"
        arr = np.from_dlpack(src, **kw)
        return Tensor(arr)
    import cupy

    arr = cupy.from_dlpack(src) if hasattr(cupy, "from_dlpack") else cupy.asarray(src)
    if copy:
        arr = arr.copy()
    if device is not None and device_of(arr) != _device_key(device):
        if copy is False:
            raise ValueError(f"from_dlpack: moving the data to {device!r} needs a copy, "
                             "but copy=False")
        arr = to_device(to_numpy(arr), device, "from_dlpack")
    return Tensor(arr)


def _dlpack(self: Tensor, *, stream: Any = None, max_version: tuple[int, int] | None = None,
            dl_device: tuple[int, int] | None = None, copy: bool | None = None):
    """The DLPack capsule of the tensor's data (without the graph: refused, like
    ``np.asarray(t)``, for a tensor that requires grad while gradients are recorded)."""
    _converted(self, "__dlpack__", array=True)
    kw: dict[str, Any] = {}
    if stream is not None:
        kw["stream"] = stream
    if max_version is not None:
        kw["max_version"] = max_version
    if dl_device is not None:
        kw["dl_device"] = dl_device
    if copy is not None:
        kw["copy"] = copy
    return self.data.__dlpack__(**kw)


def _dlpack_device(self: Tensor) -> tuple[int, int]:
    """``(device type, device id)`` of the tensor's data, as DLPack numbers them."""
    return self.data.__dlpack_device__()


def _to_device(self: Tensor, device: Any, /, *, stream: Any = None) -> Tensor:
    """The tensor on ``device`` (``"cpu"`` or ``"cuda:N"``); ``self`` when it is there.

    A move between devices makes a new leaf, so it is refused for a tensor that is part
    of a gradient graph (the copy would carry no gradient).
    """
    if device_of(self.data) == _device_key(device):
        return self
    if self._rg or self._node is not None:
        raise TypeError(f"to_device: moving a tensor that is part of a gradient graph to "
                        f"{device!r} would drop its gradient; create it on that device "
                        "(tg.tensor(..., device=...)) or .detach() it first")
    if backend_of(self.data).name not in ("numpy", "cupy"):
        return Tensor(self.data.to_device(device, stream=stream))
    _check_device(device, "to_device")
    return Tensor(to_device(to_numpy(self.data), device, "to_device"))


def standard_asarray_dtype(obj: Any) -> Any:
    """The dtype the standard's ``asarray`` gives Python data: bool, int64 for ints,
    the default float dtype for floats and its complex counterpart for complex numbers;
    None for arrays and objects with their own dtype."""
    if backend_of_safe(obj) is not None:
        return None
    kind = np.asarray(obj).dtype
    if kind.kind == "f":
        return _config.get_default_dtype()
    if kind.kind == "c":
        return np.result_type(_config.get_default_dtype(), np.complex64)
    return kind  # bool, int64 (uint64 beyond int64's range)


def backend_of_safe(obj: Any):
    """``backend_of(obj)``, or None for Python data (numbers, lists, buffers)."""
    try:
        return backend_of(obj)
    except TypeError:
        return None



Tensor.__dlpack__ = _dlpack
Tensor.__dlpack_device__ = _dlpack_device
Tensor.to_device = _to_device


class finfo_object:  # noqa: N801  (the array API's name)
    """Machine limits of a floating-point dtype, as Python numbers (the array API's
    ``finfo`` object): ``bits``, ``eps``, ``max``, ``min``, ``smallest_normal``,
    ``dtype``."""

    __module__ = "tapegrad"
    __slots__ = ("bits", "eps", "max", "min", "smallest_normal", "dtype")

    def __init__(self, info: np.finfo) -> None:
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.smallest_normal = float(info.smallest_normal)
        self.dtype = np.dtype(info.dtype)

    def __repr__(self) -> str:
        return (f"finfo(bits={self.bits}, eps={self.eps}, max={self.max}, min={self.min}, "
                f"smallest_normal={self.smallest_normal}, dtype={self.dtype})")


class iinfo_object:  # noqa: N801  (the array API's name)
    """Machine limits of an integer dtype, as Python ints: ``bits``, ``max``, ``min``,
    ``dtype``."""

    __module__ = "tapegrad"
    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, info: np.iinfo) -> None:
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = np.dtype(info.dtype)

    def __repr__(self) -> str:
        return f"iinfo(bits={self.bits}, max={self.max}, min={self.min}, dtype={self.dtype})"


def _dtype_of(type_: Any, what: str) -> np.dtype:
    dtype = getattr(type_, "dtype", type_)
    try:
        return np.dtype(dtype_name(dtype))
    except TypeError:
        raise TypeError(f"{what}: expected a dtype or an array, got "
                        f"{type(type_).__name__}") from None


def finfo(type_: Any, /) -> finfo_object:
    """Limits of a floating-point dtype (or of an array's dtype) as Python floats.

    Parameters
    ----------
    type_ : dtype or array
        A real or complex floating-point dtype, or a tensor/array of one (complex dtypes
        give their real counterpart's limits).

    Returns
    -------
    finfo_object
        ``bits`` (int), ``eps``, ``max``, ``min``, ``smallest_normal`` (floats) and
        ``dtype`` (the real dtype).

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.finfo(tg.float32).eps
    1.1920928955078125e-07
    """
    dtype = _dtype_of(type_, "finfo")
    if dtype.kind not in "fc":
        raise ValueError(f"finfo: expected a floating-point dtype, got {dtype}")
    return finfo_object(np.finfo(dtype))


def iinfo(type_: Any, /) -> iinfo_object:
    """Limits of an integer dtype (or of an array's dtype) as Python ints.

    Parameters
    ----------
    type_ : dtype or array
        An integer dtype, or a tensor/array of one.

    Returns
    -------
    iinfo_object
        ``bits``, ``max``, ``min`` (ints) and ``dtype``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.iinfo(tg.uint8).max
    255
    """
    dtype = _dtype_of(type_, "iinfo")
    if dtype.kind not in "iu":
        raise ValueError(f"iinfo: expected an integer dtype, got {dtype}")
    return iinfo_object(np.iinfo(dtype))
