"""What the explainer SHOWS, over random problems: every carried line checks on a calculator from the numbers
printed on it, every JSON ``value`` is the exact one (PyTorch float64 as the oracle), and no nonzero value is
printed as 0.

The calculator is plain Python: the printed numeric form of a line (``1.244 × 0.235 × 1.0``) is turned into a
Python expression by text substitution and evaluated; its result must round to the printed result.
"""

from __future__ import annotations

import json
import math
import os
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule.explain import DomainError, explain_problem, expression_problem, load_builtin
from chainrule.explain.numbers import NumberModel, Written, half_unit, number_text, shortest
from chainrule.explain.problems import parse_problem

torch = pytest.importorskip("torch")

# --------------------------------------------------------------------------------------------------------------
# The calculator


import mpmath  # noqa: E402  (comes with torch's sympy) — a calculator that does not cancel

mpmath.mp.dps = 60


def _sig(z):
    return 1 / (1 + mpmath.exp(-z))


_NAMES = {"σ": "sig", "tanh": "tanh", "ln": "ln", "exp": "exp", "softplus": "softplus", "relu": "relu",
          "sqrt": "sqrt", "sign": "sign", "leaky_relu": "leaky_relu"}
_CALCULATOR = {"__builtins__": {}, "sig": _sig, "ln": mpmath.log, "tanh": mpmath.tanh, "exp": mpmath.exp,
               "softplus": lambda z: mpmath.log(1 + mpmath.exp(z)), "relu": lambda z: max(z, 0),
               "sqrt": mpmath.sqrt, "abs": abs, "mpf": mpmath.mpf, "sign": mpmath.sign,
               "leaky_relu": lambda z: z if z > 0 else z * mpmath.mpf("0.01")}


def python_form(text: str) -> str:
    """A printed numeric form as a Python expression: × → *, − → -, 2(…) → 2*(…), x² → x**2, σ → sig."""
    text = text.replace("×", "*").replace("·", "*").replace("−", "-").replace("²", "**2")
    text = re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda m: "**" + m.group().translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")),
                  text)  # a power such as Adam's bias correction 1 − 0.9³
    text = re.sub(r"√\(", "sqrt(", text)
    text = re.sub(r"√([0-9.e-]+)", r"sqrt(\1)", text)
    for symbol, name in _NAMES.items():
        text = text.replace(symbol + "(", name + "(")
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text)
    text = re.sub(r"𝟙\[([^\]]+)\]", r"(1 if \1 else 0)", text)  # the indicator 𝟙[z > 0]
    # ln(σ(a)) = −softplus(−a) and ln(1 − σ(a)) = −softplus(a), exactly: so a large |a| does not cancel.
    text = re.sub(r"ln\(1 - sig\(([^()]+)\)\)", r"(-softplus(\1))", text)
    text = re.sub(r"ln\(sig\(([^()]+)\)\)", r"(-softplus(-(\1)))", text)
    text = re.sub(r"(\d|\))\(", r"\1*(", text)  # juxtaposition: 2(0.622 - 0.0), σ(z)(1 - σ(z))
    text = re.sub(r"\b(sig|tanh|ln|exp|softplus|leaky_relu|relu|sqrt|abs|sign)\*\(", r"\1(", text)
    # Every printed number exactly as printed, in 60-digit arithmetic.
    return re.sub(r"(?<![\w.])(\d+\.?\d*(?:e-?\+?\d+)?)", r"mpf('\1')", text)


def calculate(text: str) -> float:
    return float(eval(python_form(text), dict(_CALCULATOR)))  # noqa: S307 - our own printed arithmetic


def printed_number(text: str) -> float:
    return float(text.replace("−", "-"))


CARRIED_KINDS = {"forward", "loss", "local", "chain", "gradient", "update", "check", "batch", "identity"}


def carried_lines(document: dict):
    """(line text, numeric form text, printed result) for every line that substitutes numbers."""
    for section in document["sections"]:
        for item in section["items"]:
            if item["type"] != "equation" or item["kind"] not in CARRIED_KINDS or item["shape"]:
                continue
            numeric = [f for f in item["forms"] if f["numeric"]]
            if numeric:
                yield item["text"], numeric[-1]["text"], item["shown_text"]


