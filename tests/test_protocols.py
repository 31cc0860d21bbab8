"""NumPy's dispatch protocols on tensors and tapegrad as an array-API namespace."""

from __future__ import annotations

import array_api_compat
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

RNG = np.random.default_rng(1)
A = RNG.standard_normal((3, 3))
XV = RNG.standard_normal(3)


def _grad_via_numpy(fn, x=XV):
    """Run ``fn`` written with plain NumPy calls on a tensor; return (out, grad)."""
    t = tg.tensor(x, requires_grad=True)
    out = fn(t)
    assert isinstance(out, tg.Tensor) and out.grad_fn is not None
    tg.sum(out).backward()
    return out, t.grad


@pytest.mark.parametrize("name,fn,jfn", [
    ("ufunc", lambda x: np.sin(x) * np.exp(x), lambda x: jnp.sin(x) * jnp.exp(x)),
    ("binary ufunc with ndarray", lambda x: np.multiply(A[0], x) + np.maximum(x, 0.1),
     lambda x: A[0] * x + jnp.maximum(x, 0.1)),
    ("ndarray operator", lambda x: A[1] * x - A[2] / (x ** 2 + 1.0),
     lambda x: A[1] * x - A[2] / (x ** 2 + 1.0)),
    ("reduction", lambda x: np.sum(np.outer(x, x), axis=0), lambda x: jnp.sum(jnp.outer(x, x), 0)),
    ("matmul", lambda x: np.matmul(A, x), lambda x: A @ x),
    ("ndarray @ tensor", lambda x: A @ x, lambda x: A @ x),
    ("concatenate", lambda x: np.concatenate([x, A[0]]) ** 2,
     lambda x: jnp.concatenate([x, A[0]]) ** 2),
    ("stack and mean", lambda x: np.mean(np.stack([x, x * 2]), axis=1, keepdims=True),
     lambda x: jnp.mean(jnp.stack([x, x * 2]), axis=1, keepdims=True)),
    ("ufunc.reduce", lambda x: np.add.reduce(x * x), lambda x: jnp.sum(x * x)),
    ("ufunc.outer", lambda x: np.multiply.outer(x, A[0]), lambda x: jnp.outer(x, A[0])),
])
def test_numpy_calls_record_and_match_jax(name, fn, jfn):
    out, g = _grad_via_numpy(fn)
    np.testing.assert_allclose(out.numpy(), jfn(XV), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), jax.grad(lambda x: jnp.sum(jfn(x)))(XV), rtol=1e-12)


def test_plain_numpy_function_gets_gradients():
    def logistic_loss(w, X, y):  # unchanged NumPy code
        z = np.dot(X, w)
        return np.mean(np.logaddexp(0.0, -y * z))

    X, y = RNG.standard_normal((6, 3)), np.sign(RNG.standard_normal(6))
    g = tg.grad(logistic_loss)(XV, X, y)
    jg = jax.grad(lambda w: jnp.mean(jnp.logaddexp(0.0, -y * (X @ w))))(XV)
    np.testing.assert_allclose(g.numpy(), jg, rtol=1e-12)


def test_dispatch_picks_up_functions_by_name(monkeypatch):
    monkeypatch.setattr(tg, "frobnicate", lambda x: x * 3.0, raising=False)
    from tapegrad import _numpy_protocol as proto

    assert proto._lookup("numpy", "frobnicate")(tg.tensor(2.0)).item() == 6.0
    assert proto._lookup("numpy", "transforms") is None  # a submodule is not a function
    assert proto._lookup("numpy.random", "normal") is None


@pytest.mark.parametrize("call,name", [
    (lambda t: np.frexp(t), "numpy.frexp"),
    (lambda t: np.add.reduceat(t, [0, 1]), "numpy.add.reduceat"),
    (lambda t: np.sin(t, where=np.array([True, False, True])), "numpy.sin with where="),
    (lambda t: np.piecewise(t, [t.data > 0], [1, 0]), "numpy.piecewise"),
])
def test_unsupported_numpy_functions_raise_naming_them(call, name):
    t = tg.tensor(XV, requires_grad=True)
    with pytest.raises(TypeError, match=name.replace(".", r"\.") + ".*drop the gradient graph"):
        call(t)


def test_unsupported_argument_names_function():
    with pytest.raises(TypeError, match=r"numpy\.sum: tapegrad\.sum does not accept"):
        np.sum(tg.tensor(XV), initial=2.0)


def test_value_only_functions_run_on_the_data():
    t = tg.tensor(XV, requires_grad=True)
    assert np.shape(t) == (3,) and np.ndim(t) == 1
    assert np.allclose(t, XV)
    assert np.result_type(t, np.float32) == np.float64


