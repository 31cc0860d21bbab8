"""Result dtypes and values of operators, element-wise functions and constructors on
bool, integer, float and complex operands, against NumPy itself on the same arrays.

Where NumPy raises, tapegrad must raise too. Constructors follow NumPy's dtype inference
except for tapegrad's documented float default (docs/numpy.md, "Integer, bool and
complex dtypes"): Python floats give the default float dtype, complex numbers the
matching complex dtype.
"""

from __future__ import annotations

import contextlib
import operator
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64", "complex64", "complex128"]
EXACT = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]

BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
UNARY = {"-": operator.neg, "+": operator.pos, "~": operator.invert, "abs": abs}
# The element-wise functions of tapegrad's namespace that are unary NumPy ufuncs.
FUNCTIONS = sorted(n for n in tg.__all__
                   if isinstance(getattr(np, n, None), np.ufunc)
                   and getattr(np, n).nin == 1 and getattr(np, n).nout == 1)
# Errors an operation may raise where NumPy refuses the operands.
REFUSALS = (TypeError, ValueError, OverflowError)


@contextlib.contextmanager
def _quiet():
    # Overflow, division by zero and complex-to-real casts warn in NumPy and tapegrad.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _outcome(fn, *args):
    """``fn(*args)``, or the exception it raised."""
    with _quiet():
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
            return e


def _assert_same(got, want, what: str) -> None:
    """tapegrad's ``got`` equals NumPy's ``want``: both raise, or the same dtype, shape
    and values (floats within a few ulps: NumPy's ``x ** 2`` is ``square(x)``)."""
    if isinstance(want, Exception):
        assert isinstance(got, REFUSALS), (
            f"{what}: NumPy raises {type(want).__name__}: {want}, tapegrad gives {got!r}")
        if isinstance(want, TypeError):
            assert isinstance(got, TypeError), f"{what}: {got!r} instead of a TypeError"
        return
    if isinstance(got, Exception):
        raise AssertionError(f"{what}: tapegrad raises {got!r}, NumPy gives {want!r}")
    assert isinstance(got, tg.Tensor), f"{what}: {type(got).__name__}, not a tensor"
    want = np.asarray(want)
    g = got.numpy()
    assert g.dtype == want.dtype, f"{what}: dtype {g.dtype}, NumPy {want.dtype}"
    assert g.shape == want.shape, f"{what}: shape {g.shape}, NumPy {want.shape}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(g, want, err_msg=what)
    else:
        bits = want.dtype.itemsize * 8 // (2 if want.dtype.kind == "c" else 1)
        tol = {16: 2e-3, 32: 1e-5}.get(bits, 1e-12)
        with _quiet():
            np.testing.assert_allclose(g, want, rtol=tol, atol=tol, equal_nan=True,
                                       err_msg=what)


def _elements(dtype: str):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return st.booleans()
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return st.one_of(st.integers(max(info.min, -5), 9),
                         st.integers(int(info.min), int(info.max)))
    if dt.kind == "f":
        return st.floats(-8, 8, width=dt.itemsize * 8)
    return st.complex_numbers(max_magnitude=8, width=dt.itemsize * 8)


def _array(draw, dtype: str, shape):
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=_elements(dtype)))


# Python numbers: bools, ints (some outside the small dtypes' ranges, which NumPy
# refuses), floats and complex numbers.
NUMBERS = st.one_of(st.booleans(), st.integers(-3, 9), st.integers(-300, 300),
                    st.floats(-8, 8), st.complex_numbers(max_magnitude=8))


# -- operators -------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", list(BINARY))
@given(data=st.data())
def test_binary_operator_on_tensors_matches_numpy(symbol, data):
    op = BINARY[symbol]
    d1, d2 = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                         max_side=3))
    a, b = (_array(data.draw, d, s) for d, s in zip((d1, d2), shapes.input_shapes))
    got = _outcome(op, tg.tensor(a), tg.tensor(b))
    _assert_same(got, _outcome(op, a, b), f"{d1} {symbol} {d2}")


@pytest.mark.parametrize("symbol", list(BINARY))
@given(data=st.data())
def test_binary_operator_with_python_number_matches_numpy(symbol, data):
    op = BINARY[symbol]
    dtype = data.draw(st.sampled_from(DTYPES))
    a = _array(data.draw, dtype, data.draw(hnp.array_shapes(min_dims=0, max_dims=2,
                                                             max_side=3)))
    n = data.draw(NUMBERS)
    _assert_same(_outcome(op, tg.tensor(a), n), _outcome(op, a, n),
                 f"{dtype} tensor {symbol} {n!r}")
    _assert_same(_outcome(op, n, tg.tensor(a)), _outcome(op, n, a),
                 f"{n!r} {symbol} {dtype} tensor")


