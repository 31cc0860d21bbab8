"""Matrix functions (``tg.linalg``): inverse, solve, determinants, factorizations.

Each VJP is written with tapegrad operations, so second derivatives come for free. All
of them act on the last two axes and broadcast over the leading (batch) axes. Rules and
their domains follow JAX:

* ``det`` differentiates through the adjugate, which is exact at singular matrices.
* ``cholesky`` and ``eigh`` read the Hermitian part ``(a + a.conj().T) / 2`` of their
  input (the symmetric part of a real one), so their gradients are Hermitian.
* ``eigh``'s eigenvector gradient divides by eigenvalue gaps: at repeated eigenvalues it
  is not finite (as in JAX), while gradients through eigenvalues alone stay exact.
* ``eig`` (general matrices) differentiates LAPACK's normalisation of the eigenvectors
  (unit 2-norm, largest-magnitude component real), as ``jax.lax.linalg.eig`` with
  ``enable_eigvec_derivs=True``: valid for distinct eigenvalues and eigenvectors whose
  largest-magnitude component is unique.
* ``qr`` differentiates for ``m >= n``; ``svd`` for the reduced factorization.

Complex input follows JAX's convention (a VJP is the transpose of the JVP, never its
conjugate): every rule below is JAX's, transposed, and its real case is unchanged. Where
a factor is unique only up to a phase per column (eigen and singular vectors, ``qr``'s
``Q``), the phase moves as in JAX: ``eigh``'s ``V^H dV`` has a zero diagonal; ``svd``'s
``V^H dV`` too, while ``U^H dU`` takes the imaginary diagonal; ``qr``'s ``R`` keeps a
real diagonal.
"""

from __future__ import annotations

from collections import namedtuple

import tapegrad.primitives as P

from ..backend import NUMPY, backend_of
from ..primitive import primitive
from ._native import is_complex, native
from ._util import data_of, needs, shape_of

__all__: list[str] = []  # exported through tapegrad.linalg, not the top-level namespace

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _mT(x):
    return P.swapaxes(x, -1, -2)


def _cj(x):
    """``conj(x)`` for complex ``x``; a real ``x`` as it is (nothing added to the tape)."""
    return P.conj(x) if is_complex(x) else x


def _H(x):
    """The conjugate transpose of the last two axes (the transpose of a real ``x``)."""
    return _mT(_cj(x))


def _sym(x):
    """The Hermitian part ``(x + x^H) / 2``: the transpose of reading it from ``x``."""
    return (x + _H(x)) * 0.5


def _eye_like(x, n):
    """An ``n x n`` identity of ``x``'s dtype, namespace and device (a constant)."""
    d = data_of(x)
    return (backend_of(d) or NUMPY).xp.eye(n, dtype=d.dtype, device=d.device)


def _col(v):
    return P.expand_dims(v, -1)


def _row(v):
    return P.expand_dims(v, -2)


def _mat(g):
    """A per-matrix scalar as a (..., 1, 1) array, to scale matrices."""
    return P.expand_dims(P.expand_dims(g, -1), -1)


def _gap_product(w, M):
    """``F * M`` with ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it.

    Where two of ``w`` coincide the product is NaN, as in JAX (the gradient does not
    exist there), unless ``M`` is exactly zero: no cotangent reached that entry, as when
    only eigenvalues (or singular values) are used, and the product is then zero.
    """
    n = shape_of(w)[-1]
    gap = _row(w) - _col(w)
    eye = _eye_like(w, n) != 0
    tie = gap == 0
    inv_gap = P.where(tie, 0.0, 1.0 / P.where(tie, 1.0, gap))
    return P.where(P.logical_and(P.logical_and(tie, ~eye), M != 0), float("nan"), inv_gap * M)


# -- inv, solve ---------------------------------------------------------------------
inv_p = primitive(
    "inv", lambda xp, a: xp.linalg.inv(a),
    lambda g, a, out: (-(_mT(out) @ g @ _mT(out)),),
    grad_name="LinalgInv", saves_output=True,
)


