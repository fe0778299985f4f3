"""examples/torch_ddp.py runs, and its two-process DDP training equals one chainrule process on the same batches."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

pytest.importorskip("torch")
pytest.importorskip("safetensors")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "torch_ddp.py"


def load_example():
    import importlib.util

    spec = importlib.util.spec_from_file_location("torch_ddp_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ddp_on_two_processes_equals_a_single_process_run(tmp_path):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLE.parents[1] / "src"),
                                                                os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path), "--chainrule-epochs", "2",
                           "--ddp-epochs", "3", "--batch-per-rank", "16", "--lr", "0.2"],
                          capture_output=True, text=True, timeout=240, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "back in chainrule after 3 DDP epochs on 2 processes" in done.stdout

    example = load_example()
    reference = example.make_model()
    reference.load_state_dict(cr.load(tmp_path / "chainrule.safetensors"))
    X, y = example.make_data()
    # Two ranks of 16 samples, gradients averaged: one process on batches of 32, in the same order.
    cr.fit(reference, nn.CrossEntropyLoss(), optim.SGD(reference.parameters(), lr=0.2), X, y, batch_size=32,
           epochs=3, progress=False)
    ddp = cr.load(tmp_path / "ddp.safetensors")
    started = cr.load(tmp_path / "chainrule.safetensors")
    assert set(ddp) == set(reference.state_dict())
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(ddp[name], np.asarray(getattr(value, "data", value)), rtol=1e-10, atol=1e-12)
    assert not np.allclose(ddp["0.weight"], started["0.weight"])  # DDP did train