def assert_lines_check(document: dict) -> int:
    count = 0
    for line, form, result in carried_lines(document):
        printed = printed_number(result)
        value = calculate(form)
        if math.isnan(value) and ("(1 − 1.0) ×" in form or "0.0 ×" in form):
            continue  # 0 × ln(0): a person writes 0 for a term the target switches off
        # Half a unit of the last printed digit (a result exactly half-way may round either way), plus the
        # float error of this subtraction itself.
        tolerance = half_unit(Written(result.replace("−", "-"))) * (1 + 1e-9) + 1e-12 * abs(printed) + 1e-15
        assert abs(value - printed) <= tolerance, f"{line}: the calculator gives {value!r}"
        count += 1
    return count


def assert_nothing_nonzero_shows_as_zero(document: dict) -> None:
    for section in document["sections"]:
        for item in section["items"]:
            # Lines after a stochastic or mini-batch update are worked at the carried weights, whose exact
            # twin (the JSON value) is on the exact path: a hand 0.0 there can be honest drift.
            later = (item.get("context") or "").startswith(("stochastic", "minibatch"))
            if item["type"] == "equation" and not item["shape"] and item["value"] is not None and not later:
                if printed_number(item["shown_text"]) == 0:
                    # (floating-point noise such as 0.5 − 0.6 + 0.1 = 2.8e-17 is 0 by hand)
                    assert abs(item["value"]) <= 1e-12 or item["kind"] in ("update", "check"), item["text"]


# --------------------------------------------------------------------------------------------------------------
# The seed's examples and the found cases


@pytest.mark.parametrize("name", ["example1", "example2", "example3"])
def test_every_line_of_the_seed_examples_checks(name):
    document = explain_problem(load_builtin(name)).to_dict()
    assert assert_lines_check(document) >= 8
    assert_nothing_nonzero_shows_as_zero(document)


def test_example3_stochastic_path_is_the_seeds():
    document = explain_problem(load_builtin("example3")).to_dict()
    stochastic = [i for s in document["sections"] if s["kind"] == "stochastic" for i in s["items"]
                  if i["type"] == "equation" and i["kind"] == "update"]
    assert [u["shown_text"] for u in stochastic] == ["0.4708", "0.4934", "0.5102"]
    # JSON values are exact along the exact path (torch below agrees), not the hand numbers.
    assert stochastic[-1]["value"] == pytest.approx(0.5102008073906427, abs=1e-12)
    batch = [i for s in document["sections"] if s["kind"] == "batch" for i in s["items"] if i["type"] == "equation"]
    assert batch[0]["value"] == pytest.approx(-0.027399, abs=1e-6) and batch[0]["shown_text"] == "−0.0277"


@pytest.mark.parametrize("w, x, shown_w, z_line", [
    (0.4934, 3, "0.4934", "0.4934 × 3.0 = 1.480"),
    (0.0004, 0.1234, "0.0004", "0.0004 × 0.1234 = 0.0000494"),
    (1.23456, 2, "1.23456", "1.23456 × 2.0 = 2.469"),
])
def test_givens_are_shown_and_used_as_given(w, x, shown_w, z_line):
    problem = expression_problem("sigmoid(w*x)", {"w": w, "x": x}, target=1.0, lr=0.1)
    text = explain_problem(problem).to_text()
    assert f"w = {shown_w}   (parameter)" in text
    assert z_line in text
    assert_lines_check(explain_problem(problem).to_dict())


def test_small_gradients_never_vanish_mazur():
    """Mazur's 2-2-2 network as one expression: ∂E/∂w1 ≈ 4.4e-4 must not print as 0, nor w1 as unchanged."""
    h1 = "sigmoid(w1*i1 + w2*i2 + 0.35)"
    h2 = "sigmoid(w3*i1 + w4*i2 + 0.35)"
    o1 = f"sigmoid(w5*{h1} + w6*{h2} + 0.6)"
    o2 = f"sigmoid(w7*{h1} + w8*{h2} + 0.6)"
    expression = f"0.5*(0.01 - {o1})^2 + 0.5*(0.99 - {o2})^2"
    values = {"w1": 0.15, "w2": 0.2, "w3": 0.25, "w4": 0.3, "w5": 0.4, "w6": 0.45, "w7": 0.5, "w8": 0.55,
              "i1": 0.05, "i2": 0.1}
    explanation = explain_problem(expression_problem(expression, values, lr=0.5))
    document = explanation.to_dict()
    updates = {i["lhs"]["text"]: i for s in document["sections"] for i in s["items"]
               if i["type"] == "equation" and i["kind"] == "update"}
    assert updates["w1_new"]["value"] == pytest.approx(0.149780716, abs=1e-9)  # Mazur's published number
    assert updates["w1_new"]["shown_text"] != "0.15"
    assert abs(printed_number(updates["w1_new"]["shown_text"]) - 0.149780716) < 5e-5
    assert updates["w5_new"]["value"] == pytest.approx(0.35891648, abs=1e-8)
    assert_nothing_nonzero_shows_as_zero(document)
    assert assert_lines_check(document) > 10


