"""tapegrad.compiler: from a recorded tape to an optimised, cached backward program."""
