"""Pieces the benchmark scripts share: the same PyTorch MLP, and the parameter comparison."""

from __future__ import annotations

import numpy as np


def max_difference(weights, others) -> float:
    """The largest |a − b| over matching parameters of two [(W, b), ...] lists."""
    return max(float(np.max(np.abs(a - b))) for pair, other in zip(weights, others) for a, b in zip(pair, other))


def torch_mlp(sizes, initial, dtype):
    """A PyTorch MLP (ReLU between layers, linear output) holding the given [(W, b), ...] weights.

    Returns the model and its Linear layers.
    """
    import torch

    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    linears = [layer for layer in layers if isinstance(layer, torch.nn.Linear)]
    with torch.no_grad():
        for layer, (W, b) in zip(linears, initial):
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(b))
    return model, linears
