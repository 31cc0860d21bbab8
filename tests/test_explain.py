"""tg.explain_grad: each reason a tensor gets no gradient, checked against what backward does.

Every case first runs the real thing (``backward()`` or ``t.gradient``) to confirm the
gradient really is missing (or present), then checks the explanation's reason and
that its message names the cause (file:line of the ``no_grad``/``detach`` included).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import tapegrad as tg


def _line() -> int:
    return sys._getframe(1).f_lineno


def _seed():
    x1 = tg.tensor(2.0, requires_grad=True)
    x2 = tg.tensor(2.0, requires_grad=True)
    x3 = x1.square()
    x7 = x3 * 0.2 + x2.square() * 0.2 - 5
    return x1, x2, x3, x7


def test_ok_gives_the_path_and_matches_backward():
    x1, x2, x3, x7 = _seed()
    e = tg.explain_grad(x7, x1)
    assert e.ok and e.reason == "ok"
    assert e.path == ("x", "PowBackward0", "MulBackward1", "AddBackward0", "SubBackward1",
                      "y")
    x7.backward()
    assert x1.grad.item() == pytest.approx(0.8)  # the seed's value


def test_not_a_leaf_without_retain_grad():
    x1, x2, x3, x7 = _seed()
    e = tg.explain_grad(x7, x3)
    assert e.reason == "not_leaf"
    assert "retain_grad()" in e.message and "PowBackward0" in e.message
    x3.retain_grad()
    assert tg.explain_grad(x7, x3).ok
    x7.backward()
    assert x3.grad.item() == pytest.approx(0.2)  # the seed's value


def test_recorded_under_no_grad_names_file_and_line():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    with tg.no_grad():
        line = _line()
        z = x * 2
    y = (z * w).sum()
    e = tg.explain_grad(y, x)
    assert e.reason == "no_grad"
    assert e.site == f"{__file__}:{line - 1}"
    assert e.site in e.message and "multiply" in e.message
    y.backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
    # After backward the graph is freed; what was noted about x still names the site.
    after = tg.explain_grad(y, x)
    assert after.reason == "no_grad" and after.site == e.site and "freed" in after.message


def test_freed_graph_without_notes_says_backward_missed_x():
    x = tg.tensor(1.0, requires_grad=True)
    y = tg.tensor(2.0, requires_grad=True) * 3
    y.backward()
    e = tg.explain_grad(y, x)
    assert e.reason == "freed" and "did not reach x" in e.message


def test_no_grad_chain_points_back_to_the_block():
    # Only the first operation inside the block touches x; later ones see constants.
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor(1.0, requires_grad=True)
    with tg.no_grad():
        line = _line()
        z = tg.exp(x * 2) + 1
    e = tg.explain_grad((z * w).sum(), x)
    assert e.reason == "no_grad" and e.site == f"{__file__}:{line - 1}"


def test_no_grad_decorator_points_at_the_function():
    @tg.no_grad()
    def halve(v):
        return v / 2

    x = tg.tensor(1.0, requires_grad=True)
    w = tg.tensor(1.0, requires_grad=True)
    y = halve(x) * w
    e = tg.explain_grad(y, x)
    assert e.reason == "no_grad"
    assert e.site == f"{__file__}:{halve.__wrapped__.__code__.co_firstlineno}"


def test_enable_grad_inside_no_grad_records():
    x = tg.tensor(1.0, requires_grad=True)
    with tg.no_grad(), tg.enable_grad():
        y = x * 3
    assert tg.explain_grad(y, x).ok


def test_cut_by_detach_at_a_node():
    x = tg.tensor(2.0, requires_grad=True)
    w = tg.tensor(1.0, requires_grad=True)
    h = x * 3
    line = _line()
    y = h.detach() * w
    e = tg.explain_grad(y, x)
    assert e.reason == "detach"
    assert e.site == f"{__file__}:{line + 1}"
    assert e.path == ("x", "MulBackward1", "[detach: cut]", "MulBackward0", "y")
    assert "MulBackward1" in e.message
    y.backward()
    assert x.grad is None


def test_detach_of_a_temporary():
    x = tg.tensor(2.0, requires_grad=True)
    y = (x * 3).detach() * tg.tensor(1.0, requires_grad=True)
    assert tg.explain_grad(y, x).reason == "detach"


def test_integer_dtype_input():
    x = tg.tensor(np.array([1, 2]))
    e = tg.explain_grad(tg.tensor(1.0, requires_grad=True) * 2, x)
    assert e.reason == "integer_dtype" and "int64" in e.message
    with pytest.raises(RuntimeError, match="floating-point"):
        x.requires_grad = True


def test_integer_value_on_the_path():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    w = tg.tensor(1.0, requires_grad=True)
    y = (x.astype("int32") * w).sum()
    e = tg.explain_grad(y, x)
    assert e.reason == "integer_dtype" and "astype" in e.message


def test_operation_without_gradient():
    x = tg.tensor([1.5, -2.5], requires_grad=True)
    w = tg.tensor(1.0, requires_grad=True)
    y = (tg.sign(x) * w).sum()
    e = tg.explain_grad(y, x)
    assert e.reason == "no_vjp" and "`sign`" in e.message


def test_requires_grad_false_leaf():
    x = tg.tensor(2.0)
    w = tg.tensor(1.0, requires_grad=True)
    e = tg.explain_grad(x * w, x)
    assert e.reason == "requires_grad_false" and "requires_grad_()" in e.message


def test_no_path():
    x1, x2, x3, x7 = _seed()
    other = tg.tensor(1.0, requires_grad=True)
    e = tg.explain_grad(x7, other)
    assert e.reason == "no_path" and "does not depend on x" in e.message
    with tg.tape() as t:
        y = x2 * 3
    assert t.gradient(y, other) is None
    assert tg.explain_grad(y, other).reason == "no_path"


def test_graph_freed_by_an_earlier_backward():
    x1, x2, x3, x7 = _seed()
    x7.backward()
    e = tg.explain_grad(x7, x1)
    assert e.reason == "freed" and "retain_graph=True" in e.message
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        x7.backward()


def test_retain_graph_keeps_it_explainable():
    x1, x2, x3, x7 = _seed()
    x7.backward(retain_graph=True)
    assert tg.explain_grad(x7, x1).ok


def test_bad_arguments():
    with pytest.raises(TypeError, match="must be a Tensor"):
        tg.explain_grad(1.0, tg.tensor(1.0))


def test_notes_are_bounded_and_weak():
    from tapegrad import explain

    explain._cuts.clear()
    x = tg.tensor(1.0, requires_grad=True)
    with tg.no_grad():
        kept = [x * 2 for _ in range(explain.MAX_CUTS + 10)]
    assert len(explain._cuts) == explain.MAX_CUTS
    del kept
    assert all(c.out() is None for c in explain._cuts.values())


def test_backward_inside_a_vjp_notes_nothing():
    # Backward runs with recording off but no user no_grad: nothing to note.
    from tapegrad import explain

    explain._cuts.clear()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert len(explain._cuts) == 0


def test_message_is_the_repr():
    x1, x2, x3, x7 = _seed()
    e = tg.explain_grad(x7, x1)
    assert repr(e) == str(e) == e.message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.explain_grad(x7, x3)  # must not touch x3.grad (which would warn)
