"""cr.save/cr.load with .safetensors: the files torch's safetensors loader reads straight into torch modules."""

import os
import stat

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def mlp(dtype=np.float64):
    return nn.MLP([3, 5, 2], activation="tanh", seed=0, dtype=dtype)


def torch_mlp(dtype=torch.float64):
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).to(dtype)


X = np.random.default_rng(1).normal(size=(4, 3))


def test_a_chainrule_file_loads_into_the_torch_module(tmp_path):
    model = mlp()
    cr.save(model.state_dict(), tmp_path / "m.safetensors")
    loaded = safetensors_torch.load_file(tmp_path / "m.safetensors")
    assert sorted(loaded) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    theirs = torch_mlp()
    theirs.load_state_dict(loaded)  # strict: same names, same shapes
    np.testing.assert_allclose(theirs(torch.from_numpy(X)).detach().numpy(), model(cr.from_numpy(X)).numpy(),
                               rtol=1e-12, atol=1e-14)


def test_a_torch_file_loads_into_the_chainrule_module(tmp_path):
    theirs = torch_mlp(torch.float32)
    safetensors_torch.save_file(theirs.state_dict(), tmp_path / "t.safetensors")
    state = cr.load(tmp_path / "t.safetensors")
    assert state["0.weight"].dtype == np.float32
    model = mlp(np.float32)
    model.load_state_dict(state)
    np.testing.assert_allclose(model(cr.from_numpy(X.astype(np.float32))).numpy(),
                               theirs(torch.from_numpy(X.astype(np.float32))).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_round_trip_keeps_names_dtypes_shapes_and_values(tmp_path):
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.float64(0.25), "steps": np.array([3, 4]),
             "mask": np.array([True, False]), "t": cr.from_numpy(np.ones((2, 2), dtype=np.float16))}
    cr.save(state, tmp_path / "s.safetensors", metadata={"note": "hi"})
    back = cr.load(tmp_path / "s.safetensors")
    assert set(back) == set(state)
    for name, value in state.items():
        expected = np.asarray(value.data if isinstance(value, cr.Tensor) else value)
        assert back[name].dtype == expected.dtype and back[name].shape == expected.shape
        np.testing.assert_array_equal(back[name], expected)
    back["w"][0, 0] = 9  # writable copies
    from safetensors import safe_open

    with safe_open(tmp_path / "s.safetensors", "np") as file:
        assert file.metadata() == {"note": "hi"}


def test_npz_stays_the_format_for_everything_else(tmp_path):
    cr.save({"model": mlp().state_dict(), "epoch": 3}, tmp_path / "run.npz")
    assert cr.load(tmp_path / "run.npz")["epoch"] == 3
    with pytest.raises(TypeError, match="save whole training states to a .npz file"):
        cr.save({"model": mlp().state_dict()}, tmp_path / "run.safetensors")
    with pytest.raises(TypeError, match="state_dict\\(\\)"):
        cr.save(mlp(), tmp_path / "m.safetensors")
    assert not (tmp_path / "run.safetensors").exists()


def test_writes_go_through_the_safe_writer(tmp_path):
    target = tmp_path / "kept.safetensors"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    cr.save(mlp().state_dict(), link)
    assert link.is_symlink() and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert set(cr.load(target)) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    with pytest.raises(cr.io.UnsafeTarget):
        cr.save(mlp().state_dict(), tmp_path)


def test_damaged_or_foreign_files_raise_checkpoint_error(tmp_path):
    cr.save(mlp().state_dict(), tmp_path / "good.safetensors")
    whole = (tmp_path / "good.safetensors").read_bytes()
    cases = {"short.safetensors": whole[:5], "cut.safetensors": whole[:-7], "text.safetensors": b"hello world!" * 3,
             "json.safetensors": (7).to_bytes(8, "little") + b"[1,2,3]"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(cr.CheckpointError, match="safetensors"):
            cr.load(tmp_path / name)
    with pytest.raises(cr.CheckpointError, match="does not exist"):
        cr.load(tmp_path / "missing.safetensors")
    with pytest.raises(cr.CheckpointError, match="limit"):
        cr.load(tmp_path / "good.safetensors", max_bytes=10)


def test_bfloat16_is_refused_with_the_way_round(tmp_path):
    safetensors_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf.safetensors")
    with pytest.raises(cr.CheckpointError, match="BF16, which numpy cannot hold.*float\\(\\)"):
        cr.load(tmp_path / "bf.safetensors")
