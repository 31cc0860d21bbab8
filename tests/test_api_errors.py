"""The public API's behaviour on bad input, compared with PyTorch and JAX.

Each test pins one rule: bad input raises an error naming the operation and what it
expected (where PyTorch or JAX raise), and nothing is silently wrong (dtypes, hooks,
``inputs=``, watched constants).
"""

import sys

import jax
import numpy as np
import pytest

import tapegrad as tg

try:  # not in the test extra: PyTorch's side of a comparison runs where it is installed
    import torch
except ImportError:
    torch = None


# -- backward -------------------------------------------------------------------------
def test_backward_seed_takes_the_outputs_dtype_like_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.backward(np.ones(2))  # float64 seed for a float32 leaf
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    if torch is not None:
        xt = torch.tensor([1.0, 2.0], requires_grad=True)
        xt.backward(torch.ones(2, dtype=torch.float64))
        assert xt.grad.dtype == torch.float32


def test_backward_rejects_a_complex_seed_for_a_real_output_like_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    if torch is not None:
        xt = torch.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="dtype"):
            (xt * 2).backward(torch.ones(2) * 1j)
    with pytest.raises(RuntimeError, match="backward: the gradient has dtype complex128"):
        (x * 2).backward(np.ones(2) * 1j)


def test_backward_inputs_like_torch():
    a = tg.tensor([1.0], requires_grad=True)
    (a * 2).sum().backward(inputs=a)  # a single tensor
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])
    h = a * 3  # a non-leaf input collects its gradient in .grad
    (h * 2).sum().backward(inputs=[h])
    np.testing.assert_array_equal(h.grad.numpy(), [2.0])
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])  # unchanged
    if torch is not None:
        at = torch.tensor([1.0], requires_grad=True)
        (at * 2).sum().backward(inputs=at)
        ht = at * 3
        (ht * 2).sum().backward(inputs=[ht])
        assert ht.grad.tolist() == [2.0] and at.grad.tolist() == [2.0]
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (a * 2).sum().backward(inputs=[])
    with pytest.raises(TypeError, match="backward: inputs must be tensors, got float"):
        (a * 2).sum().backward(inputs=[1.0])
    with pytest.raises(RuntimeError, match="must require grad"):
        (a * 2).sum().backward(inputs=[tg.tensor(1.0)])


def test_backward_inputs_leaf_hooks_run_once():
    calls = []
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    a.register_hook(lambda g: calls.append(1) or g * 10)
    (a * 2).sum().backward(inputs=[a])
    assert len(calls) == 1
    np.testing.assert_array_equal(a.grad.numpy(), [20.0, 20.0])


@pytest.mark.parametrize("leaf", [True, False])
def test_hook_changing_the_shape_raises_like_torch(leaf):
    def attach(t, mod):
        x = t([1.0, 2.0], requires_grad=True)
        h = x if leaf else x * 2
        h.register_hook(lambda g: mod.ones(3))
        return x, (h * 1).sum()

    if torch is not None:
        _, yt = attach(torch.tensor, torch)
        with pytest.raises(RuntimeError, match="size"):
            yt.backward()
    x, y = attach(tg.tensor, tg)
    with pytest.raises(RuntimeError, match="hook '<lambda>' changed the gradient's shape"):
        y.backward()
    assert x.grad is None


def test_hook_changing_the_dtype_or_returning_junk_raises_like_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g.astype(np.int64))
    with pytest.raises(RuntimeError, match="changed the gradient's dtype"):
        h.sum().backward()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: "abc")
    with pytest.raises(TypeError, match="must return a tensor, an array or None, got str"):
        (x * 2).sum().backward()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.ones(2))  # float64 for float32: cast, as a gradient
    (x * 2).sum().backward()
    assert x.grad.dtype == np.float32


def test_a_vjp_returning_the_wrong_shape_is_named():
    @tg.custom_vjp
    def f(a):
        return a * 2

    f.defvjp(lambda a: (a * 2, None), lambda res, g: (tg.ones(3),))
    with pytest.raises(RuntimeError, match=r"CustomVjp\[f\]Backward0 returned a gradient "
                                           r"of shape \(3,\) for argument 0 of shape \(2,\)"):
        tg.grad(lambda a: f(a).sum())(np.ones(2))


def test_assigning_grad_checks_dtype_like_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    if torch is not None:
        with pytest.raises(RuntimeError, match="dtype"):
            torch.tensor([1.0, 2.0], requires_grad=True).grad = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="grad: assigned gradient has dtype int64"):
        x.grad = np.array([1, 2])
    x.grad = tg.tensor([1.0, 1.0])
    assert x.grad.dtype == np.float32


