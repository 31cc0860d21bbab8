"""In-place operations (``x += y``, ``x[idx] = v``, ``out=``) and the version counter.

PyTorch's semantics, on an engine whose arrays are never written in place:

* An in-place operation computes its result out of place from a *snapshot* of the
  tensor (a new handle on the old array and the old record), then the tensor takes the
  result over: its array, and its record when the operation was recorded. No array is
  ever overwritten, so values saved by earlier records stay intact.
* ``tensor._version`` counts the in-place operations applied to the tensor. Each one
  is also logged on the tensor with a sequence stamp (drawn from the same counter as
  ``Node.seq``) and, when recorded, a weak reference to the snapshot.
* The backward driver checks an argument only when its version is non-zero (one int
  test, at backward time; the per-operation path pays nothing). A record made before a
  *recorded* in-place operation is pointed at the snapshot: it sees exactly the value and
  the record it used. A record made before an *unrecorded* one (under ``no_grad``, or on
  a constant) cannot see its old value any more: backward raises, naming the record that
  used the tensor and the operation that modified it.

In-place on a leaf that requires grad is an error while grad mode is on, as in PyTorch
(an optimizer step runs under ``tg.no_grad()``).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import numpy as np

import tapegrad.primitives as P

from ._state import _STATE
from .backend import backend_of
from .node import _seq
from .primitive import primitive
from .primitives._util import data_of, needs
from .primitives.index import (
    _axes_used,
    _complete,
    _getitem_impl,
    _is_mask,
    _numpy_style,
    normalize_index,
)
from .tensor import Tensor, _make

__all__: list[str] = []

# Set by the first in-place operation: until then backward skips the version checks.
modified = False


# -- x[idx] = v as a primitive: a copy of x with v written at idx --------------------
def _setitem_impl(xp, x, v, idx):
    out = xp.asarray(x, copy=True)
    if _numpy_style(xp):
        out[idx] = v
        return out
    return _array_api_setitem(xp, out, v, idx)


def _array_api_setitem(xp, out, v, idx):
    """``out[idx] = v`` on an array-API namespace: the index written out in full, and
    one integer array (among full slices) written as a gather, the last repeat winning
    as in NumPy (the array API assigns with basic indices and masks only)."""
    idx = _complete(idx, out.ndim)
    arrays = [k for k, i in enumerate(idx) if hasattr(i, "dtype") and not _is_mask(i)]
    if not arrays and None not in idx:
        out[idx] = v
        return out
    if len(arrays) != 1 or not all(i is Ellipsis or i == slice(None)
                                   for k, i in enumerate(idx) if k != arrays[0]):
        raise NotImplementedError(
            f"setitem: the index {idx!r} needs NumPy's assignment semantics, which the "
            f"{xp.__name__} namespace does not provide (it assigns with slices, masks and "
            "one integer array among full slices); use NumPy or CuPy arrays for this")
    k = arrays[0]
    if Ellipsis in idx[:k]:
        k = out.ndim - (len(idx) - k)
    n, a = out.shape[k], idx[arrays[0]]
    a = xp.reshape(a, (-1,))
    a = xp.where(a < 0, a + n, a)
    # last[i]: the last position j with a[j] == i (-1 where i is not written).
    pos = xp.arange(a.shape[0], dtype=a.dtype, device=a.device)
    hits = xp.reshape(xp.arange(n, dtype=a.dtype, device=a.device), (n, 1)) == a
    last = xp.max(xp.where(hits, pos, xp.full_like(pos, -1)), axis=1) if a.shape[0] \
        else xp.full((n,), -1, dtype=a.dtype, device=a.device)
    target = out.shape[:k] + tuple(idx[arrays[0]].shape) + out.shape[k + 1:]
    v = xp.asarray(v, dtype=out.dtype, device=out.device) if not hasattr(v, "shape") else v
    vals = xp.reshape(xp.broadcast_to(v, target),
                      out.shape[:k] + (a.shape[0],) + out.shape[k + 1:])
    picked = xp.take(vals, xp.clip(last, 0, None), axis=k) if a.shape[0] else out
    written = xp.reshape(last >= 0, (n,) + (1,) * (out.ndim - k - 1))
    return xp.where(written, picked, out)


def _setitem_vjp(g, x, v, idx):
    # x's gradient is g with the overwritten places zeroed; v gets what was written, and
    # nothing where a later write to the same place overwrote it (a repeated index).
    gx = setitem_p.bind(g, 0.0, idx=idx) if needs(x) else None
    if not needs(v):
        return gx, None
    gv = P.getitem(g, idx)
    kept = _surviving_writes(data_of(g), idx, gv.shape)
    return gx, gv if kept is None else P.where(kept, gv, 0.0)


def _surviving_writes(like, idx: tuple, region: tuple):
    """Which writes of ``out[idx] = v`` (a mask of ``out[idx]``'s shape) are not
    overwritten by a later write to the same place; None when every place is written
    once. Ints, slices and masks never repeat a place: only integer arrays can."""
    if not any(hasattr(i, "dtype") and not _is_mask(i) for i in idx):
        return None
    xp = backend_of(like).xp
    if xp is np and not _may_repeat(like.shape, idx):
        return None  # the common case, checked on the host by one sort of the k indices
    # Write each write's number with the same index: a place keeps the number of the
    # write that wins (whatever rule the namespace applies), so reading it back and
    # comparing marks the survivors, in the namespace and on the device of ``like``.
    ids = xp.reshape(xp.arange(math.prod(region), dtype=xp.int64, device=like.device),
                     region)
    owner = xp.full(like.shape, -1, dtype=xp.int64, device=like.device)
    return _getitem_impl(xp, _setitem_impl(xp, owner, ids, idx), idx) == ids


def _may_repeat(shape: tuple, idx: tuple) -> bool:
    """Whether NumPy integer arrays in ``idx`` name a place twice (True when unsure)."""
    arrays, dims, axis = [], [], 0
    for i in idx:
        if i is Ellipsis:
            axis += len(shape) - sum(_axes_used(j) for j in idx)
        elif _is_mask(i):
            return True  # a mask among integer arrays: left to the exact check
        elif hasattr(i, "dtype"):
            arrays.append(i.astype(np.intp, copy=False))
            dims.append(shape[axis])
        axis += _axes_used(i) if i is not Ellipsis else 0
    keys = np.sort(np.ravel_multi_index(np.broadcast_arrays(*arrays), dims, mode="wrap"),
                   axis=None)
    return bool((keys[1:] == keys[:-1]).any())


setitem_p = primitive("setitem", _setitem_impl, _setitem_vjp, grad_name="CopySlices")


def setitem(x, idx, v):
    """``x`` with ``v`` written at ``idx``, out of place (JAX's ``x.at[idx].set(v)``)."""
    return setitem_p.bind(x, v, idx=normalize_index(idx))


# -- the in-place driver --------------------------------------------------------------
class _Mod:
    """One logged in-place operation (or a run of unrecorded ones)."""

    __slots__ = ("first", "last", "version", "label", "snap")

    def __init__(self, stamp: int, version: int, label: str, snap) -> None:
        self.first = self.last = stamp
        self.version = version  # the version before the operation
        self.label = label
        self.snap = snap  # weakref to the snapshot, or None when not recorded


def apply(x: Tensor, label: str, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """Make ``x`` take the value ``compute(snapshot_of_x)``, in place.

    ``compute`` receives a snapshot standing for ``x``'s current value and returns the
    new value (a tensor of ``x``'s shape; its dtype is cast to ``x``'s).
    """
    st = _STATE.get()
    if st.tracing is not None:
        st.tracing.on_inplace(x)  # a compiled function may not write to its arguments
    if x._rg and x._node is None and st.grad_enabled:
        raise RuntimeError(
            f"{label}: a leaf tensor that requires grad is being used in an in-place "
            "operation. Update parameters under `with tg.no_grad():`, or compute out of "
            "place (x = x + ...), or modify a copy (x.detach() or tg.tensor(x))."
        )
    snap = _make(x.data, x._node, x._idx, x._rg)
    snap._version = x._version
    new = compute(snap)
    if not isinstance(new, Tensor):
        new = Tensor(new)
    if new.shape != x.shape:
        raise ValueError(f"{label}: the result has shape {new.shape}, which cannot be "
                         f"stored in place in a tensor of shape {x.shape}")
    if new.data.dtype != x.data.dtype:
        if not np.can_cast(new.data.dtype, x.data.dtype, "same_kind"):
            raise TypeError(f"{label}: the result has dtype {new.data.dtype}, which cannot "
                            f"be stored in place in a tensor of dtype {x.data.dtype}")
        new = P.astype(new, x.data.dtype)
    stamp = next(_seq)
    if st.tracing is not None:
        _patch_trace(st.tracing, x, snap)
    # The snapshot stays alive only while the new record refers to it.
    _log(x, stamp, label, snap if new._node is not None else None)
    x.data = new.data
    if st.grad_enabled or st.tracing is not None:
        # As PyTorch, retain_grad() follows the tensor to its new value (hooks stay
        # with the value they were registered on).
        retains = new._node is not x._node and _drop_retained(x)
        x._node, x._idx, x._rg = new._node, new._idx, new._rg
        if retains and x._rg and x._node is not None:
            x.retain_grad()
    # else (no_grad): like PyTorch, x keeps its record; only its value changes.
    x._version += 1
    global modified
    modified = True
    return x


def _drop_retained(x: Tensor) -> bool:
    """Unhook ``retain_grad()`` from ``x``'s current record; whether it was on."""
    if not x._retains:
        return False
    old = x._node.retained if x._node is not None else None
    if old is not None and (ref := old.get(x._idx)) is not None and ref() is x:
        del old[x._idx]
    x._retains = False
    return True


def _log(x: Tensor, stamp: int, label: str, snap) -> None:
    mods = getattr(x, "_mods", None)
    if mods is None:
        mods = x._mods = []
    elif snap is None and mods and mods[-1].snap is None:
        mods[-1].last = stamp  # a run of unrecorded updates (an optimizer loop) is one entry
        return
    elif len(mods) > 32:  # drop records whose snapshot (and graph) is gone
        mods[:] = [m for m in mods if m.snap is None or m.snap() is not None]
    mods.append(_Mod(stamp, x._version, label, None if snap is None else weakref.ref(snap)))


def _patch_trace(tracing, x: Tensor, snap: Tensor) -> None:
    # A compiler trace lowers its records after the function returns: records (and
    # inputs, and guarded reads) made before this operation must keep seeing the old x.
    for node in getattr(tracing, "nodes", ()):
        args = node.args
        if args is not None and any(a is x for a in args):
            node.args = tuple(snap if a is x else a for a in args)
    inputs = getattr(tracing, "inputs", None)
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t is x:
                inputs[i] = snap
    reads = getattr(tracing, "reads", None)
    if reads is not None:
        for i, (t, v) in enumerate(reads):
            if t is x:
                reads[i] = (snap, v)


def resolve_args(node) -> tuple:
    """``node.args`` as the node saw them: modified tensors replaced by snapshots.

    Patches ``node.args`` (so later sweeps need not resolve again) and returns them;
    raises when a tensor the node used was changed by an unrecorded in-place operation.
    """
    args = list(node.args)
    changed = False
    for k, a in enumerate(args):
        if type(a) is not Tensor or not a._version:
            continue
        mod = _first_mod_after(a, node.seq)
        if mod is None:
            continue
        snap = mod.snap() if mod.snap is not None else None
        if snap is None:
            raise RuntimeError(_modified_message(node, k, a, mod))
        args[k] = snap
        changed = True
    if changed:
        node.args = tuple(args)
    return node.args


def _first_mod_after(t: Tensor, seq: int):
    for mod in getattr(t, "_mods", None) or ():
        if mod.last > seq:
            return mod
    return None


def _modified_message(node, k: int, t: Tensor, mod: _Mod) -> str:
    where = f" (recorded at {node.site})" if node.site else ""
    return (
        f"backward: one of the variables needed for gradient computation has been "
        f"modified by an inplace operation: argument {k} of {node.name()}{where}, a "
        f"tensor of shape {t.shape}, was modified in place by `{mod.label}` after "
        f"{node.name()} used it; it is now at version {t._version}, {node.name()} used "
        f"version {mod.version}. The old value was not kept (the modification ran "
        "under no_grad, or its result does not depend on it), so the gradient cannot be "
        "computed: modify a copy, or compute out of place."
    )


# -- the operators --------------------------------------------------------------------
def _iop(prim, symbol: str):
    bind = prim.bind
    label = f"x {symbol} ..."

    def op(self: Tensor, other) -> Tensor:
        return apply(self, label, lambda s: bind(s, s if other is self else other))

    op.__name__ = f"__i{prim.name}__"
    return op


def _setitem(self: Tensor, idx, value) -> None:
    idx = normalize_index(idx)
    apply(self, "x[...] = v",
          lambda s: setitem_p.bind(s, s if value is self else value, idx=idx))


def _attach() -> None:
    T = Tensor
    T.__iadd__ = _iop(P.add_p, "+=")
    T.__isub__ = _iop(P.subtract_p, "-=")
    T.__imul__ = _iop(P.multiply_p, "*=")
    T.__itruediv__ = _iop(P.divide_p, "/=")
    T.__ipow__ = _iop(P.power_p, "**=")
    T.__imatmul__ = lambda self, other: apply(
        self, "x @= ...", lambda s: P.matmul(s, s if other is self else other))
    T.__setitem__ = _setitem
    T.add_ = lambda self, other: apply(self, "add_", lambda s: P.add(s, other))
    T.sub_ = lambda self, other: apply(self, "sub_", lambda s: P.subtract(s, other))
    T.mul_ = lambda self, other: apply(self, "mul_", lambda s: P.multiply(s, other))
    T.div_ = lambda self, other: apply(self, "div_", lambda s: P.divide(s, other))
    T.zero_ = lambda self: apply(
        self, "zero_", lambda s: setitem_p.bind(s, 0, idx=(Ellipsis,)))
    T.fill_ = lambda self, value: apply(
        self, "fill_", lambda s: setitem_p.bind(s, value, idx=(Ellipsis,)))
    T.copy_ = _copy_


def _copy_(self: Tensor, src) -> Tensor:
    """Overwrite with ``src`` (broadcast to this tensor's shape and cast to its dtype),
    in place."""
    # A write at ``...``: as PyTorch's CopyBackwards, the result depends on the old
    # value (with a zero gradient), so a tensor that required grad still does, and it
    # gets a record of its own even when ``src`` is a tensor of the same shape.
    return apply(self, "copy_", lambda s: setitem_p.bind(s, src, idx=(Ellipsis,)))


_attach()
