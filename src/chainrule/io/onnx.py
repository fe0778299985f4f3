"""ONNX export: ``export(model, example_input, "model.onnx")`` for models built from chainrule's layers.

Each layer is one entry of a table that writes its ONNX nodes (``Linear`` is a
MatMul by the transposed weight and an Add of the bias; ``ReLU`` is Relu; a
``Sequential`` chains its children), so a new layer is one more entry. The
example input fixes the input's dtype and shape, and the model is run on it
once to learn the output's; with ``dynamic_batch=True`` the first axis of both
is left free, so the file runs on any batch size. The file is checked with
``onnx.checker`` before it is written (atomically, through the safe writer).

Run it with onnxruntime::

    session = onnxruntime.InferenceSession("model.onnx")
    session.run(None, {"input": X.astype(np.float32)})[0]

Needs ``pip install "chainrule[onnx]"``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import nn as L
from ..autograd import no_grad
from ..nn.conv import _conv_padding, _pair
from ..nn.module import Module
from ..tensor import Tensor, _new
from .writer import write_bytes

__all__ = ["export", "register", "OPSET", "ExportError"]

#: The ONNX operator set written: 17 has LayerNormalization and is run by every current onnxruntime.
OPSET = 17
_IR_VERSION = 8  # the oldest IR version that carries opset 17, so older runtimes read the file too


class ExportError(TypeError):
    """The model holds a module that has no ONNX form here."""


class Graph:
    """The nodes and weights of the graph being written, with fresh names for every intermediate value."""

    def __init__(self, onnx, dtype: np.dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint: str, array) -> str:
        """A weight (an initializer) in the model's dtype; returns its name."""
        name = self.name(hint)
        array = np.asarray(array.data if isinstance(array, Tensor) else array)
        if array.dtype.kind == "f":
            array = array.astype(self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, **attributes) -> str:
        """One node with a single output; returns that output's name."""
        output = self.name(hint or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=f"{op}_{self.count}", **attributes))
        return output


_EMITTERS: dict[type, Callable] = {}


def register(layer: type, emit: Callable) -> None:
    """Teach ``export`` a layer: ``emit(module, graph, input_name)`` adds its nodes and returns the output name."""
    _EMITTERS[layer] = emit


def _linear(module, graph: Graph, x: str) -> str:
    out = graph.node("MatMul", [x, graph.constant("weight_t", np.asarray(module.weight.data).T)])
    if module.bias is not None:
        out = graph.node("Add", [out, graph.constant("bias", module.bias)])
    return out


def _sequential(module, graph: Graph, x: str) -> str:
    for child in module:
        x = _emit(child, graph, x)
    return x


register(L.Linear, _linear)
register(L.Sequential, _sequential)
register(L.Sigmoid, lambda m, g, x: g.node("Sigmoid", [x]))
register(L.Tanh, lambda m, g, x: g.node("Tanh", [x]))
register(L.ReLU, lambda m, g, x: g.node("Relu", [x]))
register(L.Identity, lambda m, g, x: g.node("Identity", [x]))
register(L.LeakyReLU, lambda m, g, x: g.node("LeakyRelu", [x], alpha=float(m.negative_slope)))
register(L.ELU, lambda m, g, x: g.node("Elu", [x], alpha=float(m.alpha)))
register(L.SiLU, lambda m, g, x: g.node("Mul", [x, g.node("Sigmoid", [x])]))
register(L.Dropout, lambda m, g, x: g.node("Identity", [x]))  # the exported model is the eval-mode one


def _axis(module, op: str) -> int:
    if module.dim is None:
        raise ExportError(f"onnx.export: {type(module).__name__}(dim=None) picks its axis from the input's rank; "
                          "give it dim= explicitly to export it")
    return int(module.dim)


register(L.Softmax, lambda m, g, x: g.node("Softmax", [x], axis=_axis(m, "Softmax")))
register(L.LogSoftmax, lambda m, g, x: g.node("LogSoftmax", [x], axis=_axis(m, "LogSoftmax")))


def _gelu(module, graph: Graph, x: str) -> str:
    """0.5·x·(1 + erf(x/√2)), or PyTorch's tanh approximation; opset 17 has no Gelu operator."""
    if module.approximate == "tanh":
        cube = graph.node("Mul", [graph.node("Mul", [x, x]), x])
        inner = graph.node("Add", [x, graph.node("Mul", [cube, graph.constant("c", 0.044715)])])
        curve = graph.node("Tanh", [graph.node("Mul", [inner, graph.constant("c", np.sqrt(2 / np.pi))])])
    else:
        curve = graph.node("Erf", [graph.node("Mul", [x, graph.constant("c", 1 / np.sqrt(2))])])
    half = graph.node("Mul", [x, graph.constant("half", 0.5)])
    return graph.node("Mul", [half, graph.node("Add", [curve, graph.constant("one", 1.0)])])


register(L.GELU, _gelu)


def _flatten(module, graph: Graph, x: str) -> str:
    if module.end_dim != -1 or module.start_dim < 0:
        raise ExportError(f"onnx.export: Flatten({module.start_dim}, {module.end_dim}) is exported for a "
                          "non-negative start_dim and end_dim=-1 only")
    # Reshape's 0 keeps an input dimension, so the batch axis stays free.
    shape = graph.constant("shape", np.array([0] * module.start_dim + [-1], dtype=np.int64))
    return graph.node("Reshape", [x, shape])


register(L.Flatten, _flatten)


def _conv(module, graph: Graph, x: str) -> str:
    (top, bottom), (left, right) = _conv_padding(module.padding, module.kernel_size, module.stride,
                                                 module.dilation, "Conv2d")
    inputs = [x, graph.constant("weight", module.weight)]
    if module.bias is not None:
        inputs.append(graph.constant("bias", module.bias))
    return graph.node("Conv", inputs, kernel_shape=list(module.kernel_size), strides=list(module.stride),
                      pads=[top, left, bottom, right], dilations=list(module.dilation), group=module.groups)


