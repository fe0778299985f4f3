"""Problems the explainer must refuse, each with one line naming the cause (exit 2), and no numpy warning."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from chainrule.cli import main
from chainrule.explain import DomainError, explain_problem, expression_problem, load_builtin


@pytest.mark.parametrize("argv, says", [
    (["w*x", "--set", "w=1", "x=2", "--target", "1", "--loss", "bce", "--lr", "0.1"],
     "binary cross-entropy needs a prediction strictly between 0 and 1"),
    (["sigmoid(w*x)", "--set", "w=1", "x=1", "--target", "5", "--loss", "bce"], "target must be between 0 and 1"),
    (["log(w*x)", "--set", "w=-1", "x=1", "--lr", "0.1"], "ln needs a positive number"),
    (["log(w*x)", "--set", "w=0.5", "x=-3"], "its argument here is −1.5"),
    (["sqrt(w)", "--set", "w=0", "--lr", "0.1"], "√ has an infinite slope at 0"),
    (["sqrt(w*x)", "--set", "w=-2", "x=1"], "√ needs a number ≥ 0"),
    (["exp(w*x)", "--set", "w=1000", "x=1"], "exp overflows"),
    (["w/x", "--set", "w=1", "x=0"], "division by zero"),
    (["w*x", "--set", "w=1", "x=1", "--target", "0.5", "--loss", "hinge"], "hinge loss needs a class label"),
    (["w", "--set", "w=1"], "is the parameter itself"),
    (["moons"], "run `chainrule train moons`"),
])
def test_refused_with_one_line(capsys, argv, says):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the test
        assert main(["explain", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error:") and says in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_domain_errors_from_python_are_value_errors():
    with pytest.raises(DomainError, match="ln needs a positive number"):
        explain_problem(expression_problem("log(w*x)", {"w": -1.0, "x": 2.0}))
    assert issubclass(DomainError, ValueError)


def test_a_huge_learning_rate_is_called_out_not_praised(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["explain", "example1", "--lr", "1e308", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "is enormous for this problem" in out and "inf" not in out


def test_json_is_strict_and_exact_even_at_extremes():
    explanation = explain_problem(expression_problem("sigmoid(w*x)", {"w": 30.0, "x": 1.0}, target=1.0, lr=0.1))
    document = json.loads(explanation.to_json(), parse_constant=lambda name: pytest.fail(f"bare {name}"))
    for section in document["sections"]:
        for item in section["items"]:
            if item["type"] == "equation":
                assert item["value"] is None or math.isfinite(item["value"])


def test_built_ins_refuse_expression_flags(capsys):
    assert main(["explain", "example1", "--set", "w=3"]) == 2
    assert "error" in capsys.readouterr().err
    assert load_builtin("example1").title.startswith("Example 1")


def test_roles_are_what_the_user_called_them():
    # Inputs are inputs; only y is the target.
    text = explain_problem(expression_problem("w*x - (w*u)", {"w": 0.5, "x": 1.0, "u": 2.0}, lr=0.1)).to_text()
    assert "x = 1.0   (input)" in text and "u = 2.0   (input)" in text and "(target)" not in text
    # No target: a function f, with no Loss section.
    assert "f = w · x − w · u" in text and "Loss" not in text and "∂f/∂w" in text
    # A logit loss takes the pre-activation z; ŷ = σ(z) is never computed.
    logits = explain_problem(expression_problem("w1*x1 + w2*x2", {"w1": 0.5, "w2": -0.5, "x1": 1.0, "x2": 2.0},
                                                target=1.0, loss="bce_with_logits", lr=0.1)).to_text()
    assert "z = w1 · x1 + w2 · x2" in logits and "ŷ" not in logits and "∂L/∂z = σ(z) − y" in logits
    assert "y = 1.0   (target)" in logits


def test_tables_use_typographic_minus_and_keep_their_decimals():
    explanation = explain_problem(expression_problem("w*x", {"w": 0.5, "x": -1.0}, target=1.0, lr=0.1, steps=3))
    table = next(item for s in explanation.sections for item in s.items if hasattr(item, "rows"))
    assert all("-" not in cell for row in table.rows for cell in row)
