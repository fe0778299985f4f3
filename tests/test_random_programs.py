"""Random programs of chained operations, against PyTorch as an independent oracle.

Each program draws a few float64 inputs with broadcastable shapes and applies
a random sequence of operations (elementwise, reductions, matmul, shape
changes, softmax); values and gradients must match PyTorch's.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

torch = pytest.importorskip("torch")

UNARY = {
    "exp": (lambda t: (t * 0.3).exp(), lambda t: (t * 0.3).exp()),
    "tanh": (cr.tanh, torch.tanh),
    "sigmoid": (cr.sigmoid, torch.sigmoid),
    "softplus": (cr.softplus, torch.nn.functional.softplus),
    "square": (lambda t: t ** 2, lambda t: t ** 2),
    "log1p_abs": (lambda t: (cr.abs(t) + 1).log(), lambda t: (t.abs() + 1).log()),
    "sqrt_shift": (lambda t: (t * t + 0.5).sqrt(), lambda t: (t * t + 0.5).sqrt()),
    "relu_shift": (lambda t: (t + 0.05).relu(), lambda t: (t + 0.05).relu()),
    "neg": (lambda t: -t, lambda t: -t),
    "softmax": (lambda t: cr.softmax(t, axis=-1), lambda t: torch.softmax(t, dim=-1)),
    "log_softmax": (lambda t: cr.log_softmax(t, axis=-1), lambda t: torch.log_softmax(t, dim=-1)),
    "mean_keep": (lambda t: t.mean(axis=-1, keepdims=True), lambda t: t.mean(dim=-1, keepdim=True)),
    "max_keep": (lambda t: t.max(axis=-1, keepdims=True), lambda t: t.amax(dim=-1, keepdim=True)),
    "transpose": (lambda t: t.T, lambda t: t.permute(*reversed(range(t.dim())))),
    "flip_reshape": (lambda t: t.reshape(-1)[::-1].reshape(t.shape), lambda t: t.reshape(-1).flip(0).reshape(t.shape)),
    "clip": (lambda t: cr.clip(t, -0.8, 0.9), lambda t: torch.clamp(t, -0.8, 0.9)),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "maximum": (cr.maximum, torch.maximum),
    "where": (lambda a, b: cr.where(a > b, a * 2, b), lambda a, b: torch.where(a > b, a * 2, b)),
}


@st.composite
def programs(draw):
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    steps = draw(st.lists(st.one_of(
        st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY))),
        st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY)), st.integers(0, 2)),
        st.tuples(st.just("matmul"), st.integers(1, 3)),
    ), min_size=1, max_size=6))
    return shape, steps, draw(st.integers(0, 2**31 - 1))


def run(program, lib):
    shape, steps, seed = program
    rng = np.random.default_rng(seed)
    inputs = []

    def leaf(s):
        data = rng.uniform(-1.5, 1.5, size=s)
        inputs.append(data)
        if lib == "cr":
            return cr.tensor(data, requires_grad=True)
        return torch.tensor(data, dtype=torch.float64, requires_grad=True)

    value = leaf(shape)
    leaves = [value]
    for step in steps:
        if step[0] == "unary":
            value = UNARY[step[1]][0 if lib == "cr" else 1](value)
        elif step[0] == "binary":
            current = tuple(value.shape)
            # The other operand: same shape, a trailing slice, or with unit axes, to exercise broadcasting.
            other_shape = [current, current[1:], tuple(1 if i % 2 else s for i, s in enumerate(current))][step[2]]
            other = leaf(other_shape)
            leaves.append(other)
            value = BINARY[step[1]][0 if lib == "cr" else 1](value, other)
        else:
            n = step[1]
            other = leaf((tuple(value.shape)[-1], n) if len(value.shape) else (1, n))
            leaves.append(other)
            value = value @ other
    loss = (value * value).sum() if lib == "cr" else (value * value).sum()
    loss.backward()
    grads = [np.asarray(t.grad.data if lib == "cr" else t.grad.numpy()) for t in leaves]
    return float(np.asarray(loss.data if lib == "cr" else loss.detach().numpy())), grads


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_program_matches_pytorch(program):
    ours_loss, ours_grads = run(program, "cr")
    their_loss, their_grads = run(program, "torch")
    assert ours_loss == pytest.approx(their_loss, rel=1e-10, abs=1e-12)
    for ours, theirs in zip(ours_grads, their_grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)
