"""Operators and NumPy-named methods of :class:`Tensor`.

Operators call the primitives' ``bind`` directly: this is the hottest path in eager
mode. NumPy defers ``ndarray op tensor`` to the tensor (``__array_priority__`` plus
``__array_ufunc__``), so mixed expressions always return recorded tensors.
"""

from __future__ import annotations

from . import primitives as P
from ._inplace import apply
from .backend import dtype_kind
from .primitive import UnsupportedOperand
from .tensor import Tensor


def _binary(fn):
    # An operand that is no array or number gets NotImplemented, so Python tries its
    # reflected method and otherwise raises "unsupported operand type(s)", as for
    # ndarrays. (A try block costs nothing until it raises.)
    bind = getattr(fn, "bind", fn)

    def op(self, other):
        try:
            return bind(self, other)
        except UnsupportedOperand:
            return NotImplemented

    def rop(self, other):
        try:
            return bind(other, self)
        except UnsupportedOperand:
            return NotImplemented

    return op, rop


def _attach() -> None:
    T = Tensor
    T.__add__, T.__radd__ = _binary(P.add_p)
    T.__sub__, T.__rsub__ = _binary(P.subtract_p)
    T.__mul__, T.__rmul__ = _binary(P.multiply_p)
    T.__truediv__, T.__rtruediv__ = _binary(P.divide_p)
    T.__pow__, T.__rpow__ = _pow, _binary(P.power_p)[1]
    T.__floordiv__, T.__rfloordiv__ = _binary(P.floor_divide)
    T.__mod__, T.__rmod__ = _binary(P.remainder)
    # Comparisons: ``x == None`` is False (Python's fallback), as in PyTorch.
    T.__lt__ = _binary(P.less_p)[0]
    T.__le__ = _binary(P.less_equal_p)[0]
    T.__gt__ = _binary(P.greater_p)[0]
    T.__ge__ = _binary(P.greater_equal_p)[0]
    T.__eq__ = _binary(P.equal_p)[0]
    T.__ne__ = _binary(P.not_equal_p)[0]
    # Bitwise operators, NumPy's: on bools they are the logical operations, on integers
    # they act on the bits; floating-point operands are refused.
    T.__and__, T.__rand__ = _binary(P.bitwise_and)
    T.__or__, T.__ror__ = _binary(P.bitwise_or)
    T.__xor__, T.__rxor__ = _binary(P.bitwise_xor)
    T.__lshift__, T.__rlshift__ = _binary(P.bitwise_left_shift)
    T.__rshift__, T.__rrshift__ = _binary(P.bitwise_right_shift)
    T.__iand__ = _iop(P.bitwise_and, "&=")
    T.__ior__ = _iop(P.bitwise_or, "|=")
    T.__ixor__ = _iop(P.bitwise_xor, "^=")
    T.__ilshift__ = _iop(P.bitwise_left_shift, "<<=")
    T.__irshift__ = _iop(P.bitwise_right_shift, ">>=")
    T.__round__ = lambda self, ndigits=None: P.round(self, ndigits or 0)
    T.__invert__ = P.bitwise_invert
    T.__neg__ = lambda self: P.negative_p.bind(self)
    T.__pos__ = P.positive
    T.__abs__ = lambda self: P.abs_p.bind(self)
    T.__matmul__, T.__rmatmul__ = _binary(P.matmul)
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


_power = P.power_p.bind


def _pow(self, other):
    # NumPy's ``**`` computes ``x ** 2`` as ``square(x)``, which turns bools into int8
    # (``power`` gives int64); other dtypes come out the same either way.
    if type(other) is int and other == 2 and dtype_kind(self.data.dtype) == "b":
        return P.square(self)
    try:
        return _power(self, other)
    except UnsupportedOperand:
        return NotImplemented


def _iop(fn, symbol: str):
    """The in-place operator ``x <symbol> y`` computing ``fn(x, y)`` (see _inplace)."""
    label = f"x {symbol} ..."

    def op(self, other):
        return apply(self, label, lambda s: fn(s, s if other is self else other))

    op.__name__ = f"__i{fn.__name__}__"
    return op


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
