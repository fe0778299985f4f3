"""Training sessions of the playground: ``chainrule.fit`` on a toy data set, in a thread, watched live.

One session is one call to ``fit``: its epoch callback records the losses,
takes a snapshot of the weights and of the decision boundary, waits while the
session is paused (letting one epoch through per "step") and stops it when its
client asked to, or went away (no request about it for
``limits.SESSION_IDLE_S`` seconds; a closed event stream stops it at once).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import nn, no_grad, optim, tensor
from ..train import TrainingDiverged, fit
from . import fields, limits
from .datasets import DATASETS, make_dataset
from .errors import RequestError

__all__ = ["TrainingSettings", "Session", "Sessions", "settings_from"]

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
LOSSES = ("bce_with_logits", "mse")
OPTIMIZERS = ("sgd", "momentum", "adam")
MODES = ("batch", "stochastic", "minibatch")
TRAIN_FIELDS = ("dataset", "sizes", "activation", "loss", "optimizer", "lr", "steps", "mode", "batch_size", "seed",
                "samples", "noise", "paused")


@dataclass
class TrainingSettings:
    dataset: str = "moons"
    sizes: list[int] = field(default_factory=lambda: [2, 8, 8, 1])
    activation: str = "tanh"
    loss: str = "bce_with_logits"
    optimizer: str = "sgd"
    lr: float = 0.1
    steps: int = 500
    mode: str = "batch"
    batch_size: int | None = None
    seed: int = 0
    samples: int = 200
    noise: float = 0.1
    paused: bool = False


def settings_from(body: dict) -> TrainingSettings:
    """Validated settings, or a one-line ``RequestError`` naming the field."""
    fields.refuse_unknown(body, TRAIN_FIELDS)
    defaults = TrainingSettings()
    sizes = body.get("sizes", defaults.sizes)
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        raise RequestError("sizes: expected a list of layer sizes, such as [2, 8, 8, 1]")
    if sizes[0] != 2 or sizes[-1] != 1:
        raise RequestError(f"sizes: the playground's points have 2 inputs and one output, so sizes go from 2 to 1, "
                           f"got {sizes}")
    hidden = sizes[1:-1]
    if len(hidden) > limits.MAX_LAYERS or not all(1 <= s <= limits.MAX_LAYER_SIZE for s in hidden):
        raise RequestError(f"sizes: at most {limits.MAX_LAYERS} hidden layers of 1 to {limits.MAX_LAYER_SIZE} "
                           f"neurons, got {sizes}")
    settings = TrainingSettings(
        dataset=fields.choice(body, "dataset", tuple(DATASETS), defaults.dataset),
        sizes=sizes,
        activation=fields.choice(body, "activation", ACTIVATIONS, defaults.activation),
        loss=fields.choice(body, "loss", LOSSES, defaults.loss),
        optimizer=fields.choice(body, "optimizer", OPTIMIZERS, defaults.optimizer),
        lr=fields.number(body, "lr", positive=True, default=defaults.lr),
        steps=fields.integer(body, "steps", 1, limits.MAX_TRAIN_STEPS, defaults.steps),
        mode=fields.choice(body, "mode", MODES, defaults.mode),
        batch_size=fields.integer(body, "batch_size", 1, limits.MAX_SAMPLES),
        seed=fields.integer(body, "seed", 0, 2**31 - 1, defaults.seed),
        samples=fields.integer(body, "samples", 8, limits.MAX_SAMPLES, defaults.samples),
        noise=fields.number(body, "noise", default=defaults.noise),
        paused=bool(body.get("paused", False)),
    )
    if settings.lr > 10:
        raise RequestError(f"lr: at most 10, got {settings.lr}")
    if not 0 <= settings.noise <= 1:
        raise RequestError(f"noise: expected a number from 0 to 1, got {settings.noise}")
    if settings.mode == "minibatch" and settings.batch_size is None:
        raise RequestError("batch_size: minibatch mode needs a batch size")
    if settings.mode != "minibatch":
        settings.batch_size = None
    return settings


class _Stopped(Exception):
    pass


class Session:
    """One training run; every public method may be called from any thread."""

    def __init__(self, settings: TrainingSettings, client: str):
        self.id = secrets.token_urlsafe(12)
        self.settings = settings
        self.client = client
        self.X, self.y, self.X_val, self.y_val = make_dataset(settings.dataset, settings.samples, settings.noise,
                                                              settings.seed)
        # float64, as the data sets and the explainer's derivations of a sample are
        self.model = nn.MLP(settings.sizes, settings.activation, seed=settings.seed, dtype=np.float64)
        self.loss_fn = nn.BCEWithLogitsLoss() if settings.loss == "bce_with_logits" else nn.MSELoss()
        self.optimizer = _optimizer(settings, self.model.parameters())
        self.extent = _extent(np.concatenate([self.X, self.X_val]))
        x0, x1, y0, y1 = self.extent
        xs, ys = np.meshgrid(np.linspace(x0, x1, limits.BOUNDARY_GRID), np.linspace(y1, y0, limits.BOUNDARY_GRID))
        self._grid = tensor(np.column_stack([xs.ravel(), ys.ravel()]))
        self._drawn_at = -math.inf
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self.step = 0
        self.losses: list[float] = []
        self.val_losses: list[float] = []
        self.accuracy: list[float] = []
        self.val_accuracy: list[float] = []
        self.error: str | None = None
        self.done = False
        self.stop_requested = False
        self.allowed = 0 if settings.paused else math.inf  # epochs the session may run before it waits
        self.last_seen = time.monotonic()
        self._snapshot()
        self.thread = threading.Thread(target=self._run, name=f"chainrule-train-{self.id}", daemon=True)

    # -- control, from the server ------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def control(self, action: str) -> None:
        with self._wake:
            if action == "pause":
                self.allowed = self.step
            elif action == "resume":
                self.allowed = math.inf
            elif action == "step":
                self.allowed = self.step + 1 if self.allowed != math.inf else math.inf
            self._wake.notify_all()
        self.touch()

    def stop(self) -> None:
        with self._wake:
            self.stop_requested = True
            self._wake.notify_all()

    @property
    def paused(self) -> bool:
        return not self.done and self.allowed <= self.step

    def state(self, since: int = 0) -> dict:
        """What a client sees: the losses from epoch ``since`` on, the boundary and the weights' step."""
        with self._lock:
            return {
                "id": self.id, "step": self.step, "steps": self.settings.steps, "done": self.done,
                "paused": self.paused, "error": self.error, "since": since,
                "losses": self.losses[since:], "val_losses": self.val_losses[since:],
                "accuracy": self.accuracy[since:], "val_accuracy": self.val_accuracy[since:],
                "boundary": self.boundary,
            }

    def data(self) -> dict:
        return {"train": {"x": self.X.round(4).tolist(), "y": self.y.astype(int).tolist()},
                "validation": {"x": self.X_val.round(4).tolist(), "y": self.y_val.astype(int).tolist()},
                "extent": self.extent, "settings": self.settings.__dict__}

    def weights(self) -> tuple[int, list[tuple[np.ndarray, np.ndarray]]]:
        """The step and a copy of every layer's weights and biases at that step."""
        with self._lock:
            return self.step, [(w.copy(), b.copy()) for w, b in self._weights]

    # -- the training thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._wait_for_turn()
            fit(self.model, self.loss_fn, self.optimizer, self.X, self.y, mode=self.settings.mode,
                batch_size=self.settings.batch_size, epochs=self.settings.steps, shuffle=True,
                seed=self.settings.seed, callbacks=[self._after_epoch], progress=False,
                validation=(self.X_val, self.y_val))
        except _Stopped:
            pass
        except TrainingDiverged as error:
            self.error = " ".join(str(error).split())
        except Exception as error:  # one line for the client, never a traceback
            self.error = f"training failed: {type(error).__name__}: {' '.join(str(error).split())}"
        finally:
            with self._wake:
                self.done = True
                self._wake.notify_all()

    def _after_epoch(self, epoch: int, history) -> bool:
        began = time.monotonic()
        with self._lock:
            self.step = epoch + 1
            self.losses.append(_rounded(history.epoch_loss[-1]))
            metrics = history.metrics
            for name, out in (("val_loss", self.val_losses), ("accuracy", self.accuracy),
                              ("val_accuracy", self.val_accuracy)):
                if metrics.get(name):
                    out.append(_rounded(metrics[name][-1]))
        self._snapshot()
        self._wait_for_turn()
        time.sleep(max(0.0, 1 / limits.MAX_STEPS_PER_SECOND - (time.monotonic() - began)))
        return False

    def _wait_for_turn(self) -> None:
        with self._wake:
            while True:
                if self.stop_requested or time.monotonic() - self.last_seen > limits.SESSION_IDLE_S:
                    raise _Stopped
                if self.step < self.allowed:
                    return
                self._wake.wait(timeout=1.0)

    def _snapshot(self) -> None:
        """Copy the weights and draw the boundary, in the training thread, between epochs."""
        layers = [m for m in self.model if isinstance(m, nn.Linear)]
        weights = [(layer.weight.numpy().copy(), layer.bias.numpy().copy()) for layer in layers]
        # The boundary is redrawn at most ten times a second (as often as the stream sends it), and at the end.
        now = time.monotonic()
        last = self.step >= self.settings.steps or self.allowed <= self.step
        boundary = self._boundary() if last or now - self._drawn_at >= 0.1 else None
        with self._lock:
            self._weights = weights
            if boundary is not None:
                self.boundary, self._drawn_at = boundary, now

    def _boundary(self) -> dict:
        """The model's output on a grid over the data: P(class 1) for logits, the output itself for MSE."""
        n = limits.BOUNDARY_GRID
        with no_grad():
            out = self.model(self._grid).numpy().reshape(n, n)
        if self.settings.loss == "bce_with_logits":
            out = 1 / (1 + np.exp(-np.clip(out, -50, 50)))
        return {"size": n, "extent": self.extent, "values": np.clip(out, 0, 1).round(3).tolist()}


