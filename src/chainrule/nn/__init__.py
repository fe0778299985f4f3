"""Neural-network building blocks: modules, layers, activations and losses."""

from . import functional, init, utils
from .containers import ModuleDict, ModuleList, Sequential
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import (
    ACTIVATIONS,
    ELU,
    GELU,
    MLP,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Neuron,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    activation_module,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module, Parameter, StateDictError
from .norm import BatchNorm1d, LayerNorm

LOSSES = {
    "mse": MSELoss, "l1": L1Loss, "huber": HuberLoss, "bce": BCELoss, "bce_with_logits": BCEWithLogitsLoss,
    "cross_entropy": CrossEntropyLoss, "hinge": HingeLoss,
}

__all__ = [
    "functional", "init", "utils", "Module", "Parameter", "StateDictError", "IncompatibleKeys", "Linear",
    "Sequential", "ModuleList", "ModuleDict", "MLP", "Neuron", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d",
    "LayerNorm", "Embedding", "Dropout", "Flatten", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU", "SiLU", "ELU",
    "Softmax", "LogSoftmax", "Identity", "activation_module", "ACTIVATIONS", "MSELoss", "L1Loss", "HuberLoss",
    "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "KLDivLoss", "HingeLoss",
    "LOSSES",
]
