"""The seed document's three examples, written as plain loops over tensors.

The seed works by hand: it rounds each number to three or four decimals and
carries the rounded number into the next step (1.244 × 0.235 = 0.292, where
the unrounded product is 0.29256; 2 × (−0.292) = −0.584 where the exact value
is −0.58512). Carried rounding can drift by a little more than one unit of the
last digit, so each seed number is checked to 1.5 units in its last printed
digit, and the exact values are checked tightly against a pure-Python
computation of the same formulas.

Each example runs in float32 (the default dtype, PyTorch's) and in float64:
both give the seed's numbers at the seed's rounding; float64 also matches the
exact values to 1e-12, float32 to its own precision.
"""

import math

import pytest

import chainrule as cr


def agrees_with_seed(value, seed_text: str) -> bool:
    """True when ``value`` matches the seed's number to 1.5 units in its last digit."""
    decimals = len(seed_text.split(".")[1])
    return abs(float(value) - float(seed_text)) <= 1.5 * 10**-decimals


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# (dtype, how closely it matches exact arithmetic)
PRECISIONS = {"float32": (None, 1e-6), "float64": (cr.float64, 1e-12)}


@pytest.fixture(params=sorted(PRECISIONS))
def precision(request):
    """The dtype to ask for (None: the default, float32) and the tolerance it earns."""
    return PRECISIONS[request.param]


def test_example_1_one_weight_sigmoid_neuron(precision):
    dtype, tol = precision
    x, y, lr = cr.tensor(1.0, dtype=dtype), 0.0, 0.1
    w = cr.tensor(0.5, requires_grad=True, dtype=dtype)

    z = w * x
    y_hat = cr.sigmoid(z)
    for t in (z, y_hat):
        t.retain_grad()
    loss = (y_hat - y) ** 2
    loss.backward()

    dloss_dyhat = y_hat.grad.item()
    dyhat_dz = z.grad.item() / dloss_dyhat
    expected = {
        z: ("0.5", 0.5),
        y_hat: ("0.622", sigmoid(0.5)),
        loss: ("0.387", sigmoid(0.5) ** 2),
        w.grad: ("0.292", 2 * sigmoid(0.5) ** 2 * (1 - sigmoid(0.5))),
    }
    for tensor, (seed, exact) in expected.items():
        assert agrees_with_seed(tensor, seed)
        assert tensor.item() == pytest.approx(exact, abs=tol)
        assert tensor.dtype == (dtype or cr.float32)
    assert agrees_with_seed(dloss_dyhat, "1.244")
    assert agrees_with_seed(dyhat_dz, "0.235")
    assert w.grad.item() == pytest.approx(0.2925605, abs=1e-7)

    with cr.no_grad():
        w -= lr * w.grad
    assert w.item() == pytest.approx(0.470744, abs=1e-6)
    assert agrees_with_seed(w, "0.4708")

    new_prediction = cr.sigmoid(w * x)
    new_loss = (new_prediction - y) ** 2
    assert agrees_with_seed(new_prediction, "0.615")
    assert agrees_with_seed(new_loss, "0.378")
    assert new_loss.item() == pytest.approx(0.3789139, abs=1e-7)
    assert new_loss.item() < loss.item()


