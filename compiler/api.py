"""``tg.compile`` and ``tape.compile``: cached compiled programs you can call.

The steady-state call is small on purpose: compute the signature, one dict lookup,
then the generated program on the raw arrays (it unwraps tensors and wraps its results
itself). Everything else (tracing, lowering, the passes, code generation, guards,
``verify``) happens off that path.
"""

from __future__ import annotations

import gc
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapegrad._checks import check_callable
from tapegrad._state import _STATE
from tapegrad.backend import NUMPY, backend_of, to_numpy
from tapegrad.checkpoint import recompute_in_backward
from tapegrad.pytree import tree_unflatten
from tapegrad.tensor import Tensor

from .backends import lowering_for
from .cache import (
    LRU,
    Entry,
    describe_input,
    explain_miss,
    guard_failure,
    has_graph,
    log,
    nearest,
    signature,
    signature_kw,
)
from .codegen import generate, program_name
from .pipeline import build, describe_stages
from .trace import arg_layout, array_leaves, flat_layout

#: The keyword options :func:`compile` takes besides ``static_argnums`` and ``verify``.
_COMPILING = threading.RLock()  # one compile at a time (see CompiledFunction._compile)
OPTIONS = frozenset({"passes", "fuse", "numexpr", "check", "cache_size"})

#: Warn when guards have failed this many times: the function probably reads a value
#: (a loss for logging, say) that changes on every call.
GUARD_WARN = 8


