"""``tg.explain_grad(y, x)``: why does ``x`` get no gradient from ``y``?

Every autograd's most common question. The answer is one of a handful of reasons, and
each leaves a trace that can be found afterwards:

* the recorded graph behind ``y`` (``grad_fn`` links) shows whether ``x`` is reached,
  whether ``x`` is a leaf, and whether an earlier ``backward()`` freed part of it;
* places where a gradient path *ends* leave no record in the graph, so they are noted
  here as they happen (``note_cut`` from :meth:`Primitive.bind`, ``note_detach`` from
  :meth:`Tensor.detach`): an operation on a tensor that requires grad under
  ``no_grad()`` (with the ``file:line`` of that ``no_grad``), ``detach()``, an
  operation with an integer/bool result, an operation without a VJP.

The notes hold weak references only, so they keep no tensor or graph alive. The
history used for messages is bounded (the most recent ``MAX_CUTS``). Safety does not
rest on it: every note also goes to :mod:`tapegrad._cuts`, which knows exactly which
live tensors were cut (an entry per live tensor, dropped when the tensor dies); that
is what ``tape.compile`` consults, and what ``explain_grad`` looks up first.
"""

from __future__ import annotations

import sys
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import _cuts as _exact
from . import primitive as _primitive
from . import tensor as _tensor
from .backend import is_floating
from .tensor import Tensor, _make

MAX_CUTS = 4096


class _Cut(NamedTuple):
    """Where one gradient path ended: ``out`` was computed from ``inputs`` without a record."""

    out: weakref.ref
    kind: str  # "no_grad" | "detach" | "integer" | "no_vjp"
    what: str  # the primitive's name, or "detach"
    site: tuple | None  # (file, line)
    inputs: tuple  # ((weakref to tensor, weakref to its node or None, output index), ...)
    via: tuple = ()  # detach: the detached record's inputs, used when the tensor is gone
    detail: str = ""  # detach: which record's output was detached


#: The bounded history of cuts, for explain_grad's messages (never for safety).
_cuts: OrderedDict[int, _Cut] = OrderedDict()
_new_tuple = tuple.__new__
_live = _exact._live
_ref_to = _exact.ref_to


def _remember(out, kind: str, what: str, site, inputs: tuple, via: tuple = (),
              detail: str = "") -> None:
    key = id(out)
    # tuple.__new__ skips the NamedTuple constructor: this runs on every cut.
    cut = _new_tuple(_Cut, (_ref_to(out), kind, what, site, inputs, via, detail))
    _live[key] = cut  # exact: removed when ``out`` dies (see tapegrad._cuts)
    _cuts[key] = cut
    _cuts.move_to_end(key)  # an id reused by a new tensor counts as new
    if len(_cuts) > MAX_CUTS:
        try:
            _cuts.popitem(last=False)
        except KeyError:  # another thread emptied it first
            pass


def _input_refs(args) -> tuple:
    # Inputs that require grad, or carry a record (an integer result of a recorded
    # operation): either way the result depends on recorded values.
    ref = weakref.ref
    return tuple([(ref(a), None if a._node is None else ref(a._node), a._idx)
                  for a in args if type(a) is Tensor and (a._rg or a._node is not None)])


def note_cut(prim, args: tuple, out, site):
    """Wrap ``out`` (the raw result of ``prim``) as untracked tensors, noting the cut.

    Called by :meth:`Primitive.bind` when an argument requires grad but no record is
    made: recording is off (``site`` is the user's ``no_grad`` location) or the
    primitive has no gradient.
    """
    if prim.multiple_results:
        outs = tuple([_make(o, None, 0, False) for o in out])
    else:
        outs = _make(out, None, 0, False)
    inputs = _input_refs(args)
    if inputs:
        for t in outs if prim.multiple_results else (outs,):
            if not is_floating(t.data.dtype):
                _remember(t, "integer", prim.name, None, inputs)
            elif prim.vjp is None:
                _remember(t, "no_vjp", prim.name, None, inputs)
            else:
                _remember(t, "no_grad", prim.name, site, inputs)
    return outs


def note_derived(prim, args: tuple, out):
    """Wrap ``out`` as untracked tensors computed by ``prim`` from cut values.

    Called by :meth:`Primitive.bind` for a result without a record when some argument
    is itself a noted cut (``s + 1`` after ``s`` was computed under ``no_grad``): the
    result is as stale as its argument for a replayed tape, so it is noted too, with
    the argument's kind and origin.
    """
    outs = (tuple([_make(o, None, 0, False) for o in out]) if prim.multiple_results
            else _make(out, None, 0, False))
    first, inputs, via = None, [], []
    for a in args:
        if type(a) is Tensor:
            cut = _exact.cut_of(a)
            if cut is not None:
                first = first or cut
                inputs.extend(cut.inputs)
                via.extend(cut.via)
    if first is not None:  # the cut's origin, inherited
        for t in outs if prim.multiple_results else (outs,):
            _remember(t, first.kind, first.what, first.site, tuple(inputs), tuple(via),
                      first.detail)
    return outs