def test_a_saturated_sigmoid_is_named_and_its_gradient_shown():
    explanation = explain_problem(expression_problem("sigmoid(w*x)", {"w": 8.0, "x": 1.0}, target=1.0, lr=0.1))
    text = explanation.to_text()
    assert "saturated" in text and "vanishing gradient" in text
    assert "The loss went down" in text and "did not change" not in text
    chain = explanation.equations("chain")[0]
    assert float(chain.shown) != 0 and chain.value == pytest.approx(-2.2493e-7, rel=1e-3)
    assert_lines_check(explanation.to_dict())


@pytest.mark.parametrize("precision", [0, 1, 2, 5])
def test_low_and_high_precision(precision):
    text = explain_problem(load_builtin("example1"), precision=precision).to_text()
    assert "=  " not in text and "= \n" not in text  # no blank results
    before, after = re.search(r"went down from (.+?) to (.+?)[:,]", text).groups()
    assert before != after
    assert_lines_check(explain_problem(load_builtin("example1"), precision=precision).to_dict())


def test_floating_point_noise_is_written_as_zero():
    explanation = explain_problem(expression_problem("tanh(w1*x1 + w2*x2 + b)", {"w1": 0.5, "w2": -0.3, "b": 0.1,
                                                     "x1": 1.0, "x2": 2.0}, target=1.0, lr=0.2))
    text = explanation.to_text()
    assert "0.5 × 1.0 + (−0.3) × 2.0 + 0.1 = 0.0" in text and "e-17" not in text
    assert_lines_check(explanation.to_dict())


def test_number_text_rules():
    assert number_text(20, 0, 1) == "20.0"  # exact: written as it is (it used to print as "2")
    assert number_text(19.6, 0, 1) == "20"  # rounded at no decimals
    assert number_text(0.0, 0, 1) == "0.0"
    assert number_text(0.0276667, 3, 3) == "0.0277"
    assert number_text(0.000438568, 3, 3) == "0.000439"
    assert number_text(0.71950, 3, 3) == "0.720"  # rounded: its zero stays
    assert number_text(-0.56, 3, 3) == "-0.56"  # exact at this precision
    assert number_text(2.25e-7, 3, 3) == "2.25e-7"
    assert number_text(1.5e306, 3, 3) == "1.50e+306"  # huge but finite: never "inf"
    assert shortest(0.4934) == "0.4934" and shortest(1.0) == "1.0"
    model = NumberModel(3)
    assert model.updated(0.15, 0.15 - 0.5 * 0.000439).text == "0.14978"
    assert model.updated(0.5, 0.4708).text == "0.4708"


# --------------------------------------------------------------------------------------------------------------
# Random problems against PyTorch

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "softplus": torch.nn.functional.softplus,
               "identity": lambda z: z, "relu": torch.relu, "leaky_relu": torch.nn.functional.leaky_relu}
LOSSES = {
    "mse": lambda p, y: (p - y) ** 2,
    "l1": lambda p, y: (p - y).abs(),
    "bce": lambda p, y: -(y * torch.log(p) + (1 - y) * torch.log(1 - p)),
    "bce_with_logits": lambda p, y: torch.nn.functional.binary_cross_entropy_with_logits(p, y),
}

magnitude = st.floats(1e-4, 1e3).flatmap(lambda m: st.sampled_from([m, -m]))


