"""Neuron-level networks (detail = "neurons"): Mazur's 2-2-2 network, number by number."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import optim
from chainrule.explain import ProblemError, explain, explain_problem, load_builtin
from chainrule.explain.problems import parse_problem
from cli_helpers import run_cli
from test_number_model import assert_lines_check, assert_nothing_nonzero_shows_as_zero

torch = pytest.importorskip("torch")

#: Every number of Mazur's post that belongs to the first step, as he prints it.
MAZUR = {
    "net_h1": "0.3775", "out_h1": "0.593269992", "out_h2": "0.596884378", "net_o1": "1.105905967",
    "out_o1": "0.75136507", "out_o2": "0.772928465", "E_o1": "0.274811083", "E_o2": "0.023560026",
    "E_total": "0.298371109", "∂E_o1/∂out_o1": "0.74136507", "∂out_o1/∂net_o1": "0.186815602",
    "∂net_o1/∂w5": "0.593269992", "∂E_total/∂w5": "0.082167041", "w5_new": "0.35891648",
    "w6_new": "0.408666186", "w7_new": "0.511301270", "w8_new": "0.561370121", "δ_o1": "0.138498562",
    "∂E_total/∂out_h1": "0.036350306", "∂out_h1/∂net_h1": "0.241300709", "∂net_h1/∂w1": "0.05",
    "∂E_total/∂w1": "0.000438568", "w1_new": "0.149780716", "w2_new": "0.19956143", "w3_new": "0.24975114",
    "w4_new": "0.29950229",
}


def _equations(explanation):
    by_name = {}
    for equation in explanation.equations():
        if equation.kind != "check":
            by_name.setdefault(equation.lhs.to_text(), equation)
    return by_name


def _rounded_like(value: float, text: str) -> str:
    decimals = len(text.split(".")[1])
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def test_mazur_reproduces_every_number_of_his_first_step():
    explanation = explain_problem(load_builtin("mazur"))
    lines = _equations(explanation)
    for name, his in MAZUR.items():
        assert name in lines, name
        # The exact value, rounded as he rounds, is his number: to every digit he prints.
        assert _rounded_like(lines[name].value, his) == his, (name, lines[name].value, his)
    # The loss after the step: his post says 0.291027924; the exact value (biases frozen, as his) is 0.291027774.
    assert explanation.summary["new_loss"] == pytest.approx(0.2910277737, abs=1e-10)
    assert _rounded_like(explanation.summary["new_loss"], "0.291027924") != "0.291027924"


def test_mazur_lines_check_on_a_calculator_and_none_vanishes():
    document = explain_problem(load_builtin("mazur")).to_dict()
    assert assert_lines_check(document) >= 60
    assert_nothing_nonzero_shows_as_zero(document)
    text = explain_problem(load_builtin("mazur")).to_text()
    assert "∂E_total/∂out_h1 = ∂E_o1/∂out_h1 + ∂E_o2/∂out_h1 = ∂E_total/∂net_o1 · w5 + ∂E_total/∂net_o2 · w7" in text
    assert "δ_h1 = (δ_o1 · w5 + δ_o2 · w7) · ∂out_h1/∂net_h1" in text
    assert "∂E_total/∂w5 = δ_o1 · out_h1 = 0.138498562 × 0.593269992 = 0.0821670408" in text
    assert "b1 = 0.35   (frozen: given, never updated)" in text and "b1_new" not in text
    assert text.index("w1 = 0.15") < text.index("w5 = 0.4") < text.index("b1 = 0.35")  # Mazur's order


def test_mazur_after_ten_thousand_steps_differs_from_his_post():
    """His last four numbers (error 0.0000351085, outputs 0.015912196 and 0.984065734) are off: the exact
    values of 10,000 steps of plain gradient descent with frozen biases are 3.51019e-05, 0.0159136 and 0.9840643."""
    problem = load_builtin("mazur")
    x = cr.tensor(problem.x, dtype="float64")
    y = cr.tensor(problem.y, dtype="float64")
    w1 = cr.tensor(np.array(problem.layer_weights[0]), requires_grad=True)
    w2 = cr.tensor(np.array(problem.layer_weights[1]), requires_grad=True)
    b1, b2 = (cr.tensor(np.array(b)) for b in problem.layer_biases)  # frozen: requires_grad=False
    sgd = optim.SGD([w1, w2], lr=problem.lr)

    def forward():
        out = F.sigmoid(F.linear(F.sigmoid(F.linear(x, w1, b1)), w2, b2))
        return ((out - y) ** 2).mean(), out

    for _ in range(10_000):
        sgd.zero_grad()
        loss, _ = forward()
        loss.backward()
        sgd.step()
    loss, out = forward()
    assert loss.item() == pytest.approx(3.510187783e-05, rel=1e-8)
    assert out.numpy()[0] == pytest.approx([0.0159136204, 0.9840642735], abs=1e-9)
    assert abs(loss.item() - 0.0000351085) > 5e-10  # his printed error is not the exact one


def _random_mlp(rng, sizes, activation, output):
    return {
        "model": {"kind": "mlp", "sizes": sizes, "activation": activation, "output": output,
                  "weights": [np.round(rng.uniform(-1, 1, (b, a)), 2).tolist() for a, b in zip(sizes[:-1], sizes[1:])],
                  "biases": [np.round(rng.uniform(-1, 1, b), 2).tolist() for b in sizes[1:]]},
        "data": {"x": np.round(rng.uniform(-1, 1, sizes[0]), 2).tolist(),
                 "y": np.round(rng.uniform(0.05, 0.95, sizes[-1]), 2).tolist()},
        "training": {"loss": "mse", "lr": 0.3},
    }


@pytest.mark.parametrize("seed, sizes, activation, output", [
    (0, [2, 3, 1], "tanh", "sigmoid"), (1, [3, 2, 2], "relu", "identity"), (2, [2, 2, 2, 1], "sigmoid", "sigmoid"),
])
def test_neurons_agree_with_layer_level_and_torch(seed, sizes, activation, output):
    data = _random_mlp(np.random.default_rng(seed), sizes, activation, output)
    problem = parse_problem(data, "net.toml")
    neurons = explain_problem(problem, detail="neurons", exact=True)
    layers = explain_problem(parse_problem(data, "net.toml"))
    assert neurons.summary["loss"] == pytest.approx(layers.summary["loss"], abs=1e-14)
    assert neurons.summary["new_loss"] == pytest.approx(layers.summary["new_loss"], abs=1e-14)
    # PyTorch in float64: each weight's gradient, by Mazur's numbering (layer by layer, row by row).
    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in data["model"]["weights"]]
    bs = [torch.tensor(b, dtype=torch.float64) for b in data["model"]["biases"]]
    h = torch.tensor(data["data"]["x"], dtype=torch.float64)
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = acts[activation if i < len(ws) - 1 else output](w @ h + b)
    loss = ((h - torch.tensor(data["data"]["y"], dtype=torch.float64)) ** 2).mean()
    loss.backward()
    expected = np.concatenate([w.grad.numpy().reshape(-1) for w in ws])
    top = "E" if sizes[-1] == 1 else "E_total"
    got = [neurons.value(f"∂{top}/∂w{k + 1}") for k in range(len(expected))]
    np.testing.assert_allclose(got, expected, atol=1e-14)
    carried = explain_problem(parse_problem(data, "net.toml"), detail="neurons").to_dict()
    assert assert_lines_check(carried) > 10
    if len(sizes) == 4:
        assert "h1_1" in neurons.to_text() and "net_h2_1" in neurons.to_text()


def test_requires_grad_false_in_the_api_is_frozen():
    w = cr.tensor(np.float64(0.5), requires_grad=True, name="w")
    b = cr.tensor(np.float64(0.1), requires_grad=False, name="b")
    x = cr.tensor(np.float64(1.0), name="x")
    loss = (cr.sigmoid(w * x + b) - 1.0) ** 2
    explanation = explain(loss, lr=0.1)
    names = [eq.lhs.to_text() for eq in explanation.equations("update")]
    assert names == ["w_new"]
    assert "b = 0.1   (input)" in explanation.to_text()


def test_frozen_weights_and_refusals():
    data = _random_mlp(np.random.default_rng(3), [2, 2, 1], "sigmoid", "sigmoid")
    data["training"]["frozen"] = ["W1"]
    explanation = explain_problem(parse_problem(data, "net.toml"), detail="neurons")
    updated = {eq.lhs.to_text() for eq in explanation.equations("update")}
    assert updated == {"w5_new", "w6_new", "b_h1_new", "b_h2_new", "b_o1_new"}
    with pytest.raises(ProblemError, match="'W3' is not a parameter"):
        parse_problem({**data, "training": {"frozen": ["W3"]}}, "net.toml")
    with pytest.raises(ProblemError, match="nothing to learn"):
        parse_problem({**data, "training": {"frozen": ["W1", "b1", "W2", "b2"]}}, "net.toml")
    big = _random_mlp(np.random.default_rng(4), [8, 8, 2], "tanh", "identity")
    with pytest.raises(ProblemError, match="one line per weight"):
        explain_problem(parse_problem(big, "big.toml"), detail="neurons")
    many = {**data, "data": {"x": [[0.1, 0.2], [0.3, 0.4]], "y": [0.0, 1.0]}}
    with pytest.raises(ProblemError, match="one sample"):
        explain_problem(parse_problem(many, "set.toml"), detail="neurons")


def test_cli_mazur_neurons(capsys):
    code, out, err = run_cli(capsys, "explain", "mazur", "--detail", "neurons")
    assert code == 0, err
    assert "out_h1 = σ(net_h1) = σ(0.3775) = 0.593269992" in out
    assert "w1_new = w1 − η · ∂E_total/∂w1 = 0.15 − 0.5 × 0.000438567737 = 0.1497807161" in out
    code, out, err = run_cli(capsys, "explain", "example1", "--detail", "neurons")
    assert code == 2 and err.startswith("chainrule: error:") and "MLP" in err
