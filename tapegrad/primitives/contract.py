"""Tensor contractions: ``einsum`` (a primitive) and the products built on it or on
``matmul``: ``tensordot``, ``outer``, ``inner``, ``kron``, ``vdot``, ``vecdot``, ``cross``.

``einsum``'s VJP for one operand is another ``einsum``: the output gradient contracted
with the other operands, onto that operand's subscripts (HIPS autograd's rule). The
public function rewrites every call to explicit form with ``...`` spelled out as letters,
so the rule never has to parse ellipses.
"""

from __future__ import annotations

import math
import string

import tapegrad.primitives as P

from ..backend import backend_of, dtype_kind
from ..primitive import primitive
from ._native import is_complex, native
from ._util import data_of, needs, shape_of

__all__ = ["cross", "einsum", "inner", "kron", "outer", "tensordot", "vdot", "vecdot"]


# -- einsum -------------------------------------------------------------------------
def _einsum_impl(xp, *operands, subscripts):
    return native(xp, "einsum")(subscripts, *operands, optimize=len(operands) > 2)


def _letter_sizes(ins: list[str], operands) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for sub, op in zip(ins, operands):
        for c, n in zip(sub, shape_of(op)):
            if sizes.get(c, 1) == 1:  # a size-1 axis broadcasts (also against size 0)
                sizes[c] = n
    return sizes


def _einsum_vjp(g, *operands, subscripts):
    lhs, out = subscripts.split("->")
    ins = lhs.split(",")
    sizes = _letter_sizes(ins, operands)
    grads = []
    for i, (sub, op) in enumerate(zip(ins, operands)):
        if not needs(op):
            grads.append(None)
            continue
        rest = [s for j, s in enumerate(ins) if j != i]
        others = [o for j, o in enumerate(operands) if j != i]
        unique = "".join(dict.fromkeys(sub))
        seen = set(out).union(*rest)
        kept = "".join(c for c in unique if c in seen)
        r = P.einsum(",".join([out, *rest]) + "->" + kept, g, *others)
        if kept != unique:
            # Letters summed only in this operand: the gradient is constant along them.
            r = P.reshape(r, tuple(sizes[c] if c in kept else 1 for c in unique))
            r = P.broadcast_to(r, tuple(sizes[c] for c in unique))
        if unique != sub:
            # A repeated letter reads a diagonal: put the gradient back on it.
            r = _onto_diagonals(r, unique, sub, sizes)
        full = tuple(sizes[c] for c in sub)
        if shape_of(r) != full:
            # A size-1 axis of another operand broadcast against this one's: spread the
            # gradient over the full axis (the driver sums it back where op has size 1).
            r = P.broadcast_to(r, full)
        grads.append(r)
    return tuple(grads)


def _onto_diagonals(r, unique: str, sub: str, sizes: dict):
    free = iter(c for c in string.ascii_letters if c not in sub)
    target, eyes, eye_subs, used = [], [], [], set()
    xp = backend_of(data_of(r)).xp
    for c in sub:
        if c not in used:
            used.add(c)
            target.append(c)
            continue
        new = next(free)
        target.append(new)
        eyes.append(xp.eye(sizes[c], dtype=r.dtype, device=data_of(r).device))
        eye_subs.append(c + new)
    spec = ",".join([unique, *eye_subs]) + "->" + "".join(target)
    return P.einsum(spec, r, *eyes)


einsum_p = primitive("einsum", _einsum_impl, _einsum_vjp, grad_name="Einsum")


def _explicit(subscripts: str, shapes: list[tuple]) -> str:
    """Subscripts in explicit form, with ``...`` replaced by unused letters."""
    s = subscripts.replace(" ", "")
    lhs, arrow, out = s.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {len(ins)} operand subscripts for {len(shapes)} operands")
    named = [sub.replace("...", "") for sub in ins]
    for sub, shp, raw in zip(named, shapes, ins):
        if ("..." not in raw and len(sub) != len(shp)) or len(sub) > len(shp):
            raise ValueError(f"einsum: subscripts {raw!r} do not match an operand of "
                             f"shape {shp}")
    n_ell = max((len(shp) - len(sub) for sub, shp, raw in zip(named, shapes, ins)
                 if "..." in raw), default=0)
    spare = [c for c in string.ascii_letters if c not in s][:n_ell]
    if len(spare) < n_ell:
        raise ValueError("einsum: too many dimensions under '...'")
    full = []
    for sub, shp, raw in zip(named, shapes, ins):
        k = len(shp) - len(sub)
        full.append(raw.replace("...", "".join(spare[n_ell - k:])) if "..." in raw else raw)
    ell = "".join(spare)
    if arrow:
        out = out.replace("...", ell)
    else:
        counts = {c: "".join(named).count(c) for c in "".join(named)}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ",".join(full) + "->" + out


def einsum(subscripts: str, *operands):
    """Einstein summation with NumPy's subscript syntax (implicit, explicit, ``...``).

    Repeated subscripts within an operand (diagonals, traces) and subscripts summed in
    one operand only are differentiated too. The ``(op, sublist, ...)`` calling form is
    not supported.
    """
    if not isinstance(subscripts, str):
        raise TypeError("einsum: pass the subscripts as a string, e.g. einsum('ij,jk', a, b)")
    spec = _explicit(subscripts, [shape_of(o) for o in operands])
    return einsum_p.bind(*operands, subscripts=spec)


