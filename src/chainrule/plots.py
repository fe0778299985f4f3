"""Pictures of training: loss curves and decision boundaries (matplotlib, an optional extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .autograd import no_grad
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
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


def plot_history(histories: dict, path=None, *, ax=None, log_scale: bool = True):
    """Loss per step for one or more runs on one figure (labels are the dict keys).

    Runs of different modes take different numbers of steps per epoch, so the
    x axis is the epoch: step k of an epoch with n steps sits at k/n.
    """
    figure = ax.figure if ax is not None else _new_figure((7, 4.2))
    ax = ax or figure.add_subplot(1, 1, 1)
    for label, history in histories.items():
        steps = np.asarray(history.step_loss, dtype=float)
        epochs = max(len(history.epoch_loss), 1)
        per_epoch = max(len(steps) // epochs, 1)
        x = np.arange(1, len(steps) + 1) / per_epoch
        ax.plot(x, steps, label=f"{label} ({per_epoch} update{'s' if per_epoch > 1 else ''}/epoch)", linewidth=1.2)
        if "accuracy" in history.metrics and len(histories) == 1:
            twin = ax.twinx()
            twin.plot(np.arange(1, epochs + 1), history.metrics["accuracy"], color="tab:green", linestyle="--",
                      label="training accuracy")
            twin.set_ylabel("accuracy")
            twin.set_ylim(0, 1.05)
            twin.legend(loc="center right")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if log_scale and all(np.all(np.asarray(h.step_loss) > 0) for h in histories.values()):
        ax.set_yscale("log")
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