def _solve_vjp(g, a, b, out):
    vector = len(shape_of(b)) == 1
    if vector:  # a batch of vectors is not a matrix: solve each as a column
        gb = P.squeeze(P.linalg_solve_p.bind(_mT(a), P.expand_dims(g, -1)), -1)
    else:
        gb = P.linalg_solve_p.bind(_mT(a), g)
    ga = None
    if needs(a):
        ga = -(_col(gb) * _row(out)) if vector else -(gb @ _mT(out))
    return ga, (gb if needs(b) else None)


linalg_solve_p = primitive("linalg_solve", lambda xp, a, b: xp.linalg.solve(a, b), _solve_vjp,
                           grad_name="LinalgSolve", saves_output=True)


# -- det, slogdet ---------------------------------------------------------------------
def _adjugate_impl(xp, a):
    # adj(U S Vh) = det(U) det(Vh) V diag(prod_{j != i} s_j) U^H: no division, so it is
    # exact at singular matrices (the cofactor matrix JAX differentiates det with).
    if a.shape[-1] == 0:  # the empty matrix: det 1, an empty adjugate
        return xp.zeros_like(a)
    u, s, vt = xp.linalg.svd(a)
    n = s.shape[-1]
    diag = xp.eye(n, dtype=xp.bool, device=s.device)
    others = xp.where(diag, xp.ones_like(s)[..., None, :], s[..., None, :])
    p = xp.prod(others, axis=-1)
    sign = xp.linalg.det(u) * xp.linalg.det(vt)
    v, uh = xp.matrix_transpose(vt), xp.matrix_transpose(u)
    if is_complex(a):  # V = Vh^H and U^H: conjugate transposes (a plain one for real a)
        v, uh = xp.conj(v), xp.conj(uh)
    return sign[..., None, None] * xp.matmul(v * p[..., None, :], uh)


def _adjugate_vjp(g, a, out):
    # adj(A) = det(A) inv(A): valid where A is invertible (second derivatives only).
    ai_t = _mT(P.inv_p.bind(a))
    c = P.sum(g * _mT(ai_t), axis=(-2, -1), keepdims=True)
    return (_mat(P.det_p.bind(a)) * (c * ai_t - ai_t @ g @ ai_t),)


adjugate_p = primitive("adjugate", _adjugate_impl, _adjugate_vjp, grad_name="Adjugate",
                       saves_output=True)
det_p = primitive("det", lambda xp, a: xp.linalg.det(a),
                  lambda g, a: (_mat(g) * _mT(adjugate_p.bind(a)),), grad_name="LinalgDet")


def _slogdet_impl(xp, a):
    sign, logabsdet = xp.linalg.slogdet(a)
    return sign, logabsdet


def _slogdet_vjp(g, a, out):
    # JAX: with t = tr(A^-1 dA), d logabsdet = Re(t) and d sign = i Im(t) sign (zero for
    # real A). The transpose is (g_logabsdet + i Im(g_sign sign)) A^-T.
    gt = g[1]
    if is_complex(a):
        gt = gt + 1j * P.imag(g[0] * out[0])
    return (_mat(gt) * _mT(P.inv_p.bind(a)),)


slogdet_p = primitive("slogdet", _slogdet_impl, _slogdet_vjp, grad_name="LinalgSlogdet",
                      saves_output=True, multiple_results=True)


# -- cholesky -------------------------------------------------------------------------
def _cholesky_vjp(g, a, out):
    # Murray (2016), JAX's JVP dL = L Phi(L^-1 dA L^-H) transposed:
    # S = L^-T Phi(L^T G) conj(L^-1), Phi = lower triangle with half diagonal; the input
    # is read through its Hermitian part, so its gradient is sym(S).
    n = shape_of(out)[-1]
    li = P.inv_p.bind(out)
    m = _mT(out) @ g
    phi = P.tril(m) - 0.5 * (m * _eye_like(m, n))
    return (_sym(_mT(li) @ phi @ _cj(li)),)


def _cholesky_impl(xp, a):
    # The Hermitian part (a + a^H) / 2; self-contained, as export copies impls out.
    at = xp.matrix_transpose(a)
    if xp.isdtype(a.dtype, "complex floating"):
        at = xp.conj(at)
    return xp.linalg.cholesky((a + at) / 2)


