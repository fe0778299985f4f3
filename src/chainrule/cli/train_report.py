"""``chainrule train``: the report — result tables, pictures, and the settings a saved file records."""

from __future__ import annotations

import math

from .common import CommandError
from .train_model import Settings
from .train_problem import Config, Source

PLOT_HINT = 'pip install "chainrule[plot]"'


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _number(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _accuracy(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _draw(what: str, draw, path: str) -> None:
    try:
        draw()
    except ImportError:
        raise CommandError(f"--{what} needs matplotlib, which is not installed: {PLOT_HINT}") from None
    except (OSError, ValueError) as error:
        raise CommandError(f"--{what} {path}: cannot write the picture ({getattr(error, 'strerror', None) or error})"
                           ) from None
    print(f"wrote {path}")


def _problem_dict(config: Config, source: Source, settings: Settings) -> dict:
    data = {key: value for (section, key), value in config.values.items() if section == "data"}
    if source.kind == "csv":
        data["csv"] = str(source.path)
    model = {"sizes": list(settings.sizes), "activation": settings.activation, "output": settings.output,
             "seed": settings.model_seed}
    training = {"loss": settings.loss, "optimizer": settings.optimizer, "lr": settings.lr,
                "momentum": settings.momentum, "weight_decay": settings.weight_decay, "mode": settings.mode,
                "batch_size": settings.batch_size, "epochs": settings.epochs, "seed": settings.seed,
                "shuffle": settings.shuffle, "early_stopping": settings.early_stopping,
                "min_delta": settings.min_delta}
    return {"name": source.name, "data": data, "model": model, "training": training}


#: A run stalled when, after at least ``STALL_EPOCHS`` epochs, its last quarter's mean loss is no better
#: than this fraction of its first epoch's.
STALL_FRACTION = 0.8
STALL_EPOCHS = 5


def diagnosis(mode: str, history, lr: float, batch_size: int | None, stop: str | None = None) -> str | None:
    """One sentence when a run diverged or stalled, and why; None when it trained.

    Diverged: the loss (or a gradient) overflowed, or the last epoch's loss is far above the first. Stalled:
    after a few epochs the mean loss is not even a fifth below where it started. In the stochastic and
    mini-batch modes every update follows one sample's (one batch's) gradient at the full learning rate, so
    an η that batch descent takes in its stride can throw them about: that is the usual why.
    """
    losses = [float(v) for v in history.epoch_loss]
    steps = [float(v) for v in history.step_loss]
    per = {"stochastic": "one sample's gradient", "minibatch": f"one batch's gradient ({batch_size} samples)"}
    too_large = (f"each of its {len(steps)} updates follows {per.get(mode)} at the full learning rate "
                 f"η = {lr:g}, too large a step for {'one sample' if mode == 'stochastic' else 'one batch'}: "
                 "try a smaller lr for this mode")
    if stop is not None or any(not math.isfinite(v) for v in losses + steps) or (
            len(losses) >= 2 and losses[-1] > 10 * max(losses[0], 1e-12)):
        what = stop or f"the loss grew from {losses[0]:.4g} to {losses[-1]:.4g}"
        why = too_large if mode in per else \
            f"the learning rate η = {lr:g} is too large for this loss: try a smaller lr"
        return f"{mode} diverged ({what}): {why}"
    if len(losses) >= STALL_EPOCHS and losses[0] > 1e-8:
        tail = losses[-max(len(losses) // 4, 1):]
        late = sum(tail) / len(tail)
        if late >= STALL_FRACTION * losses[0]:
            why = too_large if mode in per else (f"the learning rate η = {lr:g} may be too small, or the units "
                                                 "saturated or dead (their gradients near 0)")
            return (f"{mode} stalled: the mean loss went from {losses[0]:.4g} (epoch 1) to {losses[-1]:.4g} "
                    f"(epoch {len(losses)}), its last quarter {late:.4g} on average: {why}")
    return None
