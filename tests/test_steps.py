"""Every step derived (--steps N, --derive): steps 2…N written out like step 1, the optimizer's state included."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.explain import explain_problem, expression_problem, load_builtin
from cli_helpers import one_line, run_cli
from test_number_model import assert_lines_check, assert_nothing_nonzero_shows_as_zero

torch = pytest.importorskip("torch")

STEPS = 5


def _updates(explanation, lhs):
    """The exact values of every line ``lhs`` (w_new, m_w…) in step order."""
    return [float(eq.value) for eq in explanation.equations("update") if eq.lhs.to_text() == lhs]


def _torch_run(start: dict[str, float], loss_of, optimizer: str, lr: float):
    """(parameters after each step, state after each step) of PyTorch's optimizer, in float64."""
    params = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in start.items()}
    opt = (torch.optim.SGD(params.values(), lr=lr, momentum=0.9) if optimizer == "momentum"
           else torch.optim.Adam(params.values(), lr=lr))
    values, states = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_of(params).backward()
        opt.step()
        values.append({n: p.item() for n, p in params.items()})
        states.append({n: {k: v.item() for k, v in opt.state[p].items() if k != "step"} for n, p in params.items()})
    return values, states


def _chainrule_run(start: dict[str, float], loss_of, optimizer: str, lr: float):
    params = {name: cr.tensor(np.float64(value), requires_grad=True) for name, value in start.items()}
    opt = (optim.SGD(list(params.values()), lr=lr, momentum=0.9) if optimizer == "momentum"
           else optim.Adam(list(params.values()), lr=lr))
    values = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_of(params).backward()
        opt.step()
        values.append({n: float(p.data) for n, p in params.items()})
    return values


def _example2_loss(p, sigmoid):
    return (sigmoid(p["w1"] * 1.0 + p["w2"] * 2.0 + p["b"]) - 1.0) ** 2