cholesky_p = primitive("cholesky", _cholesky_impl, _cholesky_vjp, grad_name="LinalgCholesky",
                       saves_output=True)


# -- eigh -------------------------------------------------------------------------------
def _eigh_impl(xp, a):
    at = xp.matrix_transpose(a)  # the Hermitian part, as in _cholesky_impl
    if xp.isdtype(a.dtype, "complex floating"):
        at = xp.conj(at)
    w, v = xp.linalg.eigh((a + at) / 2)
    return w, v


def _eigh_vjp(g, a, out):
    # JAX's JVP (dV = V (F * V^H dA V), dw = Re diag(V^H dA V)) transposed:
    # conj(V) (F * V^T gV + diag(gw)) V^T, then through the Hermitian part.
    gw, gv = g
    w, v = out
    inner = _gap_product(w, _mT(v) @ gv)
    ga = _cj(v) @ (inner + _col(gw) * _eye_like(w, shape_of(w)[-1])) @ _mT(v)
    return (_sym(ga),)


eigh_p = primitive("eigh", _eigh_impl, _eigh_vjp, grad_name="LinalgEigh", saves_output=True,
                   multiple_results=True)


# -- eig (general matrices) --------------------------------------------------------------
def _eig_impl(xp, a):
    w, v = native(xp.linalg, "eig")(a)
    # Always complex (NumPy returns real arrays when every eigenvalue happens to be
    # real): the result type must not depend on the values.
    ctype = xp.result_type(a.dtype, xp.complex64)
    if w.dtype == ctype:
        return w, v
    return xp.astype(w, ctype), xp.astype(v, ctype)


def _eig_vjp(g, a, out):
    # The transpose of JAX's eig JVP (A = V diag(w) V^-1, P = V^-1 dA V):
    #   dw = diag(P),  dV = V (F * P) + V diag(c),  F[i, j] = 1 / (w[j] - w[i]),
    # where c fixes each column's free complex scale as LAPACK does (unit norm, and its
    # largest-magnitude entry, row k_j, stays real):
    #   c_j = -Re(v_j^H u_j) - i Im(u_kj) / Re(v_kj),  u = V (F * P).
    gw, gv = g
    w, v = out
    n = shape_of(w)[-1]
    s = P.sum(gv * v, axis=-2)  # the cotangent that reaches c_j (up to its Re/Im split)
    k = P.argmax(P.abs(v), axis=-2, keepdims=True)
    xp = (backend_of(data_of(v)) or NUMPY).xp
    rows = xp.reshape(xp.arange(n, dtype=data_of(k).dtype, device=data_of(k).device), (n, 1))
    at_k = P.equal(rows, k)  # at_k[i, j]: i == k_j
    # Row k_j of each column, read through the mask (a gather by k would need a
    # scatter-add for its gradient, which the array API lacks).
    v_k = P.real(P.sum(P.where(at_k, v, 0.0), axis=-2, keepdims=True))
    gu = (gv - P.conj(v) * _row(P.real(s))
          - 1j * P.where(at_k, P.imag(_row(s)) / v_k, 0.0))
    vt = _mT(v)
    gp = _gap_product(w, vt @ gu) + _col(gw) * _eye_like(w, n)
    ga = P.linalg_solve_p.bind(vt, gp @ vt)  # V^-T gP V^T
    return (ga if is_complex(a) else P.real(ga),)


eig_p = primitive("eig", _eig_impl, _eig_vjp, grad_name="LinalgEig", saves_output=True,
                  multiple_results=True)


