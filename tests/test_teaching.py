"""Teaching depth: classification identities, let-bindings, finite-difference checks, definitions and takeaways."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from chainrule.explain import DomainError, explain_problem, expression_problem, load_builtin
from chainrule.explain.problems import ProblemError, parse_problem
from chainrule.formula import FormulaSyntaxError, parse, parse_program

torch = pytest.importorskip("torch")


def _items(document: dict, type_: str | None = None):
    for section in document["sections"]:
        for item in section["items"]:
            if type_ is None or item["type"] == type_:
                yield section, item


# --------------------------------------------------------------------------------------------------------------
# Classification against PyTorch (float64)


@st.composite
def softmax_problems(draw):
    inputs, classes = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    hidden = draw(st.sampled_from([None, 2]))
    sizes = [inputs] + ([hidden] if hidden else []) + [classes]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    weights = [np.round(rng.uniform(-1, 1, (o, i)), 3).tolist() for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.round(rng.uniform(-1, 1, o), 3).tolist() for o in sizes[1:]]
    samples = draw(st.integers(1, 3))
    x = np.round(rng.uniform(-2, 2, (samples, inputs)), 2).tolist()
    y = [int(v) for v in rng.integers(0, classes, samples)]
    return {"model": {"kind": "mlp", "sizes": sizes, "activation": "tanh", "output": "softmax",
                      "weights": weights, "biases": biases},
            "data": {"x": x, "y": y if samples > 1 else y[0]},
            "training": {"loss": "cross_entropy", "lr": 0.5}}


def _torch_softmax(document):
    model, data = document["model"], document["data"]
    h = torch.tensor(np.atleast_2d(np.array(data["x"], dtype=np.float64)))
    params = []
    layers = len(model["weights"])
    for i, (w, b) in enumerate(zip(model["weights"], model["biases"])):
        W = torch.tensor(np.array(w, dtype=np.float64), requires_grad=True)
        B = torch.tensor(np.array(b, dtype=np.float64), requires_grad=True)
        params += [W, B]
        h = h @ W.T + B
        if i < layers - 1:
            h = torch.tanh(h)
    z = h
    z.retain_grad()
    y = torch.tensor(np.atleast_1d(np.array(data["y"], dtype=np.int64)))
    loss = torch.nn.functional.cross_entropy(z, y)
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params], torch.softmax(z, -1).detach().numpy(), z.grad.numpy()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(softmax_problems())
def test_softmax_cross_entropy_matches_pytorch_and_the_identity_matches_the_chain(document):
    explanation = explain_problem(parse_problem(document, "random.toml"))
    data = json.loads(explanation.to_json())
    loss, grads, p, z_grad = _torch_softmax(document)
    assert data["summary"]["loss"] == pytest.approx(loss, rel=1e-10, abs=1e-12)
    layers = len(document["model"]["weights"])
    for i in range(layers):
        np.testing.assert_allclose(data["summary"]["gradients"][f"W{i + 1}"], grads[2 * i], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(data["summary"]["gradients"][f"b{i + 1}"], grads[2 * i + 1], rtol=1e-9, atol=1e-12)
    forward = {item["node"]: item for _, item in _items(data, "equation") if item["kind"] == "forward"}
    np.testing.assert_allclose(np.reshape(forward["p"]["value"], p.shape), p, rtol=1e-10)
    chain = [item for _, item in _items(data, "equation") if item["kind"] == "gradient" and item["node"] == "z"]
    identity = [item for _, item in _items(data, "equation") if item["kind"] == "identity"]
    assert len(chain) == 1 and len(identity) == 1
    # The identity's exact value is the chain's, and PyTorch's; its hand value is p − onehot(y) from the written p.
    np.testing.assert_allclose(identity[0]["value"], chain[0]["value"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.reshape(identity[0]["value"], z_grad.shape), z_grad, rtol=1e-9, atol=1e-12)
    written_p = np.reshape(forward["p"]["shown"], p.shape)
    onehot = np.eye(p.shape[1])[np.atleast_1d(document["data"]["y"])]
    np.testing.assert_allclose(np.reshape(identity[0]["shown"], p.shape), (written_p - onehot) / p.shape[0],
                               atol=10.0 ** -3)
    assert "p − onehot(y)" in identity[0]["text"]
    # The identity line comes right after the chain's ∂L/∂z.
    for section in data["sections"]:
        kinds = [(i.get("kind"), i.get("node")) for i in section["items"]]
        if ("identity", "z") in kinds:
            assert kinds[kinds.index(("identity", "z")) - 1] == ("gradient", "z")


@pytest.mark.parametrize("w, b, x, y", [(0.5, 0.0, 1.0, 1.0), (-1.3, 0.4, 2.0, 0.0), (0.7, -0.2, -1.5, 0.3)])
def test_sigmoid_bce_identity_matches_pytorch(w, b, x, y):
    problem = parse_problem({"model": {"kind": "neuron", "activation": "sigmoid", "weights": [w], "bias": b},
                             "data": {"x": [x], "y": y}, "training": {"loss": "bce", "lr": 0.1}}, "bce")
    data = explain_problem(problem).to_dict()
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = tw * x + tb
    z.retain_grad()
    loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(z), torch.tensor(y, dtype=torch.float64))
    loss.backward()
    assert data["summary"]["loss"] == pytest.approx(loss.item(), rel=1e-12)
    assert data["summary"]["gradients"]["w"] == pytest.approx(tw.grad.item(), rel=1e-10)
    identity = [item for _, item in _items(data, "equation") if item["kind"] == "identity"]
    assert len(identity) == 1 and identity[0]["lhs"]["text"] == "∂L/∂z"
    assert identity[0]["value"] == pytest.approx(z.grad.item(), rel=1e-10, abs=1e-14)
    assert "ŷ − y" in identity[0]["text"]
    # The line checks on a calculator: ŷ − y from the written ŷ.
    yhat = next(item for _, item in _items(data, "equation") if item["node"] == "ŷ" and item["kind"] == "forward")
    assert float(identity[0]["shown_text"].replace("−", "-")) == pytest.approx(
        float(yhat["shown_text"]) - y, abs=1e-12)


def test_the_softmax_example_and_its_refusals():
    text = explain_problem(load_builtin("softmax")).to_text()
    assert "p = softmax(z)" in text and "L = −ln(p[y])" in text and "p − onehot(y)" in text
    with pytest.raises(ProblemError, match="class indices 0 to 2"):
        parse_problem({"model": {"kind": "mlp", "sizes": [2, 3], "output": "softmax", "seed": 0},
                       "data": {"x": [1.0, 2.0], "y": 3}, "training": {"loss": "cross_entropy"}}, "bad")
    with pytest.raises(ProblemError, match="go together"):
        parse_problem({"model": {"kind": "mlp", "sizes": [2, 3], "output": "softmax", "seed": 0},
                       "data": {"x": [1.0, 2.0], "y": 1}, "training": {"loss": "mse"}}, "bad")
    with pytest.raises(ProblemError, match="softmax over several classes"):
        expression_problem("sigmoid(w*x)", {"w": 0.5, "x": 1.0}, target=1.0, loss="cross_entropy")


# --------------------------------------------------------------------------------------------------------------
# Let-bindings


def test_let_bindings_name_a_shared_unit_once():
    source = "h = sigmoid(w1*x + b1); o = sigmoid(w2*h + w3*h + b2); (o - y)^2"
    program = parse_program(source)
    assert [name for name, _ in program.bindings] == ["h", "o"]
    assert program.names() == {"w1", "x", "b1", "w2", "w3", "b2", "y"}
    values = {"w1": 0.5, "x": 1.0, "b1": 0.0, "w2": 0.3, "w3": -0.2, "b2": 0.1, "y": 1.0}
    assert parse_program("h = w*x\nh^2").inline() == parse("(w*x)^2")
    problem = expression_problem(source, values, params=["w1", "b1", "w2", "w3", "b2"], lr=0.1)
    data = explain_problem(problem).to_dict()
    nodes = [item["node"] for _, item in _items(data, "equation") if item["kind"] == "forward"]
    assert nodes.count("h") == 1 and "o" in nodes
    # h reaches the output through w2·h and w3·h: its local derivative is the sum over both paths.
    local = next(item for _, item in _items(data, "equation") if item["kind"] == "local"
                 and item["lhs"]["text"].endswith("/∂h"))
    assert local["forms"][0]["text"] == "w2 + w3"
    # Against the same expression written out in full: the same gradients.
    flat = expression_problem(parse_program(source).inline().to_text().replace("σ", "sigmoid").replace("·", "*")
                              .replace("−", "-").replace("²", "^2"), values,
                              params=["w1", "b1", "w2", "w3", "b2"], lr=0.1)
    flat_grads = explain_problem(flat).summary["gradients"]
    for name in ("w1", "b1", "w2", "w3", "b2"):
        assert data["summary"]["gradients"][name] == pytest.approx(flat_grads[name], rel=1e-12)


@pytest.mark.parametrize("source, message, column", [
    ("h = ; h", "nothing after 'h ='", 4),
    ("h = w*x\nh = 2\nh", "'h' is already defined", 9),
    ("h = h + 1; h", "defined in terms of itself", 1),
    ("w*x; h = 2", "only the last statement", 1),
    ("h = w*)x; h", "expected a number", 7),
    ("sigmoid = 2; 3", "is a function", 1),
    ("o = h*2; h = w; o", "used before it is defined", 1),
])
def test_let_binding_errors_are_one_line_with_a_column(source, message, column):
    with pytest.raises(FormulaSyntaxError) as caught:
        parse_program(source)
    assert message in str(caught.value) and caught.value.column == column and "\n" not in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="hwxyab12 =;+-*/^()\n.", max_size=40))
def test_the_statement_parser_fails_only_with_a_syntax_error(source):
    try:
        program = parse_program(source)
    except FormulaSyntaxError as error:
        assert 1 <= error.column <= len(source) + 1
        return
    assert program.output is not None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["w*x", "w + b", "x - b", "w*w", "x/2 + w"]), min_size=1, max_size=4),
       st.sampled_from([";", "\n", " ; "]))
def test_bound_programs_evaluate_as_their_inlined_expression(parts, separator):
    statements = [f"v{i} = {part}" + (f" + v{i - 1}" if i else "") for i, part in enumerate(parts)]
    program = parse_program(separator.join(statements + [f"v{len(parts) - 1}^2"]))
    env = {"w": 0.7, "x": -1.3, "b": 0.2}
    value = program.inline().evaluate(env)
    running = {}
    for name, expr in program.bindings:
        running[name] = expr.evaluate({**env, **running})
    assert value == pytest.approx(program.output.evaluate({**env, **running}), rel=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Finite-difference checks


def _fd_checks(document: dict):
    return [item for _, item in _items(document, "note") if item.get("check") == "finite_difference"]


from test_number_model import neuron_problems  # noqa: E402  (the number model's random problems)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(neuron_problems())
@example({"model": {"kind": "neuron", "activation": "leaky_relu", "weights": [0.0], "bias": False},
          "data": {"x": [15.0], "y": 0.0}, "training": {"loss": "mse", "lr": 0.01}})  # the kink at z = 0
@example({"model": {"kind": "neuron", "activation": "sigmoid", "weights": [-1.25, 0.0], "bias": False},
          "data": {"x": [2.5, 421.0], "y": 0.0}, "training": {"loss": "mse", "lr": 0.01}})  # needs h = 1e-7
@example({"model": {"kind": "neuron", "activation": "sigmoid", "weights": [0.0, -2.0], "bias": False},
          "data": {"x": [0.0, -9.0], "y": 0.0}, "training": {"loss": "bce", "lr": 0.01}})  # a noisy ln(1 − σ(18))
@example({"model": {"kind": "neuron", "activation": "sigmoid", "weights": [2.0], "bias": False},
          "data": {"x": [13.0], "y": 0.0}, "training": {"loss": "bce", "lr": 0.01}})  # ln(1 − σ(26)): long double
def test_finite_difference_lines_agree_with_the_gradients(document):
    assume(not isinstance(document["data"]["y"], list))  # one sample: the step-by-step derivation
    try:
        explanation = explain_problem(parse_problem(document, "random.toml"))
    except DomainError:
        assume(False)
    data = explanation.to_dict()
    checks = _fd_checks(data)
    gradients = data["summary"]["gradients"]
    parameters = [n for n in gradients if n.startswith(("w", "b"))]
    assert sorted(c["parameter"] for c in checks) == sorted(parameters)
    values = {item["node"]: item["value"] for _, item in _items(data, "equation")
              if item["kind"] in ("forward", "given") and item["node"]}
    for check in checks:
        scale = max(1.0, abs(gradients[check["parameter"]]))
        assert check["gradient"] == gradients[check["parameter"]]
        assert check["agrees"] == (abs(check["estimate"] - check["gradient"]) <= 1e-5 * (scale + 1e-3 * abs(
            data["summary"]["loss"])))
        assert check["h"] in (1e-5, 1e-6, 1e-7, 1e-4, 1e-3)
        if check["agrees"]:
            assert "✓" in check["text"]
            continue
        # A disagreement only where a kink lies within h of the point: ReLU's at z = 0, |·|'s at ŷ = y.
        assert check["kind"] == "bad" and "✗" in check["text"]
        near_relu = document["model"]["activation"] in ("relu", "leaky_relu") and abs(values.get("z", 1.0)) < 1e-3
        near_l1 = document["training"]["loss"] == "l1" and abs(values.get("ŷ", 1.0) - values.get("y", 0.0)) < 1e-3
        assert near_relu or near_l1, check


def test_a_wrong_gradient_is_flagged_loudly():
    import chainrule as cr
    from chainrule.explain.fdcheck import check_note
    from chainrule.explain.graph import trace

    w = cr.tensor(np.float64(0.5), requires_grad=True, name="w")
    loss = (cr.sigmoid(w * 1.0) - 0.0) ** 2
    graph = trace(loss)
    note = check_note(graph, graph.node(w), 0.5, 3)  # backpropagation would give 2σ(0.5)σ′(0.5) = 0.29256
    assert not note.agrees and note.kind == "bad" and "✗" in note.text and "disagree" in note.text
    assert note.fields()["estimate"] == pytest.approx(2 * 0.6224593312 * 0.2350037122, rel=1e-8)


def test_checks_are_in_every_format():
    explanation = explain_problem(load_builtin("example1"))
    assert "finite-difference check: (L(w + h) − L(w − h)) / 2h with h = 0.00001: 0.29256 ✓" in explanation.to_text()
    assert "finite-difference check" in explanation.to_markdown()
    assert "finite-difference check" in explanation.to_html() and "cr-note-check" in explanation.to_html()
    check = _fd_checks(json.loads(explanation.to_json()))[0]
    assert check["h"] == 1e-5 and check["agrees"] is True and not check["along_gradient"]
    assert math.isclose(check["estimate"], check["gradient"], rel_tol=1e-8)


# --------------------------------------------------------------------------------------------------------------
# Definitions, notes and takeaways


def test_only_the_functions_used_are_defined():
    data = explain_problem(load_builtin("example1")).to_dict()
    definitions = next(s for s in data["sections"] if s["kind"] == "definitions")
    texts = " ".join(i["text"] for i in definitions["items"])
    assert "σ(z) = 1/(1 + e^(−z))" in texts and "σ(z)(1 − σ(z))" in texts and "(ŷ − y)²" in texts
    assert "tanh" not in texts and "relu" not in texts
    assert data["sections"][1]["kind"] == "definitions" and data["sections"][-1]["kind"] == "takeaways"
    tanh = expression_problem("tanh(w*x)", {"w": 0.5, "x": 1.0}, target=0.0)
    texts = " ".join(i["text"] for s in explain_problem(tanh).to_dict()["sections"] if s["kind"] == "definitions"
                     for i in s["items"])
    assert "1 − tanh²(z)" in texts and "σ" not in texts


def test_notes_say_what_the_numbers_mean():
    text = explain_problem(load_builtin("example1")).to_text()
    assert "The prediction is higher than the true label" in text
    assert "Positive: increasing w would increase the loss, so gradient descent decreases w" in text
    assert "multiply swaps" in text
    takeaways = text.split("Key takeaways")[1]
    assert "from 0.387 to 0.379" in takeaways and "finite-difference" in takeaways
    relu = explain_problem(expression_problem("relu(w*x)", {"w": 0.5, "x": -1.0}, target=1.0)).to_text()
    assert "dead ReLU" in relu


# --------------------------------------------------------------------------------------------------------------
# The command line and the API


def test_cli_classifies_with_a_class_index_target(capsys):
    from cli_helpers import one_line, run_cli

    status, out, _ = run_cli(capsys, "explain", "softmax", "--target", "0")
    assert status == 0 and "y = 0   (target)" in out and "p − onehot(y) = [[0.261, 0.525, 0.214]] − onehot(0)" in out
    assert "= [[−0.739, 0.525, 0.214]]" in out
    status, out, _ = run_cli(capsys, "explain", "example1", "--target", "1", "--loss", "bce")
    assert status == 0 and "∂L/∂z = ŷ − y = 0.622 − 1.0 = −0.378" in out
    assert "The seed document writes" not in out  # the seed's numbers are for its own target
    assert "squared error" not in out  # nor is the file's description, which names its own loss
    for argv, fragments in [
        (("softmax", "--target", "3"), ("--target", "class indices 0 to 2")),
        (("softmax", "--target", "1.5"), ("--target", "class indices")),
        (("example1", "--loss", "cross_entropy"), ("softmax output and the cross-entropy loss go together",)),
        (("example3", "--target", "1"), ("one sample", "data set")),
        (("sigmoid(w*x)", "--set", "w=0.5", "x=1", "--target", "1", "--loss", "cross_entropy"),
         ("softmax over several classes",)),
    ]:
        status, _, err = run_cli(capsys, "explain", *argv)
        assert status != 0
        one_line(err, *fragments)


def test_the_api_explains_a_softmax_classifier():
    import chainrule as cr
    from chainrule.explain import softmax_cross_entropy

    x = cr.tensor(np.array([[1.0, 2.0]]), name="x")
    W = cr.tensor(np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]]), requires_grad=True, name="W")
    b = cr.tensor(np.array([0.0, 0.1, -0.1]), requires_grad=True, name="b")
    explanation = cr.explain(softmax_cross_entropy(x @ W.T + b, [2]), lr=0.5)
    identity = explanation.equations("identity")
    assert len(identity) == 1
    tz = torch.tensor([[0.1, 0.8, -0.1]], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(tz, torch.tensor([2])).backward()
    np.testing.assert_allclose(np.reshape(identity[0].value, (1, 3)), tz.grad.numpy(), rtol=1e-12)
    text = explanation.to_text()
    assert "p = softmax(z)" in text and "finite-difference check" in text and "Key takeaways" in text


def test_a_layer_level_sigmoid_bce_identity_equals_the_chain():
    problem = parse_problem({"model": {"kind": "mlp", "sizes": [2, 2, 1], "activation": "tanh", "output": "sigmoid",
                                       "seed": 3},
                             "data": {"x": [[1.0, 2.0], [0.5, -1.0]], "y": [1, 0]},
                             "training": {"loss": "bce", "lr": 0.5}}, "mlp-bce")
    data = explain_problem(problem).to_dict()
    identity = [item for _, item in _items(data, "equation") if item["kind"] == "identity"]
    assert len(identity) == 1 and identity[0]["lhs"]["text"] == "∂L/∂z" and "(ŷ − y)/2" in identity[0]["text"]
    np.testing.assert_allclose(identity[0]["value"], data["summary"]["gradients"]["z"], rtol=1e-12, atol=1e-15)
    yhat = next(item for _, item in _items(data, "equation") if item["node"] == "ŷ" and item["kind"] == "forward")
    np.testing.assert_allclose(identity[0]["value"], (np.array(yhat["value"]) - [[1.0], [0.0]]) / 2, rtol=1e-12)


@pytest.mark.parametrize("x", [14.5, 18.5])
def test_a_cross_entropy_float64_cannot_hold_is_refused_in_one_line(x):
    """σ(37) rounds to 1 − 1.1e-16, so ln(1 − ŷ) would give a loss of 36.737 for the true 37.000."""
    document = {"model": {"kind": "neuron", "activation": "sigmoid", "weights": [2.0], "bias": False},
                "data": {"x": [x], "y": 0.0}, "training": {"loss": "bce", "lr": 0.01}}
    with pytest.raises(DomainError, match="cannot be computed in float64.*bce_with_logits") as raised:
        explain_problem(parse_problem(document, "saturated.toml"))
    assert "\n" not in str(raised.value)
    document["model"]["activation"], document["training"]["loss"] = "identity", "bce_with_logits"
    data = explain_problem(parse_problem(document, "logits.toml")).to_dict()
    assert data["summary"]["loss"] == pytest.approx(2 * x, rel=1e-12)


def test_published_circuits_of_cs231n_give_their_gradients():
    """CS231n's backpropagation notes: (x + y)·z at x = −2, y = 5, z = −4, and the 2-d sigmoid neuron with
    w = (2, −3, −3), x = (−1, −2). Their gradients, and a takeaway that names a tie instead of picking one."""
    problem = expression_problem("q = x + y; q*z", {"x": -2.0, "y": 5.0, "z": -4.0}, params=["x", "y", "z"])
    data = explain_problem(problem).to_dict()
    assert data["summary"]["gradients"]["x"] == -4.0 and data["summary"]["gradients"]["y"] == -4.0
    assert data["summary"]["gradients"]["z"] == 3.0 and data["summary"]["gradients"]["q"] == -4.0
    takeaway = " ".join(i["text"] for s in data["sections"] if s["kind"] == "takeaways" for i in s["items"])
    assert "most sensitive to x and y (|∂f/∂x| = |∂f/∂y| = 4.0)" in takeaway
    values = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    problem = expression_problem("1/(1+exp(-(w0*x0+w1*x1+w2)))", values, params=list(values))
    gradients = explain_problem(problem).to_dict()["summary"]["gradients"]
    f = 1 / (1 + math.exp(-1.0))
    expected = {"w0": -1.0, "x0": 2.0, "w1": -2.0, "x1": -3.0, "w2": 1.0}  # ∂(w·x)/∂·, times σ'(1)
    for name, factor in expected.items():
        assert gradients[name] == pytest.approx(factor * f * (1 - f), rel=1e-12)
    assert round(gradients["x0"], 3) == 0.393 and round(gradients["w0"], 3) == -0.197


@pytest.mark.parametrize("mode", ["compare", "batch", "stochastic", "minibatch"])
def test_a_data_set_narration_has_definitions_a_checked_gradient_and_takeaways(mode):
    document = {"model": {"kind": "neuron", "activation": "tanh", "weights": [0.3, -0.2], "bias": 0.1},
                "data": {"x": [[1.0, 2.0], [0.5, -1.0], [-1.5, 0.5], [2.0, 0.0]], "y": [0.5, -0.2, 0.1, 0.9]},
                "training": {"loss": "mse", "lr": 0.1, "mode": mode, "batch_size": 2}}
    data = explain_problem(parse_problem(document, "four.toml")).to_dict()
    kinds = [s["kind"] for s in data["sections"]]
    assert kinds[1] == "definitions" and kinds[-1] == "takeaways"
    checks = _fd_checks(data)
    assert sorted(c["parameter"] for c in checks) == ["b", "w1", "w2"]
    # the check differentiates the mean loss of the samples the first averaged gradient covers
    samples = {"compare": 4, "batch": 4, "minibatch": 2, "stochastic": 1}[mode]
    x, y = np.array(document["data"]["x"][:samples]), np.array(document["data"]["y"][:samples])
    w = np.array([0.3, -0.2])
    pred = np.tanh(x @ w + 0.1)
    exact = {"w1": np.mean(2 * (pred - y) * (1 - pred ** 2) * x[:, 0]),
             "w2": np.mean(2 * (pred - y) * (1 - pred ** 2) * x[:, 1]),
             "b": np.mean(2 * (pred - y) * (1 - pred ** 2))}
    for check in checks:
        assert check["agrees"] and "✓" in check["text"]
        assert check["gradient"] == pytest.approx(exact[check["parameter"]], rel=1e-12)
        assert check["estimate"] == pytest.approx(exact[check["parameter"]], rel=1e-6)
    takeaways = " ".join(i["text"] for i in data["sections"][-1]["items"])
    assert "one pass took the mean loss from" in takeaways


def test_a_frozen_parameter_is_labelled_as_such():
    document = {"model": {"kind": "neuron", "activation": "sigmoid", "weights": [0.5], "bias": 0.2},
                "data": {"x": [1.0], "y": 0.0}, "training": {"lr": 0.1, "frozen": ["b"]}}
    text = explain_problem(parse_problem(document, "frozen.toml")).to_text()
    assert "b = 0.2   (frozen: given, never updated)" in text and "b_new" not in text


def test_a_published_linear_network_step_gives_its_updated_weights():
    """The hmkcode "backpropagation step by step" network: inputs 2 and 3, two linear hidden units, one
    linear output, E = ½(out − target)², target 1, η = 0.05. Its published weights after one step."""
    values = {"i1": 2.0, "i2": 3.0, "w1": 0.11, "w2": 0.21, "w3": 0.12, "w4": 0.08, "w5": 0.14, "w6": 0.15,
              "t": 1.0}
    problem = expression_problem("h1 = w1*i1 + w2*i2; h2 = w3*i1 + w4*i2; o = w5*h1 + w6*h2; 0.5*(o - t)^2",
                                 values, params=["w1", "w2", "w3", "w4", "w5", "w6"], lr=0.05)
    data = explain_problem(problem).to_dict()
    assert round(data["summary"]["loss"], 3) == 0.327
    published = {"w1": 0.12133, "w2": 0.22699, "w3": 0.13214, "w4": 0.09820, "w5": 0.17438, "w6": 0.16942}
    for name, value in published.items():
        assert round(data["summary"]["new_parameters"][name], 5) == value, name
    update = next(s for s in data["sections"] if s["kind"] == "update")
    assert "∂f/∂p" in update["intro"]
