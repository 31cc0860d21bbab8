"""Optimisation passes: each a pure function Graph -> Graph, in its own module.

The order they run in is :data:`tapegrad.compiler.pipeline.PIPELINE`. Memory planning
(:func:`plan_memory`) is an analysis of the final graph, not a pass.
"""

from .cse import cse
from .dce import dce
from .fold import fold_constants
from .fuse import fuse_elementwise
from .memory import plan_memory, unplanned_peak_bytes
from .simplify import simplify

__all__ = ["cse", "dce", "fold_constants", "fuse_elementwise", "plan_memory", "simplify",
           "unplanned_peak_bytes"]
