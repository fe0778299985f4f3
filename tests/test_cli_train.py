"""``chainrule train``, run in-process through ``chainrule.cli.main``."""

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn
from chainrule.cli import main

XOR_TOML = """\
title = "XOR for a test"

[data]
toy = "xor"

[model]
sizes = [2, 4, 1]
activation = "tanh"
seed = 0

[training]
loss = "mse"
optimizer = "adam"
lr = 0.05
epochs = 200
"""


def train(capsys, *argv):
    try:
        status = main(["train", *map(str, argv), "--no-progress"])
    except SystemExit as exit:  # argparse's own errors (bad flag values) exit, as the command does
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("chainrule: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)


@pytest.fixture
def xor_toml(tmp_path):
    path = tmp_path / "xor.toml"
    path.write_text(XOR_TOML, encoding="utf-8")
    return path


@pytest.fixture
def moons_csv(tmp_path):
    X, y = data.make_moons(80, noise=0.1, seed=0)
    path = tmp_path / "moons.csv"
    rows = ["x1,x2,label"] + [f"{float(a)!r},{float(b)!r},{int(c)}" for (a, b), c in zip(X, y)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def table_rows(out):
    """The rows of the final metrics table: {"train": [loss, accuracy], ...}."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("train", "test") and len(parts) == 3:
            rows[parts[0]] = parts[1:]
    return rows


def test_a_toml_file(capsys, xor_toml):
    status, out, err = train(capsys, xor_toml)
    assert status == 0, err
    assert "XOR for a test" in out and "MLP 2-4-1 (tanh)" in out and "200 epochs" in out
    rows = table_rows(out)
    assert rows["train"][1] == "100.0%" and "test" not in rows


def test_flags_override_the_file(capsys, xor_toml):
    status, out, err = train(capsys, xor_toml, "--sizes", "2,1", "--epochs", "5", "--optimizer", "sgd", "--lr", "0.3")
    assert status == 0, err
    assert "MLP 2-1" in out and "SGD (lr 0.3)" in out and "trained 5 epochs, 5 updates" in out


def test_the_built_in_moons_example(capsys):
    status, out, err = train(capsys, "moons")
    assert status == 0, err
    assert "MLP 2-16-16-1 (relu), hinge loss, SGD" in out and "batch mode, 100 epochs" in out
    assert table_rows(out)["train"][1] == "100.0%"


def test_the_built_in_xor_example(capsys):
    status, out, err = train(capsys, "xor")
    assert status == 0, err
    assert table_rows(out)["train"][1] == "100.0%"


def test_a_csv_file_with_flags(capsys, moons_csv):
    status, out, err = train(capsys, moons_csv, "--target", "label", "--sizes", "2,8,1", "--loss", "bce_with_logits",
                             "--optimizer", "adam", "--lr", "0.05", "--mode", "minibatch", "--batch-size", "16",
                             "--epochs", "30", "--seed", "0", "--test-size", "0.25", "--standardize")
    assert status == 0, err
    assert "80 rows, target 'label', 60 for training and 20 for testing, standardized" in out
    assert "minibatch mode (batch size 16)" in out and "trained 30 epochs, 120 updates" in out
    rows = table_rows(out)
    assert set(rows) == {"train", "test"}
    assert float(rows["train"][1].rstrip("%")) >= 90


def test_a_csv_file_defaults_to_the_last_column(capsys, moons_csv):
    status, out, err = train(capsys, moons_csv, "--epochs", "3")
    assert status == 0, err
    assert "target 'label'" in out and "MLP 2-16-16-1" in out and "bce_with_logits loss" in out


def test_compare_modes(capsys, tmp_path):
    status, out, err = train(capsys, "xor", "--compare-modes", "--epochs", "20", "--batch-size", "2")
    assert status == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in
            (["batch"], ["stochastic"], ["minibatch"])}
    assert set(rows) == {"batch", "stochastic", "minibatch"}
    # mode, batch size, updates, ...
    assert rows["batch"][1:3] == ["4", "20"]
    assert rows["stochastic"][1:3] == ["1", "80"]
    assert rows["minibatch"][1:3] == ["2", "40"]
    assert "same initial weights, 20 epochs each" in out


def test_compare_modes_start_from_the_same_weights(monkeypatch):
    from chainrule.cli import train_cmd

    initial = []
    original = train_cmd._train

    def spy(settings, data, mode, initial_state=None, progress=True, compiled=True):
        run = original(settings, data, mode, initial_state=initial_state, progress=progress, compiled=compiled)
        initial.append(initial_state)
        return run

    monkeypatch.setattr(train_cmd, "_train", spy)
    assert main(["train", "xor", "--compare-modes", "--epochs", "1", "--no-progress"]) == 0
    assert len(initial) == 3
    for state in initial[1:]:
        assert all(np.array_equal(state[k], initial[0][k]) for k in initial[0])


def test_compare_modes_with_a_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "modes.png"
    status, out, err = train(capsys, "xor", "--compare-modes", "--epochs", "5", "--plot", picture)
    assert status == 0, err
    assert picture.read_bytes()[:4] == b"\x89PNG" and f"wrote {picture}" in out


def test_loss_plot_and_boundary(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    status, out, err = train(capsys, "moons", "--epochs", "5", "--plot", tmp_path / "loss.png",
                             "--boundary", tmp_path / "boundary.png")
    assert status == 0, err
    for name in ("loss.png", "boundary.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_save_then_load(capsys, xor_toml, tmp_path):
    saved = tmp_path / "model.npz"
    status, out, err = train(capsys, xor_toml, "--save", saved)
    assert status == 0, err
    assert f"saved the model to {saved}" in out
    state = cr.load(saved)
    assert state["format"] == "chainrule-train-1"
    problem = state["problem"]
    assert problem["data"]["toy"] == "xor"
    assert problem["model"] == {"sizes": [2, 4, 1], "activation": "tanh", "output": "identity", "seed": 0}
    assert problem["training"]["loss"] == "mse" and problem["training"]["optimizer"] == "adam"
    assert state["metrics"]["train"]["accuracy"] == 1.0 and state["standardizer"] is None
    assert len(state["history"]["epoch_loss"]) == 200

    model = nn.MLP(problem["model"]["sizes"], problem["model"]["activation"])
    model.load_state_dict(state["model"])
    X, y = data.xor()
    assert cr.evaluate(model, nn.MSELoss(), X, y)["accuracy"] == 1.0
    optimizer = cr.optim.Adam(model.parameters())
    optimizer.load_state_dict(state["optimizer"])
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_save_keeps_the_standardizer(capsys, moons_csv, tmp_path):
    saved = tmp_path / "model.npz"
    status, _, err = train(capsys, moons_csv, "--epochs", "2", "--standardize", "--save", saved)
    assert status == 0, err
    state = cr.load(saved)
    X = data.load_csv(moons_csv, "label").X
    np.testing.assert_allclose(state["standardizer"]["mean"], X.mean(axis=0))
    assert state["problem"]["data"]["csv"] == str(moons_csv)


# -- mistakes: one line, status 2 (1 for a diverging run) ------------------------------------------


def test_missing_file(capsys, tmp_path):
    status, out, err = train(capsys, tmp_path / "nowhere.toml")
    assert status == 2
    assert_one_line_error(err, "nowhere.toml", "no such file")


def test_unknown_builtin_name_lists_the_examples(capsys):
    status, _, err = train(capsys, "moon")
    assert status == 2
    assert_one_line_error(err, "moon", "moons", "xor")


def test_bad_toml_key(capsys, tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(XOR_TOML.replace("lr = 0.05", "learning_rate = 0.05"), encoding="utf-8")
    status, _, err = train(capsys, path)
    assert status == 2
    assert_one_line_error(err, "typo.toml", "training.learning_rate", "lr")


def test_bad_toml_value_and_syntax(capsys, tmp_path):
    path = tmp_path / "value.toml"
    path.write_text(XOR_TOML.replace("epochs = 200", 'epochs = "many"'), encoding="utf-8")
    status, _, err = train(capsys, path)
    assert status == 2
    assert_one_line_error(err, "value.toml: training.epochs", "positive integer", "'many'")

    path.write_text("[data\ntoy = 'xor'\n", encoding="utf-8")
    status, _, err = train(capsys, path)
    assert status == 2
    assert_one_line_error(err, "value.toml", "invalid TOML", "line 1")


def test_missing_csv_named_by_a_toml_file(capsys, tmp_path):
    path = tmp_path / "csv.toml"
    path.write_text('[data]\ncsv = "absent.csv"\n', encoding="utf-8")
    status, _, err = train(capsys, path)
    assert status == 2
    assert_one_line_error(err, "csv.toml: data.csv", "absent.csv", "no such file")


def test_bad_csv_line(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,label\n1,0\n2,oops\n", encoding="utf-8")
    status, _, err = train(capsys, path)
    assert status == 2
    assert_one_line_error(err, "bad.csv", "line 3", "'oops'")


def test_unknown_loss_and_optimizer(capsys, xor_toml):
    status, _, err = train(capsys, xor_toml, "--loss", "cross_entropyy")
    assert status == 2
    assert_one_line_error(err, "--loss", "'cross_entropyy'", "hinge")
    status, _, err = train(capsys, xor_toml, "--optimizer", "adagrad")
    assert status == 2
    assert_one_line_error(err, "--optimizer", "'adagrad'", "rmsprop")


@pytest.mark.parametrize("argv, fragments", [
    (["--lr", "-0.1"], ["--lr", "> 0"]),
    (["--lr", "fast"], ["--lr", "'fast'"]),
    (["--epochs", "0"], ["--epochs", "positive integer"]),
    (["--sizes", "3,4,1"], ["--sizes", "2 features"]),
    (["--sizes", "2,x"], ["--sizes"]),
    (["--loss", "cross_entropy", "--sizes", "2,4,1"], ["cross_entropy", "2"]),
    (["--target", "label"], ["--target", "CSV"]),
    (["--test-size", "4"], ["--test-size", "4"]),
])
def test_bad_numbers_and_combinations(capsys, xor_toml, argv, fragments):
    status, _, err = train(capsys, xor_toml, *argv)
    assert status == 2
    assert_one_line_error(err, *fragments)


def test_a_diverging_run_exits_1_and_keeps_the_saved_model(capsys, xor_toml, tmp_path):
    saved = tmp_path / "model.npz"
    assert train(capsys, xor_toml, "--epochs", "3", "--save", saved)[0] == 0
    before = saved.read_bytes()
    status, out, err = train(capsys, xor_toml, "--optimizer", "sgd", "--lr", "1e6", "--sizes", "2,16,1",
                             "--activation", "relu", "--save", saved)
    assert status == 1
    # The model is float32 (the default dtype): a gradient may overflow before the loss does.
    assert_one_line_error(err, "became", "epoch", "step", "smaller learning rate")
    assert "loss became" in err or "the gradient of" in err, err
    assert saved.read_bytes() == before
    assert "saved" not in out


def test_missing_matplotlib_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    status, _, err = train(capsys, "xor", "--plot", tmp_path / "loss.png")
    assert status == 2
    assert_one_line_error(err, "--plot", 'pip install "chainrule[plot]"')
    assert not (tmp_path / "loss.png").exists()


def test_boundary_needs_two_inputs(capsys, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("x,label\n1,0\n2,1\n3,1\n", encoding="utf-8")
    status, _, err = train(capsys, path, "--boundary", tmp_path / "b.png")
    assert status == 2
    assert_one_line_error(err, "--boundary", "2 inputs")


def test_explain_problems_are_not_training_files(capsys, tmp_path):
    path = tmp_path / "explain.toml"
    path.write_text('[model]\nkind = "neuron"\n[data]\nx = 1.0\ny = 0.0\n', encoding="utf-8")
    status, _, err = train(capsys, path)
    assert status == 2
    assert_one_line_error(err, "chainrule explain")
