"""The losses against PyTorch: values and gradients on random shapes, every option."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

REDUCTIONS = ["mean", "sum", "none"]


def _both(array):
    return cr.tensor(array, dtype=np.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


def _compare(ours_loss, theirs_loss, pairs, rng):
    np.testing.assert_allclose(ours_loss.numpy(), theirs_loss.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.uniform(0.5, 1.5, size=ours_loss.shape)
    ours_loss.backward(upstream)
    theirs_loss.backward(torch.tensor(upstream))
    for mine, reference in pairs:
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-9, atol=1e-12)


def _logits_and_labels(rng, spatial: bool, unbatched: bool = False):
    classes = int(rng.integers(2, 6))
    if unbatched:
        return rng.normal(size=(classes,)) * 2, np.array(rng.integers(0, classes)), classes
    n = int(rng.integers(1, 6))
    extra = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 3)))) if spatial else ()
    return rng.normal(size=(n, classes) + extra) * 2, rng.integers(0, classes, size=(n,) + extra), classes


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # seed 3 ignores every sample: 0/0, NaN in both
@pytest.mark.parametrize("seed", range(16))
def test_cross_entropy_matches_torch(seed):
    rng = np.random.default_rng(seed)
    logits, labels, classes = _logits_and_labels(rng, spatial=seed % 2 == 1, unbatched=seed == 14)
    options = {"reduction": REDUCTIONS[seed % 3]}
    if seed % 4 in (1, 2):
        options["weight"] = rng.uniform(0.2, 2.0, size=classes)
    if seed % 5 in (0, 3) and labels.ndim:
        labels = labels.copy()
        labels.flat[0] = -100 if seed % 2 else 7
        options["ignore_index"] = int(labels.flat[0])
    if seed % 3 == 1 or seed > 12:
        options["label_smoothing"] = 0.2
    x, tx = _both(logits)
    ours = nn.CrossEntropyLoss(**options)(x, labels)
    torch_options = dict(options, weight=torch.tensor(options["weight"]) if "weight" in options else None)
    theirs = torch.nn.CrossEntropyLoss(**torch_options)(tx, torch.tensor(labels))
    _compare(ours, theirs, [(x, tx)], rng)


@pytest.mark.parametrize("seed", range(6))
def test_cross_entropy_with_probability_targets_matches_torch(seed):
    rng = np.random.default_rng(seed)
    logits, _, classes = _logits_and_labels(rng, spatial=seed % 2 == 1)
    probabilities = rng.dirichlet(np.ones(classes), size=logits.shape[:1] + logits.shape[2:])
    probabilities = np.moveaxis(probabilities, -1, 1)
    options = {"reduction": REDUCTIONS[seed % 3], "label_smoothing": 0.1 if seed > 2 else 0.0}
    weight = rng.uniform(0.5, 2.0, size=classes) if seed % 2 == 0 else None
    x, tx = _both(logits)
    ours = nn.functional.cross_entropy(x, probabilities, weight=weight, **options)
    theirs = torch.nn.functional.cross_entropy(tx, torch.tensor(probabilities),
                                               weight=None if weight is None else torch.tensor(weight), **options)
    _compare(ours, theirs, [(x, tx)], rng)


def test_the_class_axis_is_axis_1_as_in_torch():
    """(N, C, L) logits: the classes are axis 1. (Before, the last axis was taken silently.)"""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 4))
    labels = rng.integers(0, 3, size=(2, 4))
    ours = nn.functional.cross_entropy(cr.tensor(logits), labels, reduction="none")
    assert ours.shape == (2, 4)
    np.testing.assert_allclose(ours.numpy(), torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(labels), reduction="none").numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        nn.functional.cross_entropy(cr.tensor(logits), rng.integers(0, 3, size=(2, 3)))


@pytest.mark.parametrize("seed", range(8))
def test_nll_loss_matches_torch(seed):
    rng = np.random.default_rng(seed)
    logits, labels, classes = _logits_and_labels(rng, spatial=seed % 2 == 1, unbatched=seed == 7)
    log_p = logits - np.log(np.exp(logits).sum(axis=0 if seed == 7 else 1, keepdims=True))
    options = {"reduction": REDUCTIONS[seed % 3]}
    if seed % 3 == 0:
        options["weight"] = rng.uniform(0.2, 2.0, size=classes)
    if seed in (2, 4) and labels.size > 1:
        labels = labels.copy()
        labels.flat[-1] = 1
        options["ignore_index"] = 1
    x, tx = _both(log_p)
    ours = nn.NLLLoss(**options)(x, labels)
    torch_options = dict(options, weight=torch.tensor(options["weight"]) if "weight" in options else None)
    theirs = torch.nn.NLLLoss(**torch_options)(tx, torch.tensor(labels))
    _compare(ours, theirs, [(x, tx)], rng)
    # NLL of log_softmax is cross-entropy.
    if "ignore_index" not in options and seed != 7:
        np.testing.assert_allclose(
            nn.NLLLoss(**options)(nn.LogSoftmax(dim=1)(cr.tensor(logits)), labels).numpy(),
            nn.CrossEntropyLoss(**options)(cr.tensor(logits), labels).numpy(), rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_bce_with_logits_pos_weight_and_weight_match_torch(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 5)), int(rng.integers(1, 4)))
    logits = rng.normal(scale=4.0, size=shape)
    logits[0, 0] = 40.0  # far in the tail: still finite and exact
    target = rng.uniform(size=shape) if seed % 2 else rng.integers(0, 2, size=shape).astype(float)
    pos_weight = rng.uniform(0.5, 3.0, size=shape[-1:]) if seed != 5 else None
    weight = rng.uniform(0.5, 2.0, size=shape) if seed % 3 == 0 else None
    reduction = REDUCTIONS[seed % 3]
    x, tx = _both(logits)
    ours = nn.BCEWithLogitsLoss(weight=weight, reduction=reduction, pos_weight=pos_weight)(x, target)
    theirs = torch.nn.BCEWithLogitsLoss(
        weight=None if weight is None else torch.tensor(weight), reduction=reduction,
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight))(tx, torch.tensor(target))
    _compare(ours, theirs, [(x, tx)], rng)


@pytest.mark.parametrize("beta", [1.0, 0.3, 2.5, 0.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smooth_l1_matches_torch(beta, reduction):
    rng = np.random.default_rng(int(beta * 10))
    prediction = rng.normal(scale=2.0, size=(4, 3))
    target = prediction + rng.normal(scale=2.0, size=(4, 3))
    x, tx = _both(prediction)
    ours = nn.SmoothL1Loss(reduction=reduction, beta=beta)(x, target)
    theirs = torch.nn.SmoothL1Loss(reduction=reduction, beta=beta)(tx, torch.tensor(target))
    _compare(ours, theirs, [(x, tx)], rng)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", [*REDUCTIONS, "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    rng = np.random.default_rng(3)
    log_q = np.log(rng.dirichlet(np.ones(4), size=5))
    p = rng.dirichlet(np.ones(4), size=5)
    p[0, 1] = 0.0  # p·ln p is 0 at p = 0
    target = np.log(p + 1e-3) if log_target else p
    x, tx = _both(log_q)
    ours = nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, target)
    theirs = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(tx, torch.tensor(target))
    assert np.all(np.isfinite(ours.numpy()))
    _compare(ours, theirs, [(x, tx)], rng)


def test_loss_weights_are_buffers_as_in_torch():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    assert list(loss.state_dict()) == list(torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0])).state_dict())
    assert list(nn.BCEWithLogitsLoss(pos_weight=[2.0]).state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    with pytest.raises(ValueError, match="one entry per class"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])(cr.tensor(np.zeros((2, 2))), [0, 1])
    with pytest.raises(ValueError, match="out of range"):
        nn.CrossEntropyLoss()(cr.tensor(np.zeros((2, 2))), [0, 2])
    with pytest.raises(ValueError, match="batchmean"):
        nn.KLDivLoss(reduction="average")


def test_float32_losses_stay_float32_with_float64_weights():
    z = cr.tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    target = np.ones((2, 3), dtype=np.float32)
    losses = [
        nn.BCEWithLogitsLoss(weight=np.ones((2, 3)), pos_weight=np.array([1.0, 2.0, 3.0]))(z, target),
        nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0]), label_smoothing=0.1)(z, [0, 2]),
        nn.NLLLoss(weight=np.array([1.0, 2.0, 3.0]), ignore_index=0)(z, [0, 2]),
    ]
    for loss in losses:
        loss.backward()
        assert loss.dtype == np.float32
    assert z.grad.dtype == np.float32
