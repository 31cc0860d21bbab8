"""NumPy's dispatch protocols for :class:`Tensor`, and tapegrad as an array-API namespace.

``np.sin(t)``, ``np.sum(t, axis=0)``, ``np.matmul(a, t)`` and ``np.concatenate([t, a])``
reach tapegrad through ``__array_ufunc__`` and ``__array_function__`` and return
recorded tensors. The lookup is by name: NumPy's ``np.foo`` runs ``tapegrad.foo``
(``np.linalg.foo`` runs ``tapegrad.linalg.foo``, ``np.fft.foo`` runs
``tapegrad.fft.foo``), so every function tapegrad defines is dispatched as soon as it
exists. A NumPy function tapegrad does not define raises ``TypeError`` naming it: the
graph is never dropped silently. ``np.asarray(t)`` (the ``__array__`` protocol) is the
explicit way out: it returns the data, without the graph.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

import numpy as np

import tapegrad

from . import _inplace
from ._array_api import backend_of_safe, finfo, iinfo, standard_asarray_dtype
from .backend import device_of, dtype_name, to_numpy
from .primitive import holds_tensor, pack_sequence
from .tensor import Tensor, _device_key, tensor

__array_api_version__ = "2023.12"

# NumPy functions that only inspect metadata or compare values: no gradient exists, so
# running NumPy's own version on the data drops nothing. (``nonzero``, ``unique``,
# ``count_nonzero``... are tapegrad functions: their integer results stay tensors, which
# a compiled program recomputes on every call.)
_VALUE_ONLY = frozenset({
    "shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "can_cast",
    "min_scalar_type", "may_share_memory", "shares_memory", "array_equal", "array_equiv",
    "allclose", "isclose", "array_repr", "array_str", "array2string", "any", "all",
})

# NumPy name -> tapegrad name, where the two differ.
_ALIASES = {"around": "round", "row_stack": "vstack"}

# ufunc.reduce / ufunc.accumulate as tapegrad reductions and scans.
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logaddexp": "logsumexp"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}

# ufunc keywords accepted when they have their default value.
_UFUNC_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "subok": True,
                   "signature": None, "dtype": None}

_UNSET = object()
_NAMESPACES = {"numpy": (), "numpy.linalg": ("linalg",), "numpy.fft": ("fft",)}


def _copy(a: Any, order: str = "K", subok: bool = False) -> Tensor:
    """``np.copy(t)``: a new tensor (``positive`` may return ``t`` itself, and an in-place
    update of the copy must not reach the original)."""
    if isinstance(a, Tensor):
        return tapegrad.identity(a) if (a._rg or a._node is not None) else tensor(a)
    return tensor(a)


def _unsupported(what: str, why: str = "") -> TypeError:
    return TypeError(
        f"{what} is not supported on tapegrad tensors{why}; calling it would drop the "
        "gradient graph. Use a tapegrad function, or np.asarray(t) to work on the "
        "values without gradients."
    )


def _lookup(module: str, name: str):
    """The tapegrad function standing for NumPy's ``module.name``, or None."""
    path = _NAMESPACES.get(module)
    if path is None:
        return None
    ns: Any = tapegrad
    for part in path:
        ns = getattr(ns, part, None)
        if ns is None:
            return None
    fn = getattr(ns, _ALIASES.get(name, name), None)
    if fn is None or inspect.ismodule(fn) or isinstance(fn, type) or not callable(fn):
        return None
    return fn


@functools.cache
def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _call(fn, what: str, args: tuple, kwargs: dict):
    sig = _signature(fn)
    if sig is not None:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{what}: tapegrad.{fn.__name__} does not accept these "
                            f"arguments ({e})") from None
    return fn(*args, **kwargs)


def _data(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_data(v) for v in x)
    return x


def _substitute(x: Any, old: Tensor, new: Tensor) -> Any:
    if x is old:
        return new
    if isinstance(x, (list, tuple)):
        return type(x)(_substitute(v, old, new) for v in x)
    return x


