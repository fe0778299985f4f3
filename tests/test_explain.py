"""The explainer: the seed's numbers, golden outputs, formats, exercises and fuzzing."""

import json
import math
import os
import re
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.cli import main
from chainrule.explain import (
    ProblemError,
    builtin_names,
    explain_problem,
    expression_problem,
    load_builtin,
    load_problem,
)
from chainrule.explain.problems import parse_problem
from chainrule.formula import FormulaSyntaxError, parse

GOLDEN = Path(__file__).parent / "golden"


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def equations(document):
    return [item for section in document["sections"] for item in section["items"] if item["type"] == "equation"]


def by_lhs(document, text, kind=None):
    return [e for e in equations(document) if e["lhs"]["text"] == text and (kind is None or e["kind"] == kind)]


def test_example1_json_carries_the_exact_values(capsys):
    assert main(["explain", "example1", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "chainrule-explanation/1"
    assert by_lhs(document, "ŷ")[0]["value"] == pytest.approx(0.6224593, abs=1e-7)
    assert by_lhs(document, "L", "loss")[0]["value"] == pytest.approx(0.3874556, abs=1e-7)
    assert by_lhs(document, "∂L/∂w")[0]["value"] == pytest.approx(0.2925605, abs=1e-7)
    assert by_lhs(document, "w_new")[0]["value"] == pytest.approx(0.4707439, abs=1e-7)
    assert by_lhs(document, "L", "check")[0]["value"] == pytest.approx(0.3789139, abs=1e-7)
    assert document["summary"]["new_loss"] == pytest.approx(0.3789139, abs=1e-7)
    assert document["summary"]["went_down"] is True


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_example1_shows_the_seeds_rounded_numbers(fmt, capsys):
    assert main(["explain", "example1", "--format", fmt, "--color", "never"]) == 0
    out = capsys.readouterr().out
    for number in ("0.622", "0.387", "1.244", "0.235", "0.292", "0.4708"):
        assert re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", out), number
    if fmt == "text":
        assert "∂L/∂w = ∂L/∂ŷ · ∂ŷ/∂z · ∂z/∂w = 1.244 × 0.235 × 1.0 = 0.292" in out
        assert "w_new = w − η · ∂L/∂w = 0.5 − 0.1 × 0.292 = 0.4708" in out
        assert "z = w · x = 0.5 × 1.0 = 0.5" in out


def test_example2_matches_the_seed(capsys):
    assert main(["explain", "example2", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "∂L/∂z = ∂L/∂ŷ · ∂ŷ/∂z = (−1.244) × 0.235 = −0.292" in out
    for line in ("= (−0.292) × 1.0 = −0.292", "= (−0.292) × 2.0 = −0.584",
                 "w1_new = w1 − η · ∂L/∂w1 = 0.5 − 0.1 × (−0.292) = 0.5292",
                 "w2_new = w2 − η · ∂L/∂w2 = −0.5 − 0.1 × (−0.584) = −0.4416",
                 "b_new = b − η · ∂L/∂b = 0.0 − 0.1 × (−0.292) = 0.0292",
                 "z = w1 · x1 + w2 · x2 + b = 0.5 × 1.0 + (−0.5) × 2.0 + 0.0 = −0.5"):
        assert line in out
    assert "0.338" in out and "The loss went down" in out


def test_example3_narrates_batch_and_stochastic(capsys):
    assert main(["explain", "example3", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    modes = document["summary"]["modes"]
    assert modes["batch"]["parameters"]["w"] == pytest.approx(0.502740, abs=1e-6)
    assert modes["stochastic"]["parameters"]["w"] == pytest.approx(0.510201, abs=1e-6)
    assert modes["batch"]["shown"]["w"] == 0.5028
    assert modes["stochastic"]["updates"] == 3
    text = explain_problem(load_builtin("example3")).to_text()
    for number in ("0.622", "0.731", "0.818", "0.292", "0.5028", "0.4708", "0.510201", "0.50274"):
        assert number in text, number
    assert "∂L2/∂w" in text and "∂L/∂w = (∂L1/∂w + ∂L2/∂w + ∂L3/∂w)/3" in text


@pytest.mark.parametrize("name", ["example1", "example2", "example3"])
@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_golden_output(name, fmt):
    explanation = explain_problem(load_builtin(name))
    text = explanation.to_text() if fmt == "txt" else explanation.to_markdown()
    path = GOLDEN / f"{name}.{fmt}"
    if os.environ.get("CHAINRULE_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path} changed; rerun with CHAINRULE_UPDATE_GOLDEN=1"


def _balanced(latex: str) -> bool:
    depth = 0
    for char in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    lefts = len(re.findall(r"\\left(?![a-z])", latex))
    rights = len(re.findall(r"\\right(?![a-z])", latex))
    return depth == 0 and lefts == rights and latex.count(r"\begin{") == latex.count(r"\end{")


@pytest.mark.parametrize("name", ["example1", "example2", "example3"])
def test_markdown_is_valid_and_its_latex_balanced(name):
    from markdown_it import MarkdownIt

    markdown = explain_problem(load_builtin(name)).to_markdown()
    lines = markdown.split("\n")
    assert lines.count("$$") % 2 == 0
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", markdown, flags=re.S | re.M)
    assert blocks and len(blocks) * 2 == lines.count("$$")
    for block in blocks:
        assert "$" not in block and _balanced(block), block
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert any(t.type == "heading_open" for t in tokens)
    if name == "example3":
        assert any(t.type == "table_open" for t in tokens)


def test_multi_path_gradient_is_the_sum_of_the_paths():
    # float64, so the engine's own backward matches the explainer's (always float64) to 1e-12
    w = cr.tensor(0.5, requires_grad=True, name="w", dtype=cr.float64)
    x = cr.tensor(2.0, name="x", dtype=cr.float64)
    a = cr.sigmoid(w * x)
    a.name = "a"
    b = cr.tanh(w)
    b.name = "b"
    loss = (a + b - 1.0) ** 2
    explanation = cr.explain(loss, lr=0.1)
    chain = [e for e in explanation.equations("chain") if e.node == "w"][0]
    assert chain.forms[0].expr.to_text() == "∂L/∂a · ∂a/∂v1 · ∂v1/∂w + ∂L/∂b · ∂b/∂w"
    assert "along 2 paths" in chain.note
    loss.backward()
    assert chain.value == pytest.approx(w.grad.item(), abs=1e-12)
    assert abs(chain.shown - chain.value) < 2e-3


def test_tensor_model_shows_shapes_and_matrix_forms(tmp_path):
    problem = tmp_path / "mlp.toml"
    problem.write_text("""
title = "A 2-3-1 network"
[model]
kind = "mlp"
sizes = [2, 3, 1]
activation = "tanh"
output = "sigmoid"
seed = 1
[data]
x = [[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]]
y = [1.0, 0.0, 1.0]
[training]
lr = 0.5
""", encoding="utf-8")
    explanation = explain_problem(load_problem(problem))
    text = explanation.to_text()
    assert "(3×2)" in text and "(3×3)" in text and "(1×3)" in text
    assert "∂L/∂W1 = (∂L/∂z1)ᵀ · x" in text
    assert "∂L/∂W2 = (∂L/∂z)ᵀ · h1" in text
    assert "∂L/∂h1 = ∂L/∂z · W2" in text
    document = explanation.to_dict()
    gradient = [e for e in equations(document) if e["lhs"]["text"] == "∂L/∂W1"][0]
    assert np.asarray(gradient["value"]).shape == (3, 2)
    assert document["summary"]["went_down"] is True


def test_gradients_in_the_explanation_are_the_engines():
    problem = load_builtin("example2")
    explanation = explain_problem(problem)
    for name, expected in (("w1", -0.29256), ("w2", -0.58512), ("b", -0.29256)):
        assert explanation.value(f"∂L/∂{name}") == pytest.approx(expected, abs=1e-5)


def test_check_finds_a_planted_wrong_step(tmp_path, capsys):
    answers = tmp_path / "answers.toml"
    answers.write_text('problem = "example1"\n[answers]\n"z" = 0.5\n"yhat" = 0.622\n"L" = 0.387\n'
                       '"dL/dyhat" = 1.244\n"dyhat/dz" = 0.253\n"dL/dw" = 0.297\n', encoding="utf-8")
    assert main(["check", str(answers)]) == 1
    out = capsys.readouterr().out
    assert "first wrong step is '∂ŷ/∂z'" in out
    assert "You wrote 0.253; it should be 0.235" in out
    assert "σ(z)(1 − σ(z)) = 0.622 × (1 − 0.622) = 0.235" in out
    good = tmp_path / "good.toml"
    good.write_text('problem = "example1"\n[answers]\n"dL/dw" = 0.292\n"w_new" = 0.4708\n', encoding="utf-8")
    assert main(["check", str(good)]) == 0
    assert "All your answers are right" in capsys.readouterr().out


def test_examples_lists_the_builtins(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    for name in ("example1", "example2", "example3"):
        assert name in out
    assert {"example1", "example2", "example3"} <= set(builtin_names())


@pytest.mark.parametrize("argv, message", [
    (["explain", "sigmoid(w*x", "--set", "w=0.5", "x=1"], "column 12"),
    (["explain", "foo(w*x)", "--set", "w=0.5", "x=1"], "unknown function 'foo'"),
    (["explain", "w*q", "--set", "w=0.5"], "no value for q"),
    (["explain", "w*x", "--set", "w=abc", "x=1"], "--set w"),
    (["explain", "nope"], "not a built-in example"),
    (["explain", "missing.toml"], "no such file"),
    (["explain", "example1", "--precision", "-1"], "--precision"),
    (["explain", "example1", "--format", "pdf"], "--format"),
    (["check", "missing.toml"], "no such file"),
    (["bogus"], "invalid choice"),
])
def test_bad_command_line_use_is_one_line_and_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        status = main(argv)
        raise SystemExit(status)
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("chainrule: error:") and "\n" not in err and "Traceback" not in err


def test_spec_file_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[model]\nkind = "neuron"\nweights = [0.5]\n[data]\nx = 1.0\ny = 0.0\n[training]\nlr = "fast"\n',
                    encoding="utf-8")
    with pytest.raises(ProblemError, match=r"bad\.toml: \[training\] lr: expected a finite number"):
        load_problem(path)
    path.write_text('[model]\nkind = "neuron"\nweights = [0.5, 1.0]\n[data]\nx = [1.0, 2.0, 3.0]\ny = 0\n',
                    encoding="utf-8")
    with pytest.raises(ProblemError, match=r"\[data\] x: the model takes 2 input"):
        load_problem(path)
    path.write_text("[model\n", encoding="utf-8")
    with pytest.raises(ProblemError, match="not valid TOML"):
        load_problem(path)


def test_graph_picture_formats(tmp_path):
    explanation = explain_problem(load_builtin("example2"))
    dot = explanation.to_dot()
    assert dot.startswith("digraph") and '"w1" -> "z"' in dot and "∂z/∂w2 = x2 = 2.0" in dot
    import shutil

    if shutil.which("dot"):
        svg = explanation.to_svg()
        assert svg.lstrip().startswith(("<?xml", "<svg")) and "w1" in svg
        png = explanation.to_png()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_graphviz_missing_is_a_clear_message(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(SystemExit) as raised:
        raise SystemExit(main(["explain", "example1", "--format", "svg", "-o", str(tmp_path / "g.svg")]))
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "--format dot" in err


def test_jupyter_display_hooks():
    explanation = explain_problem(load_builtin("example1"))
    assert explanation._repr_markdown_().startswith("# Example 1")


# -- random expressions: the explainer's numbers against an independent autodiff ------------------

_UNARY = {"sigmoid": lambda v: 1 / (1 + anp.exp(-v)), "tanh": anp.tanh, "exp": anp.exp,
          "softplus": lambda v: anp.logaddexp(0.0, v)}


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()) and depth < 3:
        return draw(st.sampled_from(["w", "x", "b", "w", "1.5", "0.5"]))
    kind = draw(st.sampled_from(["unary", "+", "-", "*"]))
    if kind == "unary":
        return f"{draw(st.sampled_from(sorted(_UNARY)))}({draw(expressions(depth=depth - 1))})"
    return f"({draw(expressions(depth=depth - 1))} {kind} {draw(expressions(depth=depth - 1))})"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=expressions(), w=st.floats(-1.5, 1.5), b=st.floats(-1, 1), x=st.floats(-2, 2))
def test_random_expressions_give_the_gradient_of_an_independent_autodiff(source, w, b, x):
    names = parse(source).names()
    if "w" not in names:
        source = f"w * {source}"
        names = names | {"w"}
    values = {k: v for k, v in {"w": w, "b": b, "x": x}.items() if k in names}
    problem = expression_problem(source, values, target=0.25, lr=0.05)
    document = explain_problem(problem).to_dict()

    def loss(params):
        env = dict(values)
        env.update(params)
        expr = re.sub(r"\b(sigmoid|tanh|exp|softplus)\(", r"_UNARY['\1'](", source)
        prediction = eval(expr, {"_UNARY": _UNARY}, env)  # test oracle only: the source is generated above
        return (prediction - 0.25) ** 2

    params = {k: values[k] for k in ("w", "b") if k in values}
    expected = grad(loss)(params)
    for name, value in expected.items():
        assert document["summary"]["gradients"][name] == pytest.approx(float(value), rel=1e-9, abs=1e-12)


# -- fuzzing: nothing but a clear error -------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("wxyb0123.+-*/^()@, σŷ∂e$") + ["sigmoid", "exp(", "**", "1e5"]),
               max_size=20).map("".join))
def test_parser_fuzz_gives_an_expression_or_a_syntax_error(source):
    try:
        parse(source)
    except FormulaSyntaxError as error:
        assert 1 <= error.column <= len(source) + 1


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "model", "data", "training", "display", "x"]),
                       st.one_of(toml_values, st.dictionaries(
                           st.sampled_from(["kind", "weights", "bias", "x", "y", "lr", "steps", "loss", "mode",
                                            "sizes", "expression", "parameters", "inputs", "precision"]),
                           toml_values, max_size=5)), max_size=5))
