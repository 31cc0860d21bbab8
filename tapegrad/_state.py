"""Per-thread recording state: grad mode, active tapes and tracing.

All of it lives in one ``ContextVar`` so that the per-operation path reads a single
object, and so that two threads (or two asyncio tasks) recording at once never see each
other's tapes.
"""

from __future__ import annotations

import contextvars
import functools
import sys
from collections.abc import Callable
from typing import Any, NamedTuple


class State(NamedTuple):
    """What the current thread is recording."""

    grad_enabled: bool = True
    tapes: tuple = ()  # active ``Tape`` objects, innermost last
    tracing: Any = None  # a compiler trace context, or None
    anomaly: bool = False  # detect_anomaly() is on
    nested: int = 0  # depth of enclosing grad transforms
    no_grad_site: Any = None  # (file, line) of the innermost user no_grad(), for explain_grad


_STATE: contextvars.ContextVar[State] = contextvars.ContextVar("tapegrad_state", default=State())  # noqa: B039 (immutable)
get_state = _STATE.get


class _StateOverride:
    """A context manager (and decorator) that swaps fields of the recording state."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: Any) -> None:
        self._fields = fields
        self._token = None

    def __enter__(self):
        self._token = _STATE.set(_STATE.get()._replace(**self._fields))
        return self

    def __exit__(self, *exc) -> None:
        _STATE.reset(self._token)

    def __call__(self, fn: Callable) -> Callable:
        fields = dict(self._fields)
        if "no_grad_site" in fields:  # a decorated function: point at its definition
            fields["no_grad_site"] = (fn.__code__.co_filename, fn.__code__.co_firstlineno)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _StateOverride(**fields):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_StateOverride):
    """Disable recording: operations inside produce tensors without ``grad_fn``.

    Usable as a context manager or a decorator, like ``torch.no_grad``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0], requires_grad=True)
    >>> with tg.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self) -> None:
        super().__init__(grad_enabled=False, no_grad_site=None)

    def __enter__(self):
        # Remember where recording was switched off, so explain_grad can point at it.
        f = sys._getframe(1)
        self._fields["no_grad_site"] = (f.f_code.co_filename, f.f_lineno)
        return super().__enter__()


class enable_grad(_StateOverride):
    """Re-enable recording inside a ``no_grad`` region (context manager or decorator)."""

    def __init__(self) -> None:
        super().__init__(grad_enabled=True, no_grad_site=None)


def set_state(**fields: Any) -> contextvars.Token:
    """Replace fields of the current state; returns a token for :func:`reset_state`."""
    return _STATE.set(_STATE.get()._replace(**fields))


def reset_state(token: contextvars.Token) -> None:
    """Undo a :func:`set_state`."""
    _STATE.reset(token)


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded."""
    return _STATE.get().grad_enabled


class set_grad_enabled:
    """Switch recording on or off, as a plain call, a context manager or a decorator.

    Like ``torch.set_grad_enabled``: calling it changes the mode at once (for the rest
    of the thread, or until changed again); used in a ``with`` block or as a decorator,
    the previous mode comes back at the end.

    Parameters
    ----------
    mode : bool
        Whether operations are recorded.

    Examples
    --------
    >>> import tapegrad as tg
    >>> x = tg.tensor([1.0], requires_grad=True)
    >>> with tg.set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    >>> (x * 2).requires_grad
    True
    """

    __slots__ = ("_mode", "_prev")

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: expected a bool, got {type(mode).__name__}")
        self._mode = mode
        st = _STATE.get()
        self._prev = (st.grad_enabled, st.no_grad_site)
        f = sys._getframe(1)
        _STATE.set(st._replace(grad_enabled=mode, no_grad_site=None if mode
                               else (f.f_code.co_filename, f.f_lineno)))

    def __enter__(self) -> set_grad_enabled:
        return self

    def __exit__(self, *exc: Any) -> None:
        enabled, site = self._prev
        _STATE.set(_STATE.get()._replace(grad_enabled=enabled, no_grad_site=site))

    def __call__(self, fn: Callable) -> Callable:
        self.__exit__()  # as a decorator, the mode applies only inside ``fn``
        override = enable_grad() if self._mode else no_grad()
        return override(fn)
