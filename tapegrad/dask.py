"""Data-parallel gradients on Dask: :func:`value_and_grad` over chunked data.

The data arguments are Dask arrays chunked along axis 0 (the sample axis). Each chunk's
value and gradient is computed by the compiled program ``tg.compile(tg.value_and_grad(
fun, argnums))``, compiled once per worker process and chunk shape and cached there;
the per-chunk results are summed by a tree of tasks on the cluster, so only one
parameter-sized result reaches the caller. The parameters travel once per call: with a
``dask.distributed`` client they are scattered to every worker (``broadcast=True``),
with the local schedulers they are one key of the task graph.

Nothing here schedules work: the graph is handed to Dask's own schedulers (threads,
processes, or a ``dask.distributed`` cluster), so their fault tolerance applies. A worker
that dies mid-call loses its tasks, the scheduler runs them again elsewhere, and as every
task is pure and each chunk is one key of the graph, a retried chunk counts exactly once.

Dask is an optional dependency (``pip install "tapegrad[dask]"``); ``import tapegrad``
never imports this module, and this module imports Dask only when a function is called.
"""

from __future__ import annotations

import functools
import inspect
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .pytree import tree_flatten, tree_unflatten
from .tensor import Tensor, tensor

__all__ = ["value_and_grad"]

_NAME = "tapegrad.dask.value_and_grad"

#: How many compiled gradient functions a worker process keeps (least recently used go).
CACHE_SIZE = 32

#: Worker-side cache: function token -> compiled ``value_and_grad`` (each of which keeps
#: one program per chunk shape and dtype).
_PROGRAMS: OrderedDict[str, Any] = OrderedDict()
#: The (token, signature) pairs whose program has been compiled in this process.
_SEEN: set = set()
_LOCK = threading.Lock()


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, *,
                   batch_argnums: int | Sequence[int], reduce: str = "mean",
                   client: Any = None, split_every: int = 8) -> Callable:
    """The value and gradient of a loss summed or averaged over chunked Dask data.

    Parameters
    ----------
    fun : callable
        The loss of one chunk: a scalar built from tapegrad operations, either the mean
        over the chunk's samples (``reduce="mean"``) or their sum (``reduce="sum"``).
    argnums : int or tuple of ints
        The arguments to differentiate (arrays or pytrees of arrays: dicts, lists,
        tuples). They are sent to the workers once per call, with every other argument
        that is not a batch argument.
    batch_argnums : int or tuple of ints
        The data arguments: Dask arrays (or objects with ``.to_dask_array()``, such as
        Dask DataFrames) with the samples along axis 0. All must have the same chunks
        along axis 0; chunks along other axes are joined.
    reduce : {"mean", "sum"}
        How ``fun`` reduces over samples. With ``"mean"`` each chunk is weighted by its
        number of samples, so the result is the mean over all the data.
    client : distributed.Client, optional
        The cluster to run on. None uses Dask's current scheduler: the default
        ``distributed`` client if one is active, else the scheduler set with
        ``dask.config.set(scheduler=...)`` (threads by default).
    split_every : int
        How many partial results each task of the reduction tree sums (at least 2).

    Returns
    -------
    callable
        Takes ``fun``'s arguments and returns ``(value, grads)``, equal (up to rounding)
        to ``tg.value_and_grad(fun, argnums)`` on the concatenated data: ``value`` a 0-d
        tensor, ``grads`` structured like the differentiated arguments (a tuple of them
        when ``argnums`` is a tuple).

    Raises
    ------
    ValueError
        When the batch arguments are chunked differently along axis 0 (the message
        names them and their chunks), have unknown chunk sizes, or hold no samples.
    ImportError
        When Dask is not installed.

    Notes
    -----
    Chunks with no samples are skipped. Each worker process compiles ``fun`` once per
    chunk shape (typically two shapes: the regular chunks and the last one) and keeps
    the programs between calls. The local ``processes`` scheduler starts new processes
    on every call, so only threads and ``distributed`` workers keep them. See
    ``docs/scaling.md`` for training loops, out-of-core data and costs.

    Examples
    --------
    A logistic regression over two chunks, on the threaded scheduler::

        import dask.array as da
        import numpy as np
        import tapegrad as tg
        import tapegrad.dask

        def loss(w, X, y):
            return tg.mean(tg.log1p(tg.exp(-y * (X @ w))))

        vg = tapegrad.dask.value_and_grad(loss, batch_argnums=(1, 2))
        X = da.random.standard_normal((1000, 5), chunks=(500, 5))
        y = da.sign(X[:, 0])
        value, grad = vg(np.zeros(5), X, y)
    """
    if not callable(fun):
        raise TypeError(f"{_NAME}: fun must be callable, got {type(fun).__name__}")
    nums = _positions(argnums, "argnums")
    bnums = _positions(batch_argnums, "batch_argnums")
    if not bnums:
        raise ValueError(f"{_NAME}: batch_argnums must name at least one data argument")
    both = sorted(set(nums) & set(bnums))
    if both:
        raise ValueError(f"{_NAME}: argument(s) {both} are in both argnums and batch_argnums; "
                         "the data arguments are not differentiated")
    if reduce not in ("mean", "sum"):
        raise ValueError(f"{_NAME}: reduce must be 'mean' or 'sum', got {reduce!r}")
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"{_NAME}: split_every must be an int of at least 2, got "
                         f"{split_every!r}")
    token = f"{getattr(fun, '__name__', 'fun')}-{uuid.uuid4().hex}"
    names = _parameter_names(fun)
    spec = (token, fun, nums, reduce == "mean")

    @functools.wraps(fun)
    def dask_value_and_grad(*args: Any, **kwargs: Any) -> tuple:
        return _call(spec, bnums, isinstance(argnums, (tuple, list)), names, client,
                     split_every, args, kwargs)

    dask_value_and_grad.__name__ = f"dask_value_and_grad({getattr(fun, '__name__', 'fun')})"
    return dask_value_and_grad