def _rounded(value) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def _optimizer(settings: TrainingSettings, parameters):
    if settings.optimizer == "adam":
        return optim.Adam(parameters, lr=settings.lr)
    return optim.SGD(parameters, lr=settings.lr, momentum=0.9 if settings.optimizer == "momentum" else 0.0)


def _extent(X: np.ndarray) -> list[float]:
    low, high = X.min(axis=0), X.max(axis=0)
    pad = (high - low) * 0.1 + 0.1
    return [round(float(v), 3) for v in (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])]


class Sessions:
    """The running and recently finished sessions, with the per-client and overall limits."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def start(self, settings: TrainingSettings, client: str) -> Session:
        with self._lock:
            self._forget_finished()
            running = [s for s in self._sessions.values() if not s.done]
            if len(running) >= limits.MAX_SESSIONS:
                raise RequestError(f"the server runs {limits.MAX_SESSIONS} training sessions already; try again "
                                   "when one has finished", 429)
            if sum(s.client == client for s in running) >= limits.MAX_SESSIONS_PER_CLIENT:
                raise RequestError(f"you run {limits.MAX_SESSIONS_PER_CLIENT} training sessions already; stop one "
                                   "first", 429)
            session = Session(settings, client)
            self._sessions[session.id] = session
        session.start()
        return session

    def get(self, session_id: str, client: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None or session.client != client:  # another client's session is not there for you
            raise RequestError("no such training session (it may have finished long ago)", 404)
        session.touch()
        return session

    def remove(self, session_id: str, client: str) -> None:
        session = self.get(session_id, client)
        session.stop()
        with self._lock:
            self._sessions.pop(session.id, None)

    def stop_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.stop()
        for session in sessions:
            session.thread.join(timeout=5)

    def running(self) -> int:
        return sum(not s.done for s in list(self._sessions.values()))

    def _forget_finished(self) -> None:
        finished = [s for s in self._sessions.values() if s.done]
        for session in finished[:max(0, len(finished) - limits.MAX_FINISHED_SESSIONS)]:
            del self._sessions[session.id]
