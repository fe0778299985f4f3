"""``chainrule train``: the report — result tables, pictures, and the settings a saved file records."""

from __future__ import annotations

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
