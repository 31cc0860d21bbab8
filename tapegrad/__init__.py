"""tapegrad: reverse-mode automatic differentiation over NumPy (and CuPy) arrays.

Two ways to ask for gradients, on one engine:

* PyTorch style: ``x = tg.tensor(2.0, requires_grad=True)``, compute, ``y.backward()``,
  read ``x.grad``.
* JAX / TensorFlow style: ``tg.grad(f)(x)``, or ``with tg.tape() as t: ...`` and
  ``t.gradient(y, x)``.

``tg.compile(tg.grad(f))`` turns the recorded tape into an optimised, cached, readable
backward program (see :mod:`tapegrad.compiler`, imported on first use).
"""

from __future__ import annotations

from . import _methods, viz  # noqa: F401  (_methods attaches operators to Tensor)
from ._config import get_default_dtype, set_default_dtype
from ._state import enable_grad, is_grad_enabled, no_grad
from .explain import explain_grad
from .node import AccumulateGrad, Node
from .primitive import Primitive, registry
from .primitives import *  # noqa: F401,F403  (NumPy-named functions)
from .tape import Tape, tape
from .tensor import Tensor, tensor
from .transforms import grad, value_and_grad

__version__ = "0.1.0"


def compile(fn=None, *, static_argnums=(), verify: bool = False, **options):  # noqa: A001
    """Compile ``fn`` (typically ``tg.grad(f)``) into a cached, optimised program.

    Like ``jax.jit``: the first call with a given signature records ``fn`` on a tape,
    lowers it to the compiler's IR, runs the passes and generates Python; later calls
    with a matching signature run the generated program. See :mod:`tapegrad.compiler`.

    Parameters
    ----------
    fn : callable
        A function of arrays/tensors built from tapegrad operations.
    static_argnums : int or tuple of ints
        Arguments treated as compile-time constants (part of the cache key).
    verify : bool
        Also run ``fn`` eagerly on every call and raise on the first divergence.

    Returns
    -------
    CompiledFunction
    """
    from .compiler import compile as _compile

    if fn is None:
        return lambda f: _compile(f, static_argnums=static_argnums, verify=verify, **options)
    return _compile(fn, static_argnums=static_argnums, verify=verify, **options)


__all__ = [name for name in dir() if not name.startswith("_")]
