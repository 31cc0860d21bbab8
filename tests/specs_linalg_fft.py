"""Op specs for ``tg.linalg`` and ``tg.fft`` (written once for tapegrad and jax.numpy, see
specs_numpy.py).

Matrices are drawn inside each rule's domain: diagonally dominant for ``inv``/``solve``,
symmetric positive definite for ``cholesky``, spectra with gaps for eigen- and singular
vectors, plus specs at the edges that JAX also defines (singular ``det``, repeated
eigenvalues through eigenvalues only, norms at zero).
"""

from __future__ import annotations

import jax
import numpy as np
from hypothesis import strategies as st
from op_specs import custom, fixed, register, shapes, values
from specs_numpy import INF, _nonzero, both, ri

import tapegrad as tg


# -- linalg -------------------------------------------------------------------------------
def _batch(draw):
    return draw(st.sampled_from([(), (2,)]))


@custom
def _well_conditioned(draw, dtype):
    # Strictly diagonally dominant, so comfortably invertible.
    n = draw(st.integers(1, 3))
    a = values(draw, _batch(draw) + (n, n), dtype, "unit") + (n + 0.5) * np.eye(n, dtype=dtype)
    return [a], {}


@custom
def _solve_args(draw, dtype):
    n = draw(st.integers(1, 3))
    a = values(draw, _batch(draw) + (n, n), dtype, "unit") + (n + 0.5) * np.eye(n, dtype=dtype)
    bshape = draw(st.sampled_from([(n,), (n, 2), a.shape[:-1] + (1,)]))
    return [a, values(draw, bshape, dtype)], {}


@custom
def _singular(draw, dtype):
    # Rank n - 1 (where det's gradient, the adjugate, is not zero) or lower.
    n, r = draw(st.sampled_from([(2, 1), (3, 2), (3, 1)]))
    b, c = values(draw, (n, r), np.float64), values(draw, (r, n), np.float64)
    return [(b @ c).astype(dtype)], {}


@custom
def _spd(draw, dtype):
    n = draw(st.integers(1, 3))
    m = values(draw, _batch(draw) + (n, n), np.float64)
    # Plus a non-symmetric part: both libraries read the symmetric part only.
    a = m @ np.swapaxes(m, -1, -2) + n * np.eye(n) + 0.1 * values(draw, (n, n), np.float64)
    return [a.astype(dtype)], {}


@custom
def _separated_spectrum(draw, dtype):
    # Eigenvalues at least 1 apart, so eigenvector gradients are well conditioned.
    n = draw(st.integers(1, 3))
    q, _ = np.linalg.qr(values(draw, (n, n), np.float64) + 3 * np.eye(n))
    w = draw(st.permutations(np.arange(n) * 1.5 - 1.0))
    a = q @ np.diag(w) @ q.T + 0.05 * values(draw, (n, n), np.float64)
    return [a.astype(dtype)], {}


@custom
def _repeated_spectrum(draw, dtype):
    n = draw(st.integers(2, 3))
    q, _ = np.linalg.qr(values(draw, (n, n), np.float64) + 3 * np.eye(n))
    w = np.array([1.0, 1.0, 2.5][:n])
    return [(q @ np.diag(w) @ q.T).astype(dtype)], {}


@custom
def _rectangular(draw, dtype):
    m, n = draw(st.sampled_from([(3, 2), (2, 3), (3, 3), (1, 2), (2, 1)]))
    k = min(m, n)
    # Singular values spread apart (distinct, away from 0).
    u, _ = np.linalg.qr(values(draw, (m, m), np.float64) + 3 * np.eye(m))
    v, _ = np.linalg.qr(values(draw, (n, n), np.float64) + 3 * np.eye(n))
    s = np.zeros((m, n))
    s[range(k), range(k)] = 1.0 + 1.3 * np.asarray(draw(st.permutations(range(k))))
    return [(u @ s @ v.T).astype(dtype)], {}


