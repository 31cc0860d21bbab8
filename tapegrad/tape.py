"""``with tg.tape() as t:`` — a scoped recording, like TensorFlow's GradientTape.

Operations record a :class:`~tapegrad.node.Node` when an argument requires grad; while
a tape is active, each new node is also appended to the tape's Wengert list. The tape
then answers ``t.gradient(target, sources)`` without touching any ``.grad``.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from . import _checks
from ._printing import format_records
from ._state import _STATE, reset_state, set_state
from .backend import is_floating
from .backward import backward
from .primitive import _user_site
from .primitives import reshape, stack, zeros, zeros_like
from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor

#: ``"compile_tape"``: registered by the package (``tapegrad/__init__.py``), which sits
#: above the compiler; the engine does not import it.
compiler: dict[str, Any] = {}


class Tape:
    """A recording scope. Use through :func:`tape`.

    Parameters
    ----------
    persistent : bool
        Allow more than one :meth:`gradient` call. A non-persistent tape frees its
        records (and their saved values) after the first call.
    """

    def __init__(self, persistent: bool = False) -> None:
        self.persistent = persistent
        self._records: list = []
        self._watched: list[Tensor] = []
        self._restore: list[Tensor] = []
        self._token = None
        self._used = False
        self.reads: list[str] = []  # where Python read tensor values while recording

    # -- context manager ----------------------------------------------------------
    def on_read(self) -> None:
        """Python read a tensor's value while this tape recorded (see :meth:`compile`)."""
        self.reads.append(_user_site())

    def __enter__(self) -> Tape:
        st = _STATE.get()
        self._token = set_state(tapes=st.tapes + (self,))
        return self

    def __exit__(self, *exc) -> None:
        reset_state(self._token)
        self._token = None
        # Watched constants stop requiring grad with the block; gradient() turns them
        # back on for its sweep, so the records made inside still reach them.
        for t in self._restore:
            if t._node is None:
                t._rg = False

    @property
    def recording(self) -> bool:
        """Whether the ``with`` block is still open."""
        return self._token is not None

    # -- sources ------------------------------------------------------------------
    def watch(self, *tensors: Tensor) -> None:
        """Make ``tensors`` sources: operations on them are recorded from now on.

        Tensors with ``requires_grad=True`` are watched automatically. Watching a
        constant leaf turns on its ``requires_grad`` for the rest of the block (it is
        restored when the block ends).
        """
        for t in _flatten(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"tape.watch: expected tensors, got {type(t).__name__}")
            if not t.requires_grad:
                if not is_floating(t.data.dtype):
                    raise TypeError(f"tape.watch: only floating-point tensors can be "
                                    f"watched, got dtype {t.dtype}")
                t.requires_grad = True
                self._restore.append(t)
            self._watched.append(t)

    def watched(self) -> list[Tensor]:
        """The tensors passed to :meth:`watch`."""
        return list(self._watched)

    # -- gradients ----------------------------------------------------------------
    def gradient(self, target: Tensor, sources: Any, output_gradient: Any = None,
                 unconnected: str = "none"):
        """Gradient of ``target`` with respect to ``sources``.

        Parameters
        ----------
        target : Tensor
            What to differentiate (one element, or give ``output_gradient``).
        sources : Tensor, or a list, tuple or dict of tensors (nested)
            Where to take gradients; the result has the same structure.
        output_gradient : array-like, optional
            The gradient of some scalar with respect to ``target``.
        unconnected : {"none", "zero"}
            What a source with no path to ``target`` gets.

        Returns
        -------
        Tensor, list or tuple
            Gradients shaped like ``sources``. When an enclosing tape is recording,
            the gradient computation itself is recorded on it (nested tapes give
            second derivatives).
        """
        srcs, treedef = self._sources("gradient", sources, unconnected)
        if not (target is None or isinstance(target, Tensor) or _checks.backend_or_none(target)
                is not None or isinstance(target, (int, float))):
            raise TypeError(f"tape.gradient: the target must be a tensor, got "
                            f"{type(target).__name__}")
        with self._sweep() as create_graph:
            if isinstance(target, Tensor) and target.requires_grad:
                grads = backward([target], [output_gradient], sources=srcs,
                                 retain_graph=self.persistent or create_graph,
                                 create_graph=create_graph)
            else:
                grads = [None] * len(srcs)
        if unconnected == "zero":
            grads = [zeros_like(s) if g is None else g for s, g in zip(srcs, grads)]
        if not self.persistent:
            self._release()
        return tree_unflatten(treedef, list(grads))

    def jacobian(self, target: Tensor, sources: Any, unconnected: str = "none"):
        """Jacobian of ``target`` with respect to ``sources``, as TensorFlow's
        ``GradientTape.jacobian``.

        One backward sweep per element of ``target`` (the functional
        :func:`tapegrad.jacobian` / :func:`tapegrad.jacfwd` are the faster choice when
        the function can be called again).

        Parameters
        ----------
        target : Tensor
            Any shape.
        sources : Tensor, or a list, tuple or dict of tensors (nested)
            Where to take derivatives; the result has the same structure.
        unconnected : {"none", "zero"}
            What a source with no path to ``target`` gets.

        Returns
        -------
        Tensor, or the structure of ``sources``
            For each source, shape ``target.shape + source.shape``.

        Examples
        --------
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> with tg.tape() as t:
        ...     y = x * x
        >>> t.jacobian(y, x)
        tensor([[2., 0.],
                [0., 4.]])
        """
        if not isinstance(target, Tensor):
            raise TypeError(f"tape.jacobian: the target must be a tensor, got "
                            f"{type(target).__name__}")
        srcs, treedef = self._sources("jacobian", sources, unconnected)
        n = target.size
        rows: list[list] = [[] for _ in srcs]
        with self._sweep() as create_graph:
            if target.requires_grad:
                flat = zeros_like(target).data.reshape(-1)  # the target's backend
                for i in range(n):
                    seed = flat.copy()
                    seed[i] = 1
                    grads = backward([target], [seed.reshape(target.shape)], sources=srcs,
                                     retain_graph=True, create_graph=create_graph)
                    for k, g in enumerate(grads):
                        rows[k].append(g)
        out = []
        for s, r in zip(srcs, rows):
            shape = tuple(target.shape) + tuple(s.shape)
            if not r or all(g is None for g in r):
                out.append(None if unconnected == "none" else zeros(shape, dtype=s.dtype))
                continue
            r = [zeros_like(s) if g is None else g for g in r]
            out.append(reshape(stack(r), shape))
        if not self.persistent:
            self._release()
        return tree_unflatten(treedef, out)

    def _sources(self, what: str, sources: Any, unconnected: str) -> tuple[list, Any]:
        """The checks ``gradient`` and ``jacobian`` share: the flat sources and structure."""
        if unconnected not in ("none", "zero"):
            raise ValueError(f"tape.{what}: unconnected must be 'none' or 'zero', "
                             f"got {unconnected!r}")
        if self._used and not self.persistent:
            raise RuntimeError(
                f"tape.{what}: a non-persistent tape can only compute one gradient or "
                "Jacobian; its records were released. Use tg.tape(persistent=True) for "
                "several calls.")
        srcs, treedef = tree_flatten(sources)
        for s in srcs:
            if not isinstance(s, Tensor):
                raise TypeError(f"tape.{what}: sources must be a tensor or a list, tuple "
                                f"or dict of tensors, got {type(s).__name__}")
        return srcs, treedef

    @contextlib.contextmanager
    def _sweep(self):
        """Mark the tape used; the watched constants require grad during the sweeps.

        Yields whether to record the sweeps: when an enclosing tape is still recording
        (nested tapes give second derivatives).
        """
        self._used = True
        outer = [tp for tp in _STATE.get().tapes if tp is not self]
        off = [t for t in self._restore if not t._rg and t._node is None]
        for t in off:
            t._rg = True
        try:
            yield bool(outer) and _STATE.get().grad_enabled
        finally:
            for t in off:
                t._rg = False

    def _release(self) -> None:
        for t in self._restore:
            if t._node is None:
                t._rg = False
        self._restore.clear()
        self._records = []

    # -- the Wengert list ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self):
        return iter(self._records)

    def __str__(self) -> str:
        return format_records(self._records)

    def __repr__(self) -> str:
        kind = " (persistent)" if self.persistent else ""
        return f"<Tape with {len(self._records)} records{kind}>"

    def compile(self, sources, target, **options):
        """Turn this recording into a reusable compiled gradient program.

        The program takes new values for ``sources`` (in order) and returns the
        gradient of ``target`` with respect to each. See :mod:`tapegrad.compiler`.

        The recorded operations are replayed as they were recorded: a choice the Python
        code made from values (a branch on ``x.sum() > 0``, an index such as
        ``x[tg.argmax(x)]``) is fixed in the program. When values were read while
        recording, this warns; ``tg.compile(fn)`` guards such reads instead.
        """
        if self.reads:
            warnings.warn(
                f"tape.compile: Python read tensor values {len(self.reads)} time(s) while "
                f"this tape recorded (first at {self.reads[0]}); the program replays the "
                "recorded operations, so a branch or an index chosen from those values "
                "stays as recorded. Compile the function with tg.compile(fn) instead: it "
                "checks such values on every call", stacklevel=2)
        if "compile_tape" not in compiler:
            raise RuntimeError("tape.compile: no compiler is registered; import tapegrad "
                               "(the package registers tapegrad.compiler)")
        return compiler["compile_tape"](self, sources, target, **options)


def tape(persistent: bool = False) -> Tape:
    """Open a recording scope, like TensorFlow's ``GradientTape``.

    Examples
    --------
    >>> import tapegrad as tg
    >>> x = tg.tensor(3.0, requires_grad=True)
    >>> with tg.tape() as t:
    ...     y = x * x
    >>> t.gradient(y, x)
    tensor(6.)
    """
    return Tape(persistent=persistent)


def _flatten(items):
    for t in items:
        if isinstance(t, (list, tuple)):
            yield from _flatten(t)
        else:
            yield t