@pytest.mark.parametrize("symbol", list(UNARY))
@given(data=st.data())
def test_unary_operator_matches_numpy(symbol, data):
    op = UNARY[symbol]
    dtype = data.draw(st.sampled_from(DTYPES))
    a = _array(data.draw, dtype, data.draw(hnp.array_shapes(min_dims=0, max_dims=2,
                                                             max_side=3)))
    _assert_same(_outcome(op, tg.tensor(a)), _outcome(op, a), f"{symbol}({dtype})")


def test_every_operator_and_dtype_pair_matches_numpy():
    # Every dtype pair (and every dtype with each kind of Python number) once, on fixed
    # values: the property tests above draw only a few pairs per run.
    def sample(dtype):
        return np.array([0, 1, 3, 2], dtype=dtype).reshape(2, 2)

    for symbol, op in BINARY.items():
        for d1 in DTYPES:
            a = sample(d1)
            for d2 in DTYPES:
                b = sample(d2)[0]
                _assert_same(_outcome(op, tg.tensor(a), tg.tensor(b)), _outcome(op, a, b),
                             f"{d1} {symbol} {d2}")
            for n in (True, 2, -1, 300, 2.5, 1j):
                _assert_same(_outcome(op, tg.tensor(a), n), _outcome(op, a, n),
                             f"{d1} {symbol} {n!r}")
                _assert_same(_outcome(op, n, tg.tensor(a)), _outcome(op, n, a),
                             f"{n!r} {symbol} {d1}")
    for symbol, op in UNARY.items():
        for d in DTYPES:
            _assert_same(_outcome(op, tg.tensor(sample(d))), _outcome(op, sample(d)),
                         f"{symbol}({d})")


@pytest.mark.parametrize("symbol", ["&", "|", "^", "<<", ">>"])
@given(data=st.data())
def test_in_place_bitwise_operator_matches_numpy(symbol, data):
    op = BINARY[symbol]
    iop = getattr(operator, {"&": "iand", "|": "ior", "^": "ixor", "<<": "ilshift",
                             ">>": "irshift"}[symbol])
    d1, d2 = data.draw(st.sampled_from(EXACT)), data.draw(st.sampled_from(EXACT))
    a, b = _array(data.draw, d1, (3,)), _array(data.draw, d2, (3,))
    want = _outcome(iop, a.copy(), b)
    t = tg.tensor(a)
    got = _outcome(iop, t, tg.tensor(b))
    if isinstance(want, Exception):
        _assert_same(got, want, f"{d1} {symbol}= {d2}")
        return
    assert got is t, "an in-place operator returns the tensor itself"
    _assert_same(t, want, f"{d1} {symbol}= {d2}")
    assert t._version == 1
    _assert_same(_outcome(op, tg.tensor(a), 5), _outcome(op, a, 5), f"{d1} {symbol} 5")


# -- element-wise functions ------------------------------------------------------------
def test_the_function_list_covers_the_usual_ones():
    assert {"square", "abs", "sign", "negative", "positive", "floor", "ceil", "trunc",
            "rint", "reciprocal", "fabs", "conj", "invert", "bitwise_invert",
            "logical_not", "sqrt", "exp", "deg2rad"} <= set(FUNCTIONS)


def _function_input(name, a):
    if name == "reciprocal" and a.dtype.kind in "iu":
        # NumPy's integer reciprocal of 0 is C's 1 / 0: platform-dependent.
        return np.where(a == 0, 1, a).astype(a.dtype)
    return a


