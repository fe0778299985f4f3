"""dtypes, promotion and devices, checked against PyTorch itself."""

import itertools
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch")

DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]


def ours_and_theirs(kind: str, dtype: str):
    """The same operand in both libraries: a dimensioned tensor, a 0-d tensor, or a Python number."""
    if kind == "number":
        value = {"bool": True, "int64": 3, "float64": 2.5}[dtype]
        return value, value
    values = np.array([1, 2, 3]) if kind == "tensor" else np.array(2)
    array = values.astype(dtype)
    return cr.tensor(array), torch.tensor(array)


OPERANDS = [("tensor", d) for d in DTYPES] + [("0-d", d) for d in DTYPES] + \
           [("number", d) for d in ("bool", "int64", "float64")]
OPERATIONS = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
              "maximum": lambda a, b: a.maximum(b) if isinstance(a, cr.Tensor) else torch.maximum(a, b)}


def torch_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_promotion_table_matches_pytorch(op):
    """Every pair of operand kinds and dtypes gives PyTorch's result dtype (and its values)."""
    checked = 0
    for left, right in itertools.product(OPERANDS, repeat=2):
        if left[0] == "number" or (op == "maximum" and "number" in (left[0], right[0])):
            continue  # a Python number on the left is the reflected case, tested below
        (a, ta), (b, tb) = ours_and_theirs(*left), ours_and_theirs(*right)
        try:
            expected = OPERATIONS[op](ta, tb)
        except RuntimeError:
            continue  # a combination PyTorch refuses
        result = OPERATIONS[op](a, b)
        assert result.dtype.name == torch_name(expected.dtype), (op, left, right)
        np.testing.assert_allclose(result.numpy().astype(float), expected.double().numpy(), rtol=1e-3,
                                   err_msg=f"{op} {left} {right}")
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("number", [True, 2, 2.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_number_on_the_left_promotes_as_on_the_right(number, dtype):
    array = np.array([1, 2, 3]).astype(dtype)
    for op in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / b):
        expected = op(number, torch.tensor(array))
        assert op(number, cr.tensor(array)).dtype.name == torch_name(expected.dtype), (number, dtype)


def test_promotion_examples_from_pytorchs_rules():
    f32, f64 = cr.ones(3), cr.ones(3, dtype=cr.float64)
    assert (f32 + f64).dtype == cr.float64  # same category: the wider dtype
    assert (f32 * cr.tensor(2.0, dtype=cr.float64)).dtype == cr.float32  # a dimensioned tensor beats a 0-d one
    assert (cr.tensor([1, 2]) * 2.5).dtype == cr.float32  # int tensor × Python float: the default float
    assert (cr.tensor([1, 2]) / cr.tensor([2, 2])).dtype == cr.float32  # true division of ints
    assert (cr.tensor([True, False]) + 1).dtype == cr.int64
    assert cr.concatenate([f32, f64]).dtype == cr.float64
    assert cr.where(cr.tensor([True, False, True]), cr.tensor([1, 2, 3]), 0.5).dtype == cr.float32
    assert cr.promote_types(cr.int64, cr.float32) == cr.float32  # numpy would say float64


def test_a_cast_for_promotion_passes_the_gradient_back_in_each_tensors_dtype():
    x = cr.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    s = cr.tensor(np.float64(0.5), requires_grad=True)
    (x * s).sum().backward()
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ts = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    (tx * ts).sum().backward()
    assert (x * s).dtype == cr.float32 and x.grad.dtype == cr.float32 and s.grad.dtype == cr.float64
    assert s.grad.item() == ts.grad.item() and x.grad.tolist() == tx.grad.tolist()


def test_functions_of_integers_give_the_default_float_and_mean_refuses_them():
    ints = cr.tensor([1, 2, 3])
    for name in ("exp", "log", "sqrt", "sigmoid", "tanh"):
        ours, theirs = getattr(ints, name)(), getattr(torch.tensor([1, 2, 3]), name)()
        assert ours.dtype.name == torch_name(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert (-ints).dtype == cr.int64 and ints.sum().dtype == cr.int64 and (ints ** 2).dtype == cr.int64
    assert (ints ** 0.5).dtype.name == torch_name((torch.tensor([1, 2, 3]) ** 0.5).dtype)
    with pytest.raises(RuntimeError, match="mean: needs a floating-point tensor, got int64"):
        ints.mean()


@pytest.mark.parametrize("make", [
    lambda x, w: x @ w,
    lambda x, w: cr.matmul(x, w),
    lambda x, w: cr.linear(x, w.T),
], ids=["@", "matmul", "linear"])
def test_matrix_products_refuse_mixed_dtypes_naming_both(make):
    x, w = cr.tensor(np.ones((2, 3))), cr.ones(3, 4)
    with pytest.raises(RuntimeError) as error:
        make(x, w)
    message = str(error.value)
    assert "float64" in message and "float32" in message
    assert message.split(":")[0] in ("matmul", "linear")
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, dtype=torch.float64) @ torch.ones(3, 4)  # as PyTorch does


def test_a_float32_layer_refuses_float64_data_and_takes_converted_data():
    layer = nn.Linear(3, 2)
    data = np.ones((4, 3))
    with pytest.raises(RuntimeError, match="linear: .*float64.*float32"):
        layer(cr.tensor(data))
    assert layer(cr.tensor(data).float()).dtype == cr.float32
    assert layer(cr.from_numpy(data).to(layer.weight.dtype)).shape == (4, 2)


def test_tensor_dtypes_follow_pytorch():
    cases = [1.5, [1.0, 2.0], [1, 2], 3, True, [True, False], [1, 2.5], np.array([1, 2], dtype=np.int32),
             np.array([1.0]), np.float64(2.0), np.array([1.0], dtype=np.float16)]
    for value in cases:
        assert cr.tensor(value).dtype.name == torch_name(torch.tensor(value).dtype), value
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == cr.float64
    assert cr.tensor(1, dtype="double").dtype == cr.float64 and cr.tensor(1, dtype=float).dtype == cr.float64


def test_only_floating_tensors_require_grad():
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require gradients"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2], requires_grad=True)
    assert cr.tensor([1.0, 2], requires_grad=True).requires_grad


def test_the_default_dtype_can_be_changed_and_layers_follow_it():
    assert cr.get_default_dtype() == cr.float32
    try:
        cr.set_default_dtype(cr.float64)
        assert cr.get_default_dtype() == cr.float64
        assert cr.tensor(0.5).dtype == cr.float64 and cr.zeros(2).dtype == cr.float64
        assert cr.tensor([1, 2]).dtype == cr.int64
        assert nn.Linear(2, 3).weight.dtype == cr.float64 and nn.MLP([2, 3, 1])[2].bias.dtype == cr.float64
        assert (cr.tensor([1, 2]) * 0.5).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError, match="only floating-point types"):
        cr.set_default_dtype(cr.int64)
    assert cr.tensor(0.5).dtype == cr.float32 and nn.Linear(2, 3).weight.dtype == cr.float32