PROBLEMS = {
    "example1": ({"w": 0.5}, lambda p, sigmoid: sigmoid(p["w"] * 1.0) ** 2),
    "example2": ({"w1": 0.5, "w2": -0.5, "b": 0.0}, _example2_loss),
}


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_five_derived_steps_match_chainrule_optim_and_torch(name, optimizer):
    start, loss = PROBLEMS[name]
    explanation = explain_problem(load_builtin(name), steps=STEPS, optimizer=optimizer, exact=True)
    expected = _torch_run(start, lambda p: loss(p, torch.sigmoid), optimizer, 0.1)
    ours = _chainrule_run(start, lambda p: loss(p, cr.sigmoid), optimizer, 0.1)
    for parameter in start:
        derived = _updates(explanation, f"{parameter}_new")
        assert len(derived) == STEPS
        np.testing.assert_allclose(derived, [step[parameter] for step in expected[0]], rtol=0, atol=1e-13)
        np.testing.assert_allclose(derived, [step[parameter] for step in ours], rtol=0, atol=1e-13)
        # The optimizer's state, step by step: momentum's velocity, Adam's two moments.
        keys = {"momentum": {"v": "momentum_buffer"}, "adam": {"m": "exp_avg", "v": "exp_avg_sq"}}[optimizer]
        for ours_key, torch_key in keys.items():
            np.testing.assert_allclose(_updates(explanation, f"{ours_key}_{parameter}"),
                                       [state[parameter][torch_key] for state in expected[1]], rtol=0, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_carried_steps_check_on_a_calculator_and_values_are_the_exact_path(optimizer):
    carried = explain_problem(load_builtin("example2"), steps=STEPS, optimizer=optimizer)
    exact = explain_problem(load_builtin("example2"), steps=STEPS, optimizer=optimizer, exact=True)
    document = carried.to_dict()
    assert assert_lines_check(document) >= 5 * 14
    assert_nothing_nonzero_shows_as_zero(document)
    # Step 5 starts from what step 4 wrote down (w1 = 0.xxxx as written), and its JSON values are exact.
    assert _updates(carried, "w1_new") == pytest.approx(_updates(exact, "w1_new"), abs=1e-15)
    titles = [s.title for s in carried.sections]
    assert "Step 5: Given values" in titles and "Step 5: Backpropagation: the chain rule" in titles
    given = [eq for s in carried.sections if s.title == "Step 2: Given values" for eq in s.equations()]
    first_new = next(eq for eq in carried.equations("update") if eq.lhs.to_text() == "w1_new")
    assert float(given[[eq.lhs.to_text() for eq in given].index("w1")].shown) == float(first_new.shown)


def test_adam_later_steps_write_each_state_equation():
    text = explain_problem(load_builtin("example1"), steps=3, optimizer="adam").to_text()
    assert "m_w ← β1 · m_w + (1 − β1) · ∂L/∂w = 0.9 × " in text
    assert "v_w ← β2 · v_w + (1 − β2) · (∂L/∂w)² = 0.999 × " in text
    assert "m̂_w = m_w/(1 − β1³) = " in text and "v̂_w = v_w/(1 − β2²) = " in text


def test_which_steps_are_derived():
    def step_sections(**kwargs):
        explanation = explain_problem(load_builtin("example1"), **kwargs)
        return sorted({s.title.split(":")[0] for s in explanation.sections if s.title.startswith("Step ")})

    assert step_sections(steps=3) == ["Step 2", "Step 3"]
    assert step_sections(steps=3, derive="last") == ["Step 3"]
    assert step_sections(steps=3, derive="first") == []
    assert step_sections(steps=6) == []  # more than five: the first step and the table
    assert step_sections(steps=6, derive="all") == [f"Step {t}" for t in range(2, 7)]
    problem = expression_problem("sigmoid(w*x)", {"w": 0.5, "x": 1.0}, target=0.0, lr=0.1, steps=2)
    problem.derive = "first"
    assert not any(s.title.startswith("Step ") for s in explain_problem(problem).sections)


def test_cli_derive(capsys):
    code, out, _ = run_cli(capsys, "explain", "example1", "--steps", "4", "--derive", "last", "--optimizer",
                           "momentum")
    assert code == 0 and "Step 4: Gradient descent with momentum" in out and "Step 3:" not in out
    code, _, err = run_cli(capsys, "explain", "example1", "--derive", "sometimes")
    assert code == 2
    one_line(err, "--derive")


def _torch_mode(mode: str, optimizer: str, epochs: int = 1):
    """Example 3 (z = w·x, ŷ = σ(z), three samples) trained by PyTorch in ``mode``: w after each update."""
    xs, ys = [1.0, 2.0, 3.0], [0.0, 1.0, 1.0]
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9) if optimizer == "momentum" else torch.optim.Adam([w], lr=0.1)
    chunks = {"batch": [[0, 1, 2]], "stochastic": [[0], [1], [2]], "minibatch": [[0, 1], [2]]}[mode]
    path = []
    for _ in range(epochs):
        for chunk in chunks:
            opt.zero_grad()
            loss = sum((torch.sigmoid(w * xs[i]) - ys[i]) ** 2 for i in chunk) / len(chunk)
            loss.backward()
            opt.step()
            path.append(w.item())
    return path


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_momentum_and_adam_on_a_data_set_in_every_mode(optimizer):
    explanation = explain_problem(load_builtin("example3"), optimizer=optimizer)
    document = explanation.to_dict()
    assert assert_lines_check(document) >= 30
    for mode in ("batch", "stochastic", "minibatch"):
        updates = [eq for eq in explanation.equations("update")
                   if eq.context and eq.context.startswith(mode) and eq.lhs.to_text() == "w_new"]
        assert [float(eq.value) for eq in updates] == pytest.approx(_torch_mode(mode, optimizer), abs=1e-13)
        assert explanation.summary["modes"][mode]["parameters"]["w"] == pytest.approx(
            _torch_mode(mode, optimizer)[-1], abs=1e-13)
    states = [eq for eq in explanation.equations("update") if eq.context and eq.context.startswith("stochastic")]
    assert any(eq.lhs.to_text() == "v_w" and "←" in eq.relation for eq in states)  # the state's own equations
    # Several epochs: the optimizer's state carries over from epoch to epoch.
    table = explain_problem(load_builtin("example3"), optimizer=optimizer, steps=3)
    caption = next(i for s in table.sections if s.kind == "steps" for i in s.items).caption
    final = float(caption.split("stochastic: w = ")[1].split(";")[0].replace("−", "-"))
    assert final == pytest.approx(_torch_mode("stochastic", optimizer, epochs=3)[-1], abs=1e-6)
