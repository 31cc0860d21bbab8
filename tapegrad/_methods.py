"""Operators and NumPy-named methods of :class:`Tensor`.

Operators call the primitives' ``bind`` directly: this is the hottest path in eager
mode. NumPy defers ``ndarray op tensor`` to the tensor (``__array_priority__`` plus
``__array_ufunc__``), so mixed expressions always return recorded tensors.
"""

from __future__ import annotations

from . import primitives as P
from .tensor import Tensor


def _binary(prim):
    bind = prim.bind

    def op(self, other):
        return bind(self, other)

    def rop(self, other):
        return bind(other, self)

    return op, rop


def _attach() -> None:
    T = Tensor
    T.__add__, T.__radd__ = _binary(P.add_p)
    T.__sub__, T.__rsub__ = _binary(P.subtract_p)
    T.__mul__, T.__rmul__ = _binary(P.multiply_p)
    T.__truediv__, T.__rtruediv__ = _binary(P.divide_p)
    T.__pow__, T.__rpow__ = _binary(P.power_p)
    T.__lt__ = lambda self, other: P.less_p.bind(self, other)
    T.__le__ = lambda self, other: P.less_equal_p.bind(self, other)
    T.__gt__ = lambda self, other: P.greater_p.bind(self, other)
    T.__ge__ = lambda self, other: P.greater_equal_p.bind(self, other)
    T.__eq__ = lambda self, other: P.equal_p.bind(self, other)
    T.__ne__ = lambda self, other: P.not_equal_p.bind(self, other)
    T.__and__ = lambda self, other: P.logical_and(self, other)
    T.__or__ = lambda self, other: P.logical_or(self, other)
    T.__invert__ = lambda self: P.logical_not(self)
    T.__neg__ = lambda self: P.negative_p.bind(self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: P.abs_p.bind(self)
    T.__matmul__ = lambda self, other: P.matmul(self, other)
    T.__rmatmul__ = lambda self, other: P.matmul(other, self)
    T.__getitem__ = P.getitem

    # NumPy-named methods.
    for name in ("sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "exp",
                 "expm1", "log", "log1p", "sqrt", "square", "sin", "cos", "tan", "sinh",
                 "cosh", "tanh", "arcsin", "arctan", "abs", "sign", "reshape", "transpose",
                 "swapaxes", "squeeze", "expand_dims", "broadcast_to", "clip", "astype",
                 "dot", "ravel", "moveaxis"):
        if name == "reshape":
            continue
        setattr(T, name, getattr(P, name))
    # Methods NumPy arrays have, for the functions of the other families.
    for name in ("any", "all", "argmax", "argmin", "argsort", "sort", "cumsum", "cumprod",
                 "diagonal", "trace", "round", "take", "repeat", "conj", "real", "imag",
                 "nonzero"):
        if hasattr(P, name):
            setattr(T, name, getattr(P, name))
    T.T = property(lambda self: P.transpose(self), doc="The transpose (axes reversed).")
    T.mT = property(lambda self: P.swapaxes(self, -1, -2),
                    doc="Transpose of the last two axes.")
    T.flatten = P.ravel
    T.unsqueeze = P.expand_dims
    T.pow = P.power
    T.matmul = P.matmul
    T.view = _view
    T.reshape = _view


def _view(self, *shape):
    """Reshape; accepts ``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` (also ``view``)."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return P.reshape(self, shape)


def _transpose(self, *axes):
    """Permute the axes; accepts ``x.transpose(1, 0)``, ``x.transpose((1, 0))`` and none."""
    if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
        axes = axes[0]
    return P.transpose(self, axes or None)


_attach()
Tensor.transpose = _transpose
