"""Training faults: bad numbers stay out of the parameters; bad settings are refused; edge gradients as PyTorch."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

X, Y = cr.data.make_moons(24, noise=0.1, seed=0)


class SqrtAtZero(nn.Module):
    """A finite output whose gradient is infinite: √(w·0) at the start of training."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter([0.0])  # the default dtype, like the Linear layer
        self.linear = nn.Linear(2, 1, seed=0)

    def forward(self, x):
        return self.linear(x) + (self.scale * self.scale).sqrt()


def finite(model):
    return all(np.all(np.isfinite(p.numpy())) for p in model.parameters())


def test_an_infinite_gradient_stops_before_the_update_naming_the_parameter():
    model = SqrtAtZero()
    before = [p.numpy().copy() for p in model.parameters()]
    with np.errstate(all="ignore"), pytest.raises(cr.TrainingDiverged) as error:
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, Y, epochs=3, progress=False)
    message = str(error.value)
    assert "gradient of scale" in message and "epoch 1, step 1" in message, message
    assert finite(model)
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, model.parameters()))


def test_an_update_that_overflows_is_undone():
    model = nn.MLP([2, 4, 1], seed=0)
    with np.errstate(all="ignore"), pytest.raises(cr.TrainingDiverged) as error:
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e308), X, Y * 1e10, epochs=5,
               progress=False)
    assert finite(model), str(error.value)
    assert "epoch" in str(error.value) and "step" in str(error.value)


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=math.inf), lambda p: optim.SGD(p, lr=math.nan), lambda p: optim.SGD(p, lr=-1),
    lambda p: optim.Adam(p, eps=0), lambda p: optim.Adam(p, eps=-1e-8), lambda p: optim.Adam(p, lr=math.inf),
    lambda p: optim.Adam(p, betas=(1.0, 0.9)), lambda p: optim.Adam(p, betas=(0.9, -0.1)),
    lambda p: optim.AdamW(p, eps=0), lambda p: optim.RMSprop(p, eps=0), lambda p: optim.RMSprop(p, lr=math.inf),
])
def test_optimizers_refuse_bad_settings(make):
    with pytest.raises(ValueError, match="invalid"):
        make(nn.MLP([2, 1], seed=0).parameters())


def test_a_zero_lr_is_allowed_as_in_pytorch():
    optim.SGD(nn.MLP([2, 1], seed=0).parameters(), lr=0.0)


def torch_grads(base, exponent, scalar):
    torch = pytest.importorskip("torch")
    x = torch.tensor([base], dtype=torch.float64, requires_grad=True)
    if scalar:
        (x ** exponent).sum().backward()
        return x.grad.numpy(), None
    p = torch.tensor([exponent], dtype=torch.float64, requires_grad=True)
    (x ** p).sum().backward()
    return x.grad.numpy(), p.grad.numpy()


@pytest.mark.parametrize("base", [0.0, 2.0, -2.0, 0.5])
@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5])
def test_pow_gradients_match_pytorch_at_the_edges(base, exponent):
    with np.errstate(all="ignore"):
        x = cr.tensor(np.array([base]), requires_grad=True)
        (x ** exponent).sum().backward()
        expected, _ = torch_grads(base, exponent, scalar=True)
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-15, equal_nan=True)
        x = cr.tensor(np.array([base]), requires_grad=True)
        p = cr.tensor(np.array([exponent]), requires_grad=True)
        (x ** p).sum().backward()
        expected_x, expected_p = torch_grads(base, exponent, scalar=False)
        np.testing.assert_allclose(x.grad.numpy(), expected_x, equal_nan=True)
        np.testing.assert_allclose(p.grad.numpy(), expected_p, equal_nan=True)


def test_x_to_the_zero_has_zero_gradient_at_zero_without_torch():
    x = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0]
    s = cr.tensor(0.0, requires_grad=True)
    (s ** 0).backward()
    assert float(s.grad.numpy()) == 0.0
    f = cr.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    (f ** 0).sum().backward()
    assert f.grad.numpy().dtype == np.float32


@pytest.mark.parametrize("loss", [nn.MSELoss(), nn.BCEWithLogitsLoss(), nn.HingeLoss(), nn.L1Loss()])
def test_integer_labels_work_wherever_float_labels_do(loss):
    results = []
    for labels in (Y.astype(float), Y.astype(int), Y.astype(bool)):
        model = nn.MLP([2, 4, 1], seed=0)
        history = cr.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), X, labels, epochs=3, progress=False)
        results.append((history.epoch_loss, [p.numpy().copy() for p in model.parameters()]))
        assert cr.evaluate(model, loss, X, labels)["loss"] == pytest.approx(
            cr.evaluate(model, loss, X, Y.astype(float))["loss"])
    for losses, parameters in results[1:]:
        assert losses == results[0][0]
        assert all(np.array_equal(a, b) for a, b in zip(parameters, results[0][1]))


def test_cross_entropy_keeps_integer_class_indices():
    model = nn.MLP([2, 4, 2], seed=0)
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, Y.astype(int),
                     epochs=2, progress=False)
    assert len(history.epoch_loss) == 2


def test_resuming_from_a_file_without_training_state_is_a_checkpoint_error(tmp_path):
    path = cr.save({"model": nn.MLP([2, 1], seed=0).state_dict()}, tmp_path / "weights.npz")
    model = nn.MLP([2, 1], seed=0)
    with pytest.raises(cr.CheckpointError, match="optimizer"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, Y, checkpoint=path, resume=True,
               progress=False)


def test_the_finiteness_check_survives_a_sum_that_overflows():
    from chainrule.train import _first_non_finite

    assert _first_non_finite([np.array([1e308, 1e308]), np.float64(1e308)]) is None
    assert np.isnan(_first_non_finite([np.ones(3), np.array([1.0, np.nan])]))
    assert _first_non_finite([np.float64(-np.inf)]) == -np.inf
    assert _first_non_finite([np.zeros((0, 3))]) is None
