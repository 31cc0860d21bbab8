"""``tg.optim``: optimisers in two forms, with ``torch.optim``'s numerics.

PyTorch style, over leaf tensors that hold their own ``.grad``::

    opt = tg.optim.Adam([w, b], lr=1e-3)
    loss.backward()
    opt.step()
    opt.zero_grad()

Functional (optax style), over pytrees of arrays, so that a whole training step can be
one pure function (and one compiled program)::

    tx = tg.optim.adam(1e-3)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = tg.optim.apply_updates(params, updates)

Both forms compute each update with the formulas of ``torch.optim`` (its defaults, its
placement of ``eps``, its weight decay), so a run matches PyTorch's step for step.

>>> import tapegrad as tg
>>> w = tg.tensor([1.0, -2.0], requires_grad=True)
>>> opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w ** 2).sum().backward()
...     opt.step()
>>> w
tensor([ 0.4600, -0.9200], requires_grad=True)
"""

from ._functional import (
    AdagradState,
    AdamState,
    GradientTransformation,
    RMSpropState,
    SGDState,
    adagrad,
    adam,
    adamw,
    apply_updates,
    rmsprop,
    sgd,
)
from ._torch import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "GradientTransformation", "SGDState", "AdamState", "RMSpropState", "AdagradState",
           "sgd", "adam", "adamw", "rmsprop", "adagrad", "apply_updates"]
