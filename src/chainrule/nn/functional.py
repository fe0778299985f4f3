"""Loss functions (and, re-exported, the activations).

Each loss computes one value per sample with a primitive of the rule table,
then reduces: ``reduction="mean"`` (the default) averages, ``"sum"`` adds,
``"none"`` returns the per-sample values. With the mean, the gradient of the
loss is exactly the average of the per-sample gradients: the seed's batch
gradient.
"""

from __future__ import annotations

import numpy as np

from ..functional import leaky_relu, linear, log_softmax, relu, sigmoid, softmax, tanh
from ..rules import RULES
from ..tensor import Tensor, _apply, _new, as_tensor, where
from ..tensor_ops import one_hot
from ._activations import dropout, elu, embedding, gelu, silu
from .conv import avg_pool2d, conv2d, max_pool2d
from .norm import batch_norm, layer_norm

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "smooth_l1_loss", "kl_div", "hinge_loss", "sigmoid", "tanh", "relu",
    "leaky_relu", "softmax", "log_softmax", "gelu", "silu", "elu", "dropout", "embedding", "linear", "conv2d",
    "max_pool2d", "avg_pool2d", "batch_norm", "layer_norm", "one_hot", "softplus", "normalize", "cosine_similarity",
    "pad", "REDUCTIONS",
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


def _constant_like(value, like: Tensor) -> Tensor:
    """A weight in the dtype of the values it weighs (a list, array or a tensor without a gradient),
    so a float64 weight does not turn a float32 loss into float64."""
    if isinstance(value, Tensor) and value.requires_grad:
        return value
    return _new(np.asarray(value.data if isinstance(value, Tensor) else value, dtype=like.dtype))


def _weighted(loss: Tensor, weight, name: str) -> Tensor:
    """``loss``·``weight`` where a weight is given (broadcast against the loss, as in PyTorch)."""
    if weight is None:
        return loss
    weight = _constant_like(weight, loss)
    try:
        np.broadcast_shapes(weight.shape, loss.shape)
    except ValueError:
        raise ValueError(f"{name}: weight of shape {weight.shape} does not broadcast to {loss.shape}") from None
    return loss * weight