def _store(out: Any, compute, what: str):
    """Write ``compute(...)`` into ``out`` (NumPy's ``out=``), recorded on tensors."""
    if isinstance(out, Tensor):
        return _inplace.apply(out, f"{what}(..., out=)", lambda s: compute(out, s))
    res = compute(None, None)
    if isinstance(res, Tensor) and (res._rg or res._node is not None):
        raise _unsupported(f"{what}(..., out=<ndarray>)",
                           " when the result is part of a gradient graph")
    np.copyto(out, to_numpy(res.data) if isinstance(res, Tensor) else res,
              casting="same_kind")
    return out


# ufunc -> tapegrad function, for plain calls (``ndarray * tensor``, ``np.sin(t)``).
_PLAIN_CALLS: dict = {}


def array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any):
    """``Tensor.__array_ufunc__``: run NumPy ufuncs on tensors as tapegrad operations."""
    if method == "__call__" and not kwargs:
        fn = _PLAIN_CALLS.get(ufunc)
        if fn is not None:
            return fn(*inputs)
    name = ufunc.__name__
    what = f"numpy.{name}" if method == "__call__" else f"numpy.{name}.{method}"
    out = kwargs.pop("out", None)
    for k, v in kwargs.items():
        default = _UFUNC_DEFAULTS.get(k, _UNSET)
        if v is default or (isinstance(v, (bool, str)) and v == default):
            continue
        if method == "__call__" or k not in ("axis", "keepdims", "dtype"):
            raise _unsupported(f"{what} with {k}={v!r}")
    kwargs = {k: v for k, v in kwargs.items() if k not in _UFUNC_DEFAULTS}
    if method == "__call__":
        fn = _lookup("numpy", name)
        if fn is None:
            raise _unsupported(what)
        if not kwargs and out is None:
            _PLAIN_CALLS[ufunc] = fn
        compute = lambda o, s: fn(*_substitute(inputs, o, s))  # noqa: E731
    elif method in ("reduce", "accumulate"):
        table = _REDUCE if method == "reduce" else _ACCUMULATE
        fn = _lookup("numpy", table.get(name, ""))
        if fn is None or len(inputs) != 1:
            raise _unsupported(what)
        kwargs.setdefault("axis", 0)  # ufunc.reduce reduces axis 0 by default
        if kwargs.pop("dtype", None) is not None:
            raise _unsupported(f"{what} with dtype=")
        compute = lambda o, s: _call(fn, what, _substitute(inputs, o, s), kwargs)  # noqa: E731
    elif method == "outer":
        fn = _lookup("numpy", name)
        if fn is None:
            raise _unsupported(what)
        a, b = inputs
        nb = np.ndim(_data(b))
        compute = lambda o, s: fn(  # noqa: E731
            tapegrad.reshape(_substitute(a, o, s), np.shape(_data(a)) + (1,) * nb),
            _substitute(b, o, s))
    else:
        raise _unsupported(what)
    if out is None:
        return compute(None, None)
    if len(out) != 1:
        raise _unsupported(f"{what} with several out= arrays")
    return _store(out[0], compute, what)


def array_function(self: Tensor, func, types, args: tuple, kwargs: dict):
    """``Tensor.__array_function__``: run ``np.foo(...)`` as ``tapegrad.foo(...)``."""
    for t in types:
        if not (issubclass(t, Tensor) or issubclass(t, np.ndarray)):
            return NotImplemented
    name, module = func.__name__, func.__module__
    what = f"{module}.{name}"
    if module == "numpy" and name in _VALUE_ONLY:
        return func(*_data(args), **{k: _data(v) for k, v in kwargs.items()})
    fn = _copy if (module, name) == ("numpy", "copy") else _lookup(module, name)
    if fn is None:
        raise _unsupported(what)
    out = kwargs.pop("out", None)
    if out is None:
        return _call(fn, what, args, kwargs)
    return _store(out, lambda o, s: _call(fn, what, _substitute(args, o, s), kwargs), what)


def array_namespace(self: Tensor | None = None, api_version: str | None = None):
    """The array-API namespace of tensors: the ``tapegrad`` module itself."""
    if api_version is not None and api_version not in ("2022.12", "2023.12"):
        raise ValueError(f"__array_namespace__: unsupported api_version {api_version!r}")
    return tapegrad


