"""Tests of chainrule.optim: parity with PyTorch, hand-worked steps, checks, saving and dtypes."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, AdamW, CosineAnnealingLR, ExponentialLR, RMSprop, StepLR

# ---------------------------------------------------------------------------
# A small model, written once with chainrule and once with torch.


def _initial(dtype=np.float64):
    rng = np.random.default_rng(7)
    arrays = {
        "W1": rng.normal(size=(5, 3)) * 0.5,
        "b1": rng.normal(size=5) * 0.1,
        "W2": rng.normal(size=(2, 5)) * 0.5,
        "b2": rng.normal(size=2) * 0.1,
        "s": np.float64(0.8),  # a 0-d parameter: its data is a numpy scalar
    }
    x = rng.normal(size=(16, 3))
    y = rng.normal(size=(16, 2))
    return {k: np.asarray(v, dtype=dtype) for k, v in arrays.items()}, x.astype(dtype), y.astype(dtype)


def _cr_params(arrays):
    return {k: cr.tensor(v, requires_grad=True) for k, v in arrays.items()}


def _cr_loss(p, x, y):
    h = (x @ p["W1"].T + p["b1"]).tanh()
    out = (h @ p["W2"].T + p["b2"]) * p["s"]
    return ((out - y) ** 2).mean()


def _train_cr(p, opt, x, y, steps, scheduler=None):
    x, y = cr.tensor(x), cr.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        _cr_loss(p, x, y).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()


def _groups(p, split):
    """All parameters in one list, or weights and the rest in two groups with overrides."""
    if split is None:
        return list(p.values())
    return [{"params": [p["W1"], p["W2"]]}, {"params": [p["b1"], p["b2"], p["s"]], **split}]


PARITY_CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True), None),
    ("SGD", dict(lr=0.1, weight_decay=0.05), None),
    ("SGD", dict(lr=0.002, momentum=0.5, weight_decay=0.01, maximize=True), None),
    ("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.2, momentum=0.5)),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, amsgrad=True, betas=(0.8, 0.99)), None),
    ("Adam", dict(lr=0.01, maximize=True, eps=1e-6), dict(lr=0.003)),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True), None),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, centered=True), None),
    ("RMSprop", dict(lr=0.005, momentum=0.9), None),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, alpha=0.9), None),
]

OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}


@pytest.mark.parametrize("name, kwargs, split", PARITY_CASES, ids=lambda v: str(v))
def test_parity_with_torch(name, kwargs, split):
    torch = pytest.importorskip("torch")
    arrays, x, y = _initial()

    p = _cr_params(arrays)
    opt = OURS[name](_groups(p, split), **kwargs)
    _train_cr(p, opt, x, y, steps=20)

    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in arrays.items()}
    topt = getattr(torch.optim, name)(_groups(tp, split), **kwargs)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for _ in range(20):
        topt.zero_grad()
        h = torch.tanh(tx @ tp["W1"].T + tp["b1"])
        out = (h @ tp["W2"].T + tp["b2"]) * tp["s"]
        ((out - ty) ** 2).mean().backward()
        topt.step()

    assert isinstance(p["s"].data, np.float64)  # the 0-d parameter stayed a numpy scalar
    for k in arrays:
        assert np.all(np.isfinite(p[k].data)), k
        np.testing.assert_allclose(p[k].data, tp[k].detach().numpy(), rtol=0, atol=1e-10, err_msg=k)
        assert not np.allclose(p[k].data, arrays[k])  # every parameter moved


def test_parity_with_torch_under_a_schedule():
    torch = pytest.importorskip("torch")
    arrays, x, y = _initial()
    p = _cr_params(arrays)
    opt = SGD(p.values(), lr=0.1, momentum=0.9)
    _train_cr(p, opt, x, y, steps=20, scheduler=StepLR(opt, step_size=4, gamma=0.5))

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    topt = torch.optim.SGD(tp.values(), lr=0.1, momentum=0.9)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=4, gamma=0.5)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for _ in range(20):
        topt.zero_grad()
        out = (torch.tanh(tx @ tp["W1"].T + tp["b1"]) @ tp["W2"].T + tp["b2"]) * tp["s"]
        ((out - ty) ** 2).mean().backward()
        topt.step()
        tsched.step()
    for k in arrays:
        np.testing.assert_allclose(p[k].data, tp[k].detach().numpy(), rtol=0, atol=1e-10, err_msg=k)


SCHEDULER_CASES = [
    ("StepLR", dict(step_size=7, gamma=0.3)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULER_CASES, ids=lambda v: str(v))
def test_scheduler_parity_with_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    import chainrule.optim as optim

    a, b = cr.tensor(1.0, requires_grad=True), cr.tensor([1.0], requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.2)
    scheduler = getattr(optim, name)(opt, **kwargs)
    ta, tb = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.05}], lr=0.2)
    tscheduler = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(30):
        ours, theirs = scheduler.get_last_lr(), tscheduler.get_last_lr()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
        assert [g["lr"] for g in opt.param_groups] == ours
        opt.step()
        topt.step()
        scheduler.step()
        tscheduler.step()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.2, 0.05]


# ---------------------------------------------------------------------------
# Steps worked by hand.


@pytest.mark.parametrize("shape", [(), (1,)], ids=["scalar", "array"])
def test_sgd_momentum_by_hand(shape):
    w = cr.tensor(np.full(shape, 2.0), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    # Step 1: loss = w², g = 2w = 4. The first step puts g in the buffer as it is
    # (no dampening): b = 4, w = 2 − 0.1·4 = 1.6.
    (w**2).sum().backward()
    opt.step()
    assert w.item() == pytest.approx(1.6, abs=1e-15)
    assert np.asarray(opt.state[0]["momentum_buffer"]).item() == 4.0
    # Step 2: g = 3.2, b = 0.9·4 + (1 − 0.5)·3.2 = 5.2, w = 1.6 − 0.52 = 1.08.
    opt.zero_grad()
    (w**2).sum().backward()
    opt.step()
    assert np.asarray(opt.state[0]["momentum_buffer"]).item() == pytest.approx(5.2, abs=1e-15)
    assert w.item() == pytest.approx(1.08, abs=1e-15)
    assert w.shape == shape


@pytest.mark.parametrize("shape", [(), (1,)], ids=["scalar", "array"])
def test_adam_by_hand(shape):
    w = cr.tensor(np.full(shape, 2.0), requires_grad=True)
    opt = Adam([w], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    (w**2).sum().backward()  # g = 4
    opt.step()
    # m = 0.1·4 = 0.4, v = 0.001·16 = 0.016; bias-corrected m̂ = 0.4/0.1 = 4, v̂ = 0.016/0.001 = 16.
    # w = 2 − 0.1 · 4 / (√16 + 1e-8) = 2 − 0.4 / 4.00000001
    state = opt.state[0]
    assert state["step"] == 1
    assert np.asarray(state["exp_avg"]).item() == pytest.approx(0.4, abs=1e-15)
    assert np.asarray(state["exp_avg_sq"]).item() == pytest.approx(0.016, abs=1e-15)
    assert w.item() == pytest.approx(2 - 0.4 / 4.00000001, abs=1e-14)
    assert w.item() == pytest.approx(1.9000000002499999, abs=1e-14)


# ---------------------------------------------------------------------------
# Bad settings and bad parameters.


def _w():
    return cr.tensor([1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize(
    "make, setting",
    [
        (lambda: SGD([_w()], lr=-0.1), "lr"),
        (lambda: SGD([_w()], momentum=-0.5), "momentum"),
        (lambda: SGD([_w()], weight_decay=-1), "weight_decay"),
        (lambda: SGD([_w()], lr=0.1, nesterov=True), "nesterov"),
        (lambda: SGD([_w()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
        (lambda: Adam([_w()], lr=-1e-3), "lr"),
        (lambda: Adam([_w()], betas=(1.0, 0.999)), r"betas\[0\]"),
        (lambda: Adam([_w()], betas=(0.9, -0.1)), r"betas\[1\]"),
        (lambda: Adam([_w()], eps=-1e-8), "eps"),
        (lambda: Adam([_w()], weight_decay=-0.1), "weight_decay"),
        (lambda: AdamW([_w()], betas=(0.9, 1.5)), r"betas\[1\]"),
        (lambda: AdamW([_w()], lr=float("nan")), "lr"),
        (lambda: RMSprop([_w()], alpha=-0.9), "alpha"),
        (lambda: RMSprop([_w()], eps=-1.0), "eps"),
        (lambda: RMSprop([_w()], momentum=-0.1), "momentum"),
        (lambda: RMSprop([_w()], lr=-0.1), "lr"),
        (lambda: SGD([{"params": [_w()], "lr": -1.0}], lr=0.1), "lr"),
        (lambda: StepLR(SGD([_w()]), step_size=0), "step_size"),
        (lambda: CosineAnnealingLR(SGD([_w()]), T_max=0), "T_max"),
        (lambda: ExponentialLR(SGD([_w()]), gamma=-0.5), "gamma"),
    ],
)
def test_bad_settings_raise_value_error_naming_them(make, setting):
    with pytest.raises(ValueError, match=setting):
        make()


def test_bad_parameters():
    with pytest.raises(ValueError, match="got an empty parameter list"):
        SGD([])
    with pytest.raises(ValueError, match="got an empty parameter list"):
        Adam(iter([]))
    with pytest.raises(ValueError, match="does not require grad"):
        SGD([cr.tensor([1.0])])
    w = _w()
    with pytest.raises(ValueError, match="more than once"):
        SGD([{"params": [w]}, {"params": [w]}])
    with pytest.raises(TypeError):
        SGD(w)  # a bare tensor, not an iterable of them
    with pytest.raises(TypeError):
        SGD([np.zeros(2)])


# ---------------------------------------------------------------------------
# Behaviour.


def test_parameters_without_gradient_are_skipped():
    a, b = _w(), _w()
    opt = Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 2.0] and b.grad is None
    assert 1 not in opt.state and opt.state[0]["step"] == 1


def test_zero_grad():
    w, s = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True), cr.tensor(2.0, requires_grad=True)
    unused = _w()
    opt = SGD([w, s, unused])
    (w.sum() * s).backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [0.0, 0.0, 0.0]
    assert s.grad.item() == 0.0 and s.grad.shape == ()
    assert unused.grad is None
    opt.zero_grad()
    assert w.grad is None and s.grad is None


def test_updates_in_place_and_never_writes_gradients():
    w = cr.tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    array = w.data
    for opt in (SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1), Adam([w], weight_decay=0.1, amsgrad=True),
                AdamW([w]), RMSprop([w], centered=True, momentum=0.5, weight_decay=0.1)):
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            grad = w.grad.data
            before = grad.copy()
            grad.flags.writeable = False  # any write to the gradient would now raise
            opt.step()
            np.testing.assert_array_equal(grad, before)
    assert w.data is array  # updated in place: views of the weights stay valid


def test_read_only_parameter_is_rebound_not_written():
    frozen = np.array([1.0, 2.0])
    frozen.flags.writeable = False
    w = cr.from_numpy(frozen).requires_grad_()
    opt = SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    assert w.tolist() == [0.0, 0.0]
    assert frozen.tolist() == [1.0, 2.0]


def test_param_groups_override_defaults():
    a, b = _w(), _w()
    opt = SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.5]
    ((a * a).sum() + (b * b).sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.data, [0.8, 1.6])
    np.testing.assert_allclose(b.data, [-1.0, -2.0])


def test_closure():
    w = cr.tensor(3.0, requires_grad=True)
    opt = SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = w * w
        loss.backward()
        return loss

    with cr.no_grad():  # the closure records a graph all the same
        loss = opt.step(closure)
    assert loss.item() == 9.0 and w.item() == pytest.approx(2.4)


ALL_OPTIMIZERS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.2, maximize=True)),
    (Adam, dict(lr=0.01, weight_decay=0.1)),
    (Adam, dict(lr=0.01, amsgrad=True, maximize=True)),
    (AdamW, dict(lr=0.01, amsgrad=True)),
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
]


@pytest.mark.parametrize("cls, kwargs", ALL_OPTIMIZERS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_float32_parameters_stay_float32(cls, kwargs):
    arrays, x, y = _initial(np.float32)
    p = _cr_params(arrays)
    opt = cls(p.values(), **kwargs)
    _train_cr(p, opt, x, y, steps=3)
    for k, t in p.items():
        assert t.dtype == np.float32, k
        assert np.all(np.isfinite(t.data)), k
    assert isinstance(p["s"].data, np.float32)
    for state in opt.state.values():
        for key, value in state.items():
            if key != "step":
                assert value.dtype == np.float32, key


def _npz_roundtrip(state_dict):
    """Save through np.savez without pickle (flattened to "a/b/c" keys) and read back."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, str), f"non-str key {k!r} at {prefix}"
                walk(f"{prefix}/{k}" if prefix else k, v)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for i, v in enumerate(value):
                walk(f"{prefix}/{i}", v)
        else:
            assert isinstance(value, (bool, int, float, str, list, np.ndarray)), (prefix, type(value))
            if isinstance(value, list):
                assert all(isinstance(v, (bool, int, float)) for v in value), prefix
            flat[prefix] = np.asarray(value)

    walk("", state_dict)
    buffer = io.BytesIO()
    np.savez(buffer, **flat)
    buffer.seek(0)
    loaded = np.load(buffer, allow_pickle=False)
    out: dict = {}
    for key in loaded.files:
        node = out
        *path, last = key.split("/")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = loaded[key]
    if "param_groups" in out:  # an optimizer's
        groups = out.pop("param_groups")
        out["param_groups"] = [groups[str(i)] for i in range(len(groups))]
        out.setdefault("state", {})
    return out