def note_detach(src, out) -> None:
    """Note that ``out = src.detach()`` cut the graph (called by :meth:`Tensor.detach`)."""
    f = sys._getframe(2)
    node = src._node
    # Keep the detached record's inputs too: in ``(x * 3).detach()`` the product dies
    # at once, and with it the only link back to ``x``.
    via = _input_refs(node.args or ()) if node is not None else ()
    detail = f"the output of {node.name()} (record #{node.seq})" if node is not None else (
        "a leaf")
    _remember(out, "detach", "detach", (f.f_code.co_filename, f.f_lineno),
              _input_refs((src,)), via, detail)


# -- the explanation ----------------------------------------------------------------
@dataclass(frozen=True)
class GradExplanation:
    """Why ``x`` does (or does not) get a gradient from ``y``.

    Attributes
    ----------
    reason : str
        ``"ok"`` (it does), ``"not_leaf"``, ``"requires_grad_false"``,
        ``"integer_dtype"``, ``"no_grad"``, ``"detach"``, ``"no_vjp"``, ``"no_path"``
        or ``"freed"``.
    message : str
        The explanation in words (also what ``str()`` and ``repr()`` show).
    path : tuple of str
        ``grad_fn`` names (and cuts) on a path from ``x`` to ``y``, when there is one.
    site : str or None
        ``file:line`` of the ``no_grad``/``detach`` that cut the path, when known.
    """

    reason: str
    message: str
    path: tuple = field(default=())
    site: str | None = None

    @property
    def ok(self) -> bool:
        """True when ``y.backward()`` fills ``x.grad``."""
        return self.reason == "ok"

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__


def _key(t, node, idx) -> tuple:
    return ("n", id(node), idx) if node is not None else ("t", id(t))


def _site(site) -> str | None:
    return None if site is None else f"{site[0]}:{site[1]}"


def _cut_of(t) -> _Cut | None:
    return _exact.cut_of(t)


def _walk(y, target: tuple):
    """Breadth-first search from ``y`` back through records and noted cuts.

    Returns ``(parents, found, freed, unknown)``: ``parents`` maps a value's key to
    ``(key of the value it feeds, edge)`` where an edge is a ``Node`` or a ``_Cut``;
    ``unknown`` counts constants of unknown origin (arrays, unnoted constant tensors).
    """
    parents: dict[tuple, Any] = {_key(y, y._node, y._idx): None}
    queue = deque([y])
    freed = None
    unknown = 0
    while queue:
        t = queue.popleft()
        here = _key(t, t._node, t._idx)
        if here == target:
            return parents, here, freed, unknown
        node = t._node
        if node is not None:
            if node.args is None:
                freed = freed or node
                continue
            edge, inputs = node, [a for a in node.args if isinstance(a, Tensor)]
            unknown += sum(1 for a in node.args if not isinstance(a, Tensor)
                           and hasattr(a, "shape"))
        else:
            cut = _cut_of(t)
            if cut is None:
                unknown += not t._rg
                continue
            edge, inputs = cut, [a for a in (r() for r, _, _ in cut.inputs) if a is not None]
            if len(inputs) < len(cut.inputs):  # a dead input: try the record behind it
                inputs += [a for a in (r() for r, _, _ in cut.via) if a is not None]
                unknown += not inputs
        for a in inputs:
            k = _key(a, a._node, a._idx)
            if k not in parents:
                parents[k] = (here, edge)
                queue.append(a)
    return parents, None, freed, unknown


def _describe_cut(cut: _Cut, shape) -> tuple[str, str]:
    where = _site(cut.site)
    if cut.kind == "no_grad":
        return "no_grad", (
            f"the path from x to y was cut by no_grad() at {where}: `{cut.what}` ran there "
            f"on a value that required grad, with recording off, so its result (shape "
            f"{shape}) is a constant to everything computed from it, y included. Compute it "
            "outside the no_grad block (or inside `with tg.enable_grad():`).")
    if cut.kind == "detach":
        return "detach", (
            f"the path from x to y was cut by detach() at {where}, applied to "
            f"{cut.detail}: detach() returns a new leaf that shares the data but not the "
            "graph, so y sees that value as a constant. Use the original tensor instead "
            "of its detached copy.")
    if cut.kind == "integer":
        return "integer_dtype", (
            f"the path from x to y goes through an integer or bool value: `{cut.what}` "
            f"produced one (shape {shape}) from x's side of the graph, and integer values "
            "carry no gradient. Keep the computation in floating point.")
    return "no_vjp", (
        f"the path from x to y goes through `{cut.what}`, which has no gradient (its "
        "derivative is zero or undefined everywhere it is defined), so its result is a "
        "constant to y.")