def _column_signs(xp, v):
    """Signs (phases, for complex ``v``) that fix the sign freedom of eigen/singular
    vectors (columns of ``v``): each column's sum becomes real and positive.

    ``sign`` has a zero derivative in both libraries, and their rules move with the
    vectors' phases, so the gradient does not depend on the phases LAPACK picks."""
    s = xp.conj(xp.sign(v.sum(-2, keepdims=True)))
    return xp.where(s == 0, 1.0, s)


def _eigh_body(xp, a):
    w, v = xp.linalg.eigh(a)
    return xp.concatenate([w[..., None, :], v * _column_signs(xp, v)], axis=-2)


def _svd_body(xp, a):
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    sign = _column_signs(xp, u)
    return xp.concatenate([(u * sign).reshape(-1), s,
                           (vh * xp.conj(xp.swapaxes(sign, -1, -2))).reshape(-1)])


def _qr_body(xp, a):
    q, r = xp.linalg.qr(a)
    d = xp.sign(xp.diagonal(r, 0, -2, -1))  # Q D and D^H R: a positive diagonal of R
    return xp.concatenate([(q * d[..., None, :]).reshape(-1),
                           (r * xp.conj(d)[..., :, None]).reshape(-1)])


@custom
def _tall(draw, dtype):
    m, n = draw(st.sampled_from([(3, 2), (3, 3), (2, 2), (4, 1)]))
    return [values(draw, (m, n), dtype) + 3.0 * np.eye(m, n, dtype=dtype)], {}


_NORMS = [None, 1, 2, 3, 0.5, INF, -INF, 0]
_MATRIX_NORMS = [None, "fro", "nuc", 1, -1, 2, -2, INF, -INF]

register(
    both("inv", lambda xp, a: xp.linalg.inv(a), _well_conditioned, ("inv",)),
    both("solve", lambda xp, a, b: xp.linalg.solve(a, b), _solve_args, ("linalg_solve",)),
    both("det", lambda xp, a: xp.linalg.det(a), _well_conditioned, ("det", "adjugate")),
    both("det_singular", lambda xp, a: xp.linalg.det(a), _singular, ("det", "adjugate"),
         smooth=False),
    both("slogdet", lambda xp, a: xp.linalg.slogdet(a)[1] * xp.linalg.slogdet(a)[0],
         _well_conditioned, ("slogdet",)),
    both("cholesky", lambda xp, a: xp.linalg.cholesky(a), _spd, ("cholesky",)),
    both("cholesky_upper", lambda xp, a: xp.linalg.cholesky(a, upper=True), _spd,
         ("cholesky",)),
    both("eigh", _eigh_body, _separated_spectrum, ("eigh",)),
    both("eigvalsh", lambda xp, a: xp.linalg.eigvalsh(a), _separated_spectrum, ("eigh",)),
    both("eigvalsh_repeated", lambda xp, a: xp.linalg.eigvalsh(a).sum()
         + (xp.linalg.eigvalsh(a) * xp.arange(a.shape[-1])).sum() * 0.0,
         _repeated_spectrum, ("eigh",), smooth=False),
    both("qr", _qr_body, _tall, ("qr",)),
)


@custom
def _vector_norm_args(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=2))
    # A vector norm: of a 1-D array, or along one axis of a 2-D one.
    axis = draw(st.sampled_from([0, 1, -1])) if len(shape) == 2 else None
    x = _nonzero(draw, shape, dtype)
    ord_ = draw(st.sampled_from(_NORMS))
    if ord_ in (INF, -INF):
        # max|x| at x == 0 is a kink where any value in [-1, 1] is a subgradient; JAX's
        # answer there comes from its max(..., initial=0) tie, not from a convention.
        x = np.where(x == 0, 0.5, x).astype(dtype)
    return [x], {"ord": ord_, "axis": axis}


@custom
def _matrix_norm_args(draw, dtype):
    x = _rectangular(draw, dtype)[0][0]
    return [x], {"ord": draw(st.sampled_from(_MATRIX_NORMS))}


