"""Op specs for the NumPy breadth: more elementwise functions, complex numbers,
contractions, structure, scans and sorting, statistics (``tg.linalg`` and ``tg.fft`` are
in specs_linalg_fft.py).

Most specs are written once against a namespace argument ``xp`` and run with
``xp = tapegrad`` and ``xp = jax.numpy`` (the reference): tapegrad spells everything the
way NumPy does, so one body serves both. Complex functions are tested through real
parameters: ``z = a + 1j * b`` in, ``stack([real(w), imag(w)])`` out, so every check
(jax, finite differences, second order) sees real arrays while the real and imaginary
parts of the cotangent are drawn independently.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from op_specs import OpSpec, custom, distinct, elementwise, fixed, register, shapes, values

import tapegrad as tg

INF = float("inf")


def both(name, body, make, prims=(), **kw):
    """A spec whose function and reference are ``body(tapegrad, ...)`` and
    ``body(jax.numpy, ...)``."""
    return OpSpec(name, lambda *a, **k: body(tg, *a, **k), lambda *a, **k: body(jnp, *a, **k),
                  make, tuple(prims), **kw)


def _off_jumps(draw, dtype):
    """``x, y`` for ``remainder``/``fmod``: ``x / y`` away from integers, where the
    quotient's floor (or trunc) jumps and rounding decides which side a library takes
    (at ``-1 % 0.2`` NumPy's value is on the ``floor = -5`` side, jax's gradient on -6)."""
    args, kw = elementwise(2, ("real", "pos"))(draw, dtype)
    q = np.asarray(args[0], np.float64) / np.asarray(args[1], np.float64)
    if np.any(np.abs(q - np.round(q)) < 1e-6):
        args[0] = np.asarray(args[0] + 0.1234567, dtype=args[0].dtype)
    q = np.asarray(args[0], np.float64) / np.asarray(args[1], np.float64)
    assume(np.all(np.abs(q - np.round(q)) >= 1e-6))
    return args, kw


def _distinct_pair_3x4(draw, dtype):
    return [distinct(draw, (3, 4), dtype), distinct(draw, (3, 4), dtype)], {}


def ri(xp, z):
    """Real and imaginary parts stacked: a real array carrying all of ``z``."""
    return xp.stack([xp.real(z), xp.imag(z)])


def _nonzero(draw, shape, dtype, domain="real"):
    # Values away from 0, or exactly 0 (points where some rules switch branches).
    x = values(draw, shape, dtype, domain)
    return np.where(np.abs(x) < 0.1, 0.0, x).astype(dtype)


# -- elementwise ----------------------------------------------------------------------
for _name, _dom, _body in [
    ("arccos", "unit", lambda xp, x: xp.arccos(x)),
    ("arcsinh", "real", lambda xp, x: xp.arcsinh(x)),
    ("arccosh", "pos", lambda xp, x: xp.arccosh(1.0 + x)),
    ("arctanh", "unit", lambda xp, x: xp.arctanh(x)),
    ("log2", "pos", lambda xp, x: xp.log2(x)),
    ("log10", "pos", lambda xp, x: xp.log10(x)),
    ("exp2", "real", lambda xp, x: xp.exp2(x)),
    ("cbrt", "pos", lambda xp, x: xp.cbrt(x)),
]:
    register(both(_name, _body, elementwise(1, (_dom,)), (_name,)))

register(
    both("sinc", lambda xp, x: xp.sinc(x), elementwise(1, values_fn=_nonzero),
         ("sinc", "sinc_derivative")),
    # |y| > |x|: jax.numpy.hypot goes through max/min, whose second derivative at
    # |x| == |y| is not hypot's.
    both("hypot", lambda xp, x, y: xp.hypot(x, y + 3.5), elementwise(2, ("real", "pos")),
         ("hypot",)),
    both("hypot_origin", lambda xp, x: xp.hypot(x * 0.0, x * 0.0), fixed((3,)), ("hypot",),
         smooth=False, fd=False),
    both("logaddexp2", lambda xp, x, y: xp.logaddexp2(x, y), elementwise(2), ("logaddexp2",)),
    both("remainder", lambda xp, x, y: xp.remainder(x, y), _off_jumps,
         ("remainder", "floor", "divide"), fd=False),
    both("fmod", lambda xp, x, y: xp.fmod(x, y), _off_jumps,
         ("fmod", "trunc", "divide"), fd=False),
    both("reciprocal_degrees", lambda xp, x: xp.rad2deg(xp.reciprocal(x)) + xp.deg2rad(x),
         elementwise(1, ("pos",)), ("divide", "multiply")),
    both("fmax_fmin", lambda xp, x, y: xp.fmax(x, y) * 2.0 + xp.fmin(x, y),
         elementwise(2, values_fn=distinct), ("where", "isnan", "greater", "less"),
         smooth=False, fd=False),
    both("fmax_ties", lambda xp, x: xp.fmax(x, x * 1.0) * xp.fmin(x * 1.0, x),
         elementwise(1), ("where",), smooth=False, fd=False),
    both("copysign", lambda xp, x, y: xp.copysign(x, y), elementwise(2, values_fn=_nonzero),
         ("signbit", "abs", "where"), smooth=False, fd=False),
    both("zero_gradient", lambda xp, x, y: x + xp.floor(x) + xp.ceil(x) * xp.trunc(x)
         + xp.round(x) - xp.round(x, 1) + (tg.fix if xp is tg else xp.trunc)(x)
         + xp.floor_divide(x, y),
         elementwise(2, ("real", "pos")),
         ("floor", "ceil", "trunc", "round", "floor_divide"), fd=False),
    both("tests_of_values", lambda xp, x: xp.where(xp.isfinite(x) & ~xp.isnan(x)
                                                   & ~xp.isinf(x) & ~xp.signbit(x), x, -x),
         elementwise(1, values_fn=_nonzero),
         ("isfinite", "isnan", "isinf", "signbit", "where"), smooth=False, fd=False),
)


def _bits(xp, x):
    """Integers (int32) from floats: the operands of the bitwise specs."""
    return xp.astype(xp.floor(x * 4.0), xp.int32)


def _bitwise_body(xp, x, y):
    # Functions and operators (the tensor operators dispatch to the same primitives);
    # the integer result scales x, so the spec has a gradient to compare.
    a, b = _bits(xp, x), _bits(xp, y)
    ints = (xp.bitwise_and(a, b) + xp.bitwise_or(a, 3) - xp.bitwise_xor(5, b)
            + xp.bitwise_invert(a) + xp.bitwise_left_shift(a, 2)
            + xp.bitwise_right_shift(b, 1) + (a & b) - (a | b) + (a ^ b) - ~b
            + (a << 1) - (b >> 2))
    return x * xp.astype(ints, x.dtype) + xp.where(xp.logical_xor(x > 0, y > 0), x, y)


register(
    both("bitwise", _bitwise_body, elementwise(2),
         ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_left_shift",
          "bitwise_right_shift", "logical_xor", "floor", "astype", "where"),
         smooth=False, fd=False),
)


@custom
def _with_nonfinite(draw, dtype):
    x = values(draw, draw(shapes(min_dims=1, min_side=2)), dtype).ravel()
    spots = draw(st.lists(st.integers(0, x.size - 1), min_size=1, max_size=3))
    for k, i in enumerate(spots):
        x[i] = (np.nan, np.inf, -np.inf)[k % 3]
    return [x], {}


register(
    both("nan_to_num", lambda xp, x: xp.nan_to_num(x) * 1e-300 + xp.nan_to_num(x, posinf=2.0,
                                                                                neginf=-1.0),
         _with_nonfinite, ("nan_to_num", "isfinite"), fd=False),
    both("nan_stats", lambda xp, x: xp.nansum(x) + xp.nanmean(x),
         _with_nonfinite, ("isnan",), fd=False),
)

# -- complex numbers (through real parameters) -----------------------------------------
_CPLX = elementwise(2, values_fn=_nonzero)
register(
    both("complex_parts", lambda xp, a, b: ri(xp, xp.conj(a + 1j * b) * (2 - 1j))
         + xp.real(a) - xp.imag(a), _CPLX, ("real", "imag", "conj")),
    both("complex_abs", lambda xp, a, b: xp.abs((a + 1j * b) * (1 + 2j)),
         elementwise(2, ("pos", "real")), ("abs",)),
    both("complex_abs_at_zero", lambda xp, a: xp.abs(a * 0.0 + 1j * (a * 0.0)) + a,
         fixed((3,)), ("abs",), smooth=False, fd=False),
    both("complex_angle", lambda xp, a, b: xp.angle(a + 1j * b),
         elementwise(2, ("pos", "real")), ("arctan2",)),
    both("complex_holomorphic", lambda xp, a, b: ri(xp, xp.exp(a + 1j * b) * (a + 1j * b)
                                                    / ((a + 1j * b) ** 2 + 3.0)),
         elementwise(2, ("unit",)), ("exp", "multiply", "divide", "power")),
    both("complex_abs_squared", lambda xp, a, b: xp.abs(xp.sin(a + 1j * b)) ** 2,
         elementwise(2, ("unit",)), ("sin",)),
    both("complex_var_std", lambda xp, a, b: xp.var(a + 1j * b, axis=-1)
         + xp.std((a + 1j * b) * (1 - 2j)), custom(_distinct_pair_3x4), ("var", "std")),
)


# -- contractions ---------------------------------------------------------------------
_EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]), ("i,i", [(4,), (4,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("ijk->kji", [(2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 4)]), ("i,j->ij", [(3,), (2,)]),
    ("iij,k->jk", [(2, 2, 3), (2,)]), ("ij,j", [(3, 4), (4,)]),
]


@custom
def _einsum_args(draw, dtype):
    subs, shps = draw(st.sampled_from(_EINSUM))
    return [values(draw, s, dtype) for s in shps], {"subscripts": subs}


@custom
def _tensordot_args(draw, dtype):
    shps, axes = draw(st.sampled_from([
        (((2, 3, 4), (3, 4, 2)), 2), (((2, 3), (3, 4)), 1), (((2, 3), (4,)), 0),
        (((2, 3, 4), (4, 2, 3)), ([1, 2], [2, 0])), (((3, 2), (2, 3)), ([0], [1])),
    ]))
    return [values(draw, s, dtype) for s in shps], {"axes": axes}


register(
    both("einsum", lambda xp, *ops, subscripts: xp.einsum(subscripts, *ops), _einsum_args,
         ("einsum",)),
    both("tensordot", lambda xp, a, b, axes: xp.tensordot(a, b, axes=axes), _tensordot_args,
         ("matmul", "transpose", "reshape")),
    both("outer_inner", lambda xp, a, b: xp.outer(a, b).sum(0) + xp.inner(a, b),
         fixed((3,), (3,)), ("multiply",)),
    both("inner_nd", lambda xp, a, b: xp.inner(a, b), fixed((2, 3), (4, 3)), ("matmul",)),
    both("kron", lambda xp, a, b: xp.kron(a, b), fixed((2, 3), (3, 2)), ("multiply",)),
    both("kron_1d_2d", lambda xp, a, b: xp.kron(a, b), fixed((3,), (2, 2)), ("multiply",)),
    both("vdot_vecdot", lambda xp, a, b: xp.vdot(a, b) + xp.vecdot(a, b, axis=0).sum(),
         fixed((3, 2), (3, 2)), ("conj", "sum")),
    both("cross", lambda xp, a, b: xp.cross(a, b), fixed((4, 3), (3,)), ("stack", "getitem")),
    both("cross_2d", lambda xp, a, b: xp.cross(a, b, axis=0), fixed((2, 3), (2, 3)),
         ("getitem",)),
)


# -- structure --------------------------------------------------------------------------
@custom
def _matrixish(draw, dtype):
    return [values(draw, draw(shapes(min_dims=2, max_dims=3, min_side=1)), dtype)], {
        "k": draw(st.integers(-2, 2))}


def _pieces(xp, parts):
    return xp.concatenate([p.reshape(-1) * (i + 1.0) for i, p in enumerate(parts)])


register(
    both("diag", lambda xp, v, k: xp.diag(v, k) * 1.5, custom(lambda d, t: (
        [values(d, (d(st.integers(1, 4)),), t)], {"k": d(st.integers(-2, 2))})),
        ("index_add_into",)),
    both("diag_of_matrix", lambda xp, x, k: xp.diag(x[0], k), _matrixish, ("getitem",)),
    both("diagonal_trace", lambda xp, x: xp.diagonal(x, 1, 2, 0) * xp.trace(x, -1, 0, 1).sum()
         + xp.diagonal(x).sum(), fixed((3, 2, 4)), ("getitem", "transpose")),
    both("tril_triu", lambda xp, x, k: xp.tril(x, k) + 2.0 * xp.triu(x, k), _matrixish,
         ("where",)),
    both("flips", lambda xp, x: xp.flip(x) + xp.flip(x, 1) + xp.flipud(x) + xp.fliplr(x)
         + xp.rot90(x, 0) + xp.rot90(x, 2), fixed((3, 3, 2)), ("getitem",)),
    both("rot90", lambda xp, x: xp.rot90(x) + xp.rot90(x, 3, (1, 0)), fixed((3, 3)),
         ("getitem", "transpose")),
    both("roll", lambda xp, x: xp.roll(x, 2) + xp.roll(x, -1, 1) + xp.roll(x, (1, 2), (0, 1)),
         fixed((3, 4)), ("roll",)),
    both("rollaxis", lambda xp, x: xp.rollaxis(x, 2) + xp.rollaxis(x, 0, 3).transpose((2, 0, 1)),
         fixed((2, 2, 2)), ("transpose",)),
    both("tile", lambda xp, x, reps: xp.tile(x, reps), custom(lambda d, t: (
        [values(d, d(shapes(max_dims=2)), t)],
        {"reps": d(st.sampled_from([2, (1, 2), (2, 1, 3)]))})), ("broadcast_to", "reshape")),
    both("repeat", lambda xp, x: xp.repeat(x, 2) + xp.repeat(x, 2, 1).sum()
         + xp.repeat(x, np.array([1, 0, 2]), axis=0).sum(), fixed((3, 2)),
         ("broadcast_to", "getitem")),
    both("pad_constant", lambda xp, x: xp.pad(x, ((1, 0), (2, 1))).sum(0)
         * xp.pad(x, 1, constant_values=2.5).sum(),
         custom(lambda d, t: ([values(d, (2, d(st.integers(1, 3))), t)], {})),
         ("index_add_into",)),
    both("pad_modes", lambda xp, x, mode: xp.pad(x, ((1, 2), (2, 1)), mode=mode),
         custom(lambda d, t: ([values(d, (3, 4), t)], {
             "mode": d(st.sampled_from(["edge", "reflect", "symmetric", "wrap"]))})),
         ("getitem",)),
    both("split", lambda xp, x: _pieces(xp, xp.split(x, 2, axis=1))
         + _pieces(xp, xp.array_split(x, 3, 1)) + _pieces(xp, xp.split(x, [1, 3], 1)),
         fixed((2, 4)), ("getitem", "concatenate")),
    both("hv_splits", lambda xp, x: _pieces(xp, xp.hsplit(x, 2)) + _pieces(xp, xp.vsplit(x, 2))
         + _pieces(xp, xp.dsplit(x, 2)) + _pieces(xp, xp.unstack(x, axis=1)),
         fixed((2, 2, 2)), ("getitem",)),
    both("atleast", lambda xp, x: xp.atleast_3d(x).sum() * xp.atleast_2d(x)
         + xp.atleast_1d(x), elementwise(1), ("reshape",)),
    both("stacks", lambda xp, a, b: xp.hstack([a, b]).sum() + xp.vstack([a, b]).sum(0)
         + xp.dstack([a, b]).sum((0, 2)) + xp.column_stack([a, b]).sum(1).sum()
         + xp.append(a, b)[:3], fixed((3,), (3,)), ("concatenate",)),
    both("take", lambda xp, x, i: xp.take(x, i) + xp.take(x, i, axis=1).sum(),
         custom(lambda d, t: ([values(d, (3, 4), t), np.array([0, 2, 2, -1])], {})),
         ("getitem", "index_add_into")),
    both("take_along_axis", lambda xp, x, axis: xp.take_along_axis(
        x, xp.argsort(x, axis=axis), axis), custom(lambda d, t: (
            [distinct(d, d(shapes(min_dims=1)), t)], {"axis": d(st.sampled_from([0, -1]))})),
        ("argsort", "getitem")),
    both("diff", lambda xp, x: xp.diff(x) * 2.0 + xp.diff(x, 2, axis=0).sum()
         + xp.diff(x, prepend=1.0, append=x[:, :1]).sum(), fixed((4, 3)), ("subtract",)),
    both("broadcast_arrays", lambda xp, a, b: sum(xp.broadcast_arrays(a, b)) * 1.0
         + xp.matrix_transpose(a), fixed((3, 1), (1, 3)), ("broadcast_to",)),
)


# -- scans and orderings ----------------------------------------------------------------
@custom
def _scan_args(draw, dtype):
    shape = draw(shapes(min_dims=1))
    return [values(draw, shape, dtype)], {"axis": draw(st.sampled_from(
        [None] + list(range(-len(shape), len(shape)))))}


@custom
def _with_zeros(draw, dtype):
    x = values(draw, draw(shapes(min_dims=1, max_side=5)), dtype, "small")
    return [np.where(np.abs(x) < 0.4, 0.0, x).astype(dtype)], {"axis": -1}


register(
    both("cumsum", lambda xp, x, axis: xp.cumsum(x, axis=axis), _scan_args, ("cumsum",)),
    both("cumprod", lambda xp, x, axis: xp.cumprod(x, axis=axis), custom(lambda d, t: (
        [values(d, d(shapes(min_dims=1)), t, "small")], {"axis": 0})), ("cumprod",)),
    both("cumprod_zeros", lambda xp, x, axis: xp.cumprod(x, axis=axis), _with_zeros,
         ("cumprod",)),
    both("cumulative_sum_prod", lambda xp, x: xp.cumulative_sum(x, axis=1, include_initial=True)
         + xp.cumulative_prod(x, axis=1, include_initial=True), fixed((2, 3)),
         ("cumsum", "cumprod")),
    both("sort", lambda xp, x, axis: xp.sort(x, axis=axis), custom(lambda d, t: (
        [values(d, d(shapes(min_dims=1)), t)], {"axis": d(st.sampled_from([0, -1, None]))})),
        ("argsort", "getitem"), smooth=False),
    both("sort_ties", lambda xp, x: xp.sort(xp.concatenate([x, x * 1.0, x[::-1]])),
         fixed((4,)), ("argsort",), smooth=False, fd=False),
    both("sort_descending", lambda xp, x: xp.sort(x, descending=True),
         custom(lambda d, t: ([distinct(d, d(shapes(min_dims=1)), t)], {})), ("argsort",),
         smooth=False),
    both("argsort_argmax", lambda xp, x: xp.take_along_axis(x, xp.argsort(x, axis=0), 0)
         + x.reshape(-1)[xp.argmax(x)] - x.reshape(-1)[xp.argmin(x)] + xp.take_along_axis(
             x, xp.argmax(x, axis=1, keepdims=True), 1)
         + xp.take_along_axis(x, xp.argmin(x, axis=-1, keepdims=True), 1),
         custom(lambda d, t: ([distinct(d, (3, 2), t)], {})),
         ("argsort", "argmax", "argmin"), smooth=False),
    both("searchsorted", lambda xp, a, v: v * xp.searchsorted(a, v) + xp.searchsorted(
        a, v, side="right"), custom(lambda d, t: ([np.sort(values(d, (5,), t)),
                                                   values(d, (3,), t)], {})),
        ("searchsorted",), diff=(1,), fd=False),
    both("median", lambda xp, x, axis, keepdims: xp.median(x, axis=axis, keepdims=keepdims),
         custom(lambda d, t: ([distinct(d, d(shapes(min_dims=1)), t)], {
             "axis": d(st.sampled_from([None, 0, -1])), "keepdims": d(st.booleans())})),
         ("argsort",), smooth=False),
    both("average", lambda xp, x, w: xp.average(x, axis=1, weights=w) + xp.average(x),
         custom(lambda d, t: ([values(d, (2, 3), t), values(d, (3,), t, "pos")], {})),
         ("sum", "divide")),
    both("average_full_weights", lambda xp, x, w: xp.average(x, axis=0, weights=w),
         custom(lambda d, t: ([values(d, (3, 2), t), values(d, (3, 2), t, "pos")], {})),
         ("sum",)),
    both("ptp", lambda xp, x: xp.ptp(x, axis=0), custom(lambda d, t: (
        [distinct(d, (3, 2), t)], {})), ("max", "min"), smooth=False),
)


# -- partitions, Hermitian-free odds and ends, constructors with gradients ------------------
@custom
def _partition_args(draw, dtype):
    shape = draw(shapes(min_dims=1, min_side=2))
    axis = draw(st.sampled_from(list(range(-len(shape), len(shape)))))
    return [distinct(draw, shape, dtype)], {"axis": axis,
                                            "kth": draw(st.integers(0, shape[axis] - 1))}


def _partition_body(xp, x, kth, axis):
    # The order inside each part is unspecified (JAX sorts them, NumPy does not): compare
    # the kth element and order-free functions of the two parts.
    p = xp.moveaxis(xp.partition(x, kth, axis=axis), axis, -1)
    return xp.concatenate([p[..., kth:kth + 1], p[..., :kth].sum(-1, keepdims=True),
                           (p[..., kth + 1:] ** 2).sum(-1, keepdims=True)], axis=-1)


def _real_if_close_body(xp, a, b):
    rif = tg.real_if_close if xp is tg else (lambda z: xp.real(z))
    keep = tg.real_if_close if xp is tg else (lambda z: z)
    return rif(a + 1j * (b * 1e-20)) + ri(xp, keep(a - 1j * b)).sum(0)


def _linspace_body(xp, a, b, num, endpoint, axis):
    return xp.linspace(a, b, num, endpoint=endpoint, axis=axis)


@custom
def _linspace_args(draw, dtype):
    shape = draw(st.sampled_from([(), (2,), (2, 3)]))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return [values(draw, shape, dtype), values(draw, draw(st.sampled_from([(), shape])),
                                               dtype)], {
        "num": draw(st.sampled_from([1, 2, 5])), "endpoint": draw(st.booleans()),
        "axis": axis}


register(
    both("partition", _partition_body, _partition_args, ("argpartition", "getitem"),
         smooth=False),
    both("msort", lambda xp, x: (tg.msort(x) if xp is tg else xp.sort(x, axis=0)),
         custom(lambda d, t: ([distinct(d, d(shapes(min_dims=1)), t)], {})), ("argsort",),
         smooth=False),
    both("real_if_close", _real_if_close_body, elementwise(2, ("real", "pos")),
         ("real", "imag")),
    both("full_fill_value", lambda xp, v: xp.full((2, 3), v)
         + xp.full_like(xp.full((2, 3), v), xp.sum(v) * 2.0), custom(lambda d, t: (
             [values(d, d(st.sampled_from([(), (3,), (1, 3)])), t)], {})), ("multiply",)),
    both("linspace_endpoints", _linspace_body, _linspace_args, ("multiply", "concatenate")),
    both("meshgrid", lambda xp, a, b, c, indexing: _pieces(xp, xp.meshgrid(
        a, b, c, indexing=indexing)) + _pieces(xp, xp.meshgrid(a, b, sparse=True)).sum(),
        custom(lambda d, t: ([values(d, (2,), t), values(d, (3,), t), values(d, (1,), t)],
                             {"indexing": d(st.sampled_from(["xy", "ij"]))})),
        ("broadcast_to", "reshape")),
    both("var_std_correction", lambda xp, x: xp.var(x, axis=0, correction=1)
         + xp.std(x, axis=0, correction=1.5), custom(lambda d, t: (
             [distinct(d, (3, 4), t)], {})), ("var", "std")),
    # Data-dependent selections: no gradient of their own; the values they pick get it.
    both("nonzero", lambda xp, x: x[xp.nonzero(x > 0.5)] * 2.0
         + xp.sum(x[xp.argwhere(x > 0)[:, 0]]) + xp.sum(x.reshape(-1)[xp.flatnonzero(x)]),
         custom(lambda d, t: ([_nonzero(d, (3, 4), t)], {})), ("nonzero", "getitem"),
         smooth=False, fd=False),
    both("unique", lambda xp, x: x[xp.unique(xp.floor(x * 2.0), return_index=True)[1]]
         * xp.astype(xp.count_nonzero(x > 0), x.dtype), custom(lambda d, t: (
             [values(d, (6,), t)], {})), ("unique", "getitem"), smooth=False, fd=False),
)
