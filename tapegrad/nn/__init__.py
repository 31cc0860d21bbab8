"""``tg.nn``: activations and losses, with ``jax.nn`` / ``torch.nn.functional`` names.

Every function here is composed of tapegrad's own operations, so it records like any
other code: it works eagerly, under ``tg.grad`` (to any order), and in ``tg.compile``,
where the elementwise ones fuse into the surrounding kernels. The compositions are the
numerically stable ones (``softplus`` is ``logaddexp(x, 0)``, ``softmax`` subtracts a
``logsumexp``, the losses work from log-probabilities), so inputs of ±50 give no
``nan`` or ``inf`` where PyTorch gives none.

>>> import tapegrad as tg
>>> tg.nn.softmax(tg.tensor([1.0, 2.0, 3.0]))
tensor([0.0900, 0.2447, 0.6652])
>>> tg.nn.cross_entropy(tg.tensor([[2.0, 0.5, -1.0]]), [0])
tensor(0.2413)
"""

from ._activations import (
    elu,
    gelu,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
)
from ._losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss, one_hot

__all__ = ["relu", "sigmoid", "softplus", "silu", "gelu", "leaky_relu", "elu", "softmax",
           "log_softmax", "log_sigmoid", "one_hot", "cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss"]
