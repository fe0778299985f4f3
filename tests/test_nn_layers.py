"""BatchNorm1d, LayerNorm, Embedding, Dropout, Flatten and the activation modules against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _both(array):
    return cr.tensor(array, dtype=np.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


def _close(ours, theirs, rtol=1e-10, atol=1e-12):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=rtol, atol=atol)


def _copy_state(ours: nn.Module, theirs):
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("seed", range(6))
def test_batchnorm1d_trains_and_evaluates_as_torch(seed):
    rng = np.random.default_rng(seed)
    features = int(rng.integers(1, 5))
    shape = (int(rng.integers(2, 6)), features) + ((int(rng.integers(1, 4)),) if seed % 2 else ())
    options = {"momentum": [0.1, 0.3, None][seed % 3], "affine": seed != 4, "eps": 1e-3 if seed == 5 else 1e-5}
    ours = nn.BatchNorm1d(features, dtype=np.float64, **options)
    theirs = torch.nn.BatchNorm1d(features, dtype=torch.float64, **options)
    if options["affine"]:
        ours.weight.numpy()[...] = rng.normal(size=features)
        ours.bias.numpy()[...] = rng.normal(size=features)
        _copy_state(ours, theirs)
    for _ in range(3):  # the running statistics follow PyTorch's over several batches
        x, tx = _both(rng.normal(2.0, 3.0, size=shape))
        out, reference = ours(x), theirs(tx)
        _close(out.numpy(), reference)
        upstream = rng.normal(size=shape)
        out.backward(upstream)
        reference.backward(torch.tensor(upstream))
        _close(x.grad.numpy(), tx.grad)
        if options["affine"]:
            _close(ours.weight.grad.numpy(), theirs.weight.grad)
            _close(ours.bias.grad.numpy(), theirs.bias.grad)
            ours.zero_grad()
            theirs.zero_grad()
    for name, value in theirs.state_dict().items():
        _close(ours.state_dict()[name].numpy(), value)
    assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype == np.int64
    ours.eval()
    theirs.eval()
    x, tx = _both(rng.normal(size=shape))
    out, reference = ours(x), theirs(tx)
    _close(out.numpy(), reference)
    out.sum().backward()
    reference.sum().backward()
    _close(x.grad.numpy(), tx.grad)


def test_batchnorm1d_names_buffers_and_refuses_a_single_value_per_channel():
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    assert list(layer.state_dict()) == list(torch.nn.BatchNorm1d(3).state_dict())
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in layer.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(cr.tensor(np.ones((1, 3))))
    untracked = nn.BatchNorm1d(3, track_running_stats=False, dtype=np.float64).eval()
    x = np.random.default_rng(0).normal(size=(4, 3))
    _close(untracked(cr.tensor(x)).numpy(),
           torch.nn.BatchNorm1d(3, track_running_stats=False, dtype=torch.float64).eval()(torch.tensor(x)))
    assert list(untracked.state_dict()) == ["weight", "bias"]


@pytest.mark.parametrize("seed", range(5))
def test_layernorm_matches_torch(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))
    normalized = shape[-int(rng.integers(1, len(shape) + 1)):]
    options = {"elementwise_affine": seed != 3, "bias": seed != 2}
    ours = nn.LayerNorm(normalized, dtype=np.float64, **options)
    theirs = torch.nn.LayerNorm(normalized, dtype=torch.float64, **options)
    if options["elementwise_affine"]:
        ours.weight.numpy()[...] = rng.normal(size=normalized)
        if ours.bias is not None:
            ours.bias.numpy()[...] = rng.normal(size=normalized)
        _copy_state(ours, theirs)
    x, tx = _both(rng.normal(size=(3,) + shape))
    out, reference = ours(x), theirs(tx)
    _close(out.numpy(), reference)
    upstream = rng.normal(size=out.shape)
    out.backward(upstream)
    reference.backward(torch.tensor(upstream))
    _close(x.grad.numpy(), tx.grad)
    for (_, mine), (_, other) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(mine.grad.numpy(), other.grad, rtol=1e-9)


def test_embedding_matches_torch_with_repeats_and_padding():
    rng = np.random.default_rng(0)
    for padding_idx in (None, 2, -1):
        ours = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=np.float64, generator=rng)
        theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=torch.float64)
        if padding_idx is not None:
            assert np.all(ours.weight.numpy()[padding_idx] == 0)
        _copy_state(ours, theirs)
        indices = np.array([[1, 2, 2], [5, 0, 1]])
        out, reference = ours(indices), theirs(torch.tensor(indices))
        assert out.shape == (2, 3, 3)
        _close(out.numpy(), reference)
        upstream = rng.normal(size=out.shape)
        out.backward(upstream)
        reference.backward(torch.tensor(upstream))
        _close(ours.weight.grad.numpy(), theirs.weight.grad)
    with pytest.raises(IndexError, match="out of range"):
        nn.Embedding(3, 2)(np.array([3]))
    frozen = nn.Embedding.from_pretrained(np.eye(3))
    assert not frozen.weight.requires_grad and frozen(np.array([1])).tolist() == [[0.0, 1.0, 0.0]]


def test_dropout_scales_survivors_and_is_the_identity_in_eval():
    layer = nn.Dropout(0.25, generator=np.random.default_rng(0))
    x = cr.tensor(np.ones((200, 50)), requires_grad=True)
    out = layer(x)
    values = out.numpy()
    kept = values != 0
    np.testing.assert_allclose(values[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # the gradient passes where the value did
    layer.eval()
    assert layer(x) is x
    assert np.all(nn.Dropout(1.0)(x).numpy() == 0)
    first = nn.Dropout(0.5, generator=np.random.default_rng(7))(x).numpy()
    again = nn.Dropout(0.5, generator=np.random.default_rng(7))(x).numpy()
    np.testing.assert_array_equal(first, again)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_flatten_matches_torch():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    for start, end in ((1, -1), (0, -1), (1, 2), (2, 3), (-3, -2)):
        assert nn.Flatten(start, end)(cr.tensor(x)).shape == tuple(torch.nn.Flatten(start, end)(torch.tensor(x)).shape)
        np.testing.assert_array_equal(nn.Flatten(start, end)(cr.tensor(x)).numpy(),
                                      torch.nn.Flatten(start, end)(torch.tensor(x)).numpy())


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "elu", "elu_alpha", "softmax", "log_softmax"])
def test_activation_modules_match_torch(name):
    ours, theirs = {
        "gelu": (nn.GELU(), torch.nn.GELU()),
        "gelu_tanh": (nn.GELU("tanh"), torch.nn.GELU("tanh")),
        "silu": (nn.SiLU(), torch.nn.SiLU()),
        "elu": (nn.ELU(), torch.nn.ELU()),
        "elu_alpha": (nn.ELU(alpha=0.7), torch.nn.ELU(alpha=0.7)),
        "softmax": (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
        "log_softmax": (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)),
    }[name]
    rng = np.random.default_rng(1)
    values = rng.normal(scale=3.0, size=(4, 5, 3))
    values[0, 0, 0] = 0.0
    values[0, 0, 1] = 60.0  # large inputs: no overflow in ELU's unused branch
    x, tx = _both(values)
    out, reference = ours(x), theirs(tx)
    _close(out.numpy(), reference, rtol=1e-12, atol=1e-14)
    upstream = rng.normal(size=values.shape)
    out.backward(upstream)
    reference.backward(torch.tensor(upstream))
    _close(x.grad.numpy(), tx.grad, rtol=1e-10, atol=1e-12)


def test_softmax_without_dim_follows_torch_legacy_choice_with_a_warning():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    with pytest.warns(UserWarning, match="implicit dimension"):
        ours = nn.Softmax()(cr.tensor(x))
    with pytest.warns(UserWarning):
        reference = torch.nn.Softmax()(torch.tensor(x))
    _close(ours.numpy(), reference)
    assert nn.activation_module("softmax").dim == -1  # MLP's output activation stays on the last axis


def test_float32_stays_float32_through_the_new_layers():
    x = cr.tensor(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    model = nn.Sequential(nn.LayerNorm(3, dtype=np.float32), nn.GELU(), nn.BatchNorm1d(3, dtype=np.float32),
                          nn.SiLU(), nn.ELU(), nn.Dropout(0.1, generator=np.random.default_rng(0)))
    out = model(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    assert model[2].running_var.dtype == np.float32
