"""Op specs for the core primitives (arithmetic, unary, reductions, shapes, indexing)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_specs import (
    OpSpec,
    custom,
    distinct,
    elementwise,
    fixed,
    reduction,
    register,
    shapes,
    values,
)

import tapegrad as tg

S = OpSpec

# -- binary elementwise -------------------------------------------------------------
register(
    S("add", tg.add, jnp.add, elementwise(2), ("add",)),
    S("subtract", tg.subtract, jnp.subtract, elementwise(2), ("subtract",)),
    S("multiply", tg.multiply, jnp.multiply, elementwise(2), ("multiply",)),
    S("divide", tg.divide, jnp.divide, elementwise(2, ("real", "pos")), ("divide",)),
    S("power", tg.power, jnp.power, elementwise(2, ("pos", "real")), ("power",)),
    S("power_scalar", lambda x: x ** 3.0, lambda x: x ** 3.0, elementwise(1), ("power",)),
    S("power_half", lambda x: x ** 0.5, lambda x: x ** 0.5, elementwise(1, ("pos",)),
      ("power",)),
    S("rpow_scalar", lambda x: 2.0 ** x, lambda x: 2.0 ** x, elementwise(1), ("power",)),
    S("square", tg.square, jnp.square, elementwise(1), ("power",)),
    S("maximum", tg.maximum, jnp.maximum, elementwise(2, values_fn=distinct), ("maximum",),
      smooth=False, fd=False),
    S("minimum", tg.minimum, jnp.minimum, elementwise(2, values_fn=distinct), ("minimum",),
      smooth=False, fd=False),
    S("maximum_ties", lambda x: tg.maximum(x, x * 1.0), lambda x: jnp.maximum(x, x * 1.0),
      elementwise(1), ("maximum",), smooth=False, fd=False),
    S("arctan2", tg.arctan2, jnp.arctan2, elementwise(2, ("real", "pos")), ("arctan2",)),
    S("logaddexp", tg.logaddexp, jnp.logaddexp, elementwise(2), ("logaddexp",)),
    S("scalar_ops", lambda x: (x + 1) * 0.2 - 5 / (x * x + 1),
      lambda x: (x + 1) * 0.2 - 5 / (x * x + 1), elementwise(1),
      ("add", "multiply", "subtract", "divide")),
)

# -- unary elementwise --------------------------------------------------------------
for _name, _dom, _smooth in [
    ("negative", "real", True), ("abs", "real", False), ("sqrt", "pos", True),
    ("exp", "real", True), ("expm1", "real", True), ("log", "pos", True),
    ("log1p", "pos", True), ("sin", "real", True), ("cos", "real", True),
    ("tan", "unit", True), ("arcsin", "unit", True), ("arctan", "real", True),
    ("sinh", "real", True), ("cosh", "real", True), ("tanh", "real", True),
]:
    register(S(_name, getattr(tg, _name), getattr(jnp, _name), elementwise(1, (_dom,)),
               (_name,), smooth=_smooth, fd=_smooth))

register(
    # tanh's VJP, a primitive of its own: its VJP is what second derivatives of tanh use.
    S("tanh_grad", tg.primitives.unary.tanh_grad_p.bind, lambda g, y: g * (1.0 - y * y),
      elementwise(2), ("tanh_grad",)),
    S("sign", tg.sign, jnp.sign, elementwise(1), ("sign",), smooth=False, fd=False),
    S("identity", tg.identity, lambda x: x, elementwise(1), ("identity",)),
    S("where", lambda c, x, y: tg.where(c > 0, x, y), lambda c, x, y: jnp.where(c > 0, x, y),
      elementwise(3), ("where", "greater"), diff=(1, 2)),
    S("clip", lambda x: tg.clip(x, -1.0, 1.5), lambda x: jnp.clip(x, -1.0, 1.5),
      elementwise(1), ("maximum", "minimum"), smooth=False, fd=False),
    S("comparisons", lambda x, y: tg.where((x < y) | (x >= y + 1) | ~(x == y) & (x != y)
                                           & (x <= y) | (x > y), x, y),
      lambda x, y: jnp.where((x < y) | (x >= y + 1) | ~(x == y) & (x != y) & (x <= y)
                             | (x > y), x, y),
      elementwise(2, values_fn=distinct),
      ("less", "greater_equal", "equal", "not_equal", "less_equal", "greater",
       "logical_or", "logical_and", "logical_not", "where"), smooth=False, fd=False),
)


# -- reductions ---------------------------------------------------------------------
def _ddof(draw, shape, axis):
    n = int(np.prod(shape)) if axis is None else int(np.prod(
        [shape[a] for a in ((axis,) if isinstance(axis, int) else axis)]))
    return {"ddof": draw(st.integers(0, max(0, min(1, n - 1))))}


def _tied_pair(draw, dtype):
    a = values(draw, draw(shapes(min_dims=1)), dtype)
    return [a, a.copy()], {}


register(
    S("sum", tg.sum, jnp.sum, reduction(), ("sum",)),
    S("mean", tg.mean, jnp.mean, reduction(), ("mean",)),
    S("prod", tg.prod, jnp.prod, reduction("small"), ("prod",)),
    S("prod_zeros", lambda x: tg.prod(x * (x > 0), axis=-1),
      lambda x: jnp.prod(x * (x > 0), axis=-1), fixed((3, 4)), ("prod",), smooth=False,
      fd=False),
    S("max", tg.max, jnp.max, reduction(values_fn=distinct), ("max",), smooth=False),
    S("min", tg.min, jnp.min, reduction(values_fn=distinct), ("min",), smooth=False),
    S("max_ties", lambda x, y: tg.max(tg.stack([x, y]), axis=0),
      lambda x, y: jnp.max(jnp.stack([x, y]), axis=0), custom(_tied_pair), ("max", "stack"),
      smooth=False, fd=False),
    S("min_ties", lambda x, y: tg.min(tg.concatenate([x, y]), axis=None),
      lambda x, y: jnp.min(jnp.concatenate([x, y]), axis=None), custom(_tied_pair),
      ("min", "concatenate"), smooth=False, fd=False),
    S("var", tg.var, jnp.var, reduction(extra=_ddof), ("var",)),
    S("std", tg.std, jnp.std, reduction(values_fn=distinct, extra=_ddof, min_side=2), ("std",)),
    S("logsumexp", tg.logsumexp, lambda x, axis=None, keepdims=False:
      __import__("jax").scipy.special.logsumexp(x, axis=axis, keepdims=keepdims),
      reduction(), ("logsumexp",)),
)


# -- shapes -------------------------------------------------------------------------
@custom
def _reshape_args(draw, dtype):
    shape = draw(shapes(min_dims=1))
    n = int(np.prod(shape))
    new = draw(st.sampled_from([(n,), (1, n), (n, 1), (-1,)]))
    return [values(draw, shape, dtype)], {"shape": new}


@custom
def _transpose_args(draw, dtype):
    shape = draw(shapes(min_dims=1))
    perm = draw(st.permutations(range(len(shape))))
    return [values(draw, shape, dtype)], {"axes": tuple(perm)}


@custom
def _broadcast_args(draw, dtype):
    shape = draw(shapes(max_dims=2))
    target = draw(hnp.broadcastable_shapes(shape, max_dims=3, max_side=4).filter(
        lambda t: np.broadcast_shapes(t, shape) == tuple(t)))
    return [values(draw, shape, dtype)], {"shape": tuple(target)}


@custom
def _sum_to_args(draw, dtype):
    shape = draw(shapes(max_dims=2))
    big = draw(hnp.broadcastable_shapes(shape, max_dims=3, max_side=4))
    full = np.broadcast_shapes(big, shape)
    return [values(draw, full, dtype)], {"shape": tuple(shape)}


def _jnp_sum_to(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and x.shape[lead + i] != 1)
    return jnp.sum(x, axis=axes, keepdims=True).reshape(shape)


@custom
def _concat_args(draw, dtype):
    shape = list(draw(shapes(min_dims=1)))
    axis = draw(st.integers(0, len(shape) - 1))
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(shape)
        s[axis] = draw(st.integers(1, 3))
        arrays.append(values(draw, tuple(s), dtype))
    return arrays, {"axis": axis}


@custom
def _stack_args(draw, dtype):
    shape = draw(shapes())
    k = draw(st.integers(1, 3))
    axis = draw(st.integers(0, len(shape)))
    return [values(draw, shape, dtype) for _ in range(k)], {"axis": axis}


register(
    S("reshape", tg.reshape, jnp.reshape, _reshape_args, ("reshape",)),
    S("expand_squeeze", lambda x: tg.squeeze(tg.expand_dims(x, 0), 0) * tg.ravel(x).sum(),
      lambda x: jnp.squeeze(jnp.expand_dims(x, 0), 0) * jnp.ravel(x).sum(),
      fixed((2, 3)), ("reshape",)),
    S("transpose", tg.transpose, jnp.transpose, _transpose_args, ("transpose",)),
    S("swapaxes", lambda x: tg.swapaxes(x, 0, -1), lambda x: jnp.swapaxes(x, 0, -1),
      fixed((2, 3, 4)), ("transpose",)),
    S("moveaxis", lambda x: tg.moveaxis(x, 0, -1), lambda x: jnp.moveaxis(x, 0, -1),
      fixed((2, 3, 4)), ("transpose",)),
    S("broadcast_to", tg.broadcast_to, jnp.broadcast_to, _broadcast_args, ("broadcast_to",)),
    S("sum_to", tg.sum_to, _jnp_sum_to, _sum_to_args, ("sum_to",)),
    S("astype", lambda x: tg.astype(x, "float32") * 2.0,
      lambda x: x.astype("float32") * 2.0, elementwise(1), ("astype",), fd=False),
    S("concatenate", lambda *xs, axis: tg.concatenate(xs, axis=axis),
      lambda *xs, axis: jnp.concatenate(xs, axis=axis), _concat_args, ("concatenate",)),
    S("stack", lambda *xs, axis: tg.stack(xs, axis=axis),
      lambda *xs, axis: jnp.stack(xs, axis=axis), _stack_args, ("stack",)),
)


# -- matmul, indexing ---------------------------------------------------------------
@custom
def _matmul_args(draw, dtype):
    kind = draw(st.sampled_from(["vv", "mv", "vm", "mm", "batched", "bcast", "bv", "vb"]))
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    shapes_ = {"vv": ((k,), (k,)), "mv": ((n, k), (k,)), "vm": ((k,), (k, m)),
               "mm": ((n, k), (k, m)), "batched": ((2, n, k), (2, k, m)),
               "bcast": ((3, 1, n, k), (2, k, m)), "bv": ((2, n, k), (k,)),
               "vb": ((k,), (3, k, m))}[kind]
    return [values(draw, s, dtype) for s in shapes_], {}


@custom
def _index_args(draw, dtype):
    shape = draw(shapes(min_dims=2, min_side=2))
    idx = draw(st.sampled_from([
        (0,), (slice(None, None, -1),), (Ellipsis, 1), (None, slice(1, None)),
        (np.array([0, 1, 0, 0]),), (slice(None), np.array([1, 1, 0])),
        (np.array([[0, 1], [1, 1]]), 0),
    ]))
    return [values(draw, shape, dtype)], {"idx": idx}


register(
    S("matmul", tg.matmul, jnp.matmul, _matmul_args, ("matmul",)),
    S("dot", tg.dot, jnp.dot, fixed((3, 4), (4,)), ("matmul",)),
    S("matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b, fixed((2, 3), (3, 2)),
      ("matmul",)),
    S("getitem", lambda x, idx: x[idx], lambda x, idx: x[idx], _index_args,
      ("getitem", "index_add_into")),
)

register(
    S("any_all", lambda x: tg.where(tg.any(x > 0, axis=-1, keepdims=True)
                                    & x.all(keepdims=True), x, 0.0),
      lambda x: jnp.where(jnp.any(x > 0, axis=-1, keepdims=True)
                          & jnp.all(x, keepdims=True), x, 0.0),
      fixed((3, 4)), ("any", "all", "where", "greater", "logical_and"), smooth=False,
      fd=False),
)
