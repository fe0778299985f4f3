"""fit with a DataLoader, batch_size implying mini-batch mode, the short History repr, and notebook progress bars."""

import sys
import types

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule import train as training
from chainrule.data import DataLoader, TensorDataset


def neuron():
    return nn.Neuron(1, bias=False, weights=np.array([0.5]), dtype=np.float64)


def seed_loader(batch_size, **options):
    X, y = data.seed_points()
    return DataLoader(TensorDataset(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)),
                      batch_size=batch_size, **options)


def train_on(source, **options):
    model = neuron()
    history = cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), *source, progress=False, **options)
    return model.w.item(), history


def seed_arrays():
    X, y = data.seed_points()
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)


def test_a_loader_in_order_trains_as_minibatch_mode_does():
    w, history = train_on([seed_loader(2)], epochs=3)
    expected, _ = train_on(seed_arrays(), mode="minibatch", batch_size=2, epochs=3)
    assert w == expected and history.mode == "minibatch" and len(history.step_loss) == 6


def test_the_seeds_numbers_through_a_loader():
    w, history = train_on([seed_loader(1)])
    assert w == pytest.approx(0.510201, abs=1e-6) and history.mode == "stochastic"
    w, history = train_on([seed_loader(3)])
    assert w == pytest.approx(0.502740, abs=1e-6) and history.mode == "batch"


def test_batch_size_alone_means_minibatch_mode():
    w, history = train_on(seed_arrays(), batch_size=2)
    assert history.mode == "minibatch"
    assert w == train_on(seed_arrays(), mode="minibatch", batch_size=2)[0]
    assert train_on(seed_arrays())[1].mode == "batch"
    with pytest.raises(ValueError, match="applies to mode='minibatch' only"):
        train_on(seed_arrays(), mode="batch", batch_size=2)


def regression(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1


def test_a_shuffling_loader_trains_as_the_same_loop_by_hand():
    X, y = regression()
    model = nn.Linear(3, 1, seed=0, dtype=np.float64)
    reference = nn.Linear(3, 1, seed=0, dtype=np.float64)
    cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05),
           DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, generator=3), epochs=3, progress=False)
    sgd = optim.SGD(reference.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, generator=3)
    for _ in range(3):
        for inputs, targets in loader:
            sgd.zero_grad()
            nn.MSELoss()(reference(inputs), targets).backward()
            sgd.step()
    np.testing.assert_array_equal(model.weight.numpy(), reference.weight.numpy())
    np.testing.assert_array_equal(model.bias.numpy(), reference.bias.numpy())


def test_resuming_with_a_shuffling_loader_continues_its_order(tmp_path):
    X, y = regression()

    def run(epochs, resume=False, model=None):
        model = model or nn.Linear(3, 1, seed=0, dtype=np.float64)
        loader = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, generator=11)
        history = cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), loader, epochs=epochs,
                         checkpoint=tmp_path / "run.npz", resume=resume, progress=False)
        return model, history

    whole, _ = run(4)
    (tmp_path / "run.npz").unlink()
    run(2)
    resumed, history = run(4, resume=True)
    assert history.epochs == 4
    np.testing.assert_array_equal(resumed.weight.numpy(), whole.weight.numpy())


def test_a_loader_records_accuracy_and_validation():
    X, y = data.make_moons(80, noise=0.1, seed=0)
    model = nn.MLP([2, 8, 2], seed=0, dtype=np.float64)
    train_part, val_part = data.random_split(TensorDataset(X, y), [0.75, 0.25], generator=0)
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                     DataLoader(train_part, batch_size=16, shuffle=True, generator=0), epochs=5, progress=False,
                     validation=DataLoader(val_part, batch_size=100))
    assert set(history.metrics) == {"accuracy", "val_loss", "val_accuracy"}
    assert len(history.metrics["accuracy"]) == 5 and history.metrics["accuracy"][-1] > 0.6
    checked = cr.evaluate(model, nn.CrossEntropyLoss(), DataLoader(val_part, batch_size=7))
    assert checked["loss"] == pytest.approx(history.metrics["val_loss"][-1])


def test_loader_misuse_is_one_clear_error():
    loader = seed_loader(2)
    with pytest.raises(ValueError, match="do not pass y"):
        train_on([loader, np.zeros(3)])
    with pytest.raises(ValueError, match="do not pass batch_size"):
        train_on([loader], batch_size=2)
    with pytest.raises(ValueError, match="minibatch mode, not 'batch'"):
        train_on([loader], mode="batch")
    with pytest.raises(TypeError, match="must be \\(inputs, targets\\)"):
        train_on([DataLoader(TensorDataset(np.zeros((3, 1))), batch_size=2)])


def test_history_repr_is_short_with_the_key_numbers():
    X, y = data.make_moons(60, noise=0.1, seed=0)
    model = nn.MLP([2, 8, 2], seed=0, dtype=np.float64)
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y, batch_size=4,
                     epochs=30, progress=False)
    text = repr(history)
    assert len(history.step_loss) == 450 and len(text) < 160 and "\n" not in text
    assert text.startswith("History(minibatch, 30 epochs, 450 steps, loss ")
    assert f"{history.epoch_loss[0]:.4g} → {history.epoch_loss[-1]:.4g}" in text
    assert f"accuracy {history.metrics['accuracy'][-1]:.4g}" in text
    history.stop_reason = "early stopping: loss did not improve for 3 epochs"
    assert repr(history).splitlines()[1] == "  stopped: early stopping: loss did not improve for 3 epochs"


def test_progress_bar_shows_in_a_notebook(monkeypatch):
    pytest.importorskip("tqdm")

    class ZMQInteractiveShell:
        pass

    class ColabShell(ZMQInteractiveShell):
        pass

    fake = types.ModuleType("IPython")
    monkeypatch.setitem(sys.modules, "IPython", fake)
    fake.get_ipython = lambda: None
    assert not training._in_notebook()
    fake.get_ipython = lambda: ColabShell()
    assert training._in_notebook()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    bar = training._Progress(True, total=3, initial=0)
    assert bar.bar is not None and type(bar.bar).__module__.startswith("tqdm")
    bar.update(0.5)
    bar.close()
    assert training._Progress(False, total=3, initial=0).bar is None
