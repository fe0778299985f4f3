"""Neural-network building blocks: modules, layers, activations and losses."""

from . import functional
from .layers import (
    ACTIVATIONS,
    MLP,
    Identity,
    LeakyReLU,
    Linear,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    activation_module,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, HuberLoss, L1Loss, MSELoss
from .module import Module, Parameter, StateDictError

LOSSES = {
    "mse": MSELoss, "l1": L1Loss, "huber": HuberLoss, "bce": BCELoss, "bce_with_logits": BCEWithLogitsLoss,
    "cross_entropy": CrossEntropyLoss, "hinge": HingeLoss,
}

__all__ = [
    "functional", "Module", "Parameter", "StateDictError", "Linear", "Sequential", "MLP", "Neuron", "Sigmoid",
    "Tanh", "ReLU", "LeakyReLU", "Softmax", "Identity", "activation_module", "ACTIVATIONS", "MSELoss", "L1Loss",
    "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HingeLoss", "LOSSES",
]