@pytest.mark.parametrize("cls, kwargs", ALL_OPTIMIZERS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_state_dict_round_trip_is_bit_identical(cls, kwargs, dtype):
    arrays, x, y = _initial(dtype)
    p = _cr_params(arrays)
    opt = cls(p.values(), **kwargs)
    scheduler = ExponentialLR(opt, gamma=0.9)
    _train_cr(p, opt, x, y, steps=3, scheduler=scheduler)

    saved, saved_scheduler = _npz_roundtrip(opt.state_dict()), _npz_roundtrip(scheduler.state_dict())
    snapshot = {k: np.array(t.data) for k, t in p.items()}
    _train_cr(p, opt, x, y, steps=5, scheduler=scheduler)

    q = {k: cr.tensor(v, requires_grad=True) for k, v in snapshot.items()}
    fresh = cls(q.values(), lr=0.5)  # other settings: the state brings its own
    fresh_scheduler = ExponentialLR(fresh, gamma=0.5)
    fresh.load_state_dict(saved)
    fresh_scheduler.load_state_dict(saved_scheduler)
    _train_cr(q, fresh, x, y, steps=5, scheduler=fresh_scheduler)

    assert fresh.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for k in p:
        assert q[k].dtype == dtype
        np.testing.assert_array_equal(q[k].data, p[k].data, err_msg=k)


def test_state_dict_is_a_snapshot():
    w = _w()
    opt = Adam([w])
    (w * w).sum().backward()
    opt.step()
    saved = opt.state_dict()
    copy = saved["state"]["0"]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"]["0"]["exp_avg"], copy)
    assert saved["param_groups"][0]["betas"] == [0.9, 0.999]


def test_load_state_dict_reports_what_is_wrong():
    a, b = _w(), cr.tensor(1.0, requires_grad=True)
    opt = Adam([a, b])
    (a.sum() * b).backward()
    opt.step()
    saved = opt.state_dict()

    with pytest.raises(ValueError, match="1 parameter group.*optimizer has 2"):
        Adam([{"params": [_w()]}, {"params": [_w()]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="has 2 parameter"):
        Adam([_w()]).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2,\).*\(3,\)"):
        Adam([cr.tensor([1.0, 2.0, 3.0], requires_grad=True), _w()]).load_state_dict(saved)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        Adam([_w(), _w()], amsgrad=True).load_state_dict({**saved, "param_groups": [
            {**saved["param_groups"][0], "amsgrad": True}]})
    with pytest.raises(ValueError, match="lr"):
        Adam([_w(), _w()]).load_state_dict({**saved, "param_groups": [{**saved["param_groups"][0], "lr": -1.0}]})
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        Adam([_w()]).load_state_dict({"state": {}})

    # A failed load changes nothing.
    before = opt.state_dict()
    with pytest.raises(ValueError):
        opt.load_state_dict({**saved, "state": {"0": {"step": 1, "exp_avg": np.zeros(5), "exp_avg_sq": np.zeros(2)}}})
    assert opt.state_dict()["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], before["state"]["0"]["exp_avg"])


def test_scheduler_resumes_from_last_epoch():
    w = _w()
    opt = SGD([w], lr=1.0)
    scheduler = CosineAnnealingLR(opt, T_max=8, eta_min=0.1)
    for _ in range(3):
        opt.step()
        scheduler.step()
    resumed = CosineAnnealingLR(opt, T_max=8, eta_min=0.1, last_epoch=scheduler.last_epoch)
    expected = 0.1 + 0.9 * (1 + math.cos(math.pi * 4 / 8)) / 2
    assert resumed.get_last_lr() == pytest.approx([expected], abs=1e-15)
    with pytest.raises(ValueError, match="initial_lr"):
        StepLR(SGD([_w()]), step_size=2, last_epoch=3)


def test_adagrad_follows_torch_step_for_step():
    import torch

    start = np.array([1.0, -2.0, 0.5])
    for settings in ({}, {"lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.3},
                     {"maximize": True, "eps": 1e-6}):
        ours = cr.tensor(start.copy(), requires_grad=True)
        theirs = torch.tensor(start.copy(), requires_grad=True)
        opt_ours = cr.optim.Adagrad([ours], lr=0.1, **settings)
        opt_theirs = torch.optim.Adagrad([theirs], lr=0.1, **settings)
        for _ in range(5):
            for w, opt in ((ours, opt_ours), (theirs, opt_theirs)):
                opt.zero_grad()
                ((w - 1) ** 2 * w).sum().backward()
                opt.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)

    scalar, scalar_torch = cr.tensor(np.float64(2.0), requires_grad=True), torch.tensor(2.0, dtype=torch.float64,
                                                                                         requires_grad=True)
    for w, opt in ((scalar, cr.optim.Adagrad([scalar], lr=0.3)), (scalar_torch, torch.optim.Adagrad([scalar_torch],
                                                                                                   lr=0.3))):
        for _ in range(3):
            opt.zero_grad()
            (w ** 3).backward()
            opt.step()
    assert scalar.item() == pytest.approx(scalar_torch.item(), rel=1e-12)
