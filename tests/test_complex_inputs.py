"""Every op spec on complex inputs against ``jax.vjp`` (complex128 tight, complex64 loose).

The op-spec table (``op_specs.SPECS``) draws real arguments inside each op's domain; here
the differentiated ones get an imaginary part (``0.3`` times a standard normal draw) and
the spec's function and reference run on the complex arrays. The VJP is compared in
JAX's convention, which tapegrad follows: the transpose of the linear map, never its
conjugate, with a complex cotangent (real and imaginary parts drawn independently) for a
complex output. A spec either matches jax or, where tapegrad (like NumPy) has no complex
version of the operation, raises a clear error: never a silently different value.

Specs that cannot be compared are listed below, each with the reason.
"""

from __future__ import annotations

import importlib
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax_ref import FAST_COMPILE, TRACE_ERRORS
from op_specs import SPECS, scaled

import tapegrad as tg
from tapegrad.backward import backward

jax.config.update("jax_enable_x64", True)

for _path in sorted(pathlib.Path(__file__).parent.glob("specs_*.py")):
    importlib.import_module(_path.stem)

TOL = {np.complex128: dict(rtol=1e-9, atol=1e-9), np.complex64: dict(rtol=2e-3, atol=2e-3)}
REAL = {np.complex128: np.float64, np.complex64: np.float32}
IMAG_SCALE = 0.3

# jax refuses complex input for these (so there is no reference to compare with).
JAX_REJECTS = {
    "clip": "jnp.clip: complex values have no ordering",
    "cbrt": "jnp.cbrt accepts floating dtypes only",
    "hypot": "jnp.hypot is not defined for complex input",
    "hypot_origin": "jnp.hypot is not defined for complex input",
    "remainder": "jnp.remainder (lax.rem) accepts integer and floating dtypes only",
    "fmod": "jnp.fmod (lax.rem) accepts integer and floating dtypes only",
    "copysign": "jnp.copysign does not support complex input",
    "zero_gradient": "jnp.floor accepts floating dtypes only",
    "tests_of_values": "jnp.signbit is not defined for complex input",
    "bitwise": "jnp.floor accepts floating dtypes only",
    "argsort_argmax": "jnp.argmax on complex input needs lax.gt, which refuses complex",
    "median": "jnp.quantile does not support complex input",
    "partition": "jnp.partition is not implemented for complex dtypes",
    "unique": "jnp.floor accepts floating dtypes only",
    "rfft": "jnp.fft.rfft accepts real input only",
    "rfftn": "jnp.fft.rfftn accepts real input only",
    "ihfft": "jnp.fft.ihfft accepts real input only",
}

# The reference is not a complex reference for these.
NOT_A_REFERENCE = {
    # jnp.all / jnp.any of a complex array test the real part only (jnp.all([1j]) is
    # False); NumPy and tapegrad test the whole value.
    "any_all": "jnp.all reads only the real part of complex input",
    # jax has no real_if_close: the reference stands in for it assuming real arguments.
    "real_if_close": "the reference assumes real arguments (jax has no real_if_close)",
}

# tapegrad refuses complex input here, as NumPy does (NumPy has no complex arctan2,
# logaddexp, logaddexp2 or rad2deg), though jax defines them.
REFUSED = {
    "arctan2": "arctan2",
    "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2",
    "reciprocal_degrees": "rad2deg",
}

SKIPPED = {**JAX_REJECTS, **NOT_A_REFERENCE}
CHECKED = [s for s in SPECS if s.name not in SKIPPED]


def _diff_indices(spec, arrays):
    if spec.diff is not None:
        return spec.diff
    return tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")


def _complex_args(spec, dtype, data):
    """The spec's arguments with an imaginary part added to the differentiated ones."""
    arrays, kw = spec.make(data.draw, REAL[dtype])
    idx = _diff_indices(spec, arrays)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    arrays = [(a + IMAG_SCALE * 1j * rng.standard_normal(np.shape(a))).astype(dtype)
              if i in idx else a for i, a in enumerate(arrays)]
    return arrays, kw, idx, rng


def _cotangent(rng, like):
    ct = rng.standard_normal(like.shape)
    if jnp.issubdtype(like.dtype, jnp.complexfloating):
        ct = ct + 1j * rng.standard_normal(like.shape)
    return ct.astype(like.dtype)


