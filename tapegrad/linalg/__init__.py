"""``tg.linalg``: NumPy's and the array API's ``linalg`` namespace, differentiable.

Every function takes real or complex matrices; complex gradients follow JAX's convention
(``jax.vjp``'s transpose, never its conjugate).

The matrix primitives (``inv``, ``solve``, ``det``, ``slogdet``, ``cholesky``, ``eigh``,
``eig``, ``qr``, ``svd``, ``pinv``) are defined in :mod:`tapegrad.primitives.linalg_ext`; norms and
the rest are compositions, written as ``jax.numpy.linalg`` writes them so that their
gradients at the awkward points (zero vectors, ties) agree with JAX.
"""

from ._api import matrix_rank, pinv, qr, svd, trace, vector_norm
from ._core import (
    cholesky,
    cross,
    det,
    diagonal,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    inv,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_transpose,
    multi_dot,
    norm,
    outer,
    slogdet,
    solve,
    svdvals,
    tensordot,
    vecdot,
)

__all__ = [
    "cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul",
    "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm",
    "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace",
    "vecdot", "vector_norm",
]
