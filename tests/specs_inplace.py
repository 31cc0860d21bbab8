"""Op specs for ``x[idx] = v`` (the ``setitem`` primitive) and in-place arithmetic on
non-leaf tensors, against JAX's functional ``x.at[idx].set(v)``."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from op_specs import OpSpec, register, shapes, values

from tapegrad._inplace import setitem

_INDICES = [(0,), (slice(1, None),), (Ellipsis, 1), (slice(None), slice(None, None, 2)),
            (np.array([0, 2]),), (np.array([2, 0]), slice(1, None))]


def _setitem_args(draw, dtype):
    shape = draw(shapes(min_dims=2, min_side=3))
    idx = draw(st.sampled_from(_INDICES))
    target = np.empty(shape)[idx].shape
    # v of the target's shape, or of a shape that broadcasts to it
    v_shape = draw(st.sampled_from([target, target[1:], ()]))
    return [values(draw, shape, dtype), values(draw, v_shape, dtype)], {"idx": idx}


def _inplace_chain(x, v, idx):
    z = x * 2.0
    z[idx] = v
    z *= x
    z += 1.0
    return z


def _inplace_chain_ref(x, v, idx):
    return (x * 2.0).at[idx].set(v) * x + 1.0


register(
    OpSpec("setitem", lambda x, v, idx: setitem(x, idx, v),
           lambda x, v, idx: x.at[idx].set(v), _setitem_args, ("setitem",)),
    OpSpec("inplace_chain", _inplace_chain, _inplace_chain_ref, _setitem_args, ("setitem",)),
)
