"""Optimisation passes: each a pure function Graph -> Graph, in its own module.

``DEFAULT_PIPELINE`` is the order the compiler runs them in. Folding and simplification
leave the equations they replaced without readers, so ``dce`` runs again after them;
fusion comes last because it hides elementwise equations inside kernels. Memory
planning (:func:`plan_memory`) is an analysis of the final graph, not a pass.
"""

from .cse import cse
from .dce import dce
from .fold import fold_constants
from .fuse import fuse_elementwise
from .memory import plan_memory, unplanned_peak_bytes
from .simplify import simplify

DEFAULT_PIPELINE = [
    ("dce", dce),
    ("cse", cse),
    ("fold_constants", fold_constants),
    ("simplify", simplify),
    ("cse_after_simplify", cse),
    ("dce_after_simplify", dce),
    ("fuse_elementwise", fuse_elementwise),
]


__all__ = ["DEFAULT_PIPELINE", "cse", "dce", "fold_constants", "fuse_elementwise",
           "plan_memory", "simplify", "unplanned_peak_bytes"]
