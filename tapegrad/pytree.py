"""Pytrees: nested lists, tuples, dicts, namedtuples and registered classes with arrays
at the leaves.

The transforms accept and return pytrees, as JAX's do: ``tg.grad(loss)(params)`` with
``params = {"w": w, "b": b}`` returns ``{"b": db, "w": dw}``. A pytree is flattened to
its list of leaves plus a hashable *structure* (:class:`TreeDef`) that rebuilds it.
``None`` is an empty subtree (no leaves), as in JAX; every other value that is not a
node is a leaf.

The nodes are ``list``, ``tuple``, namedtuples, ``dict``, ``OrderedDict``,
``defaultdict``, ``None``, and the classes given to :func:`register_pytree_node` or
:func:`register_dataclass`. Instances of any other class (an unregistered dataclass
included) are leaves, as in JAX.

A dict's leaves come in sorted key order, as in JAX, so two dicts with the same keys
have the same structure whatever order they were built in (a cotangent built with
``{"b": .., "a": ..}`` fits an output ``{"a": .., "b": ..}``); rebuilt dicts have
sorted keys. ``OrderedDict`` keeps its own order; ``defaultdict`` sorts too.

This module is the only pytree implementation in tapegrad: the transforms, the tape,
``tg.compile`` (its cache keys, how it passes arguments to a program and rebuilds the
results) and ``export`` all flatten and rebuild through it, so a structure one of them
accepts is a structure every one of them accepts.
"""

# It is tapegrad's own rather than optree's (or jax.tree_util's): NumPy is tapegrad's
# only required dependency, and a pytree library would become a second one for every
# user, while what is needed here (flatten, unflatten, a registry) is short.

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

__all__ = ["tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten",
           "TreeDef", "register_pytree_node", "register_dataclass"]


class TreeDef(NamedTuple):
    """The shape of a pytree without its leaves.

    Two trees have equal ``TreeDef`` exactly when they have the same node classes, the
    same dict keys and the same static data of registered nodes, in the same places.

    Attributes
    ----------
    kind : type or None
        ``list``, ``tuple``, ``dict``, ``OrderedDict``, ``defaultdict``, a namedtuple
        class, ``type(None)`` or a registered class; None for a leaf.
    meta : Any
        The keys of a dict (sorted) or an ``OrderedDict`` (in order);
        ``(default_factory, sorted keys)`` of a ``defaultdict``; the auxiliary data
        returned by a registered class's ``flatten`` (for a dataclass registered with
        :func:`register_dataclass`, the values of its ``meta_fields``); None otherwise.
    children : tuple of TreeDef
        One per child.
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


class _Node(NamedTuple):
    """How a registered class is taken apart and rebuilt."""

    flatten: Callable  # x -> (children, aux data)
    unflatten: Callable  # (aux data, children) -> x
    fields: tuple | None = None  # register_dataclass: (data_fields, meta_fields)


#: Registered classes (exact types, as in JAX: a subclass is not a node by inheritance).
_REGISTRY: dict[type, _Node] = {}
_DICTS = (dict, OrderedDict, defaultdict)
_BUILTIN = frozenset({list, tuple, dict, OrderedDict, defaultdict, type(None)})


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
    if t.kind in _REGISTRY:
        return f"CustomNode({t.kind.__name__}[{t.meta!r}], [{inner}])"
    return f"{t.kind.__name__}({inner})"


def _is_namedtuple(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def is_node_type(t: type) -> bool:
    """Whether instances of ``t`` are pytree nodes (not leaves)."""
    return t in _BUILTIN or t in _REGISTRY or _is_namedtuple(t)


def registered(t: type) -> _Node | None:
    """The registration of class ``t`` (None for built-in node types and leaves)."""
    return _REGISTRY.get(t)


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
    if t is list or t is tuple:
        return TreeDef(t, None, tuple([_flatten(c, leaves) for c in x]))
    if t is dict or t is OrderedDict or t is defaultdict:
        keys = tuple(x) if t is OrderedDict else _sorted_keys(x)
        meta = (x.default_factory, keys) if t is defaultdict else keys
        return TreeDef(t, meta, tuple([_flatten(x[k], leaves) for k in keys]))
    if x is None:
        return NONE
    node = _REGISTRY.get(t)
    if node is not None:
        children, aux = node.flatten(x)
        return TreeDef(t, aux, tuple([_flatten(c, leaves) for c in children]))
    if issubclass(t, tuple) and hasattr(t, "_fields"):  # a namedtuple
        return TreeDef(t, None, tuple([_flatten(c, leaves) for c in x]))
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
    node = _REGISTRY.get(t.kind)
    if node is not None:
        return node.unflatten(t.meta, kids)
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


# -- registering classes -----------------------------------------------------------
def register_pytree_node(nodetype: type, flatten_func: Callable[[Any], tuple[Iterable, Any]],
                         unflatten_func: Callable[[Any, Sequence], Any]) -> None:
    """Make instances of ``nodetype`` pytree nodes, as ``jax.tree_util.register_pytree_node``.

    Parameters
    ----------
    nodetype : type
        The class. Only instances of exactly this class are nodes (not of subclasses).
    flatten_func : callable
        ``flatten_func(x) -> (children, aux_data)``: the children (an iterable of
        pytrees) and the static data needed to rebuild ``x``. ``aux_data`` is part of
        the structure: it must be hashable and compare by value, since it is part of
        ``tg.compile``'s cache key.
    unflatten_func : callable
        ``unflatten_func(aux_data, children) -> x``.

    Examples
    --------
    >>> import numpy as np, tapegrad as tg
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> tg.register_pytree_node(Pair, lambda p: ((p.a, p.b), None),
    ...                         lambda aux, kids: Pair(*kids))
    >>> tg.tree_leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    _register(nodetype, flatten_func, unflatten_func, None, "register_pytree_node")


