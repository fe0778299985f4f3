"""The training loop, with the seed's three modes of gradient descent.

* ``mode="batch"``: one update per epoch, on the gradient of the mean loss over
  all samples, which is the average of the per-sample gradients;
* ``mode="stochastic"``: one update per sample, in order (or shuffled when
  asked); each gradient is computed at the weights the previous update left;
* ``mode="minibatch"``: one update per consecutive chunk of ``batch_size``
  samples.

On the seed's example 3 one epoch gives w = 0.502740 (batch) and
w = 0.510201 (stochastic).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .autograd import no_grad
from .dtypes import get_default_dtype
from .io import CheckpointError, load, save
from .nn import Module
from .tensor import Tensor, _new

__all__ = ["fit", "evaluate", "History", "EarlyStopping", "TrainingDiverged", "MODES", "accuracy"]

MODES = ("batch", "stochastic", "minibatch")


class TrainingDiverged(RuntimeError):
    """The loss, a gradient or an updated parameter became NaN or infinite.

    ``fit`` raises it before the step that would have used the bad number, so
    the parameters keep their last finite values.
    """

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What ``fit`` saw: the loss of every step and the mean loss of every epoch, plus metrics."""

    mode: str
    step_loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    stop_reason: str | None = None

    @property
    def epochs(self) -> int:
        return len(self.epoch_loss)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "step_loss": list(self.step_loss), "epoch_loss": list(self.epoch_loss),
                "metrics": {k: list(v) for k, v in self.metrics.items()}, "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        return cls(mode=data["mode"], step_loss=[float(v) for v in data["step_loss"]],
                   epoch_loss=[float(v) for v in data["epoch_loss"]],
                   metrics={k: [float(x) for x in v] for k, v in data["metrics"].items()},
                   stop_reason=data.get("stop_reason"))

    def plot(self, path=None, *, ax=None, label: str | None = None):
        """Loss (and metric) curves with matplotlib; saved to ``path`` when given. Returns the figure."""
        from .plots import plot_history

        return plot_history({label or self.mode: self}, path=path, ax=ax)


