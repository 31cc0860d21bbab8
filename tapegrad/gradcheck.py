"""``tg.gradcheck``: compare tapegrad's derivatives with central finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import primitives as P
from .backend import dtype_kind, to_numpy
from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor, tensor

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical derivatives disagree."""


def _float64(x: Any) -> Any:
    data = to_numpy(x.data) if isinstance(x, Tensor) else np.asarray(x)
    return data.astype(np.float64) if data.dtype.kind == "f" else data


def _flat_output(fun: Callable, args: list) -> np.ndarray:
    out = tree_flatten(fun(*args))[0]
    return np.concatenate([np.ravel(_float64(o)) for o in out]) if out else np.zeros(0)


def gradcheck(fun: Callable, *args: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check the full Jacobian of ``fun`` against central finite differences.

    Every floating-point argument (pytree leaves too) is differentiated, in float64.
    A complex output is checked as its real and imaginary parts. Each column of the
    numerical Jacobian costs two calls of ``fun``, so use small inputs.

    Parameters
    ----------
    fun : callable
        Takes ``*args`` (arrays or tensors, possibly in pytrees) and returns a pytree of
        tensors.
    *args
        The point to check at; converted to float64.
    eps : float
        Finite-difference step.
    atol, rtol : float
        Tolerances: ``|analytic - numerical| <= atol + rtol * |numerical|``.
    raise_exception : bool
        Raise :class:`GradcheckError` on a mismatch (else return False).

    Returns
    -------
    bool
        True when every derivative matches.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> tg.gradcheck(lambda x: tg.tanh(x) * x, np.array([0.3, -1.2]))
    True
    """
    from .jacobian import jacrev

    leaves, treedef = tree_flatten(list(args))
    leaves = [_float64(x) for x in leaves]
    diff = [k for k, x in enumerate(leaves) if x.dtype.kind == "f"]
    if not diff:
        raise ValueError("gradcheck: no floating-point argument to differentiate")

    def call(*diff_leaves):
        full = list(leaves)
        for k, v in zip(diff, diff_leaves):
            full[k] = v
        # Real outputs only: a complex one is checked as its real and imaginary parts.
        parts = []
        for o in tree_flatten(fun(*tree_unflatten(treedef, full)))[0]:
            if isinstance(o, Tensor) and dtype_kind(o.data.dtype) == "c":
                parts += [P.real(o), P.imag(o)]
            else:
                parts.append(o)
        return parts

    base = [tensor(leaves[k]) for k in diff]
    jac = jacrev(call, argnums=tuple(range(len(diff))))(*base)
    out_blocks = tree_flatten(jac)[0]  # per output leaf, per input: arrays
    n_in = len(diff)
    rows = [out_blocks[i:i + n_in] for i in range(0, len(out_blocks), n_in)]
    for j, k in enumerate(diff):
        x = leaves[k]
        analytic = np.concatenate(
            [np.reshape(_float64(r[j]), (-1, x.size)) for r in rows]) if rows else None
        for e in range(x.size):
            step = np.zeros(x.size)
            step[e] = eps
            plus = [tensor(v) for v in (leaves[m] for m in diff)]
            minus = [tensor(v) for v in (leaves[m] for m in diff)]
            plus[j] = tensor(x + step.reshape(x.shape))
            minus[j] = tensor(x - step.reshape(x.shape))
            numeric = (_flat_output(call, plus) - _flat_output(call, minus)) / (2 * eps)
            got = analytic[:, e] if analytic is not None else np.zeros_like(numeric)
            bad = np.abs(got - numeric) > atol + rtol * np.abs(numeric)
            if bad.any():
                if not raise_exception:
                    return False
                o = int(np.argmax(bad))
                raise GradcheckError(
                    f"gradcheck: Jacobian mismatch for output element {o} with respect to "
                    f"element {e} of input {k}: analytic {got[o]:.6g}, numerical "
                    f"{numeric[o]:.6g} (atol={atol}, rtol={rtol})")
    return True
