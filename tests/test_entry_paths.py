"""Every op spec through the entry paths where gradients used to go silently wrong.

``test_vjp.py`` calls each operation on tensors under grad mode. Users also reach the
operations with lists holding tensors (``tg.mean([x, x + 2])``), call transforms under
``no_grad`` (which is where a ``custom_vjp`` backward rule runs), and convert tensors
to Python numbers or NumPy arrays inside a transform. For each of these paths, every
spec must give the gradient of the plain call (which ``test_vjp.py`` checks against
jax for the same specs and draws) or raise; a plausible wrong number is the failure.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_specs import SPECS, scaled
from test_vjp import TOL, _cotangent, _diff_indices, _tg_vjp

import tapegrad as tg
from tapegrad.backward import backward

_DTYPES = [np.float64, np.float32]


def _plain(spec, arrays, kw, data):
    """The plain call's output, a cotangent and its VJP (None when not differentiable)."""
    idx = _diff_indices(spec, arrays)
    if not idx:
        return None
    args = [tg.tensor(a, requires_grad=(i in idx)) for i, a in enumerate(arrays)]
    out = spec.fn(*args, **kw)
    if not (isinstance(out, tg.Tensor) and out.requires_grad):
        return None
    ct = _cotangent(data.draw, out.shape, out.dtype)
    out, grads, _, idx = _tg_vjp(spec, arrays, kw, ct)
    want = [np.zeros(arrays[i].shape, arrays[i].dtype) if g is None else g.numpy()
            for i, g in zip(idx, grads)]
    return out.detach().numpy(), ct, idx, want


def _assert_grads(got, want, arrays, idx, dtype, what):
    for i, g, w in zip(idx, got, want):
        g = np.zeros_like(w) if g is None else np.asarray(g.detach().numpy())
        assert g.shape == arrays[i].shape, f"{what}: gradient shape of argument {i}"
        np.testing.assert_allclose(g, w, err_msg=f"{what}: gradient of argument {i}",
                                   **TOL[dtype])


# -- transforms called under no_grad ---------------------------------------------------
@pytest.mark.parametrize("dtype", _DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.2)
@given(data=st.data())
def test_transforms_under_no_grad_match_grad_mode(spec, dtype, data):
    """vjp, grad and jvp differentiate their own function whatever the grad mode."""
    arrays, kw = spec.make(data.draw, dtype)
    plain = _plain(spec, arrays, kw, data)
    if plain is None:
        return
    ref_out, ct, idx, ref_grads = plain

    def f(*diff):
        full = [tg.tensor(a) for a in arrays]
        for i, d in zip(idx, diff):
            full[i] = d
        return spec.fn(*full, **kw)

    leaves = [tg.tensor(arrays[i], requires_grad=True) for i in idx]
    carried = [x * 1.0 for x in leaves]  # arguments that are part of a graph
    with tg.no_grad():
        out, pullback = tg.vjp(f, *carried)
        grads = pullback(tg.tensor(ct))
    np.testing.assert_allclose(out.numpy(), ref_out, err_msg="forward", **TOL[dtype])
    assert not out.requires_grad  # nothing links the result to the caller's graph
    _assert_grads(grads, ref_grads, arrays, idx, dtype, "vjp under no_grad")

    # grad and jvp too: <ct, J t> from jvp equals <J^T ct, t> from the plain VJP.
    ctt = tg.tensor(ct)
    if not np.iscomplexobj(ct):
        with tg.no_grad():
            g = tg.grad(lambda *d: tg.sum(f(*d) * ctt), argnums=tuple(range(len(idx))))(
                *carried)
        _assert_grads(g, ref_grads, arrays, idx, dtype, "grad under no_grad")
    rng = np.random.default_rng(0)
    tangents = [tg.tensor(rng.standard_normal(arrays[i].shape).astype(arrays[i].dtype))
                for i in idx]
    with tg.no_grad():
        _, t_out = tg.jvp(f, tuple(carried), tuple(tangents))
    lhs = np.sum(np.conj(ct) * t_out.numpy()).real
    rhs = sum(np.sum(np.conj(w) * t.numpy()).real for w, t in zip(ref_grads, tangents))
    low = np.float32 if t_out.dtype in (np.float32, np.complex64) else dtype
    np.testing.assert_allclose(lhs, rhs, err_msg="jvp under no_grad", **TOL[low])
    assert all(x.grad is None for x in leaves)


# -- (nested) lists and tuples holding tensors -----------------------------------------
# Specs whose function calls a tensor method on its argument (``x.T``, ``x.sum()``): a
# list has none, so Python itself raises AttributeError there.
def _as_sequence(t: tg.Tensor, kind: type):
    rows = [t[k] for k in range(t.shape[0])]
    if t.ndim == 2 and t.size <= 16:  # nested: a list of lists of 0-d tensors
        rows = [[r[k] for k in range(r.shape[0])] for r in rows]
        return kind(kind(r) for r in rows)
    return kind(rows)


