"""Loss modules: ``nn.MSELoss()(prediction, target)`` and friends, wrapping ``nn.functional``."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _new
from . import functional as F
from .module import Module, default_float_dtype

__all__ = [
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "NLLLoss", "KLDivLoss", "HingeLoss",
]


def _buffer(value):
    """A weight given as a list, array or tensor, kept as a (buffer) tensor, as PyTorch keeps it."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return _new(np.array(value))
    return _new(np.array(value, dtype=default_float_dtype()))


class _Loss(Module):
    function = None

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in F.REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {', '.join(F.REDUCTIONS)}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def forward(self, prediction, target):
        return type(self).function(prediction, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """(ŷ − y)², the seed's loss."""

    function = staticmethod(F.mse_loss)


class L1Loss(_Loss):
    """|ŷ − y|."""

    function = staticmethod(F.l1_loss)


class _WeightedLoss(_Loss):
    """A loss with a per-class (or per-element) ``weight``, registered as a buffer as in PyTorch."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities."""

    def forward(self, prediction, target):
        return F.binary_cross_entropy(prediction, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits (stable); ``pos_weight`` weighs the positive term of each class."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, prediction, target):
        return F.binary_cross_entropy_with_logits(prediction, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy; logits (N, C) or (N, C, d1, …), targets class indices or probabilities."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got {label_smoothing}")
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)

    def forward(self, prediction, target):
        return F.cross_entropy(prediction, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (after ``LogSoftmax``)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = int(ignore_index)

    def forward(self, prediction, target):
        return F.nll_loss(prediction, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(Module):
    """KL divergence of log-probabilities from a target distribution; ``reduction`` also takes
    ``"batchmean"``, the sum divided by the batch size."""

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__()
        if reduction not in (*F.REDUCTIONS, "batchmean"):
            raise ValueError(f"KLDivLoss: reduction must be one of {', '.join(F.REDUCTIONS)}, batchmean; "
                             f"got {reduction!r}")
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, prediction, target):
        return F.kl_div(prediction, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


class SmoothL1Loss(_Loss):
    """Quadratic within β of the target (scaled by 1/β), linear beyond."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def forward(self, prediction, target):
        return F.smooth_l1_loss(prediction, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic within δ of the target, linear beyond."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, prediction, target):
        return F.huber_loss(prediction, target, reduction=self.reduction, delta=self.delta)


class HingeLoss(_Loss):
    """max(0, margin − y·s) for labels ±1 (micrograd's max-margin loss)."""

    def __init__(self, reduction: str = "mean", margin: float = 1.0):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, prediction, target):
        return F.hinge_loss(prediction, target, reduction=self.reduction, margin=self.margin)
