"""Function forms of the newer layers: GELU, SiLU, ELU, dropout and embedding lookup."""

from __future__ import annotations

import numpy as np

from ..rules import RULES
from ..tensor import Tensor, _apply, _new, as_tensor, where
from ._random import random_source

__all__ = ["gelu", "silu", "elu", "dropout", "embedding"]


def gelu(x, approximate: str = "none") -> Tensor:
    """x·Φ(x), Φ the standard normal CDF (``approximate="tanh"``: ½x(1 + tanh(√(2/π)(x + 0.044715x³))))."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _apply(RULES["gelu" if approximate == "none" else "gelu_tanh"], (as_tensor(x),))


def silu(x) -> Tensor:
    """x·σ(x); derivative σ(x)(1 + x(1 − σ(x)))."""
    return _apply(RULES["silu"], (as_tensor(x),))


def elu(x, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else α(eˣ − 1)."""
    return _apply(RULES["elu"], (as_tensor(x),), {"alpha": float(alpha)})


def dropout(x, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> Tensor:
    """Zero each element with probability p and scale the survivors by 1/(1 − p), so the expected
    value is unchanged; the identity when not ``training`` (evaluation) or p = 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = random_source(generator).random(x.shape) >= p
    return x * (keep / np.asarray(1.0 - p, dtype=x.dtype)).astype(x.dtype)


def _indices(indices, num_embeddings: int) -> np.ndarray:
    values = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if values.dtype.kind == "f":
        if not np.all(values == np.round(values)):
            raise TypeError("embedding: indices must be integers")
        values = values.astype(np.int64)
    elif values.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= num_embeddings):
        bad = values[(values < 0) | (values >= num_embeddings)].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for {num_embeddings} embeddings")
    return values.astype(np.intp)


def embedding(input, weight, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input`` of any shape: shape (*input, dim).

    Rows picked twice receive the sum of both gradients; the ``padding_idx`` row receives none.
    """
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (num_embeddings, embedding_dim), got {weight.shape}")
    indices = _indices(input, weight.shape[0])
    rows = weight[indices]
    if padding_idx is None:
        return rows
    padding = np.asarray(indices == padding_idx % weight.shape[0])[..., np.newaxis]
    return where(padding, _new(np.asarray(rows.data)), rows)
