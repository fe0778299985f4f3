"""The explainer at size: no recursion limit, right numbers, and one-line refusals beyond the documented limits.

Sizes are moderate (hundreds of terms, samples and operations) so the file runs in seconds; each would have
hit Python's recursion limit or taken minutes before the explainer walked its trees with explicit stacks.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explain import ProblemError, explain_problem, expression_problem
from chainrule.explain.limits import MAX_NODES, MAX_SAMPLES, ExplainTooLarge
from chainrule.explain.modes import SAMPLES_IN_FULL
from chainrule.explain.numbers import half_unit
from chainrule.explain.problems import parse_problem
from chainrule.formula import Bin, Num, Var, parse


def _equations(explanation, kind=None):
    data = json.loads(explanation.to_json())  # strict: the JSON must parse
    return [item for section in data["sections"] for item in section["items"]
            if item["type"] == "equation" and (kind is None or item["kind"] == kind)]


def _value(explanation, lhs_text):
    for item in _equations(explanation):
        if item["lhs"]["text"] == lhs_text:
            return item["value"]
    raise KeyError(lhs_text)


def _deepest(markup: str) -> int:
    """How deep the elements of some markup nest."""
    depth = deepest = 0
    for closing, self_closing in re.findall(r"<(/?)[a-z]+[^>]*?(/?)>", markup):
        if closing:
            depth -= 1
        elif not self_closing:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _render_everything(explanation, html: bool = True):
    renders = [explanation.to_text, explanation.to_markdown, explanation.to_json] + ([explanation.to_html] * html)
    for render in renders:
        assert render()


# -- the formula language ------------------------------------------------------------------------------


def test_parentheses_nested_500_deep_parse_render_evaluate_and_simplify():
    source = "x"
    for _ in range(500):
        source = f"({source} + 1)*0.5"
    expr = parse(source)
    expected = 1.5
    for _ in range(500):
        expected = (expected + 1) * 0.5
    assert expr.evaluate({"x": 1.5}) == pytest.approx(expected)
    text = expr.to_text()
    assert text.count("(") == 500 and text.startswith("(" * 500)
    assert expr.to_latex().count(r"\left(") == 500
    assert expr.to_mathml({"x": 1.5}).count("<mo>(</mo>") == 500
    assert expr.simplify().names() == {"x"}
    assert expr.substitute({"x": Num(2.0)}).evaluate({}) == pytest.approx(
        parse(source.replace("x", "2")).evaluate({}))


def test_a_3000_term_sum_parses_left_to_right_and_renders_flat():
    terms = [f"w{i}*x{i}" for i in range(3000)]
    expr = parse(" + ".join(terms) + " - 1")
    assert isinstance(expr, Bin) and expr.op == "-" and expr.right == Num(1.0)
    assert expr.to_text() == " + ".join(f"w{i} · x{i}" for i in range(3000)) + " − 1"
    assert expr.evaluate({**{f"w{i}": 1.0 for i in range(3000)}, **{f"x{i}": 2.0 for i in range(3000)}}) == 5999.0
    # MathML keeps one row for the whole sum (a page re-parses it, and nesting would be 3,000 deep).
    assert _deepest(expr.to_mathml()) == 5  # the row, a product, w₀ (msub), its index row, the digit


def test_deep_unary_minus_and_power_towers_do_not_recurse():
    assert parse("-" * 2000 + "x").evaluate({"x": 3.0}) == 3.0
    tower = parse("^".join(["1"] * 2000))
    assert tower.evaluate({}) == 1.0 and tower.simplify() == Num(1.0)


def test_the_parser_still_reports_the_column_and_the_reason():
    with pytest.raises(ValueError, match=r"expected '\)', found end of input at column 6"):
        parse("((a+b")
    with pytest.raises(ValueError, match=r"unexpected token, found '<' at column 7"):
        parse("a < b < c")
    with pytest.raises(ValueError, match=r"max\(\) takes 2 argument\(s\), got 1 at column 1"):
        parse("max(a)")
    assert parse("-a^2*b") == Bin("*", parse("-(a^2)"), Var("b"))
    assert parse("2^-3^2") == Bin("^", Num(2.0), parse("-(3^2)"))


# -- expressions through the command line's expression mode ----------------------------------------------


def _sum_values(terms):
    values = {}
    for i in range(1, terms + 1):
        values[f"w{i}"] = round(0.01 * (i % 7) - 0.03, 2)
        values[f"x{i}"] = round(0.1 * (i % 5) + 0.1, 1)
    return values


def test_a_400_term_sum_explains_with_exact_gradients():
    terms = 400
    values = _sum_values(terms)
    expression = " + ".join(f"w{i}*x{i}" for i in range(1, terms + 1))
    explanation = explain_problem(expression_problem(expression, values, target=1.0, lr=0.01))
    prediction = math.fsum(values[f"w{i}"] * values[f"x{i}"] for i in range(1, terms + 1))
    for i in (1, 200, 400):  # ∂L/∂wᵢ = 2(ŷ − y)·xᵢ
        assert _value(explanation, f"∂L/∂w{i}") == pytest.approx(2 * (prediction - 1.0) * values[f"x{i}"], rel=1e-12)
    assert explanation.to_text().count("\n") > 4 * terms


def test_200_nested_parentheses_explain_with_the_finite_difference_gradient():
    expression = "w*x"
    for _ in range(200):
        expression = f"({expression} + 1)*0.99"
    problem = expression_problem(expression, {"w": 0.5, "x": 1.5}, target=1.0, lr=0.1)
    explanation = explain_problem(problem)
    _render_everything(explanation)

    def loss(w):
        value = w * 1.5
        for _ in range(200):
            value = (value + 1) * 0.99
        return (value - 1.0) ** 2

    h = 1e-6
    assert _value(explanation, "∂L/∂w") == pytest.approx((loss(0.5 + h) - loss(0.5 - h)) / (2 * h), rel=1e-6)


def test_a_long_expression_is_parsed_never_opened(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w*x").write_text("not a problem file", encoding="utf-8")  # a file named like the expression
    assert main(["explain", "w*x", "--set", "w=0.5", "x=2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["loss"] == 1.0
    terms = 40
    expression = " + ".join(f"w{i}*x{i}" for i in range(1, terms + 1))
    assert len(expression) > 300
    settings = [f"{k}={v}" for k, v in _sum_values(terms).items()]
    assert main(["explain", expression, "--set", *settings, "--target", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["title"].startswith("Explaining w1*x1")
    assert main(["explain", "w/x", "--set", "w=1", "x=4", "--format", "json"]) == 0  # a division, not a path
    assert json.loads(capsys.readouterr().out)["summary"]["loss"] == 0.25


def test_a_name_too_long_for_a_file_is_one_line(capsys):
    with pytest.raises(SystemExit) as raised:
        raise SystemExit(main(["explain", "a" * 300]))
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule: error:") and "not a built-in example" in err and "\n" not in err


# -- graphs recorded through the Python API -----------------------------------------------------------------


def test_a_500_op_chain_explains_and_renders_with_the_engine_gradient():
    w = cr.tensor(0.5, requires_grad=True, name="w", dtype=cr.float64)  # the explainer's own precision
    v = w * 1.0
    for _ in range(250):
        v = cr.tanh(v) * 1.01
    loss = (v - 1.0) ** 2
    explanation = cr.explain(loss, lr=0.1)
    _render_everything(explanation, html=False)  # (the page's depth is tested with the parentheses)
    loss.backward()
    assert explanation.summary["gradients"]["w"] == pytest.approx(float(w.grad.data), rel=1e-12)
    # Paths this long are written as backpropagation's running sums: one short line per value.
    chain = _equations(explanation, "chain")
    assert len(chain) == 1 and "∂L/∂" in chain[0]["text"] and chain[0]["text"].count("∂") < 12


def test_one_parameter_used_300_times_is_one_local_derivative():
    w = cr.tensor(0.5, requires_grad=True, name="w", dtype=cr.float64)  # the explainer's own precision
    total = w * 0.0
    for i in range(1, 300):
        total = total + w * float(i)
    explanation = cr.explain(total, lr=0.001)
    local = _equations(explanation, "local")
    assert [item["lhs"]["text"] for item in local] == ["∂L/∂w"]
    assert local[0]["value"] == sum(range(300)) and local[0]["forms"] == []  # constants folded to one number


# -- data sets ----------------------------------------------------------------------------------------------


def _neuron_problem(samples, mode):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(samples, 2)).round(2)
    y = (x[:, 0] > 0).astype(float)
    return parse_problem({"model": {"kind": "neuron", "weights": [0.5, -0.5], "bias": 0.1},
                          "data": {"x": x.tolist(), "y": y.tolist()},
                          "training": {"lr": 0.5, "mode": mode}}, "scale-test")


def _sample_gradient(problem, weights, index):
    """The engine's gradient of one sample's loss at ``weights`` (w1, w2, b), recorded independently."""
    w = cr.tensor(np.array(weights[:2]), requires_grad=True)
    b = cr.tensor(weights[2], requires_grad=True, dtype=cr.float64)  # the explainer computes in float64
    x = cr.tensor(problem.x[index])
    loss = (cr.sigmoid((w * x).sum() + b) - float(problem.y[index, 0])) ** 2
    loss.backward()
    return [*w.grad.data.tolist(), float(b.grad.data)]


def _numbers(row):
    return [float(cell.replace("−", "-")) for cell in row]


def test_a_stochastic_pass_over_400_samples_summarises_rows_whose_numbers_are_right():
    problem = _neuron_problem(400, "stochastic")
    explanation = explain_problem(problem)
    data = json.loads(explanation.to_json())
    tables = [item for section in data["sections"] if section["kind"] == "stochastic"
              for item in section["items"] if item["type"] == "table"]
    (table,) = tables
    assert len(table["rows"]) == 400 - SAMPLES_IN_FULL
    previous_after = None
    for row in table["rows"][::37]:
        sample = int(row[0]) - 1
        at, gradient, after = _numbers(row[1:4]), _numbers(row[4:7]), _numbers(row[7:10])
        for shown, exact in zip(gradient, _sample_gradient(problem, at, sample)):
            assert abs(shown - exact) <= half_unit(f"{shown}") * 1.0001 + 1e-15
        for p, g, new in zip(at, gradient, after):  # the update is computed from the numbers in the row
            assert abs(new - (p - 0.5 * g)) <= half_unit(f"{new}") * 1.0001 + 1e-15
    rows = table["rows"]
    for before, row in zip(rows, rows[1:]):  # each row starts where the previous one ended
        assert row[1:4] == before[7:10]
    previous_after = _numbers(rows[-1][7:10])
    shown = data["summary"]["modes"]["stochastic"]["shown"]
    assert [shown["w1"], shown["w2"], shown["b"]] == previous_after
    # The exact path is the engine's own stochastic pass.
    weights = [0.5, -0.5, 0.1]
    for i in range(400):
        weights = [p - 0.5 * g for p, g in zip(weights, _sample_gradient(problem, weights, i))]
    exact = data["summary"]["modes"]["stochastic"]["parameters"]
    assert [exact["w1"], exact["w2"], exact["b"]] == pytest.approx(weights, rel=1e-10, abs=1e-12)


def test_a_batch_pass_over_600_samples_averages_every_gradient():
    problem = _neuron_problem(600, "batch")
    explanation = explain_problem(problem)
    assert explanation.to_text().count("\n") < 3 * 600 + 200  # the data, a few derivations and one table
    batch = [item for item in _equations(explanation, "batch")]
    exact = np.mean([_sample_gradient(problem, [0.5, -0.5, 0.1], i) for i in range(600)], axis=0)
    assert [item["value"] for item in batch] == pytest.approx(exact.tolist(), rel=1e-12)


# -- limits -------------------------------------------------------------------------------------------------


def _refused(argv, capsys, words):
    with pytest.raises(SystemExit) as raised:
        raise SystemExit(main(argv))
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule: error:") and "\n" not in err and "Traceback" not in err
    for word in words:
        assert word in err


def test_more_samples_than_the_limit_are_refused_in_one_line(tmp_path, capsys):
    x = np.zeros((MAX_SAMPLES + 1, 1)).tolist()
    path = tmp_path / "big.toml"
    path.write_text(f'[model]\nweights = [0.5]\n[data]\nx = {x}\ny = {[0.0] * (MAX_SAMPLES + 1)}\n'
                    '[training]\nlr = 0.1\n', encoding="utf-8")
    _refused(["explain", str(path)], capsys, [f"{MAX_SAMPLES + 1:,} samples", f"{MAX_SAMPLES:,}", "chainrule train"])


def test_a_graph_larger_than_the_limit_is_refused_in_one_line(capsys):
    terms = MAX_NODES // 4 + 10
    expression = "+".join(f"w{i}*x{i}" for i in range(terms))
    settings = [f"w{i}=0.1" for i in range(terms)] + [f"x{i}=1" for i in range(terms)]
    _refused(["explain", expression, "--set", *settings], capsys, ["values and operations", f"{MAX_NODES:,}"])
    w = cr.tensor(0.5, requires_grad=True)
    total = w * 1.0
    for _ in range(MAX_NODES):
        total = total * 1.0
    with pytest.raises(ExplainTooLarge, match="more than the 5,000"):
        cr.explain(total)
    assert issubclass(ExplainTooLarge, ValueError) and not issubclass(ExplainTooLarge, ProblemError)


def test_a_value_with_many_consumers_sums_every_one_of_them():
    w = cr.tensor(0.5, requires_grad=True, name="w", dtype=cr.float64)  # the explainer's own precision
    total = cr.tanh(w * 0.1)
    for i in range(2, 8):  # seven uses of w, each through its own tanh: more paths than the chain rule lists
        total = total + cr.tanh(w * (0.1 * i))
    explanation = cr.explain(total)
    total.backward()
    (line,) = [item for item in _equations(explanation, "chain") if item["lhs"]["text"] == "∂L/∂w"]
    assert line["value"] == pytest.approx(float(w.grad.data), rel=1e-12)
    assert line["forms"][-1]["text"].count("×") == 7  # one product per consumer, none left out
    assert abs(line["shown"] - line["value"]) < 0.01
    assert "7 paths" in line["note"]
