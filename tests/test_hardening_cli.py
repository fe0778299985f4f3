"""The CLI's error boundary, its limits, resuming, Ctrl-C, and the smaller cases of issue 13."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from cli_helpers import one_line, run_cli

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


@pytest.mark.parametrize("argv, fragments", [
    (["train", "xor", "--sizes", "2,100000,100000,1"], ["--sizes", "parameters", "--max-memory"]),
    (["train", "moons", "--samples", "100000000"], ["--samples", "100,000,000", "--max-samples"]),
    (["train", "xor", "--epochs", "99999999999999"], ["updates", "--max-updates"]),
    (["train", "moons", "--mode", "stochastic", "--samples", "1000000", "--epochs", "1000"], ["--max-updates"]),
])
def test_resource_limits_fail_fast_naming_the_flag(capsys, argv, fragments):
    status, _, err = run_cli(capsys, *argv, "--no-progress")
    assert status == 2
    one_line(err, *fragments)


def test_a_limit_can_be_raised(capsys):
    status, _, err = run_cli(capsys, "train", "xor", "--epochs", "3", "--max-updates", "2", "--no-progress")
    one_line(err, "--max-updates")
    status, out, _ = run_cli(capsys, "train", "xor", "--epochs", "3", "--max-updates", "3", "--no-progress")
    assert status == 0 and "trained 3 epochs" in out


def test_toml_sizes_are_limited_too(capsys, tmp_path):
    path = tmp_path / "big.toml"
    path.write_text('[data]\ntoy = "xor"\n[model]\nsizes = [2, 9999999999, 1]\n')
    status, _, err = run_cli(capsys, "train", path, "--no-progress")
    assert status == 2
    one_line(err, "model.sizes", "--max-memory")


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    from chainrule.cli import explain_cmd

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(explain_cmd, "render", broken)
    status, _, err = run_cli(capsys, "explain", "example1")
    assert status == 1
    one_line(err, "internal error", "KeyError", "--debug")
    with pytest.raises(KeyError):
        main(["explain", "example1", "--debug"])
    monkeypatch.setattr(explain_cmd, "render", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    status, _, err = run_cli(capsys, "explain", "example1")
    assert status == 1
    one_line(err, "out of memory")


def test_expression_flags_on_a_builtin_are_refused(capsys):
    for flags in (["--set", "w=3"], ["--params", "w"]):
        status, _, err = run_cli(capsys, "explain", "example1", *flags)
        assert status == 2, flags
        one_line(err, flags[0], "example1")
    # --target and --loss change a one-sample problem's target and loss (see test_teaching for their checks).
    status, out, _ = run_cli(capsys, "explain", "example1", "--target", "5", "--loss", "mse")
    assert status == 0 and "y = 5.0   (target)" in out
    status, out, _ = run_cli(capsys, "explain", "example1", "--lr", "0.2")
    assert status == 0 and out


def test_a_toml_file_with_a_byte_order_mark_trains(capsys, tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[data]\ntoy = "xor"\n[training]\nepochs = 2\n')
    status, out, err = run_cli(capsys, "train", path, "--no-progress")
    assert status == 0, err


def test_one_output_softmax_is_refused(capsys):
    status, _, err = run_cli(capsys, "train", "xor", "--output", "softmax", "--no-progress")
    assert status == 2
    one_line(err, "softmax", "one output")


def test_csv_errors_quote_only_the_offending_cell_cut_short(capsys, tmp_path):
    secret = "root:x:0:0:root:/root:/bin/bash-and-much-more"
    path = tmp_path / "secret.csv"
    path.write_text(f"{secret}\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    status, _, err = run_cli(capsys, "train", path, "--no-progress")
    assert status == 2
    one_line(err, "line 2", "column 1", "is not a number")
    assert secret not in err and "/usr/sbin/nologin" not in err and "root:x" not in err


def run_train(tmp_path, *argv):
    result = subprocess.run([sys.executable, "-m", "chainrule.cli", *map(str, argv), "--no-progress"],
                            capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    return result


def same_run(a, b):
    for key in a["model"]:
        assert np.array_equal(a["model"][key], b["model"][key]), key
    assert a["history"] == b["history"] and a["epochs_done"] == b["epochs_done"]


def test_resume_is_bit_for_bit_an_uninterrupted_run(capsys, tmp_path):
    flags = ["--mode", "minibatch", "--batch-size", "16", "--optimizer", "adam", "--shuffle", "--no-progress"]
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    assert run_cli(capsys, "train", "moons", "--epochs", "9", *flags, "--save", whole)[0] == 0
    assert run_cli(capsys, "train", "moons", "--epochs", "4", *flags, "--save", part,
                   "--checkpoint-every", "2")[0] == 0
    status, out, err = run_cli(capsys, "train", "moons", "--epochs", "9", *flags, "--resume", part, "--save", part)
    assert status == 0, err
    same_run(cr.load(whole), cr.load(part))
    assert "trained 9 epochs" in out


def test_resume_refuses_a_different_problem_and_a_foreign_file(capsys, tmp_path):
    saved = tmp_path / "run.npz"
    assert run_cli(capsys, "train", "xor", "--epochs", "2", "--save", saved, "--no-progress")[0] == 0
    status, _, err = run_cli(capsys, "train", "xor", "--epochs", "4", "--lr", "0.5", "--resume", saved,
                             "--no-progress")
    assert status == 2
    one_line(err, "--resume", "training.lr")
    cr.save({"model": {}}, tmp_path / "other.npz")
    status, _, err = run_cli(capsys, "train", "xor", "--resume", tmp_path / "other.npz", "--no-progress")
    assert status == 2
    one_line(err, "--resume", "not a file written by chainrule train")
    status, _, err = run_cli(capsys, "train", "xor", "--checkpoint-every", "2", "--no-progress")
    one_line(err, "--checkpoint-every", "--save")


def test_checkpoint_every_writes_during_the_run(capsys, tmp_path, monkeypatch):
    saved = tmp_path / "run.npz"
    seen = []
    original = cr.io.checkpoint.write_file

    def spy(path, fill):
        seen.append(path)
        return original(path, fill)

    monkeypatch.setattr(cr.io.checkpoint, "write_file", spy)
    assert run_cli(capsys, "train", "xor", "--epochs", "10", "--save", saved, "--checkpoint-every", "3",
                   "--no-progress")[0] == 0
    assert len(seen) == 3 + 1 + 1  # epochs 3, 6, 9; the last epoch; the final file with its metrics
    assert cr.load(saved)["epochs_done"] == 10


def test_ctrl_c_saves_the_finished_epochs_and_exits_130(tmp_path):
    saved = tmp_path / "run.npz"
    process = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "train", "xor", "--epochs", "10000000",
                                "--save", saved, "--no-progress"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path)
    try:
        assert "model:" in process.stdout.readline() + process.stdout.readline()
        time.sleep(1.0)  # some epochs finish meanwhile (each takes well under a millisecond)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    one_line(err, "interrupted", f"--resume {saved}")
    done = cr.load(saved)["epochs_done"]
    assert done > 0
    result = run_train(tmp_path, "train", "xor", "--epochs", done + 3, "--resume", saved, "--save", saved)
    assert result.returncode == 0, result.stderr
    assert cr.load(saved)["epochs_done"] == done + 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_a_csv_file_with_only_the_target_column_is_one_line(capsys, tmp_path):
    # found by the fuzz suite: the network was built with 0 inputs and nn.Linear refused it
    path = tmp_path / "one.csv"
    path.write_text("a\n0\n1\n")
    status, _, err = run_cli(capsys, "train", path, "--no-progress")
    assert status == 2
    one_line(err, "only the target column")


def test_a_csv_file_too_big_for_the_memory_limit_is_refused_before_reading(capsys, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,label\n" + "1,0\n" * 50_000)
    status, _, err = run_cli(capsys, "train", path, "--max-memory", "1", "--no-progress")
    assert status == 2
    one_line(err, "--max-memory")