# -- compositions over matmul -------------------------------------------------------
def _permute(x, perm):
    return x if list(perm) == sorted(perm) else P.transpose(x, tuple(perm))


def _axes_list(ax, nd: int) -> list[int]:
    ax = [ax] if isinstance(ax, int) else list(ax)
    return [int(a) % nd for a in ax]


def tensordot(a, b, axes=2):
    """Sum products over the given axes (NumPy's ``tensordot``).

    As NumPy computes it: move the contracted axes together, flatten both operands to
    matrices, multiply, and reshape to the free axes of ``a`` then ``b``.
    """
    sa, sb = shape_of(a), shape_of(b)
    if isinstance(axes, int):
        axes_a = list(range(len(sa) - axes, len(sa)))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = _axes_list(axes[0], len(sa)), _axes_list(axes[1], len(sb))
    if len(axes_a) != len(axes_b) or any(sa[i] != sb[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError(f"tensordot: shape mismatch for sum over axes {axes_a} of {sa} "
                         f"and {axes_b} of {sb}")
    free_a = [i for i in range(len(sa)) if i not in axes_a]
    free_b = [i for i in range(len(sb)) if i not in axes_b]
    k = math.prod(sa[i] for i in axes_a)
    at = P.reshape(_permute(a, free_a + axes_a), (math.prod(sa[i] for i in free_a), k))
    bt = P.reshape(_permute(b, axes_b + free_b), (k, math.prod(sb[i] for i in free_b)))
    return P.reshape(P.matmul(at, bt), tuple(sa[i] for i in free_a) +
                     tuple(sb[i] for i in free_b))


def outer(a, b):
    """Outer product of the flattened inputs."""
    return P.multiply(P.reshape(a, (-1, 1)), P.reshape(b, (1, -1)))


def inner(a, b):
    """Sum of products over the last axes (a plain product when one is a scalar)."""
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        return P.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def vdot(a, b):
    """Dot product of the flattened inputs, conjugating the first."""
    return P.sum(P.multiply(P.conj(P.ravel(a)), P.ravel(b)))


def vecdot(x1, x2, axis: int = -1):
    """Array-API (and NumPy's) ``vecdot``: ``sum(conj(x1) * x2)`` over ``axis``.

    ``axis`` is taken in each operand (NumPy's gufunc rule); the other axes broadcast.
    The contracted lengths must be equal (no broadcasting along ``axis``). Integer and
    bool operands keep NumPy's dtype (the promoted integer dtype, wrapping around as
    NumPy does; ``any(x1 & x2)`` for bools).

    Raises
    ------
    ValueError
        When an operand is 0-d, ``axis`` is out of range, or the lengths along ``axis``
        differ.
    """
    s1, s2 = shape_of(x1), shape_of(x2)
    lengths = []
    for name, s in (("x1", s1), ("x2", s2)):
        if not -len(s) <= axis < len(s):
            raise ValueError(f"vecdot: axis {axis} is out of bounds for {name} of shape {s}")
        lengths.append(s[axis])
    if lengths[0] != lengths[1]:
        raise ValueError(f"vecdot: x1 of shape {s1} and x2 of shape {s2} have different "
                         f"lengths along axis {axis} ({lengths[0]} and {lengths[1]})")
    a, b = (P.conj(x1) if is_complex(x1) else x1), x2
    if axis % len(s1) != len(s1) - 1:
        a = P.moveaxis(a, axis, -1)
    if axis % len(s2) != len(s2) - 1:
        b = P.moveaxis(b, axis, -1)
    prod = P.multiply(a, b)
    out = P.sum(prod, axis=-1)
    if dtype_kind(prod.dtype) in "biu":  # the sum promotes small integers: cast back
        out = P.astype(out, prod.dtype)
    return out


def kron(a, b):
    """Kronecker product: blocks ``a[i, j] * b`` (NumPy's ``kron``)."""
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = P.reshape(a, tuple(x for n in sa for x in (n, 1)))
    b2 = P.reshape(b, tuple(x for n in sb for x in (1, n)))
    return P.reshape(P.multiply(a2, b2), tuple(m * n for m, n in zip(sa, sb)))


def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None):
    """Cross product of 3-vectors (or the z component for 2-vectors) along an axis."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = P.moveaxis(a, axisa, -1)
    b = P.moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("cross: incompatible dimensions for cross product (must be 2 or 3)")
    # A missing third component is an int zero, which keeps integer dtypes.
    a0, a1, a2 = (P.getitem(a, (Ellipsis, i)) if i < na else 0 for i in range(3))
    b0, b1, b2 = (P.getitem(b, (Ellipsis, i)) if i < nb else 0 for i in range(3))
    z = P.subtract(P.multiply(a0, b1), P.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z
    c = P.stack([P.subtract(P.multiply(a1, b2), P.multiply(a2, b1)),
                 P.subtract(P.multiply(a2, b0), P.multiply(a0, b2)), z], axis=-1)
    return P.moveaxis(c, -1, axisc)
