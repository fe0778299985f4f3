"""``chainrule train PROBLEM``: train a small network from a TOML file or a CSV file.

PROBLEM is one of

* a training file ``NAME.toml`` (the format is below);
* a CSV file with a header row (any other suffix; ``.tsv`` is read with tabs):
  the target is the last column unless ``--target COLUMN`` names another, and
  everything else comes from the flags or the defaults;
* the bare name of a built-in training file, such as ``moons`` or ``xor``
  (``src/chainrule/examples/NAME.toml``).

Command-line flags override the file. Training shows a progress bar (when
stderr is a terminal and tqdm is installed), then prints the final loss and
accuracy on the training set and, when there is a test split, on the test set.
``--save FILE`` writes the model with ``chainrule.save``; ``--plot FILE`` draws
the loss curve and ``--boundary FILE`` the decision boundary of a classifier
with two inputs (both need matplotlib: ``pip install "chainrule[plot]"``).
``--compare-modes`` trains the same network from the same initial weights in
batch, stochastic and mini-batch mode and compares them.

``--checkpoint-every N`` also writes the ``--save`` file every N epochs, and
Ctrl-C writes the finished epochs there before exiting with status 130;
``--resume FILE`` continues such a run up to ``--epochs`` in total, exactly as
an uninterrupted run would have gone (the problem's settings must match).
Before training starts, the run is checked against ``--max-samples`` (points
of a toy data set), ``--max-memory`` (MiB, estimated) and ``--max-updates``.

Every mistake is one line, ``chainrule: error: …``, with exit status 2; a
diverging run (NaN or infinite loss) prints why and exits with status 1,
leaving any earlier ``--save`` file untouched.

The training file
-----------------

Three tables, every key optional except the data source::

    [data]
    toy = "moons"        # moons, xor, circles, spirals, seed (the seed's 3 points), digits, iris
    # csv = "points.csv" # or a CSV file, relative to this TOML file
    # target = "label"   # CSV only: the target column's name or 0-based index (default: the last)
    # delimiter = ","    # CSV only (default "," and a tab for .tsv files)
    samples = 100        # moons, circles, spirals: number of points (default 100)
    noise = 0.1          # moons, circles, spirals: Gaussian noise (default 0.1)
    # factor = 0.5       # circles: inner radius (default 0.5)
    # classes = 3        # spirals: number of arms (default 2)
    seed = 0             # data noise and the train/test shuffle (default 0)
    test_size = 0.25     # a fraction in [0, 1) or a count of test samples; 0 = no test set (default)
    standardize = false  # rescale features to mean 0, sd 1 (statistics from the training part)

    [model]
    sizes = [2, 16, 16, 1]  # layer sizes, inputs first (default [features, 16, 16, outputs])
    activation = "relu"     # between layers: relu, tanh, sigmoid, leaky_relu, identity
    output = "identity"     # after the last layer (sigmoid for loss = "bce")
    seed = 0                # initial weights (default 0)

    [training]
    loss = "hinge"       # mse, l1, huber, bce, bce_with_logits, cross_entropy, hinge
    optimizer = "sgd"    # sgd, momentum (SGD with momentum 0.9), adam, adamw, rmsprop
    lr = 0.1             # default 0.1 for sgd and momentum, 0.01 otherwise
    momentum = 0.0       # sgd, momentum, rmsprop
    weight_decay = 0.0   # L2 penalty (decoupled for adamw; default 0, 0.01 for adamw)
    mode = "batch"       # batch, stochastic or minibatch
    batch_size = 32      # minibatch mode (capped at the number of training samples)
    epochs = 100
    seed = 0             # the shuffling order
    shuffle = true       # stochastic and minibatch modes (default true; false = the seed's in-order pass)
    early_stopping = 10  # stop when the training loss has not improved for this many epochs
    min_delta = 0.0      # ... by more than this

Without ``loss``, labels 0/1 get ``bce_with_logits``, labels 0…K−1 (K ≤ 20)
``cross_entropy``, anything else ``mse``. Class labels must suit the loss:
0/1 (or −1/+1 for ``hinge``) with one output, or 0…K−1 with K outputs for
``cross_entropy``.

Flags override the file: ``--sizes 2,16,16,1 --activation relu --output
identity --loss hinge --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay
1e-4 --mode minibatch --batch-size 32 --epochs 100 --seed 0 --shuffle
--early-stopping 10 --target COLUMN --test-size 0.2 --standardize --samples
200 --noise 0.1``. ``--seed`` sets every seed (data, model and shuffling).

The saved file (``--save``) holds ``model`` (the state_dict), ``optimizer``
(its state_dict), ``problem`` (the settings above, resolved), ``standardizer``
(mean and scale, or None), ``history`` and ``metrics``::

    state = chainrule.load("model.npz")
    settings = state["problem"]["model"]
    model = nn.MLP(settings["sizes"], settings["activation"], output_activation=settings["output"])
    model.load_state_dict(state["model"])
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from . import limits
from .common import CommandError, finite_number, output_errors
from .train_data import Data, _load_data, _split
from .train_model import MODE_NAMES, Settings, _class_labels, _make_model, _make_optimizer, _settings, _targets
from .train_problem import Config, _apply_flags, _locate, _read_toml, _show, _sizes, _test_size
from .train_report import PLOT_HINT, _accuracy, _draw, _number, _problem_dict, _table, diagnosis

__all__ = ["register", "run"]

SAVE_FORMAT = "chainrule-train-1"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on a TOML training file, a CSV file or a built-in problem",
        description="Train a small network and report its loss and accuracy. PROBLEM is a TOML training file, "
                    "a CSV file (with --target) or a built-in name such as moons or xor. Flags override the file.",
        epilog="The TOML format is described in `python -m pydoc chainrule.cli.train_cmd`.",
    )
    parser.add_argument("problem", metavar="PROBLEM", help="a .toml training file, a CSV file, or moons / xor")
    model = parser.add_argument_group("model")
    model.add_argument("--sizes", type=_sizes, help="layer sizes, inputs first, e.g. 2,16,16,1")
    model.add_argument("--activation", help="activation between layers (relu, tanh, sigmoid, …)")
    model.add_argument("--output", help="activation after the last layer (identity, sigmoid, …)")
    training = parser.add_argument_group("training")
    training.add_argument("--loss", help="mse, l1, huber, bce, bce_with_logits, cross_entropy or hinge")
    training.add_argument("--optimizer", help="sgd, momentum, adam, adamw or rmsprop")
    training.add_argument("--lr", type=finite_number, help="learning rate")
    training.add_argument("--momentum", type=finite_number)
    training.add_argument("--weight-decay", type=finite_number)
    training.add_argument("--mode", help="batch, stochastic or minibatch")
    training.add_argument("--batch-size", type=int, help="mini-batch size (default 32)")
    training.add_argument("--epochs", type=int)
    training.add_argument("--seed", type=int, help="every seed: data noise and split, initial weights, shuffling")
    training.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=None,
                          help="shuffle the samples each epoch (stochastic and minibatch modes)")
    training.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                          help="stop when the loss has not improved for PATIENCE epochs")
    training.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                          help="record each training step once and replay it (chainrule.compile; default on): "
                               "the same numbers, faster")
    data = parser.add_argument_group("data")
    data.add_argument("--target", metavar="COLUMN", help="the CSV column to predict (default: the last)")
    data.add_argument("--delimiter", help="the CSV field separator (default ',')")
    data.add_argument("--test-size", type=_test_size, help="fraction (or count) of samples held out for testing")
    data.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                      help="rescale features to mean 0 and standard deviation 1")
    data.add_argument("--samples", type=int, help="number of points of a toy data set")
    data.add_argument("--noise", type=finite_number, help="noise of a toy data set")
    output = parser.add_argument_group("output")
    output.add_argument("--save", metavar="FILE", help="save the model, optimizer state and settings (.npz)")
    output.add_argument("--plot", metavar="FILE", help="draw the loss curve(s) to an image file (needs matplotlib)")
    output.add_argument("--boundary", metavar="FILE", help="draw the decision boundary of a 2-input classifier")
    output.add_argument("--compare-modes", action="store_true",
                        help="train in batch, stochastic and mini-batch mode from the same weights and compare")
    output.add_argument("--no-progress", action="store_true", help="no progress bar")
    output.add_argument("--checkpoint-every", type=_positive_count, metavar="N",
                        help="also write the --save file every N epochs, so that an interrupted run can resume")
    output.add_argument("--resume", metavar="FILE",
                        help="continue a run from a file written by --save, up to --epochs in total")
    limits.register(parser)
    parser.set_defaults(run=run)


def _positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


@dataclass


class Run:
    model: object
    optimizer: object
    history: object
    seconds: float
    train: dict
    test: dict | None


def _train(settings: Settings, data: Data, mode: str, initial_state=None, progress: bool = True,
           resumable: dict | None = None, compiled: bool = True) -> Run:
    """Train one model. ``resumable`` (for one run) holds fit's ``checkpoint``, ``checkpoint_every``,
    ``checkpoint_extra`` and ``resume`` arguments. A run that diverges ends in a CommandError that carries
    its history up to the bad number (``diverged``), for a comparison to report beside the others."""
    from .. import CheckpointError, TrainingDiverged, evaluate, fit, nn
    from ..train import EarlyStopping

    model = _make_model(settings)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    optimizer = _make_optimizer(settings, model.parameters())
    loss_fn = nn.LOSSES[settings.loss]()
    y_train, y_test = _targets(settings, data.y_train), _targets(settings, data.y_test)
    callbacks = [EarlyStopping(settings.early_stopping, settings.min_delta)] if settings.early_stopping else []
    validation = (data.X_test, y_test) if data.X_test is not None else None
    start = time.perf_counter()
    try:
        # A diverging run overflows on its way to inf; fit reports that itself, so numpy's warnings are noise.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            history = fit(model, loss_fn, optimizer, data.X_train, y_train, mode=mode,
                          batch_size=settings.batch_size if mode == "minibatch" else None, epochs=settings.epochs,
                          shuffle=settings.shuffle, seed=settings.seed, callbacks=callbacks, progress=progress,
                          validation=validation, compile=compiled, **(resumable or {}))
            seconds = time.perf_counter() - start
            train = evaluate(model, loss_fn, data.X_train, y_train)
            test = evaluate(model, loss_fn, data.X_test, y_test) if data.X_test is not None else None
    except TrainingDiverged as error:
        label = f"{mode} mode: " if initial_state is not None else ""
        failure = CommandError(f"{label}{error}", status=1)
        failure.diverged = Run(model, optimizer, error.history, time.perf_counter() - start, None, None)
        raise failure from None
    except CheckpointError as error:
        raise CommandError(str(error)) from None
    except (ValueError, TypeError) as error:
        raise CommandError(f"training failed: {error}") from None
    except OSError as error:
        raise CommandError(f"--save {error.filename}: cannot write the file ({error.strerror or error})") from None
    return Run(model, optimizer, history, seconds, train, test)


def _check_outputs(args) -> None:
    if args.compare_modes and args.save:
        raise CommandError("--save saves one model; it cannot be combined with --compare-modes")
    if args.compare_modes and args.boundary:
        raise CommandError("--boundary draws one model; it cannot be combined with --compare-modes")
    if args.compare_modes and (args.resume or args.checkpoint_every):
        raise CommandError("--resume and --checkpoint-every follow one run; they cannot be combined with "
                           "--compare-modes")
    if args.checkpoint_every and not args.save:
        raise CommandError("--checkpoint-every N writes the --save file every N epochs: give --save FILE too")
    from ..io import check_target

    for flag in ("save", "plot", "boundary"):
        path = getattr(args, flag)
        if path is not None:
            with output_errors(path, f"--{flag}"):  # refused now, not after the whole training run
                check_target(path)
    if args.plot or args.boundary:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            flag = "--plot" if args.plot else "--boundary"
            raise CommandError(f"{flag} needs matplotlib, which is not installed: {PLOT_HINT}") from None


def run(args) -> int:
    _check_outputs(args)
    limit = limits.from_args(args)
    source = _locate(args.problem)
    config = Config()
    if source.kind == "toml":
        _read_toml(source, config)
    _apply_flags(args, config)
    X, y, description, names = _load_data(config, source, limit)
    data = _split(config, X, y, description, names)
    settings = _settings(config, data)
    _check_resources(settings, data, config, limit, args.compare_modes)
    if args.boundary and data.features != 2:
        raise CommandError(f"--boundary draws classifiers with 2 inputs; this problem has {data.features}")
    if args.boundary and _class_labels(data.y_train) is None:
        raise CommandError("--boundary draws classifiers; this target is not made of class labels")
    problem = _problem_dict(config, source, settings)
    if args.resume:
        _check_resume(args.resume, problem)

    print(f"{config.title or source.name}: {data.description}")
    print(f"model: {settings.describe()}")
    if args.compare_modes:
        return _compare(args, settings, data)

    resumable = {}
    if args.save:
        standardizer = data.standardizer.state_dict() if data.standardizer is not None else None
        resumable = {"checkpoint": args.save, "checkpoint_every": args.checkpoint_every or max(settings.epochs, 1),
                     "checkpoint_extra": {"format": SAVE_FORMAT, "problem": problem, "standardizer": standardizer}}
    if args.resume:
        resumable["resume"] = args.resume
    before = _identity(args.save)
    try:
        result = _train(settings, data, settings.mode, progress=not args.no_progress, resumable=resumable,
                        compiled=args.compile)
    except CommandError as error:
        if error.status == 1 and args.save:  # diverged: say what became of the model file
            kept = (f"{args.save} holds the last checkpoint" if _identity(args.save) != before
                    else f"{args.save} was not written")
            raise CommandError(f"{error}; {kept}", status=1) from None
        raise
    except KeyboardInterrupt:
        if args.save and _identity(args.save) != before:
            raise CommandError(f"interrupted; the finished epochs are saved in {args.save} "
                               f"(continue with --resume {args.save})", status=130) from None
        raise
    history = result.history
    updates = len(history.step_loss)
    stopped = f" ({history.stop_reason})" if history.stop_reason else ""
    print(f"trained {history.epochs} epoch{'s' if history.epochs != 1 else ''}, {updates} "
          f"update{'s' if updates != 1 else ''}, in {result.seconds:.2f} s{stopped}")
    rows = [["train", _number(result.train["loss"]), _accuracy(result.train.get("accuracy"))]]
    if result.test is not None:
        rows.append(["test", _number(result.test["loss"]), _accuracy(result.test.get("accuracy"))])
    print(_table(["", "loss", "accuracy"], rows))
    said = diagnosis(settings.mode, history, settings.lr, settings.batch_size)
    if said:
        print(said)

    if args.save:
        from .. import save

        metrics = {"train": result.train, **({"test": result.test} if result.test is not None else {})}
        state = {
            **resumable["checkpoint_extra"], "model": result.model.state_dict(),
            "optimizer": result.optimizer.state_dict(), "epochs_done": history.epochs,
            "history": history.to_dict(), "metrics": metrics,
        }
        with output_errors(args.save, "--save"):
            save(state, args.save)
        print(f"saved the model to {args.save}")
    if args.plot:
        _draw("plot", lambda: history.plot(args.plot, label=f"{source.name}, {settings.mode}"), args.plot)
    if args.boundary:
        from ..plots import plot_decision_boundary

        X_all = data.X_train if data.X_test is None else np.concatenate([data.X_train, data.X_test])
        y_all = data.y_train if data.y_test is None else np.concatenate([data.y_train, data.y_test])
        threshold = 0.0 if settings.loss in ("hinge", "bce_with_logits") or np.any(y_all < 0) else 0.5
        _draw("boundary", lambda: plot_decision_boundary(result.model, X_all, y_all, args.boundary,
                                                         threshold=threshold), args.boundary)
    return 0


def _identity(path) -> tuple | None:
    """What tells whether the safe writer replaced ``path`` (it always makes a new inode)."""
    try:
        status = os.stat(path) if path else None
    except OSError:
        return None
    return None if status is None else (status.st_ino, status.st_mtime_ns, status.st_size)


def _check_resources(settings: Settings, data: Data, config: Config, limit: limits.Limits, all_modes: bool) -> None:
    samples = len(data.X_train)
    modes = MODE_NAMES if all_modes else (settings.mode,)
    rows = max({"batch": samples, "stochastic": 1, "minibatch": settings.batch_size}[mode] for mode in modes)
    per_epoch = sum(limits.updates_per_epoch(mode, samples, settings.batch_size) for mode in modes)
    limits.check_training(settings.sizes, samples, data.features, rows, per_epoch, settings.epochs,
                          config.origin("model", "sizes"), limit)


def _check_resume(path: str, problem: dict) -> None:
    """The file must be a --save file of the same problem: only the number of epochs may differ."""
    from .. import CheckpointError, load

    try:
        state = load(path)
    except CheckpointError as error:
        raise CommandError(f"--resume {error}".replace("--resume load: ", "--resume ")) from None
    if not isinstance(state, dict) or state.get("format") != SAVE_FORMAT or "epochs_done" not in state:
        raise CommandError(f"--resume {path}: not a file written by chainrule train --save (this version)")
    stored = state.get("problem")
    if not isinstance(stored, dict):
        raise CommandError(f"--resume {path}: the file does not say which problem it trained")
    differences = []
    for section in ("data", "model", "training"):
        mine, theirs = dict(problem.get(section, {})), dict(stored.get(section, {}) or {})
        if section == "training":
            mine.pop("epochs", None), theirs.pop("epochs", None)
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                differences.append(f"{section}.{key} {_show(theirs.get(key))} there, {_show(mine.get(key))} here")
    if differences:
        shown = "; ".join(differences[:4]) + ("; …" if len(differences) > 4 else "")
        raise CommandError(f"--resume {path}: it trained a different problem ({shown})")


def _compare(args, settings: Settings, data: Data) -> int:
    initial = _make_model(settings).state_dict()
    runs = {}
    for mode in MODE_NAMES:
        try:
            runs[mode] = _train(settings, data, mode, initial_state=initial, progress=not args.no_progress,
                                compiled=args.compile)
        except CommandError as error:
            if getattr(error, "diverged", None) is None:
                raise
            runs[mode] = error.diverged  # a mode that diverges is reported beside the others
    headers = ["mode", "batch size", "updates", "train loss", "train acc"]
    if data.X_test is not None:
        headers += ["test loss", "test acc"]
    headers.append("time")
    sizes = {"batch": len(data.X_train), "stochastic": 1, "minibatch": settings.batch_size}
    rows = []
    for mode, result in runs.items():
        train = result.train or {"loss": None}
        row = [mode, str(sizes[mode]), str(len(result.history.step_loss)),
               _number(train["loss"]) if result.train is not None else "diverged", _accuracy(train.get("accuracy"))]
        if result.test is not None:
            row += [_number(result.test["loss"]), _accuracy(result.test.get("accuracy"))]
        elif data.X_test is not None:
            row += ["-", "-"]
        row.append(f"{result.seconds:.2f} s")
        rows.append(row)
    limit = "up to " if settings.early_stopping else ""
    print(f"same initial weights, {limit}{settings.epochs} epochs each:")
    print(_table(headers, rows))
    for mode, result in runs.items():
        said = diagnosis(mode, result.history, settings.lr, settings.batch_size, result.history.stop_reason
                         if result.train is None else None)
        if said:
            print(said)
    if args.plot:
        from ..plots import plot_history

        # The noisiest curve first, so that the smoother ones are drawn on top of it.
        labels = {"stochastic": "stochastic", "minibatch": f"minibatch ({settings.batch_size})", "batch": "batch"}
        histories = {label: runs[mode].history for mode, label in labels.items()}
        _draw("plot", lambda: plot_history(histories, args.plot), args.plot)
    return 0
