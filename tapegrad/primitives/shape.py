"""Shape and layout: reshape, transpose, broadcast, sum_to, concatenate, stack, astype,
meshgrid."""

from __future__ import annotations

import math

import numpy as np

import tapegrad.primitives as P

from .._state import no_grad
from ..backend import backend_of, is_floating, namespace_dtype
from ..primitive import primitive, set_sequence_stacker
from ..tensor import Tensor
from ._util import needs, norm_axis, shape_of

__all__ = [
    "astype", "broadcast_to", "concat", "concatenate", "expand_dims", "meshgrid", "moveaxis",
    "permute_dims", "ravel", "reshape", "squeeze", "stack", "sum_to", "swapaxes", "transpose",
]

# Shape rules (``shape_rule``, read by the compiler): the output types from the input
# types (``ins``: arrays or stand-ins with ``.shape`` and ``.dtype``) and the params.
def _shape_param_rule(ins, params):
    return [(tuple(params["shape"]), ins[0].dtype)]


def _transpose_rule(ins, params):
    return [(tuple(ins[0].shape[a] for a in params["axes"]), ins[0].dtype)]


def _astype_rule(ins, params):
    return [(tuple(ins[0].shape), np.dtype(params["dtype"]))]


# -- reshape and friends (all recorded as reshape) ----------------------------------
reshape_p = primitive(
    "reshape", lambda xp, x, shape: xp.reshape(x, shape),
    lambda g, x, shape: (P.reshape(g, shape_of(x)),),
    grad_name="View",
    aliasing="view", shape_rule=_shape_param_rule,
)


