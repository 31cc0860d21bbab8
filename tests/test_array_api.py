"""tapegrad as an array API namespace: the standard's own test suite (bounded), code
written only against the standard (its gradients checked against jax), and the pieces
the standard adds to NumPy's names (inspection, DLPack, devices, keywords), each
checked against NumPy or array_api_strict."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import array_api_compat
import array_api_strict as xs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg

ROOT = pathlib.Path(__file__).resolve().parent.parent
XFAILS = ROOT / "tests" / "array_api" / "xfails.txt"


# -- code written against the standard only ------------------------------------------
def standardized_logsumexp(x):
    """Standardize each row, then a weighted log-sum-exp: ``xp.`` calls only."""
    xp = array_api_compat.array_namespace(x)
    mu = xp.mean(x, axis=-1, keepdims=True)
    sd = xp.std(x, axis=-1, keepdims=True, correction=1)
    z = (x - mu) / sd
    m = xp.max(z, axis=-1, keepdims=True)
    lse = xp.squeeze(m, axis=-1) + xp.log(xp.sum(xp.exp(z - m), axis=-1))
    w = xp.linspace(0.5, 1.5, lse.shape[0], dtype=x.dtype)
    return xp.sum(w * lse) + xp.linalg.vector_norm(xp.clip(x, min=-1.0, max=2.0)) ** 2


def test_array_namespace_of_a_tensor_is_tapegrad():
    t = tg.tensor([1.0, 2.0])
    assert array_api_compat.array_namespace(t) is tg
    assert array_api_compat.array_namespace(t, tg.tensor(1.0)) is tg
    assert t.__array_namespace__() is tg
    assert tg.__array_api_version__ == "2023.12"


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_standard_only_function_gives_jax_gradient(compiled):
    x = np.random.default_rng(0).standard_normal((4, 5))
    grad = tg.grad(standardized_logsumexp)
    if compiled:
        grad = tg.compile(grad)
    got = grad(x)
    want = jax.grad(standardized_logsumexp)(jnp.asarray(x))
    value = standardized_logsumexp(tg.tensor(x))
    np.testing.assert_allclose(value.numpy(), standardized_logsumexp(jnp.asarray(x)),
                               rtol=1e-12)
    np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-10, atol=1e-12)
    if compiled:  # the second call runs the cached program
        np.testing.assert_allclose(grad(x).numpy(), np.asarray(want), rtol=1e-10)


# -- dtypes of Python data: the standard's rule in asarray, tapegrad's in tensor --------
@pytest.mark.parametrize("obj", [0, [1, 2], 2.5, [1.0, 2], True, [True, False], 1j,
                                 [[1, 2], [3, 4]]])
def test_asarray_follows_the_standard_and_tensor_keeps_its_default(obj):
    want = xs.asarray(obj)  # array_api_strict: default int int64, default float float64
    got = tg.asarray(obj)
    np.testing.assert_array_equal(got.numpy(), np.asarray(want))
    kind = np.dtype(str(want.dtype).rsplit(".", 1)[-1])
    expected = {"f": tg.get_default_dtype(), "c": np.dtype(np.complex64)}.get(kind.kind, kind)
    assert got.dtype == expected
    if kind.kind in "if":
        assert tg.tensor(obj).dtype == tg.get_default_dtype()  # tensor's documented rule


def test_asarray_copy_semantics_match_numpy():
    a = np.arange(3.0)
    shared, copied = tg.asarray(a, copy=False), tg.asarray(a, copy=True)
    a[0] = 9.0
    assert shared.numpy()[0] == 9.0 and copied.numpy()[0] == 0.0
    with pytest.raises(ValueError, match="asarray: .*copy=False"):
        tg.asarray(a, dtype=tg.float32, copy=False)
    with pytest.raises(ValueError, match="asarray: a Python list"):
        tg.asarray([1, 2], copy=False)


# -- inspection, DLPack, devices -------------------------------------------------------
def test_inspection_namespace():
    info = tg.__array_namespace_info__()
    assert info.default_device() == "cpu" and info.devices()[0] == "cpu"
    assert info.capabilities()["boolean indexing"] is True
    defaults = info.default_dtypes(device="cpu")
    assert defaults["integral"] == tg.asarray(0).dtype == tg.arange(3).dtype
    assert defaults["real floating"] == tg.asarray(0.0).dtype == tg.zeros(1).dtype
    assert defaults["indexing"] == tg.argmax(tg.asarray([1, 3, 2])).dtype
    # The same dtype names, kind by kind, as array_api_strict's.
    ref = xs.__array_namespace_info__()
    for kind in (None, "bool", "integral", "real floating", ("bool", "complex floating")):
        assert set(info.dtypes(kind=kind)) == set(ref.dtypes(kind=kind)), kind
    with pytest.raises(ValueError, match="dtypes: unknown kind"):
        info.dtypes(kind="decimal")


def test_dlpack_round_trip():
    x = tg.asarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert x.__dlpack_device__() == (1, 0)  # kDLCPU, device 0
    y = np.from_dlpack(x)
    np.testing.assert_array_equal(y, np.arange(6).reshape(2, 3))
    z = tg.from_dlpack(np.arange(4.0))
    np.testing.assert_array_equal(z.numpy(), np.arange(4.0))
    assert tg.from_dlpack(x, copy=True).dtype == np.int32
    w = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(tg.ConversionError, match="__dlpack__"):
        np.from_dlpack(w)  # the capsule would carry no gradient
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__"):
        tg.from_dlpack([1, 2])


def test_device_keywords():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to_device("cpu") is x
    for make in (lambda: tg.zeros(2, device="cpu"), lambda: tg.arange(2, device="cpu"),
                 lambda: tg.full((2,), 1.0, device="cpu"),
                 lambda: tg.linspace(0, 1, 2, device="cpu"),
                 lambda: tg.eye(2, device="cpu"), lambda: tg.empty_like(x, device="cpu"),
                 lambda: tg.fft.fftfreq(2, device="cpu")):
        assert make().device == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        tg.zeros(2, device="tpu")
    s = xs.asarray([1.0, 2.0], device=xs.Device("device1"))
    moved = tg.tensor(s).to_device(xs.Device("CPU_DEVICE"))
    assert moved.device == xs.Device("CPU_DEVICE")


def test_finfo_iinfo_give_python_numbers():
    for dt in ("float32", "float64", "complex64"):
        got, want = tg.finfo(getattr(tg, dt)), np.finfo(dt)
        assert type(got.eps) is float and got.eps == float(want.eps)
        assert got.max == float(want.max) and got.bits == want.bits
    assert tg.finfo(tg.zeros(1, dtype="float64")).dtype == np.float64
    assert tg.iinfo(tg.uint8).max == 255 and type(tg.iinfo(tg.int8).min) is int
    with pytest.raises(ValueError, match="finfo: expected a floating-point dtype"):
        tg.finfo(tg.int32)


# -- keywords and modes -------------------------------------------------------------------
def test_keywords_match_numpy():
    rng = np.random.default_rng(1)
    a = rng.integers(-50, 50, (3, 4)).astype(np.int8)
    t = tg.asarray(a)
    for kw in ({"dtype": np.int8}, {"dtype": np.int16, "axis": 0}, {"dtype": np.float64}):
        for name in ("sum", "prod"):
            got, want = getattr(tg, name)(t, **kw), getattr(np, name)(a, **kw)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got.numpy(), want)
    got = tg.cumulative_sum(t, axis=1, dtype=np.int16, include_initial=True)
    want = np.cumulative_sum(a, axis=1, dtype=np.int16, include_initial=True)
    assert got.dtype == want.dtype and np.array_equal(got.numpy(), want)
    got = tg.linalg.trace(t[:, :3], dtype=np.int16, offset=1)
    assert got.dtype == np.int16 and got.item() == np.trace(a[:, :3], 1, dtype=np.int16)
    f = rng.standard_normal(7)
    for args, kw, bounds in (((), {"min": -0.5, "max": 0.5}, (-0.5, 0.5)),
                             ((), {"a_min": -0.5}, (-0.5, None)),
                             ((-0.2, 0.3), {}, (-0.2, 0.3)), ((), {"max": 0.0}, (None, 0.0))):
        np.testing.assert_array_equal(tg.clip(tg.asarray(f), *args, **kw).numpy(),
                                      np.clip(f, *bounds))
    assert tg.clip(t) is t
    with pytest.raises(TypeError, match="clip: pass min or a_min"):
        tg.clip(t, min=0, a_min=0)
    sorter = np.argsort(f)
    v = rng.standard_normal(5)
    np.testing.assert_array_equal(
        tg.searchsorted(tg.asarray(f), tg.asarray(v), side="right",
                        sorter=tg.asarray(sorter)).numpy(),
        np.searchsorted(f, v, side="right", sorter=sorter))
    np.testing.assert_array_equal(tg.fft.rfftfreq(7, 0.5, dtype=tg.float64).numpy(),
                                  np.fft.rfftfreq(7, 0.5))


def test_astype_and_reshape_copy():
    x = tg.asarray(np.arange(4.0))
    same = tg.astype(x, tg.float64, copy=False)
    copied = tg.astype(x, tg.float64)  # the standard's default: copy=True
    assert same is x and copied is not x
    copied[0] = 5.0
    assert x.numpy()[0] == 0.0
    assert tg.reshape(x, (2, 2), copy=True).shape == (2, 2)
    assert tg.astype(x, tg.int8, device="cpu").dtype == np.int8


def test_errors_and_containers_the_standard_names():
    x = tg.zeros((2, 3))
    with pytest.raises(IndexError, match="expand_dims: axis 5 is out of bounds"):
        tg.expand_dims(x, axis=5)
    with pytest.raises(ValueError):  # NumPy's AxisError is both
        tg.expand_dims(x, axis=5)
    out = tg.concat([tg.asarray(1.0), tg.asarray(2.0)], axis=None)
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])
    grids = tg.meshgrid(tg.arange(2), tg.arange(3))
    assert isinstance(grids, list)
    for g, w in zip(grids, np.meshgrid(np.arange(2), np.arange(3))):
        np.testing.assert_array_equal(g.numpy(), w)


# -- linalg -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 5, 3), (3, 3)])
def test_linalg_complete_factorizations_match_numpy(shape):
    a = np.random.default_rng(2).standard_normal(shape)
    q, r = tg.linalg.qr(a, mode="complete")
    wq, wr = np.linalg.qr(a, mode="complete")
    np.testing.assert_allclose(q.numpy(), wq, atol=1e-12)
    np.testing.assert_allclose(r.numpy(), wr, atol=1e-12)
    u, s, vh = tg.linalg.svd(a)  # full_matrices=True, the standard's default
    wu, ws, wvh = np.linalg.svd(a)
    assert u.shape == wu.shape and vh.shape == wvh.shape
    np.testing.assert_allclose(s.numpy(), ws, atol=1e-12)
    k = min(shape[-2:])
    np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], a,
                               atol=1e-12)
    assert tg.linalg.matrix_rank(a).numpy().tolist() == np.linalg.matrix_rank(a).tolist()


def test_linalg_rank_pinv_and_refused_gradients():
    a = np.array([[1.0, 2.0], [2.0, 4.0 + 1e-9]])
    for rtol in (None, 1e-12, 0.5):
        want = np.linalg.matrix_rank(a, rtol=rtol)
        assert tg.linalg.matrix_rank(a, rtol=rtol).item() == want
        np.testing.assert_allclose(tg.linalg.pinv(a, rtol=rtol).numpy(),
                                   np.linalg.pinv(a, rtol=rtol), rtol=1e-6)
    x = tg.tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(NotImplementedError, match="linalg.qr: mode='complete'"):
        tg.linalg.qr(x, mode="complete")
    with pytest.raises(NotImplementedError, match="linalg.svd: full_matrices=True"):
        tg.linalg.svd(x)
    assert tg.linalg.svd(x, full_matrices=False).U.requires_grad
    with pytest.raises(ValueError, match="linalg.qr: mode must be"):
        tg.linalg.qr(a, mode="r")


# -- the standard's test suite, bounded -------------------------------------------------
def _suite_dir() -> pathlib.Path | None:
    env = os.environ.get("ARRAY_API_TESTS_DIR")
    candidates = [pathlib.Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "conformance" / "array-api-tests")
    for c in candidates:
        if (c / "array_api_tests" / "__init__.py").is_file():
            return c
    return None


def xfail_ids(path: pathlib.Path = XFAILS) -> list[str]:
    """The test ids of ``path`` (``id  # reason`` lines), as the suite's --xfails-file."""
    ids = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            test_id, sep, reason = line.partition("  # ")
            assert sep and reason.strip(), f"xfails.txt: no reason given for {line!r}"
            ids.append(test_id)
    return ids


def test_every_xfail_says_why():
    ids = xfail_ids()
    assert ids and len(ids) == len(set(ids))


# The whole suite at 5 derandomized examples: well under a minute on two cores; the cap
# is several times that.
SUITE_MODULES = ["array_api_tests/"]
SUITE_TIMEOUT_S = 180


def test_array_api_test_suite(tmp_path):
    suite = _suite_dir()
    if suite is None:
        pytest.skip("the array API test suite is not here: put data-apis/array-api-tests "
                    "at ../shared/conformance/array-api-tests (beside the repository) or "
                    "set ARRAY_API_TESTS_DIR")
    for module, package in (("ndindex", "ndindex"), ("pytest_jsonreport", "pytest-json-report")):
        pytest.importorskip(module, reason=f"the array API test suite needs {package} "
                                           f"(pip install {package})")
    copy = tmp_path / "array-api-tests"  # the suite writes caches into its folder
    shutil.copytree(suite, copy, ignore=shutil.ignore_patterns(".hypothesis", "__pycache__",
                                                              ".git"))
    xfails = tmp_path / "xfails.txt"
    xfails.write_text("\n".join(xfail_ids()) + "\n")
    env = dict(os.environ, ARRAY_API_TESTS_MODULE="tapegrad", ARRAY_API_TESTS_VERSION="2023.12")
    cmd = [sys.executable, "-m", "pytest", *SUITE_MODULES,
           "-q", "-p", "no:cacheprovider", "--max-examples=5", "--derandomize",
           "--hypothesis-disable-deadline", f"--xfails-file={xfails}"]
    try:
        run = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True,
                             timeout=SUITE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the array API test suite ran past its {SUITE_TIMEOUT_S} s cap")
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-40:])
    assert run.returncode == 0, f"array API test suite failures:\n{tail}"
    assert " passed" in tail and " failed" not in tail, tail