register(
    both("svd", _svd_body, _rectangular, ("svd",)),
    both("svdvals", lambda xp, a: xp.linalg.svdvals(a) if xp is tg
         else xp.linalg.svd(a, compute_uv=False), _rectangular, ("svd",)),
    both("svdvals_repeated", lambda xp, a: xp.linalg.norm(a, "nuc"),
         custom(lambda d, t: ([np.eye(3, dtype=t) * 2.0 + values(d, (3, 3), t) * 0.0], {})),
         ("svd",), smooth=False),
    both("pinv", lambda xp, a: xp.linalg.pinv(a), _rectangular, ("pinv",)),
    both("norm", lambda xp, x, ord, axis: xp.linalg.norm(x, ord, axis), _vector_norm_args,
         ("sqrt", "abs", "power", "max", "min"), smooth=False, fd=False),
    both("norm_smooth", lambda xp, x: xp.linalg.norm(x) + xp.linalg.norm(x, 3, axis=-1).sum()
         + xp.linalg.vector_norm(x, ord=2) + xp.linalg.norm(x, axis=(0, 1)),
         custom(lambda d, t: ([values(d, (2, 3), t, "pos")], {})), ("sqrt", "power")),
    both("norm_at_zero", lambda xp, x: xp.linalg.norm(x * 0.0) + xp.linalg.norm(x * 0.0, 1),
         fixed((3,)), ("sqrt",), smooth=False, fd=False),
    both("matrix_norm", lambda xp, x, ord: xp.linalg.norm(x, ord), _matrix_norm_args,
         ("svd", "max", "min", "sum"), smooth=False, fd=False),
    both("matrix_norm_keepdims", lambda xp, x: xp.linalg.matrix_norm(x, keepdims=True)
         + xp.linalg.matrix_norm(x, ord="nuc", keepdims=True)
         + xp.linalg.norm(x, 2, axis=(1, 0), keepdims=True),
         custom(lambda d, t: ([_rectangular(d, t)[0][0]], {})), ("svd",)),
    both("matrix_power", lambda xp, a: xp.linalg.matrix_power(a, 3)
         + xp.linalg.matrix_power(a, -2) + xp.linalg.matrix_power(a, 0), _well_conditioned,
         ("matmul", "inv")),
    both("multi_dot", lambda xp, a, b, c: xp.linalg.multi_dot([a, b, c]),
         fixed((2, 3), (3, 3), (3,)), ("matmul",)),
    both("linalg_aliases", lambda xp, a: xp.linalg.trace(a) + xp.linalg.diagonal(a).sum(-1)
         + xp.linalg.matrix_transpose(a)[..., 0, :].sum(-1), fixed((2, 3, 3)), ("getitem",)),
)


# -- fft ------------------------------------------------------------------------------------
@custom
def _fft_args(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=2, min_side=2, max_side=5))
    axis = draw(st.sampled_from(list(range(-len(shape), 0))))
    n = draw(st.sampled_from([None, 2, 3, 4, 6]))
    norm = draw(st.sampled_from([None, "ortho", "forward"]))
    return [values(draw, shape, dtype), values(draw, shape, dtype)], {
        "n": n, "axis": axis, "norm": norm}


def _fft_body(name, real_in):
    def body(xp, a, b, **kw):
        z = a if real_in else a + 1j * b
        out = getattr(xp.fft, name)(z, **kw)
        return out if name == "irfft" else ri(xp, out)

    return body


register(
    both("fft", _fft_body("fft", False), _fft_args, ("fft",)),
    both("fft_real_input", _fft_body("fft", True), _fft_args, ("fft",)),
    both("ifft", _fft_body("ifft", False), _fft_args, ("ifft",)),
    both("rfft", _fft_body("rfft", True), _fft_args, ("rfft",)),
    both("irfft", _fft_body("irfft", False), _fft_args, ("irfft",)),
    both("fftn", lambda xp, a, b: ri(xp, xp.fft.fftn(a + 1j * b, s=(3, 4)))
         + ri(xp, xp.fft.ifft2(a - 1j * b)).sum(), fixed((2, 3), (2, 3)), ("fft", "ifft")),
    both("rfftn", lambda xp, a: xp.fft.irfftn(xp.fft.rfftn(a) * 1.5 + 1.0, s=(2, 4))
         + xp.fft.irfft2(xp.fft.rfft2(a) * (1 + 1j)).sum(), fixed((2, 4)),
         ("rfft", "irfft", "fft", "ifft")),
    both("fftshift", lambda xp, a: xp.fft.fftshift(a) + xp.fft.ifftshift(a, axes=1) * 2.0,
         fixed((3, 4)), ("roll",)),
)


