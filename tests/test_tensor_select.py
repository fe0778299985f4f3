"""Selection, masks and rearrangement (chainrule.tensor_select) against PyTorch, values and gradients."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.arange(1.0, 13.0).reshape(3, 4)


def _both(fn):
    """fn applied to X as a chainrule and as a torch tensor; the sum of outputs backpropagated in each."""
    ours, theirs = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out_ours, out_theirs = fn(cr, ours), fn(torch, theirs)
    (out_ours * cr.tensor(np.arange(out_ours.numel(), dtype=float).reshape(out_ours.shape))).sum().backward()
    (out_theirs * torch.arange(out_theirs.numel(), dtype=torch.float64).reshape(out_theirs.shape)).sum().backward()
    return out_ours, out_theirs, ours.grad, theirs.grad


@pytest.mark.parametrize("fn", [
    lambda m, x: m.index_select(x, 1, m.tensor([3, 0, 3])),
    lambda m, x: x.index_select(0, m.tensor([2, 2])),
    lambda m, x: m.roll(x, 1),
    lambda m, x: m.roll(x, shifts=(1, -1), dims=(0, 1)),
    lambda m, x: m.triu(x, diagonal=1),
    lambda m, x: m.tril(x, -1),
    lambda m, x: x.repeat_interleave(2, dim=0),
    lambda m, x: x.repeat_interleave(2),
    lambda m, x: m.tile(x, (2,)),
    lambda m, x: m.stack(m.unbind(x, 1)),
    lambda m, x: m.median(x, dim=1).values,
    lambda m, x: m.median(x).reshape(1),
    lambda m, x: m.cdist(x, x[:2]),
    lambda m, x: x.masked_select(x > 5),
    lambda m, x: x.reshape_as(m.zeros(4, 3)),
], ids=["index_select", "index_select repeat", "roll flat", "roll dims", "triu", "tril", "repeat_interleave dim",
        "repeat_interleave flat", "tile", "unbind", "median dim", "median", "cdist", "masked_select", "reshape_as"])
def test_values_and_gradients_match_torch(fn):
    out_ours, out_theirs, grad_ours, grad_theirs = _both(fn)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_ours.numpy(), grad_theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda m: m.nonzero(m.tensor([[0, 1], [2, 0]])),
    lambda m: m.tensor([0.0, 3.0, 0.0, 1.0]).nonzero(as_tuple=True),
    lambda m: m.where(m.tensor([[True, False], [True, True]])),
    lambda m: m.count_nonzero(m.tensor([[0, 1, 2], [0, 0, 3]]), dim=0),
    lambda m: m.unique(m.tensor([3, 1, 3, 2]), return_inverse=True, return_counts=True),
    lambda m: m.median(m.tensor([[1.0, 4.0, 2.0, 3.0]]), dim=1).indices,
    lambda m: (m.tensor([True, False]) & m.tensor([True, True]), m.tensor([6, 3]) | 1, ~m.tensor([True, False]),
               m.tensor([5]) ^ m.tensor([1]), ~m.tensor([0, 7])),
    lambda m: (m.tensor([1.0]).new_zeros(2, 3), m.tensor([1]).new_ones((2,)), m.tensor([1.0]).new_full((2,), 7.0),
               m.tensor([1.0], dtype=m.float64).new_tensor([1, 2])),
], ids=["nonzero", "nonzero as_tuple", "where alone", "count_nonzero dim", "unique", "median indices", "logical",
        "new_"])
def test_index_results_match_torch(fn):
    ours, theirs = fn(cr), fn(torch)
    ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert str(a.dtype).removeprefix("torch.") == str(b.dtype).removeprefix("torch."), (a.dtype, b.dtype)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_logical_operators_refuse_floats():
    with pytest.raises(TypeError, match="only integer and boolean"):
        cr.tensor([1.0]) & cr.tensor([1.0])


def test_masked_fill_in_place_keeps_the_graph():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.masked_fill_(cr.tensor([False, True, False]), 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0])
