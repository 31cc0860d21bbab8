"""Eager features inside compiled functions: each compiled result equals eager
tapegrad (and jax where it applies), or the compiler refuses naming what it cannot do."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

jax.config.update("jax_enable_x64", True)

X = np.array([0.5, -1.0, 2.0, 0.25])
Y = np.array([-1.5, 0.75, 1.0, -0.5])


def _close(got, want):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=1e-12)


def test_detach_of_an_intermediate_is_computed_per_call():
    def f(x):
        return ((x * 2.0).detach() * x).sum()

    cg = tg.compile(tg.grad(f))
    cf = tg.compile(f)
    for v in (X, Y):  # the second call used to return the first call's values
        want = jax.grad(lambda x: (jax.lax.stop_gradient(x * 2.0) * x).sum())(v)
        _close(cg(v).numpy(), want)
        _close(cg(v).numpy(), tg.grad(f)(v).numpy())
        _close(cf(v).numpy(), f(tg.tensor(v)).numpy())


def test_detach_of_an_input_and_tensor_copy_inside_grad():
    def f(x):
        return (x.detach() * x + tg.tensor(x) * x ** 2).sum()

    cg = tg.compile(tg.grad(f))
    for v in (X, Y):
        want = jax.grad(lambda x: (jax.lax.stop_gradient(x) * x
                                   + jax.lax.stop_gradient(x) * x ** 2).sum())(v)
        _close(cg(v).numpy(), want)


def test_tensor_copy_with_dtype_and_detached_leaf_refused():
    cf = tg.compile(lambda x: tg.tensor(x, dtype="float32") * 2)
    for v in (X, Y):
        got = cf(v)
        assert got.dtype == np.float32
        _close(got.numpy(), (v.astype(np.float32) * 2))

    def g(x):
        w = (x * 2.0).detach().requires_grad_()
        return (w * w).sum()

    with pytest.raises(NotImplementedError, match="compile: a detached copy"):
        tg.compile(g)(X)


def test_backward_and_tape_gradient_inside_a_compiled_function():
    def backward_inside(x):
        w = tg.tensor(np.ones(4), requires_grad=True)
        (w * x * x).sum().backward()  # frees its records, which the lowering needs
        return w.grad

    def tape_inside(x):
        w = tg.tensor(np.ones(4), requires_grad=True)
        with tg.tape() as t:
            loss = (tg.sin(w * x)).sum()
        return t.gradient(loss, w)

    for fn in (backward_inside, tape_inside):
        cf = tg.compile(fn)
        for v in (X, Y):
            _close(cf(v).numpy(), fn(v).numpy())


def test_inplace_on_an_argument_is_refused_naming_compile():
    def add_one(x):
        x += 1.0
        return x * 2

    def write_under_no_grad(x):
        with tg.no_grad():
            x[0] = 5.0
        return x * 2

    for fn in (add_one, write_under_no_grad):
        arg = X.copy()
        with pytest.raises(RuntimeError, match="compile: .* modifies its argument"):
            tg.compile(fn)(arg)
        np.testing.assert_array_equal(arg, X)  # and the caller's array is untouched

    def on_copy(x):  # in place on an intermediate is fine
        y = x * 1.0
        y[y > 0] *= 2.0
        y += 1.0
        return (y * y).sum()

    cg = tg.compile(tg.grad(on_copy))
    for v in (X, Y):
        _close(cg(v).numpy(), tg.grad(on_copy)(v).numpy())


def test_keyword_then_positional_call_explains_the_recompile():
    def f(a, scale=2.0, *, off=1.0):
        return a * scale + off

    cf = tg.compile(f)
    for args, kwargs in [((X,), {}), ((X,), {"off": 3.0}), ((X, 3.0), {}),
                         ((X,), {"off": Y})]:
        _close(cf(*args, **kwargs).numpy(), f(tg.tensor(args[0]), *args[1:], **kwargs).numpy())
    assert len(cf.recompiles) == 4


def test_tape_compile_refuses_values_cut_from_the_tape():
    w = tg.tensor(X, requires_grad=True)
    other = tg.tensor(np.ones(4), requires_grad=True)
    with tg.no_grad():
        c = other * 0.5  # not made from the tape's values: a constant for it
    with tg.tape() as t:
        loss = (c * w * w).sum()
    _close(t.compile(w, loss)(Y).numpy(), 2 * 0.5 * Y)
    with tg.tape() as t:
        loss = ((w * 2.0).detach() * w).sum()
    with pytest.raises(NotImplementedError, match="tape.compile: .*detached"):
        t.compile(w, loss)(Y)
    with tg.tape() as t:
        with tg.no_grad():
            s = w * 3.0
        loss = (s * w).sum()
    with pytest.raises(NotImplementedError, match="tape.compile: .*no_grad"):
        t.compile(w, loss)(Y)


def test_eager_recording_works_after_a_failed_trace():
    def bad(x):
        x * 2.0
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        tg.compile(bad)(X)
    w = tg.tensor(X, requires_grad=True)
    (w * w).sum().backward()
    _close(w.grad.numpy(), 2 * X)
    _close(jnp.asarray(2 * X), w.grad.numpy())


def _inner(x):
    return (tg.sin(x) * x).sum()


def _inner_jax(x):
    return (jnp.sin(x) * x).sum()


def test_a_compiled_function_inside_a_compiled_function_is_inlined():
    inner = tg.compile(lambda x: tg.sin(x) * x)
    outer = tg.compile(lambda x: inner(x) * 2.0)
    outer_grad = tg.compile(tg.grad(lambda x: inner(x).sum()))
    for v in (X, Y):  # both used to return the first call's values
        _close(outer(v).numpy(), 2.0 * np.sin(v) * v)
        _close(outer_grad(v).numpy(), jax.grad(_inner_jax)(v))


def test_gradients_flow_through_a_compiled_function_like_jit_inside_grad():
    cf = tg.compile(_inner)
    for v in (X, Y):  # tg.grad of a compiled function used to give zeros
        _close(tg.grad(lambda x: cf(x))(v).numpy(), jax.grad(_inner_jax)(v))
    # second order through a compiled gradient: (g(w) * w).sum() with g = grad(f)
    cg = tg.compile(tg.grad(_inner))
    w = tg.tensor(X, requires_grad=True)
    g = cg(w)
    assert g.grad_fn is not None and g.grad_fn.name() == "CompiledBackward0"
    (g * w).sum().backward()
    want = jax.grad(lambda w: (jax.grad(_inner_jax)(w) * w).sum())(X)
    _close(w.grad.numpy(), want)
    with tg.tape() as t:  # and on a tape
        x = tg.tensor(Y)
        t.watch(x)
        y = cf(x) * 3.0
    _close(t.gradient(y, x).numpy(), 3.0 * jax.grad(_inner_jax)(Y))
    with tg.no_grad():  # no graph wanted: the program's values, nothing recorded
        r = cg(w)
    assert r.grad_fn is None
    _close(r.numpy(), jax.grad(_inner_jax)(X))
    assert cg.recompiles == ["first call"]  # one program serves every case


def test_tape_compile_warns_when_values_were_read_while_recording():
    def f(w):
        return (w[tg.argmax(w)] * w).sum()  # the index is chosen from the values

    w = tg.tensor(X, requires_grad=True)
    with tg.tape() as t:
        value = f(w)
    with pytest.warns(UserWarning, match=r"tape.compile: Python read tensor values 1 "
                                         r"time\(s\).*test_compile_features.py"):
        program = t.compile(w, value)
    # what the warning says: the recorded index stays, tg.compile guards it
    other = np.array([3.0, 0.75, 1.0, -0.5])  # its largest entry is elsewhere
    want = jax.grad(lambda w: (w[jnp.argmax(w)] * w).sum())(other)
    assert not np.allclose(program(other).numpy(), want)
    _close(tg.compile(tg.grad(f))(other).numpy(), want)
    with tg.tape() as t:  # no reads: no warning
        value = (w * w).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _close(t.compile(w, value)(Y).numpy(), 2 * Y)
