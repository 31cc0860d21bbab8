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

# Imported for their effect: Tensor's operators (_methods), in-place operators
# (_inplace), NumPy's protocols (_numpy_protocol); and the tg.fft / tg.linalg namespaces.
from . import _inplace, _methods, _numpy_protocol, fft, linalg, viz  # noqa: F401
from ._config import get_default_dtype, set_default_dtype
from ._state import enable_grad, is_grad_enabled, no_grad
from .anomaly import detect_anomaly, set_detect_anomaly
from .checkpoint import checkpoint
from .custom import custom_vjp
from .explain import explain_grad
from .gradcheck import GradcheckError, gradcheck
from .jacobian import hessian, hvp, jacfwd, jacobian, jacrev
from .node import AccumulateGrad, Node
from .primitive import Primitive, registry
from .primitives import *  # noqa: F401,F403  (NumPy-named functions)
from .pytree import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten
from .tape import Tape, tape
from .tensor import Tensor, tensor
from .transforms import grad, jvp, value_and_grad, vjp

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


def _compiler_from_checkout() -> None:
    # Installed (or editable) packages map the top-level compiler/ folder to
    # tapegrad.compiler. Imported straight from a source checkout (``python -m tapegrad``
    # in the repository root), the checkout's root joins the package's search path so
    # that ``tapegrad.compiler`` is that same folder.
    import importlib.util
    import os

    if importlib.util.find_spec(f"{__name__}.compiler") is not None:
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isfile(os.path.join(root, "compiler", "ir.py")):
        __path__.append(root)  # noqa: F405  (the package's own __path__)


_compiler_from_checkout()

__array_api_version__ = _numpy_protocol.__array_api_version__


def __array_namespace__(api_version: str | None = None):
    """tapegrad is an array-API namespace: this returns the ``tapegrad`` module."""
    return _numpy_protocol.array_namespace(None, api_version)


def __getattr__(name: str):
    # Array-API names that are not functions here (dtypes, constants, asarray).
    return _numpy_protocol.namespace_attr(name)


__all__ = [name for name in dir() if not name.startswith("_")]
