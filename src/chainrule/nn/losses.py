"""Loss modules: ``nn.MSELoss()(prediction, target)`` and friends, wrapping ``nn.functional``."""

from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HingeLoss"]


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


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities."""

    function = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (stable)."""

    function = staticmethod(F.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy over class indices."""

    function = staticmethod(F.cross_entropy)


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
