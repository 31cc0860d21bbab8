"""A recorded tape as a function of new source values (behind ``tape.compile``).

Replaying binds each recorded node's primitive again, with the sources replaced by the
function's arguments; under the compiler's trace that records the forward pass, and
the backward sweep (``create_graph``) records the gradient with the same VJP rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapegrad.backward import backward
from tapegrad.tensor import Tensor


def tape_function(tape: Any, sources: Any, target: Tensor) -> Callable:
    """``f(*new_sources) -> gradients of target`` replaying ``tape``'s records."""
    single = isinstance(sources, Tensor)
    srcs = [sources] if single else list(sources)
    for s in srcs:
        if not isinstance(s, Tensor):
            raise TypeError(f"tape.compile: sources must be tensors, got {type(s).__name__}")
    records = list(tape._records)
    if any(node.args is None for node in records):
        raise RuntimeError("tape.compile: the tape's records were freed by a gradient "
                           "call; compile before calling gradient(), or use a "
                           "persistent tape")

    def key(t: Tensor) -> Any:
        return ("leaf", id(t)) if t._node is None else (id(t._node), t._idx)

    src_keys = [key(s) for s in srcs]

    def replay(*values: Any) -> Any:
        if len(values) != len(srcs):
            raise TypeError(f"tape program: expected {len(srcs)} source values, "
                            f"got {len(values)}")
        from tapegrad.primitives import identity

        # A fresh recorded value per source, so the sweep stops exactly there.
        env = {k: identity(v) if isinstance(v, Tensor) else v
               for k, v in zip(src_keys, values)}
        new_srcs = [env[k] for k in src_keys]

        def arg(a: Any) -> Any:
            if isinstance(a, Tensor):
                got = env.get(key(a))
                # Not replayed: a constant (tape.compile refused, before tracing, any
                # value cut from the tape's sources or records: tapegrad._cuts).
                return a if got is None else got
            return a

        for node in records:
            outs = node.prim.bind(*[arg(a) for a in node.args], **node.params)
            outs = outs if node.prim.multiple_results else (outs,)
            for i, o in enumerate(outs):
                env.setdefault((id(node), i), o)
        y = env.get(key(target), target)
        if not isinstance(y, Tensor) or not y.requires_grad:
            grads = [None] * len(new_srcs)
        else:
            grads = backward([y], [None], sources=new_srcs, create_graph=True,
                             retain_graph=True)
        return grads[0] if single else list(grads)

    replay.__name__ = "tape_gradient"
    return replay
