"""``tg.gradcheck`` passes correct derivatives and catches wrong ones, including the
imaginary part of a complex output."""

import numpy as np
import pytest

import tapegrad as tg

X = np.array([0.3, -1.2, 0.7])


def _scaled_sin(scale):
    """``sin`` whose VJP is ``scale`` times the true one (1.0: correct)."""

    @tg.custom_vjp
    def f(a):
        return tg.sin(a)

    f.defvjp(lambda a: (tg.sin(a), a), lambda a, g: (g * tg.cos(a) * scale,))
    return f


def test_correct_derivatives_pass_for_pytrees_and_complex_outputs():
    assert tg.gradcheck(lambda x, y: {"a": tg.sin(x) * y, "b": [x.sum()]}, X, np.array(2.0))
    assert tg.gradcheck(lambda x: tg.exp(1j * x) * x, X)  # real input, complex output
    assert tg.gradcheck(_scaled_sin(1.0), X)


def test_a_wrong_rule_is_caught():
    with pytest.raises(tg.GradcheckError, match="Jacobian mismatch .* input 0"):
        tg.gradcheck(_scaled_sin(1.5), X)
    assert not tg.gradcheck(_scaled_sin(1.5), X, raise_exception=False)


def test_a_wrong_imaginary_part_is_caught():
    # d/dx of x + i*sin(x) is 1 + i*cos(x); this rule's imaginary part is 1.5x too big
    f = _scaled_sin(1.5)
    assert not tg.gradcheck(lambda x: x + 1j * f(x), X, raise_exception=False)
    assert tg.gradcheck(lambda x: x + 1j * _scaled_sin(1.0)(x), X)