@pytest.mark.parametrize("name", FUNCTIONS)
@given(data=st.data())
def test_elementwise_function_matches_numpy(name, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    a = _array(data.draw, dtype, data.draw(hnp.array_shapes(min_dims=0, max_dims=2,
                                                             max_side=3)))
    a = _function_input(name, a)
    _assert_same(_outcome(getattr(tg, name), tg.tensor(a)), _outcome(getattr(np, name), a),
                 f"{name}({dtype})")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_elementwise_function_matches_numpy_on_every_integer_and_bool_dtype(name):
    for dtype in EXACT:
        a = _function_input(name, np.array([0, 1, 3, 5], dtype=dtype))
        _assert_same(_outcome(getattr(tg, name), tg.tensor(a)),
                     _outcome(getattr(np, name), a), f"{name}({dtype})")


def test_bitwise_operations_on_integers_act_on_the_bits():
    u3, u5 = tg.tensor(np.uint8(3)), tg.tensor(np.uint8(5))
    assert (u3 & u5).dtype == np.uint8 and (u3 & u5).item() == 1
    assert (~tg.tensor(np.uint8(0))).item() == 255
    assert (u3 & 5).dtype == np.uint8  # a Python int is weak, as in NumPy 2
    assert (tg.tensor(np.array([True, False])) & True).dtype == np.bool_
    assert tg.bitwise_not is tg.invert is tg.bitwise_invert
    assert tg.left_shift(u3, 2).item() == 12 and tg.right_shift(u5, 1).item() == 2
    np.testing.assert_array_equal(tg.logical_xor([True, False], [True, True]).numpy(),
                                  [False, True])


@pytest.mark.parametrize("fn", [tg.bitwise_and, tg.bitwise_or, tg.bitwise_xor,
                                tg.bitwise_left_shift, tg.bitwise_right_shift])
def test_bitwise_functions_refuse_floats_naming_the_operation(fn):
    with pytest.raises(TypeError, match=f"{fn.__name__}: not supported for float64"):
        fn(tg.tensor(np.array([1.0, 2.0])), 1)
    with pytest.raises(TypeError, match=f"{fn.__name__}: not supported for a Python float"):
        fn(tg.tensor(np.array([1, 2])), 1.5)
    with pytest.raises(TypeError, match="bitwise_invert: not supported for complex64"):
        ~tg.tensor(np.array([1j], np.complex64))


def test_bitwise_results_never_require_grad():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    mask = (x > 0) | (x < -1)
    assert not mask.requires_grad and mask.dtype == np.bool_
    np.testing.assert_array_equal(mask.numpy(), [True, True])


# -- vecdot ----------------------------------------------------------------------------
def test_vecdot_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match=r"vecdot: x1 of shape \(2,\) and x2 of shape \(1,\)"):
        tg.vecdot([1.0, 2.0], [3.0])
    with pytest.raises(ValueError):
        np.vecdot([1.0, 2.0], [3.0])


@given(data=st.data())
def test_vecdot_matches_numpy(data):
    d1, d2 = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    n = data.draw(st.integers(1, 3))
    a = _array(data.draw, d1, (data.draw(st.integers(1, 2)), n))
    b = _array(data.draw, d2, (n,))
    axis = data.draw(st.sampled_from([-1, 0]))
    if axis == 0:
        a = a.T.copy()
    _assert_same(_outcome(tg.vecdot, tg.tensor(a), tg.tensor(b), axis),
                 _outcome(lambda x, y, k: np.vecdot(x, y, axis=k), a, b, axis),
                 f"vecdot({d1}, {d2}, axis={axis})")


# -- constructors ----------------------------------------------------------------------
FILLS = st.one_of(st.booleans(), st.integers(-5, 5), st.floats(-4, 4),
                  st.complex_numbers(max_magnitude=4))


def _expected(value, default):
    """NumPy's dtype for a Python fill value, with tapegrad's float default."""
    kind = np.asarray(value).dtype.kind
    if kind == "f":
        return np.dtype(default)
    if kind == "c":
        return np.result_type(default, np.complex64)
    return np.asarray(value).dtype


@pytest.fixture(params=["float32", "float64"])
def default_dtype(request):
    old = tg.get_default_dtype()
    tg.set_default_dtype(request.param)
    yield np.dtype(request.param)
    tg.set_default_dtype(old)


def test_fill_dtypes_follow_numpy_with_the_float_default(default_dtype):
    cases = [(True, np.bool_), (False, np.bool_), (3, np.int64), (2.5, default_dtype),
             (1j, np.result_type(default_dtype, np.complex64))]
    for value, dtype in cases:
        for t in (tg.full((2,), value), tg.full((), value), tg.full_like([1.0, 2.0], value,
                                                                         dtype=dtype)):
            assert t.dtype == dtype, (value, t.dtype)
            np.testing.assert_array_equal(t.numpy(), np.full(t.shape, value, dtype=dtype))
    assert tg.full((2,), 1j).numpy().tolist() == [1j, 1j]  # the imaginary part kept
    assert tg.arange(3).dtype == np.int64 and tg.arange(np.True_, 3).dtype == np.int64
    assert tg.arange(0.5, 3).dtype == default_dtype
    assert tg.linspace(0, 1j, 3).dtype == np.result_type(default_dtype, np.complex64)
    np.testing.assert_allclose(tg.linspace(0, 1j, 3).numpy(), np.linspace(0, 1j, 3))
    assert tg.tensor(True).dtype == np.bool_
    assert tg.tensor(1j).dtype == np.result_type(default_dtype, np.complex64)
    assert tg.tensor(2.5).dtype == default_dtype


