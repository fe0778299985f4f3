"""chainrule.fit: the seed's three modes, real training runs, early stopping, divergence, resuming, plots."""

import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def sample_gradient(w, x, y):
    """d/dw (σ(w·x) − y)², by hand."""
    p = sigmoid(w * x)
    return 2 * (p - y) * p * (1 - p) * x


def train_example_3(mode, batch_size=None, dtype=None):
    X, y = data.seed_points()
    neuron = nn.Neuron(1, bias=False, weights=[0.5], dtype=dtype)
    history = cr.fit(neuron, nn.MSELoss(), optim.SGD(neuron.parameters(), lr=0.1), X, y, mode=mode,
                     batch_size=batch_size, epochs=1, progress=False)
    return neuron.w.item(), history


# -- the seed's example 3 --------------------------------------------------------------------------


def test_example_3_batch_mode_one_epoch():
    w, history = train_example_3("batch")
    assert w == pytest.approx(0.502740, abs=1e-6)
    assert len(history.step_loss) == 1 and history.epochs == 1


def test_example_3_stochastic_mode_one_epoch():
    w, history = train_example_3("stochastic")
    assert w == pytest.approx(0.510201, abs=1e-6)
    assert len(history.step_loss) == 3


def test_example_3_minibatch_mode_one_epoch_by_hand():
    points = [(1.0, 0.0), (2.0, 1.0), (3.0, 1.0)]
    # Batches of two: {1, 2} averaged at w = 0.5, then {3} alone at the weight that left.
    w = 0.5 - 0.1 * (sample_gradient(0.5, *points[0]) + sample_gradient(0.5, *points[1])) / 2
    w = w - 0.1 * sample_gradient(w, *points[2])
    got, history = train_example_3("minibatch", batch_size=2, dtype=cr.float64)
    assert got == pytest.approx(w, abs=1e-12)
    assert train_example_3("minibatch", batch_size=2)[0] == pytest.approx(w, abs=1e-6)  # float32, the default
    assert len(history.step_loss) == 2
    # A batch as large as the data set is batch mode; batches of one are stochastic mode.
    assert train_example_3("minibatch", batch_size=3)[0] == pytest.approx(0.502740, abs=1e-6)
    assert train_example_3("minibatch", batch_size=1)[0] == pytest.approx(0.510201, abs=1e-6)


def test_fit_checks_its_arguments():
    X, y = data.seed_points()
    neuron = nn.Neuron(1, bias=False, weights=[0.5])
    opt = optim.SGD(neuron.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="mode"):
        cr.fit(neuron, nn.MSELoss(), opt, X, y, mode="online", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        cr.fit(neuron, nn.MSELoss(), opt, X, y, mode="minibatch", progress=False)
    with pytest.raises(ValueError, match="3 samples but y has 2"):
        cr.fit(neuron, nn.MSELoss(), opt, X, y[:2], progress=False)


# -- real training runs ----------------------------------------------------------------------------


def test_two_moons_reaches_full_training_accuracy_like_micrograds_demo():
    X, y = data.make_moons(100, noise=0.1, seed=1)
    model = nn.MLP([2, 16, 16, 1], activation="relu", seed=3)
    # micrograd's demo: 100 full-batch steps, lr = 1.0 − 0.9·k/100 and the L2 penalty 1e-4·Σw²
    # (whose gradient is 2e-4·w, SGD's weight decay).
    optimizer = optim.SGD(model.parameters(), lr=1.0, weight_decay=2e-4)

    def schedule(epoch, history):
        optimizer.param_groups[0]["lr"] = 1.0 - 0.9 * (epoch + 1) / 100

    history = cr.fit(model, nn.HingeLoss(), optimizer, X, y, mode="batch", epochs=100, callbacks=[schedule],
                     progress=False)
    assert len(history.step_loss) == 100
    assert history.epoch_loss[-1] < history.epoch_loss[0] / 10
    assert max(history.metrics["accuracy"]) == 1.0
    assert cr.evaluate(model, nn.HingeLoss(), X, y)["accuracy"] == 1.0


def test_xor_is_solved():
    X, y = data.xor()
    model = nn.MLP([2, 4, 1], activation="tanh", seed=0)
    history = cr.fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.05), X, y, epochs=200,
                     progress=False)
    assert history.metrics["accuracy"][-1] == 1.0
    assert cr.evaluate(model, nn.MSELoss(), X, y) == {"loss": pytest.approx(0, abs=1e-3), "accuracy": 1.0}


def test_digits_held_out_accuracy():
    pytest.importorskip("sklearn")
    table = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(table.X, table.y, test_size=0.25, seed=0)
    scaler = data.Standardizer().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = nn.MLP([64, 32, 10], activation="relu", seed=0)
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), X_train, y_train,
                     mode="minibatch", batch_size=64, epochs=10, shuffle=True, seed=0, progress=False,
                     validation=(X_test, y_test))
    assert cr.evaluate(model, nn.CrossEntropyLoss(), X_test, y_test)["accuracy"] >= 0.95
    assert history.metrics["val_accuracy"][-1] >= 0.95 and len(history.metrics["val_loss"]) == 10


