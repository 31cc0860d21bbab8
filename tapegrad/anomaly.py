"""``tg.detect_anomaly()``: find the forward operation whose backward made a NaN or inf.

While anomaly mode is on, every record remembers the ``file:line`` of the user code
that made it (``Node.site``), and the backward sweep checks each VJP's results; the
first non-finite gradient raises ``FloatingPointError`` naming the operation (e.g.
``SqrtBackward0``) and that line. Both checks cost time, so the mode is for debugging.
"""

from __future__ import annotations

from ._state import _StateOverride

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class detect_anomaly(_StateOverride):
    """Context manager (or decorator) turning anomaly detection on, like
    ``torch.autograd.detect_anomaly``.

    Run both the forward and the backward pass inside it: the forward pass records where
    each operation was made, the backward pass checks every gradient.

    Parameters
    ----------
    check_nan : bool
        Check the gradients for NaN and inf (``False`` only records the sites).

    Examples
    --------
    >>> import tapegrad as tg
    >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
    >>> with tg.detect_anomaly():
    ...     y = tg.sqrt(x).sum()
    ...     y.backward()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    FloatingPointError: detect_anomaly: the backward of SqrtBackward0 ... NaN or inf gradient ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        super().__init__(anomaly=True if check_nan else "sites")


class set_detect_anomaly(_StateOverride):
    """Turn anomaly detection on or off (context manager or decorator)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        super().__init__(anomaly=(True if check_nan else "sites") if mode else False)


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    from ._state import _STATE

    return bool(_STATE.get().anomaly)
