"""The package version (one place: the package, export headers and pyproject read it)."""

__version__ = "0.1.0"
