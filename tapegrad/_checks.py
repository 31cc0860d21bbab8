"""Argument checks of the public API that run off the per-operation path.

Each check runs only where a mistake is possible and the cost is paid once per call of
a public entry point (``backward``, a hook's result, ``.grad = ...``, a transform), never
per recorded operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .backend import dtype_kind

if TYPE_CHECKING:
    from .tensor import Tensor


def backend_or_none(x: Any):
    """``backend_of(x)``, or None for objects that are not arrays at all."""
    from .backend import backend_of

    try:
        return backend_of(x)
    except TypeError:
        return None


def check_callable(fun: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``fun`` is callable (JAX checks when transforming)."""
    if not callable(fun):
        raise TypeError(f"{name}: expected a callable, got {type(fun).__name__}")


def _same_kind(got, expected) -> bool:
    """A ``got`` gradient may stand for ``expected``: same dtype, or a precision change
    within floating (or within complex) numbers."""
    if got == expected:
        return True
    kg, ke = dtype_kind(got), dtype_kind(expected)
    return kg == ke and kg in "fc"


def hook_result(hook: Callable, new: Any, g) -> Any:
    """Check what a gradient hook returned against the gradient ``g`` it was given."""
    from .tensor import Tensor

    name = getattr(hook, "__name__", type(hook).__name__)
    if not isinstance(new, Tensor):
        try:
            new = Tensor(new)
        except TypeError:
            raise TypeError(f"register_hook: hook '{name}' must return a tensor, an array or "
                            f"None, got {type(new).__name__}") from None
    if new.shape != g.shape:
        raise RuntimeError(f"register_hook: hook '{name}' changed the gradient's shape: it "
                           f"returned shape {new.shape}, expected {g.shape}")
    if not _same_kind(new.data.dtype, g.data.dtype):
        raise RuntimeError(f"register_hook: hook '{name}' changed the gradient's dtype: it "
                           f"returned {new.data.dtype}, expected {g.data.dtype}")
    if new.data.dtype != g.data.dtype:
        from .primitives import astype

        new = astype(new, g.data.dtype)
    return new


def seed_dtype(g, y, what: str):
    """A backward seed ``g`` for output ``y``: cast to ``y``'s dtype; complex for a real
    output is an error (PyTorch and JAX raise: the imaginary part would be dropped)."""
    if g.data.dtype == y.data.dtype:
        return g
    if dtype_kind(g.data.dtype) == "c" and dtype_kind(y.data.dtype) != "c":
        raise RuntimeError(f"{what}: the gradient has dtype {g.data.dtype} but the output "
                           f"has the real dtype {y.data.dtype}; complex gradients need a "
                           "complex output")
    from .primitives import astype

    return astype(g, y.data.dtype)


def broadcast_reducible(g_shape: tuple, shape: tuple) -> bool:
    """Whether a gradient of ``g_shape`` sums down to ``shape`` (undoes a broadcast)."""
    if len(g_shape) < len(shape):
        return False
    for gs, s in zip(g_shape[len(g_shape) - len(shape):], shape):
        if s != gs and s != 1:
            return False
    return True


def argnums(argnums: Any, n: int, name: str) -> tuple[int, ...]:
    """Normalise ``argnums`` against ``n`` positional arguments (in range, unique)."""
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    if single:
        nums = (int(argnums),)
    elif isinstance(argnums, (tuple, list)):
        nums = tuple(argnums)
    else:
        raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got "
                        f"{type(argnums).__name__}")
    if not nums:
        raise ValueError(f"{name}: argnums must name at least one argument")
    for i in nums:
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got "
                            f"{argnums!r}")
        if not -n <= i < n:
            raise ValueError(f"{name}: argnums {argnums!r} is out of range for a function "
                             f"called with {n} positional arguments")
    out = tuple(int(i) % n for i in nums)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: argnums {argnums!r} names an argument twice")
    return out


def output_dtype(out, name: str) -> None:
    """``grad``'s output must be real floating point, as in JAX."""
    kind = dtype_kind(out.data.dtype)
    if kind == "f":
        return
    hint = ("use tg.vjp for complex outputs" if kind == "c" else
            "integer and boolean outputs have no gradient")
    raise TypeError(f"{name}: the function must return a real floating-point scalar, got "
                    f"dtype {out.data.dtype}; {hint}")


def check_complex(srcs: Sequence[Tensor], outs: Sequence[Tensor], holomorphic: bool,
                  name: str, mode: str) -> None:
    """Refuse complex inputs or outputs whose derivative would be silently incomplete.

    As in JAX: a real cotangent row only sees the real part of a complex output
    (reverse mode), a real tangent direction only the real axis of a complex input
    (forward mode). A holomorphic function has a complex derivative that covers both;
    ``holomorphic=True`` asserts that, and then every input and output must be complex.
    """
    def dtypes(ts, complex_):
        return [t.data.dtype for t in ts if (dtype_kind(t.data.dtype) == "c") == complex_]

    if holomorphic:
        for what, ts in (("inputs", srcs), ("outputs", outs)):
            if real := dtypes(ts, False):
                raise TypeError(f"{name}: with holomorphic=True the {what} must be complex, "
                                f"got dtype {real[0]}")
        return
    what, ts = ("outputs", outs) if mode == "rev" else ("inputs", srcs)
    if cplx := dtypes(ts, True):
        other = "tg.vjp" if mode == "rev" else "tg.jvp"
        raise TypeError(f"{name}: got complex {what} (dtype {cplx[0]}); pass "
                        f"holomorphic=True for a holomorphic function, or use {other} for "
                        f"others")


def check_primals_tangents(primals: Any, tangents: Any, name: str) -> tuple[tuple, list]:
    """Check ``jvp``/``hvp`` arguments: tuples of matching structure, shapes and kinds.

    Returns the primals as a tuple and the flat list of tangent leaves.
    """
    if not (isinstance(primals, (tuple, list)) and isinstance(tangents, (tuple, list))):
        raise TypeError(f"{name}: primals and tangents must be tuples or lists (one entry "
                        f"per argument), got {type(primals).__name__} and "
                        f"{type(tangents).__name__}")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"{name}: got {len(primals)} primals but {len(tangents)} tangents")
    from .pytree import tree_flatten

    p_leaves, p_def = tree_flatten(primals)
    t_leaves, t_def = tree_flatten(tangents)
    if p_def != t_def:
        raise ValueError(f"{name}: primals and tangents must have the same structure, got "
                         f"{p_def!r} and {t_def!r}")
    check_like(t_leaves, p_leaves, name, "tangent", "primal")
    return primals, t_leaves


def check_like(values: list, refs: list, name: str, what: str, ref: str) -> None:
    """Each of ``values`` has the shape of its ``refs`` entry; no complex for a real."""
    for k, (v, r) in enumerate(zip(values, refs)):
        shape, rshape = getattr(v, "shape", ()), getattr(r, "shape", ())
        if tuple(shape) != tuple(rshape):
            raise ValueError(f"{name}: {what} {k} has shape {tuple(shape)} but the {ref} "
                             f"has shape {tuple(rshape)}; they must match")
        dt, rdt = getattr(v, "dtype", None), getattr(r, "dtype", None)
        if dt is not None and rdt is not None and dtype_kind(dt) == "c" != dtype_kind(rdt):
            raise ValueError(f"{name}: {what} {k} has dtype {dt} but the {ref} has the "
                             f"real dtype {rdt}")
