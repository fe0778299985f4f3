"""cr.to_torch / cr.from_torch: the same numbers forward, and the same training step, on both sides."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.io.torch_bridge import BridgeError

torch = pytest.importorskip("torch")
X = np.random.default_rng(0).normal(size=(6, 3))
Y = np.random.default_rng(1).normal(size=(6, 2))


def chainrule_model():
    f64 = np.float64
    return nn.Sequential(nn.Linear(3, 5, seed=0, dtype=f64), nn.LeakyReLU(0.2), nn.Linear(5, 4, seed=1, dtype=f64),
                         nn.Tanh(), nn.Linear(4, 4, seed=2, dtype=f64), nn.Sigmoid(), nn.ReLU(), nn.Identity(),
                         nn.Linear(4, 2, seed=3, dtype=f64), nn.Softmax(dim=1))


def ours(model, x=X):
    return model(cr.from_numpy(x)).numpy()


def theirs(model, x=X):
    return model(torch.from_numpy(x)).detach().numpy()


def train_step_ours(model):
    sgd = optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    for _ in range(2):
        sgd.zero_grad()
        nn.MSELoss()(model(cr.from_numpy(X)), cr.from_numpy(Y)).backward()
        sgd.step()
    return {k: np.asarray(getattr(v, "data", v)) for k, v in model.state_dict().items()}


def train_step_theirs(model):
    sgd = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    for _ in range(2):
        sgd.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        sgd.step()
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def test_to_torch_builds_the_same_model_with_the_same_weights():
    model = chainrule_model()
    converted = cr.to_torch(model)
    assert isinstance(converted, torch.nn.Sequential)
    assert [type(m).__name__ for m in converted] == ["Linear", "LeakyReLU", "Linear", "Tanh", "Linear", "Sigmoid",
                                                     "ReLU", "Identity", "Linear", "Softmax"]
    assert converted[1].negative_slope == 0.2 and converted[9].dim == 1
    assert converted[0].weight.dtype == torch.float64
    assert list(converted.state_dict()) == list(model.state_dict())
    np.testing.assert_allclose(theirs(converted), ours(model), rtol=1e-13, atol=1e-15)


def test_a_training_step_is_the_same_on_both_sides():
    model = chainrule_model()
    converted = cr.to_torch(model)
    after_ours, after_theirs = train_step_ours(model), train_step_theirs(converted)
    for name in after_ours:
        np.testing.assert_allclose(after_ours[name], after_theirs[name], rtol=1e-12, atol=1e-14)
    assert not np.array_equal(after_ours["0.weight"], chainrule_model().state_dict()["0.weight"])


def test_from_torch_builds_the_same_model_with_the_same_weights():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False),
                                torch.nn.Sigmoid()).double()
    converted = cr.from_torch(model)
    assert isinstance(converted, nn.Sequential) and converted[2].bias is None
    assert converted[0].weight.dtype == np.float64
    np.testing.assert_allclose(ours(converted), theirs(model), rtol=1e-13, atol=1e-15)
    after_ours, after_theirs = train_step_ours(converted), train_step_theirs(model)
    for name in after_theirs:
        np.testing.assert_allclose(after_ours[name], after_theirs[name], rtol=1e-12, atol=1e-14)


def test_float32_models_stay_float32_and_names_are_kept():
    from collections import OrderedDict

    model = torch.nn.Sequential(OrderedDict([("hidden", torch.nn.Linear(3, 4)), ("act", torch.nn.Tanh()),
                                             ("out", torch.nn.Linear(4, 1))]))
    converted = cr.from_torch(model)
    assert list(converted.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert converted.hidden.weight.dtype == np.float32
    back = cr.to_torch(converted)
    assert list(back.state_dict()) == list(model.state_dict())
    x = X.astype(np.float32)
    np.testing.assert_allclose(theirs(back, x), theirs(model, x), rtol=1e-6)


def test_round_trip_and_independence():
    model = nn.MLP([3, 4, 2], activation="tanh", seed=0, dtype=np.float64).eval()
    converted = cr.to_torch(model)
    assert not converted.training
    back = cr.from_torch(converted)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[name], value)
    with torch.no_grad():
        converted[0].weight.add_(1.0)
    np.testing.assert_array_equal(back.state_dict()["0.weight"], model.state_dict()["0.weight"])


def test_modules_without_counterpart_are_refused_clearly():
    class Net(cr.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(BridgeError, match="no torch counterpart for Net"):
        cr.to_torch(nn.Sequential(nn.Linear(2, 2), Net()))
    with pytest.raises(BridgeError, match="no chainrule counterpart for torch.nn.modules.rnn.GRU"):
        cr.from_torch(torch.nn.GRU(2, 2))
    assert cr.from_torch(torch.nn.Softmax()).dim is None  # both pick the axis from the input's rank


def test_a_layer_of_your_own_joins_with_register():
    from chainrule.io import torch_bridge

    class Square(cr.nn.Module):
        def forward(self, x):
            return x * x

    class TorchSquare(torch.nn.Module):
        def forward(self, x):
            return x * x

    torch_bridge.register(Square, TorchSquare, to_torch=lambda m, tnn, dtype: TorchSquare(),
                          from_torch=lambda t, dtype: Square())
    try:
        converted = cr.to_torch(nn.Sequential(nn.Linear(3, 2, seed=0, dtype=np.float64), Square()))
        assert isinstance(converted[1], TorchSquare)
        assert isinstance(cr.from_torch(converted)[1], Square)
    finally:
        torch_bridge._PAIRS[:] = [p for p in torch_bridge._PAIRS if p.ours is not Square]