class CompiledFunction:
    """A function compiled by :func:`compile`; call it like the original.

    Attributes
    ----------
    fn : callable
        The original function.
    recompiles : list of str
        Why each program was compiled (``"first call"``, ``"argument 0 shape
        (128, 784) -> (64, 784)"``, a failed guard ...).
    """

    def __init__(self, fn: Callable, static_argnums: Sequence[int] = (),
                 verify: bool = False, **options: Any) -> None:
        check_callable(fn, "compile")
        self.fn = fn
        self.static_argnums = _static_positions(static_argnums)
        self.verify = verify
        unknown = sorted(set(options) - OPTIONS)
        if unknown:
            raise TypeError(f"compile: unknown option(s) {', '.join(unknown)}; expected "
                            f"some of {', '.join(sorted(OPTIONS))}")
        self.cache_size = options.pop("cache_size", 64)
        if not isinstance(self.cache_size, int) or self.cache_size < 1:
            raise ValueError(f"compile: cache_size must be a positive int, got "
                             f"{self.cache_size!r}")
        self.options = options
        self.recompiles: list[str] = []
        self._cache = LRU(self.cache_size)
        self._entries = self._cache.data
        self._mru = None
        self._last: Entry | None = None
        self.__name__ = getattr(fn, "__name__", "function")
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    # -- calling ----------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            key = signature_kw(args, kwargs, self.static_argnums)
        else:
            key = signature(args, self.static_argnums)
        entries = self._entries.get(key)
        if entries is not None:
            if entries is not self._mru:  # keep the LRU order; free on repeated hits
                self._cache.get(key)
                self._mru = entries
            entry = entries[0]
            if entry.plain:
                return entry.fn(*args, **kwargs)
        return self._slow_call(key, entries, args, kwargs)

    def _slow_call(self, key: tuple, entries: list | None, args: tuple, kwargs: dict) -> Any:
        if entries is None and has_graph(key):
            return self._call_on_graph(args, kwargs)
        reason = None
        for entry in entries or ():
            reason = _value_guard_failure(entry, args, kwargs, self.static_argnums)
            if reason is not None:
                continue
            out = entry.fn(*args, **kwargs)
            if entry.guards:
                out, values = out
                reason = guard_failure(entry, values)
                if reason is not None:
                    continue
            return self._check(entry, out, args, kwargs) if self.verify else out
        if reason is None:
            reason = explain_miss(nearest(self._cache.keys(), key), key)
        elif sum(r.startswith(("guard", "input")) for r in self.recompiles) == GUARD_WARN:
            warnings.warn(
                f"compile: {self.__name__} has recompiled {GUARD_WARN} times because values "
                f"it reads in Python changed (last: {reason}); pass such values as static "
                "arguments, or compute them outside the compiled function", stacklevel=3)
        entry = self._compile(args, kwargs, reason)
        self._cache.put(key, entry)
        out = entry.fn(*args, **kwargs)
        if entry.guards:
            out, values = out
            bad = guard_failure(entry, values)
            if bad is not None:  # the function reads values it computed differently
                raise RuntimeError(f"compile: a guard fails right after tracing ({bad}); "
                                   "the function is not deterministic")
        return self._check(entry, out, args, kwargs) if self.verify else out

    def _call_on_graph(self, args: tuple, kwargs: dict) -> Any:
        """A call with tensors that carry a graph (they require grad, or are recorded
        results): the results must be differentiable, as ``fn``'s own are.

        Inside another function being compiled, ``fn`` runs inline, so its operations
        join that trace (as ``jax.jit`` inside ``jax.jit``). Otherwise the program
        computes the values from the arrays alone, and one record makes them
        differentiable: its VJP runs ``fn`` again, recorded, as :func:`tapegrad.checkpoint`
        does. Graph keys are never cached, so the fast path never sees them.
        """
        if _STATE.get().tracing is not None:
            return self.fn(*args, **kwargs)
        return recompute_in_backward(self.fn, self, self.__name__, args, kwargs)

    # -- compiling --------------------------------------------------------------
    def _compile(self, args: tuple, kwargs: dict, reason: str) -> Entry:
        # Compiling makes many small objects and no garbage cycles worth collecting;
        # the cyclic collector would rescan them again and again (superlinear on long
        # tapes), so it waits until the program is built. One compile at a time in the
        # process: threads calling compiled functions for the first time at once (Dask's
        # threaded scheduler) would otherwise switch the collector back on under each
        # other. Compiling holds the GIL throughout, so nothing is lost by waiting.
        with _COMPILING:
            enabled = gc.isenabled()
            gc.disable()
            try:
                return self._compile_now(args, kwargs, reason)
            finally:
                if enabled:
                    gc.enable()

    def _compile_now(self, args: tuple, kwargs: dict, reason: str) -> Entry:
        if self.static_argnums and max(self.static_argnums) >= len(args):
            raise TypeError(
                f"compile: {self.__name__} has static_argnums "
                f"{sorted(self.static_argnums)} but was called with {len(args)} "
                "positional argument(s)")
        opts = dict(self.options)
        t0 = time.perf_counter()
        built = build(self.fn, args, kwargs, static_argnums=self.static_argnums,
                      options=opts)
        tr, low, opt = built.trace, built.lowered, built.optimized
        t3 = time.perf_counter()
        be = backend_of(tr.inputs[0].data) if tr.inputs else NUMPY
        lowering = lowering_for(be, numexpr=opts.get("numexpr", "auto"),
                                device=getattr(tr.inputs[0].data, "device", None)
                                if tr.inputs else None)
        in_structures, flat_args = program_layouts(args, kwargs, self.static_argnums)
        out_structure = tr.out_structure
        if out_structure is None:  # a result the program cannot spell: rebuilt from flat
            out_structure = flat_layout(tr.out_leaves, arrays_only=False)
        name = program_name(self.__name__)
        prog = generate(opt.graph, lowering, in_structures=in_structures,
                        out_structure=out_structure, n_results=low.n_results, name=name,
                        check=opts.get("check", False))
        fn = prog.fn
        if flat_args or tr.out_structure is None:
            fn = _pytree_call(fn, flat_args, None if tr.out_structure is not None
                              else tr.out_treedef, bool(low.guards))
        t4 = time.perf_counter()
        times = {**built.times, "codegen": t4 - t3}
        guard_names = []
        for t, _ in tr.reads:
            guard_names.append(f" (value of a {getattr(t._node, 'prim', None).name} result)"
                               if t._node is not None and t._node is not tr.marker else "")
        info = {
            "reason": reason, "lowered": low, "optimized": opt, "program": prog,
            "times": times, "compile_seconds": t4 - t0, "backend": be.name,
            "lowering": lowering,
            "signature": [describe_input(a) for a in args], "guard_names": guard_names,
            "peak_bytes": prog.plan.peak_bytes,  # the plan the program follows
        }
        entry = Entry(fn, low.guards, low.value_guards, info)
        entry.plain = not (entry.guards or entry.value_guards or self.verify)
        self.recompiles.append(reason)
        log.info("compile %s: %s (%.1f ms)", self.__name__, reason, (t4 - t0) * 1e3)
        self._last = entry
        return entry

    def _check(self, entry: Entry, out: Any, args: tuple, kwargs: dict) -> Any:
        from .verify import verify_call

        verify_call(self, entry, out, args, kwargs)
        return out

    # -- showing itself ---------------------------------------------------------
    @property
    def cache_entries(self) -> int:
        """Number of compiled programs held."""
        return len(self._cache)

    def latest(self) -> Entry:
        """The most recently compiled entry (call the function first)."""
        if self._last is None:
            raise RuntimeError(f"{self.__name__} has not been compiled yet: call it first")
        return self._last

    @property
    def source(self) -> str:
        """The Python source of the latest program."""
        return self.latest().info["program"].source

    @property
    def graph(self):
        """The optimised graph of the latest program."""
        return self.latest().info["optimized"].graph

    def stats(self) -> dict:
        """Numbers about the latest program (see :meth:`explain`)."""
        info = self.latest().info
        opt = info["optimized"]
        return {
            "eqns": describe_stages(opt.stages),
            "fused_groups": sum(1 for e in opt.graph.eqns
                                if getattr(e.prim, "body", None) is not None),
            "fusion": list(info["program"].notes),
            "planned_peak_bytes": info["peak_bytes"],
            "compile_ms": round(info["compile_seconds"] * 1e3, 2),
            "compile_ms_by_step": {k: round(v * 1e3, 2) for k, v in info["times"].items()},
            "cache_entries": self.cache_entries,
            "guards": len(self.latest().guards) + len(self.latest().value_guards),
            "recompiles": list(self.recompiles),
        }

    def export(self, path: Any, *example_args: Any, **example_kwargs: Any) -> Any:
        """Write a standalone NumPy module for this signature (see :mod:`.export`)."""
        from .export import export

        return export(self, path, *example_args, **example_kwargs)

    def explain(self, passes: bool = True) -> str:
        """The latest program: IR before and after each pass, its source, and stats."""
        from .report import explain

        return explain(self, passes=passes)

    def __str__(self) -> str:
        if self._last is None:
            return f"<compiled {self.__name__} (not called yet)>"
        return self.explain()

    def __repr__(self) -> str:
        return f"<compiled {self.__name__}: {self.cache_entries} cache entries>"


