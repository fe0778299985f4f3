"""Conv2d, MaxPool2d and AvgPool2d against PyTorch (values and gradients, random shapes and
geometry), and Conv2d's gradients against central differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")


def _both(array):
    """The same float64 values as a chainrule leaf and a torch leaf."""
    return cr.tensor(array, dtype=np.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


def _random_conv_case(rng):
    n, groups = int(rng.integers(1, 4)), int(rng.choice([1, 1, 2]))
    c, o = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kh, kw = (int(k) for k in rng.integers(1, 4, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 3, size=2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
    padding = tuple(int(p) for p in rng.integers(0, 3, size=2))
    h = int(rng.integers(dilation[0] * (kh - 1) + 1, 9))
    w = int(rng.integers(dilation[1] * (kw - 1) + 1, 9))
    return dict(x=rng.normal(size=(n, c, h, w)), weight=rng.normal(size=(o, c // groups, kh, kw)),
                bias=rng.normal(size=o) if rng.random() < 0.7 else None, stride=stride, padding=padding,
                dilation=dilation, groups=groups)


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_matches_torch_values_and_gradients(seed):
    rng = np.random.default_rng(seed)
    case = _random_conv_case(rng)
    x, tx = _both(case["x"])
    w, tw = _both(case["weight"])
    b, tb = _both(case["bias"]) if case["bias"] is not None else (None, None)
    geometry = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    ours = F.conv2d(x, w, b, **geometry)
    theirs = torch.nn.functional.conv2d(tx, tw, tb, **geometry)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.normal(size=ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    for mine, reference in ((x, tx), (w, tw)) + (((b, tb),) if b is not None else ()):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_conv2d_gradients_match_central_differences(seed):
    rng = np.random.default_rng(100 + seed)
    case = _random_conv_case(rng)
    case["x"], case["weight"] = case["x"][:2, :, :6, :6], case["weight"]  # keep the check small
    case["x"] = rng.normal(size=(1, case["weight"].shape[1] * case["groups"], 6, 6))
    geometry = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    inputs = [case["x"], case["weight"]] + ([case["bias"]] if case["bias"] is not None else [])
    assert cr.gradcheck(lambda *t: F.conv2d(*t, **geometry), inputs)


def test_a_wrong_conv_input_gradient_would_be_caught():
    """The finite-difference check above can fail: a conv whose input gradient is off by a factor."""
    from chainrule.rules import RULES

    rule = RULES["conv2d"]
    original = rule.vjp

    def wrong(*args, **kwargs):
        grads = original(*args, **kwargs)
        return (None if grads[0] is None else grads[0] * 1.01,) + tuple(grads[1:])

    object.__setattr__(rule, "vjp", wrong)
    try:
        with pytest.raises(cr.GradcheckError):
            cr.gradcheck(lambda x, w: F.conv2d(x, w, padding=1), [np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))])
    finally:
        object.__setattr__(rule, "vjp", original)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's note on its own copy
def test_padding_same_and_valid_and_unbatched_input():
    rng = np.random.default_rng(0)
    for kernel, dilation in (((3, 4), (1, 1)), ((2, 3), (2, 1))):
        x, tx = _both(rng.normal(size=(2, 3, 7, 6)))
        w, tw = _both(rng.normal(size=(4, 3) + kernel))
        ours = F.conv2d(x, w, padding="same", dilation=dilation)
        theirs = torch.nn.functional.conv2d(tx, tw, padding="same", dilation=dilation)
        assert ours.shape == (2, 4, 7, 6)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    single = rng.normal(size=(3, 5, 5))
    weight = rng.normal(size=(2, 3, 3, 3))
    ours = F.conv2d(cr.tensor(single), cr.tensor(weight), padding="valid")
    theirs = torch.nn.functional.conv2d(torch.tensor(single), torch.tensor(weight), padding="valid")
    assert ours.shape == tuple(theirs.shape) == (2, 3, 3)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


def test_conv2d_layer_has_torch_names_shapes_and_initial_bounds():
    layer = nn.Conv2d(3, 8, kernel_size=(3, 5), stride=2, padding=1, generator=np.random.default_rng(0))
    names = [name for name, _ in layer.named_parameters()]
    assert names == ["weight", "bias"]
    assert layer.weight.shape == (8, 3, 3, 5) and layer.bias.shape == (8,)
    bound = 1 / np.sqrt(3 * 3 * 5)
    assert np.all(np.abs(layer.weight.numpy()) <= bound) and np.abs(layer.weight.numpy()).max() > 0.8 * bound
    assert np.all(np.abs(layer.bias.numpy()) <= bound)
    theirs = torch.nn.Conv2d(3, 8, kernel_size=(3, 5), stride=2, padding=1, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(1).normal(size=(2, 3, 9, 9))
    np.testing.assert_allclose(layer(cr.tensor(x, dtype=layer.weight.dtype)).numpy(),
                               theirs(torch.tensor(x, dtype=torch.float64)).detach().numpy(),
                               rtol=1e-5 if layer.weight.dtype == np.float32 else 1e-10, atol=1e-6)
    assert nn.Conv2d(2, 4, 3, bias=False).bias is None


def test_conv2d_errors_name_what_does_not_fit():
    with pytest.raises(ValueError, match="3 channels"):
        F.conv2d(cr.tensor(np.zeros((1, 3, 5, 5))), cr.tensor(np.zeros((2, 2, 3, 3))))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        F.conv2d(cr.tensor(np.zeros((1, 1, 2, 2))), cr.tensor(np.zeros((1, 1, 3, 3))))
    with pytest.raises(ValueError, match="stride 1"):
        F.conv2d(cr.tensor(np.zeros((1, 1, 5, 5))), cr.tensor(np.zeros((1, 1, 3, 3))), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="N, C, H, W"):
        F.conv2d(cr.tensor(np.zeros((5, 5))), cr.tensor(np.zeros((1, 1, 3, 3))))


def _random_pool_case(rng, dilate):
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
    stride = None if rng.random() < 0.3 else tuple(int(s) for s in rng.integers(1, 4, size=2))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2)) if dilate else (1, 1)
    h = int(rng.integers(dilation[0] * (kernel[0] - 1) + 1, 9))
    w = int(rng.integers(dilation[1] * (kernel[1] - 1) + 1, 9))
    return rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(1, 4)), h, w)), kernel, stride, padding, dilation


@pytest.mark.parametrize("seed", range(12))
def test_max_pool2d_matches_torch(seed):
    rng = np.random.default_rng(seed)
    values, kernel, stride, padding, dilation = _random_pool_case(rng, dilate=True)
    if seed % 3 == 0:  # ties: PyTorch gives the whole gradient to the first maximum of the window
        values = np.round(values)
    x, tx = _both(values)
    ours = nn.MaxPool2d(kernel, stride, padding, dilation)(x)
    theirs = torch.nn.MaxPool2d(kernel, stride, padding, dilation)(tx)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    upstream = rng.normal(size=ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", range(12))
def test_avg_pool2d_matches_torch(seed):
    rng = np.random.default_rng(seed)
    values, kernel, stride, padding, _ = _random_pool_case(rng, dilate=False)
    options = {"count_include_pad": bool(seed % 2), "divisor_override": 3 if seed % 5 == 0 else None}
    x, tx = _both(values)
    ours = nn.AvgPool2d(kernel, stride, padding, **options)(x)
    theirs = torch.nn.AvgPool2d(kernel, stride, padding, **options)(tx)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    upstream = rng.normal(size=ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_pooling_refuses_what_it_does_not_do():
    with pytest.raises(ValueError, match="half the kernel"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="ceil_mode"):
        nn.AvgPool2d(2, ceil_mode=True)
    with pytest.raises(ValueError, match="return_indices"):
        nn.MaxPool2d(2, return_indices=True)


def test_a_small_cnn_keeps_float32_and_learns():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, dtype=np.float32, generator=rng), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2, rng=rng, dtype=np.float32))
    x = rng.normal(size=(32, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(np.int64)
    optimizer = cr.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = nn.CrossEntropyLoss()(model(cr.tensor(x)), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert loss.dtype == np.float32 and model[0].weight.grad.dtype == np.float32
    assert losses[-1] < 0.5 * losses[0]