register(L.Conv2d, _conv)


def _pool_settings(module, owner: str) -> dict:
    kernel = _pair(module.kernel_size, "kernel_size", owner)
    stride = kernel if module.stride is None else _pair(module.stride, "stride", owner)
    top, left = _pair(module.padding, "padding", owner, minimum=0)
    return {"kernel_shape": list(kernel), "strides": list(stride), "pads": [top, left, top, left],
            "ceil_mode": int(bool(module.ceil_mode))}


def _max_pool(module, graph: Graph, x: str) -> str:
    return graph.node("MaxPool", [x], dilations=list(_pair(module.dilation, "dilation", "MaxPool2d")),
                      **_pool_settings(module, "MaxPool2d"))


def _avg_pool(module, graph: Graph, x: str) -> str:
    if module.divisor_override is not None:
        raise ExportError("onnx.export: AvgPool2d(divisor_override=...) has no ONNX form")
    return graph.node("AveragePool", [x], count_include_pad=int(bool(module.count_include_pad)),
                      **_pool_settings(module, "AvgPool2d"))


register(L.MaxPool2d, _max_pool)
register(L.AvgPool2d, _avg_pool)


def _batch_norm(module, graph: Graph, x: str) -> str:
    if not module.track_running_stats:
        raise ExportError("onnx.export: BatchNorm1d(track_running_stats=False) normalises by each batch's own "
                          "statistics, even in eval mode; only running statistics are exported")
    features = module.num_features
    scale = module.weight if module.affine else np.ones(features)
    shift = module.bias if module.affine else np.zeros(features)
    return graph.node("BatchNormalization", [x, graph.constant("scale", scale), graph.constant("shift", shift),
                                             graph.constant("mean", module.running_mean),
                                             graph.constant("var", module.running_var)], epsilon=module.eps)


def _layer_norm(module, graph: Graph, x: str) -> str:
    weight = module.weight if module.elementwise_affine else np.ones(module.normalized_shape)
    inputs = [x, graph.constant("scale", weight)]
    if getattr(module, "bias", None) is not None:
        inputs.append(graph.constant("shift", module.bias))
    return graph.node("LayerNormalization", inputs, axis=-len(module.normalized_shape), epsilon=module.eps)


register(L.BatchNorm1d, _batch_norm)
register(L.LayerNorm, _layer_norm)
register(L.Embedding, lambda m, g, x: g.node("Gather", [g.constant("weight", m.weight), x], axis=0))


def _emit(module, graph: Graph, x: str) -> str:
    for cls in type(module).__mro__:
        if cls in _EMITTERS:
            return _EMITTERS[cls](module, graph, x)
    raise ExportError(f"onnx.export: no ONNX form for {type(module).__name__}; build the model from Sequential and "
                      f"chainrule's layers ({', '.join(sorted(c.__name__ for c in _EMITTERS))}), or add one with "
                      "chainrule.onnx.register")


def _library():
    try:
        import onnx
        import onnx.numpy_helper
    except ImportError:
        raise ImportError('ONNX export needs the onnx package: pip install "chainrule[onnx]"') from None
    return onnx


def _model_dtype(model: Module, example: np.ndarray) -> np.dtype:
    for parameter in model.parameters():
        if parameter.dtype.kind == "f":
            return np.dtype(parameter.dtype)
    return example.dtype if example.dtype.kind == "f" else np.dtype(np.float32)


def export(model: Module, example_input, path, dynamic_batch: bool = True, *, input_name: str = "input",
           output_name: str = "output", opset: int = OPSET) -> Path:
    """Write ``model`` as an ONNX file at ``path``; returns the path.

    ``example_input`` (an array or tensor) sets the input's shape and dtype;
    the model runs on it once, in eval mode, to learn the output's shape.
    ``dynamic_batch`` leaves the first axis free (named ``batch``).

    >>> export(nn.MLP([2, 16, 1]), np.zeros((1, 2), np.float32), "mlp.onnx")     # doctest: +SKIP
    """
    onnx = _library()
    if not isinstance(model, Module):
        raise ExportError(f"onnx.export: expected a chainrule Module, got {type(model).__name__}")
    if opset < OPSET:
        raise ValueError(f"onnx.export: opset {opset} is older than the {OPSET} this exporter writes")
    example = np.asarray(example_input.data if isinstance(example_input, Tensor) else example_input)
    dtype = _model_dtype(model, example)
    if example.dtype.kind == "f":
        example = example.astype(dtype, copy=False)
    if dynamic_batch and example.ndim == 0:
        raise ValueError("onnx.export: dynamic_batch needs an example input with a first (batch) axis")
    graph = Graph(onnx, dtype)
    output = _emit(model, graph, input_name)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            result = np.asarray(model(_new(example)).data)
    finally:
        model.train(was_training)
    graph.nodes.append(onnx.helper.make_node("Identity", [output], [output_name], name="output"))

    def value_info(name: str, array: np.ndarray):
        shape = list(array.shape)
        if dynamic_batch and shape:
            shape[0] = "batch"
        element = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
        return onnx.helper.make_tensor_value_info(name, element, shape)

    proto = onnx.helper.make_model(
        onnx.helper.make_graph(graph.nodes, type(model).__name__, [value_info(input_name, example)],
                               [value_info(output_name, result)], initializer=graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", opset)], ir_version=_IR_VERSION, producer_name="chainrule")
    onnx.checker.check_model(proto, full_check=True)
    path = Path(path)
    write_bytes(path, proto.SerializeToString())
    return path