def explain_grad(y: Tensor, x: Tensor) -> GradExplanation:
    """Say precisely why ``x`` gets no gradient from ``y`` (or confirm that it does).

    Parameters
    ----------
    y : Tensor
        The output you would call ``backward()`` on.
    x : Tensor
        The tensor whose ``.grad`` you expected to be filled.

    Returns
    -------
    GradExplanation
        ``.reason`` is a short code, ``.message`` the explanation, ``.path`` the records
        between ``x`` and ``y``, ``.site`` the ``file:line`` of the culprit (or None) and
        ``.ok`` whether ``x`` gets its gradient; printing the result prints the message.

    Examples
    --------
    >>> import tapegrad as tg
    >>> x = tg.tensor(2.0, requires_grad=True)
    >>> y = x.square().detach() * 3
    >>> tg.explain_grad(y, x).reason
    'detach'
    """
    for name, v in (("y", y), ("x", x)):
        if not isinstance(v, Tensor):
            raise TypeError(f"explain_grad: {name} must be a Tensor, got {type(v).__name__}")
    if not is_floating(x.data.dtype):
        return GradExplanation("integer_dtype", (
            f"x has dtype {x.dtype}: only floating-point tensors can require gradients. "
            f"Convert it first, e.g. tg.tensor(x, dtype='float32', requires_grad=True)."))
    target = _key(x, x._node, x._idx)
    parents, found, freed, unknown = _walk(y, target)
    if found is None:
        return _no_path(y, x, freed, unknown)

    # Rebuild the path x -> ... -> y and look for the first cut on it.
    steps, cut, k = [], None, found
    while parents[k] is not None:
        k, edge = parents[k]
        if isinstance(edge, _Cut):
            cut = cut or edge
            steps.append(f"[{edge.what}: cut]")
        else:
            steps.append(edge.name())
    path = ("x", *steps, "y")
    if cut is not None:
        out = cut.out()
        reason, msg = _describe_cut(cut, None if out is None else out.shape)
        return GradExplanation(reason, msg, path, _site(cut.site))
    if not x._rg:
        return GradExplanation("requires_grad_false", (
            "x has requires_grad=False, so y used it as a constant. Create it with "
            "tg.tensor(..., requires_grad=True) or call x.requires_grad_() before "
            "computing y."), path)
    chain = " -> ".join(path)
    if x._node is not None:
        retained = x._retains or bool(x._node.retained and x._idx in x._node.retained)
        if not retained:
            return GradExplanation("not_leaf", (
                f"x is not a leaf (it is the output of {x._node.name()}), so y.backward() "
                "computes its gradient on the way to the leaves but does not keep it in "
                "x.grad. Call x.retain_grad() before backward(), or ask for it directly "
                f"with a tape: t.gradient(y, x). Path: {chain}."), path)
    if freed is not None:
        return _freed(freed, path)
    return GradExplanation("ok", (
        f"x gets a gradient from y; y.backward() accumulates it into x.grad. "
        f"Path: {chain}."), path)


def _freed(node, path=()) -> GradExplanation:
    return GradExplanation("freed", (
        f"the graph behind y was already freed by an earlier backward() (first freed "
        f"record reached: {node.name()}, #{node.seq}): its saved values and links are gone, "
        "so no gradient can flow through it again. Pass retain_graph=True to the first "
        "backward() (or use tg.tape(persistent=True)) to go through a graph twice."), path)


def _no_path(y, x, freed, unknown: int) -> GradExplanation:
    if freed is not None:
        # The walk stopped at freed records; what is noted about x may still tell.
        base = _freed(freed)
        hint = _last_cut_of(x)
        if hint is not None:
            reason, msg, site = hint
            return GradExplanation(reason, (
                "the graph behind y was freed by an earlier backward(), so the path cannot "
                f"be followed any more; but x was last used where recording stopped: {msg}"),
                (), site)
        if x._rg and x._node is None and x._grad is None:
            return GradExplanation("freed", base.message + (
                " (x.grad is None, so the backward() that freed it did not reach x: y does "
                "not depend on x through recorded operations.)"))
        return base
    if unknown:
        hint = _last_cut_of(x)
        if hint is not None:
            reason, msg, site = hint
            return GradExplanation(reason, (
                "y's recorded graph does not reach x, but y uses constants computed "
                "without a record, and x was used where recording stopped: "
                f"{msg} (If none of y's constants came from there, y simply does not "
                "depend on x.)"), (), site)
    if not y._rg:
        return GradExplanation("no_path", (
            "y does not require grad (it has no grad_fn): no input of the operations "
            "that made y required grad, so nothing was recorded and no gradient reaches "
            "x. Check requires_grad=True on x and that y is computed from x."))
    return GradExplanation("no_path", (
        "y does not depend on x: no recorded operation leads from x to y (x is not an "
        "input of any record in y's graph). Check that y is computed from this very "
        "tensor x and not from a copy of it."))


def _last_cut_of(x):
    """The most recent noted cut that took ``x`` as an input: (reason, message, site)."""
    for cut in reversed(list(_cuts.values())):
        for tref, nref, idx in cut.inputs + cut.via:
            a = tref()
            if a is x or (x._node is not None and nref is not None
                          and nref() is x._node and idx == x._idx):
                out = cut.out()
                return (*_describe_cut(cut, None if out is None else out.shape),
                        _site(cut.site))
    return None

_tensor._observers["detach"] = note_detach  # Tensor.detach reports cut paths here
_primitive.observe_cuts(note_cut, note_derived)  # bind reports cut paths here