def test_dtype_objects_compare_with_numpys_and_have_pytorchs_aliases():
    assert cr.float32 == np.float32 and cr.tensor(1.0).dtype == cr.float32
    assert cr.float is cr.float32 and cr.double is cr.float64 and cr.long is cr.int64 and cr.int is cr.int32
    assert cr.half is cr.float16 and cr.bool == np.bool_ and isinstance(cr.float32, cr.dtype)
    assert repr(cr.float64) == "dtype('float64')"
    namespace = {}
    exec("from chainrule import *", namespace)
    assert namespace.get("float", float) is float and "bool" not in namespace  # builtins stay builtins


def test_conversion_methods():
    x = cr.tensor([1.5, -2.0, 0.0], requires_grad=True)
    tx = torch.tensor([1.5, -2.0, 0.0], requires_grad=True)
    for name in ("float", "double", "half", "long", "int", "bool"):
        ours, theirs = getattr(x, name)(), getattr(tx, name)()
        assert ours.dtype.name == torch_name(theirs.dtype)
        assert ours.tolist() == theirs.tolist()
        assert ours.requires_grad == theirs.requires_grad, name  # a cast to an integer has no gradient
    assert x.to(cr.float64).dtype == cr.float64 and x.to(cr.tensor([1])).dtype == cr.int64
    assert x.type(cr.float64).dtype == cr.float64 and x.type() == "chainrule.FloatTensor"
    assert x.to("cpu") is x and x.to("cpu", cr.float64).dtype == cr.float64 and x.cpu() is x
    assert x.to(dtype=cr.float32) is x and x.to(cr.float32, copy=True) is not x
    x.double().sum().backward()
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [1.0, 1.0, 1.0]
    assert x.is_floating_point() and not x.long().is_floating_point()
    with pytest.raises(TypeError, match="is not a dtype"):
        x.to("float-ish")


