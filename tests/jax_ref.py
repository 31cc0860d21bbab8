"""jax as the reference, compiled: one XLA program per example instead of one per jax
operation (jax's eager dispatch compiles every operation for every new shape, which
made the op-spec tests spend most of their time in XLA's compiler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

#: Errors jax raises when a reference needs concrete values (a value-dependent shape:
#: nonzero, unique, boolean masks); those references run eagerly instead.
TRACE_ERRORS = tuple(getattr(jax.errors, n) for n in (
    "ConcretizationTypeError", "NonConcreteBooleanIndexError", "TracerArrayConversionError",
    "TracerBoolConversionError", "TracerIntegerConversionError"))

# Each example compiles a new small program: XLA's backend optimisations cost more
# than they save here.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def compiled(fn: Callable) -> Callable:
    """``fn`` compiled as one program, or run eagerly when it cannot be traced."""
    jitted = jax.jit(fn, compiler_options=FAST_COMPILE)

    def run(*args: Any) -> Any:
        try:
            return jitted(*args)
        except TRACE_ERRORS:
            return fn(*args)

    return run


def value_and_pullback(f: Callable, primals: list, ct: Any) -> tuple[Any, tuple]:
    """``(f(*primals), jax.vjp(f, *primals)[1](ct))``, computed as one program."""

    def out_and_grads(ct, *diff):
        out, pullback = jax.vjp(f, *diff)
        return out, pullback(ct)

    return compiled(out_and_grads)(ct, *primals)
