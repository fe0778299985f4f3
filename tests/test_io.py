"""chainrule.save / chainrule.load: safe, atomic checkpoints."""

import collections
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def trained_model_and_optimizer():
    model = nn.MLP([2, 4, 1], seed=0)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    X = np.random.default_rng(0).normal(size=(8, 2))
    for _ in range(3):
        optimizer.zero_grad()
        (model(cr.tensor(X).float()) ** 2).mean().backward()
        optimizer.step()
    return model, optimizer


def assert_same(a, b, where="state"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, np.generic):
        assert type(a) is type(b) and a == b, where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, where


def test_round_trip_of_nested_state(tmp_path):
    model, optimizer = trained_model_and_optimizer()
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": 3,
        "lr": 0.125,
        "name": "two moons ✓",
        "nothing": None,
        "flags": [True, False],
        "mixed": [1, 2.5, "three", None, [4, (5, 6)]],
        "pair": (1, "b"),
        "numpy_scalars": [np.float32(1.5), np.int64(-7), np.float64(2.25), np.bool_(True)],
        "arrays": {"ints": np.arange(6, dtype=np.int32).reshape(2, 3), "empty": np.zeros((0, 3)),
                   "scalar": np.array(4.0), "complex": np.array([1 + 2j])},
        "tensor": cr.tensor([1.0, 2.0]),
    }
    path = cr.save(state, tmp_path / "checkpoint.npz")
    assert path == tmp_path / "checkpoint.npz"
    loaded = cr.load(path)

    # Tensors (the state_dict's values too) load back as arrays.
    expected = dict(state, model={k: v.numpy() for k, v in state["model"].items()},
                    tensor=np.array([1.0, 2.0], dtype=np.float32))
    assert_same(expected, loaded)
    assert isinstance(state["model"], collections.OrderedDict)  # saved as a dict, order kept
    assert list(loaded["model"]) == list(state["model"])

    # The loaded state restores a fresh model and optimizer.
    fresh_model = nn.MLP([2, 4, 1], seed=1)
    fresh_model.load_state_dict(loaded["model"])
    fresh_optimizer = optim.Adam(fresh_model.parameters(), lr=0.5)
    fresh_optimizer.load_state_dict(loaded["optimizer"])
    assert fresh_optimizer.param_groups[0]["lr"] == 0.01
    assert fresh_optimizer.state_dict()["state"]["0"]["step"] == optimizer.state_dict()["state"]["0"]["step"]
    for a, b in zip(model.parameters(), fresh_model.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_non_finite_floats_and_a_name_without_npz_suffix(tmp_path):
    path = tmp_path / "state.ckpt"
    cr.save({"nan": float("nan"), "inf": float("-inf")}, path)
    loaded = cr.load(path)
    assert np.isnan(loaded["nan"]) and loaded["inf"] == float("-inf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.ckpt"]


def test_missing_truncated_and_foreign_files_raise_checkpoint_error(tmp_path):
    with pytest.raises(cr.CheckpointError, match="does not exist"):
        cr.load(tmp_path / "missing.npz")

    model, optimizer = trained_model_and_optimizer()
    good = cr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "good.npz")
    content = good.read_bytes()
    for cut in (len(content) // 2, 10, 0):
        truncated = tmp_path / f"truncated{cut}.npz"
        truncated.write_bytes(content[:cut])
        with pytest.raises(cr.CheckpointError, match="truncated or foreign") as error:
            cr.load(truncated)
        assert str(truncated) in str(error.value)

    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(cr.CheckpointError, match="not a readable chainrule checkpoint"):
        cr.load(noise)

    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.ones(3))
    with pytest.raises(cr.CheckpointError, match="not a chainrule checkpoint"):
        cr.load(plain)

    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(cr.CheckpointError, match="not a chainrule checkpoint"):
        cr.load(single)

    other_format = tmp_path / "other.npz"
    manifest = np.frombuffer(b'{"format": "something-else", "state": 1}', dtype=np.uint8)
    np.savez(other_format, __chainrule_manifest__=manifest)
    with pytest.raises(cr.CheckpointError, match="unknown format"):
        cr.load(other_format)

    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(cr.CheckpointError):
        cr.load(tmp_path / "zip.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    cr.save({"version": 1, "weights": np.ones(1000)}, path)
    before = path.read_bytes()

    def failing_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        cr.save({"version": 2, "weights": np.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    monkeypatch.undo()
    assert cr.load(path)["version"] == 1

    with pytest.raises(FileNotFoundError, match="does not exist"):
        cr.save({"a": 1}, tmp_path / "no" / "such" / "dir.npz")


@pytest.mark.parametrize("value", [
    {"function": len},
    {"object": object()},
    {"array": np.array([object()])},
    {"strings": np.array(["a", "b"])},
    {1: "not a string key"},
    {"set": {1, 2}},
    {"nested": [{"deep": b"bytes"}]},
])
def test_objects_that_would_need_pickling_raise_type_error(tmp_path, value):
    path = tmp_path / "refused.npz"
    with pytest.raises(TypeError, match="save:"):
        cr.save(value, path)
    assert list(tmp_path.iterdir()) == []


def test_type_error_names_the_place(tmp_path):
    with pytest.raises(TypeError, match=r"nested\[0\]\.deep"):
        cr.save({"nested": [{"deep": object()}]}, tmp_path / "x.npz")
