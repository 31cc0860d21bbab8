"""The :class:`Tensor`: an array, plus where it came from.

A tensor holds an array of any backend (``data``), whether gradients flow to it
(``requires_grad``), and, when an operation produced it, the record of that operation
(``grad_fn``) and which of its outputs it is. Arithmetic operators and NumPy-named
methods are attached in ``_methods.py``; this file holds the state and the PyTorch-style
bookkeeping (``grad``, ``retain_grad``, ``backward``, ``repr``).
"""

from __future__ import annotations

import warnings
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _config
from ._state import _STATE
from .backend import (
    backend_of,
    device_of,
    dtype_kind,
    is_floating,
    namespace_dtype,
    to_device,
    to_numpy,
)


class Tensor:
    """An array that records the operations applied to it.

    Create tensors with :func:`tapegrad.tensor`. A tensor that requires grad and was
    not produced by an operation is a *leaf*: ``backward()`` accumulates into its
    ``.grad``. Tensors produced by operations carry ``grad_fn``.
    """

    __slots__ = ("data", "_rg", "_node", "_idx", "_grad", "_retains", "_hooks", "_version",
                 "_mods", "__weakref__")  # _mods: in-place log, set only by _inplace.py
    # NumPy defers binary operators (ndarray * tensor) to the tensor's reflected method.
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        elif backend_of(data) is None:
            data = _from_python(data, None)
        self.data = data
        self._node = None
        self._idx = 0
        self._grad = None
        self._retains = False
        self._hooks = None
        self._version = 0
        self._rg = False
        if requires_grad:
            self.requires_grad = True

    if TYPE_CHECKING:
        # For type checkers only (mypy, pyright): the operators and NumPy-named methods
        # are attached at import time by _methods.py, _inplace.py, _numpy_protocol.py and
        # _array_api.py, which a type checker cannot follow. Nothing here exists at
        # run time; the signatures mirror the attached functions.
        from collections.abc import Sequence
        from typing import TypeAlias

        _Operand: TypeAlias = "Tensor | np.ndarray | np.generic | complex | Sequence[Any]"
        _Axis: TypeAlias = "int | tuple[int, ...] | None"
        _Index: TypeAlias = Any

        def __add__(self, other: _Operand) -> Tensor: ...
        def __radd__(self, other: _Operand) -> Tensor: ...
        def __sub__(self, other: _Operand) -> Tensor: ...
        def __rsub__(self, other: _Operand) -> Tensor: ...
        def __mul__(self, other: _Operand) -> Tensor: ...
        def __rmul__(self, other: _Operand) -> Tensor: ...
        def __truediv__(self, other: _Operand) -> Tensor: ...
        def __rtruediv__(self, other: _Operand) -> Tensor: ...
        def __floordiv__(self, other: _Operand) -> Tensor: ...
        def __rfloordiv__(self, other: _Operand) -> Tensor: ...
        def __mod__(self, other: _Operand) -> Tensor: ...
        def __rmod__(self, other: _Operand) -> Tensor: ...
        def __pow__(self, other: _Operand) -> Tensor: ...
        def __rpow__(self, other: _Operand) -> Tensor: ...
        def __matmul__(self, other: _Operand) -> Tensor: ...
        def __rmatmul__(self, other: _Operand) -> Tensor: ...
        def __and__(self, other: _Operand) -> Tensor: ...
        def __rand__(self, other: _Operand) -> Tensor: ...
        def __or__(self, other: _Operand) -> Tensor: ...
        def __ror__(self, other: _Operand) -> Tensor: ...
        def __xor__(self, other: _Operand) -> Tensor: ...
        def __rxor__(self, other: _Operand) -> Tensor: ...
        def __lshift__(self, other: _Operand) -> Tensor: ...
        def __rlshift__(self, other: _Operand) -> Tensor: ...
        def __rshift__(self, other: _Operand) -> Tensor: ...
        def __rrshift__(self, other: _Operand) -> Tensor: ...
        def __iadd__(self, other: _Operand) -> Tensor: ...
        def __isub__(self, other: _Operand) -> Tensor: ...
        def __imul__(self, other: _Operand) -> Tensor: ...
        def __itruediv__(self, other: _Operand) -> Tensor: ...
        def __ipow__(self, other: _Operand) -> Tensor: ...
        def __imatmul__(self, other: _Operand) -> Tensor: ...
        def __iand__(self, other: _Operand) -> Tensor: ...
        def __ior__(self, other: _Operand) -> Tensor: ...
        def __ixor__(self, other: _Operand) -> Tensor: ...
        def __ilshift__(self, other: _Operand) -> Tensor: ...
        def __irshift__(self, other: _Operand) -> Tensor: ...
        def __lt__(self, other: _Operand) -> Tensor: ...
        def __le__(self, other: _Operand) -> Tensor: ...
        def __gt__(self, other: _Operand) -> Tensor: ...
        def __ge__(self, other: _Operand) -> Tensor: ...
        def __eq__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __round__(self, ndigits: int | None = None) -> Tensor: ...
        def __getitem__(self, index: _Index) -> Tensor: ...
        def __setitem__(self, index: _Index, value: _Operand) -> None: ...
        def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any,
                            **kwargs: Any) -> Any: ...
        def __array_function__(self, func: Any, types: Any, args: Any,
                               kwargs: Any) -> Any: ...
        def __array_namespace__(self, *, api_version: str | None = None) -> Any: ...
        def __dlpack__(self, **kwargs: Any) -> Any: ...
        def __dlpack_device__(self) -> tuple[int, int]: ...

        @property
        def T(self) -> Tensor: ...
        @property
        def mT(self) -> Tensor: ...

        # Reductions.
        def sum(self, axis: _Axis = None, dtype: Any = None,
                keepdims: bool = False) -> Tensor: ...
        def mean(self, axis: _Axis = None, keepdims: bool = False) -> Tensor: ...
        def prod(self, axis: _Axis = None, dtype: Any = None,
                 keepdims: bool = False) -> Tensor: ...
        def max(self, axis: _Axis = None, keepdims: bool = False) -> Tensor: ...
        def min(self, axis: _Axis = None, keepdims: bool = False) -> Tensor: ...
        def var(self, axis: _Axis = None, ddof: float | None = None, keepdims: bool = False,
                *, correction: float | None = None) -> Tensor: ...
        def std(self, axis: _Axis = None, ddof: float | None = None, keepdims: bool = False,
                *, correction: float | None = None) -> Tensor: ...
        def logsumexp(self, axis: _Axis = None, keepdims: bool = False) -> Tensor: ...
        def any(self, axis: _Axis = None, keepdims: bool = False) -> Tensor: ...
        def all(self, axis: _Axis = None, keepdims: bool = False) -> Tensor: ...
        def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor: ...
        def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor: ...
        def cumsum(self, axis: int | None = None) -> Tensor: ...
        def cumprod(self, axis: int | None = None) -> Tensor: ...
        def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor: ...

        # Elementwise.
        def exp(self) -> Tensor: ...
        def expm1(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def log1p(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def square(self) -> Tensor: ...
        def sin(self) -> Tensor: ...
        def cos(self) -> Tensor: ...
        def tan(self) -> Tensor: ...
        def sinh(self) -> Tensor: ...
        def cosh(self) -> Tensor: ...
        def tanh(self) -> Tensor: ...
        def arcsin(self) -> Tensor: ...
        def arctan(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def sign(self) -> Tensor: ...
        def conj(self) -> Tensor: ...
        def real(self) -> Tensor: ...
        def imag(self) -> Tensor: ...
        def round(self, decimals: int = 0) -> Tensor: ...
        def clip(self, a_min: Any = None, a_max: Any = None, *, min: Any = None,
                 max: Any = None) -> Tensor: ...
        def pow(self, y: _Operand) -> Tensor: ...
        def astype(self, dtype: Any) -> Tensor: ...

        # Shapes, products, indexing.
        def reshape(self, *shape: Any) -> Tensor: ...
        def view(self, *shape: Any) -> Tensor: ...
        def transpose(self, *axes: Any) -> Tensor: ...
        def swapaxes(self, axis1: int, axis2: int) -> Tensor: ...
        def moveaxis(self, source: Any, destination: Any) -> Tensor: ...
        def squeeze(self, axis: _Axis = None) -> Tensor: ...
        def expand_dims(self, axis: Any) -> Tensor: ...
        def unsqueeze(self, axis: Any) -> Tensor: ...
        def broadcast_to(self, shape: Any) -> Tensor: ...
        def ravel(self) -> Tensor: ...
        def flatten(self) -> Tensor: ...
        def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor: ...
        def dot(self, b: _Operand) -> Tensor: ...
        def matmul(self, b: _Operand) -> Tensor: ...
        def take(self, indices: Any, axis: int | None = None) -> Tensor: ...
        def repeat(self, repeats: Any, axis: int | None = None) -> Tensor: ...
        def argsort(self, axis: int | None = -1, descending: bool = False,
                    stable: bool = True) -> Tensor: ...
        def sort(self, axis: int | None = -1, descending: bool = False,
                 stable: bool = True) -> Tensor: ...
        def nonzero(self) -> tuple[Tensor, ...]: ...

        # In-place (recorded) operations, PyTorch's names.
        def add_(self, other: _Operand) -> Tensor: ...
        def sub_(self, other: _Operand) -> Tensor: ...
        def mul_(self, other: _Operand) -> Tensor: ...
        def div_(self, other: _Operand) -> Tensor: ...
        def zero_(self) -> Tensor: ...
        def fill_(self, value: Any) -> Tensor: ...
        def copy_(self, src: _Operand) -> Tensor: ...
        def to_device(self, device: Any, /, *, stream: Any = None) -> Tensor: ...

    # -- metadata -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, a tuple of ints."""
        return tuple(self.data.shape)

    @property
    def dtype(self):
        """The data's dtype."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.data.shape, dtype=np.int64))

    @property
    def device(self):
        """The data's device (``"cpu"`` for NumPy)."""
        return getattr(self.data, "device", "cpu")

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # -- autograd state -----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """Whether gradients are computed for this tensor (settable on leaves)."""
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._node is not None and self._rg:
            raise RuntimeError(
                "requires_grad: you can only change requires_grad of leaf tensors; "
                "use .detach() to get a leaf"
            )
        if value and not is_floating(self.data.dtype):
            raise RuntimeError(
                "requires_grad: only floating-point tensors can require gradients, "
                f"got dtype {self.data.dtype}"
            )
        self._rg = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._node is None or not self._rg

    @property
    def grad_fn(self):
        """The record of the operation that produced this tensor, or None for leaves."""
        return self._node if self._rg else None

    @property
    def grad(self):
        """The accumulated gradient (leaves, and non-leaves after ``retain_grad()``)."""
        if self._grad is None and self._node is not None and self._rg and not self._retains:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being "
                "accessed. Its .grad attribute won't be populated during backward(). "
                "If you indeed want the .grad field to be populated for a non-leaf "
                "Tensor, use .retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = _assigned_grad(self, value)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during ``backward()``."""
        if not self._rg:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has "
                               "requires_grad=False")
        if self._node is None or self._retains:
            return
        self._retains = True
        node = self._node
        if node.retained is None:
            node.retained = {}
        node.retained[self._idx] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return self._retains

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        The hook may return a replacement gradient. Returns a handle whose
        ``remove()`` unregisters it.
        """
        if not self._rg:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._node
            if node.hooks is None:
                node.hooks = {}
            hooks = node.hooks.setdefault(self._idx, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        Parameters
        ----------
        gradient : array-like, optional
            The gradient of some scalar with respect to ``self``; required unless
            ``self`` has one element.
        retain_graph : bool, optional
            Keep the saved values so that backward can run through this graph again.
            Defaults to ``create_graph``.
        create_graph : bool
            Record the backward pass itself, so gradients can be differentiated again.
        inputs : sequence of tensors, optional
            Accumulate only into these tensors' ``.grad``.
        """
        _engine["backward"]([self], [gradient], retain_graph=retain_graph,
                            create_graph=create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph."""
        st = _STATE.get()
        if st.tracing is not None and (self._node is not None or self._rg):
            return st.tracing.on_detach(self)  # the compiler computes it on each call
        out = _make(self.data, None, 0, False)
        if self._rg and "detach" in _observers:  # explain_grad notes where a path was cut
            _observers["detach"](self, out)
        return out

    # -- conversions --------------------------------------------------------------
    # What converts a tensor to an array or a number, and when that is refused, is
    # decided in ``_converted`` (see docs/numpy.md, "Arrays and numbers from tensors").
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied to host for GPU tensors), without graph.

        An explicit request for the values, so it is allowed in eager code (PyTorch
        asks for ``t.detach().numpy()`` here); inside ``tg.grad`` or ``tg.compile``, on
        a value being differentiated, it raises. The implicit conversion
        (``np.asarray(t)``) raises whenever it would lose a gradient.
        """
        _converted(self, "numpy")
        return to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number.

        Allowed in eager code (logging a loss); inside ``tg.grad`` or ``tg.compile``,
        on a value being differentiated, it raises: the number carries no gradient.
        """
        if _size(self.data) != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to Python scalars, "
                f"got shape {self.shape}"
            )
        _converted(self, "item")
        return to_numpy(self.data).reshape(()).item()

    def tolist(self):
        """The data as nested Python lists (refused like :meth:`item`)."""
        _converted(self, "tolist")
        return to_numpy(self.data).tolist()

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t): the data without the graph, refused while that would lose a
        # gradient (docs/numpy.md).
        _converted(self, "__array__", array=True)
        a = to_numpy(self.data)
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __bool__(self) -> bool:
        if _size(self.data) != 1:
            raise ValueError(
                f"bool: the truth value of a tensor with {_size(self.data)} elements is "
                "ambiguous; use .any() or .all()"
            )
        _note_read(self)  # a guard of a compiled program, never refused
        return bool(to_numpy(self.data).reshape(()).item())

    def __float__(self) -> float:
        return float(self._number("float"))

    def __int__(self) -> int:
        return int(self._number("int"))

    def __complex__(self) -> complex:
        return complex(self._number("complex"))

    def __index__(self) -> int:
        if dtype_kind(self.data.dtype) not in "iub":
            raise TypeError("__index__: only integer tensors can be used as an index")
        return int(self._number("__index__"))

    def _number(self, what: str):
        if _size(self.data) != 1:
            raise TypeError(f"{what}: only one-element tensors can be converted to Python "
                            f"scalars, got shape {self.shape}")
        _converted(self, what, warn=True)
        return to_numpy(self.data).reshape(()).item()

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        if _size(self.data) != 1 or self.data.ndim != 0:
            raise TypeError(f"format: a format spec ({spec!r}) applies to 0-d tensors only, "
                            f"got shape {self.shape}; format t.tolist() or t.item()")
        return format(self.item(), spec)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return _format(self)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _make(data, node, idx: int, rg: bool) -> Tensor:
    """Fast constructor used by every operation (no argument checks)."""
    t = Tensor.__new__(Tensor)
    t.data = data
    t._rg = rg
    t._node = node
    t._idx = idx
    t._grad = None
    t._retains = False
    t._hooks = None
    t._version = 0
    return t


def _size(a) -> int:
    n = 1
    for s in a.shape:
        n *= s
    return n


class ConversionError(RuntimeError):
    """A tensor being differentiated was converted to an array or a Python number."""


def _converted(t: Tensor, what: str, *, array: bool = False, warn: bool = False) -> None:
    """Check a conversion of ``t`` to a NumPy array (``array``) or a Python number.

    The converted value carries no gradient. So, for a tensor that requires grad:
    inside ``tg.grad`` (and the other transforms, compiled or not) a conversion
    raises, as JAX raises for a traced value; in ``tg.compile`` of a function with no
    transform inside, the value read becomes a guard of the program; the implicit array conversion
    (``np.asarray(t)``, ``np.array([x, y])``, NumPy functions that call them) also
    raises in eager code while grad mode is on, as PyTorch's does; a number conversion
    in eager code warns when ``warn`` (``float(t)``, as PyTorch warns), while ``item()``
    and ``numpy()`` stay silent (explicit requests for values: logging a loss). Under
    ``no_grad`` nothing records, and nothing is refused.
    """
    if t._rg:
        st = _STATE.get()
        if st.tracing is not None and not st.nested:
            pass  # tg.compile of a function without a transform: the read is a guard
        elif st.nested:
            if st.grad_enabled or st.tracing is not None:
                where = "tg.compile" if st.tracing is not None else "a gradient transform"
                raise ConversionError(
                    f"{what}: converting a tensor that is being differentiated (inside "
                    f"{where}) to {'an array' if array else 'a Python number'} loses its "
                    "gradient; keep it a tensor (tg.sin(x), not math.sin(x); x * x, not "
                    "x * float(x)), or call .detach() first if the value is meant to be "
                    "a constant")
        elif array and st.grad_enabled:
            raise ConversionError(
                f"{what}: cannot convert a tensor that requires grad to a NumPy array "
                "while gradients are recorded: the array carries no gradient. Use "
                "t.detach().numpy() (or np.asarray(t.detach())) for its values, a tapegrad "
                "function for the computation, and tg.stack([...]) rather than "
                "np.array([...]) to build an array from tensors")
        elif warn and st.grad_enabled:
            warnings.warn(f"{what}: converting a tensor with requires_grad=True to a Python "
                          "number; the number carries no gradient. Consider t.detach() "
                          "first", UserWarning, stacklevel=4)
    _note_read(t)


# The layers above register here (a tensor imports nothing from them): the backward
# driver (tapegrad.backward) and observers of cut paths (tapegrad.explain).
_engine: dict[str, Any] = {}
_observers: dict[str, Any] = {}


def _assigned_grad(t: Tensor, value: Any) -> Tensor | None:
    """Validate ``t.grad = value`` as PyTorch does: a tensor of ``t``'s shape and dtype."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        value = Tensor(value)
    if value.shape != t.shape:
        raise RuntimeError(f"grad: assigned gradient has shape {value.shape}, "
                           f"expected the tensor's shape {t.shape}")
    if value.data.dtype != t.data.dtype:
        raise RuntimeError(f"grad: assigned gradient has dtype {value.data.dtype}, "
                           f"expected the tensor's dtype {t.data.dtype}")
    return value


def _note_read(t: Tensor) -> None:
    # While the compiler traces a function, Python-level reads of traced values
    # become guards of the compiled program.
    st = _STATE.get()
    if st.tracing is not None and (t._node is not None or t._rg):
        st.tracing.on_read(t)
    elif st.tapes:
        for tp in st.tapes:  # tape.compile warns about values read while recording
            tp.on_read()


def _from_python(data, dtype):
    """Python numbers and (nested) lists: floats and ints become the default dtype."""
    arr = np.asarray(data)
    if dtype is not None:
        return arr.astype(dtype)
    if arr.dtype.kind in "iuf":
        return arr.astype(_config.get_default_dtype())
    if arr.dtype.kind == "c":
        return arr.astype(np.result_type(_config.get_default_dtype(), np.complex64))
    if arr.dtype.kind == "O":
        raise TypeError(f"tensor: could not convert {type(data).__name__} to an array "
                        "of numbers")
    return arr


def tensor(data: Any, dtype=None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Create a tensor (a leaf) from array-like data.

    Parameters
    ----------
    data : array-like
        A NumPy, CuPy or array-API array (its dtype is kept), a tensor (its data is
        copied), or Python numbers and nested lists (floats and ints become the
        default dtype, float32 unless changed with :func:`set_default_dtype`).
    dtype : dtype-like, optional
        Convert to this dtype.
    requires_grad : bool
        Record operations on this tensor so gradients can flow to it.
    device : str, optional
        ``"cpu"`` (NumPy) or ``"cuda"`` / ``"cuda:N"`` (a CuPy array on that GPU;
        raises when CuPy is missing). By default, ``data``'s own device (NumPy for
        Python data).

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import tapegrad as tg
    >>> tg.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    if isinstance(data, Tensor):
        st = _STATE.get()
        if st.tracing is not None and (data._node is not None or data._rg):
            return st.tracing.on_detach(data, dtype).requires_grad_(requires_grad)
        data = data.data
    be = backend_of(data)
    if be is None:
        if isinstance(data, (list, tuple)):
            _refuse_graph_in_list(data)
        arr = _from_python(data, dtype)
    else:
        arr = be.xp.asarray(data, copy=True)
        if dtype is not None:
            arr = be.xp.astype(arr, namespace_dtype(be.xp, dtype))
    if device is not None and device_of(arr) != _device_key(device):
        arr = to_device(to_numpy(arr), device, "tensor")
    return Tensor(arr, requires_grad=requires_grad)


def _device_key(device: Any) -> Any:
    name = str(device)
    if name == "cuda" or name == "gpu":
        return ("cuda", 0)
    if name.startswith("cuda:"):
        return ("cuda", int(name.split(":")[1]))
    return device


def _refuse_graph_in_list(seq) -> None:
    # tg.tensor makes a new leaf from values; from a list of tensors on a graph that
    # would silently drop their gradients (np.array([x, y]) cannot be intercepted).
    for x in seq:
        if isinstance(x, (list, tuple)):
            _refuse_graph_in_list(x)
        elif isinstance(x, Tensor) and (x._rg or x._node is not None):
            raise ConversionError(
                "tensor: the list holds tensors that are part of a graph; tg.tensor makes "
                "a new leaf from values, which would lose their gradients. Use "
                "tg.stack([...]) or tg.asarray([...]) to record it, or .detach() the "
                "elements for a constant")


# -- repr, following PyTorch's printing ---------------------------------------------
def _format(t: Tensor) -> str:
    a = to_numpy(t.data)
    body = _format_array(a)
    extras = []
    if a.dtype != _config.get_default_dtype() and a.dtype not in (np.int64, np.bool_):
        extras.append(f"dtype={a.dtype}")
    if t._rg:
        if t._node is not None:
            extras.append(f"grad_fn={t._node!r}")
        else:
            extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body, *extras]) + ")"


def _format_array(a: np.ndarray) -> str:
    if a.dtype.kind == "f" and a.size:
        finite = a[np.isfinite(a)]
        amax = np.abs(finite).max() if finite.size else 0.0
        nonzero = np.abs(finite[finite != 0])
        amin = nonzero.min() if nonzero.size else 0.0
        if finite.size and np.all(finite == np.round(finite)) and amax < 1e8:
            def fmt(v):
                return f"{v:.0f}." if np.isfinite(v) else str(v)
        elif amax >= 1e8 or (amin and amin < 1e-4) or (amin and amax / amin > 1e3):
            def fmt(v):
                return f"{v:.4e}"
        else:
            def fmt(v):
                return f"{v:.4f}"
        # Every entry padded to the widest, so columns line up (as PyTorch prints).
        flat = a.ravel()
        shown = flat if flat.size <= 1000 else np.concatenate([flat[:3], flat[-3:]])
        width = max(len(fmt(v)) for v in shown)
        return np.array2string(a, separator=", ", prefix="tensor(",
                               formatter={"float_kind": lambda v: fmt(v).rjust(width)},
                               threshold=1000)
    return np.array2string(a, separator=", ", prefix="tensor(", threshold=1000)