# -- qr ---------------------------------------------------------------------------------
def _qr_vjp(g, a, out):
    gq, gr = g
    q, r = out
    m, n = shape_of(a)[-2:]
    if m < n:
        raise NotImplementedError("qr: the gradient needs m >= n (as in JAX)")
    # Transpose of JAX's QR JVP: A_bar = (Q_bar + conj(Q) N) R^-T with
    # M = R_bar R^T - Q^T Q_bar and N = M with its strict upper triangle mirrored
    # (conjugated) into the lower one; a complex diagonal keeps its real part only.
    mm = gr @ _mT(r) - _mT(q) @ gq
    if is_complex(a):
        n_ = shape_of(mm)[-1]
        nn = P.triu(mm, 1) + P.real(mm) * _eye_like(r, n_) + P.tril(_H(mm), -1)
    else:
        nn = P.triu(mm) + P.tril(_mT(mm), -1)
    b = gq + _cj(q) @ nn
    return (_mT(P.linalg_solve_p.bind(r, _mT(b))),)


qr_p = primitive("qr", lambda xp, a: tuple(xp.linalg.qr(a, mode="reduced")), _qr_vjp,
                 grad_name="LinalgQr", saves_output=True, multiple_results=True)


# -- svd --------------------------------------------------------------------------------
def _svd_vjp(g, a, out):
    # JAX's JVP transposed. With J = F * (U^T gU) and K = F * conj(Vh gVh^T),
    # F[i, j] = 1 / (s_j^2 - s_i^2):
    #   A_bar = conj(U) [(J + J^H) S + S (K + K^H) + diag(gS) + i Im diag(U^T gU) / S] conj(Vh)
    # plus the parts of gU (m > k) and gVh (n > k) outside U's and V's span. The
    # imaginary diagonal term (JAX's gauge: it goes to dU) vanishes for real input.
    gu, gs, gvh = g
    u, s, vh = out
    m, n = shape_of(a)[-2:]
    k = shape_of(s)[-1]
    cx = is_complex(a)
    uc, vhc = _cj(u), _cj(vh)
    sq = s * s  # gaps s_j^2 - s_i^2
    utgu = _mT(u) @ gu
    J = _gap_product(sq, utgu)
    K = _gap_product(sq, vhc @ _H(gvh))
    eye = _eye_like(s, k)
    zero = s == 0
    s_inv = P.where(zero, 0.0, 1.0 / P.where(zero, 1.0, s))  # JAX: 1/0 read as 0
    inner = (J + _H(J)) * _row(s) + _col(s) * (K + _H(K)) + _col(gs) * eye
    if cx:
        inner = inner + 1j * (P.imag(utgu) * eye) * _row(s_inv)
    ga = uc @ inner @ vhc
    if m > k:
        ga = ga + (gu - uc @ utgu) * _row(s_inv) @ vhc
    if n > k:
        ga = ga + uc @ (_col(s_inv) * (gvh - (gvh @ _mT(vh)) @ vhc))
    return (ga,)


svd_p = primitive("svd", lambda xp, a: tuple(xp.linalg.svd(a, full_matrices=False)), _svd_vjp,
                  grad_name="LinalgSvd", saves_output=True, multiple_results=True)


# -- pinv -------------------------------------------------------------------------------
def _pinv_vjp(g, a, out):
    # Golub & Pereyra; valid where the rank does not change (JAX uses the same rule).
    # JAX's JVP transposed. Its two range/null-space terms read dA^H, so for complex a
    # they take conj(P), conj(A) and g^H where a real a has P, A and g^T.
    p, pt = out, _mT(out)
    pc, ac = _cj(p), _cj(a)
    gt = _H(g)
    t1 = -(pt @ g @ pt)
    t2 = (gt - ac @ (pc @ gt)) @ (pc @ pt)
    t3 = (pt @ pc) @ (gt - gt @ (pc @ ac))
    return (t1 + t2 + t3,)


def _pinv_rtol_vjp(g, a, rtol, out):
    # The cut-off does not enter the rule (rank locally constant): JAX's pinv JVP.
    return _pinv_vjp(g, a, out=out)[0], None


pinv_rtol_p = primitive("pinv_rtol", lambda xp, a, rtol: xp.linalg.pinv(a, rtol=rtol),
                        _pinv_rtol_vjp, grad_name="LinalgPinv", saves_output=True)



pinv_p = primitive("pinv", lambda xp, a: xp.linalg.pinv(a), _pinv_vjp, grad_name="LinalgPinv",
                   saves_output=True)
