"""Input samplers for the rule table: valid random inputs for gradient checks.

Each sampler takes ``(rng, shape)`` and returns ``(arrays, attrs)``. Binary
samplers give the second operand a shape that broadcasts against the first
(leading axes dropped, some axes set to 1), so every check also exercises the
engine's single un-broadcasting step.
"""

from __future__ import annotations

import numpy as np


def broadcastable_shape(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A random shape that broadcasts to ``shape``."""
    keep = int(rng.integers(0, len(shape) + 1))
    tail = list(shape[len(shape) - keep :])
    for i in range(len(tail)):
        if rng.random() < 0.3:
            tail[i] = 1
    return tuple(tail)


def uniform(rng, shape, low=-2.0, high=2.0, margin=0.0):
    """Uniform values in [low, high] kept at least ``margin`` away from zero (kinks)."""
    values = rng.uniform(low, high, size=shape)
    if margin:
        values = np.where(np.abs(values) < margin, np.copysign(margin, values) + values, values)
    return values


def unary(low=-2.0, high=2.0, margin=0.0, **attrs):
    def sample(rng, shape):
        return [uniform(rng, shape, low, high, margin)], dict(attrs)

    return sample


def binary(low=-2.0, high=2.0, second=None):
    """Two operands, one of them broadcast; ``second=(low, high, margin)`` bounds the right one."""

    def sample(rng, shape):
        other = broadcastable_shape(rng, shape)
        if second is not None:
            return [uniform(rng, shape, low, high), uniform(rng, other, *second)], {}
        pair = [uniform(rng, shape, low, high), uniform(rng, other, low, high)]
        # The broadcast operand goes on either side: gradients must flow back both ways.
        return (pair if rng.random() < 0.5 else pair[::-1]), {}

    return sample


def separated_pair(gap=0.1):
    """Two operands that never tie, so max/min have a unique derivative."""

    def sample(rng, shape):
        a = uniform(rng, shape)
        b = uniform(rng, broadcastable_shape(rng, shape))
        a = a + np.where(np.abs(a - b) < gap, 3 * gap, 0.0)
        return [a, b], {}

    return sample


def random_axis(rng, shape):
    """None, one axis, or a tuple of axes (possibly negative)."""
    if not shape or rng.random() < 0.3:
        return None
    if len(shape) > 1 and rng.random() < 0.3:
        axes = sorted(rng.choice(len(shape), size=2, replace=False).tolist())
        return tuple(axes)
    axis = int(rng.integers(0, len(shape)))
    return axis - len(shape) if rng.random() < 0.5 else axis