def test_out_argument_on_tensors_records_in_place():
    w = tg.tensor(XV, requires_grad=True)
    z = w * 1.0
    np.multiply(z, 3.0, out=z)
    np.add(z, w, out=(z,))
    assert z._version == 2
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 4.0)


def test_out_ndarray_refuses_to_drop_the_graph():
    w = tg.tensor(XV, requires_grad=True)
    buf = np.zeros(3)
    with pytest.raises(TypeError, match=r"numpy\.add\(\.\.\., out=<ndarray>\)"):
        buf += w  # NumPy calls np.add(buf, w, out=buf)
    np.add(tg.tensor(XV), 1.0, out=buf)  # no graph: fine
    np.testing.assert_allclose(buf, XV + 1.0)


def test_asarray_gives_the_data_without_the_graph():
    t = tg.tensor(XV, requires_grad=True)
    with tg.no_grad():  # nothing records: the values, as in PyTorch
        a = np.asarray(t)
        assert type(a) is np.ndarray and a is t.data
        assert np.array(t) is not t.data and np.array_equal(np.array(t), XV)
        assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert np.asarray(tg.tensor(XV)) is not None  # no graph: always the values


def test_asarray_of_a_tensor_on_a_graph_raises_while_recording():
    # np.asarray / np.array([x, y]) cannot be intercepted; their array would carry no
    # gradient, so they refuse (PyTorch raises the same for its tensors).
    t = tg.tensor(XV, requires_grad=True)
    for convert in (np.asarray, lambda t: np.array([t, t]), lambda t: np.shape([t]),
                    lambda t: (t * 2).__array__()):
        with pytest.raises(RuntimeError, match=r"requires grad to a NumPy array.*detach"):
            convert(t)
    np.testing.assert_array_equal(np.asarray(t.detach()), XV)
    assert isinstance(t.numpy(), np.ndarray)  # the explicit request for values


def test_array_namespace():
    t = tg.tensor(XV)
    assert t.__array_namespace__() is tg
    assert tg.__array_namespace__() is tg
    assert array_api_compat.array_namespace(t) is tg
    assert tg.float64 == np.float64 and tg.isdtype(tg.float32, "real floating")
    with pytest.raises(ValueError, match="api_version"):
        t.__array_namespace__(api_version="1999.01")


def test_array_api_generic_code_differentiates():
    def softmax_cross_entropy(logits, labels):  # written against any array-API namespace
        xp = array_api_compat.array_namespace(logits)
        z = logits - xp.max(logits, axis=-1, keepdims=True)
        logp = z - xp.log(xp.sum(xp.exp(z), axis=-1, keepdims=True))
        return -xp.mean(xp.sum(logp * xp.asarray(labels), axis=-1))

    logits = RNG.standard_normal((4, 3))
    labels = np.eye(3)[[0, 2, 1, 1]]
    g = tg.grad(softmax_cross_entropy)(logits, labels)
    jg = jax.grad(softmax_cross_entropy)(jnp.asarray(logits), jnp.asarray(labels))
    np.testing.assert_allclose(g.numpy(), jg, rtol=1e-12)


def test_numpy_protocol_under_compile():
    def f(x):
        return np.sum(np.sin(np.matmul(A, x)) * np.concatenate([x[:1], x[1:]]))

    compiled = tg.compile(tg.grad(f))
    for x in (XV, XV + 1.0):
        want = jax.grad(lambda x: jnp.sum(jnp.sin(A @ x) * x))(x)
        np.testing.assert_allclose(compiled(x).numpy(), want, rtol=1e-12)


def test_data_dependent_numpy_functions_return_tapegrad_results():
    x = np.array([[0.0, 1.5], [-2.0, 1.5]])
    t = tg.tensor(x, requires_grad=True)
    for call in (np.nonzero, np.flatnonzero, np.argwhere, np.count_nonzero, np.unique,
                 lambda a: np.unique(a, return_inverse=True, return_counts=True),
                 np.unique_all, np.unique_values, lambda a: np.partition(a, 1),
                 lambda a: np.var(a, correction=1)):
        got, want = call(t), call(x)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want, strict=True):
            assert isinstance(g, tg.Tensor)
            np.testing.assert_array_equal(g.numpy(), w)
    w, _ = np.linalg.eig(t)
    tg.sum(tg.real(w)).backward()  # NumPy's eig on a tensor is tapegrad's, recorded
    np.testing.assert_allclose(t.grad.numpy(), np.eye(2), atol=1e-12)
    assert np.fft.hfft(t).grad_fn is not None
