"""The way out for every layer: to_torch/from_torch, safetensors and ONNX for CNNs, norms, embeddings and the rest."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch")
F64 = np.float64
rng = np.random.default_rng(0)
IMAGES = rng.normal(size=(6, 2, 9, 9))
LABELS = rng.integers(0, 4, size=6)


def cnn(dtype=F64, dropout=0.0):
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding="valid", dilation=1, groups=2, bias=False, dtype=dtype),
        nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(6, 8, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype),
        nn.GELU(), nn.Dropout(dropout), nn.SiLU(), nn.ELU(0.7), nn.LayerNorm(8, dtype=dtype), nn.GELU("tanh"),
        nn.Linear(8, 4, dtype=dtype), nn.LogSoftmax(dim=1))


def ours_step(model, steps=2, images=IMAGES):
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        sgd.zero_grad()
        nn.NLLLoss()(model(cr.from_numpy(images)), cr.from_numpy(LABELS)).backward()
        sgd.step()
    return {k: np.asarray(v.data) for k, v in model.state_dict().items()}


def theirs_step(model, steps=2):
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        sgd.zero_grad()
        torch.nn.functional.nll_loss(model(torch.from_numpy(IMAGES)), torch.from_numpy(LABELS)).backward()
        sgd.step()
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def test_every_layer_crosses_to_torch_with_the_same_forward_and_training():
    model = cnn()
    converted = cr.to_torch(model)
    assert list(converted.state_dict()) == list(model.state_dict())
    assert "7.running_mean" in converted.state_dict() and "7.num_batches_tracked" in converted.state_dict()
    ours, theirs = ours_step(model), theirs_step(converted)  # training mode: batch statistics, running stats move
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-12, err_msg=name)
    assert ours["7.num_batches_tracked"] == 2
    model.eval(), converted.eval()
    np.testing.assert_allclose(model(cr.from_numpy(IMAGES)).numpy(),
                               converted(torch.from_numpy(IMAGES)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_every_layer_comes_back_from_torch():
    torch.manual_seed(0)
    theirs = cr.to_torch(cnn()).eval()
    theirs_step(theirs.train())
    theirs.eval()
    ours = cr.from_torch(theirs)
    assert not ours.training and [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    np.testing.assert_allclose(ours(cr.from_numpy(IMAGES)).numpy(), theirs(torch.from_numpy(IMAGES)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_embeddings_and_containers():
    embedding = nn.Embedding(10, 3, padding_idx=0, dtype=F64)
    converted = cr.to_torch(embedding)
    assert converted.padding_idx == 0
    indices = np.array([[1, 0, 9]])
    np.testing.assert_array_equal(converted(torch.from_numpy(indices)).detach().numpy(),
                                  embedding(cr.tensor(indices)).numpy())
    layers = cr.to_torch(nn.ModuleList([nn.Linear(2, 3), nn.Tanh()]))
    assert isinstance(layers, torch.nn.ModuleList) and len(layers) == 2
    heads = cr.from_torch(torch.nn.ModuleDict({"a": torch.nn.Linear(2, 2), "b": torch.nn.ReLU()}))
    assert isinstance(heads, nn.ModuleDict) and list(heads.state_dict()) == ["a.weight", "a.bias"]


def test_a_cnn_state_dict_with_buffers_goes_through_safetensors(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = cnn()
    ours_step(model, steps=1)
    cr.save(model.state_dict(), tmp_path / "cnn.safetensors")
    theirs = cr.to_torch(cnn())
    theirs.load_state_dict(safetensors_torch.load_file(tmp_path / "cnn.safetensors"))
    model.eval(), theirs.eval()
    np.testing.assert_allclose(theirs(torch.from_numpy(IMAGES)).detach().numpy(), model(cr.from_numpy(IMAGES)).numpy(),
                               rtol=1e-10, atol=1e-12)


def test_every_layer_exports_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = cnn(np.float32, dropout=0.5)
    x = IMAGES.astype(np.float32)
    ours_step(model, steps=1, images=x)  # running statistics that are not the initial ones
    model.eval()
    cr.onnx.export(model, x[:1], tmp_path / "cnn.onnx")
    session = ort.InferenceSession(str(tmp_path / "cnn.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model(cr.from_numpy(x)).numpy(), rtol=1e-5,
                               atol=1e-5)
    embedding = nn.Sequential(nn.Embedding(10, 3, dtype=np.float32), nn.Flatten())
    cr.onnx.export(embedding, np.array([[1, 2]]), tmp_path / "emb.onnx")
    session = ort.InferenceSession(str(tmp_path / "emb.onnx"), providers=["CPUExecutionProvider"])
    indices = np.array([[1, 0], [9, 3], [4, 4]])
    np.testing.assert_array_equal(session.run(None, {"input": indices})[0], embedding(cr.tensor(indices)).numpy())
    with pytest.raises(cr.onnx.ExportError, match="dim= explicitly"):
        cr.onnx.export(nn.Softmax(), np.zeros((1, 2), np.float32), tmp_path / "s.onnx")
