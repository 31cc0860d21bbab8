"""Op specs for the array API's keywords and modes (written once for tapegrad and
jax.numpy, see specs_numpy.py): ``dtype=`` on ``sum``, ``prod``, ``cumulative_sum`` and
``linalg.trace``, ``clip(min=, max=)``, ``astype(copy=)`` and ``linalg.pinv(rtol=)``."""

from __future__ import annotations

from op_specs import fixed, register
from specs_linalg_fft import _rectangular
from specs_numpy import both


def _keywords_body(xp, x):
    # Complex input (tests/test_complex_inputs.py) accumulates in complex128 and clips
    # the real part (clip orders values: it is real-only).
    wide = xp.complex128 if xp.isdtype(x.dtype, "complex floating") else xp.float64
    r = xp.real(x)
    out = (xp.sum(x, axis=0, dtype=wide) + xp.prod(x, axis=0, dtype=wide)
           + xp.cumulative_sum(x, axis=0, dtype=wide, include_initial=True)[-1]
           + xp.astype(xp.clip(r, min=-0.5, max=0.5)[0], wide)
           + xp.clip(r, max=1.0)[1] * xp.clip(r, min=-1.0)[2]
           + xp.astype(x, x.dtype, copy=True)[1] * 2.0)
    return out * xp.linalg.trace(x, dtype=wide)


register(
    both("array_api_keywords", _keywords_body, fixed((3, 3)),
         ("sum", "prod", "cumsum", "maximum", "minimum", "astype", "identity", "real")),
    # The drawn singular values are 1, 2.3, 3.6: no cut-off below 0.27 removes one (with
    # a cut, JAX's rule, used here too, is not the derivative of the cut pseudo-inverse).
    both("pinv_rtol", lambda xp, a: xp.linalg.pinv(a, rtol=1e-3)
         + 0.5 * xp.linalg.pinv(a, rtol=0.2), _rectangular, ("pinv_rtol",)),
)
