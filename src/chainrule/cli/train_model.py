"""``chainrule train``: the model, loss and optimizer the settings and the labels call for."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import CommandError
from .train_data import Data
from .train_problem import Config

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
MODE_NAMES = ("batch", "stochastic", "minibatch")


def _class_labels(y: np.ndarray) -> np.ndarray | None:
    """The distinct labels when ``y`` holds whole numbers, else None."""
    if y.size and np.all(y == np.round(y)):
        return np.unique(y)
    return None


def _default_loss(y: np.ndarray) -> str:
    labels = _class_labels(y)
    if labels is not None and set(labels.tolist()) <= {0.0, 1.0}:
        return "bce_with_logits"
    if labels is not None and labels.min() == 0 and labels.max() < 20 and len(labels) > 2:
        return "cross_entropy"
    return "mse"


@dataclass


class Settings:
    loss: str
    sizes: list[int]
    activation: str
    output: str
    model_seed: int
    optimizer: str
    lr: float
    momentum: float | None
    weight_decay: float
    mode: str
    batch_size: int
    epochs: int
    seed: int
    shuffle: bool
    early_stopping: int | None
    min_delta: float

    def describe(self) -> str:
        optimizer = {"sgd": "SGD", "momentum": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
        details = f"lr {self.lr:g}"
        if self.momentum:
            details += f", momentum {self.momentum:g}"
        if self.weight_decay:
            details += f", weight decay {self.weight_decay:g}"
        mode = f"minibatch mode (batch size {self.batch_size})" if self.mode == "minibatch" else f"{self.mode} mode"
        return (f"MLP {'-'.join(map(str, self.sizes))} ({self.activation}"
                f"{'' if self.output == 'identity' else ', ' + self.output + ' output'}), {self.loss} loss, "
                f"{optimizer[self.optimizer]} ({details}), {mode}, {self.epochs} epochs")


TOY_DEFAULTS = {"seed": {"sizes": [1, 1], "output": "sigmoid", "loss": "mse"}}


def _settings(config: Config, data: Data) -> Settings:
    from .. import nn

    toy_defaults = TOY_DEFAULTS.get(config.get("data", "toy"), {}) if config.get("data", "csv") is None else {}
    y = data.y_train if data.y_test is None else np.concatenate([data.y_train, data.y_test])

    loss = config.get("training", "loss", toy_defaults.get("loss") or _default_loss(y))
    if loss not in nn.LOSSES:
        raise CommandError(f"{config.origin('training', 'loss')}: unknown loss {loss!r}; "
                           f"choose one of {', '.join(nn.LOSSES)}")
    activation = config.get("model", "activation", "relu")
    output = config.get("model", "output", toy_defaults.get("output", "identity"))
    for key, name in (("activation", activation), ("output", output)):
        if name.lower() not in nn.ACTIVATIONS:
            raise CommandError(f"{config.origin('model', key)}: unknown activation {name!r}; "
                               f"choose one of {', '.join(sorted(nn.ACTIVATIONS))}")
    activation, output = activation.lower(), output.lower()

    labels = _class_labels(y)
    outputs = 1
    if loss == "cross_entropy":
        if labels is None or labels.min() < 0:
            raise CommandError(f"loss cross_entropy needs class labels 0, 1, …, K−1 in the target; "
                               f"it holds {_few(np.unique(y))}")
        outputs = max(int(labels.max()) + 1, 2)
    sizes = config.get("model", "sizes", toy_defaults.get("sizes") or [data.features, 16, 16, outputs])
    sizes = list(sizes)
    origin = config.origin("model", "sizes")
    if sizes[0] != data.features:
        raise CommandError(f"{origin}: the first size is {sizes[0]} but the data has {data.features} "
                           f"feature{'s' if data.features != 1 else ''}")
    if loss == "cross_entropy":
        if sizes[-1] < outputs:
            raise CommandError(f"{origin}: the last size is {sizes[-1]} but loss cross_entropy needs one output "
                               f"per class, {outputs} here")
    elif sizes[-1] != 1:
        raise CommandError(f"{origin}: loss {loss} needs one output (the last size is {sizes[-1]}); "
                           "use loss = \"cross_entropy\" for several classes")
    if loss in ("bce", "bce_with_logits") and (labels is None or not set(labels.tolist()) <= {0.0, 1.0}):
        raise CommandError(f"loss {loss} needs labels 0 and 1; the target holds {_few(np.unique(y))}")
    if loss == "hinge" and (labels is None or not (set(labels.tolist()) <= {0.0, 1.0}
                                                   or set(labels.tolist()) <= {-1.0, 1.0})):
        raise CommandError(f"loss hinge needs labels −1/+1 (or 0/1); the target holds {_few(np.unique(y))}")
    if output == "softmax" and sizes[-1] == 1:
        raise CommandError(f"{config.origin('model', 'output')}: softmax over one output is always 1, so the "
                           "network could not learn; use sigmoid (or identity) for one output")
    if loss == "bce" and output != "sigmoid":
        raise CommandError("loss bce needs probabilities: set model.output = \"sigmoid\" (--output sigmoid), "
                           "or use loss = \"bce_with_logits\" on raw scores")

    optimizer = config.get("training", "optimizer", "sgd")
    if optimizer not in OPTIMIZERS:
        raise CommandError(f"{config.origin('training', 'optimizer')}: unknown optimizer {optimizer!r}; "
                           f"choose one of {', '.join(OPTIMIZERS)}")
    lr = float(config.get("training", "lr", 0.1 if optimizer in ("sgd", "momentum") else 0.01))
    momentum = config.get("training", "momentum")
    if momentum is not None and optimizer not in ("sgd", "momentum", "rmsprop"):
        raise CommandError(f"{config.origin('training', 'momentum')} applies to sgd, momentum and rmsprop, "
                           f"not to {optimizer}")
    if optimizer == "momentum" and momentum is None:
        momentum = 0.9
    weight_decay = float(config.get("training", "weight_decay", 0.01 if optimizer == "adamw" else 0.0))

    mode = config.get("training", "mode", "batch").replace("-", "")
    if mode not in MODE_NAMES:
        raise CommandError(f"{config.origin('training', 'mode')}: unknown mode {config.get('training', 'mode')!r}; "
                           f"choose one of {', '.join(MODE_NAMES)}")
    batch_size = min(config.get("training", "batch_size", 32), len(data.X_train))
    return Settings(
        loss=loss, sizes=sizes, activation=activation, output=output, model_seed=config.get("model", "seed", 0),
        optimizer=optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay, mode=mode, batch_size=batch_size,
        epochs=config.get("training", "epochs", 100), seed=config.get("training", "seed", 0),
        shuffle=config.get("training", "shuffle", True), early_stopping=config.get("training", "early_stopping"),
        min_delta=float(config.get("training", "min_delta", 0.0)),
    )


def _few(values: np.ndarray) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:6])
    return shown + (f", … ({len(values)} distinct values)" if len(values) > 6 else "")


def _make_model(settings: Settings):
    from .. import nn

    return nn.MLP(settings.sizes, settings.activation,
                  output_activation=None if settings.output == "identity" else settings.output,
                  seed=settings.model_seed)


def _make_optimizer(settings: Settings, parameters):
    from .. import optim

    if settings.optimizer in ("sgd", "momentum"):
        return optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum or 0.0,
                         weight_decay=settings.weight_decay)
    if settings.optimizer == "rmsprop":
        return optim.RMSprop(parameters, lr=settings.lr, momentum=settings.momentum or 0.0,
                             weight_decay=settings.weight_decay)
    cls = optim.Adam if settings.optimizer == "adam" else optim.AdamW
    return cls(parameters, lr=settings.lr, weight_decay=settings.weight_decay)


def _targets(settings: Settings, y: np.ndarray | None) -> np.ndarray | None:
    if y is not None and settings.loss == "cross_entropy":
        return y.astype(np.int64)
    return y