def test_example_2_two_inputs_and_a_bias(precision):
    dtype, tol = precision
    x1, x2, y, lr = 1.0, 2.0, 1.0, 0.1
    w1 = cr.tensor(0.5, requires_grad=True, name="w1", dtype=dtype)
    w2 = cr.tensor(-0.5, requires_grad=True, name="w2", dtype=dtype)
    b = cr.tensor(0.0, requires_grad=True, name="b", dtype=dtype)

    z = w1 * x1 + w2 * x2 + b
    y_hat = cr.sigmoid(z)
    for t in (z, y_hat):
        t.retain_grad()
    loss = (y_hat - y) ** 2
    loss.backward()

    assert agrees_with_seed(z, "-0.5")
    assert agrees_with_seed(y_hat, "0.3775")
    assert agrees_with_seed(loss, "0.387")
    assert agrees_with_seed(y_hat.grad, "-1.2449")
    assert agrees_with_seed(z.grad.item() / y_hat.grad.item(), "0.2350")
    assert agrees_with_seed(z.grad, "-0.292")
    for parameter, seed in ((w1, "-0.292"), (w2, "-0.584"), (b, "-0.292")):
        assert agrees_with_seed(parameter.grad, seed)
    exact_dz = 2 * (sigmoid(-0.5) - 1) * sigmoid(-0.5) * (1 - sigmoid(-0.5))
    assert (w1.grad.item(), w2.grad.item(), b.grad.item()) == pytest.approx((exact_dz, 2 * exact_dz, exact_dz),
                                                                           abs=tol)

    with cr.no_grad():
        for p in (w1, w2, b):
            p -= lr * p.grad
    for parameter, seed in ((w1, "0.5292"), (w2, "-0.4416"), (b, "0.0292")):
        assert agrees_with_seed(parameter, seed)

    z_new = w1 * x1 + w2 * x2 + b
    new_loss = (cr.sigmoid(z_new) - y) ** 2
    assert z_new.item() == pytest.approx(-0.3244637, abs=1e-7)
    # The seed's −0.3248 is the same sum over its rounded parameters.
    assert agrees_with_seed(cr.tensor(0.5292) * x1 + cr.tensor(-0.4416) * x2 + 0.0292, "-0.3248")
    assert agrees_with_seed(cr.sigmoid(z_new), "0.4196")
    assert agrees_with_seed(new_loss, "0.338")
    assert new_loss.item() < loss.item()


DATA = [(1.0, 0.0), (2.0, 1.0), (3.0, 1.0)]


def sample_gradient(w_value, x, y, dtype=None):
    w = cr.tensor(w_value, requires_grad=True, dtype=dtype)
    loss = (cr.sigmoid(w * x) - y) ** 2
    loss.backward()
    return w.grad.item()


def test_example_3_per_sample_gradients_and_batch_update(precision):
    dtype, tol = precision
    predictions = [cr.sigmoid(cr.tensor(0.5, dtype=dtype) * x) for x, _ in DATA]
    for prediction, seed in zip(predictions, ("0.622", "0.731", "0.818")):
        assert agrees_with_seed(prediction, seed)
    gradients = [sample_gradient(0.5, x, y, dtype) for x, y in DATA]
    for gradient, seed in zip(gradients, ("0.292", "-0.211", "-0.163")):
        assert agrees_with_seed(gradient, seed)
    batch_gradient = sum(gradients) / 3
    assert agrees_with_seed(batch_gradient, "-0.0275")
    assert agrees_with_seed(0.5 - 0.1 * batch_gradient, "0.5028")
    assert 0.5 - 0.1 * batch_gradient == pytest.approx(0.502740, abs=1e-6)


def test_example_3_batch_gradient_is_the_gradient_of_the_mean_loss(precision):
    dtype, tol = precision
    w = cr.tensor(0.5, requires_grad=True, dtype=dtype)
    xs, ys = cr.tensor([x for x, _ in DATA], dtype=dtype), cr.tensor([y for _, y in DATA], dtype=dtype)
    loss = ((cr.sigmoid(w * xs) - ys) ** 2).mean()
    loss.backward()
    mean_of_samples = sum(sample_gradient(0.5, x, y, dtype) for x, y in DATA) / 3
    # Float64 agrees to rounding; float32 to its precision (a few units of 1e-8 at this size).
    assert w.grad.item() == pytest.approx(mean_of_samples, abs=1e-15 if dtype is cr.float64 else 1e-7)
    with cr.no_grad():
        w -= 0.1 * w.grad
    assert agrees_with_seed(w, "0.5028")
    assert w.item() == pytest.approx(0.502740, abs=1e-6)


def test_example_3_stochastic_updates_recompute_each_gradient(precision):
    dtype, _ = precision
    w = cr.tensor(0.5, requires_grad=True, dtype=dtype)
    path = []
    for x, y in DATA:
        w.grad = None
        loss = (cr.sigmoid(w * x) - y) ** 2
        loss.backward()
        with cr.no_grad():
            w -= 0.1 * w.grad
        path.append(w.item())
    for value, seed in zip(path, ("0.4708", "0.4933", "0.5102")):
        assert agrees_with_seed(value, seed)
    assert path == pytest.approx([0.4707439, 0.4934011, 0.5102008], abs=1e-7)
    assert path[-1] > 0.502740  # the seed's lesson: one stochastic pass moved w further
