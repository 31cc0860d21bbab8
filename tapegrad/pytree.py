"""Pytrees: nested lists, tuples, dicts (and namedtuples) with arrays at the leaves.

The transforms accept and return pytrees, as JAX's do: ``tg.grad(loss)(params)`` with
``params = {"w": w, "b": b}`` returns ``{"w": dw, "b": db}``. A pytree is flattened to
its list of leaves plus a hashable *structure* that rebuilds it. ``None`` is an empty
subtree (no leaves), as in JAX; every other non-container value is a leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten",
           "TreeDef"]


class TreeDef(NamedTuple):
    """The shape of a pytree without its leaves.

    Attributes
    ----------
    kind : type or None
        ``list``, ``tuple``, ``dict``, a namedtuple class, ``type(None)``; None for a leaf.
    meta : Any
        The dict's keys (in insertion order); None otherwise.
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
    if t.kind is dict:
        return "{" + ", ".join(f"{k!r}: {_show(c)}" for k, c in zip(t.meta, t.children)) + "}"
    if t.kind is list:
        return f"[{inner}]"
    if t.kind is tuple:
        return f"({inner}{',' if len(t.children) == 1 else ''})"
    return f"{t.kind.__name__}({inner})"


def _is_namedtuple(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """Split ``tree`` into its leaves (depth first, dict keys in order) and structure.

    Examples
    --------
    >>> import tapegrad as tg
    >>> leaves, treedef = tg.tree_flatten({"a": 1, "b": (2, None, [3])})
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
    if t is dict:
        keys = tuple(x)
        return TreeDef(dict, keys, tuple(_flatten(x[k], leaves) for k in keys))
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
    if t.kind is dict:
        return dict(zip(t.meta, kids))
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