def _register(nodetype: Any, flatten_func: Any, unflatten_func: Any, fields: Any,
              what: str) -> None:
    if not isinstance(nodetype, type):
        raise TypeError(f"{what}: expected a class, got {nodetype!r}")
    if nodetype in _BUILTIN or _is_namedtuple(nodetype) or nodetype in _REGISTRY:
        raise ValueError(f"{what}: {nodetype.__name__} is already a pytree node type")
    for name, f in (("flatten", flatten_func), ("unflatten", unflatten_func)):
        if not callable(f):
            raise TypeError(f"{what}: the {name} function must be callable, got {f!r}")
    _REGISTRY[nodetype] = _Node(flatten_func, unflatten_func, fields)


def register_dataclass(nodetype: type, data_fields: Sequence[str] | None = None,
                       meta_fields: Sequence[str] | None = None,
                       drop_fields: Sequence[str] = ()) -> type:
    """Make a dataclass a pytree node, as ``jax.tree_util.register_dataclass``.

    Parameters
    ----------
    nodetype : type
        The class. Its instances are rebuilt with ``nodetype(**fields)``.
    data_fields : sequence of str, optional
        The fields holding children (arrays or sub-trees), in this order.
    meta_fields : sequence of str, optional
        Static fields: their values are part of the structure (and of ``tg.compile``'s
        cache key), so they must be hashable. For a dataclass, both lists may be left
        out: fields marked ``dataclasses.field(metadata=dict(static=True))`` are meta
        fields, the other ``init`` fields are data fields.
    drop_fields : sequence of str
        Fields that are neither (not passed when rebuilding).

    Returns
    -------
    type
        ``nodetype``, so this can decorate the class.

    Examples
    --------
    >>> import dataclasses, numpy as np, tapegrad as tg
    >>> @tg.register_dataclass
    ... @dataclasses.dataclass
    ... class Params:
    ...     w: np.ndarray
    ...     b: np.ndarray
    ...     act: str = dataclasses.field(default="tanh", metadata=dict(static=True))
    >>> leaves, treedef = tg.tree_flatten(Params(np.ones(2), np.zeros(1)))
    >>> len(leaves), treedef
    (2, PyTreeDef(CustomNode(Params[('tanh',)], [*, *])))
    """
    what = "register_dataclass"
    if data_fields is None and meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"{what}: {getattr(nodetype, '__name__', nodetype)!r} is not a "
                            "dataclass; pass data_fields and meta_fields")
        fields = [f for f in dataclasses.fields(nodetype) if f.init]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)
                       and f.name not in drop_fields]
    elif data_fields is None or meta_fields is None:
        raise TypeError(f"{what}: pass both data_fields and meta_fields, or neither "
                        "(for a dataclass)")
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    for name in (*data_fields, *meta_fields, *drop_fields):
        if not isinstance(name, str):
            raise TypeError(f"{what}: field names must be strings, got {name!r}")
    both = set(data_fields) & set(meta_fields)
    if both:
        raise ValueError(f"{what}: fields {sorted(both)} are both data and meta fields")
    if dataclasses.is_dataclass(nodetype):
        init = {f.name for f in dataclasses.fields(nodetype) if f.init}
        missing = init - set(data_fields) - set(meta_fields) - set(drop_fields)
        if missing:
            raise ValueError(f"{what}: every init field of {nodetype.__name__} must be a "
                             f"data, meta or drop field; {sorted(missing)} are none")

    def flatten(x: Any) -> tuple[list, tuple]:
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def unflatten(aux: tuple, children: Sequence) -> Any:
        return nodetype(**dict(zip(data_fields, children)), **dict(zip(meta_fields, aux)))

    _register(nodetype, flatten, unflatten, (data_fields, meta_fields), what)
    return nodetype