@pytest.mark.parametrize("kind, dtype", [(list, np.float64), (tuple, np.float32)],
                         ids=["list-float64", "tuple-float32"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.2)
@given(data=st.data())
def test_sequences_holding_tensors_are_recorded(spec, kind, dtype, data):
    """``f([x0, x1])`` is ``f(stack([x0, x1]))``, as NumPy builds the array, or raises."""
    arrays, kw = spec.make(data.draw, dtype)
    plain = _plain(spec, arrays, kw, data)
    if plain is None:
        return
    ref_out, ct, idx, ref_grads = plain
    for i in idx:
        if arrays[i].ndim == 0 or arrays[i].shape[0] == 0:
            continue
        args = [tg.tensor(a, requires_grad=(j in idx)) for j, a in enumerate(arrays)]
        call = list(args)
        call[i] = _as_sequence(args[i], kind)
        try:
            out = spec.fn(*call, **kw)
        except AttributeError as e:  # the spec's own lambda used a tensor method
            assert kind.__name__ in str(e)
            continue
        except (TypeError, ValueError, RuntimeError) as e:  # refused, loudly
            assert str(e)
            continue
        got = out.detach().numpy()
        assert got.dtype == ref_out.dtype, "the stacked list keeps the elements' dtype"
        np.testing.assert_allclose(got, ref_out, err_msg="forward", **TOL[dtype])
        grads = backward([out], [tg.tensor(ct)], sources=[args[j] for j in idx])
        _assert_grads(grads, ref_grads, arrays, idx, dtype, f"argument {i} as a {kind}")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.1)
@given(data=st.data())
def test_sequences_holding_tensors_compile(spec, data):
    """The same entry path inside ``tg.compile(tg.grad(...))``: the compiled gradient of
    ``f([x0, x1, ...])`` is the eager gradient of the plain call."""
    arrays, kw = spec.make(data.draw, np.float64)
    plain = _plain(spec, arrays, kw, data)
    if plain is None:
        return
    _, ct, idx, ref_grads = plain
    i = next((j for j in idx if arrays[j].ndim and arrays[j].shape[0]), None)
    if i is None or np.iscomplexobj(ct):
        return

    def loss(x):
        call = [tg.tensor(a) for a in arrays]
        call[i] = [x[k] for k in range(x.shape[0])]
        return tg.sum(spec.fn(*call, **kw) * ct)

    try:
        got = tg.compile(tg.grad(loss))(arrays[i])
    except (TypeError, ValueError, RuntimeError, AttributeError, NotImplementedError) as e:
        assert str(e)  # refused loudly (as eagerly: Python's list semantics, guards)
        return
    np.testing.assert_allclose(got.numpy(), ref_grads[idx.index(i)],
                               err_msg="compiled gradient of the listed argument",
                               **TOL[np.float64])


# -- Python numbers and arrays from tensors being differentiated ----------------------
_CONVERSIONS = {
    "float": float, "complex": complex, "item": lambda t: t.item(),
    "tolist": lambda t: t.tolist(), "numpy": lambda t: t.numpy(),
    "np.asarray": np.asarray, "math.sin": math.sin,
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@scaled(0.1)
@given(data=st.data(), name=st.sampled_from(sorted(_CONVERSIONS)))
def test_conversions_of_differentiated_values_raise(spec, data, name):
    """Inside tg.grad a number or array from a differentiated value is refused (JAX
    raises there too), never a silent zero."""
    arrays, kw = spec.make(data.draw, np.float64)
    if _plain(spec, arrays, kw, data) is None:
        return
    idx = _diff_indices(spec, arrays)
    convert = _CONVERSIONS[name]

    def loss(*diff):
        full = [tg.tensor(a) for a in arrays]
        for i, d in zip(idx, diff):
            full[i] = d
        out = tg.sum(spec.fn(*full, **kw))
        return out * convert(out)

    with pytest.raises(tg.ConversionError, match="being differentiated"):
        tg.grad(loss, argnums=tuple(range(len(idx))))(*[arrays[i] for i in idx])


@pytest.mark.parametrize("name", sorted(_CONVERSIONS))
def test_conversions_inside_compile_raise(name):
    convert = _CONVERSIONS[name]

    def loss(x):
        return tg.sum(x * convert(tg.sum(x)))

    x = np.array([0.5, 1.5])
    with pytest.raises(tg.ConversionError, match="inside tg.compile"):
        tg.compile(tg.grad(loss))(x)
    # Without a transform inside, the value read is a guard of the program, and the
    # compiled value is eager's.
    with tg.no_grad():
        want = loss(tg.tensor(x)).numpy()
    np.testing.assert_allclose(tg.compile(loss)(x).numpy(), want)