def program_layouts(args: tuple, kwargs: dict, static: frozenset) -> tuple[tuple, tuple]:
    """How a program takes each argument: ``((keyword or None, layout), ...)`` for code
    generation, and the arguments passed as the flat tuple of their array leaves
    (positions, and keyword names)."""
    layouts, flat = [], []
    for i, a in enumerate(args):
        if i in static:
            layouts.append((None, None))
            continue
        lay, is_flat = arg_layout(a)
        layouts.append((None, lay))
        if is_flat:
            flat.append(i)
    for k, v in kwargs.items():
        lay, is_flat = arg_layout(v)
        layouts.append((k, lay))
        if is_flat:
            flat.append(k)
    return tuple(layouts), tuple(flat)


def _pytree_call(prog: Callable, flat: tuple, out_treedef: Any, guards: bool) -> Callable:
    """``prog`` called on pytree arguments: those in ``flat`` (positions, keyword names)
    are passed as their array leaves, and a result returned flat is rebuilt with
    ``out_treedef`` (None: the program builds it)."""
    positions = [i for i in flat if type(i) is int]
    names = [k for k in flat if type(k) is str]

    def call(*args: Any, **kwargs: Any) -> Any:
        if positions:
            args = list(args)
            for i in positions:
                args[i] = array_leaves(args[i])
        for k in names:
            kwargs[k] = array_leaves(kwargs[k])
        out = prog(*args, **kwargs)
        if out_treedef is None:
            return out
        if guards:
            out, values = out
            return tree_unflatten(out_treedef, out), values
        return tree_unflatten(out_treedef, out)

    call.__wrapped__ = prog
    return call