def binary_cross_entropy(probability, target, weight=None, reduction: str = "mean") -> Tensor:
    """L = −(y·ln p + (1 − y)·ln(1 − p)) for probabilities p; each log is clamped at −100 as in PyTorch."""
    probability, target = _pair(probability, target, "binary_cross_entropy")
    values = np.asarray(probability.data)
    if np.any((values < 0) | (values > 1)):
        raise ValueError(
            "binary_cross_entropy: probabilities must lie in [0, 1] (use the _with_logits form for scores)"
        )
    _check_probability_targets(target, "binary_cross_entropy")
    loss = _apply(RULES["binary_cross_entropy"], (probability, target))
    return _reduce(_weighted(loss, weight, "binary_cross_entropy"), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logit, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Binary cross-entropy of σ(z), fused and stable: ∂L/∂z = σ(z) − y, exact for any z.

    ``pos_weight`` p (one per class, broadcast over the last axis) weighs the positive term:
    L = −(p·y·ln σ(z) + (1 − y)·ln(1 − σ(z))) = (1 − y)·z + (1 + (p − 1)·y)·softplus(−z).
    ``weight`` multiplies each element's loss.
    """
    name = "binary_cross_entropy_with_logits"
    logit, target = _pair(logit, target, name)
    _check_probability_targets(target, name)
    if pos_weight is None:
        loss = _apply(RULES["bce_with_logits"], (logit, target))
    else:
        pos_weight = _constant_like(pos_weight, logit)
        try:
            np.broadcast_shapes(pos_weight.shape, logit.shape)
        except ValueError:
            raise ValueError(f"{name}: pos_weight of shape {pos_weight.shape} does not broadcast to "
                             f"{logit.shape}") from None
        loss = (1 - target) * logit + (1 + (pos_weight - 1) * target) * (-logit).softplus()
    return _reduce(_weighted(loss, weight, name), reduction, name)


def _class_labels(target, expected_shape: tuple[int, ...], classes: int, ignore_index: int, name: str):
    """Class indices as an int64 array of ``expected_shape``, checked against the number of classes."""
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if labels.shape != expected_shape:
        raise ValueError(
            f"{name}: an input of {classes} classes (axis 1) needs class indices of shape {expected_shape}, "
            f"got {labels.shape}"
        )
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError(f"{name}: targets must be class indices (whole numbers) or, with the input's "
                             "shape, class probabilities")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer class indices, got {labels.dtype}")
    valid = labels != ignore_index
    bad = valid & ((labels < 0) | (labels >= classes))
    if np.any(bad):
        raise ValueError(f"{name}: class index {labels[bad].flat[0]} is out of range for {classes} classes")
    return labels.astype(np.int64), valid


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, …) → (N, d1, …, C): PyTorch puts the class axis at 1, the fused kernels want it last."""
    if x.ndim <= 2:
        return x
    return x.permute(0, *range(2, x.ndim), 1)


def _per_class_weight(weight, classes: int, name: str):
    if weight is None:
        return None
    weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if weight.shape != (classes,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({classes},), got {weight.shape}")
    return weight


def _reduce_picked(picked: Tensor, labels, valid, weight, reduction: str, name: str) -> Tensor:
    """Weigh each sample's loss by its class's weight (0 where ignored) and reduce; the mean
    divides by the total weight, as PyTorch's does."""
    if weight is None and bool(np.all(valid)):
        return _reduce(picked, reduction, name)
    sample_weight = (np.ones(labels.shape) if weight is None else weight[np.where(valid, labels, 0)]) * valid
    sample_weight = np.asarray(sample_weight, dtype=picked.dtype)
    loss = where(valid, picked, 0.0) * sample_weight
    if reduction == "mean":
        return loss.sum() / sample_weight.sum()
    return _reduce(loss, reduction, name)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """L = −w[y]·x[y] per sample, for log-probabilities x of shape (N, C), (N, C, d1, …) or (C,).

    ``weight`` (C,) weighs the classes (the mean divides by the sum of the weights used);
    samples whose target is ``ignore_index`` count for nothing.
    """
    x = as_tensor(input)
    if x.ndim == 0:
        raise ValueError("nll_loss: the input needs a class axis, got a 0-d tensor")
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    expected = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    labels, valid = _class_labels(target, expected, classes, ignore_index, "nll_loss")
    weight = _per_class_weight(weight, classes, "nll_loss")
    flat = _classes_last(x)
    index = tuple(np.indices(labels.shape, sparse=True)) + (np.where(valid, labels, 0),)
    picked = -flat[index]
    return _reduce_picked(picked, labels, valid, weight, reduction, "nll_loss")


def cross_entropy(logits, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, as ``torch.nn.functional.cross_entropy``: logits of shape (N, C),
    (N, C, d1, …) or (C,), the classes on axis 1.

    With class indices y: L = −ln softmax(z)[y] per sample, fused with the log-softmax, so
    ∂L/∂z = softmax(z) − onehot(y) (divided by N for the mean). With a target of the logits' shape,
    class probabilities q: L = −Σ_c q_c·ln softmax(z)_c. ``weight``, ``ignore_index`` and
    ``label_smoothing`` ε (the target mixed with the uniform distribution: (1 − ε)·L + ε·mean_c(−ln p_c))
    behave as in PyTorch.
    """
    name = "cross_entropy"
    z = as_tensor(logits)
    if z.ndim == 0:
        raise ValueError(f"{name}: logits need a class axis, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    classes = z.shape[0] if z.ndim == 1 else z.shape[1]
    weight = _per_class_weight(weight, classes, name)
    last = _classes_last(z)
    target_array = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target_array.shape == z.shape and target_array.dtype.kind == "f" and z.ndim > 0 and \
            (z.ndim > 1 or target_array.ndim == 1):
        return _cross_entropy_probabilities(last, target, classes, weight, reduction, label_smoothing)
    expected = () if z.ndim == 1 else (z.shape[0],) + z.shape[2:]
    labels, valid = _class_labels(target, expected, classes, ignore_index, name)
    # The labels tensor itself when it is already what the rule needs: then chainrule.compile follows
    # it from the step's arguments. Only when no label could be ignore_index's: an ignore_index
    # outside ±classes can never index a class, so a replayed label equal to it fails loudly.
    plain = (isinstance(target, Tensor) and np.asarray(target.data).dtype == np.int64 and bool(np.all(valid))
             and not -classes <= ignore_index < classes)
    picked = _apply(RULES["cross_entropy"], (last, target if plain else _new(np.where(valid, labels, 0))))
    loss = _reduce_picked(picked, labels, valid, weight, reduction, name)
    if not label_smoothing:
        return loss
    log_p = last.log_softmax(-1)
    smooth = -(log_p if weight is None else log_p * np.asarray(weight, dtype=log_p.dtype)).sum(-1)
    smooth = where(valid, smooth, 0.0)
    if reduction == "mean":
        total = valid.sum() if weight is None else (weight[np.where(valid, labels, 0)] * valid).sum()
        smooth = smooth.sum() / np.asarray(total, dtype=smooth.dtype)
    else:
        smooth = _reduce(smooth, reduction, name)
    return (1 - label_smoothing) * loss + (label_smoothing / classes) * smooth


def _cross_entropy_probabilities(last: Tensor, target, classes: int, weight, reduction: str,
                                 label_smoothing: float) -> Tensor:
    target = _classes_last(target if isinstance(target, Tensor) else _new(np.asarray(target, dtype=last.dtype)))
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    log_p = last.log_softmax(-1)
    products = log_p * target
    if weight is not None:
        products = products * np.asarray(weight, dtype=log_p.dtype)
    # The mean is over samples (and positions), not weighted: PyTorch's rule for probability targets.
    return _reduce(-products.sum(-1), reduction, "cross_entropy")


def smooth_l1_loss(prediction, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """½(ŷ − y)²/β where |ŷ − y| < β, else |ŷ − y| − ½β (β = 0: the L1 loss), as PyTorch's."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    prediction, target = _pair(prediction, target, "smooth_l1_loss")
    error = (prediction - target).abs()
    if beta == 0:
        return _reduce(error, reduction, "smooth_l1_loss")
    quadratic = error.clip(max=beta)
    return _reduce(0.5 * quadratic * quadratic / beta + (error - quadratic), reduction, "smooth_l1_loss")


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback–Leibler divergence with ``input`` the log-probabilities ln q and ``target`` p:
    p·(ln p − ln q) elementwise (0 where p = 0), or e^t·(t − ln q) with ``log_target`` t = ln p.

    ``reduction="batchmean"`` divides the sum by the batch size (the true KL divergence per sample);
    ``"mean"`` divides by the number of elements, as in PyTorch.
    """
    name = "kl_div"
    log_q, target = _pair(input, target, name)
    if log_target:
        pointwise = target.exp() * (target - log_q)
    else:
        positive = np.asarray(target.data) > 0
        # p·ln p is 0 at p = 0 (its limit); the log is taken of 1 there, so nothing is NaN.
        log_p = where(positive, target, 1.0).log()
        pointwise = target * (log_p - log_q)
    if reduction == "batchmean":
        batch = log_q.shape[0] if log_q.ndim else 1
        return pointwise.sum() / batch
    return _reduce(pointwise, reduction, name)


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


# -- shaping and comparing vectors: compositions of checked rules -------------------------------------------


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """ln(1 + e^(βx))/β; above ``threshold`` (βx) it is x itself, as in PyTorch."""
    x = as_tensor(x)
    scaled = x * beta if beta != 1 else x
    smooth = _apply(RULES["softplus"], (scaled,), {})
    smooth = smooth / beta if beta != 1 else smooth
    return where(scaled > threshold, x, smooth)


def normalize(x, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x divided by its p-norm along ``dim`` (at least ``eps``, so a zero vector stays zero)."""
    x = as_tensor(x)
    return x / x.norm(p, dim=dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between x1 and x2 along ``dim``: each divided by its norm (at least ``eps``)."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    unit1 = x1 / x1.norm(2, dim=dim, keepdim=True).clamp(min=eps)
    unit2 = x2 / x2.norm(2, dim=dim, keepdim=True).clamp(min=eps)
    return (unit1 * unit2).sum(dim=dim)


def pad(x, pad: tuple, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dimensions with ``value``: ``pad`` = (left, right) for the last, then the one before, …
    A negative amount crops, as in PyTorch. Only ``mode="constant"``."""
    from ..tensor_ops import cat

    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > as_tensor(x).ndim:
        raise ValueError(f"pad: expected pairs of amounts for at most {as_tensor(x).ndim} dimensions, got {pad}")
    out = as_tensor(x)
    for k in range(len(pad) // 2):
        axis = out.ndim - 1 - k
        for side, amount in (("left", int(pad[2 * k])), ("right", int(pad[2 * k + 1]))):
            index = [slice(None)] * out.ndim
            if amount < 0:
                index[axis] = slice(-amount, None) if side == "left" else slice(None, out.shape[axis] + amount)
                out = out[tuple(index)]
            elif amount > 0:
                shape = list(out.shape)
                shape[axis] = amount
                block = _new(np.full(shape, value, dtype=out.dtype))
                out = cat([block, out] if side == "left" else [out, block], dim=axis)
    return out