# -- eig (general matrices) -------------------------------------------------------------
def _eig_domain_ok(a) -> bool:
    # Well-conditioned eigenvectors whose largest-magnitude entry is clear of the
    # runner-up (the normalisation LAPACK applies, and JAX differentiates, switches there).
    w, v = np.linalg.eig(a)
    mags = np.sort(np.abs(v), axis=-2)
    clear = a.shape[-1] == 1 or (mags[..., -1, :] - mags[..., -2, :]).min() > 0.05
    return bool(np.linalg.cond(v).max() < 10 and clear)


def _general_matrices(complex_input):
    @custom
    def make(draw, dtype):
        # A = S diag(w) S^-1 (a real block for a complex pair) with eigenvalues >= 1 apart.
        n = draw(st.integers(1, 3))
        batch = _batch(draw)
        pair = not complex_input and n >= 2 and draw(st.booleans())
        rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
        while True:
            mats = []
            for _ in range(int(np.prod(batch, dtype=int))):
                if complex_input:
                    b = np.diag(rng.permutation([-1.0, 0.5 + 1j, 2.0 - 0.5j])[:n])
                    s = np.eye(n) + 0.4 * (rng.standard_normal((n, n))
                                           + 1j * rng.standard_normal((n, n)))
                else:
                    b = np.diag(rng.permutation([-1.0, 0.5, 2.0])[:n]).astype(complex)
                    if pair:
                        b[:2, :2] = [[0.5, 1.2], [-1.2, 0.5]]  # eigenvalues 0.5 +- 1.2i
                    s = np.eye(n) + 0.4 * rng.standard_normal((n, n))
                mats.append(s @ b @ np.linalg.inv(s))
            a = np.array(mats).reshape(batch + (n, n))
            if _eig_domain_ok(a):
                break
        if complex_input:
            return [a.real.astype(dtype), a.imag.astype(dtype)], {}
        return [a.real.astype(dtype)], {}

    return make


def _eig(xp, z):
    if xp is tg:
        return tg.linalg.eig(z)
    # jax.numpy.linalg.eig differentiates eigenvalues only; this is the same rule with
    # the eigenvector part switched on.
    return jax.lax.linalg.eig(z, compute_left_eigenvectors=False, enable_eigvec_derivs=True)


def _eig_body(xp, a, b=None):
    w, v = _eig(xp, a if b is None else a + 1j * b)
    # Independent of the order of the eigenpairs and of each eigenvector's sign (what
    # LAPACK leaves free), not of its phase: that one follows the normalisation.
    wr = w[..., None, :]
    return ri(xp, (wr ** 2 * v ** 2 + xp.abs(v) * wr).sum(-1))


def _eigvals_body(xp, a):
    # jax.numpy.linalg.eigvals' own second derivative needs the eigenvector rule.
    w = tg.linalg.eigvals(a) if xp is tg else _eig(xp, a)[0]
    return ri(xp, xp.stack([w.sum(-1), (w ** 2).sum(-1), (xp.exp(w) * w).sum(-1)]))


register(
    both("eig", _eig_body, _general_matrices(False), ("eig",)),
    both("eig_complex_input", _eig_body, _general_matrices(True), ("eig",)),
    both("eigvals", _eigvals_body, _general_matrices(False), ("eig",)),
    both("hfft", lambda xp, a, b, **kw: xp.fft.hfft(a + 1j * b, **kw), _fft_args,
         ("irfft", "conj")),
    both("ihfft", lambda xp, a, b, **kw: ri(xp, xp.fft.ihfft(a, **kw)) + b[..., :1].sum(),
         _fft_args, ("rfft", "conj")),
)
