"""Loss functions (and, re-exported, the activations).

Each loss computes one value per sample with a primitive of the rule table,
then reduces: ``reduction="mean"`` (the default) averages, ``"sum"`` adds,
``"none"`` returns the per-sample values. With the mean, the gradient of the
loss is exactly the average of the per-sample gradients: the seed's batch
gradient.
"""

from __future__ import annotations

import numpy as np

from ..functional import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from ..rules import RULES
from ..tensor import Tensor, _apply, _new, as_tensor
from ..tensor_ops import one_hot

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "hinge_loss", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax",
    "REDUCTIONS", "one_hot",
]

REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_sample: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "none":
        return per_sample
    raise ValueError(f"{name}: reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")


def _pair(prediction, target, name: str) -> tuple[Tensor, Tensor]:
    """The prediction and a target of the same shape and dtype (a shape mismatch is an error:
    silently broadcasting (N, 1) against (N,) would compare every sample with every target)."""
    prediction = as_tensor(prediction)
    if not isinstance(target, Tensor):
        target = _new(np.asarray(target, dtype=prediction.dtype))
    if target.shape != prediction.shape:
        raise ValueError(
            f"{name}: prediction has shape {prediction.shape} but target has shape {target.shape}; "
            "reshape one of them so that they match"
        )
    return prediction, target


def mse_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """L = (ŷ − y)² per sample (the seed's loss), then reduced.

    >>> mse_loss(chainrule.tensor(0.622), 0.0).item()  # doctest: +ELLIPSIS
    0.386884...
    """
    prediction, target = _pair(prediction, target, "mse_loss")
    return _reduce(_apply(RULES["squared_error"], (prediction, target)), reduction, "mse_loss")


def l1_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """L = |ŷ − y| per sample."""
    prediction, target = _pair(prediction, target, "l1_loss")
    return _reduce((prediction - target).abs(), reduction, "l1_loss")


def huber_loss(prediction, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½(ŷ − y)² where |ŷ − y| ≤ δ, else δ(|ŷ − y| − ½δ): quadratic near the target, linear far away."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    prediction, target = _pair(prediction, target, "huber_loss")
    error = (prediction - target).abs()
    quadratic = error.clip(max=delta)
    linear = error - quadratic
    return _reduce(0.5 * quadratic * quadratic + delta * linear, reduction, "huber_loss")


def _check_probability_targets(target: Tensor, name: str) -> None:
    values = np.asarray(target.data)
    if np.any((values < 0) | (values > 1)):
        raise ValueError(f"{name}: targets must lie in [0, 1]")


def binary_cross_entropy(probability, target, reduction: str = "mean") -> Tensor:
    """L = −(y·ln p + (1 − y)·ln(1 − p)) for probabilities p; each log is clamped at −100 as in PyTorch."""
    probability, target = _pair(probability, target, "binary_cross_entropy")
    values = np.asarray(probability.data)
    if np.any((values < 0) | (values > 1)):
        raise ValueError(
            "binary_cross_entropy: probabilities must lie in [0, 1] (use the _with_logits form for scores)"
        )
    _check_probability_targets(target, "binary_cross_entropy")
    return _reduce(_apply(RULES["binary_cross_entropy"], (probability, target)), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logit, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of σ(z), fused and stable: ∂L/∂z = σ(z) − y, exact for any z."""
    logit, target = _pair(logit, target, "binary_cross_entropy_with_logits")
    _check_probability_targets(target, "binary_cross_entropy_with_logits")
    return _reduce(_apply(RULES["bce_with_logits"], (logit, target)), reduction, "binary_cross_entropy_with_logits")


def cross_entropy(logits, target, reduction: str = "mean") -> Tensor:
    """−ln softmax(z)[y] per sample, for logits z of shape (N, C) and class indices y of shape (N,).

    Fused with the log-softmax: ∂L/∂z = softmax(z) − onehot(y) (divided by N for the mean).
    """
    logits = as_tensor(logits)
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if logits.ndim < 1:
        raise ValueError("cross_entropy: logits need a class axis, got a 0-d tensor")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"cross_entropy: logits of shape {logits.shape} need class indices of shape {logits.shape[:-1]}, "
            f"got {labels.shape}"
        )
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("cross_entropy: targets must be class indices (whole numbers)")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got {labels.dtype}")
    classes = logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)].flat[0]
        raise ValueError(f"cross_entropy: class index {bad} is out of range for {classes} classes")
    return _reduce(_apply(RULES["cross_entropy"], (logits, _new(labels))), reduction, "cross_entropy")


def hinge_loss(score, target, reduction: str = "mean", margin: float = 1.0) -> Tensor:
    """L = max(0, margin − y·s) per sample, for labels y ∈ {−1, +1} (labels 0/1 are read as −1/+1).

    This is the max-margin loss of micrograd's two-moons demo.
    """
    score, target = _pair(score, target, "hinge_loss")
    labels = np.asarray(target.data)
    # Comparisons rather than np.isin, which costs ~20 µs a call on small arrays.
    positive = labels == 1
    if not np.all(positive | (labels == -1)):
        if np.all(positive | (labels == 0)):  # 0/1 labels, with at least one 0
            target = _new(np.asarray(2 * labels - 1, dtype=score.dtype))
        else:
            raise ValueError("hinge_loss: labels must be −1/+1 (or 0/1)")
    return _reduce((margin - target * score).relu(), reduction, "hinge_loss")