@st.composite
def neuron_problems(draw):
    inputs = draw(st.integers(1, 3))
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    loss = draw(st.sampled_from(["mse", "l1", "bce"] if activation == "sigmoid" else
                                ["mse", "l1", "bce_with_logits"] if activation == "identity" else ["mse", "l1"]))
    samples = draw(st.integers(1, 3))
    weights = [round(draw(st.floats(-2, 2)), 4) for _ in range(inputs)]
    bias = draw(st.one_of(st.none(), st.floats(-1, 1).map(lambda b: round(b, 3))))
    xs = [[draw(magnitude) if draw(st.booleans()) else round(draw(st.floats(-3, 3)), 2) for _ in range(inputs)]
          for _ in range(samples)]
    ys = [float(draw(st.integers(0, 1))) for _ in range(samples)]
    lr = draw(st.sampled_from([0.01, 0.1, 0.5]))
    # Inputs range over 1e-4…1e3, but the pre-activation stays where float64 can tell σ(z) from 1
    # (beyond |z| ≈ 30 the engine's stable kernels and any calculator part ways).
    for sample in xs:
        assume(abs(sum(w * x for w, x in zip(weights, sample)) + (bias or 0.0)) <= 30)
    mode = draw(st.sampled_from(["batch", "stochastic", "minibatch", "compare"]))
    data = {"x": xs[0] if samples == 1 else xs, "y": ys[0] if samples == 1 else ys}
    model = {"kind": "neuron", "activation": activation, "weights": weights, "bias": False if bias is None else bias}
    training = {"loss": loss, "lr": lr}
    if samples > 1:
        training.update(mode=mode, batch_size=2)
    return {"model": model, "data": data, "training": training}


