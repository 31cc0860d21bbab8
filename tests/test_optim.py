"""tg.optim against torch.optim (where installed) and hand-written NumPy updates (always).

Every optimiser runs 30 steps in float64 on a small least-squares problem; the object
form and the functional form must both match the reference step for step to 1e-9.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import tapegrad as tg

try:
    import torch
except ImportError:  # CI has no PyTorch: the NumPy references still check every step
    torch = None

STEPS = 30
RNG = np.random.default_rng(0)
A = RNG.standard_normal((6, 3))
B = RNG.standard_normal(6)
W0 = RNG.standard_normal(3)
V0 = RNG.standard_normal(2)


def _loss_grads(w, v):
    """Loss ((A w - B)**2).mean() + (v**4).sum() and its gradients, in NumPy."""
    r = A @ w - B
    return (r ** 2).mean() + (v ** 4).sum(), (2 * A.T @ r / len(B), 4 * v ** 3)


def _tg_loss(w, v):
    return ((A @ w - B) ** 2).mean() + (v ** 4).sum()


# -- NumPy references of torch.optim's single-tensor algorithms ---------------------------
def _ref(name, kw, params, steps=STEPS):
    params = [p.copy() for p in params]
    st = [dict() for _ in params]
    out = []
    for t in range(1, steps + 1):
        grads = _loss_grads(*params)[1]
        for p, g, s in zip(params, grads, st):
            if kw.get("maximize"):
                g = -g
            if name == "SGD":
                lr, mom, damp = kw["lr"], kw.get("momentum", 0), kw.get("dampening", 0)
                g = g + kw.get("weight_decay", 0) * p
                if mom:
                    s["buf"] = g.copy() if t == 1 else mom * s["buf"] + (1 - damp) * g
                    g = g + mom * s["buf"] if kw.get("nesterov") else s["buf"]
                p -= lr * g
            elif name in ("Adam", "AdamW"):
                lr, (b1, b2), eps = kw["lr"], kw.get("betas", (0.9, 0.999)), kw.get("eps", 1e-8)
                wd = kw.get("weight_decay", 0.01 if name == "AdamW" else 0)
                if name == "AdamW":
                    p *= 1 - lr * wd
                else:
                    g = g + wd * p
                s.setdefault("m", np.zeros_like(p))
                s.setdefault("v", np.zeros_like(p))
                s.setdefault("vmax", np.zeros_like(p))
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                v = s["v"]
                if kw.get("amsgrad"):
                    s["vmax"] = v = np.maximum(s["vmax"], v)
                mhat = s["m"] / (1 - b1 ** t)
                p -= lr * mhat / (np.sqrt(v / (1 - b2 ** t)) + eps)
            elif name == "RMSprop":
                lr, alpha, eps = kw["lr"], kw.get("alpha", 0.99), kw.get("eps", 1e-8)
                mom = kw.get("momentum", 0)
                g = g + kw.get("weight_decay", 0) * p
                s["sq"] = alpha * s.get("sq", 0) + (1 - alpha) * g * g
                if kw.get("centered"):
                    s["ga"] = alpha * s.get("ga", 0) + (1 - alpha) * g
                    avg = np.sqrt(s["sq"] - s["ga"] ** 2) + eps
                else:
                    avg = np.sqrt(s["sq"]) + eps
                if mom:
                    s["buf"] = mom * s.get("buf", 0) + g / avg
                    p -= lr * s["buf"]
                else:
                    p -= lr * g / avg
            elif name == "Adagrad":
                lr, eps = kw["lr"], kw.get("eps", 1e-10)
                g = g + kw.get("weight_decay", 0) * p
                s["sum"] = s.get("sum", kw.get("initial_accumulator_value", 0)) + g * g
                clr = lr / (1 + (t - 1) * kw.get("lr_decay", 0))
                p -= clr * g / (np.sqrt(s["sum"]) + eps)
        out.append([p.copy() for p in params])
    return out


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
]
IDS = [f"{n}-{'-'.join(k for k in kw if k != 'lr') or 'plain'}" for n, kw in CASES]

_FUNCTIONAL = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop",
               "Adagrad": "adagrad"}


def _functional_kwargs(name, kw):
    kw = dict(kw)
    lr = kw.pop("lr")
    if "betas" in kw:
        kw["b1"], kw["b2"] = kw.pop("betas")
    return lr, kw


def _torch_steps(name, kw):
    ps = [torch.tensor(W0, requires_grad=True), torch.tensor(V0, requires_grad=True)]
    opt = getattr(torch.optim, name)(ps, **kw)
    At, Bt = torch.tensor(A), torch.tensor(B)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        (((At @ ps[0] - Bt) ** 2).mean() + (ps[1] ** 4).sum()).backward()
        opt.step()
        out.append([p.detach().numpy().copy() for p in ps])
    return out, opt


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_object_form_matches_step_for_step(name, kw):
    w, v = tg.tensor(W0, requires_grad=True), tg.tensor(V0, requires_grad=True)
    opt = getattr(tg.optim, name)([w, v], **kw)
    mine = []
    for _ in range(STEPS):
        opt.zero_grad()
        _tg_loss(w, v).backward()
        opt.step()
        mine.append([w.detach().numpy().copy(), v.detach().numpy().copy()])
    refs = [_ref(name, kw, [W0, V0])]
    if torch is not None:
        refs.append(_torch_steps(name, kw)[0])
    for ref in refs:
        for step, (a, b) in enumerate(zip(mine, ref)):
            for x, y in zip(a, b):
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
    assert w.grad is not None and w.is_leaf and w.requires_grad


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_functional_form_matches_step_for_step(name, kw):
    lr, fkw = _functional_kwargs(name, kw)
    tx = getattr(tg.optim, _FUNCTIONAL[name])(lr, **fkw)
    params = {"w": tg.tensor(W0), "v": tg.tensor(V0)}
    state = tx.init(params)
    grad = tg.grad(lambda p: _tg_loss(p["w"], p["v"]))
    mine = []
    for _ in range(STEPS):
        updates, state = tx.update(grad(params), state, params)
        params = tg.optim.apply_updates(params, updates)
        mine.append([params["w"].numpy(), params["v"].numpy()])
    assert int(state.count.item()) == STEPS
    refs = [_ref(name, kw, [W0, V0])]
    if torch is not None:
        refs.append(_torch_steps(name, kw)[0])
    for ref in refs:
        for step, (a, b) in enumerate(zip(mine, ref)):
            for x, y in zip(a, b):
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")


def test_state_dict_round_trip_and_param_groups():
    def run(opt, ps, n):
        for _ in range(n):
            opt.zero_grad()
            _tg_loss(*ps).backward()
            opt.step()

    ps = [tg.tensor(W0, requires_grad=True), tg.tensor(V0, requires_grad=True)]
    opt = tg.optim.Adam([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.01}], lr=0.05)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.01]
    run(opt, ps, 10)
    sd = opt.state_dict()
    assert sd["param_groups"][1]["params"] == [1] and sd["state"][0]["step"] == 10
    # a fresh optimiser loaded from the state continues exactly where this one is
    qs = [tg.tensor(p.detach().numpy(), requires_grad=True) for p in ps]
    opt2 = tg.optim.Adam([{"params": [qs[0]]}, {"params": [qs[1]]}], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.01
    run(opt, ps, 5)
    run(opt2, qs, 5)
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # the reference: both groups stepped 15 times with their own rates
    want_w = _ref("Adam", dict(lr=0.05), [W0, V0], 15)[-1][0]
    np.testing.assert_allclose(ps[0].detach().numpy(), want_w, rtol=1e-9)
    if torch is not None:  # PyTorch's state dict has the same layout
        tps = [torch.tensor(W0, requires_grad=True), torch.tensor(V0, requires_grad=True)]
        topt = torch.optim.Adam([{"params": [tps[0]]}, {"params": [tps[1]], "lr": 0.01}],
                                lr=0.05)
        for _ in range(10):
            topt.zero_grad()
            ((torch.tensor(A) @ tps[0] - torch.tensor(B)) ** 2).mean().add(
                (tps[1] ** 4).sum()).backward()
            topt.step()
        tsd = topt.state_dict()
        assert sorted(tsd["state"][0]) == sorted(sd["state"][0])
        np.testing.assert_allclose(sd["state"][0]["exp_avg"], tsd["state"][0]["exp_avg"],
                                   rtol=1e-9)
        rs = [tg.tensor(W0, requires_grad=True), tg.tensor(V0, requires_grad=True)]
        opt3 = tg.optim.Adam([{"params": [rs[0]]}, {"params": [rs[1]]}])
        opt3.load_state_dict(tsd)  # torch tensors in the state are converted
        assert opt3.state[rs[0]]["step"] == 10
        np.testing.assert_allclose(opt3.state[rs[0]]["exp_avg_sq"],
                                   tsd["state"][0]["exp_avg_sq"].numpy(), rtol=0)


def test_zero_grad_and_errors():
    w = tg.tensor(W0, requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: nothing moves
    np.testing.assert_array_equal(w.detach().numpy(), W0)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        tg.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: can't optimize a non-leaf tensor"):
        tg.optim.Adam([w * 2])
    with pytest.raises(ValueError, match="SGD: Nesterov momentum requires a momentum"):
        tg.optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: betas must be in"):
        tg.optim.Adam([w], betas=(1.0, 0.9))
    with pytest.raises(TypeError, match="SGD: unknown hyperparameters \\['beta'\\]"):
        tg.optim.SGD([{"params": [w], "beta": 1}], lr=0.1)
    with pytest.raises(ValueError, match="a parameter appears in more than one group"):
        tg.optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="adam: update needs params"):
        tg.optim.adam(0.1, weight_decay=0.1).update({"w": W0}, tg.optim.adam(0.1).init(
            {"w": W0}))
    sd = tg.optim.SGD([w], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="SGD.load_state_dict: the state has 1 parameter "
                                         "groups, this optimizer 2"):
        tg.optim.SGD([{"params": [w]}, {"params": [tg.tensor(V0, requires_grad=True)]}],
                     lr=0.1).load_state_dict(sd)


def test_learning_rate_schedule():
    tx = tg.optim.sgd(lambda count: 0.1 * 0.5 ** count)
    params = np.array([1.0])
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(np.array([1.0]), state)
        params = tg.optim.apply_updates(params, updates)
    np.testing.assert_allclose(params.numpy(), [1.0 - 0.1 - 0.05 - 0.025], rtol=1e-12)


# -- a whole training step, compiled --------------------------------------------------------
def _mlp_problem():
    rng = np.random.default_rng(0)
    params = {"w1": tg.tensor((rng.standard_normal((64, 32)) * 0.1).astype(np.float32)),
              "b1": tg.tensor(np.zeros(32, np.float32)),
              "w2": tg.tensor((rng.standard_normal((32, 10)) * 0.1).astype(np.float32)),
              "b2": tg.tensor(np.zeros(10, np.float32))}
    x = rng.standard_normal((16, 64)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    return params, x, y


def _loss_fn(p, x, y):
    h = tg.nn.relu(x @ p["w1"] + p["b1"])
    return tg.nn.cross_entropy(h @ p["w2"] + p["b2"], y)


def test_compiled_training_step_is_one_program_without_extra_allocation():
    params, x, y = _mlp_problem()
    tx = tg.optim.adamw(1e-2)

    def train_step(p, state, x, y):
        loss, grads = tg.value_and_grad(_loss_fn)(p, x, y)
        updates, state = tx.update(grads, state, p)
        return tg.optim.apply_updates(p, updates), state, loss

    step = tg.compile(train_step)
    pc, sc = params, tx.init(params)
    pe, se = params, tx.init(params)
    rng = np.random.default_rng(1)
    for _ in range(4):  # new labels every step: no recompiles
        y = rng.integers(0, 10, 16)
        pc, sc, lc = step(pc, sc, x, y)
        pe, se, le = train_step(pe, se, x, y)
        np.testing.assert_allclose(lc.numpy(), le.numpy(), rtol=1e-6)
        for k in pe:
            np.testing.assert_allclose(pc[k].numpy(), pe[k].numpy(), rtol=1e-5, atol=1e-7)
    assert step.cache_entries == 1, step.recompiles
    assert int(sc.count.item()) == 4
    planned = step.stats()["planned_peak_bytes"]
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = step(pc, sc, x, y)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    outputs = sum(leaf.data.nbytes for leaf in tg.tree_leaves(out))
    # The peak is what the memory plan planned (outputs included) plus small Python
    # objects; what stays allocated after the call is the outputs and nothing else.
    assert peak - base <= max(planned, outputs) + 16 * 1024, (peak - base, planned, outputs)
    assert after - base <= outputs + 8 * 1024, (after - base, outputs)