def test_problem_loader_fuzz_gives_a_problem_or_a_clear_error(data):
    data = {k: v for k, v in data.items() if v is not None}
    try:
        problem = parse_problem(data, "fuzz.toml")
    except ProblemError as error:
        assert str(error).startswith("fuzz.toml: ")
        return
    try:
        explain_problem(problem)
    except ProblemError:
        pass


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_update_narration_uses_chainrules_optimizers(optimizer, capsys):
    assert main(["explain", "example2", "--optimizer", optimizer, "--steps", "3", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    # float64, as the explainer computes whatever the default dtype
    params = {n: cr.tensor(v, requires_grad=True, dtype=cr.float64) for n, v in (("w1", 0.5), ("w2", -0.5), ("b", 0.0))}
    make = {"sgd": lambda p: cr.optim.SGD(p, lr=0.1), "momentum": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9),
            "adam": lambda p: cr.optim.Adam(p, lr=0.1)}[optimizer]
    opt = make(list(params.values()))
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (cr.sigmoid(params["w1"] * 1.0 + params["w2"] * 2.0 + params["b"]) - 1.0) ** 2
        losses.append(loss.item())
        loss.backward()
        opt.step()
        if len(losses) == 1:
            first = {n: p.item() for n, p in params.items()}
    for name, value in first.items():
        assert document["summary"]["new_parameters"][name] == pytest.approx(value, abs=1e-12)
        assert by_lhs(document, f"{name}_new")[0]["value"] == pytest.approx(value, abs=1e-12)
    table = [i for s in document["sections"] if s["kind"] == "steps" for i in s["items"]][0]
    assert [float(row[1]) for row in table["rows"]] == pytest.approx(losses, abs=1e-4)
    if optimizer == "adam":
        assert by_lhs(document, "m̂_w1") and by_lhs(document, "v̂_w1")


def test_exact_mode_prints_exact_values_rounded(capsys):
    assert main(["explain", "example1", "--exact", "--color", "never"]) == 0
    out = capsys.readouterr().out
    # Exact values substituted into a line get one digit more than its result, so the line
    # still checks on a calculator: 2 × 0.6225 = 1.245 (the exact 2 × 0.62246 = 1.2449).
    assert "2(0.6225 − 0.0) = 1.245" in out
    assert "= 1.2449 × 0.2350 × 1.0 = 0.293" in out
    assert "w_new = w − η · ∂L/∂w = 0.5 − 0.1 × 0.2926 = 0.4707" in out
    explanation = explain_problem(load_builtin("example1"), exact=True)
    chain = explanation.equations("chain")[0]
    assert chain.shown == pytest.approx(0.2925605, abs=1e-7)
    assert explanation.to_dict()["exact"] is True


_PROGRAM_STEPS = [
    lambda v, rng: cr.tanh(v), lambda v, rng: cr.sigmoid(v) * 2, lambda v, rng: (v * v + 0.5).sqrt(),
    lambda v, rng: cr.softmax(v, axis=-1), lambda v, rng: v.mean(axis=-1, keepdims=True) + v,
    lambda v, rng: v * cr.tensor(rng.uniform(-1, 1, v.shape), requires_grad=True),
    lambda v, rng: cr.maximum(v, cr.tensor(rng.uniform(-1, 1, v.shape), requires_grad=True)),
    lambda v, rng: v @ cr.tensor(rng.uniform(-1, 1, (v.shape[-1], 2)), requires_grad=True),
    lambda v, rng: v.reshape(-1)[::-1].reshape(v.shape), lambda v, rng: v.sum(axis=0, keepdims=True) * v,
]


@pytest.mark.parametrize("seed", range(40))
def test_explain_handles_random_tensor_programs(seed):
    """Any recorded graph explains without error, in every format, with the engine's gradients."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 4, size=rng.integers(1, 3)))
    x = cr.tensor(rng.uniform(-1, 1, shape), requires_grad=True, name="x")
    value = x
    for index in rng.integers(0, len(_PROGRAM_STEPS), size=rng.integers(1, 5)):
        value = _PROGRAM_STEPS[index](value, rng)
    loss = (value * value).mean()
    explanation = cr.explain(loss, lr=0.1)
    for render in ("to_text", "to_markdown", "to_json", "to_dot", "to_html"):
        assert getattr(explanation, render)()
    loss.backward()
    np.testing.assert_allclose(explanation.summary["gradients"]["x"], x.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["neuron", "mlp"])
@pytest.mark.parametrize("samples", [1, 3])
def test_every_activation_and_loss_explains(kind, samples):
    """Each model kind, activation, loss and data size gives an explanation in every format."""
    from chainrule.explain.problems import ACTIVATION_NAMES, LOSSES

    x = [[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]][:samples]
    for activation in ACTIVATION_NAMES:
        for loss in LOSSES:
            output = "sigmoid" if loss == "bce" else activation
            if kind == "neuron" and loss == "bce" and activation != "sigmoid":
                continue
            model = ({"kind": "neuron", "activation": activation, "weights": [0.3, -0.2], "bias": 0.1}
                     if kind == "neuron" else
                     {"kind": "mlp", "sizes": [2, 3, 1], "activation": activation, "output": output, "seed": 1})
            targets = [1.0, 0.0, 1.0][:samples]
            if loss == "cross_entropy":  # a classifier: a softmax over two classes, class indices as targets
                if kind == "neuron":
                    continue
                model.update(sizes=[2, 3, 2], output="softmax")
            problem = parse_problem({"model": model, "data": {"x": x, "y": targets},
                                     "training": {"loss": loss, "lr": 0.1}}, "grid")
            explanation = explain_problem(problem)
            assert explanation.to_text() and explanation.to_markdown() and explanation.to_json()
