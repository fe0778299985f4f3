"""The Tensor API, graph semantics and error messages."""

import gc
import warnings

import numpy as np
import pytest

import chainrule as cr


def leaf(value, dtype=None):
    return cr.tensor(value, requires_grad=True, dtype=dtype)


def test_operators_mix_with_numbers_and_arrays_on_either_side():
    x = leaf(np.array([1.0, 2.0]))  # float64, like the array: a matrix product needs one dtype
    array = np.array([3.0, 4.0])
    results = [x + 1, 1 + x, x - array, array - x, x * 2, 2 * x, x / 2, 2 / x, x**2, 2**x, -x, array @ x, x @ array]
    for result in results:
        assert isinstance(result, cr.Tensor)
    np.testing.assert_allclose((array - x).numpy(), [2.0, 2.0])
    np.testing.assert_allclose((2 / x).numpy(), [2.0, 1.0])
    assert (x @ array).item() == 11.0
    total = sum(r.sum() for r in results)
    total.backward()
    assert x.grad.shape == (2,)


def test_numpy_interop():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(np.asarray(x), np.ndarray)
    assert np.asarray(x).shape == (2, 2)
    assert x.numpy() is np.asarray(x.data)
    assert x.shape == (2, 2) and x.ndim == 2 and x.dtype == np.float32
    assert cr.tensor(3.5).item() == 3.5
    assert np.asarray(cr.tensor(2.0)).shape == ()


def test_default_dtype_is_pytorchs_and_float32_is_kept_end_to_end():
    assert cr.tensor([1, 2, 3]).dtype == np.int64
    assert cr.tensor(1.0).dtype == np.float32
    assert cr.tensor(np.ones(2)).dtype == np.float64
    w = leaf(np.ones((3, 2)), dtype="float32")
    x = cr.tensor(np.ones((4, 3)), dtype=np.float32)
    out = ((x @ w) * 0.5 + 1.0).sigmoid().log_softmax().sum() / 3
    assert out.dtype == np.float32
    out.backward()
    assert w.grad.dtype == np.float32


def test_float32_weight_with_float64_data_gets_a_float32_gradient():
    w = leaf(np.ones(3), dtype="float32")
    (w * np.ones(3, dtype=np.float64)).sum().backward()
    assert w.grad.dtype == np.float32


def test_gradients_accumulate_across_backward_calls_until_reset():
    w = leaf(2.0)
    (w * 3).backward()
    (w * 3).backward()
    assert w.grad.item() == 6.0
    w.grad = None
    (w * 3).backward()
    assert w.grad.item() == 3.0


def test_a_value_used_twice_gets_the_sum_of_both_paths():
    x = leaf(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad.item() == 7.0


def test_broadcasting_is_undone_in_the_gradient():
    x = leaf(np.ones((2, 3)))
    b = leaf(np.ones((3,)))
    c = leaf(np.ones((2, 1)))
    (x * b + c).sum().backward()
    assert b.grad.shape == (3,) and np.all(b.grad.numpy() == 2)
    assert c.grad.shape == (2, 1) and np.all(c.grad.numpy() == 3)


def test_backward_on_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*\.sum\(\)"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 1.0]))
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="gradient has shape"):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (cr.tensor(1.0) * 2).backward()


def test_no_grad_records_nothing():
    w = leaf(1.0)
    with cr.no_grad():
        y = w * 2
    assert not y.requires_grad and y.is_leaf
    assert cr.is_grad_enabled()


def test_in_place_updates_need_no_grad():
    w = leaf(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1.0
    original = w.data
    with cr.no_grad():
        w -= 1.0
    assert w.data is original and w.tolist() == [0.0, 1.0]


def test_detach_cuts_the_graph():
    w = leaf(2.0)
    y = (w * w).detach() * w
    y.backward()
    assert w.grad.item() == 4.0


def test_requires_grad_only_on_floats():
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require gradients"):
        cr.tensor([1, 2], dtype=int, requires_grad=True)
    with pytest.raises(RuntimeError, match="got int64"):
        cr.tensor([1, 2], requires_grad=True)


def test_deep_chain_backprops_without_recursion_error():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_graph_has_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = leaf(np.ones(3))
        for _ in range(5):
            loss = ((x * 2).sigmoid() @ np.ones(3) + x.sum()).tanh()
            loss.backward()
            del loss
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_sigmoid_of_large_values_neither_overflows_nor_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = leaf([-1000.0, 1000.0, 0.0])
        y = x.sigmoid()
        y.sum().backward()
    assert y.tolist() == [0.0, 1.0, 0.5]
    assert x.grad.tolist() == [0.0, 0.0, 0.25]


def test_softmax_is_stable_for_large_logits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = cr.softmax(cr.tensor([1000.0, 1000.0, -1000.0]))
        lp = cr.log_softmax(cr.tensor([1000.0, 0.0]))
    np.testing.assert_allclose(p.numpy(), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(lp.numpy(), [0.0, -1000.0])


def test_getitem_with_repeated_indices_adds_gradients():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2]].sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 1.0]
    y = leaf(np.arange(6.0).reshape(2, 3))
    y[1, 1:].sum().backward()
    assert y.grad.tolist() == [[0, 0, 0], [0, 1, 1]]


