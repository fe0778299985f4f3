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

from ..autograd import no_grad
from ..nn import layers as L
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
register(L.Softmax, lambda m, g, x: g.node("Softmax", [x], axis=int(m.dim)))


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
