"""Pictures of training: loss curves and decision boundaries (matplotlib, an optional extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .autograd import no_grad
from .io import write_file
from .tensor import _new

__all__ = ["plot_history", "plot_decision_boundary"]

INSTALL_HINT = 'plots need matplotlib: pip install "chainrule[plot]"'


def _new_figure(size):
    """A figure without pyplot: no GUI backend is involved, so this works on servers and in CI."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return Figure(figsize=size)


def _finish(figure, path):
    if path is not None:
        path = Path(path)
        image_format = path.suffix.lstrip(".").lower() or None  # a file object carries no name to guess from
        write_file(path, lambda file: figure.savefig(file, format=image_format, dpi=120, bbox_inches="tight"))
    return figure


#: Beyond this many updates a run's per-update losses are drawn as a band, not as a line through each.
BAND_FROM = 400
#: The band's windows: about this many across the run.
BAND_WINDOWS = 150


def _draw_updates(ax, x: np.ndarray, losses: np.ndarray, color: str) -> None:
    """Each update's loss, so that thousands of them stay readable.

    A few hundred are one thin, light line. More (a stochastic run of 10,000 updates) would fill the chart
    with colour, so they are summarised over windows of consecutive updates: a light band from the 10th to
    the 75th percentile (the middle half) and a thin line through the mean of each window.
    """
    finite = np.isfinite(losses)
    x, losses = x[finite], losses[finite]
    if len(losses) <= BAND_FROM:
        ax.plot(x, losses, color=color, linewidth=0.5, alpha=0.3, gid="updates")
        return
    size = max(len(losses) // BAND_WINDOWS, 2)
    count = len(losses) // size
    windows = losses[:count * size].reshape(count, size)
    centres = x[:count * size].reshape(count, size).mean(axis=1)
    low, high = np.percentile(windows, [25, 75], axis=1)
    ax.fill_between(centres, low, high, color=color, alpha=0.1, linewidth=0, gid="updates-band")
    ax.plot(centres, windows.mean(axis=1), color=color, linewidth=0.6, alpha=0.5, gid="updates-mean")


def plot_history(histories: dict, path=None, *, ax=None, log_scale: bool = True):
    """Loss curves for one or more runs on one figure (labels are the dict keys).

    Each run's mean loss per epoch is drawn bold, so runs of different modes
    compare directly; the loss of every update is drawn lightly behind it
    (step k of an epoch with n updates sits at x = epoch − 1 + k/n): up to a
    few hundred as a thin line, more as a band (the middle half of each window
    of consecutive updates) around their mean, so that a stochastic run of
    10,000 updates stays readable. A single sample's loss jumps around far
    more than an epoch's mean: that noise is the stochastic mode's signature.
    """
    figure = ax.figure if ax is not None else _new_figure((7, 4.2))
    ax = ax or figure.add_subplot(1, 1, 1)
    for index, (label, history) in enumerate(histories.items()):
        color = f"C{index}"
        steps = np.asarray(history.step_loss, dtype=float)
        epochs = max(len(history.epoch_loss), 1)
        per_epoch = max(len(steps) // epochs, 1)
        updates = f"{per_epoch} update{'s' if per_epoch > 1 else ''}/epoch"
        _draw_updates(ax, np.arange(1, len(steps) + 1) / per_epoch, steps, color)
        ax.plot(np.arange(1, len(history.epoch_loss) + 1), history.epoch_loss, color=color, linewidth=2,
                marker="o" if epochs <= 30 else None, markersize=3, label=f"{label} ({updates})")
        if "accuracy" in history.metrics and len(histories) == 1:
            twin = ax.twinx()
            twin.plot(np.arange(1, epochs + 1), history.metrics["accuracy"], color="tab:green", linestyle="--",
                      label="training accuracy")
            twin.set_ylabel("accuracy")
            twin.set_ylim(0, 1.05)
            twin.legend(loc="center right")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (bold: mean over the epoch; light: the updates)")
    means = np.concatenate([np.asarray(h.epoch_loss, dtype=float) for h in histories.values()] or [np.ones(1)])
    means = means[np.isfinite(means)]
    positive = means.size and np.all(means > 0)
    if log_scale and positive:
        ax.set_yscale("log")
    if means.size:
        # Frame the epoch means; single updates' losses may fall far outside.
        low, high = means.min(), means.max()
        if log_scale and positive:
            ax.set_ylim(low / 3, high * 3)
        else:
            margin = 0.25 * (high - low) + 1e-12
            ax.set_ylim(low - margin, high + margin)
    ax.set_title("Training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    return _finish(figure, path)


def plot_decision_boundary(model, X, y, path=None, *, ax=None, resolution: int = 200, threshold=None):
    """Colour the plane by the model's prediction for a 2-D classifier, with the data on top."""
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: needs 2-D inputs of shape (N, 2), got {X.shape}")
    margin = 0.25 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    dtype = model.parameters()[0].dtype if hasattr(model, "parameters") and model.parameters() else float
    with no_grad():
        scores = np.asarray(model(_new(grid.astype(dtype))).data)
    if scores.ndim == 2 and scores.shape[1] > 1:
        predicted = scores.argmax(axis=1)
    else:
        cut = threshold if threshold is not None else (0.0 if np.any(scores < 0) else 0.5)
        predicted = (scores.reshape(-1) > cut).astype(int)
    figure = ax.figure if ax is not None else _new_figure((5.5, 5))
    ax = ax or figure.add_subplot(1, 1, 1)
    ax.contourf(gx, gy, predicted.reshape(gx.shape), alpha=0.3, cmap="coolwarm", levels=len(np.unique(predicted)))
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=22)
    ax.set_title("Decision boundary")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    return _finish(figure, path)
