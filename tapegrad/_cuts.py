"""Exactly which live tensors were computed without a record from recorded values.

``note_cut`` / ``note_detach`` (:mod:`tapegrad.explain`) report every tensor computed
from a value that requires grad (or carries a record) while recording was off, by an
operation without a gradient, or by ``detach()``. ``explain_grad`` keeps a bounded
history of them for its messages; :meth:`Tape.compile` needs more than a diagnostic:
a tape replayed with new sources must never keep such a value's old contents, so it
must know about *every* such tensor still alive. This table holds one entry per live
tensor: an entry goes away when its tensor is collected (a weak reference's callback),
so it is exact without keeping anything alive, and costs one dict entry per tensor.
"""

from __future__ import annotations

import weakref
from typing import Any

from .tensor import Tensor

#: ``id(tensor) -> cut`` for every live tensor noted by note_cut or note_detach.
_live: dict[int, Any] = {}


def _drop(ref: weakref.KeyedRef) -> None:
    # The tensor is being collected; its id may be reused only after this returns.
    live = _live
    if live is None:  # interpreter shutdown
        return
    cut = live.get(ref.key)
    if cut is not None and cut.out is ref:
        live.pop(ref.key, None)


def ref_to(out: Any) -> weakref.KeyedRef:
    """A weak reference to ``out`` whose death removes ``out``'s entry."""
    return weakref.KeyedRef(out, _drop, id(out))


def remember(cut: Any) -> None:
    """Hold ``cut`` (whose ``out`` is a :func:`ref_to` reference) while its tensor lives."""
    _live[cut.out.key] = cut


def cut_of(t: Any) -> Any:
    """The cut that produced the live tensor ``t``, or None when it was not noted."""
    cut = _live.get(id(t))
    return cut if cut is not None and cut.out() is t else None


_CUT_WORDS = {"no_grad": "computed under no_grad", "detach": "detached",
              "integer": "an integer result", "no_vjp": "the result of an operation "
              "without a gradient"}


def refuse_stale_values(records: list, sources: list) -> None:
    """Raise when a tape's records use a value computed, without a record, from the
    tape's sources or records (``tape.compile`` would keep its old value).

    Parameters
    ----------
    records : list of Node
        The tape's Wengert list.
    sources : list of Tensor
        The sources the compiled program takes new values for.

    Raises
    ------
    NotImplementedError
        Naming the value (how it was made, and where).
    """
    if not _live:
        return
    recorded = {id(node) for node in records}
    src_ids = {id(s) for s in sources}
    src_outs = {(id(s._node), s._idx) for s in sources if s._node is not None}
    seen: set[int] = set()
    for node in records:
        for a in node.args or ():
            if type(a) is not Tensor or id(a) in seen:
                continue
            seen.add(id(a))
            if (a._node is not None and (id(a._node) in recorded
                                         or (id(a._node), a._idx) in src_outs)) \
                    or id(a) in src_ids:
                continue  # replayed: computed afresh for new sources
            cut = cut_of(a)
            if cut is not None and _made_from(cut, recorded, sources):
                where = f" at {cut.site[0]}:{cut.site[1]}" if cut.site else ""
                raise NotImplementedError(
                    f"tape.compile: the tape uses a value "
                    f"{_CUT_WORDS.get(cut.kind, cut.kind)} ({cut.what}{where}) from its "
                    "sources or records; the tape holds no record of how it was made, so "
                    "a compiled program would keep its old value for new sources. Compute "
                    "it inside the tape with recording on, or use tg.compile on a function")


def _made_from(cut: Any, recorded: set, sources: list) -> bool:
    for tref, nref, _ in cut.inputs + cut.via:
        node = nref() if nref is not None else None
        if node is not None and id(node) in recorded:
            return True
        t = tref()
        if t is not None and any(t is s for s in sources):
            return True
    return False
