"""chainrule.nn: modules, layers, the seed's neuron, and the losses against PyTorch."""

import math
import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

# -- Module ----------------------------------------------------------------------------------------


class Affine(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter([0.5, -0.5])
        self.b = nn.Parameter(0.0)
        self.inner = nn.Linear(2, 3, seed=0)
        self.note = "not a parameter"

    def forward(self, x):
        return self.inner(x * self.w + self.b)


def test_module_registers_parameters_and_submodules_with_dotted_names():
    model = Affine()
    assert [name for name, _ in model.named_parameters()] == ["w", "b", "inner.weight", "inner.bias"]
    assert model.num_parameters() == 2 + 1 + 6 + 3
    assert [name for name, _ in model.named_modules()] == ["", "inner"]
    assert list(model.children()) == [model.inner]

    nested = nn.Sequential(Affine(), nn.ReLU(), nn.Sequential(nn.Linear(3, 1, seed=1)))
    assert [name for name, _ in nested.named_parameters()] == [
        "0.w", "0.b", "0.inner.weight", "0.inner.bias", "2.0.weight", "2.0.bias"]


def test_reassigning_an_attribute_unregisters_it_and_shared_parameters_count_once():
    model = Affine()
    model.b = 1.0  # a plain number is not a parameter
    assert "b" not in dict(model.named_parameters())
    del model.inner
    assert [name for name, _ in model.named_parameters()] == ["w"]

    shared = nn.Linear(2, 2, seed=0)
    twice = nn.Sequential(shared, shared)
    assert len(twice.parameters()) == 2


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(1.0)

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_train_eval_and_zero_grad():
    model = nn.MLP([2, 3, 1], seed=0)
    model.eval()
    assert not any(module.training for _, module in model.named_modules())
    model.train()
    assert all(module.training for _, module in model.named_modules())
    model(cr.tensor(np.ones((4, 2), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# -- layers ----------------------------------------------------------------------------------------


def test_linear_shapes():
    layer = nn.Linear(3, 2, seed=0)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.weight.dtype == cr.float32 and layer.bias.dtype == cr.float32  # the default dtype, as in PyTorch
    assert layer(cr.tensor(np.ones((5, 3), dtype=np.float32))).shape == (5, 2)
    assert layer(cr.tensor([1.0, 1.0, 1.0])).shape == (2,)
    assert nn.Linear(3, 2, bias=False, seed=0).bias is None
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(layer(cr.tensor(x)).numpy(), x @ layer.weight.numpy().T + layer.bias.numpy(),
                               rtol=1e-6)
    exact = nn.Linear(3, 2, seed=0, dtype=cr.float64)
    assert exact.weight.dtype == cr.float64
    np.testing.assert_allclose(exact(cr.tensor(x.astype(np.float64))).numpy(),
                               x @ exact.weight.numpy().T + exact.bias.numpy(), rtol=1e-15)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 2)


def test_linear_init_uses_pytorchs_bounds():
    torch = pytest.importorskip("torch")
    fan_in = 100
    bound = 1 / math.sqrt(fan_in)
    ours = nn.Linear(fan_in, 50, seed=0)
    for parameter in (ours.weight, ours.bias):
        values = np.abs(parameter.numpy())
        assert values.max() <= bound and values.max() > 0.9 * bound
    torch.manual_seed(0)
    theirs = torch.nn.Linear(fan_in, 50)
    for parameter in (theirs.weight, theirs.bias):
        values = parameter.detach().abs()
        assert float(values.max()) <= bound + 1e-7 and float(values.max()) > 0.9 * bound
    # The same seed gives the same weights; another seed others.
    np.testing.assert_array_equal(nn.Linear(4, 3, seed=5).weight.numpy(), nn.Linear(4, 3, seed=5).weight.numpy())
    assert not np.array_equal(nn.Linear(4, 3, seed=5).weight.numpy(), nn.Linear(4, 3, seed=6).weight.numpy())


def test_sequential_and_mlp_structure():
    model = nn.MLP([2, 16, 16, 1], activation="relu", seed=0)
    kinds = [type(module).__name__ for module in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert len(model) == 5 and isinstance(model[0], nn.Linear) and model[4].out_features == 1
    assert model.num_parameters() == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert model.sizes == (2, 16, 16, 1)
    assert model(cr.tensor(np.zeros((7, 2), dtype=np.float32))).shape == (7, 1)

    with_output = nn.MLP([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=0)
    assert [type(m).__name__ for m in with_output] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    out = with_output(cr.tensor(np.ones((2, 3), dtype=np.float32))).numpy()
    assert np.all((out > 0) & (out < 1))

    with pytest.raises(ValueError, match="sizes"):
        nn.MLP([3])
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([3, 2, 1], activation="swish")
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(1, 1), "relu")


def test_neuron_reproduces_the_seeds_example_1():
    neuron = nn.Neuron(1, bias=False, weights=[0.5])
    prediction = neuron(cr.tensor([1.0]))
    loss = nn.MSELoss()(prediction, 0.0)
    assert prediction.item() == pytest.approx(0.622459, abs=1e-6)  # the seed's 0.622
    assert loss.item() == pytest.approx(0.387455, abs=1e-6)  # 0.387
    loss.backward()
    assert neuron.w.grad.item() == pytest.approx(0.2925605, abs=1e-7)  # 0.292
    optimizer = cr.optim.SGD(neuron.parameters(), lr=0.1)
    optimizer.step()
    assert neuron.w.item() == pytest.approx(0.470744, abs=1e-6)  # 0.4708
    assert nn.MSELoss()(neuron(cr.tensor([1.0])), 0.0).item() == pytest.approx(0.3789139, abs=1e-7)  # 0.378


def test_neuron_example_2_and_input_checks():
    neuron = nn.Neuron(2, weights=[0.5, -0.5], bias=0.0)
    assert [name for name, _ in neuron.named_parameters()] == ["w", "b"]
    assert neuron(cr.tensor([1.0, 2.0])).item() == pytest.approx(1 / (1 + math.exp(0.5)))
    assert neuron(cr.tensor(np.ones((4, 2), dtype=np.float32))).shape == (4,)
    with pytest.raises(ValueError, match="last dimension 2"):
        neuron(cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="expected 2 weights"):
        nn.Neuron(2, weights=[1.0])


# -- losses against PyTorch ------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum", "none")


def _binary_case(rng, n=7):
    return rng.normal(size=(n, 1)) * 2, (rng.random((n, 1)) > 0.5).astype(float)


def _cases(rng):
    """name → (our loss function, torch loss function(input, target, reduction), input, target)."""
    torch_f = pytest.importorskip("torch").nn.functional
    x, labels = _binary_case(rng)
    regression = rng.normal(size=(6, 3))
    regression_target = rng.normal(size=(6, 3))
    probabilities = rng.uniform(0.05, 0.95, size=(8,))
    soft_targets = rng.random(8)
    logits = rng.normal(size=(5, 4)) * 3
    classes = rng.integers(0, 4, size=5)
    return {
        "mse": (F.mse_loss, torch_f.mse_loss, regression, regression_target),
        "l1": (F.l1_loss, torch_f.l1_loss, regression, regression_target),
        "huber": (F.huber_loss, torch_f.huber_loss, regression * 2, regression_target),
        "bce": (F.binary_cross_entropy, torch_f.binary_cross_entropy, probabilities, soft_targets),
        "bce_with_logits": (F.binary_cross_entropy_with_logits, torch_f.binary_cross_entropy_with_logits,
                            x * 3, labels),
        "cross_entropy": (F.cross_entropy, torch_f.cross_entropy, logits, classes),
        "hinge": (F.hinge_loss,
                  lambda s, y, reduction: _torch_reduce(torch_f.relu(1 - (2 * y - 1) * s), reduction), x, labels),
    }


def _torch_reduce(values, reduction):
    return values.mean() if reduction == "mean" else values.sum() if reduction == "sum" else values


@pytest.mark.parametrize("name", ["mse", "l1", "huber", "bce", "bce_with_logits", "cross_entropy", "hinge"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_match_torch_values_and_gradients(name, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(zlib.crc32(f"{name}-{reduction}".encode()))
    ours_fn, theirs_fn, prediction, target = _cases(rng)[name]

    ours_input = cr.tensor(prediction, requires_grad=True)
    ours = ours_fn(ours_input, target, reduction=reduction)
    theirs_input = torch.tensor(prediction, dtype=torch.float64, requires_grad=True)
    theirs_target = torch.tensor(target) if name == "cross_entropy" else torch.tensor(target, dtype=torch.float64)
    theirs = theirs_fn(theirs_input, theirs_target, reduction=reduction)

    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=0, atol=1e-10)
    # Back-propagate a non-trivial upstream gradient for the per-sample losses.
    upstream = rng.normal(size=ours.shape)
    (ours * cr.tensor(upstream)).sum().backward()
    (theirs * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours_input.grad.numpy(), theirs_input.grad.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_delta_matches_torch(delta):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    prediction, target = rng.normal(size=10) * 3, rng.normal(size=10)
    ours_input = cr.tensor(prediction, requires_grad=True)
    ours = nn.HuberLoss(delta=delta)(ours_input, target)
    theirs_input = torch.tensor(prediction, requires_grad=True)
    theirs = torch.nn.functional.huber_loss(theirs_input, torch.tensor(target), delta=delta)
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-10)
    np.testing.assert_allclose(ours_input.grad.numpy(), theirs_input.grad.numpy(), rtol=0, atol=1e-10)


def test_loss_modules_wrap_the_functions_and_check_the_reduction():
    rng = np.random.default_rng(0)
    prediction, target = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    for name, cls in nn.LOSSES.items():
        assert issubclass(cls, nn.Module), name
    assert nn.MSELoss(reduction="sum")(prediction, target).item() == pytest.approx(np.sum((prediction - target) ** 2))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="average")
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(prediction, target, reduction="average")


def test_cross_entropy_is_stable_for_huge_logits():
    torch = pytest.importorskip("torch")
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0], [1000.0, 1000.0, -1000.0]])
    labels = np.array([0, 0, 2])
    ours_input = cr.tensor(logits, requires_grad=True)
    ours = F.cross_entropy(ours_input, labels, reduction="sum")
    ours.backward()
    assert math.isfinite(ours.item()) and np.all(np.isfinite(ours_input.grad.numpy()))
    assert ours.item() == pytest.approx(0 + 2000 + (2000 + math.log(2)), abs=1e-9)
    theirs_input = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(theirs_input, torch.tensor(labels), reduction="sum")
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-10)
    np.testing.assert_allclose(ours_input.grad.numpy(), theirs_input.grad.numpy(), rtol=0, atol=1e-10)


def test_loss_shape_mismatch_names_both_shapes():
    prediction = cr.tensor(np.zeros((4, 1)))
    target = np.zeros(4)
    for loss in (F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits, F.hinge_loss):
        with pytest.raises(ValueError) as error:
            loss(prediction, target)
        assert "(4, 1)" in str(error.value) and "(4,)" in str(error.value)
    with pytest.raises(ValueError, match=r"\(4,\)"):
        F.cross_entropy(cr.tensor(np.zeros((4, 3))), np.zeros((4, 1), dtype=int))


def test_loss_target_checks():
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(cr.tensor([1.5]), [1.0])
    with pytest.raises(ValueError, match="out of range"):
        F.cross_entropy(cr.tensor(np.zeros((2, 3))), [0, 3])
    with pytest.raises(ValueError, match="labels"):
        F.hinge_loss(cr.tensor([0.5, 0.5]), [2.0, 1.0])
    # 0/1 labels are read as −1/+1 by the hinge loss.
    assert F.hinge_loss(cr.tensor([0.5, 0.5]), [0.0, 1.0]).item() == pytest.approx((1.5 + 0.5) / 2)


# -- state dicts -----------------------------------------------------------------------------------


def test_state_dict_round_trip_copies_values():
    source, target = nn.MLP([2, 4, 1], seed=0), nn.MLP([2, 4, 1], seed=1)
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    target.load_state_dict(state)
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    state["0.weight"].numpy()[...] = 99.0  # a snapshot: changing it changes neither model
    assert not np.any(source[0].weight.numpy() == 99.0) and not np.any(target[0].weight.numpy() == 99.0)
    x = cr.tensor(np.ones((3, 2), dtype=np.float32))
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys():
    model = nn.MLP([2, 4, 1], seed=0)
    before = model.state_dict()
    state = nn.MLP([2, 4, 1], seed=1).state_dict()
    del state["2.bias"]
    state["extra.weight"] = np.zeros(3)
    state["0.weight"] = np.zeros((4, 3))
    with pytest.raises(nn.StateDictError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing key '2.bias'" in message
    assert "unexpected key 'extra.weight'" in message
    assert "'0.weight' has shape (4, 3)" in message and "(4, 2)" in message
    for name, value in model.state_dict().items():  # nothing changed
        np.testing.assert_array_equal(value, before[name])
    # strict=False ignores missing and unexpected keys but not wrong shapes.
    del state["0.weight"]
    model.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(model[0].bias.numpy(), state["0.bias"])
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([1, 2])