# -- early stopping and divergence -----------------------------------------------------------------


def test_early_stopping_stops_when_the_loss_stalls():
    X, y = data.xor()
    model = nn.MLP([2, 4, 1], seed=0)
    # lr = 0: the loss never improves after the first epoch.
    history = cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), X, y, epochs=50,
                     callbacks=[cr.EarlyStopping(patience=3)], progress=False)
    assert history.epochs == 4
    assert "early stopping" in history.stop_reason

    stopper = cr.EarlyStopping(patience=2, monitor="val_accuracy", mode="max")
    history = cr.History(mode="batch", metrics={"val_accuracy": []})
    stops = []
    for epoch, value in enumerate([0.5, 0.6, 0.6, 0.55, 0.7]):
        history.metrics["val_accuracy"].append(value)
        stops.append(stopper(epoch, history))
    assert stops == [False, False, False, True, False]
    with pytest.raises(ValueError, match="patience"):
        cr.EarlyStopping(patience=0)


def test_nan_loss_raises_naming_epoch_and_step_and_keeps_the_last_checkpoint(tmp_path):
    X, y = data.make_moons(40, noise=0.1, seed=0)
    model = nn.MLP([2, 8, 1], seed=0, dtype=cr.float64)  # float64: the loss overflows before any gradient
    checkpoint = tmp_path / "run.npz"
    written = []

    def remember(epoch, history):  # called after each epoch's checkpoint write
        written.append(checkpoint.read_bytes())

    with np.errstate(all="ignore"), pytest.raises(cr.TrainingDiverged) as error:
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e4), X, y, mode="minibatch",
               batch_size=10, epochs=200, checkpoint=checkpoint, callbacks=[remember], progress=False)
    message = str(error.value)
    match = re.search(r"epoch (\d+), step (\d+)", message)
    assert match, message
    assert int(match.group(1)) == len(written) + 1 and 1 <= int(match.group(2)) <= 4
    assert "smaller learning rate" in message and "run.npz" in message
    assert len(written) >= 1
    assert checkpoint.read_bytes() == written[-1]
    assert error.value.history.stop_reason.startswith("loss became")
    assert all(np.all(np.isfinite(p.numpy())) for p in model.parameters())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.npz"]


# -- resuming --------------------------------------------------------------------------------------


def _resumable_run(seed):
    model = nn.MLP([2, 8, 8, 1], seed=seed)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    scheduler = optim.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def test_resume_continues_bit_for_bit(tmp_path):
    X, y = data.make_moons(60, noise=0.2, seed=0)
    settings = dict(mode="minibatch", batch_size=16, shuffle=True, seed=7, progress=False)
    loss = nn.BCEWithLogitsLoss()

    model, optimizer, scheduler = _resumable_run(0)
    whole = cr.fit(model, loss, optimizer, X, y, epochs=6, scheduler=scheduler, **settings)

    checkpoint = tmp_path / "resume.npz"
    first, opt_first, sched_first = _resumable_run(0)
    cr.fit(first, loss, opt_first, X, y, epochs=3, scheduler=sched_first, checkpoint=checkpoint, **settings)
    # A fresh process would build new objects (other initial weights even) and resume from the file.
    resumed, opt_resumed, sched_resumed = _resumable_run(123)
    history = cr.fit(resumed, loss, opt_resumed, X, y, epochs=6, scheduler=sched_resumed, checkpoint=checkpoint,
                     resume=True, **settings)

    for (name, a), (_, b) in zip(model.named_parameters(), resumed.named_parameters()):
        assert np.array_equal(a.numpy(), b.numpy()), name
    assert history.step_loss == whole.step_loss and history.epoch_loss == whole.epoch_loss
    assert history.metrics == whole.metrics
    assert opt_resumed.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert cr.load(checkpoint)["epochs_done"] == 6


def test_resume_without_a_checkpoint_file_starts_fresh(tmp_path):
    X, y = data.xor()
    model = nn.MLP([2, 4, 1], seed=0)
    history = cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2,
                     checkpoint=tmp_path / "new.npz", resume=True, progress=False)
    assert history.epochs == 2 and (tmp_path / "new.npz").exists()
    with pytest.raises(ValueError, match="checkpoint"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, resume=True, progress=False)


# -- pictures --------------------------------------------------------------------------------------


def test_history_plot_and_decision_boundary_write_png_files(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.plots import plot_decision_boundary, plot_history

    X, y = data.make_moons(50, noise=0.1, seed=0)
    model = nn.MLP([2, 8, 1], seed=0)
    history = cr.fit(model, nn.HingeLoss(), optim.SGD(model.parameters(), lr=0.5), X, y, epochs=5, progress=False)
    history.plot(tmp_path / "loss.png")
    plot_decision_boundary(model, X, y, tmp_path / "boundary.png", resolution=50)
    other = cr.fit(model, nn.HingeLoss(), optim.SGD(model.parameters(), lr=0.5), X, y, mode="stochastic", epochs=2,
                   progress=False)
    plot_history({"batch": history, "stochastic": other}, tmp_path / "both.png")
    for name in ("loss.png", "boundary.png", "both.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
