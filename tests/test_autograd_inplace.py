"""In-place operations and the version counter, beside PyTorch: a change to a tensor that backward
still needs raises at backward; a change to one it does not need leaves the gradients right."""

import numpy as np
import pytest
import torch

import chainrule as cr

CHANGES = {
    "add_": lambda t: t.add_(1.5),
    "add_ alpha": lambda t: t.add_(t.detach() * 0 + 1, alpha=2),
    "sub_": lambda t: t.sub_(0.5),
    "mul_": lambda t: t.mul_(3),
    "div_": lambda t: t.div_(2),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(7),
    "copy_": lambda t: t.copy_(np.array([9.0, 8.0, 7.0])),
    "clamp_": lambda t: t.clamp_(min=1.2, max=2.5),
    "+=": lambda t: t.__iadd__(1),
    "-=": lambda t: t.__isub__(1),
    "*=": lambda t: t.__imul__(2),
    "/=": lambda t: t.__itruediv__(2),
    "setitem": lambda t: t.__setitem__(1, 5.0),
}


def _copy_source(lib, change):
    def apply(t):
        if change == "copy_":
            return t.copy_(lib.tensor(np.array([9.0, 8.0, 7.0])))
        return CHANGES[change](t)

    return apply


def _run(lib, change, needed: bool, intermediate: bool):
    """x → (maybe h = 2x) → a product that needs h, or a sum that does not; then h changes in place."""
    x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    data = lib.tensor(np.array([0.5, -1.0, 2.0]))
    if intermediate:  # the changed tensor is an intermediate of the graph
        h = x * 2
        loss = (h * h).sum() if needed else (h + 1).sum()
    else:  # the changed tensor is data that the graph used
        h = data
        loss = (x * h).sum() if needed else (x + h).sum()
    _copy_source(lib, change)(h)
    try:
        loss.backward()
    except RuntimeError as error:
        return error
    return x.grad.numpy()


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("intermediate", [False, True], ids=["data", "intermediate"])
def test_changing_a_tensor_backward_needs_raises(change, intermediate):
    ours = _run(cr, change, needed=True, intermediate=intermediate)
    theirs = _run(torch, change, needed=True, intermediate=intermediate)
    assert isinstance(theirs, RuntimeError)
    assert isinstance(ours, RuntimeError), ours
    assert "modified by an inplace operation" in str(ours)
    assert "mul" in str(ours) and change.split()[0] in str(ours)


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("intermediate", [False, True], ids=["data", "intermediate"])
def test_changing_a_tensor_backward_does_not_need_leaves_gradients_right(change, intermediate):
    ours = _run(cr, change, needed=False, intermediate=intermediate)
    theirs = _run(torch, change, needed=False, intermediate=intermediate)
    np.testing.assert_allclose(ours, theirs)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_in_place_results_and_versions_match_pytorch(change):
    results = []
    for lib in (cr, torch):
        t = lib.tensor(np.array([1.0, 2.0, 3.0]))
        before = t._version
        _copy_source(lib, change)(t)
        results.append((t.numpy().copy(), t._version - before))
    np.testing.assert_allclose(results[0][0], results[1][0])
    assert results[0][1] >= 1


def test_an_in_place_change_of_a_leaf_that_requires_grad_raises_at_once():
    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.mul_(2)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 3.0
    with cr.no_grad():  # an optimizer's step
        w -= 0.5
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5])
    assert w.requires_grad and w.is_leaf


def test_an_optimizer_step_before_backward_of_the_old_graph_raises():
    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    with cr.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    (w * w).sum().backward()  # a graph recorded after the step is fine
    np.testing.assert_allclose(w.grad.numpy(), [1.8, 3.8])


def test_recorded_in_place_ops_are_differentiable():
    for lib in (cr, torch):
        x = lib.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        v = lib.tensor(np.array([4.0]), requires_grad=True)
        h = x * 1
        h.mul_(x)          # h = x²
        h.add_(x, alpha=3)  # h = x² + 3x
        h.clamp_(max=8.0)
        h[0] = v[0] * 2
        h.sum().backward()
        if lib is cr:
            ours = x.grad.numpy().copy(), v.grad.numpy().copy(), h.grad_fn.name()
        else:
            theirs = x.grad.numpy().copy(), v.grad.numpy().copy()
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1])
    assert ours[2] == "IndexPutBackward"


def test_item_assignment_without_gradients_writes_in_place():
    array = np.zeros(4)
    t = cr.from_numpy(array)
    t[1:3] = cr.tensor(np.array([1.0, 2.0]))
    t[np.array([0])] = 5.0
    np.testing.assert_allclose(array, [5.0, 1.0, 2.0, 0.0])  # the shared array sees it, as in torch
    s = cr.tensor(np.float64(2.0))
    s[()] = 3.0
    s.add_(1)
    assert s.item() == 4.0 and s._version == 2


def test_grad_zero_works_and_gradients_never_share_memory():
    a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = cr.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (a + b).sum().backward()  # add hands one array to both
    a.grad.zero_()
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    s = cr.tensor(np.float64(1.0), requires_grad=True)
    (s * 3).backward()
    s.grad.zero_()
    assert s.grad.item() == 0.0


def test_in_place_errors_name_shapes_and_dtypes():
    t = cr.tensor(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*shape \(2,\)"):
        t.add_(np.ones((2, 2)))
    n = cr.tensor(np.array([1, 2]), dtype=np.int64)
    with pytest.raises(TypeError, match="float64.*int64"):
        n.add_(0.5)
    with pytest.raises(ValueError, match="copy_"):
        t.copy_(np.ones(3))


@pytest.mark.parametrize("make", [lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9), lambda p: cr.optim.Adam(p)])
def test_an_optimizer_step_counts_as_an_in_place_change_as_in_pytorch(make):
    import torch

    w = cr.tensor([1.0, 2.0], requires_grad=True)
    optimizer = make([w])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optimizer.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*step"):
        loss.backward()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    torch_loss = (tw * tw).sum()
    torch_loss.backward(retain_graph=True)
    (torch.optim.SGD([tw], lr=0.1) if isinstance(optimizer, cr.optim.SGD) else torch.optim.Adam([tw])).step()
    assert tw._version == w._version
    # the next forward pass, recorded after the step, differentiates as usual
    optimizer.zero_grad()
    (w * w).sum().backward()
    assert np.allclose(w.grad.numpy(), 2 * w.detach().numpy())