def test_non_leaf_grad_warns_only_while_it_is_empty_like_torch():
    x = tg.tensor([1.0], requires_grad=True)
    h = x * 3
    with pytest.warns(UserWarning, match="not a leaf"):
        assert h.grad is None
    (h * 2).sum().backward(inputs=[h])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert h.grad.item() == 2.0


# -- operators --------------------------------------------------------------------------
def test_unsupported_operands_follow_pythons_protocol():
    x = tg.tensor([1.0, 2.0])
    assert (x == None) is False and (x != None) is True  # noqa: E711  (as torch)
    assert torch is None or (torch.ones(2) == None) is False  # noqa: E711
    with pytest.raises(TypeError, match="unsupported operand"):
        x + "a"

    class Other:
        def __radd__(self, other):
            return "reflected"

    assert x + Other() == "reflected"
    with pytest.raises(TypeError, match="add: expected arrays, tensors or Python numbers"):
        tg.add(x, None)


def test_floordiv_mod_operators_match_torch_and_round_numpy():
    a = np.array([-3.5, 2.0, 7.25])
    x = tg.tensor(a)
    for lib, t in ((np, a),) + (((torch, torch.tensor(a)),) if torch is not None else ()):
        np.testing.assert_array_equal((x // 2).numpy(), np.asarray(t // 2), err_msg=lib.__name__)
        np.testing.assert_array_equal((x % 2).numpy(), np.asarray(t % 2), err_msg=lib.__name__)
        np.testing.assert_array_equal((5 % x).numpy(), np.asarray(5 % t), err_msg=lib.__name__)
        np.testing.assert_array_equal((9 // x).numpy(), np.asarray(9 // t), err_msg=lib.__name__)
    assert round(tg.tensor(2.5)).item() == np.round(2.5) == 2.0  # NumPy's half-to-even


def test_np_copy_is_a_new_tensor():
    x = tg.tensor([1.0, 2.0])
    y = np.copy(x)
    y += 1.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    c = np.copy(w)
    assert c is not w and c.grad_fn is not None
    (c * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


# -- transforms: JAX's errors -------------------------------------------------------------
def _both_raise(tg_call, jax_call, exc, match):
    with pytest.raises(exc):
        jax_call()
    with pytest.raises(exc, match=match):
        tg_call()


def test_grad_requires_a_real_float_output_like_jax():
    _both_raise(lambda: tg.grad(lambda x: (x > 0).sum())(np.ones(2)),
                lambda: jax.grad(lambda x: (x > 0).sum())(np.ones(2)),
                TypeError, "grad: the function must return a real floating-point scalar")
    _both_raise(lambda: tg.grad(lambda x: (x * 1j).sum())(np.ones(2)),
                lambda: jax.grad(lambda x: (x * 1j).sum())(np.ones(2)),
                TypeError, "complex")
    _both_raise(lambda: tg.grad(lambda x: None)(np.ones(2)),
                lambda: jax.grad(lambda x: None)(np.ones(2)),
                TypeError, "grad: the function must return a scalar tensor, got NoneType")


def test_grad_argnums_checks():
    f = lambda x, y: (x * y).sum()  # noqa: E731
    with pytest.raises(ValueError, match="names an argument twice"):
        tg.grad(f, argnums=(0, 0))(np.ones(2), np.ones(2))  # was a silent zero gradient
    _both_raise(lambda: tg.grad(f, argnums=1.0)(np.ones(2), np.ones(2)),
                lambda: jax.grad(f, argnums=1.0)(np.ones(2), np.ones(2)),
                TypeError, "grad: argnums must be an int or a tuple of ints, got float")
    g = tg.grad(f, argnums=np.int64(1))(np.ones(2), np.full(2, 3.0))
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])
    _both_raise(lambda: tg.grad(3), lambda: jax.grad(3), TypeError, "expected a callable")
    with pytest.raises(TypeError, match="grad: arguments to differentiate must be arrays"):
        tg.grad(lambda s: 1.0)("a")


def test_vjp_and_jvp_check_cotangents_and_tangents_like_jax():
    _, pull = tg.vjp(lambda x: x * 2, np.ones(2))
    _, jpull = jax.vjp(lambda x: x * 2, np.ones(2))
    _both_raise(lambda: pull(np.ones(3)), lambda: jpull(np.ones(3)), ValueError,
                r"vjp: cotangent 0 has shape \(3,\) but the output has shape \(2,\)")
    _both_raise(lambda: pull(np.ones(2) * 1j), lambda: jpull(np.ones(2) * 1j), ValueError,
                "vjp: cotangent 0 has dtype complex128")
    f = lambda x: x * 2  # noqa: E731
    _both_raise(lambda: tg.jvp(f, np.ones(2), np.ones(2)),
                lambda: jax.jvp(f, np.ones(2), np.ones(2)), TypeError,
                "jvp: primals and tangents must be tuples or lists")
    _both_raise(lambda: tg.jvp(f, (np.ones(2),), (np.ones(3),)),
                lambda: jax.jvp(f, (np.ones(2),), (np.ones(3),)), ValueError,
                r"jvp: tangent 0 has shape \(3,\) but the primal has shape \(2,\)")


def test_custom_vjp_and_checkpoint_arguments():
    with pytest.raises(TypeError, match="checkpoint: expected a callable"):
        tg.checkpoint(3)

    @tg.custom_vjp
    def f(a):
        return a * 2

    f.defvjp(lambda a: a * 2, lambda res, g: (g,))  # fwd forgot the residuals
    with pytest.raises(TypeError, match="custom_vjp f: fwd must return a pair"):
        tg.grad(lambda a: f(a).sum())(np.ones(2))
    # Keyword arguments reach the checkpointed function, and are differentiated.
    block = tg.checkpoint(lambda a, scale=1.0: tg.sin(a) * scale)
    g = tg.grad(lambda a, s: block(a, scale=s).sum(), argnums=(0, 1))(np.ones(2), np.full(2, 3.0))
    jg = jax.grad(lambda a, s: (jax.numpy.sin(a) * s).sum(), argnums=(0, 1))(np.ones(2),
                                                                           np.full(2, 3.0))
    np.testing.assert_allclose(g[0].numpy(), jg[0], rtol=1e-6)
    np.testing.assert_allclose(g[1].numpy(), jg[1], rtol=1e-6)


# -- tapes -----------------------------------------------------------------------------
def test_watched_constant_stops_requiring_grad_when_the_block_ends():
    for persistent in (False, True):
        c = tg.tensor(2.0)
        with tg.tape(persistent=persistent) as t:
            t.watch(c)
            y = c * c
        assert not c.requires_grad  # documented: restored when the block ends
        assert t.gradient(y, c).item() == 4.0  # still answers after the block
        assert not c.requires_grad
        c += 1.0  # an ordinary constant again: no leaf-in-place error


def test_tape_gradient_sources_pytrees_and_errors():
    x = tg.tensor(3.0, requires_grad=True)
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.tape() as t:
        y = x * (w * w).sum()
    g = t.gradient(y, {"x": x, "more": [w]})
    assert g["x"].item() == 5.0
    np.testing.assert_array_equal(g["more"][0].numpy(), [6.0, 12.0])
    with tg.tape() as t:
        y = x * 2
    with pytest.raises(TypeError, match="got ndarray"):
        t.gradient(y, np.ones(2))
    with tg.tape() as t, pytest.raises(TypeError, match="tape.watch: only floating-point"):
        t.watch(tg.tensor(np.array([1, 2])))


# -- grad mode --------------------------------------------------------------------------
def test_set_grad_enabled_as_call_block_and_decorator_like_torch():
    libs = [tg] + ([torch] if torch is not None else [])
    for lib in libs:  # the same sequence of mode changes; each library's own answer
        x = lib.tensor([1.0], requires_grad=True)
        lib.set_grad_enabled(False)  # a plain call switches at once
        assert not (x * 2).requires_grad, lib.__name__
        with lib.set_grad_enabled(True):
            assert (x * 2).requires_grad, lib.__name__
        assert not lib.is_grad_enabled(), lib.__name__  # the block restored "off"
        lib.set_grad_enabled(True)

        @lib.set_grad_enabled(False)
        def double(t):
            return t * 2

        assert lib.is_grad_enabled(), lib.__name__  # decorating changes nothing outside
        assert not double(x).requires_grad and (x * 2).requires_grad, lib.__name__
    with pytest.raises(TypeError, match="set_grad_enabled: expected a bool, got str"):
        tg.set_grad_enabled("no")


def test_explain_grad_points_at_set_grad_enabled():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.set_grad_enabled(False):
        y = x * 2
        line = sys._getframe().f_lineno - 2
    why = tg.explain_grad(y, x)
    assert not why.ok and why.site.endswith(f"test_api_errors.py:{line}"), why.site
