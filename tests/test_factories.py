"""Factories and the global generator, against PyTorch: shapes, dtypes and values."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def both(source):
    """``source`` (a call with ``{m}`` for the module) run with chainrule and with torch."""
    return eval("cr." + source.format(m="cr")), eval("torch." + source.format(m="torch"))


def same_kind(ours, theirs):
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")


DETERMINISTIC = [
    "zeros(2, 3)", "zeros((2, 3))", "zeros([4])", "zeros(2, 3, dtype={m}.float64)", "zeros(3, dtype={m}.int64)",
    "ones(2, 3)", "ones((1,))", "ones(2, dtype={m}.bool)",
    "full((2, 3), 7)", "full((2,), 1.5)", "full((2,), True)", "full((2, 2), 2, dtype={m}.float64)",
    "arange(5)", "arange(2, 7)", "arange(0.0, 1, 0.1)", "arange(0, 1, 0.1)", "arange(10, 0, -3)",
    "arange(1, 4, dtype={m}.float64)", "arange(5.0)", "arange(1, 2.5, 0.5)",
    "linspace(0, 1, 5)", "linspace(-1, 1, 7)", "linspace(2, 3, 1)", "linspace(0, 10, 4, dtype={m}.float64)",
    "eye(3)", "eye(2, 4)", "eye(3, dtype={m}.int64)",
    "zeros_like({m}.ones(2, 3))", "ones_like({m}.tensor([1, 2]))", "full_like({m}.ones(2), 4.0)",
    "full_like({m}.tensor([1, 2]), 4)", "zeros_like({m}.ones(2), dtype={m}.float64)",
]


@pytest.mark.parametrize("source", DETERMINISTIC)
def test_deterministic_factories_match_pytorch(source):
    ours, theirs = both(source)
    same_kind(ours, theirs)
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.double().numpy(), rtol=1e-6, atol=1e-7)


# Values that differ by design: random draws (other generators) and empty (PyTorch leaves it uninitialised).
SHAPE_ONLY = ["empty(2, 2)", "empty_like({m}.ones(3, dtype={m}.int64))",
              "rand(2, 3)", "rand((4,))", "randn(3, 2)", "randn(2, dtype={m}.float64)", "randint(0, 5, (3, 4))",
          "randint(5, (6,))", "rand_like({m}.ones(2, 2))", "randn_like({m}.ones(3, dtype={m}.float64))",
          "randint(3, 9, (2,), dtype={m}.int32)"]


@pytest.mark.parametrize("source", SHAPE_ONLY)
def test_random_and_empty_factories_have_pytorchs_shapes_and_dtypes(source):
    same_kind(*both(source))


def test_random_values_have_the_right_distribution_and_range():
    cr.manual_seed(0)
    uniform, normal, ints = cr.rand(20000), cr.randn(20000), cr.randint(3, 7, (20000,))
    assert 0 <= uniform.numpy().min() and uniform.numpy().max() < 1 and abs(uniform.numpy().mean() - 0.5) < 0.01
    assert abs(normal.numpy().mean()) < 0.03 and abs(normal.numpy().std() - 1) < 0.03
    assert set(np.unique(ints.numpy())) == {3, 4, 5, 6}


def test_manual_seed_repeats_factories_and_layer_initialisation():
    def draw():
        cr.manual_seed(42)
        layers = nn.Linear(3, 2).weight.tolist(), nn.MLP([2, 3, 1])[0].bias.tolist()
        return cr.randn(3).tolist(), cr.rand(2).tolist(), *layers

    first, second = draw(), draw()
    assert first == second
    cr.manual_seed(43)
    assert cr.randn(3).tolist() != first[0]
    assert cr.initial_seed() == 43
    generator = cr.default_generator
    cr.manual_seed(0)
    assert cr.default_generator is generator  # reseeded in place: references stay valid


def test_explicit_seeds_and_generators_win_over_the_global_one():
    cr.manual_seed(1)
    a = nn.Linear(3, 2, seed=7).weight.tolist()
    cr.manual_seed(2)
    assert nn.Linear(3, 2, seed=7).weight.tolist() == a
    b = cr.randn(4, generator=np.random.default_rng(5)).tolist()
    cr.manual_seed(3)
    assert cr.randn(4, generator=np.random.default_rng(5)).tolist() == b


def test_factories_make_leaves_that_can_require_grad():
    w = cr.randn(3, 2, requires_grad=True)
    b = cr.zeros(2, requires_grad=True)
    (cr.ones(4, 3) @ w + b).sum().backward()
    assert w.grad.shape == (3, 2) and b.grad.tolist() == [4.0, 4.0]
    assert w.is_leaf and w.dtype == cr.float32


def test_factories_refuse_what_pytorch_refuses():
    with pytest.raises(RuntimeError, match="floating point"):
        cr.arange(3, requires_grad=True)  # int64
    with pytest.raises(TypeError, match="floating-point"):
        cr.rand(2, dtype=cr.int64)
    with pytest.raises(TypeError, match="floating-point"):
        cr.rand_like(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="nonzero"):
        cr.arange(0, 5, 0)
    with pytest.raises(ValueError, match="negative"):
        cr.zeros(2, -1)
    with pytest.raises(TypeError, match="shape must be ints"):
        cr.ones(2.5)
    with pytest.raises(TypeError, match="randint"):
        cr.randint(5)
    with pytest.raises(ValueError, match="greater than low"):
        cr.randint(5, 5, (2,))


def test_size_may_be_given_by_keyword():
    assert cr.zeros(size=(2, 3)).shape == (2, 3) and cr.randn(size=(4,)).shape == (4,)
    with pytest.raises(TypeError, match="once"):
        cr.zeros(2, size=(2,))