@given(value=FILLS, data=st.data())
def test_full_matches_numpy(value, data):
    default = tg.get_default_dtype()
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    want = np.full(shape, value, dtype=_expected(value, default))
    _assert_same(_outcome(tg.full, shape, value), want, f"full({shape}, {value!r})")
    dtype = data.draw(st.sampled_from(DTYPES))
    _assert_same(_outcome(lambda: tg.full(shape, value, dtype=dtype)),
                 _outcome(lambda: np.full(shape, value, dtype=dtype)),
                 f"full({shape}, {value!r}, dtype={dtype})")


@given(value=FILLS, data=st.data())
def test_like_constructors_match_numpy(value, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    x = _array(data.draw, dtype, data.draw(hnp.array_shapes(min_dims=0, max_dims=2,
                                                             max_side=3)))
    for t in (tg.tensor(x), x):
        _assert_same(_outcome(tg.full_like, t, value), _outcome(np.full_like, x, value),
                     f"full_like({dtype}, {value!r})")
        _assert_same(tg.zeros_like(t), np.zeros_like(x), f"zeros_like({dtype})")
        _assert_same(tg.ones_like(t), np.ones_like(x), f"ones_like({dtype})")
        e = tg.empty_like(t)
        assert e.dtype == x.dtype and e.shape == x.shape
    # A Python value as the prototype: the dtype full() would give it.
    want = np.full_like(np.asarray(value, dtype=_expected(value, tg.get_default_dtype())), 1)
    _assert_same(tg.ones_like(value), want, f"ones_like({value!r})")


@given(dtype=st.sampled_from(DTYPES), n=st.integers(0, 3))
def test_shape_constructors_keep_the_dtype_asked_for(dtype, n):
    for tg_fn, np_fn in ((tg.zeros, np.zeros), (tg.ones, np.ones)):
        _assert_same(tg_fn((n, 2), dtype=dtype), np_fn((n, 2), dtype=dtype), tg_fn.__name__)
    _assert_same(tg.eye(n, dtype=dtype), np.eye(n, dtype=dtype), "eye")
    e = tg.empty((n,), dtype=dtype)
    assert e.dtype == np.dtype(dtype) and e.shape == (n,)
    assert tg.zeros((n,)).dtype == tg.get_default_dtype()


NUMBER_ARGS = st.one_of(st.booleans(), st.integers(-6, 6), st.floats(-6, 6))


@given(start=NUMBER_ARGS, stop=NUMBER_ARGS, step=st.sampled_from([1, 2, 0.5, -1, True]))
def test_arange_matches_numpy(start, stop, step):
    with _quiet():
        want = np.arange(start, stop, step)
    if want.dtype.kind == "f":
        want = want.astype(tg.get_default_dtype())
    _assert_same(_outcome(tg.arange, start, stop, step), want,
                 f"arange({start!r}, {stop!r}, {step!r})")


@given(start=st.one_of(NUMBER_ARGS, st.complex_numbers(max_magnitude=4)),
       stop=st.one_of(NUMBER_ARGS, st.complex_numbers(max_magnitude=4)),
       num=st.integers(0, 4))
def test_linspace_matches_numpy(start, stop, num):
    want = np.linspace(start, stop, num)
    complex_ = isinstance(start, complex) or isinstance(stop, complex)
    dtype = np.result_type(tg.get_default_dtype(), np.complex64) if complex_ else \
        tg.get_default_dtype()  # numbers give the default float (NumPy: float64)
    _assert_same(tg.linspace(start, stop, num), want.astype(dtype),
                 f"linspace({start!r}, {stop!r}, {num})")


@given(value=FILLS)
def test_tensor_and_asarray_from_numbers(value):
    # tg.tensor's documented rule: floats and ints the default float dtype, bools bool,
    # complex numbers the matching complex dtype. tg.asarray is the array API's: ints
    # give the default integer dtype (int64) instead.
    default = tg.get_default_dtype()
    dtype = np.dtype(bool) if isinstance(value, bool) else np.result_type(
        default, np.complex64) if isinstance(value, complex) else default
    for fn in (tg.tensor, tg.asarray):
        if fn is tg.asarray and type(value) is int:
            dtype = np.dtype(np.int64)
        _assert_same(fn(value), np.asarray(value, dtype=dtype), f"{fn.__name__}({value!r})")
        _assert_same(fn([value, value]), np.asarray([value, value], dtype=dtype),
                     f"{fn.__name__}([{value!r}] * 2)")
    for dtype in DTYPES:  # NumPy arrays keep their dtype
        with _quiet():
            arr = np.asarray(value).astype(dtype)
        _assert_same(tg.tensor(arr), arr, f"tensor(array of {dtype})")
