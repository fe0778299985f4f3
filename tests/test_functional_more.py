"""F.softplus, F.normalize, F.cosine_similarity and F.pad against PyTorch (values and gradients), and the
random draws randperm, normal, bernoulli, multinomial and Generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import functional as F

CASES = {
    "softplus": (lambda F, x: F.softplus(x), (4, 3)),
    "softplus beta": (lambda F, x: F.softplus(x * 10, beta=2.0, threshold=5.0), (4, 3)),
    "normalize": (lambda F, x: F.normalize(x, dim=1), (4, 3)),
    "normalize p1 dim0": (lambda F, x: F.normalize(x, p=1.0, dim=0), (4, 3)),
    "cosine_similarity": (lambda F, x: F.cosine_similarity(x, x.flip(0) * 2 + 1, dim=1), (4, 3)),
    "pad": (lambda F, x: F.pad(x, (1, 2), value=-1.5), (4, 3)),
    "pad two dims and crop": (lambda F, x: F.pad(x, (-1, 1, 2, 0)), (2, 4, 3)),
}


@pytest.mark.parametrize("name", CASES)
def test_against_pytorch(name):
    fn, shape = CASES[name]
    data = np.random.default_rng(0).normal(size=shape)
    x = cr.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    ours, theirs = fn(F, x), fn(torch.nn.functional, tx)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(1).normal(size=ours.shape)
    (ours * cr.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_a_zero_vector_normalizes_to_zero_with_a_finite_gradient():
    x = cr.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    out = F.normalize(x, dim=1)
    out.sum().backward()
    assert out.numpy()[0].tolist() == [0.0, 0.0] and np.all(np.isfinite(x.grad.numpy()))


def test_random_draws_have_torchs_shapes_dtypes_and_are_seeded():
    assert sorted(cr.randperm(7, generator=cr.Generator().manual_seed(3)).tolist()) == list(range(7))
    assert cr.randperm(4).dtype == cr.int64
    a = cr.randn(2, 3, generator=cr.Generator().manual_seed(0))
    b = cr.randn(2, 3, generator=cr.Generator().manual_seed(0))
    assert cr.equal(a, b) and a.shape == (2, 3)
    assert cr.normal(cr.zeros(3), cr.ones(3)).shape == (3,)
    assert cr.normal(2.0, 0.0, size=(2,)).tolist() == [2.0, 2.0]
    coin = cr.bernoulli(cr.full((1000,), 0.25), generator=cr.Generator().manual_seed(1))
    assert coin.dtype == cr.float32 and set(coin.tolist()) <= {0.0, 1.0} and 150 < coin.sum().item() < 350
    drawn = cr.multinomial(cr.tensor([0.0, 1.0]), 5, replacement=True)
    assert drawn.dtype == cr.int64 and drawn.tolist() == [1] * 5
    assert sorted(cr.multinomial(cr.tensor([[1.0, 1.0, 1.0]]), 3).tolist()[0]) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        cr.multinomial(cr.tensor([1.0, 1.0]), 3)
    with pytest.raises(ValueError, match="probability"):
        cr.bernoulli(cr.tensor([1.5]))