def test_module_level_functions_exist():
    x = leaf([[1.0, -2.0], [3.0, 4.0]])
    parts = [
        cr.exp(x), cr.log(cr.abs(x)), cr.sigmoid(x), cr.tanh(x), cr.relu(x), cr.leaky_relu(x), cr.softplus(x),
        cr.maximum(x, 0.5), cr.minimum(x, 0.5), cr.where(x > 0, x, 0.0), cr.clip(x, -1, 1), cr.softmax(x),
        cr.log_softmax(x), cr.concatenate([x, x]).reshape(2, 4)[:, :2], cr.stack([x, x]).sum(axis=0),
        cr.transpose(x), x.T, x.permute(1, 0), cr.broadcast_to(x.sum(0), (2, 2)), cr.sqrt(x * x),
        x.max(axis=0, keepdims=True), x.min(axis=1, keepdims=True), x.mean(axis=1, keepdims=True),
    ]
    sum(p.sum() for p in parts).backward()
    assert x.grad.shape == (2, 2)


def test_matmul_shapes_follow_numpy():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((3,)))
    assert (a @ b).shape == (2,)
    batch = leaf(np.ones((4, 2, 3)))
    assert (batch @ leaf(np.ones((3, 5)))).shape == (4, 2, 5)


def test_errors_name_the_operation_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align \(4 != 5\)"):
        cr.tensor(np.ones((3, 4))) @ cr.tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"add: shapes \(3,\) and \(4,\) do not broadcast"):
        cr.tensor(np.ones(3)) + cr.tensor(np.ones(4))
    with pytest.raises(TypeError, match="mul: unsupported operand type str"):
        cr.tensor(1.0) * "a"
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        cr.tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        cr.tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ValueError, match="concatenate: shapes"):
        cr.concatenate([cr.tensor(np.ones((2, 3))), cr.tensor(np.ones((2, 4)))])
    with pytest.raises(ValueError, match="stack: all tensors need the same shape"):
        cr.stack([cr.tensor(np.ones(2)), cr.tensor(np.ones(3))])
    with pytest.raises(TypeError, match="tensor: expected numbers"):
        cr.tensor("abc")
    with pytest.raises(ValueError, match="item: only a one-element tensor"):
        cr.tensor([1.0, 2.0]).item()


def test_gradcheck_on_a_composite_function():
    def fn(x, w, b):
        return cr.log_softmax(cr.tanh(x @ w + b) * 2, axis=-1)

    rng = np.random.default_rng(0)
    assert cr.gradcheck(fn, [rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)])


def test_gradcheck_names_the_input_and_element():
    def broken(x):
        return cr.tensor(x.data) * x  # hides one factor from the graph

    x = cr.tensor([1.0, 2.0], name="x")
    with pytest.raises(cr.GradcheckError, match=r"input 0 \('x'\).*element \(0,\)"):
        cr.gradcheck(broken, [x])


def test_leaves_come_last_even_for_the_first_nodes_of_a_process(monkeypatch):
    """Sequence numbers start at 0; a leaf must still wait for every node that feeds it."""
    import itertools
    import sys

    tensor_module = sys.modules["chainrule.tensor"]

    monkeypatch.setattr(tensor_module, "next_sequence", itertools.count().__next__)
    w = leaf(0.5)
    loss = ((w ** 2 + 3 * w) - 0.2) ** 2  # w reaches the loss along two paths
    every_gradient = {}
    loss.backward(keep=every_gradient)
    assert w.grad.item() == pytest.approx(2 * 1.55 * 4.0)
    # The leaf is visited once, with both paths' contributions already added.
    assert every_gradient[id(w)] == pytest.approx(2 * 1.55 * 4.0)
