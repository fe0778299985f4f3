"""Pictures of the dynamics of an explained problem (matplotlib, the ``plot`` extra).

* **landscape** — one parameter: the loss L(w) over a range that holds every
  point of the run, each gradient-descent point on it with its tangent (slope
  ∂L/∂w); two parameters: a contour map of L with each run's path. For a data
  set, each mode (batch, stochastic, mini-batch) is one run on the same chart.
* **loss** — the loss at every point of each run, per step (per epoch for a
  data set, each update at its fraction of the epoch).
* **boundary** — a classifier of two inputs: the data, and the decision
  boundary before and after training.

Every number drawn is exact: the runs are the real optimizer (``chainrule.optim``)
on the problem, and the loss is the problem's loss on all of its data. A
picture shows at least ``PICTURE_STEPS`` steps (epochs), so that the motion shows
even where the explanation derives one step; its caption says how many.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..tensor import tensor
from .build import _ACTIVATIONS, build_loss, initial_parameters, parameter_names
from .problems import Problem
from .updates import UpdateRule

__all__ = ["PICTURE_STEPS", "PLOT_KINDS", "Run", "Dynamics", "dynamics_of_problem", "available_kinds", "figure",
           "write_picture", "svg_pictures", "page_pictures"]

PICTURE_STEPS = 10
PLOT_KINDS = ("auto", "landscape", "loss", "boundary")
#: How each run is drawn (colour, marker), in order: the first run is the batch (or the only) one.
_STYLES = [("C0", "o"), ("C1", "s"), ("C2", "^"), ("C3", "D")]
_MODE_LABELS = {"batch": "batch", "stochastic": "stochastic", "minibatch": "mini-batch"}


@dataclass
class Run:
    """One run of gradient descent: the parameters at each point (the start, then after each update)."""

    label: str
    points: list[dict[str, np.ndarray]]
    losses: list[float]
    updates_per_epoch: int = 1
    full_gradient: bool = True  # each update follows ∂L/∂p of the whole loss (its tangent)
    stopped: str | None = None  # why the run ended early (the loss overflowed)


@dataclass
class Dynamics:
    """What the pictures of one problem need: its loss as a function of the parameters, and its runs."""

    names: list[str]
    loss_at: Callable[[dict], float]
    gradient_at: Callable[[dict], dict]
    runs: list[Run] = field(default_factory=list)
    start: dict = field(default_factory=dict)
    loss_name: str = "L"
    per: str = "step"  # the x axis of the loss picture: "step" or "epoch"
    #: A two-input classifier: (X, y, predict(values, X) -> probabilities)
    classifier: tuple | None = None
    samples: int = 1
    steps: int = PICTURE_STEPS  # steps (epochs, for a data set) the runs take

    @property
    def scalar(self) -> bool:
        return all(np.ndim(self.start[name]) == 0 for name in self.names)


# ----------------------------------------------------------------------------------------------------------------
# The runs


def _learned(problem: Problem) -> list[str]:
    return [name for name in parameter_names(problem) if name not in problem.frozen]


def _gradient(problem: Problem, values: dict, batch: list[int]) -> tuple[float, dict]:
    """The mean loss over ``batch`` and its gradient (an expression is built one sample at a time)."""
    groups = [batch] if problem.kind != "expression" else [[i] for i in batch]
    total, grads = 0.0, {}
    for group in groups:
        loss, leaves = build_loss(problem, values, group)
        loss.backward()
        total += float(np.asarray(loss.data)) * len(group)
        for name, leaf in leaves.items():
            if leaf.grad is not None:
                grads[name] = grads.get(name, 0.0) + np.asarray(leaf.grad.data, dtype=float) * len(group)
    return total / len(batch), {name: g / len(batch) for name, g in grads.items()}


def _batches(problem: Problem, mode: str) -> list[list[int]]:
    n = max(problem.samples, 1)
    if mode == "stochastic":
        return [[i] for i in range(n)]
    if mode == "minibatch":
        size = problem.batch_size or n
        return [list(range(i, min(i + size, n))) for i in range(0, n, size)]
    return [list(range(n))]


def _run(problem: Problem, mode: str, epochs: int, loss_at) -> Run:
    values = {name: np.array(value, dtype=float) for name, value in initial_parameters(problem).items()}
    names = _learned(problem)
    leaves = {name: tensor(values[name].copy(), requires_grad=True) for name in names}
    optimizer = UpdateRule(problem.optimizer, momentum=problem.momentum).optimizer(list(leaves.values()), problem.lr)
    batches = _batches(problem, mode)
    label = _MODE_LABELS.get(mode, mode) if problem.is_dataset else \
        {"sgd": "gradient descent", "momentum": "momentum", "adam": "Adam"}[problem.optimizer]
    run = Run(label, [dict(values)], [loss_at(values)], updates_per_epoch=len(batches),
              full_gradient=len(batches) == 1)
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            for batch in batches:
                _, grads = _gradient(problem, values, batch)
                for name in names:
                    leaves[name].grad = tensor(np.asarray(grads[name], dtype=float))
                optimizer.step()
                values = {**values, **{name: np.array(leaves[name].data, dtype=float) for name in names}}
                loss = loss_at(values)
                run.points.append(dict(values))
                run.losses.append(loss)
                if not np.isfinite(loss):
                    run.stopped = f"the loss overflowed after {len(run.losses) - 1} updates"
                    return run
    return run


def _classifier(problem: Problem):
    """(X, y, predict) for a data set of two inputs whose targets are classes 0 and 1, else None."""
    if not problem.is_dataset or problem.x is None or problem.x.shape[1] != 2 or problem.y is None:
        return None
    y = np.asarray(problem.y, dtype=float).reshape(len(problem.x), -1)
    if y.shape[1] != 1 or not np.all(np.isin(y, (0.0, 1.0))):
        return None

    def predict(values: dict, X: np.ndarray) -> np.ndarray:
        h = tensor(np.asarray(X, dtype=float))
        if problem.kind == "neuron":
            w = np.array([values[n] for n in parameter_names(problem) if n != "b"], dtype=float)
            z = h @ tensor(w) + (values["b"] if problem.bias is not None else 0.0)
            return np.asarray(_ACTIVATIONS[problem.activation](z).data, dtype=float).reshape(-1)
        layers = len(problem.sizes) - 1
        for layer in range(1, layers + 1):
            h = h @ tensor(np.asarray(values[f"W{layer}"]).T) + tensor(np.asarray(values[f"b{layer}"]))
            h = _ACTIVATIONS[problem.activation if layer < layers else problem.output](h)
        return np.asarray(h.data, dtype=float).reshape(-1)

    return problem.x, y.reshape(-1), predict


def _work(problem: Problem, epochs: int) -> int:
    """About how many sample passes the runs take: each update is followed by the loss on all the data."""
    n = max(problem.samples, 1)
    updates = 1 if not problem.is_dataset else (n if problem.mode in ("stochastic", "compare") else
                                                 -(-n // (problem.batch_size or n)))
    parameters = sum(np.size(v) for v in initial_parameters(problem).values())
    return epochs * updates * n * max(1, parameters // 100)


def dynamics_of_problem(problem: Problem, max_work: int | None = None) -> Dynamics | None:
    """The runs and the loss function of a problem with a learning rate (None without one, or when the runs
    would take more than ``max_work`` sample passes)."""
    if problem.lr is None or not _learned(problem):
        return None
    if max_work is not None and _work(problem, max(problem.steps, PICTURE_STEPS)) > max_work:
        return None
    everyone = list(range(max(problem.samples, 1)))

    def loss_at(values):
        with np.errstate(all="ignore"):
            return _gradient(problem, values, everyone)[0]

    def gradient_at(values):
        with np.errstate(all="ignore"):
            return _gradient(problem, values, everyone)[1]

    start = {name: np.array(value, dtype=float) for name, value in initial_parameters(problem).items()}
    epochs = max(problem.steps, PICTURE_STEPS)
    dynamics = Dynamics(_learned(problem), loss_at, gradient_at, start=start,
                        per="epoch" if problem.is_dataset else "step", classifier=_classifier(problem),
                        samples=max(problem.samples, 1), steps=epochs)
    if problem.kind == "mlp" and problem.sizes[-1] > 1 and not problem.is_dataset:
        dynamics.loss_name = "E"
    elif problem.loss == "none" or problem.y is None:
        dynamics.loss_name = "f"  # no target: the function itself is minimised
    if not problem.is_dataset:
        modes = ["batch"]
    elif problem.mode == "compare":
        modes = ["batch", "stochastic"] + (["minibatch"] if problem.batch_size else [])
    else:
        modes = [problem.mode]
    dynamics.runs = [_run(problem, mode, epochs, loss_at) for mode in modes]
    return dynamics


# ----------------------------------------------------------------------------------------------------------------
# The pictures


def available_kinds(dynamics: Dynamics) -> list[str]:
    kinds = []
    if dynamics.scalar and len(dynamics.names) in (1, 2):
        kinds.append("landscape")
    kinds.append("loss")
    if dynamics.classifier is not None:
        kinds.append("boundary")
    return kinds


def _new_figure(panels: int):
    from ..plots import _new_figure as new_figure

    return new_figure((5.4 * panels, 4.2))


def _span(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = max(0.5 * (high - low), 0.15 * max(abs(low), abs(high), 1.0))
    return low - margin, high + margin


def _finite_points(run: Run, name: str) -> list[float]:
    return [float(p[name]) for p, loss in zip(run.points, run.losses) if np.isfinite(loss)]


def draw_landscape(ax, dynamics: Dynamics) -> None:
    names = dynamics.names
    if len(names) == 1:
        (name,) = names
        low, high = _span([v for run in dynamics.runs for v in _finite_points(run, name)])
        grid = np.linspace(low, high, 160)
        curve = [dynamics.loss_at({**dynamics.start, name: np.float64(w)}) for w in grid]
        ax.plot(grid, curve, color="0.35", linewidth=1.6, label=f"{dynamics.loss_name}({name})", gid="loss-curve")
        reach = 0.08 * (high - low)
        for index, run in enumerate(dynamics.runs):
            color, marker = _STYLES[index % len(_STYLES)]
            ws = _finite_points(run, name)
            ls = [loss for loss in run.losses if np.isfinite(loss)]
            ax.plot(ws, ls, color=color, marker=marker, markersize=4, linewidth=0.8, alpha=0.9,
                    label=f"{run.label}: {len(ws) - 1} updates", gid=f"points-{run.label}")
            if run.full_gradient:
                for k, (w, loss) in enumerate(zip(ws, ls)):
                    slope = float(dynamics.gradient_at({**dynamics.start, name: np.float64(w)})[name])
                    label = "tangent (slope ∂L/∂w)" if k == 0 and index == 0 else None
                    ax.plot([w - reach, w + reach], [loss - slope * reach, loss + slope * reach], color="C3",
                            linestyle="--", linewidth=0.9, alpha=0.8, label=label, gid=f"tangent-{run.label}-{k}")
        ax.set_xlim(low, high)
        ax.set_xlabel(name)
        ax.set_ylabel(dynamics.loss_name)
        ax.set_title(f"{dynamics.loss_name}({name}) and the gradient-descent points")
    else:
        first, second = names
        xs = [v for run in dynamics.runs for v in _finite_points(run, first)]
        ys = [v for run in dynamics.runs for v in _finite_points(run, second)]
        (x0, x1), (y0, y1) = _span(xs), _span(ys)
        gx, gy = np.meshgrid(np.linspace(x0, x1, 36), np.linspace(y0, y1, 36))
        z = np.array([[dynamics.loss_at({**dynamics.start, first: np.float64(a), second: np.float64(b)})
                       for a, b in zip(row_x, row_y)] for row_x, row_y in zip(gx, gy)])
        contours = ax.contour(gx, gy, z, levels=14, cmap="viridis", linewidths=0.8)
        contours.set_gid("loss-contours")
        ax.clabel(contours, fontsize=7, inline=True)
        for index, run in enumerate(dynamics.runs):
            color, marker = _STYLES[index % len(_STYLES)]
            ax.plot(_finite_points(run, first), _finite_points(run, second), color=color, marker=marker,
                    markersize=3.5, linewidth=1.0, label=f"{run.label}: {len(run.points) - 1} updates",
                    gid=f"path-{run.label}")
        ax.set_xlabel(first)
        ax.set_ylabel(second)
        ax.set_title(f"{dynamics.loss_name}({first}, {second}): each run's path")
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=8, loc="best")


def draw_loss(ax, dynamics: Dynamics) -> None:
    finite = []
    for index, run in enumerate(dynamics.runs):
        color, marker = _STYLES[index % len(_STYLES)]
        x = np.arange(len(run.losses)) / run.updates_per_epoch
        losses = np.asarray(run.losses, dtype=float)
        per_epoch = f" ({run.updates_per_epoch} update{'s' if run.updates_per_epoch > 1 else ''}/epoch)"
        label = run.label + (per_epoch if dynamics.per == "epoch" else "")
        if run.stopped:
            label += f" — stopped: {run.stopped}"
        ax.plot(x, losses, color=color, marker=marker if len(x) <= 60 else None, markersize=3, linewidth=1.2,
                label=label, gid=f"loss-{run.label}")
        finite += list(losses[np.isfinite(losses)])
    if finite and min(finite) > 0 and max(finite) / min(finite) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("epoch" if dynamics.per == "epoch" else "step")
    ax.set_ylabel(f"{dynamics.loss_name} (on all the data)" if dynamics.per == "epoch" else dynamics.loss_name)
    ax.set_title("The loss, step by step")
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=8, loc="best")


def draw_boundary(ax, dynamics: Dynamics) -> None:
    X, y, predict = dynamics.classifier
    margin = 0.3 * (X.max(axis=0) - X.min(axis=0)) + 0.5
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], 120), np.linspace(low[1], high[1], 120))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    run = dynamics.runs[0]
    last = max(i for i, loss in enumerate(run.losses) if np.isfinite(loss))
    for values, style, label in ((run.points[0], "--", "before"), (run.points[last], "-", "after")):
        with np.errstate(all="ignore"):
            p = predict(values, grid).reshape(gx.shape)
        threshold = 0.5 if np.all((p >= 0) & (p <= 1)) else 0.0
        if p.min() < threshold < p.max():
            lines = ax.contour(gx, gy, p, levels=[threshold], colors="k", linestyles=style, linewidths=1.4)
            lines.set_gid(f"boundary-{label}")
        ax.plot([], [], color="k", linestyle=style, label=f"boundary {label} ({last if label == 'after' else 0} "
                                                          f"updates of {run.label})")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=36, gid="data")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("The data and the decision boundary")
    ax.legend(fontsize=8, loc="best")


_DRAW = {"landscape": draw_landscape, "loss": draw_loss, "boundary": draw_boundary}


def _kinds(dynamics: Dynamics, kind: str) -> list[str]:
    available = available_kinds(dynamics)
    if kind == "auto":
        return available
    if kind not in available:
        why = {"landscape": "a landscape needs one or two scalar parameters",
               "boundary": "a decision boundary needs a data set of two inputs with classes 0 and 1"}
        raise ValueError(f"--plot-kind {kind}: {why.get(kind, kind)}; this problem has: {', '.join(available)}")
    return [kind]


def figure(dynamics: Dynamics, kind: str = "auto"):
    """One figure, one panel per picture (``kind``: one of PLOT_KINDS; auto draws every one that applies)."""
    kinds = _kinds(dynamics, kind)
    fig = _new_figure(len(kinds))
    for index, name in enumerate(kinds):
        _DRAW[name](fig.add_subplot(1, len(kinds), index + 1), dynamics)
    fig.tight_layout()
    return fig


def write_picture(dynamics: Dynamics, path, kind: str = "auto"):
    """Draw the pictures to ``path`` (SVG, PNG or PDF by the extension)."""
    from ..plots import _finish

    return _finish(figure(dynamics, kind), path)


def _svg(fig) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "chainrule"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # inline: no XML declaration or doctype
    # Self-contained and namespace-light: SVG 2's href instead of xlink's (no URL but the SVG namespace).
    return re.sub(r'\s+xmlns:xlink="[^"]*"', "", text).replace("xlink:href=", "href=")


def svg_pictures(dynamics: Dynamics) -> list[tuple[str, str]]:
    """(kind, inline SVG) for every picture that applies, each its own figure (for the page)."""
    pictures = []
    for kind in available_kinds(dynamics):
        fig = _new_figure(1)
        _DRAW[kind](fig.add_subplot(1, 1, 1), dynamics)
        fig.tight_layout()
        pictures.append((kind, _svg(fig)))
    return pictures


# ----------------------------------------------------------------------------------------------------------------
# On the page, beside the steps they illustrate

#: Too large to draw in passing (each picture point is a pass over the data): the page goes without pictures
#: (``--plot`` still draws them).
_PAGE_WORK_LIMIT = 20_000
_CAPTIONS = {
    "landscape": "The loss as a function of the parameters, with every point of gradient descent on it",
    "loss": "The loss after every update",
    "boundary": "The decision boundary before and after training",
}


def page_pictures(explanation) -> list[tuple[int, str, str, str]]:
    """(section index to follow, kind, caption, inline SVG) for each picture of ``explanation``'s problem.

    Empty when the explanation has no problem to run (``picture_source``), when matplotlib is not
    installed, or when the problem is too large to draw in passing. Drawn once per explanation.
    """
    cached = getattr(explanation, "_page_pictures", None)
    if cached is not None:
        return cached
    pictures: list[tuple[int, str, str, str]] = []
    source = getattr(explanation, "picture_source", None)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        source = None
    dynamics = source(max_work=_PAGE_WORK_LIMIT) if source is not None else None
    if dynamics is not None:
        kinds = [section.kind for section in explanation.sections]
        for kind, svg in svg_pictures(dynamics):
            caption = _CAPTIONS[kind] + (f" ({dynamics.steps} steps)" if dynamics.per == "step" else
                                         f" ({dynamics.steps} epochs)")
            pictures.append((_anchor(kind, kinds), kind, caption, svg))
    explanation._page_pictures = pictures
    return pictures


def _anchor(kind: str, kinds: list[str]) -> int:
    """Beside what it illustrates: the first update (or the modes), the table of steps, or the end."""
    last = len(kinds) - 1
    if kind == "loss" and "steps" in kinds:
        return kinds.index("steps")
    if kind in ("landscape", "loss"):
        for wanted in ("update", "compare", "minibatch", "stochastic", "batch"):
            if wanted in kinds:
                return kinds.index(wanted)
    return last
