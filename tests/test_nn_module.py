"""Module's registry (buffers, traversal, apply, dtype conversion, state dicts), the containers,
nn.init and gradient clipping, against PyTorch where PyTorch defines the answer."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(2, 3, seed=0, dtype=np.float64), nn.ReLU())
        self.norm = nn.BatchNorm1d(3, dtype=np.float64)
        self.heads = nn.ModuleList([nn.Linear(3, 1, seed=i, dtype=np.float64) for i in range(2)])
        self.table = nn.ModuleDict({"embed": nn.Embedding(4, 3, dtype=np.float64, generator=np.random.default_rng(0))})
        self.register_buffer("steps", cr.tensor(np.zeros(1)))
        self.register_buffer("scratch", cr.tensor(np.zeros(2)), persistent=False)


class _TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
        self.norm = torch.nn.BatchNorm1d(3)
        self.heads = torch.nn.ModuleList([torch.nn.Linear(3, 1) for _ in range(2)])
        self.table = torch.nn.ModuleDict({"embed": torch.nn.Embedding(4, 3)})
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)


def test_names_and_order_match_torch():
    ours, theirs = _Net(), _TorchNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert len(list(ours.children())) == 4
    # Buffers are saved but never trained.
    assert all(not isinstance(b, nn.Parameter) for b in ours.buffers())
    assert not any(p is ours.steps for p in ours.parameters())
    assert all(isinstance(v, cr.Tensor) and not v.requires_grad for v in ours.state_dict().values())


def test_state_dict_values_are_snapshots_and_load_reports_keys():
    model = _Net()
    state = model.state_dict()
    state["features.0.weight"].numpy()[...] = 7.0
    assert not np.any(model.features[0].weight.numpy() == 7.0)
    result = model.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert np.all(model.features[0].weight.numpy() == 7.0)
    del state["norm.running_mean"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result == nn.IncompatibleKeys(["norm.running_mean"], ["extra"])
    with pytest.raises(RuntimeError, match="missing key 'norm.running_mean'.*|unexpected key 'extra'"):
        model.load_state_dict(state)
    state = model.state_dict()
    state["norm.num_batches_tracked"] = np.array(5)
    model.load_state_dict(state)
    assert model.norm.num_batches_tracked.item() == 5 and model.norm.num_batches_tracked.dtype == np.int64


def test_weights_round_trip_through_torch():
    ours, theirs = _Net(), _TorchNet().double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    back = _Net()
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[name].numpy(), value.numpy(), err_msg=name)


def test_buffer_assignment_apply_and_registration_errors():
    model = _Net()
    model.steps = cr.tensor(np.ones(1))
    assert model.state_dict()["steps"].tolist() == [1.0]
    with pytest.raises(TypeError, match="buffer"):
        model.steps = 3
    with pytest.raises(KeyError, match="already exists"):
        model.register_buffer("forward", cr.tensor(0.0))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen[-1] == "_Net" and seen.count("Linear") == 3  # children first, the root last
    assert model.get_submodule("heads.1") is model.heads[1]


def test_to_float_double_convert_in_place_and_keep_identity():
    model = _Net()
    weight = model.features[0].weight
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    assert model.float() is model
    assert weight.dtype == np.float32 and model.norm.running_var.dtype == np.float32
    assert model.norm.num_batches_tracked.dtype == np.int64  # integer buffers stay integers
    assert model.features[0].weight is weight and optimizer.param_groups[0]["params"][0] is weight
    model.double()
    assert weight.dtype == np.float64
    model.to(np.float32)
    assert weight.dtype == np.float32
    model.to("cpu", dtype="float64")
    assert weight.dtype == np.float64
    with pytest.raises(ValueError, match="cuda"):
        model.to("cuda")


def test_module_list_and_dict_behave_like_torch():
    layers = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    layers.append(nn.Sigmoid())
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "ReLU", "Tanh", "Sigmoid"]
    del layers[1]
    assert [name for name, _ in layers.named_children()] == ["0", "1", "2"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2
    layers += [nn.ReLU()]
    assert len(layers) == 4 and isinstance(layers[-1], nn.ReLU)
    with pytest.raises(TypeError, match="not a Module"):
        layers.append(3)
    table = nn.ModuleDict({"a": nn.Linear(1, 1, seed=0)})
    table["b"] = nn.Linear(1, 2, seed=0)
    assert list(table) == ["a", "b"] and "b" in table and len(table) == 2
    assert [n for n, _ in table.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    table.pop("a")
    assert list(table.keys()) == ["b"]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict(conv=nn.Linear(2, 2, seed=0), act=nn.ReLU()))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"] and isinstance(named[1], nn.ReLU)
    assert isinstance(named[:1], nn.Sequential)


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("relu", None), ("tanh", None),
                                                ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                                                ("sigmoid", None), ("conv2d", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_deterministic_initialisers():
    t = cr.tensor(np.empty((3, 4)))
    assert nn.init.zeros_(t) is t and np.all(t.numpy() == 0)
    assert np.all(nn.init.ones_(t).numpy() == 1)
    assert np.all(nn.init.constant_(t, 0.25).numpy() == 0.25)
    np.testing.assert_array_equal(nn.init.eye_(t).numpy(), np.eye(3, 4))


@pytest.mark.parametrize("name,kwargs,expected_std", [
    ("uniform_", {"a": -2.0, "b": 2.0}, 4 / math.sqrt(12)),
    ("normal_", {"mean": 0.0, "std": 0.3}, 0.3),
    ("xavier_uniform_", {"gain": 2.0}, 2.0 * math.sqrt(2 / (50 * 9 + 40 * 9))),
    ("xavier_normal_", {}, math.sqrt(2 / (50 * 9 + 40 * 9))),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, 1 / math.sqrt(3 * 50 * 9)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / (40 * 9))),
    ("kaiming_normal_", {"nonlinearity": "relu"}, math.sqrt(2 / (50 * 9))),
    ("kaiming_normal_", {"a": 0.1, "mode": "fan_out"}, math.sqrt(2 / (1 + 0.01)) / math.sqrt(40 * 9)),
])
def test_random_initialisers_have_torch_spread(name, kwargs, expected_std):
    shape = (40, 50, 3, 3)  # fan_in 450, fan_out 360 (a convolution's weight)
    ours = getattr(nn.init, name)(cr.tensor(np.zeros(shape), dtype=np.float32), **kwargs,
                                  generator=np.random.default_rng(0)).numpy()
    theirs = getattr(torch.nn.init, name)(torch.empty(shape), **kwargs).numpy()
    assert ours.dtype == np.float32
    assert ours.std() == pytest.approx(expected_std, rel=0.02)
    assert theirs.std() == pytest.approx(expected_std, rel=0.02)  # the expectation is torch's too
    if "uniform" in name:  # U(−b, b) with b = √3·σ
        assert np.abs(ours).max() <= math.sqrt(3) * expected_std * (1 + 1e-6)
        assert np.abs(ours).max() > 0.99 * math.sqrt(3) * expected_std
    with pytest.raises(ValueError, match="2 dimensions"):
        nn.init.xavier_uniform_(cr.tensor(np.zeros(3)))


def _grads_pair(rng):
    arrays = [rng.normal(size=s) * 3 for s in ((3, 4), (5,), ())]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for o, t, a in zip(ours, theirs, arrays):
        o.grad = cr.tensor(a * 2)
        t.grad = torch.tensor(a * 2)
    return ours, theirs


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (2.0, math.inf), (3.0, 3)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    ours, theirs = _grads_pair(np.random.default_rng(0))
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    reference = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, cr.Tensor) and total.item() == pytest.approx(reference.item(), rel=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch_and_a_model_can_be_clipped():
    ours, theirs = _grads_pair(np.random.default_rng(1))
    assert nn.utils.clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())
    model = nn.Linear(3, 2, seed=0, dtype=np.float64)
    model(cr.tensor(np.ones((4, 3)) * 100)).sum().backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    norm = math.sqrt(sum(float(np.sum(p.grad.numpy() ** 2)) for p in model.parameters()))
    assert norm == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(RuntimeError, match="non-finite"):
        w = cr.tensor([1.0], requires_grad=True)
        w.grad = cr.tensor([np.inf])
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
