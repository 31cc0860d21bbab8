"""tg.detect_anomaly: a NaN or inf made in backward names the forward operation and the
line that recorded it."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import tapegrad as tg


def _line_of(marker: str) -> int:
    src, start = inspect.getsourcelines(_forward)
    return start + next(i for i, line in enumerate(src) if marker in line)


def _forward(x):
    y = x * 2.0
    z = tg.sqrt(y)  # sqrt-site
    return tg.sum(z)


def test_nan_in_backward_names_operation_and_line():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's divide by zero
        with tg.detect_anomaly():
            loss = _forward(x)
            with pytest.raises(FloatingPointError) as e:
                loss.backward()
    msg = str(e.value)
    assert "SqrtBackward0" in msg and "'sqrt'" in msg
    assert f"test_anomaly.py:{_line_of('sqrt-site')}" in msg
    assert "NaN or inf gradient for its argument 0" in msg


def test_without_anomaly_mode_the_gradient_is_just_inf():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _forward(x).backward()
    assert np.isinf(x.grad.numpy()[0])


def test_sites_recorded_only_in_anomaly_mode():
    x = tg.tensor([1.0], requires_grad=True)
    assert (x * 2.0).grad_fn.site is None
    with tg.detect_anomaly(check_nan=False):
        line = inspect.currentframe().f_lineno + 1
        y = x * 2.0
    assert y.grad_fn.site.endswith(f"test_anomaly.py:{line}")


def test_backward_outside_forward_asks_for_the_forward_too():
    x = tg.tensor([0.0], requires_grad=True)
    loss = _forward(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with tg.detect_anomaly(), pytest.raises(FloatingPointError,
                                                match="run the forward pass under"):
            loss.backward()


def test_nan_from_grad_transform_and_decorator_form():
    @tg.detect_anomaly()
    def grad_at(x):
        return tg.grad(lambda x: tg.sum(tg.log(x) * 0.0))(x)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match="LogBackward0"):
            grad_at(np.array([0.0, 1.0]))
    np.testing.assert_allclose(grad_at(np.array([1.0, 2.0])).numpy(), 0.0)


def test_set_detect_anomaly_off_inside_on():
    x = tg.tensor([0.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with tg.detect_anomaly(), tg.set_detect_anomaly(False):
            _forward(x).backward()
    assert np.isinf(x.grad.numpy()[0])
