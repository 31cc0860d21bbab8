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

import typing as _typing

if _typing.TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

# Imported for their effect: Tensor's operators (_methods), in-place operators
# (_inplace), NumPy's protocols (_numpy_protocol); and the tg.fft / tg.linalg / tg.nn /
# tg.optim namespaces.
from . import _inplace, _methods, _numpy_protocol, fft, linalg, nn, optim, viz  # noqa: F401
from . import tape as _tape_module
from ._array_api import __array_namespace_info__, from_dlpack  # noqa: F401
from ._config import get_default_dtype, set_default_dtype
from ._state import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._version import __version__
from .anomaly import detect_anomaly, set_detect_anomaly
from .checkpoint import checkpoint
from .custom import custom_vjp
from .explain import explain_grad
from .gradcheck import GradcheckError, gradcheck
from .jacobian import hessian, hvp, jacfwd, jacobian, jacrev
from .node import AccumulateGrad, Node
from .primitive import Primitive, registry
from .primitives import *  # noqa: F401,F403  (NumPy-named functions)
from .pytree import (
    register_dataclass,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)
from .tape import Tape, tape
from .tensor import ConversionError, Tensor, tensor
from .transforms import grad, jvp, value_and_grad, vjp


def compile(fn: Callable | None = None, *, static_argnums: int | Sequence[int] = (),  # noqa: A001
            verify: bool = False, **options: Any) -> Any:
    """Compile ``fn`` (typically ``tg.grad(f)``) into a cached, optimised program.

    Like ``jax.jit``: the first call with a given signature records ``fn`` on a tape,
    lowers it to the compiler's IR, runs the passes and generates Python; later calls
    with a matching signature run the generated program. Without ``fn`` it returns a
    decorator (``@tg.compile(static_argnums=1)``). See the compiler page of the docs.

    Parameters
    ----------
    fn : callable, optional
        A function of arrays/tensors built from tapegrad operations.
    static_argnums : int or tuple of ints
        Arguments treated as compile-time constants (part of the cache key).
    verify : bool
        Also run ``fn`` eagerly on every call and raise ``VerificationError`` on the first
        divergence.
    **options
        ``fuse`` (default True), ``passes`` (the stages to run), ``numexpr``
        (``"auto"``, True or False), ``check`` (lint the IR after every pass) and
        ``cache_size`` (default 64).

    Returns
    -------
    CompiledFunction
        A callable with ``.source``, ``.graph``, ``.stats()``, ``.explain()``,
        ``.recompiles`` and ``.export()``; or, without ``fn``, a decorator making one.

    Examples
    --------
    >>> import numpy as np
    >>> import tapegrad as tg
    >>> fast = tg.compile(tg.grad(lambda x: (x ** 2).sum()))
    >>> fast(np.array([1.0, 2.0]))
    tensor([2., 4.], dtype=float64)
    """
    from .compiler import compile as _compile

    if fn is None:
        return lambda f: _compile(f, static_argnums=static_argnums, verify=verify, **options)
    return _compile(fn, static_argnums=static_argnums, verify=verify, **options)


def _compiler_from_checkout() -> None:
    # An install maps the top-level compiler/ folder to tapegrad.compiler. Run straight
    # from a source checkout (``python -m tapegrad`` in the repository root, where the
    # checkout's tapegrad/ shadows the installed one), a finder maps exactly that name
    # to the checkout's compiler/ -- and nothing else, so no second copy of any module.
    import importlib.abc
    import importlib.util
    import os
    import sys

    if importlib.util.find_spec(f"{__name__}.compiler") is not None:
        return
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "compiler")
    if not os.path.isfile(os.path.join(folder, "ir.py")):
        return

    class _CheckoutCompiler(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != f"{__name__}.compiler":
                return None
            return importlib.util.spec_from_file_location(
                name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])

    sys.meta_path.append(_CheckoutCompiler())


_compiler_from_checkout()


def _compile_tape(*args: Any, **kwargs: Any) -> Any:
    from .compiler.api import compile_tape  # the compiler is imported on first use

    return compile_tape(*args, **kwargs)


_tape_module.compiler["compile_tape"] = _compile_tape

__array_api_version__ = _numpy_protocol.__array_api_version__


def __array_namespace__(api_version: str | None = None):
    """tapegrad is an array-API namespace: this returns the ``tapegrad`` module."""
    return _numpy_protocol.array_namespace(None, api_version)


def __getattr__(name: str):
    # Array-API names that are not functions here (dtypes, constants, asarray).
    return _numpy_protocol.namespace_attr(name)


def _public_names() -> list[str]:
    # What ``from tapegrad import *`` gives: the functions and classes, and the tg.fft,
    # tg.linalg, tg.nn, tg.optim and tg.viz namespaces -- not the submodules imported
    # above nor the typing names.
    import types

    namespaces = ("fft", "linalg", "nn", "optim", "viz")
    return sorted(name for name, value in globals().items()
                  if not name.startswith("_") and name != "annotations"
                  and (not isinstance(value, types.ModuleType) or name in namespaces))


__all__ = _public_names()