class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``monitor`` is ``"loss"`` (the epoch's training loss) or a metric name
    such as ``"val_loss"``; ``mode="max"`` for metrics that should rise.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, monitor: str = "loss", mode: str = "min"):
        if patience < 1:
            raise ValueError(f"EarlyStopping: patience must be at least 1, got {patience}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.monitor, self.mode = patience, min_delta, monitor, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.waited = 0

    def replay(self, history: History) -> None:
        """Catch up on the epochs of a resumed run, so that it stops exactly when an uninterrupted one would."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.waited = 0
        for epoch in range(history.epochs):
            past = History(mode=history.mode, epoch_loss=history.epoch_loss[:epoch + 1],
                           metrics={k: v[:epoch + 1] for k, v in history.metrics.items()})
            self(epoch, past)

    def __call__(self, epoch: int, history: History) -> bool:
        values = history.epoch_loss if self.monitor == "loss" else history.metrics.get(self.monitor)
        if not values:
            raise ValueError(f"EarlyStopping: nothing recorded under {self.monitor!r}")
        value = values[-1]
        improved = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        if improved:
            self.best, self.waited = value, 0
            return False
        self.waited += 1
        if self.waited >= self.patience:
            history.stop_reason = f"early stopping: {self.monitor} did not improve for {self.patience} epochs"
            return True
        return False


def _model_dtype(model) -> np.dtype:
    parameters = model.parameters() if isinstance(model, Module) else []
    return parameters[0].dtype if parameters else get_default_dtype()


def _as_inputs(X, dtype) -> np.ndarray:
    array = np.asarray(X.data if isinstance(X, Tensor) else X)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"fit: inputs must be numeric, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def _takes_class_indices(loss_fn) -> bool:
    from .nn import CrossEntropyLoss
    from .nn.functional import cross_entropy

    return isinstance(loss_fn, CrossEntropyLoss) or loss_fn is cross_entropy


def _as_targets(y, dtype, loss_fn=None) -> np.ndarray:
    """Targets as the loss wants them: class indices stay integers for cross-entropy; for every
    other loss, integer (and boolean) labels are numbers like float ones, so 0/1 labels work anywhere."""
    array = np.asarray(y.data if isinstance(y, Tensor) else y)
    if array.dtype.kind in "iu" and (loss_fn is None or _takes_class_indices(loss_fn)):
        return array
    if array.dtype.kind not in "biuf":
        raise TypeError(f"fit: targets must be numeric, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def _aligned(output: Tensor, target: np.ndarray) -> np.ndarray:
    """A target of shape (N,) against outputs of shape (N, 1) is reshaped, not broadcast to (N, N)."""
    if target.dtype.kind == "f" and target.shape != output.shape and target.size == output.numel():
        return target.reshape(output.shape)
    return target


def _loss_on(model, loss_fn, X: np.ndarray, y: np.ndarray) -> Tensor:
    output = model(_new(X))
    return loss_fn(output, _new(_aligned(output, y)))


def _gradient_step(model, loss_fn, optimizer):
    """The part of a training step that ``compile=True`` records and replays: zero the gradients,
    the forward pass, the loss and its backward pass. The finiteness checks and the update stay
    outside, so that a bad number is caught before it reaches the parameters, as in eager mode."""

    def gradient_step(inputs: Tensor, targets: Tensor) -> Tensor:
        optimizer.zero_grad()
        output = model(inputs)
        if targets.dtype.kind == "f" and targets.shape != output.shape and targets.numel() == output.numel():
            targets = targets.reshape(output.shape)  # (N,) against (N, 1): reshaped, not broadcast (_aligned)
        loss = loss_fn(output, targets)
        loss.backward()
        return loss

    return gradient_step


def accuracy(output, y, loss_fn=None) -> float:
    """Fraction of correct predictions: argmax for several classes; for one output, a threshold
    at 0 for scores (hinge, logits) or at 0.5 for probabilities."""
    scores = np.asarray(output.data if isinstance(output, Tensor) else output)
    labels = np.asarray(y)
    if scores.ndim >= 2 and scores.shape[-1] >= 2:
        return float(np.mean(np.argmax(scores, axis=-1) == labels.reshape(scores.shape[:-1])))
    scores = scores.reshape(-1)
    name = type(loss_fn).__name__ if loss_fn is not None else ""
    threshold = 0.0 if name in ("HingeLoss", "BCEWithLogitsLoss") or np.any(labels < 0) else 0.5
    return float(np.mean((scores > threshold) == (labels.reshape(-1) > threshold)))


def _is_classification(y: np.ndarray) -> bool:
    return y.size > 0 and np.all(y == np.round(y)) and len(np.unique(y)) <= max(2, int(np.sqrt(y.size)) + 1)


def evaluate(model, loss_fn, X, y, *, batch_size: int = 4096) -> dict[str, float]:
    """Loss (and accuracy, for class labels) on a data set, without recording a graph."""
    dtype = _model_dtype(model)
    X, y = _as_inputs(X, dtype), _as_targets(y, dtype, loss_fn)
    losses, outputs = [], []
    was_training = getattr(model, "training", False)
    if isinstance(model, Module):
        model.eval()
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                output = model(_new(X[start:start + batch_size]))
                part = y[start:start + batch_size]
                losses.append(loss_fn(output, _new(_aligned(output, part))).item() * len(part))
                outputs.append(np.asarray(output.data))
    finally:
        if isinstance(model, Module):
            model.train(was_training)
    result = {"loss": sum(losses) / max(len(X), 1)}
    if _is_classification(y):
        result["accuracy"] = accuracy(np.concatenate(outputs), y, loss_fn)
    return result


def _batches(n: int, mode: str, batch_size: int | None, shuffle: bool, seed, epoch: int) -> list:
    """The samples of each update: slices in order (views, no copy), or index arrays when shuffled."""
    size = {"batch": n, "stochastic": 1}.get(mode, batch_size)
    if not shuffle or mode == "batch":
        return [slice(start, start + size) for start in range(0, n, size)]
    # Each epoch's order depends only on (seed, epoch), so a resumed run
    # shuffles exactly as an uninterrupted one.
    order = np.random.default_rng([0 if seed is None else seed, epoch]).permutation(n)
    return [order[start:start + size] for start in range(0, n, size)]


class _Progress:
    """A tqdm bar when tqdm is installed and stderr is a terminal; otherwise silent."""

    def __init__(self, enabled: bool, total: int, initial: int):
        self.bar = None
        if enabled and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, initial=initial, unit="epoch", leave=True)

    def update(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4g}")
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def fit(
    model,
    loss_fn: Callable,
    optimizer,
    X,
    y,
    *,
    mode: str = "batch",
    batch_size: int | None = None,
    epochs: int = 1,
    shuffle: bool = False,
    seed: int | None = None,
    callbacks: Sequence[Callable] = (),
    progress: bool = True,
    validation: tuple | None = None,
    checkpoint=None,
    resume=False,
    scheduler=None,
    metrics: bool = True,
    checkpoint_every: int = 1,
    checkpoint_extra: dict | None = None,
    compile: bool = False,  # noqa: A002  (the name users look for; chainrule.compile is the function)
) -> History:
    """Train ``model`` on (X, y) and return its ``History``.

    ``checkpoint`` names a file written (atomically) every ``checkpoint_every``
    epochs and after the last one, with the model, the optimizer, the scheduler
    and the history (and the entries of ``checkpoint_extra``); Ctrl-C writes the
    last completed epoch there before the ``KeyboardInterrupt`` goes on. With
    ``resume=True`` training continues from ``checkpoint`` (or, given a path,
    from that file) up to ``epochs`` in total, exactly as if it had never
    stopped. With ``metrics`` (the default) each epoch also records the training
    accuracy (for class labels) and, given ``validation=(X, y)``, the validation
    loss and accuracy.

    A NaN or infinite loss, gradient or updated parameter raises
    ``TrainingDiverged`` naming the epoch, the step (and the parameter), before
    the bad number reaches the parameters and before any checkpoint write.

    ``compile=True`` records the gradient computation of a step once per batch shape and replays
    it (``chainrule.compile``): the same numbers, faster. A model the tape cannot replay (one that
    draws random numbers, say) trains eagerly after one warning.

    >>> history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, mode="stochastic")
    """
    if mode not in MODES:
        raise ValueError(f"fit: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "minibatch":
        if batch_size is None or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"fit: minibatch mode needs a positive integer batch_size, got {batch_size!r}")
    elif batch_size is not None and mode == "batch":
        raise ValueError("fit: batch_size applies to mode='minibatch' only (batch mode uses every sample)")
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, np.integer)) \
            or checkpoint_every < 1:
        raise ValueError(f"fit: checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    dtype = _model_dtype(model)
    X, y = _as_inputs(X, dtype), _as_targets(y, dtype, loss_fn)
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0:
        raise ValueError("fit: no training samples")
    if validation is not None:
        X_val, y_val = _as_inputs(validation[0], dtype), _as_targets(validation[1], dtype, loss_fn)

    history = History(mode=mode)
    start_epoch = 0
    if resume is not False and resume is not None:
        source = checkpoint if resume is True else resume
        if source is None:
            raise ValueError("fit: resume=True needs checkpoint= naming the file to resume from")
        if Path(source).exists():
            start_epoch = _restore(source, model, optimizer, scheduler, history)
            for callback in callbacks:  # callbacks with memory (early stopping) catch up on the past epochs
                if hasattr(callback, "replay"):
                    callback.replay(history)

    guard = _Guard(model, optimizer, history, checkpoint)
    compiled_step = None
    if compile:
        from .compile import compile as compile_step

        compiled_step = compile_step(_gradient_step(model, loss_fn, optimizer))
    classification = metrics and _is_classification(y)
    bar = _Progress(progress, epochs, start_epoch)
    progress_state, saved_epochs = None, start_epoch
    if isinstance(model, Module):
        model.train()
    try:
        for epoch in range(start_epoch, epochs):
            step_losses, sizes = [], []
            for step, index in enumerate(_batches(len(X), mode, batch_size, shuffle, seed, epoch)):
                inputs, targets = X[index], y[index]
                if compiled_step is not None:
                    value = compiled_step(_new(inputs), _new(targets)).item()
                else:
                    optimizer.zero_grad()
                    loss = _loss_on(model, loss_fn, inputs, targets)
                    value = loss.item()
                if not math.isfinite(value):
                    guard.diverged(f"loss became {value}", epoch, step, "try a smaller learning rate, or look "
                                   "for NaN or infinite values in the data")
                if compiled_step is None:
                    loss.backward()
                guard.check_gradients(epoch, step)
                guard.step(epoch, step)
                history.step_loss.append(value)
                step_losses.append(value)
                sizes.append(len(inputs))
            history.epoch_loss.append(float(np.average(step_losses, weights=sizes)))
            if classification:
                history.metrics.setdefault("accuracy", []).append(evaluate(model, loss_fn, X, y)["accuracy"])
            if metrics and validation is not None:
                for name, value in evaluate(model, loss_fn, X_val, y_val).items():
                    history.metrics.setdefault(f"val_{name}", []).append(value)
            if scheduler is not None:
                scheduler.step()
            if checkpoint is not None:
                progress_state = _state(model, optimizer, scheduler, history, epoch + 1, checkpoint_extra)
                if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs:
                    save(progress_state, checkpoint)
                    saved_epochs = epoch + 1
            bar.update(history.epoch_loss[-1])
            if any(callback(epoch, history) for callback in callbacks):
                if checkpoint is not None and saved_epochs < epoch + 1:
                    save(_state(model, optimizer, scheduler, history, epoch + 1, checkpoint_extra), checkpoint)
                    saved_epochs = epoch + 1
                break
    except KeyboardInterrupt:
        # Keep what the finished epochs learned: the next run resumes from there.
        if progress_state is not None and progress_state["epochs_done"] > saved_epochs:
            save(progress_state, checkpoint)
        raise
    finally:
        bar.close()
    return history


class _Guard:
    """Keeps non-finite numbers out of the parameters: checks each gradient before the optimizer step,
    and each parameter after it, putting back the values from before the step when one went bad.

    It runs at every step, so the common case is made cheap: an array's largest and smallest
    elements are finite only when all of them are (a NaN carries through both), so two reductions
    per array prove all is well, without the temporary array np.isfinite makes (and without the
    overflow a sum could meet). The values before the step are copied into buffers kept from step
    to step.
    """

    def __init__(self, model, optimizer, history: History, checkpoint):
        names = {id(p): n for n, p in model.named_parameters()} if isinstance(model, Module) else {}
        self.parameters = [p for group in optimizer.param_groups for p in group["params"]]
        self.names = [names.get(id(p)) or getattr(p, "name", None) or f"parameter {i}"
                      for i, p in enumerate(self.parameters)]
        self.optimizer, self.history, self.checkpoint = optimizer, history, checkpoint
        self.buffers: list = [None] * len(self.parameters)

    def diverged(self, what: str, epoch: int, step: int, advice: str):
        where = f"epoch {epoch + 1}, step {step + 1}"
        self.history.stop_reason = f"{what} at {where}"
        kept = f"; the last good checkpoint {str(self.checkpoint)!r} was kept" if self.checkpoint else ""
        raise TrainingDiverged(f"training stopped: the {what} at {where}; the parameters keep their last finite "
                               f"values ({advice}){kept}", self.history)

    def check_gradients(self, epoch: int, step: int) -> None:
        grads = [None if p.grad is None else p.grad.data for p in self.parameters]
        bad = _first_non_finite([g for g in grads if g is not None])
        if bad is not None:
            name = next(n for n, g in zip(self.names, grads) if g is not None and not np.all(np.isfinite(g)))
            self.diverged(f"gradient of {name} became {bad}", epoch, step,
                          # In float32 a large step overflows a gradient before the loss, so both causes are named.
                          "try a smaller learning rate; or the loss is finite but not differentiable here, "
                          "e.g. sqrt or log at 0")

    def step(self, epoch: int, step: int) -> None:
        before = self._snapshot()
        self.optimizer.step()
        if _first_non_finite([p.data for p in self.parameters]) is not None:
            name = next(n for n, p in zip(self.names, self.parameters) if not np.all(np.isfinite(p.data)))
            for parameter, value in zip(self.parameters, before):
                _put_back(parameter, value)
            self.diverged(f"update made {name} overflow", epoch, step, "try a smaller learning rate")

    def _snapshot(self) -> list:
        values = []
        for i, parameter in enumerate(self.parameters):
            data = parameter.data
            if isinstance(data, np.ndarray):
                buffer = self.buffers[i]
                if buffer is None or buffer.shape != data.shape or buffer.dtype != data.dtype:
                    buffer = self.buffers[i] = np.empty_like(data)
                np.copyto(buffer, data)
                values.append(buffer)
            else:
                values.append(data)  # a numpy scalar: immutable, the optimizer rebinds it
        return values


_largest, _smallest = np.maximum.reduce, np.minimum.reduce


def _first_non_finite(arrays: list):
    """None when every element of every array is finite, else the first NaN or infinity found."""
    for array in arrays:
        if isinstance(array, np.ndarray):
            if array.size and not (math.isfinite(_largest(array, None)) and math.isfinite(_smallest(array, None))):
                return array[~np.isfinite(array)].flat[0]
        elif not math.isfinite(array):
            return array
    return None


def _put_back(parameter, value) -> None:
    if isinstance(parameter.data, np.ndarray) and isinstance(value, np.ndarray) and parameter.data.flags.writeable \
            and parameter.data.shape == value.shape:
        np.copyto(parameter.data, value)
    else:
        parameter.data = value.copy() if isinstance(value, np.ndarray) else value


def _state(model, optimizer, scheduler, history: History, epochs_done: int, extra: dict | None) -> dict:
    state = {**(extra or {}), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "epochs_done": epochs_done, "history": history.to_dict()}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    return state


def _restore(path, model, optimizer, scheduler, history: History) -> int:
    state = load(path)
    needed = ("model", "optimizer", "epochs_done", "history")
    missing = [key for key in needed if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(f"fit: {str(path)!r} cannot be resumed from: it lacks {', '.join(missing)} "
                              "(fit(checkpoint=...) and chainrule train --save write resumable files)")
    done = state["epochs_done"]
    if isinstance(done, bool) or not isinstance(done, (int, np.integer)) or done < 0:
        raise CheckpointError(f"fit: {str(path)!r} has an invalid epochs_done {done!r}")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    try:
        restored = History.from_dict(state["history"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CheckpointError(f"fit: {str(path)!r} holds a malformed training history") from None
    history.step_loss, history.epoch_loss, history.metrics = restored.step_loss, restored.epoch_loss, restored.metrics
    return int(done)