def torch_step(document: dict):
    """Loss, gradients and parameters after one update of sample 0, in float64."""
    model, data, training = document["model"], document["data"], document["training"]
    x = data["x"] if not isinstance(data["x"][0], list) else data["x"][0]
    y = data["y"] if not isinstance(data["y"], list) else data["y"][0]
    w = torch.tensor(model["weights"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(float(model["bias"]) if model["bias"] is not False else 0.0, dtype=torch.float64,
                     requires_grad=model["bias"] is not False)
    z = (w * torch.tensor(x, dtype=torch.float64)).sum() + b
    loss = LOSSES[training["loss"]](ACTIVATIONS[model["activation"]](z), torch.tensor(y, dtype=torch.float64))
    loss.backward()
    return loss.item(), w.grad.tolist(), (b.grad.item() if b.requires_grad else None)


@settings(max_examples=int(os.environ.get("CHAINRULE_PROPERTY_EXAMPLES", 40)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(neuron_problems())
def test_random_problems_show_checkable_exact_numbers(document):
    problem = parse_problem(document, "random.toml")
    try:
        explanation = explain_problem(problem)
    except DomainError:
        assume(False)
    data = explanation.to_dict()
    json.loads(explanation.to_json())  # strict JSON (allow_nan=False) round-trips
    # Beyond |z| ≈ 30, float64 cannot hold σ(z) to the digits hand arithmetic needs (1 − σ(31.5) is 2.1e-14,
    # a hundred float steps): starting points are kept below that, and so are the later steps checked here.
    assume(all(abs(item["value"]) <= 30 for s in data["sections"] for item in s["items"]
               if item["type"] == "equation" and item["node"] == "z" and item["value"] is not None
               and not item["shape"]))
    assert_lines_check(data)
    assert_nothing_nonzero_shows_as_zero(data)
    loss, w_grads, b_grad = torch_step(document)
    names = ["w"] if len(w_grads) == 1 else [f"w{i + 1}" for i in range(len(w_grads))]
    expected = dict(zip(names, w_grads)) | ({"b": b_grad} if b_grad is not None else {})
    single = not isinstance(document["data"]["y"], list)
    found = {}
    for section in data["sections"]:
        for item in section["items"]:
            if item["type"] != "equation" or (not single and item.get("sample") != 1) \
                    or (not single and section["kind"] != "sample"):
                continue
            lhs = item["lhs"]["text"]
            for name in expected:
                if lhs in (f"∂L/∂{name}", f"∂L1/∂{name}") and item["kind"] in ("chain", "local"):
                    found[name] = item["value"]
            if item["kind"] == "loss":
                assert item["value"] == pytest.approx(loss, rel=1e-8, abs=1e-12)
    for name, value in expected.items():
        assert name in found, f"no line computes ∂L/∂{name}"
        assert found[name] == pytest.approx(value, rel=1e-8, abs=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Layer level: Mazur's 2-2-2 network as an MLP, worked by hand element by element

MAZUR_MLP = {
    "model": {"kind": "mlp", "sizes": [2, 2, 2], "activation": "sigmoid", "output": "sigmoid",
              "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]],
              "biases": [[0.35, 0.35], [0.6, 0.6]]},
    "data": {"x": [[0.05, 0.1]], "y": [[0.01, 0.99]]},
    "training": {"loss": "mse", "lr": 0.5},
}


def test_layer_level_lines_substitute_and_carry_their_numbers():
    import numpy as np

    explanation = explain_problem(parse_problem(MAZUR_MLP, "mazur.toml"))
    lines = {eq.lhs.to_text(): eq for eq in explanation.equations() if eq.kind != "check"}
    shown = {name: np.asarray(eq.shown, dtype=float) for name, eq in lines.items()}
    model = NumberModel(3)

    def written(array):
        return np.asarray(model.computed(np.asarray(array, dtype=float)), dtype=float)

    # Each line's numbers come from the numbers written on earlier lines, as a person carries them.
    assert np.array_equal(shown["L"], written(shown["ℓ"].mean()))
    assert np.array_equal(shown["∂L/∂z"], written(shown["∂L/∂ŷ"] * shown["ŷ"] * (1 - shown["ŷ"])))
    assert np.array_equal(shown["∂L/∂W1"], written(shown["∂L/∂z1"].T @ np.array([[0.05, 0.1]])))
    w1_new = shown["W1_new"]
    assert not np.array_equal(w1_new, shown["W1"])  # the update is visible
    assert np.allclose(w1_new, np.array([[0.15, 0.2], [0.25, 0.3]]) - 0.5 * shown["∂L/∂W1"], atol=5e-6)
    # … and every line substitutes them: the numeric form is printed.
    assert "z1 = x · W1ᵀ + b1 = [[0.05, 0.1]] · [[0.15, 0.2], [0.25, 0.3]]ᵀ + [0.35, 0.35] = [[0.378, 0.392]]" \
        in explanation.to_text()
    # The exact values stay exact (Mazur's published w5⁺ and w1⁺; his biases are not trained, ours are).
    assert lines["W2_new"].value[0][0] == pytest.approx(0.35891648, abs=1e-8)
    assert lines["W1_new"].value[0][0] == pytest.approx(0.149780716, abs=1e-9)
    assert_nothing_nonzero_shows_as_zero(explanation.to_dict())


def test_the_seeds_own_slips_are_noted_and_nothing_else():
    """The seed rounds some numbers down where the exact value rounds up: the explanation says so."""
    noted = {}
    for name in ("example1", "example2", "example3"):
        for equation in explain_problem(load_builtin(name)).equations():
            if equation.note and "seed document writes" in equation.note:
                noted[(name, equation.lhs.to_text())] = re.search(r"writes (\S+) here", equation.note).group(1)
    assert sorted(noted.values()) == sorted(["0.615", "0.378", "−0.211", "−0.0275", "0.4933"])


def test_a_reference_naming_no_step_is_refused():
    document = {"model": {"kind": "neuron", "weights": [0.5], "bias": False}, "data": {"x": 1.0, "y": 0.0},
                "training": {"lr": 0.1}, "reference": {"source": "my book", "values": {"w_nwe": 0.47}}}
    with pytest.raises(ValueError, match="no step is called 'w_nwe'"):
        explain_problem(parse_problem(document, "book.toml"))
    document["reference"]["values"] = {"w_new": "0.4707"}  # the book's exact value: it agrees, no note
    explanation = explain_problem(parse_problem(document, "book.toml"))
    assert not any(eq.note and "my book" in eq.note for eq in explanation.equations())


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_the_optimizers_first_step_checks_on_a_calculator(optimizer):
    for name in ("example1", "example2"):
        explanation = explain_problem(load_builtin(name), optimizer=optimizer)
        assert assert_lines_check(explanation.to_dict()) >= 10
    adam = explain_problem(load_builtin("example1"), optimizer="adam")
    m = next(eq for eq in adam.equations("update") if eq.lhs.to_text() == "m_w")
    assert m.value == pytest.approx(0.1 * 0.2925605, abs=1e-7)  # exact in the JSON, written on the line
