"""Every primitive tapegrad differentiates, one module per family.

Each module defines its primitives (impl, VJP rule and metadata in one block, see
:class:`tapegrad.primitive.Primitive`) and the NumPy-named public functions that bind
them, listed in its ``__all__``. VJP rules refer to other operations as ``P.name``
through this package, so modules can use each other's functions without import cycles.
To add a family, add its module to ``_MODULES``.
"""

from importlib import import_module

from .._state import enable_grad, no_grad  # noqa: F401  (rules use P.no_grad)
from ..primitive import registry  # noqa: F401

_MODULES = ("arithmetic", "unary", "select", "reduce", "shape", "linalg", "index", "create",
            "elementwise_ext", "contract", "structure", "join", "scan", "stats", "linalg_ext",
            "fft", "bitwise")

__all__: list[str] = []
for _name in _MODULES:
    _mod = import_module(f".{_name}", __name__)
    for _attr in dir(_mod):
        if _attr.endswith("_p") or _attr in _mod.__all__:
            globals()[_attr] = getattr(_mod, _attr)
    __all__ += _mod.__all__
del _name, _mod, _attr
