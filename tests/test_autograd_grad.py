"""autograd.grad, retain_graph, grad_fn, is_leaf and inference_mode, side by side with PyTorch."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import grad


def both(snippet):
    """Run ``snippet(lib, grad)`` with chainrule and with torch; return both results (or exceptions)."""
    results = []
    for lib, grad_fn in ((cr, grad), (torch, torch.autograd.grad)):
        try:
            results.append(snippet(lib, grad_fn))
        except RuntimeError as error:
            results.append(error)
    return results


def values(result):
    return [None if r is None else np.asarray(r.detach().numpy()) for r in result]


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    def snippet(lib, grad_fn):
        x = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = lib.tensor(np.array([3.0, -1.0]), requires_grad=True)
        result = grad_fn((x * y).sum() + (x ** 2).sum(), (x, y))
        assert isinstance(result, tuple) and x.grad is None and y.grad is None
        return values(result)

    ours, theirs = both(snippet)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)


def test_grad_of_an_intermediate_and_of_several_weighted_outputs():
    def snippet(lib, grad_fn):
        x = lib.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
        h = x.tanh()
        outputs = [(h * h).sum(), h * 3]
        weights = [lib.tensor(np.float64(2.0)), lib.tensor(np.array([1.0, 0.0, -1.0]))]
        return values(grad_fn(outputs, [h, x], grad_outputs=weights))

    ours, theirs = both(snippet)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_an_unused_input_raises_unless_allowed():
    def unused(lib, grad_fn):
        x = lib.tensor(np.array([1.0]), requires_grad=True)
        z = lib.tensor(np.array([1.0]), requires_grad=True)
        return grad_fn((x * 2).sum(), [x, z])

    ours, theirs = both(unused)
    assert isinstance(ours, RuntimeError) and isinstance(theirs, RuntimeError)
    assert "allow_unused=True" in str(ours)

    def allowed(lib, grad_fn):
        x = lib.tensor(np.array([1.0]), requires_grad=True)
        z = lib.tensor(np.array([1.0]), requires_grad=True)
        return values(grad_fn((x * 2).sum(), [x, z], allow_unused=True))

    ours, theirs = both(allowed)
    assert ours[1] is None and theirs[1] is None
    np.testing.assert_allclose(ours[0], theirs[0])


def test_grad_of_a_non_scalar_output_needs_grad_outputs():
    ours, theirs = both(lambda lib, g: g(lib.tensor(np.ones(2), requires_grad=True) * 2,
                                         lib.tensor(np.ones(2), requires_grad=True)))
    assert isinstance(ours, RuntimeError) and isinstance(theirs, RuntimeError)


def _second_backward(lib, retain, rule):
    x = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum() if rule == "mul" else (x + 1).sum()
    y.backward(retain_graph=retain)
    y.backward()
    return x.grad.numpy()


@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("rule", ["mul", "add"])
def test_a_second_backward_needs_retain_graph_where_values_were_saved(retain, rule):
    ours, theirs = both(lambda lib, _: _second_backward(lib, retain, rule))
    assert type(ours) is type(theirs)
    if isinstance(ours, RuntimeError):
        assert "second time" in str(ours) and "retain_graph=True" in str(ours)
    else:  # gradients accumulate over both calls
        np.testing.assert_allclose(ours, theirs)


def test_grad_frees_the_graph_too_unless_create_graph():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp()).sum()
    grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        grad(y, x)
    z = (x.exp()).sum()
    grad(z, x, create_graph=True)
    np.testing.assert_allclose(grad(z, x)[0].numpy(), np.exp([1.0, 2.0]))


def test_grad_fn_is_named_after_its_rule_and_leaves_have_none():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * 2).sum()
    assert x.grad_fn is None and x.is_leaf and not y.is_leaf
    assert type(y.grad_fn).__name__ == "SumBackward" and y.grad_fn.name() == "SumBackward"
    (mul, _), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward"
    (leaf, _), (constant, _) = mul.next_functions
    assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is x and constant is None
    assert (x.log_softmax(0)).grad_fn.name() == "LogSoftmaxBackward"
    with cr.no_grad():
        assert (x * 2).grad_fn is None


def test_inference_mode_is_no_grad_as_a_context_and_a_decorator():
    x = cr.tensor(np.array([1.0]), requires_grad=True)
    with cr.inference_mode():
        assert not (x * 2).requires_grad and not cr.is_grad_enabled()
    assert cr.is_grad_enabled()

    @cr.inference_mode()
    def evaluate():
        return x * 2

    assert not evaluate().requires_grad and (x * 2).requires_grad
    with cr.inference_mode(False):
        assert (x * 2).requires_grad