# -- on the caller's side ----------------------------------------------------------
def _positions(nums: Any, what: str) -> tuple[int, ...]:
    items = (nums,) if isinstance(nums, (int, np.integer)) else nums
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{_NAME}: {what} must be an int or a tuple of ints, got "
                        f"{nums!r}") from None
    for i in items:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0:
            raise TypeError(f"{_NAME}: {what} must hold non-negative ints, got {i!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"{_NAME}: {what} has repeated positions: {items}")
    return tuple(int(i) for i in items)


def _parameter_names(fun: Callable) -> list[str]:
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _label(i: int, names: list[str]) -> str:
    return f"{names[i]} (argument {i})" if i < len(names) else f"argument {i}"


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as e:
        raise ImportError(f"{_NAME} needs Dask: pip install 'tapegrad[dask]' (dask[array] "
                          f"and distributed); {e}") from e
    return dask, da


def _short(i: int, names: list[str]) -> str:
    return names[i] if i < len(names) else f"args[{i}]"


def _as_dask_array(x: Any, label: str, da: Any) -> Any:
    """A batch argument as a Dask array with whole rows in each chunk."""
    if not isinstance(x, da.Array) and hasattr(x, "to_dask_array"):
        try:
            x = x.to_dask_array(lengths=True)
        except TypeError:
            x = x.to_dask_array()
    if not isinstance(x, da.Array):
        raise TypeError(f"{_NAME}: batch argument {label} must be a Dask array (or have "
                        f".to_dask_array()), got {type(x).__name__}; wrap NumPy data with "
                        "dask.array.from_array(x, chunks=...)")
    if x.ndim == 0:
        raise ValueError(f"{_NAME}: batch argument {label} must have a sample axis 0, got "
                         "a 0-d array")
    if any(np.isnan(c) for c in x.chunks[0]):
        raise ValueError(f"{_NAME}: batch argument {label} has unknown chunk sizes along "
                         "axis 0; call .compute_chunk_sizes() first (or "
                         ".to_dask_array(lengths=True))")
    if any(n > 1 for n in x.numblocks[1:]):  # fun needs whole samples
        x = x.rechunk({ax: -1 for ax in range(1, x.ndim)})
    return x


def _check_aligned(arrays: dict[int, Any], names: list[str]) -> tuple[int, ...]:
    (first, a), *rest = arrays.items()
    for i, b in rest:
        if b.chunks[0] != a.chunks[0]:
            raise ValueError(
                f"{_NAME}: the batch arguments must have the same chunks along axis 0 "
                f"(the sample axis), but {_label(first, names)} has chunks "
                f"{tuple(a.chunks[0])} ({a.shape[0]} rows) and {_label(i, names)} has "
                f"chunks {tuple(b.chunks[0])} ({b.shape[0]} rows); rechunk them alike, "
                f"e.g. {_short(i, names)}.rechunk({{0: {_short(first, names)}.chunks[0]}})")
    return tuple(int(c) for c in a.chunks[0])


def _plain(x: Any) -> Any:
    """A broadcast argument with its tensors as NumPy arrays (what workers receive)."""
    leaves, treedef = tree_flatten(x)
    if not any(isinstance(v, (Tensor, np.generic)) for v in leaves):
        return x
    # NumPy scalars as 0-d arrays: a step ``p - lr * g`` on a 0-d parameter gives a
    # scalar, which would otherwise compile a second program for the same shapes.
    return tree_unflatten(treedef, [v.numpy() if isinstance(v, Tensor) else
                                    np.asarray(v) if isinstance(v, np.generic) else v
                                    for v in leaves])


def _current_client() -> Any:
    """The ``distributed`` client Dask would use now, or None (a local scheduler)."""
    import dask.base

    try:
        from distributed import default_client
    except ImportError:
        return None
    scheduler = dask.base.get_scheduler()
    if scheduler is None:
        return None
    try:
        c = default_client()
    except ValueError:
        return None
    return c if scheduler == c.get else None


def _call(spec: tuple, bnums: tuple, many: bool, names: list[str], client: Any,
          split_every: int, args: tuple, kwargs: dict) -> tuple:
    dask, da = _import_dask()
    token, _, nums, mean = spec
    need = max(nums + bnums) + 1
    if len(args) < need:
        raise TypeError(f"{_NAME}: argnums {nums} and batch_argnums {bnums} need at least "
                        f"{need} positional arguments, got {len(args)}")
    batch = {i: _as_dask_array(args[i], _label(i, names), da) for i in bnums}
    sizes = _check_aligned(batch, names)
    total = sum(sizes)
    if total == 0:
        raise ValueError(f"{_NAME}: the batch arguments hold no samples (shape "
                         f"{batch[bnums[0]].shape}); there is nothing to reduce over")
    shared_args = [None if i in batch else _plain(a) for i, a in enumerate(args)]
    treedefs = [tree_flatten(shared_args[i])[1] for i in nums]
    bundle = (spec, tuple(shared_args), {k: _plain(v) for k, v in kwargs.items()})
    call = uuid.uuid4().hex
    if client is None:
        client = _current_client()
    if client is not None:
        [shared] = client.scatter([bundle], broadcast=True, hash=False)
    else:
        shared = dask.delayed(bundle, name=f"tapegrad-params-{call}", traverse=False)
    blocks = {i: x.to_delayed().ravel() for i, x in batch.items()}
    chunk = dask.delayed(_chunk, pure=True)
    parts = [chunk(shared, bnums, *(blocks[i][k] for i in bnums),
                   dask_key_name=f"tapegrad-chunk-{call}-{k}")
             for k, n in enumerate(sizes) if n > 0]
    combine = dask.delayed(_combine, pure=True)
    level = 0
    while len(parts) > 1:
        parts = [combine(*parts[j:j + split_every],
                         dask_key_name=f"tapegrad-sum-{call}-{level}-{j // split_every}")
                 for j in range(0, len(parts), split_every)]
        level += 1
    if client is not None:
        value, leaves = client.compute(parts[0]).result()
    else:
        (value, leaves), = dask.compute(parts[0])
    if mean:
        value = value / total
        leaves = [g / total for g in leaves]
    grads, k = [], 0
    for treedef in treedefs:
        n = treedef.num_leaves
        grads.append(tree_unflatten(treedef, [tensor(g) for g in leaves[k:k + n]]))
        k += n
    return tensor(np.asarray(value)), tuple(grads) if many else grads[0]


# -- on the workers ----------------------------------------------------------------
def _program(token: str, fun: Callable, nums: tuple) -> Any:
    """This process's compiled ``value_and_grad`` of ``fun`` (compiled on first use)."""
    with _LOCK:
        prog = _PROGRAMS.get(token)
        if prog is None:
            import tapegrad as tg

            prog = tg.compile(tg.value_and_grad(fun, argnums=nums))
            _PROGRAMS[token] = prog
            while len(_PROGRAMS) > CACHE_SIZE:
                old, _ = _PROGRAMS.popitem(last=False)
                _SEEN.difference_update({s for s in _SEEN if s[0] == old})
        else:
            _PROGRAMS.move_to_end(token)
    return prog


def _signature(token: str, args: list, kwargs: dict) -> tuple:
    leaves = tree_flatten((args, kwargs))[0]
    return (token, tuple((v.shape, v.dtype.str) if hasattr(v, "dtype") else
                         (type(v).__name__, v if isinstance(v, (int, float, str)) else None)
                         for v in leaves))


def _chunk(shared: tuple, bnums: tuple, *batch: Any) -> tuple:
    """One chunk's (weighted) value and flat gradient leaves, as NumPy arrays."""
    (token, fun, nums, mean), args, kwargs = shared
    args = list(args)
    for i, b in zip(bnums, batch):
        args[i] = np.asarray(b)
    prog = _program(token, fun, nums)
    sig = _signature(token, args, kwargs)
    if sig in _SEEN:
        value, grads = prog(*args, **kwargs)
    else:  # compiling: one thread at a time per process
        with _LOCK:
            value, grads = prog(*args, **kwargs)
            _SEEN.add(sig)
    value = np.asarray(value.numpy() if isinstance(value, Tensor) else value)
    # nums is a tuple, so grads is a tuple of pytrees: its leaves, in order.
    leaves = [np.asarray(g.numpy() if isinstance(g, Tensor) else g)
              for g in tree_flatten(grads)[0]]
    if mean:
        n = args[bnums[0]].shape[0]
        value = value * n
        leaves = [g * n for g in leaves]
    return value, leaves


def _combine(*parts: tuple) -> tuple:
    """The sum of partial ``(value, leaves)`` results, in order."""
    value, leaves = parts[0]
    leaves = list(leaves)
    for v, ls in parts[1:]:
        value = value + v
        leaves = [a + b for a, b in zip(leaves, ls)]
    return value, leaves


def _cache_info() -> dict[str, int]:
    """This process's compiled functions: token -> number of cached programs."""
    with _LOCK:
        return {token: prog.cache_entries for token, prog in _PROGRAMS.items()}


def _clear_cache() -> None:
    """Forget this process's compiled programs."""
    with _LOCK:
        _PROGRAMS.clear()
        _SEEN.clear()