def test_device_agnostic_code_runs():
    device = "cuda" if cr.cuda.is_available() else "cpu"
    assert device == "cpu" and cr.cuda.device_count() == 0
    x = cr.randn(4, 2).to(device)
    assert x.device == "cpu" and str(x.device) == "cpu" and x.device == cr.device("cpu")
    assert repr(x.device) == "device(type='cpu')" and not x.is_cuda
    assert cr.zeros(2, device=device).device == "cpu" and cr.ones(2, device=cr.device("cpu")).shape == (2,)
    for bad in ("cuda", "cuda:0", "mps"):
        with pytest.raises(RuntimeError, match="CPU only"):
            x.to(bad)
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.device("cuda")


def test_fit_keeps_a_float32_data_set_as_it_is():
    X, y = cr.data.make_moons(32, noise=0.1, seed=0)
    X, y = X.astype(np.float32), y.astype(np.float32)
    seen = []

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.MLP([2, 4, 1], seed=0)

        def forward(self, x):
            seen.append(x.data)
            return self.net(x)

    model = Recording()
    cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, progress=False)
    assert seen and all(batch.dtype == np.float32 for batch in seen)
    assert any(np.shares_memory(batch, X) for batch in seen)  # not copied to float64 (nor to float32)


def test_the_explainer_computes_in_float64_whatever_the_dtype():
    def summary(dtype):
        w = cr.tensor(0.1, requires_grad=True, name="w", dtype=dtype)
        loss = (cr.sigmoid(w * 0.3) - 1.0) ** 2
        explanation = cr.explain(loss, lr=0.1, exact=True)
        return json.loads(explanation.to_json())["summary"], explanation.to_text()

    float32, text = summary(None)
    float64, _ = summary(cr.float64)
    assert float32 == float64  # the float32 given 0.1 is read as the 0.1 the learner wrote
    assert "w = 0.1 " in text and "0.1000000" not in text


def test_gradcheck_works_in_float64_on_float32_inputs():
    assert cr.gradcheck(lambda x: (x.sigmoid() * x).sum(), [cr.tensor([0.3, -1.2, 2.0])], atol=1e-8, rtol=1e-7)


INTEGER_FUNCTIONS = ["x.exp()", "x.log()", "x.sqrt()", "x.sigmoid()", "x.tanh()", "x.sin()", "x.cos()",
                     "x.log1p()", "x.expm1()", "x.abs()", "-x", "x.sum()", "x.sum(0)", "x.max()", "x.prod()",
                     "x.cumsum(0)", "x ** 2", "x ** 0.5", "x * 1.5", "x / 2", "x.clamp(0, 2)", "x.mean()", "x.var()",
                     "x.std()", "x.norm()", "x.softmax(0)", "x.log_softmax(0)", "x.float() @ x.double()",
                     "x.float().matmul(x.long())"]


@pytest.mark.parametrize("source", INTEGER_FUNCTIONS)
def test_integer_inputs_give_pytorchs_dtype_or_are_refused_as_pytorch_refuses(source):
    """An int64 tensor through each function: the same result dtype as PyTorch, or an error where it errs."""
    results = []
    for x in (cr.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])):
        try:
            results.append(torch_name(eval(source, {"x": x}).dtype))
        except (RuntimeError, NotImplementedError):
            results.append("refused")
    assert results[0] == results[1], source
