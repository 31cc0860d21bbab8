"""PyTorch-style optimisers: objects holding parameters, updated in place by ``step()``.

The updates run on the parameters' arrays directly (no recording, like ``torch.optim``
under ``no_grad``), in the order of operations ``torch.optim``'s single-tensor code
uses, and bump each parameter's version counter as an in-place operation would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from .._state import enable_grad
from ..backend import backend_of, is_floating
from ..tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


class Optimizer:
    """The base class: parameter groups, per-parameter state, ``zero_grad`` and the
    ``state_dict`` round trip. Subclasses define ``_update``.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        Leaf tensors that require grad; or parameter groups, dicts with a ``"params"``
        list and any hyperparameters that differ from ``defaults`` for that group.
    defaults : dict
        The hyperparameters of every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` and hyperparameters (change ``"lr"`` here to schedule
        the learning rate).
    state : dict
        Per parameter (keyed by the tensor), its buffers and ``"step"``.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"``) with its own settings.

        Parameters
        ----------
        param_group : dict
            ``"params"``: a tensor or a list of them; other keys override the defaults.
        """
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a parameter group must be a dict with a "
                            f"'params' entry, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: parameters must be tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: can't optimize a non-leaf tensor (made by "
                                 f"{p.grad_fn!r}); optimise the leaf it was computed from")
            if not is_floating(p.dtype):
                raise ValueError(f"{self._name}: parameters must be floating-point, got "
                                 f"dtype {p.dtype}")
            if id(p) in seen:
                raise ValueError(f"{self._name}: a parameter appears in more than one "
                                 "group (or twice in one)")
            seen.add(id(p))
        group = {**self.defaults, **param_group, "params": params}
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise TypeError(f"{self._name}: unknown hyperparameters {unknown}; expected "
                            f"some of {sorted(self.defaults)}")
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: dict[str, Any]) -> None:
        for key in ("lr", "eps", "weight_decay", "momentum"):
            if key in group and group[key] < 0:
                raise ValueError(f"{self._name}: {key} must be >= 0, got {group[key]}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient.

        Parameters
        ----------
        set_to_none : bool
            Set ``.grad`` to None (the default, as PyTorch) rather than to zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p._grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (called with gradients on).

        Returns
        -------
        Any
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = p._grad.data
                if group.get("maximize", False):
                    g = -g
                state = self.state.setdefault(p, {})
                self._update(p.data, g, state, group)
                p._version += 1
        return loss

    def _update(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- state_dict -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state, in ``torch.optim``'s layout.

        Returns
        -------
        dict
            ``"state"``: for each parameter index (counted across the groups in order)
            a dict of copies of its buffers and its ``"step"``; ``"param_groups"``: each
            group's hyperparameters with ``"params"`` the list of its indices.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _copy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (buffers are copied, hyperparameters replaced).

        Parameters
        ----------
        state_dict : dict
            From :meth:`state_dict` of an optimiser of the same class over parameters
            of the same shapes, in groups of the same sizes.
        """
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or "state" not in state_dict:
            raise ValueError(f"{self._name}.load_state_dict: expected a dict with 'state' "
                             "and 'param_groups'")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the state has {len(groups)} "
                             f"parameter groups, this optimizer {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for mine, saved in zip(self.param_groups, groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"{self._name}.load_state_dict: a group of "
                                 f"{len(saved['params'])} parameters cannot load into one "
                                 f"of {len(mine['params'])}")
            by_index.update(zip(saved["params"], mine["params"]))
        self.state = {}
        for i, buffers in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: _into(v, p, self._name) for k, v in buffers.items()}
        for mine, saved in zip(self.param_groups, groups):
            mine.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _copy(v: Any) -> Any:
    return v.copy() if backend_of(v) is not None else v


def _into(v: Any, p: Tensor, name: str) -> Any:
    """A saved buffer as an array of ``p``'s backend and dtype (a step stays a number)."""
    if isinstance(v, Tensor):
        v = v.data
    elif type(v).__module__.startswith("torch"):  # a state dict saved by torch.optim
        v = v.detach().cpu().numpy()
    if isinstance(v, (bool, int, float)) or v is None:
        return v
    if tuple(v.shape) == ():
        return v.item() if hasattr(v, "item") else v
    if tuple(v.shape) != p.shape:
        raise ValueError(f"{name}.load_state_dict: a buffer of shape {tuple(v.shape)} for a "
                         f"parameter of shape {p.shape}")
    xp = backend_of(p.data).xp
    return xp.astype(xp.asarray(v), p.data.dtype, copy=True)


def _zeros(p: Any) -> Any:
    return backend_of(p).xp.zeros_like(p)


def _sqrt(a: Any) -> Any:
    return backend_of(a).xp.sqrt(a)


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum and weight decay, as ``torch.optim.SGD``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Leaf tensors (or parameter groups, see :class:`Optimizer`).
    lr : float
        Learning rate.
    momentum : float
        Momentum factor (0: plain gradient descent).
    dampening : float
        Dampening of the momentum: the buffer is ``momentum * buf + (1 - dampening) * g``.
    weight_decay : float
        L2 penalty: ``weight_decay * p`` is added to the gradient.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool
        Ascend instead of descend.

    Examples
    --------
    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0], requires_grad=True)
    >>> opt = tg.optim.SGD([w], lr=0.25)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.5000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        wd, mom = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p
        if mom != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= mom
                buf += (1 - group["dampening"]) * g
            g = g + mom * buf if group["nesterov"] else buf
        p -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma and Ba), as ``torch.optim.Adam``; AMSGrad optional.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Leaf tensors (or parameter groups, see :class:`Optimizer`).
    lr : float
        Learning rate.
    betas : tuple of float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the bias-corrected root of the second moment.
    weight_decay : float
        L2 penalty added to the gradient (for decoupled decay use :class:`AdamW`).
    amsgrad : bool
        Use the running maximum of the second moment.
    maximize : bool
        Ascend instead of descend.

    Examples
    --------
    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = tg.optim.Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        b1, b2 = group["betas"]
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"{self._name}: betas must be in [0, 1), got {group['betas']}")

    def _update(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        b1, b2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros(p)
        state["step"] += 1
        step = state["step"]
        if self._decoupled:
            p *= 1 - lr * wd
        elif wd != 0:
            g = g + wd * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)  # torch's lerp_(g, 1 - b1)
        v *= b2
        v += (1 - b2) * (g * g)
        bias1 = 1 - b1 ** step
        bias2_sqrt = math.sqrt(1 - b2 ** step)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            backend_of(vmax).xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = _sqrt(v) / bias2_sqrt + eps
        p -= (lr / bias1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``.

    Each step first shrinks the parameter, ``p *= 1 - lr * weight_decay``, then takes
    an Adam step on the plain gradient.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Leaf tensors (or parameter groups, see :class:`Optimizer`).
    lr : float
        Learning rate.
    betas : tuple of float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the bias-corrected root of the second moment.
    weight_decay : float
        Decoupled decay rate (PyTorch's default, 0.01).
    amsgrad : bool
        Use the running maximum of the second moment.
    maximize : bool
        Ascend instead of descend.
    """

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (``eps`` outside the square root).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Leaf tensors (or parameter groups, see :class:`Optimizer`).
    lr : float
        Learning rate.
    alpha : float
        Smoothing constant of the running mean of squared gradients.
    eps : float
        Added to the root of that mean.
    weight_decay : float
        L2 penalty added to the gradient.
    momentum : float
        Momentum factor.
    centered : bool
        Normalise by the estimated variance (mean square minus squared mean).
    maximize : bool
        Ascend instead of descend.

    Examples
    --------
    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0], requires_grad=True)
    >>> opt = tg.optim.RMSprop([w], lr=0.01)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered,
                                      maximize=maximize))

    def _update(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        alpha, eps, wd, mom = group["alpha"], group["eps"], group["weight_decay"], \
            group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = _zeros(p)
            if mom > 0:
                state["momentum_buffer"] = _zeros(p)
            if group["centered"]:
                state["grad_avg"] = _zeros(p)
        state["step"] += 1
        if wd != 0:
            g = g + wd * p
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * (g * g)
        if group["centered"]:
            ga = state["grad_avg"]
            ga += (1 - alpha) * (g - ga)
            avg = _sqrt(sq - ga * ga)
        else:
            avg = _sqrt(sq)
        avg += eps
        if mom > 0:
            buf = state["momentum_buffer"]
            buf *= mom
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * (g / avg)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Leaf tensors (or parameter groups, see :class:`Optimizer`).
    lr : float
        Learning rate.
    lr_decay : float
        The step size at step ``t`` is ``lr / (1 + (t - 1) * lr_decay)``.
    weight_decay : float
        L2 penalty added to the gradient.
    initial_accumulator_value : float
        Starting value of the sum of squared gradients.
    eps : float
        Added to the root of that sum.
    maximize : bool
        Ascend instead of descend.

    Examples
    --------
    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0], requires_grad=True)
    >>> opt = tg.optim.Adagrad([w], lr=0.5)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.5000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = _zeros(p) + group["initial_accumulator_value"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        p -= clr * (g / (_sqrt(s) + group["eps"]))
