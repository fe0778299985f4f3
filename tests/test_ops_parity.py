"""The tensor operations against PyTorch: the same snippet runs with ``torch`` and with ``chainrule``.

Each case is a function of the library module and its input tensors, written once, so the text a
PyTorch user would write is exactly what runs here. Values, dtypes, shapes, the names of returned
pairs and the gradients (of a random weighting of every floating output) must agree.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(20261201)


def R(*shape, low=-2.0, high=2.0):  # noqa: N802 (a float64 input)
    return rng.uniform(low, high, size=shape)


def I(high, *shape):  # noqa: E743, N802 (an int64 input)
    return rng.integers(0, high, size=shape).astype(np.int64)


WITH_TIES = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 0.5, 2.0], [0.0, -4.0, 5.0, 5.0]])
WITH_ZEROS = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.5, -1.0, 2.0]])

CASES = {
    # max / min in every form
    "max_dim": (lambda L, x: L.max(x, 1), [R(3, 4)]),
    "max_method_dim": (lambda L, x: x.max(1), [R(3, 4)]),
    "max_dim_index0": (lambda L, x: x.max(1)[0], [R(3, 4)]),
    "max_dim_keyword_keepdim": (lambda L, x: x.max(dim=0, keepdim=True), [R(3, 4)]),
    "max_negative_dim": (lambda L, x: x.max(-1), [R(2, 3, 4)]),
    "max_all": (lambda L, x: x.max(), [R(3, 4)]),
    "max_all_ties": (lambda L, x: x.max(), [WITH_TIES]),
    "max_dim_ties": (lambda L, x: x.max(1), [WITH_TIES]),
    "min_dim_ties": (lambda L, x: L.min(x, 0), [WITH_TIES]),
    "min_all": (lambda L, x: L.min(x), [R(5)]),
    "max_of_two": (lambda L, a, b: L.max(a, b), [R(3, 4), R(3, 4)]),
    "min_of_two_broadcast": (lambda L, a, b: L.min(a, b), [R(3, 4), R(4)]),
    "max_other_method": (lambda L, a, b: a.max(b), [R(3, 4), R(3, 4)]),
    "max_0d_dim": (lambda L, x: x.max(0), [np.array(1.5)]),
    "pred_idiom": (lambda L, x: L.max(x, 1)[1], [R(6, 3)]),
    "amax": (lambda L, x: x.amax(dim=(0, 1)), [WITH_TIES]),
    "argmax_flat": (lambda L, x: x.argmax(), [R(3, 4)]),
    "argmax_dim": (lambda L, x: L.argmax(x, dim=1), [WITH_TIES]),
    "argmax_keepdim": (lambda L, x: x.argmax(0, keepdim=True), [R(3, 4)]),
    "argmin_dim": (lambda L, x: L.argmin(x, 1), [WITH_TIES]),
    "topk": (lambda L, x: x.topk(2), [R(3, 5)]),
    "topk_smallest_dim0": (lambda L, x: L.topk(x, 2, dim=0, largest=False), [R(4, 3)]),
    "sort": (lambda L, x: x.sort(), [R(3, 5)]),
    "sort_descending_dim0": (lambda L, x: L.sort(x, dim=0, descending=True), [R(4, 3)]),
    "sort_ties_stable": (lambda L, x: x.sort(dim=1, stable=True), [WITH_TIES]),
    "sort_descending_ties_stable": (lambda L, x: x.sort(dim=1, descending=True, stable=True), [WITH_TIES]),
    "argsort": (lambda L, x: x.argsort(dim=0), [R(4, 3)]),
    "argsort_descending": (lambda L, x: L.argsort(x, descending=True), [R(3, 4)]),
    # shapes
    "squeeze": (lambda L, x: x.squeeze(), [R(1, 3, 1, 2)]),
    "squeeze_dim": (lambda L, x: x.squeeze(2), [R(1, 3, 1, 2)]),
    "squeeze_dim_not_one": (lambda L, x: x.squeeze(1), [R(1, 3, 1, 2)]),
    "squeeze_function": (lambda L, x: L.squeeze(x, -1), [R(3, 1)]),
    "unsqueeze": (lambda L, x: x.unsqueeze(1), [R(3, 2)]),
    "unsqueeze_last": (lambda L, x: L.unsqueeze(x, -1), [R(3, 2)]),
    "flatten": (lambda L, x: x.flatten(), [R(2, 3, 4)]),
    "flatten_start": (lambda L, x: L.flatten(x, 1), [R(2, 3, 4)]),
    "flatten_range": (lambda L, x: x.flatten(0, 1), [R(2, 3, 4)]),
    "flatten_0d": (lambda L, x: x.flatten(), [np.array(2.0)]),
    "split_size": (lambda L, x: x.split(2), [R(5, 3)]),
    "split_sections": (lambda L, x: L.split(x, [1, 2], dim=1), [R(2, 3)]),
    "chunk": (lambda L, x: x.chunk(3), [R(7, 2)]),
    "chunk_dim": (lambda L, x: L.chunk(x, 2, dim=1), [R(2, 5)]),
    "repeat": (lambda L, x: x.repeat(2, 3), [R(2, 3)]),
    "repeat_new_axes": (lambda L, x: x.repeat(2, 1, 2), [R(3)]),
    "expand": (lambda L, x: x.expand(2, 3, 4), [R(3, 1)]),
    "expand_keep": (lambda L, x: x.expand(-1, 4), [R(3, 1)]),
    "view": (lambda L, x: x.view(3, -1), [R(2, 6)]),
    "view_tuple": (lambda L, x: x.view((4, 3)), [R(2, 6)]),
    "cat": (lambda L, a, b: L.cat([a, b], dim=1), [R(2, 3), R(2, 2)]),
    "cat_default": (lambda L, a, b: L.cat((a, b)), [R(2, 3), R(1, 3)]),
    "clone": (lambda L, x: x.clone() * 2, [R(3)]),
    "clone_function": (lambda L, x: L.clone(x), [R(2, 2)]),
    "contiguous": (lambda L, x: x.t().contiguous(), [R(2, 3)]),
    "size": (lambda L, x: (x.size(), x.size(0), x.size(-1), x.dim(), x.numel()), [R(2, 3)]),
    # indexing
    "gather": (lambda L, x, i: L.gather(x, 1, i), [R(3, 4), I(4, 3, 2)]),
    "gather_method_dim0": (lambda L, x, i: x.gather(0, i), [R(3, 4), I(3, 5, 4)]),
    "gather_smaller_index": (lambda L, x, i: x.gather(1, i), [R(3, 4), I(4, 2, 3)]),
    "scatter_add": (lambda L, x, i, s: x.scatter_add(0, i, s), [R(3, 4), I(3, 5, 4), R(5, 4)]),
    "scatter_add_dim1": (lambda L, x, i, s: L.scatter_add(x, 1, i, s), [R(2, 3), I(3, 2, 4), R(2, 4)]),
    # A src longer than index: torch's own backward fails on it, so the values only.
    "scatter_add_longer_src": (lambda L, x, i, s: L.scatter_add(x, 1, i, s).detach(), [R(2, 3), I(3, 2, 4), R(2, 5)]),
    # products
    "einsum_matmul": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), [R(2, 3), R(3, 4)]),
    "einsum_trace": (lambda L, x: L.einsum("ii", x), [R(3, 3)]),
    "einsum_diagonal": (lambda L, x: L.einsum("ii->i", x), [R(3, 3)]),
    "einsum_batch": (lambda L, a, b: L.einsum("bij,bjk->bik", a, b), [R(2, 2, 3), R(2, 3, 2)]),
    "einsum_batch_broadcast": (lambda L, a, b: L.einsum("bij,bjk->bik", a, b), [R(1, 3, 4), R(2, 4, 3)]),
    "einsum_outer": (lambda L, a, b: L.einsum("i,j->ij", a, b), [R(3), R(2)]),
    "einsum_implicit": (lambda L, a, b: L.einsum("ij,kj", a, b), [R(2, 3), R(4, 3)]),
    "einsum_ellipsis": (lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b), [R(2, 2, 3), R(2, 3, 2)]),
    "einsum_ellipsis_broadcast": (lambda L, a, b: L.einsum("...j,j->...", a, b), [R(2, 3, 4), R(4)]),
    "einsum_sum_out": (lambda L, x: L.einsum("ijk->j", x), [R(2, 3, 4)]),
    "einsum_list": (lambda L, a, b: L.einsum("i,i->", [a, b]), [R(4), R(4)]),
    "mm": (lambda L, a, b: L.mm(a, b), [R(2, 3), R(3, 4)]),
    "mm_method": (lambda L, a, b: a.mm(b), [R(2, 3), R(3, 1)]),
    "bmm": (lambda L, a, b: L.bmm(a, b), [R(2, 2, 3), R(2, 3, 4)]),
    # statistics and reductions
    "std": (lambda L, x: x.std(), [R(3, 4)]),
    "std_dim": (lambda L, x: L.std(x, dim=0), [R(3, 4)]),
    "std_biased": (lambda L, x: x.std(1, unbiased=False, keepdim=True), [R(3, 4)]),
    "std_correction": (lambda L, x: L.std(x, dim=(0, 1), correction=0), [R(3, 4)]),
    "std_constant": (lambda L, x: x.std(), [np.full(4, 2.5)]),
    "var": (lambda L, x: x.var(), [R(3, 4)]),
    "var_dim_keepdim": (lambda L, x: x.var(dim=-1, keepdim=True), [R(3, 4)]),
    "var_unbiased_false": (lambda L, x: L.var(x, unbiased=False), [R(5)]),
    "var_correction_2": (lambda L, x: x.var(0, correction=2), [R(5, 2)]),
    "prod": (lambda L, x: x.prod(), [R(2, 3)]),
    "prod_dim": (lambda L, x: L.prod(x, 1), [R(2, 3)]),
    "prod_zeros": (lambda L, x: x.prod(0, keepdim=True), [WITH_ZEROS]),
    "prod_zeros_all": (lambda L, x: x.prod(), [WITH_ZEROS[0]]),
    "cumsum": (lambda L, x: x.cumsum(0), [R(3, 4)]),
    "cumsum_dim": (lambda L, x: L.cumsum(x, dim=-1), [R(3, 4)]),
    "logsumexp": (lambda L, x: L.logsumexp(x, 1), [R(3, 4)]),
    "logsumexp_large": (lambda L, x: x.logsumexp(dim=0, keepdim=True), [R(3, 4) * 400]),
    "logsumexp_tuple": (lambda L, x: x.logsumexp((0, 1)), [R(3, 4)]),
    "norm": (lambda L, x: x.norm(), [R(3, 4)]),
    "norm_dim": (lambda L, x: L.norm(x, dim=1), [R(3, 4)]),
    "norm_p1": (lambda L, x: x.norm(1, dim=0, keepdim=True), [R(3, 4)]),
    "norm_p3": (lambda L, x: x.norm(p=3), [R(3, 4)]),
    "norm_inf": (lambda L, x: x.norm(float("inf"), dim=1), [R(3, 4)]),
    "norm_inf_ties": (lambda L, x: x.norm(float("inf")), [np.array([1.0, -3.0, 3.0])]),
    "norm_zero": (lambda L, x: x.norm(), [np.zeros(3)]),
    "norm_half_with_zero": (lambda L, x: x.norm(0.5), [np.array([1.0, 0.0, 3.0])]),
    "norm_fro": (lambda L, x: x.norm("fro"), [R(2, 3)]),
    "all_any": (lambda L, x: ((x > 0).all(), (x > 0).any(dim=1), L.all(x > -5), L.any(x > 5)), [R(3, 4)]),
    "all_keepdim": (lambda L, x: (x > 0).all(0, keepdim=True), [R(3, 4)]),
    "isclose": (lambda L, a, b: L.isclose(a, b + 1e-9), [R(3), R(3)]),
    "allclose": (lambda L, a: (L.allclose(a, a + 1e-9), L.allclose(a, a + 1)), [R(3)]),
    "is_tensor": (lambda L, a: (L.is_tensor(a), L.is_tensor([1.0])), [R(3)]),
    # elementwise
    "sin": (lambda L, x: x.sin(), [R(3, 4)]),
    "cos": (lambda L, x: L.cos(x), [R(3, 4)]),
    "floordiv": (lambda L, a, b: a // b, [R(6) * 3, R(6) + 3]),
    "floordiv_number": (lambda L, a: a // 0.7, [R(6) * 3]),
    "remainder": (lambda L, a, b: a % b, [R(6) * 3, R(6) + 3]),
    "remainder_negative_divisor": (lambda L, a: a % -1.5, [R(6) * 3]),
    "remainder_reflected": (lambda L, a: (5.0 % a).detach(), [R(6) + 3]),  # torch has no gradient for it
    "remainder_function": (lambda L, a, b: L.remainder(a, b), [R(4) * 3, R(4) - 3]),
    "int_floordiv_mod": (lambda L, a, b: (a // b, a % b), [I(9, 6) - 4, I(3, 6) + 1]),
    "log1p": (lambda L, x: x.log1p(), [R(3, 4, low=-0.9) * 1e-9]),
    "expm1": (lambda L, x: L.expm1(x), [R(3, 4) * 1e-9]),
    "add_alpha": (lambda L, a, b: (L.add(a, b, alpha=2), a.add(b), L.add(2.0, a)), [R(3), R(3)]),
    "sub_alpha": (lambda L, a, b: (L.sub(a, b, alpha=0.5), a.sub(b)), [R(3), R(2, 3)]),
    "mul_div": (lambda L, a, b: (L.mul(a, b), a.div(b + 3), L.div(a, 2.0), a.mul(3)), [R(3), R(3)]),
    "neg_square_reciprocal_rsqrt": (lambda L, x: (L.neg(x), x.square(), L.reciprocal(x), x.rsqrt(), L.square(x)),
                                    [R(4, low=0.5)]),
    "flip": (lambda L, x: (x.flip(0), L.flip(x, (0, 1)), x.flip(-1)), [R(2, 3)]),
    "masked_fill": (lambda L, x: x.masked_fill(x > 0, -1e9), [R(3, 4)]),
    "masked_fill_function": (lambda L, x, m: L.masked_fill(x, m > 0.5, 0.0), [R(3, 4), R(4, low=0, high=1)]),
    "dot_mv_outer": (lambda L, v, m: (L.dot(v, v), L.mv(m, v), L.outer(v, v[:2]), v.dot(v), m.mv(v)),
                     [R(3), R(2, 3)]),
    "trace": (lambda L, m, r: (L.trace(m), r.trace(), r.t().trace()), [R(3, 3), R(2, 4)]),
    "stack_cat_dim": (lambda L, a, b: (L.stack([a, b], dim=1), L.cat([a, b], 1), L.stack((a, b))), [R(2, 3), R(2, 3)]),
    "piecewise_constant": (lambda L, x: (x.sign(), L.floor(x), x.ceil(), L.trunc(x), x.round(), L.round(x * 2)),
                           [np.array([-2.5, -1.3, -0.5, 0.0, 0.5, 1.5, 2.7])]),
    "one_hot": (lambda L, i: L.nn.functional.one_hot(i), [I(4, 6)]),
    "one_hot_classes": (lambda L, i: L.nn.functional.one_hot(i, num_classes=5), [I(4, 2, 3)]),
    # dim/keepdim spellings of the common reductions
    "sum_positional": (lambda L, x: x.sum(0), [R(3, 4)]),
    "sum_tuple": (lambda L, x: x.sum((0, 1)), [R(2, 3, 4)]),
    "sum_function_dim": (lambda L, x: L.sum(x, dim=1, keepdim=True), [R(3, 4)]),
    "mean_keepdim": (lambda L, x: x.mean(dim=-1, keepdim=True), [R(3, 4)]),
    "mean_positional": (lambda L, x: L.mean(x, 0), [R(3, 4)]),
    "softmax_dim": (lambda L, x: x.softmax(dim=0), [R(3, 4)]),
    "softmax_function_dim": (lambda L, x: L.softmax(x, dim=1), [R(3, 4)]),
    "log_softmax_dim": (lambda L, x: L.log_softmax(x, 0), [R(3, 4)]),
}

# PyTorch records ``a // b`` and raises at backward (its derivative is not implemented); chainrule gives a
# result that carries no gradient at all. The only difference on purpose in this file.
NO_GRADIENT_ON_PURPOSE = {"floordiv", "floordiv_number"}

NUMPY_SPELLINGS = {
    # numpy's axis/keepdims mean what they mean in numpy (max over an axis is the maxima, not a pair).
    "sum": (lambda x: x.sum(axis=1, keepdims=True), lambda t: t.sum(dim=1, keepdim=True)),
    "mean": (lambda x: cr.mean(x, axis=(0, 1)), lambda t: t.mean(dim=(0, 1))),
    "max": (lambda x: x.max(axis=0), lambda t: t.amax(dim=0)),
    "min": (lambda x: cr.min(x, axis=1, keepdims=True), lambda t: t.amin(dim=1, keepdim=True)),
    "softmax": (lambda x: cr.softmax(x, axis=0), lambda t: t.softmax(dim=0)),
    "log_softmax": (lambda x: x.log_softmax(axis=0), lambda t: t.log_softmax(dim=0)),
    "std": (lambda x: x.std(axis=1, keepdims=True), lambda t: t.std(dim=1, keepdim=True)),
    "std_ddof": (lambda x: x.std(axis=0, ddof=0), lambda t: t.std(dim=0, correction=0)),
    "var": (lambda x: cr.var(x, axis=0), lambda t: t.var(dim=0)),
    "prod": (lambda x: x.prod(axis=1), lambda t: t.prod(dim=1)),
    "logsumexp": (lambda x: x.logsumexp(axis=1, keepdims=True), lambda t: t.logsumexp(dim=1, keepdim=True)),
    "norm": (lambda x: x.norm(axis=0), lambda t: t.norm(dim=0)),
    "cumsum": (lambda x: x.cumsum(axis=1), lambda t: t.cumsum(dim=1)),
    "argmax": (lambda x: x.argmax(axis=1, keepdims=True), lambda t: t.argmax(dim=1, keepdim=True)),
    "amax": (lambda x: cr.amax(x, axis=1), lambda t: t.amax(dim=1)),
}


def _inputs(lib, arrays):
    if lib is torch:
        return [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    return [cr.tensor(a, dtype=a.dtype, requires_grad=a.dtype.kind == "f") for a in arrays]


def _leaves(output):
    """The tensors and plain values of an output (a tensor, a named pair, a tuple of them)."""
    if isinstance(output, (tuple, list)) and not isinstance(output, (torch.Size, cr.Size)):
        return [leaf for item in output for leaf in _leaves(item)]
    return [output]


def _as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value.data) if isinstance(value, cr.Tensor) else value


def compare(snippet, arrays, differentiable=True):
    cr_inputs, torch_inputs = _inputs(cr, arrays), _inputs(torch, arrays)
    ours, theirs = snippet(cr, *cr_inputs), snippet(torch, *torch_inputs)
    if hasattr(theirs, "_fields"):  # torch.return_types: same field names, same order
        assert ours._fields == ("values", "indices") and tuple(theirs._fields) == ours._fields
        assert type(ours).__name__ == type(theirs).__name__
    ours_leaves, theirs_leaves = _leaves(ours), _leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    weighted = []
    for mine, reference in zip(ours_leaves, theirs_leaves):
        if isinstance(reference, torch.Tensor):
            assert isinstance(mine, cr.Tensor), f"expected a tensor, got {type(mine).__name__}"
            expected = reference.detach().numpy()
            assert mine.shape == tuple(reference.shape)
            assert mine.dtype == expected.dtype, f"dtype {mine.dtype} but torch gives {expected.dtype}"
            np.testing.assert_allclose(_as_numpy(mine), expected, rtol=1e-10, atol=1e-12)
            assert mine.requires_grad == (reference.requires_grad and differentiable)
            if mine.requires_grad:
                weights = rng.uniform(0.5, 1.5, size=expected.shape)
                weighted.append(((mine * cr.tensor(weights, dtype=np.float64)).sum(),
                                 (reference * torch.tensor(weights)).sum()))
        else:
            assert type(mine) is type(reference) or isinstance(reference, torch.Size), (mine, reference)
            assert mine == (tuple(reference) if isinstance(reference, torch.Size) else reference)
    if not weighted:
        return
    sum(w for w, _ in weighted).backward()
    sum(w for _, w in weighted).backward()
    for mine, reference in zip(cr_inputs, torch_inputs):
        if reference.grad is None:
            assert mine.grad is None or not np.any(np.asarray(mine.grad.data))
            continue
        np.testing.assert_allclose(np.asarray(mine.grad.data), reference.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_snippet_same_numbers_as_pytorch(name):
    snippet, arrays = CASES[name]
    compare(snippet, arrays, differentiable=name not in NO_GRADIENT_ON_PURPOSE)


@pytest.mark.parametrize("name", sorted(NUMPY_SPELLINGS))
def test_numpy_spellings_of_the_reductions(name):
    ours, theirs = NUMPY_SPELLINGS[name]
    array = R(3, 4)
    x, t = cr.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    mine, reference = ours(x), theirs(t)
    np.testing.assert_allclose(_as_numpy(mine), reference.detach().numpy(), rtol=1e-12)
    assert mine.shape == tuple(reference.shape) and mine.dtype == reference.detach().numpy().dtype
    if reference.requires_grad:
        mine.sum().backward()
        reference.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_max_over_a_dim_is_not_the_first_row():
    """The silent divergence of the probe: x.max(1)[0] must be each row's maximum."""
    x = cr.tensor(np.array([[1.0, 9.0], [7.0, 2.0], [3.0, 4.0]]))
    assert x.max(1)[0].tolist() == [9.0, 7.0, 4.0]
    _, predicted = cr.max(x, 1)
    assert predicted.tolist() == [1, 0, 1] and predicted.dtype == np.int64


