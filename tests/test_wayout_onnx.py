"""cr.onnx.export: files onnx's checker accepts and onnxruntime runs, with chainrule's outputs."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def every_layer(dtype):
    return nn.Sequential(nn.Linear(3, 6, seed=0, dtype=dtype), nn.LeakyReLU(0.1), nn.Linear(6, 5, seed=1, dtype=dtype),
                         nn.Tanh(), nn.Sigmoid(), nn.ReLU(), nn.Identity(), nn.Linear(5, 4, bias=False, seed=2,
                                                                                      dtype=dtype), nn.Softmax(-1))


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-6), (np.float64, 1e-9)])
def test_onnxruntime_gives_chainrules_outputs_for_any_batch(tmp_path, dtype, tolerance):
    model = every_layer(dtype)
    rng = np.random.default_rng(0)
    cr.onnx.export(model, rng.normal(size=(2, 3)).astype(dtype), tmp_path / "m.onnx")
    for batch in (1, 2, 17):
        x = rng.normal(size=(batch, 3)).astype(dtype)
        got = run(tmp_path / "m.onnx", x)
        assert got.dtype == dtype and got.shape == (batch, 4)
        np.testing.assert_allclose(got, model(cr.from_numpy(x)).numpy(), rtol=tolerance, atol=tolerance)


def test_the_mlp_shape_and_a_fixed_batch(tmp_path):
    import onnx

    model = nn.MLP([2, 8, 1], activation="relu", output_activation="sigmoid", seed=0, dtype=np.float32)
    cr.onnx.export(model, np.zeros((4, 2), np.float32), tmp_path / "fixed.onnx", dynamic_batch=False)
    proto = onnx.load(tmp_path / "fixed.onnx")
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [4, 2] and proto.opset_import[0].version == cr.onnx.OPSET
    x = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32)
    np.testing.assert_allclose(run(tmp_path / "fixed.onnx", x), model(cr.from_numpy(x)).numpy(), rtol=1e-6)
    cr.onnx.export(model, np.zeros((4, 2), np.float32), tmp_path / "dyn.onnx")
    assert onnx.load(tmp_path / "dyn.onnx").graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_export_keeps_the_training_mode_and_refuses_unknown_layers(tmp_path):
    class Net(nn.Module):
        def forward(self, x):
            return x

    model = nn.Sequential(nn.Linear(2, 2), Net())
    with pytest.raises(cr.onnx.ExportError, match="no ONNX form for Net"):
        cr.onnx.export(model, np.zeros((1, 2)), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    model = nn.MLP([2, 3, 1], seed=0)
    cr.onnx.export(model, np.zeros((1, 2)), tmp_path / "m.onnx")
    assert model.training
