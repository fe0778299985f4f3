"""Optimizers and learning-rate schedules with PyTorch's algorithms and API, on numpy.

>>> import chainrule
>>> from chainrule.optim import Adam
>>> w = chainrule.tensor([1.0, -2.0], requires_grad=True)
>>> opt = Adam([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> [round(x, 4) for x in w.tolist()]
[0.7016, -1.7006]

Parameters are updated in place when their data is a writeable ndarray (so
views of them stay valid); a 0-d parameter, whose data is a numpy scalar, is
rebound to its new value. Parameters keep their dtype. Gradients are only read.
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR", "LinearLR",
    "OneCycleLR", "SequentialLR", "ReduceLROnPlateau",
]