# -- the array-API names tapegrad spells differently or lacks as functions ----------------
def asarray(obj: Any, /, *, dtype=None, device=None, copy: bool | None = None) -> Tensor:
    """The array API's ``asarray``: a tensor (``obj`` itself when nothing changes).

    Python data follows the standard's dtype rule, unlike :func:`tapegrad.tensor`:
    bools give bool, ints the default integer dtype (int64), floats the default float
    dtype and complex numbers its complex counterpart. Arrays keep their dtype and, with
    ``copy=None`` or ``False``, their memory. A list of tensors is stacked (recorded, so
    the gradient reaches the elements). ``copy=False`` raises ``ValueError`` when a copy
    cannot be avoided.
    """
    if device is not None and not isinstance(obj, Tensor):
        out = asarray(obj, dtype=dtype, copy=copy)
        return out if device_of(out.data) == _device_key(device) else out.to_device(device)
    if isinstance(obj, (list, tuple)) and holds_tensor(obj):
        obj = pack_sequence(obj)  # recorded: the gradient reaches the elements
        copy = None if copy is False else copy  # stacking made a new array
    if isinstance(obj, Tensor):
        if dtype is not None and obj.dtype != np.dtype(dtype_name(dtype)):
            if copy is False:
                raise ValueError(f"asarray: converting {obj.dtype} to {dtype} needs a copy, "
                                 "but copy=False")
            return tapegrad.astype(obj, dtype)
        if device is not None and device_of(obj.data) != _device_key(device):
            return asarray(obj.to_device(device), dtype=dtype, copy=False if copy is False
                           else None)
        return tensor(obj) if copy else obj
    if backend_of_safe(obj) is not None:  # an array (or NumPy scalar) of some library
        if not copy and (dtype is None or obj.dtype == np.dtype(dtype_name(dtype))):
            if isinstance(obj, np.generic):
                if copy is False:
                    raise ValueError("asarray: a NumPy scalar cannot be wrapped without a "
                                     "copy (copy=False)")
                return tensor(obj)
            return Tensor(obj)
        if copy is False:
            raise ValueError(f"asarray: converting {obj.dtype} to {dtype} needs a copy, but "
                             "copy=False")
        return tensor(obj, dtype=dtype)
    if copy is False:  # only a buffer (memoryview, bytearray) can be shared
        try:
            return Tensor(np.asarray(obj, dtype=None if dtype is None else dtype_name(dtype),
                                     copy=False))
        except ValueError:
            raise ValueError(f"asarray: a Python {type(obj).__name__} cannot become an "
                             "array without a copy (copy=False)") from None
    return tensor(obj, dtype=dtype if dtype is not None else standard_asarray_dtype(obj))


def isdtype(dtype, kind) -> bool:
    """The array API's ``isdtype``."""
    kinds = {"bool": "b", "signed integer": "i", "unsigned integer": "u",
             "integral": "iu", "real floating": "f", "complex floating": "c",
             "numeric": "iufc"}
    if isinstance(kind, tuple):
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        return np.dtype(dtype_name(dtype)).kind in kinds[kind]  # any namespace's dtype
    return np.dtype(dtype_name(dtype)) == np.dtype(dtype_name(kind))


_NAMESPACE_ATTRS = {
    **{n: np.dtype(n) for n in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                "uint32", "uint64", "float32", "float64", "complex64",
                                "complex128")},
    "e": math.e, "pi": math.pi, "inf": math.inf, "nan": math.nan, "newaxis": None,
    "asarray": asarray, "isdtype": isdtype, "finfo": finfo, "iinfo": iinfo,
    "result_type": lambda *a: np.result_type(*_data(a)),
    "can_cast": lambda f, t: np.can_cast(_data(f), t),
    "__array_api_version__": __array_api_version__,
}


def namespace_attr(name: str) -> Any:
    """Array-API names that are not tapegrad functions (dtypes, constants, asarray)."""
    try:
        return _NAMESPACE_ATTRS[name]
    except KeyError:
        raise AttributeError(f"module 'tapegrad' has no attribute {name!r}") from None


Tensor.__array_ufunc__ = array_ufunc
Tensor.__array_function__ = array_function
Tensor.__array_namespace__ = array_namespace