def _resolve_shape(shape, size: int, op: str) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: can only specify one unknown dimension (-1), got {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"{op}: cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"{op}: cannot reshape array of size {size} into shape {shape}")
    return shape


def reshape(x, shape, *, copy: bool | None = None):
    """Give ``x`` a new shape with the same number of elements (one dim may be -1).

    ``copy`` is the array API's: the result is a new recorded value either way (in-place
    updates of it never reach ``x``'s graph), so ``copy=True`` and ``copy=False`` are
    both honoured.
    """
    old = shape_of(x)
    return reshape_p.bind(x, shape=_resolve_shape(shape, math.prod(old), "reshape"))


def ravel(x):
    """Flatten to one dimension."""
    return reshape(x, (-1,))


def expand_dims(x, axis):
    """Insert length-1 axes at ``axis`` (an int or tuple of ints)."""
    old = shape_of(x)
    axes = norm_axis(axis, len(old) + (1 if isinstance(axis, int) else len(axis)),
                     "expand_dims")
    it = iter(old)
    new = tuple(1 if i in axes else next(it) for i in range(len(old) + len(axes)))
    return reshape_p.bind(x, shape=new)


def squeeze(x, axis=None):
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    old = shape_of(x)
    axes = norm_axis(axis, len(old), "squeeze")
    if axes is None:
        axes = tuple(i for i, s in enumerate(old) if s == 1)
    for a in axes:
        if old[a] != 1:
            raise ValueError(f"squeeze: cannot select an axis to squeeze out which has "
                             f"size not equal to one (axis {a} has size {old[a]})")
    return reshape_p.bind(x, shape=tuple(s for i, s in enumerate(old) if i not in axes))


# -- transpose ----------------------------------------------------------------------
def _transpose_vjp(g, x, axes):
    inverse = tuple(axes.index(i) for i in range(len(axes)))
    return (P.transpose(g, inverse),)


transpose_p = primitive(
    "transpose", lambda xp, x, axes: xp.permute_dims(x, axes), _transpose_vjp,
    grad_name="Permute", xp_name="permute_dims",
    aliasing="view", shape_rule=_transpose_rule,
)


def transpose(x, axes=None):
    """Permute the axes (reverse them by default)."""
    nd = len(shape_of(x))
    if axes is None:
        axes = tuple(range(nd))[::-1]
    axes = tuple(int(a) % nd if nd else 0 for a in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {nd} dimensions")
    return transpose_p.bind(x, axes=axes)


permute_dims = transpose


def swapaxes(x, axis1, axis2):
    """Interchange two axes."""
    nd = len(shape_of(x))
    perm = list(range(nd))
    a, b = norm_axis(axis1, nd, "swapaxes")[0], norm_axis(axis2, nd, "swapaxes")[0]
    perm[a], perm[b] = perm[b], perm[a]
    return transpose_p.bind(x, axes=tuple(perm))


def moveaxis(x, source, destination):
    """Move axes to new positions; the others keep their order."""
    nd = len(shape_of(x))
    src = [s % nd for s in ((source,) if isinstance(source, int) else source)]
    dst = [d % nd for d in ((destination,) if isinstance(destination, int) else destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same length")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose_p.bind(x, axes=tuple(order))


# -- broadcast_to and its transpose, sum_to -----------------------------------------
broadcast_to_p = primitive(
    "broadcast_to", lambda xp, x, shape: xp.broadcast_to(x, shape),
    # The driver sums the gradient back down to x's shape.
    lambda g, x, shape: (g,),
    grad_name="Expand", xp_name="broadcast_to",
    aliasing="view", shape_rule=_shape_param_rule,
)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (NumPy rules)."""
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return broadcast_to_p.bind(x, shape=shape)


def _sum_to_impl(xp, x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    if axes:
        x = xp.sum(x, axis=axes, keepdims=True)
    return xp.reshape(x, shape)


sum_to_p = primitive(
    "sum_to", _sum_to_impl, lambda g, x, shape: (P.broadcast_to(g, shape_of(x)),),
    grad_name="SumTo",
    aliasing="view", shape_rule=_shape_param_rule,
)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the transpose of broadcasting to ``x``'s shape."""
    shape = tuple(int(s) for s in shape)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return sum_to_p.bind(x, shape=shape)


# -- astype -------------------------------------------------------------------------
def _astype_impl(xp, x, dtype):
    return xp.astype(x, dtype)


# The driver casts the gradient back to the input's dtype.
astype_p = primitive("astype", _astype_impl, lambda g, x, dtype: (g,), grad_name="ToCopy",
                     elementwise=True, aliasing="fresh", shape_rule=_astype_rule,
                     cuda="({T}){0}", cuda_operands="as_is")


def astype(x, dtype, /, *, copy: bool = True, device=None):
    """Cast to ``dtype``; gradients flow between floating dtypes only.

    As in the array API, ``copy=True`` (the default) returns a new tensor even when the
    dtype is unchanged (recorded, so the gradient passes through), ``copy=False``
    returns ``x`` itself then; ``device`` also moves the result (see
    ``Tensor.to_device``).
    """
    if device is not None:
        x = x if isinstance(x, Tensor) else Tensor(x)
        moved = x.to_device(device)
        return astype(moved, dtype, copy=copy and moved is x)
    data = x.data if isinstance(x, Tensor) else x
    be = backend_of(data)
    dtype = np.dtype(dtype) if be is None else namespace_dtype(be.xp, dtype)
    if data.dtype == dtype:
        if not isinstance(x, Tensor):
            return Tensor(be.xp.asarray(data, copy=True) if copy else data)
        if not copy:
            return x
        if x._rg or x._node is not None:
            return P.identity(x)
        return Tensor(be.xp.asarray(data, copy=True))
    if not is_floating(dtype):
        with no_grad():  # integer and bool results carry no gradient
            return astype_p.bind(x, dtype=dtype)
    return astype_p.bind(x, dtype=dtype)


# -- concatenate and stack ----------------------------------------------------------
def _concat_vjp(g, *xs, axis):
    grads = []
    start = 0
    for x in xs:
        n = shape_of(x)[axis]
        if needs(x):
            idx = (slice(None),) * axis + (slice(start, start + n),)
            grads.append(g[idx])
        else:
            grads.append(None)
        start += n
    return tuple(grads)


concatenate_p = primitive(
    "concatenate", lambda xp, *xs, axis: xp.concat(xs, axis=axis), _concat_vjp,
    grad_name="Cat",
    aliasing="fresh",
)


def concatenate(arrays, axis=0):
    """Join a sequence of arrays along an existing axis."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    nd = len(shape_of(arrays[0]))
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
        nd = 1
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated "
                         "(pass axis=None to flatten them first)")
    return concatenate_p.bind(*arrays, axis=norm_axis(axis, nd, "concatenate")[0])


concat = concatenate


def _stack_vjp(g, *xs, axis):
    pre = (slice(None),) * axis
    return tuple(g[pre + (i,)] if needs(x) else None for i, x in enumerate(xs))


stack_p = primitive("stack", lambda xp, *xs, axis: xp.stack(xs, axis=axis), _stack_vjp,
                    aliasing="fresh")


def stack(arrays, axis=0):
    """Join a sequence of same-shaped arrays along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {tuple(shape_of(a)) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {shapes}")
    nd = len(shape_of(arrays[0])) + 1
    return stack_p.bind(*arrays, axis=norm_axis(axis, nd, "stack")[0])


set_sequence_stacker(stack)


def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> list:
    """Coordinate grids from 1-D coordinate vectors (inputs are flattened).

    ``indexing="xy"`` (NumPy's default) gives grids of shape ``(len(x1), len(x0), ...)``
    for two or more inputs, ``"ij"`` of shape ``(len(x0), len(x1), ...)``. Each grid is
    ``broadcast_to`` of a reshaped input, so its gradient is summed back onto the input;
    with ``sparse=True`` the grids stay unbroadcast. ``copy`` is accepted for NumPy
    compatibility: the grids are broadcast views either way. A list, as the array API
    specifies (NumPy 2 returns a tuple).
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    nd = len(xi)
    grids = []
    for i, x in enumerate(xi):
        axis = (1 - i if i < 2 else i) if indexing == "xy" and nd > 1 else i
        grids.append(reshape(x, (1,) * axis + (-1,) + (1,) * (nd - axis - 1)))
    if not sparse and nd > 1:
        shape = np.broadcast_shapes(*(shape_of(g) for g in grids))
        grids = [broadcast_to(g, shape) for g in grids]
    return grids
