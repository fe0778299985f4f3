"""Fault injection: SIGKILL at random moments while checkpoints are written.

Whatever the moment, the previous checkpoint still loads, and the next write removes
the temporary file the killed writer left behind.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np

import chainrule as cr
from chainrule.io.writer import temporary_files

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "PYTHONUNBUFFERED": "1"}
SAVER = """
import sys, numpy as np, chainrule as cr
print("ready", flush=True)
version = 1
while True:
    cr.save({"version": version, "w": np.full(1_000_000, float(version))}, sys.argv[1])
    version += 1
"""


def start(argv, tmp_path):
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
                            cwd=tmp_path)


def kill_at_random(process, rng, longest):
    time.sleep(rng.uniform(0.0, longest))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def test_sigkill_during_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "state.npz"
    cr.save({"version": 0, "w": np.zeros(1_000_000)}, path)
    rng = np.random.default_rng(13)
    for _ in range(3):
        process = start([sys.executable, "-c", SAVER, str(path)], tmp_path)
        assert process.stdout.readline().strip() == "ready"
        kill_at_random(process, rng, 0.4)
        state = cr.load(path)
        assert np.all(state["w"] == state["version"])  # one whole checkpoint, never a mix
    cr.save({"version": -1, "w": np.zeros(3)}, path)
    assert temporary_files(path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"]


def test_sigkill_during_train_checkpoint_every_then_resume(tmp_path):
    path = tmp_path / "run.npz"
    rng = np.random.default_rng(7)
    argv = [sys.executable, "-m", "chainrule.cli", "train", "moons", "--epochs", "1000000", "--max-updates",
            "1000000", "--save", str(path), "--checkpoint-every", "1", "--no-progress"]
    for _ in range(2):
        process = start(argv + (["--resume", str(path)] if path.exists() else []), tmp_path)
        assert "moons" in process.stdout.readline()  # the run has started
        while not path.exists():
            time.sleep(0.01)
        kill_at_random(process, rng, 0.3)
        done = cr.load(path)["epochs_done"]
        assert done >= 1
    result = subprocess.run([*argv[:6], str(done + 2), *argv[7:], "--resume", str(path)], capture_output=True,
                            text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert cr.load(path)["epochs_done"] == done + 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
