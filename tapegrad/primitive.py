"""The primitive registry and ``bind``, the one per-operation path.

A :class:`Primitive` declares, in one place, everything the rest of tapegrad needs to
know about an operation: how to compute it on any array namespace, its VJP rule
(written with tapegrad operations, so it runs eagerly, is recorded under
``create_graph=True`` and is traced by the compiler), whether it is elementwise, and its
PyTorch-style ``grad_fn`` name. The eager engine, higher-order gradients and the compiler
all read this one registry.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ._cuts import _live as _cut_values  # ids of the live tensors whose path was cut
from ._state import _STATE
from .backend import NUMPY, _by_type, backend_of
from .node import Node
from .tensor import Tensor, _make

registry: dict[str, Primitive] = {}
_UNKNOWN = object()
_ndarray = np.ndarray


class Primitive:
    """An operation tapegrad knows how to compute and differentiate.

    Parameters
    ----------
    name : str
        Registry name, NumPy's spelling (``"multiply"``).
    impl : callable
        ``impl(xp, *arrays, **params) -> array`` (a tuple of arrays when
        ``multiple_results``). ``xp`` is the inputs' array namespace.
    vjp : callable or None
        ``vjp(g, *args, **params) -> tuple`` with one entry per argument (None for "no
        gradient"). ``args`` are the recorded arguments (tensors, arrays or numbers);
        when ``saves_output`` the output tensor is passed as ``out=``. None marks a
        primitive without a gradient (comparisons, ``floor``); its outputs never
        require grad.
    grad_name : str
        Stem of the ``grad_fn`` name: ``"Mul"`` gives ``MulBackward0``.
    elementwise : bool
        Output element i depends only on input elements i (after broadcasting). The
        compiler fuses runs of such primitives.
    xp_name : str or None
        Name of the namespace function that ``impl`` calls unchanged, so generated code
        can call it directly.
    numexpr : str or None
        A numexpr expression template over ``{0}``, ``{1}``..., for fused CPU kernels.
    saves_output : bool
        The VJP needs the output value (``exp``, ``tanh``, ``sqrt``...).
    variant : callable or None
        ``variant(args) -> int`` picks the ``BackwardN`` suffix, following PyTorch's
        overload numbering (``x * 0.2`` is ``MulBackward1``).
    multiple_results : bool
        ``impl`` returns a tuple; the VJP receives a tuple of output gradients.
    aliasing : {"fresh", "view"} or None
        Where the output's memory comes from: ``"fresh"``, a new array sharing memory
        with nothing; ``"view"``, possibly a view of the first input (``reshape``,
        ``transpose``); None, unknown (it may alias any input). Primitives that call a
        NumPy ufunc (``xp_name``) are ``"fresh"``. The memory planner reads it.
    commutative : bool
        Swapping the two operands gives bitwise the same result (IEEE ``+`` and ``*``);
        common-subexpression elimination treats ``f(a, b)`` and ``f(b, a)`` as one.
    shape_rule : callable or None
        ``shape_rule(avals, params) -> [(shape, dtype), ...]``, with one ``aval`` per
        input (an array's ``(shape, dtype)``, a number itself). Without one, shapes and
        dtypes come from ``impl`` run on stand-in arrays.
    short : str or None
        A short name for printed programs and fused kernels (``"mul"``).
    operator : str or None
        The Python operator computing it on 0-d values (``"+"``): generated code uses it
        there, as NumPy's scalar arithmetic is faster than a ufunc call.
    cuda : str or None
        A CUDA C expression over ``{0}``, ``{1}``... (``{T}``: the result's C type) for
        fused GPU kernels; operands arrive cast to the type NumPy's loop computes in.
    cuda_integer : str or None
        The expression for integer and bool results, where it differs from ``cuda``;
        ``""`` when integer results are not fused.
    cuda_operands : {"promoted", "compare", "as_is", "select"}
        How operands are cast before ``cuda``: to the result type, to the promoted type
        of a comparison, not at all (truth values, casts), or the first as it is and
        the others to the result type (``where``).
    register : bool
        Add the primitive to :data:`registry` (False for primitives made at run time).
    """

    __slots__ = ("name", "impl", "vjp", "grad_name", "elementwise", "xp_name", "numexpr",
                 "saves_output", "variant", "multiple_results", "aliasing", "commutative",
                 "shape_rule", "short", "operator", "cuda", "cuda_integer", "cuda_operands",
                 "ufunc", "doc", "_np_fn", "__dict__")

    def __init__(self, name: str, impl: Callable, vjp: Callable | None, *,
                 grad_name: str | None = None, elementwise: bool = False,
                 xp_name: str | None = None, numexpr: str | None = None,
                 saves_output: bool = False, variant: Callable | None = None,
                 multiple_results: bool = False, aliasing: str | None = None,
                 commutative: bool = False, shape_rule: Callable | None = None,
                 short: str | None = None, operator: str | None = None,
                 cuda: str | None = None, cuda_integer: str | None = None,
                 cuda_operands: str = "promoted", doc: str = "",
                 register: bool = True) -> None:
        if register and name in registry:
            raise ValueError(f"primitive {name!r} is already registered")
        if aliasing not in (None, "fresh", "view"):
            raise ValueError(f"primitive {name!r}: aliasing must be 'fresh', 'view' or "
                             f"None, got {aliasing!r}")
        if cuda_operands not in ("promoted", "compare", "as_is", "select"):
            raise ValueError(f"primitive {name!r}: cuda_operands must be 'promoted', "
                             f"'compare', 'as_is' or 'select', got {cuda_operands!r}")
        self.name = name
        self.impl = impl
        self.vjp = vjp
        self.grad_name = grad_name or "".join(p.capitalize() for p in name.split("_"))
        self.elementwise = elementwise
        self.xp_name = xp_name
        self.numexpr = numexpr
        self.saves_output = saves_output
        self.variant = variant
        self.multiple_results = multiple_results
        # The NumPy ufunc ``impl`` calls, when it is one: generated code calls it (with
        # ``out=``), and it always returns a new array.
        fn = getattr(np, xp_name, None) if xp_name else None
        self.ufunc = fn if isinstance(fn, np.ufunc) else None
        if aliasing is None and self.ufunc is not None:
            aliasing = "fresh"
        self.aliasing = aliasing
        self.commutative = commutative
        self.shape_rule = shape_rule
        self.short = short or name
        self.operator = operator
        self.cuda = cuda
        self.cuda_integer = cuda_integer
        self.cuda_operands = cuda_operands
        self.doc = doc
        # NumPy's own function for ``impl`` without parameters: bind calls it directly.
        self._np_fn = getattr(np, xp_name, None) if xp_name and not multiple_results else None
        if register:
            registry[name] = self

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"

    def bind(self, *args: Any, **params: Any):
        """Apply the primitive: compute, and record a node when a gradient may flow."""
        datas = []
        be = None
        rg = False  # an argument requires grad
        tracked = False  # an argument has a node (matters only while tracing)
        number = False  # an argument is a Python number (PyTorch's Scalar overloads)
        for a in args:
            t = type(a)
            if t is Tensor or (t not in _NUMBER_TYPES and isinstance(a, Tensor)):
                d = a.data
                if a._rg:
                    rg = True
                elif a._node is not None:
                    tracked = True
                t = type(d)
            else:
                d = a
            datas.append(d)
            if t is _ndarray:
                b = NUMPY
            elif t in _NUMBER_TYPES:
                number = True
                continue
            else:
                b = _by_type.get(t, _UNKNOWN)
                if b is _UNKNOWN:
                    if (t is list or t is tuple) and holds_tensor(d):
                        # A (nested) list holding tensors is the array NumPy would
                        # build from it: stacked, and recorded like any operation.
                        return self.bind(*map(pack_sequence, args), **params)
                    try:
                        b = backend_of(d)
                    except TypeError:
                        raise UnsupportedOperand(
                            f"{self.name}: expected arrays, tensors or Python numbers, got "
                            f"{type(d).__name__}") from None
                if b is None:
                    continue
            if b is not be:
                if be is None:
                    be = b
                else:
                    raise TypeError(
                        f"{self.name}: cannot mix {be.name} and {b.name} arrays in one "
                        "operation; move them to one backend first"
                    )
        try:
            if be is None or be is NUMPY:
                fn = self._np_fn
                out = (fn(*datas) if fn is not None and not params
                       else self.impl(np, *datas, **params))
                if type(out) is not _ndarray:
                    out = _ensure_ndarray(out)
            else:
                out = self.impl(be.xp, *datas, **params)
        except ValueError as e:  # NumPy's messages (broadcasting) do not say which op
            named = _named(self.name, e)
            if named is e:
                raise
            raise named from e

        if rg or tracked:
            st = _STATE.get()
            rg = rg and st.grad_enabled and self.vjp is not None
            if rg or st.tracing is not None:
                variant = self.variant
                node = Node(self, args, params,
                            out if (self.saves_output or self.multiple_results) else None,
                            0 if variant is None else
                            1 if number and variant is scalar_variant else None)
                for tp in st.tapes:
                    tp._records.append(node)
                if st.anomaly:
                    node.site = _user_site()
                if st.tracing is not None:
                    st.tracing.on_record(node)
                if self.multiple_results:
                    return tuple(_make(o, node, i, rg) for i, o in enumerate(out))
                return _make(out, node, 0, rg)
            if st.grad_enabled or st.no_grad_site is not None:
                # A gradient path ends here (user no_grad, or no VJP): noted for explain_grad.
                return _note_cut(self, args, out, st.no_grad_site)
        elif _cut_values and _has_cut_argument(args):
            # Computed by user code from a cut value: as stale as it for a replayed tape
            # (explain.py). Not inside a backward sweep (recording off, no user no_grad).
            st = _STATE.get()
            if st.grad_enabled or st.no_grad_site is not None:
                return _note_derived(self, args, out)
        if self.multiple_results:
            return tuple(_make(o, None, 0, False) for o in out)
        return _make(out, None, 0, False)

    __call__ = bind


class UnsupportedOperand(TypeError):
    """An operand that is no array, tensor or number (operators return NotImplemented)."""


def _named(name: str, e: ValueError) -> ValueError:
    """NumPy's plain ValueError with the operation's name in front. Its subclasses
    (``LinAlgError``, ``AxisError``) stay as they are: callers catch them by type."""
    msg = str(e)
    if type(e) is not ValueError or msg.startswith((f"{name}:", f"{name} ")):
        return e
    return ValueError(f"{name}: {msg}")


def _ensure_ndarray(out):
    # NumPy returns scalars (np.float64) from 0-d operations; tensors always hold arrays.
    if type(out) is np.ndarray:
        return out
    if isinstance(out, tuple):
        return tuple(_ensure_ndarray(o) for o in out)
    return np.asarray(out)


def _user_site() -> str:
    """``file:line`` of the innermost caller outside tapegrad (for anomaly reports)."""
    f = sys._getframe(2)
    while f is not None and f.f_globals.get("__name__", "").startswith("tapegrad"):
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


def _untracked(prim: Primitive, args: tuple, out: Any, site: Any = None) -> Any:
    """``out`` as tensors without records (what a cut gives, before anyone notes it)."""
    if prim.multiple_results:
        return tuple(_make(o, None, 0, False) for o in out)
    return _make(out, None, 0, False)


# Where a gradient path ends (no_grad, no VJP) and values computed from such ends:
# tapegrad.explain registers its notes here (observe_cuts), for explain_grad and for
# tape.compile's refusal of stale values; bind imports nothing from it.
_note_cut: Callable = _untracked
_note_derived: Callable = _untracked


def observe_cuts(note_cut: Callable, note_derived: Callable) -> None:
    """Register the functions ``bind`` calls for results whose gradient path was cut."""
    global _note_cut, _note_derived
    _note_cut, _note_derived = note_cut, note_derived


def _has_cut_argument(args: tuple) -> bool:
    for a in args:
        if type(a) is Tensor and id(a) in _cut_values:
            return True
    return False


def holds_tensor(seq: Any) -> bool:
    """Whether the (nested) list or tuple ``seq`` holds a tensor anywhere."""
    for x in seq:
        t = type(x)
        if t is Tensor or isinstance(x, Tensor):
            return True
        if (t is list or t is tuple) and holds_tensor(x):
            return True
    return False


def pack_sequence(x: Any) -> Any:
    """``x`` itself, or for a (nested) list/tuple holding tensors, the stacked tensor.

    The stacking is done by the ``stack`` primitive, which registers itself here
    (:func:`set_sequence_stacker`), so the array built from a list is recorded.
    """
    t = type(x)
    if (t is list or t is tuple) and holds_tensor(x):
        if _stacker is None:  # pragma: no cover - tapegrad.primitives is always imported
            raise TypeError("a list holding tensors needs tapegrad.primitives")
        return _stacker([pack_sequence(e) for e in x])
    return x


_stacker: Callable | None = None


def set_sequence_stacker(fn: Callable) -> None:
    """Register the function that stacks a list of arrays (``tapegrad.stack``)."""
    global _stacker
    _stacker = fn


def primitive(name: str, impl: Callable, vjp: Callable | None = None, **meta: Any) -> Primitive:
    """Register a primitive (see :class:`Primitive`) and return it."""
    return Primitive(name, impl, vjp, **meta)


_NUMBER_TYPES = frozenset((bool, int, float, complex))


def scalar_variant(args: tuple) -> int:
    """PyTorch's overload numbering for binary arithmetic: 1 when an operand is a number."""
    for a in args:
        if type(a) in _NUMBER_TYPES or isinstance(a, (int, float, complex)):
            return 1
    return 0