def _value_guard_failure(entry: Entry, args: tuple, kwargs: dict,
                         static: frozenset) -> str | None:
    if not entry.value_guards:
        return None
    leaves: list = []
    for i, a in enumerate(args):
        if i not in static:
            leaves += array_leaves(a)
    for v in kwargs.values():
        leaves += array_leaves(v)
    for pos, want in entry.value_guards:
        got = leaves[pos]
        got = to_numpy(got.data if isinstance(got, Tensor) else got)
        if got.shape != want.shape or not np.array_equal(got, want):
            return (f"input {pos} is used as an index, so its value is part of the "
                    "program, and it changed")
    return None


def _static_positions(static_argnums: Any) -> frozenset:
    """``static_argnums`` as a set of non-negative ints, or a clear error."""
    items = (static_argnums,) if isinstance(static_argnums, (int, np.integer)) \
        else static_argnums
    try:
        items = tuple(items)
    except TypeError:
        items = (static_argnums,)
    for i in items:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"compile: static_argnums must be ints, got {i!r}")
        if i < 0:
            raise ValueError(f"compile: static_argnums must be non-negative positions, "
                             f"got {i}")
    return frozenset(int(i) for i in items)


def compile(fn: Callable | None = None, static_argnums: Sequence[int] = (),  # noqa: A001
            verify: bool = False, **options: Any) -> Any:
    """Compile ``fn`` into a cached, optimised program (like ``jax.jit``).

    Parameters
    ----------
    fn : callable
        A function of arrays and tensors built from tapegrad operations, typically
        ``tg.grad(f)`` or ``tg.value_and_grad(f)``.
    static_argnums : int or sequence of int
        Positional arguments that are compile-time constants (hashable; part of the
        cache key). Python numbers are always treated this way.
    verify : bool
        Also run ``fn`` eagerly on each call; raise :class:`VerificationError` naming
        the first diverging equation when the results differ.
    **options
        ``passes`` (stage names to run), ``fuse`` (bool), ``numexpr`` (``"auto"``,
        True, False), ``check`` (lint after each pass), ``cache_size`` (entries).

    Returns
    -------
    CompiledFunction

    Examples
    --------
    >>> import numpy as np, tapegrad as tg
    >>> f = tg.compile(tg.grad(lambda x: (x * x).sum()))
    >>> f(np.array([1.0, 2.0]))
    tensor([2., 4.], dtype=float64)
    """
    if fn is None:
        return lambda f: CompiledFunction(f, static_argnums, verify, **options)
    return CompiledFunction(fn, static_argnums, verify, **options)


def compile_tape(tape: Any, sources: Any, target: Tensor, **options: Any) -> CompiledFunction:
    """A reusable gradient program from a recorded tape (``t.compile(sources, target)``).

    The result takes new values for ``sources`` (positionally, in order) and returns
    the gradient of ``target`` with respect to each, shaped like ``sources`` (a single
    tensor or a list). The recorded operations are replayed on traced values, so the
    program is compiled per shape and dtype like any other.
    """
    from tapegrad._cuts import refuse_stale_values

    from .replay import tape_function

    fn = tape_function(tape, sources, target)
    # Exact (tapegrad._cuts holds every live cut value): refuse before compiling.
    refuse_stale_values(tape._records, [sources] if isinstance(sources, Tensor)
                        else list(sources))
    return CompiledFunction(fn, (), options.pop("verify", False), **options)
