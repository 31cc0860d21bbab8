"""Pytrees: nested lists, tuples, dicts (and namedtuples) with arrays at the leaves.

The transforms accept and return pytrees, as JAX's do: ``tg.grad(loss)(params)`` with
``params = {"w": w, "b": b}`` returns ``{"b": db, "w": dw}``. A pytree is flattened to
its list of leaves plus a hashable *structure* that rebuilds it. ``None`` is an empty
subtree (no leaves), as in JAX; every other non-container value is a leaf.

A dict's leaves come in sorted key order, as in JAX, so two dicts with the same keys
have the same structure whatever order they were built in (a cotangent built with
``{"b": .., "a": ..}`` fits an output ``{"a": .., "b": ..}``); rebuilt dicts have
sorted keys. ``OrderedDict`` keeps its own order; ``defaultdict`` sorts too.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten",
           "TreeDef"]


class TreeDef(NamedTuple):
    """The shape of a pytree without its leaves.

    Attributes
    ----------
    kind : type or None
        ``list``, ``tuple``, ``dict``, ``OrderedDict``, ``defaultdict``, a namedtuple
        class, ``type(None)``; None for a leaf.
    meta : Any
        The keys of a dict (sorted) or an ``OrderedDict`` (in order);
        ``(default_factory, sorted keys)`` of a ``defaultdict``; None otherwise.
    children : tuple of TreeDef
        One per element.
    """

    kind: Any
    meta: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        """How many leaves a tree of this structure holds."""
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)

    def __repr__(self) -> str:
        return f"PyTreeDef({_show(self)})"


LEAF = TreeDef(None, None, ())
NONE = TreeDef(type(None), None, ())


def _show(t: TreeDef) -> str:
    if t.kind is None:
        return "*"
    if t.kind is type(None):
        return "None"
    inner = ", ".join(_show(c) for c in t.children)
    if t.kind in _DICTS:
        keys = t.meta[1] if t.kind is defaultdict else t.meta
        body = "{" + ", ".join(f"{k!r}: {_show(c)}" for k, c in zip(keys, t.children)) + "}"
        return body if t.kind is dict else f"{t.kind.__name__}({body})"
    if t.kind is list:
        return f"[{inner}]"
    if t.kind is tuple:
        return f"({inner}{',' if len(t.children) == 1 else ''})"
    return f"{t.kind.__name__}({inner})"


_DICTS = (dict, OrderedDict, defaultdict)


def _is_namedtuple(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def _sorted_keys(d: dict) -> tuple:
    """``d``'s keys sorted (as JAX orders them); insertion order if they don't compare."""
    try:
        return tuple(sorted(d))
    except TypeError:
        return tuple(d)


def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """Split ``tree`` into its leaves (depth first, dict keys sorted) and structure.

    Examples
    --------
    >>> import tapegrad as tg
    >>> leaves, treedef = tg.tree_flatten({"b": (2, None, [3]), "a": 1})
    >>> leaves
    [1, 2, 3]
    >>> tg.tree_unflatten(treedef, [10, 20, 30])
    {'a': 10, 'b': (20, None, [30])}
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(x: Any, leaves: list) -> TreeDef:
    t = type(x)
    if t is list or t is tuple or (issubclass(t, tuple) and _is_namedtuple(t)):
        return TreeDef(t, None, tuple(_flatten(c, leaves) for c in x))
    if t is dict or t is OrderedDict or t is defaultdict:
        keys = tuple(x) if t is OrderedDict else _sorted_keys(x)
        meta = (x.default_factory, keys) if t is defaultdict else keys
        return TreeDef(t, meta, tuple(_flatten(x[k], leaves) for k in keys))
    if x is None:
        return NONE
    leaves.append(x)
    return LEAF


def tree_unflatten(treedef: TreeDef, leaves: Any) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves`` (a sequence, in order)."""
    it = iter(leaves)
    out = _build(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError(f"tree_unflatten: too many leaves for {treedef!r}")
    return out


_END = object()


def _build(t: TreeDef, it) -> Any:
    if t.kind is None:
        leaf = next(it, _END)
        if leaf is _END:
            raise ValueError("tree_unflatten: too few leaves for the structure")
        return leaf
    if t.kind is type(None):
        return None
    kids = [_build(c, it) for c in t.children]
    if t.kind is dict or t.kind is OrderedDict:
        return t.kind(zip(t.meta, kids))
    if t.kind is defaultdict:
        return defaultdict(t.meta[0], zip(t.meta[1], kids))
    if t.kind is list or t.kind is tuple:
        return t.kind(kids)
    return t.kind(*kids)  # namedtuple


def tree_leaves(tree: Any) -> list:
    """The leaves of ``tree``, in flattening order."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The structure of ``tree``."""
    return tree_flatten(tree)[1]


def tree_map(fn: Callable, tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` to each leaf (and the matching leaves of ``rest``); same structure.

    Parameters
    ----------
    fn : callable
        Takes one leaf from ``tree`` and one from each tree in ``rest``.
    tree : pytree
    *rest : pytrees
        Of the same structure as ``tree``.

    Returns
    -------
    pytree
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for r in rest:
        rl, rdef = tree_flatten(r)
        if rdef != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef!r} and {rdef!r}")
        others.append(rl)
    return tree_unflatten(treedef, [fn(*xs) for xs in zip(leaves, *others)])