def _jax_reference(spec, arrays, kw, idx, rng):
    """``(output, cotangent, jax.vjp's gradients)``, compiled as one program (much faster
    than jax's op-by-op dispatch) unless the reference needs concrete values."""

    def f(*diff):
        full = list(map(jnp.asarray, arrays))
        for i, d in zip(idx, diff):
            full[i] = d
        return spec.ref(*full, **kw)

    def out_and_grads(ct, *diff):
        out, pullback = jax.vjp(f, *diff)
        return out, pullback(ct)

    primals = [jnp.asarray(arrays[i]) for i in idx]
    try:
        like = jax.eval_shape(f, *primals)
        run = jax.jit(out_and_grads, compiler_options=FAST_COMPILE)
    except TRACE_ERRORS:  # a value-dependent shape (nonzero, unique...): run eagerly
        like, run = f(*primals), out_and_grads
    if not jnp.issubdtype(like.dtype, jnp.inexact):
        return np.asarray(f(*primals)), None, None  # no gradient to compare
    ct = _cotangent(rng, like)
    out, grads = run(jnp.asarray(ct), *primals)
    return np.asarray(out), ct, [np.asarray(g) for g in grads]


def _check(spec, dtype, data):
    arrays, kw, idx, rng = _complex_args(spec, dtype, data)
    args = [tg.tensor(a, requires_grad=(i in idx)) for i, a in enumerate(arrays)]
    if spec.name in REFUSED:
        with pytest.raises(TypeError, match=REFUSED[spec.name]):
            spec.fn(*args, **kw)
        return
    ref_out, ct, ref_grads = _jax_reference(spec, arrays, kw, idx, rng)
    out = spec.fn(*args, **kw)
    assert out.shape == ref_out.shape
    assert (out.dtype.kind == "c") == (ref_out.dtype.kind == "c"), "forward dtype kind"
    np.testing.assert_allclose(out.numpy(), ref_out, err_msg="forward", **TOL[dtype])
    if ct is None:
        return  # an integer or boolean result carries no gradient
    if out.requires_grad:
        grads = backward([out], [tg.tensor(ct)], sources=[args[i] for i in idx])
    else:
        grads = [None] * len(idx)
    for i, g, rg in zip(idx, grads, ref_grads):
        if g is None:
            got = np.zeros_like(rg)
        else:
            assert g.shape == arrays[i].shape
            assert g.dtype == arrays[i].dtype, f"gradient dtype of argument {i}"
            got = g.numpy()
        np.testing.assert_allclose(got, rg, err_msg=f"gradient of argument {i}", **TOL[dtype])


@pytest.mark.parametrize("spec", CHECKED, ids=lambda s: s.name)
@scaled(0.1)  # one example per spec in the quick profile; dev and thorough draw more
@given(data=st.data())
def test_complex128_vjp_matches_jax(spec, data):
    _check(spec, np.complex128, data)


@pytest.mark.parametrize("spec", CHECKED, ids=lambda s: s.name)
@scaled(0.1)
@given(data=st.data())
def test_complex64_vjp_matches_jax(spec, data):
    _check(spec, np.complex64, data)


def test_the_lists_name_specs_of_the_table():
    names = {s.name for s in SPECS}
    listed = set(SKIPPED) | set(REFUSED)
    assert listed <= names, f"not op specs: {sorted(listed - names)}"
    assert not set(SKIPPED) & set(REFUSED)


@pytest.mark.parametrize("name", sorted(JAX_REJECTS))
@settings(max_examples=1)
@given(data=st.data())
def test_jax_rejects_the_skipped_specs(name, data):
    # The skip list stays honest: jax still refuses complex input for each of them.
    spec = next(s for s in SPECS if s.name == name)
    arrays, kw, _, _ = _complex_args(spec, np.complex128, data)
    with pytest.raises((TypeError, ValueError, NotImplementedError)):
        spec.ref(*map(jnp.asarray, arrays), **kw)


def test_nan_to_num_keeps_the_finite_part_of_a_complex_entry():
    # Each part is replaced on its own, so the finite part of an entry keeps its gradient.
    z = np.array([complex(np.nan, 1.0), complex(2.0, np.inf), complex(-np.inf, np.nan),
                  1 + 2j, complex(np.inf, -3.0)])
    c = np.array([1 + 2j, -1 + 0.5j, 3 - 1j, 2j, 0.5 - 2j])
    want = np.asarray(jax.grad(lambda x: jnp.sum(jnp.real(jnp.nan_to_num(x) * c)))(z))
    got = tg.grad(lambda x: tg.sum(tg.real(tg.nan_to_num(x) * c)))(z).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=0)
    np.testing.assert_array_equal(want, [2j, -1, 0, 2j, -2j])