def test_max_gives_the_gradient_to_the_chosen_index_only():
    x = cr.tensor(np.array([[2.0, 2.0, 1.0]]), requires_grad=True)
    x.max(1).values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0]]
    y = cr.tensor(np.array([2.0, 2.0, 1.0]), requires_grad=True)
    y.max().backward()  # the full reduction shares ties, as torch.max() does
    assert y.grad.tolist() == [0.5, 0.5, 0.0]


def test_size_is_a_shape_and_numel_counts():
    x = cr.tensor(np.zeros((2, 3, 4)))
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple) and isinstance(x.size(), cr.Size)
    assert x.size(1) == 3 and x.size(-1) == 4 and x.numel() == 24 and x.size().numel() == 24
    assert repr(x.size()) == "Size([2, 3, 4])"
    assert cr.tensor(np.float64(1.0)).size() == ()


def test_float32_stays_float32():
    x32 = cr.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    outputs = [x32.std(), x32.var(0), x32.prod(1), x32.cumsum(0), x32.logsumexp(1), x32.norm(), x32.sin(),
               x32 % 0.7, x32.max(1).values, x32.sort().values, cr.einsum("ij,ij->i", x32, x32),
               x32.log1p(), x32.expm1(), x32.masked_fill(x32 > 0, -1e9), x32.rsqrt(), cr.einsum("ii->", x32[:, :2])]
    for out in outputs:
        assert out.dtype == np.float32, out
    sum(o.sum() for o in outputs).backward()
    assert x32.grad.dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda x: x.gather(1, cr.from_numpy(np.array([[5]]))), "out of range"),
    (lambda x: x.gather(1, cr.tensor(np.array([[0.0]]))), "index must hold integers"),
    (lambda x: x.expand(3, 4), "only length-1 dimensions expand"),
    (lambda x: x.repeat(2), "need at least"),
    (lambda x: x.split([1, 2]), "add up to 2"),
    (lambda x: x.topk(5), "k must be an int from 0 to 3"),
    (lambda x: x.norm("nuc"), "nuclear"),
    (lambda x: cr.mm(x, x.reshape(-1)), "mm: both operands must be matrices"),
    (lambda x: cr.bmm(x, x), "bmm: expected two 3-D tensors"),
    (lambda x: cr.einsum("ij,jk->ik", x, x), "does not fit shapes"),
    (lambda x: cr.einsum("ijk", x), "do not fit an operand with 2 dimensions"),
    (lambda x: x.sum(0, axis=1), "give dim or axis, not both"),
    (lambda x: cr.max(x, 0.5), "second argument must be a dim"),
    (lambda x: cr.nn.functional.one_hot(x), "integer"),
    (lambda x: x.var(0, unbiased=True, correction=1), "give one of"),
])
def test_errors_name_the_operation(call, message):
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises((ValueError, TypeError, IndexError), match=message):
        call(x)
