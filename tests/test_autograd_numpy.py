"""numpy's protocols on tensors (np.exp(t), np.sum(t, axis=0), ndarray * t) and torch.tensor(t)."""

import numpy as np
import pytest
import torch

import chainrule as cr

VALUES = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

RECORDED = {  # numpy call, the same written with torch
    "exp": (np.exp, torch.exp),
    "mean": (np.mean, torch.mean),
    "sum axis 0": (lambda t: np.sum(t, axis=0), lambda t: torch.sum(t, 0)),
    "max axis 1 keepdims": (lambda t: np.max(t, axis=1, keepdims=True), lambda t: torch.amax(t, 1, keepdim=True)),
    "maximum": (lambda t: np.maximum(t, 0), lambda t: torch.clamp(t, min=0)),
    "scalar product": (lambda t: t * np.float64(2), lambda t: t * 2),
    "reflected scalar": (lambda t: np.float64(2) - t, lambda t: 2 - t),
    "array on the left": (lambda t: np.ones(3) / (t * t + 1), lambda t: torch.ones(3, dtype=t.dtype) / (t * t + 1)),
    "square": (np.square, torch.square),
    "tanh": (np.tanh, torch.tanh),
    "abs": (np.abs, torch.abs),
    "where": (lambda t: np.where(t > 0, t, 0.1 * t), lambda t: torch.where(t > 0, t, 0.1 * t)),
    "reshape": (lambda t: np.reshape(t, (3, 2)) * np.arange(6.0).reshape(3, 2),
                lambda t: t.reshape(3, 2) * torch.arange(6.0, dtype=t.dtype).reshape(3, 2)),
    "transpose": (lambda t: np.transpose(t) @ np.ones((2, 2)), lambda t: t.T @ torch.ones(2, 2, dtype=t.dtype)),
    "expand_dims": (lambda t: np.expand_dims(t, 0) * 2, lambda t: t.unsqueeze(0) * 2),
    "concatenate": (lambda t: np.concatenate([t, t * 2], axis=1), lambda t: torch.cat([t, t * 2], 1)),
    "clip": (lambda t: np.clip(t, -0.5, 1.0), lambda t: torch.clamp(t, -0.5, 1.0)),
    "log1p": (lambda t: np.log1p(t * t), lambda t: torch.log1p(t * t)),
    "sin (a ufunc found by its rule's name)": (np.sin, torch.sin),
    "sign": (np.sign, torch.sign),
    "einsum": (lambda t: np.einsum("ij,kj->ik", t, t), lambda t: torch.einsum("ij,kj->ik", t, t)),
    "cumsum": (lambda t: np.cumsum(t, axis=1), lambda t: torch.cumsum(t, 1)),
    "cumprod": (lambda t: np.cumprod(t, axis=0), lambda t: torch.cumprod(t, 0)),
    "prod": (lambda t: np.prod(t, axis=1), lambda t: torch.prod(t, 1)),
    "flip": (lambda t: np.flip(t, 1) * np.arange(3.0),
             lambda t: torch.flip(t, [1]) * torch.arange(3.0, dtype=t.dtype)),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_numpy_functions_on_tensors_are_recorded(name):
    ours_f, torch_f = RECORDED[name]
    x = cr.tensor(VALUES, requires_grad=True)
    xt = torch.tensor(VALUES, requires_grad=True)
    out, out_t = ours_f(x), torch_f(xt)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-12)
    weight = np.random.default_rng(0).normal(size=out.shape)
    (out * weight).sum().backward()
    (out_t * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_functions_without_a_gradient_give_constants():
    x = cr.tensor(VALUES, requires_grad=True)
    for result in (x > 0, np.logical_and(x > 0, x < 1), np.isfinite(x), np.zeros_like(x)):
        assert isinstance(result, cr.Tensor) and not result.requires_grad
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert np.result_type(x) == np.float64


def test_an_unsupported_function_raises_naming_it_unless_no_gradient_is_wanted():
    x = cr.tensor(VALUES, requires_grad=True)
    with pytest.raises(TypeError, match="numpy.arctan"):
        np.arctan(x)
    with pytest.raises(TypeError, match="numpy.diff"):
        np.diff(x)
    plain = np.arctan(x.detach())
    assert isinstance(plain, cr.Tensor)
    np.testing.assert_allclose(plain.numpy(), np.arctan(VALUES))
    with cr.no_grad():
        np.testing.assert_allclose(np.diff(x).numpy(), np.diff(VALUES))
    assert np.allclose(x.detach(), VALUES) is True


def test_np_asarray_still_gives_the_values():
    x = cr.tensor(VALUES, requires_grad=True)
    assert type(np.asarray(x)) is np.ndarray
    np.testing.assert_array_equal(np.asarray(x), VALUES)


@pytest.mark.parametrize("value", [np.float64(2.5), np.float32(1.5), VALUES, np.arange(4), np.array([True, False])],
                         ids=["0-d float64", "0-d float32", "2-d", "int", "bool"])
@pytest.mark.parametrize("constructor", [torch.tensor, torch.as_tensor])
def test_torch_constructors_read_chainrule_tensors(value, constructor):
    t = cr.tensor(value, dtype=np.asarray(value).dtype)
    converted = constructor(t)
    assert converted.shape == tuple(t.shape)
    assert converted.dtype == torch.from_numpy(np.asarray(value)).dtype
    np.testing.assert_array_equal(converted.numpy(), np.asarray(value))


def test_torch_tensor_copies_and_reads_read_only_views():
    t = cr.tensor(np.array([1.0, 2.0]))
    copied = torch.tensor(t)
    copied += 1
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    view = cr.tensor(np.array([1.0, 2.0])).broadcast_to(2, 2)  # a read-only numpy view
    np.testing.assert_array_equal(torch.tensor(view).numpy(), np.ones((2, 1)) * [1.0, 2.0])


def test_an_array_updated_with_a_tensor_stays_an_array():
    array = np.zeros(3)
    array += cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    assert type(array) is np.ndarray
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])
