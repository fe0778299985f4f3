"""Worksheets and ``check``: right answers accepted, slips diagnosed, follow-through credited, nothing given away.

Every expected number is taken from the explanation's own steps or computed
here in plain Python, never written in by hand: the way numbers are rounded
may change, what check says about them must not.
"""

import math
import re
import shutil
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.explain import explain_problem, expression_problem, load_builtin, load_problem
from chainrule.explain.exercises import answer_steps, build_worksheet, check_answers, worksheet_markdown
from chainrule.explain.exercises.steps import MAX_ELEMENTS

TANH = ("tanh(w*x + b)", {"w": 0.5, "x": 2.0, "b": 0.1}, 1.0, 0.2)  # expression, values, target, lr
TWO_PATHS = ("sigmoid(w*x) * w", {"w": 0.7, "x": 1.5}, 0.2, 0.3)  # w reaches the loss along two paths
NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?(?![\w])")

MLP_TOML = """title = "A small MLP"
[model]
kind = "mlp"
sizes = [2, 2, 1]
activation = "tanh"
output = "sigmoid"
seed = 0
[data]
x = [0.5, -1.0]
y = 1.0
[training]
loss = "mse"
lr = 0.5
"""

DATASET_TOML = """title = "A tanh neuron on four points"
[model]
kind = "neuron"
activation = "tanh"
weights = [0.3]
bias = 0.2
[data]
x = [[1.0], [-0.5], [2.0], [0.5]]
y = [0.5, -0.2, 0.9, 0.1]
[training]
loss = "mse"
lr = 0.2
mode = "compare"
batch_size = 2
"""


def expression(spec):
    source, values, target, lr = spec
    return explain_problem(expression_problem(source, dict(values), target=target, loss=None, lr=lr, params=None))


def builtin(name):
    return explain_problem(load_builtin(name))


def from_file(tmp_path, text, name="problem.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return explain_problem(load_problem(path))


def steps_by_name(explanation):
    return {step.name: step for step in answer_steps(explanation)}


def statuses(result):
    return {verdict.step.name: verdict.status for verdict in result.verdicts}


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def write_answers(path, problem, answers, options=""):
    lines = [f'problem = "{problem}"', options, "[answers]"]
    lines += [f'"{key}" = {value!r}' for key, value in answers.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- right answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: builtin("example1"), lambda: builtin("example2"),
                                  lambda: builtin("example3"), lambda: expression(TANH),
                                  lambda: expression(TWO_PATHS)])
def test_carried_and_exact_answers_are_both_right(make):
    explanation = make()
    steps = answer_steps(explanation)
    carried = check_answers(explanation, {s.name: s.shown for s in steps})
    assert carried.ok and not carried.missing and set(carried.correct) == {s.name for s in steps}
    exact = check_answers(explanation, {s.name: round(s.exact, s.decimals) for s in steps})
    assert exact.ok, exact.report()


def test_an_exact_answer_far_from_the_carried_one_is_right():
    explanation = expression(TWO_PATHS)
    step = steps_by_name(explanation)["w_new"]
    exact = round(step.exact, step.decimals)
    assert abs(exact - step.shown) > step.tolerance  # carrying by hand drifted by more than the tolerance
    assert check_answers(explanation, {"w_new": exact}).ok
    assert not check_answers(explanation, {"w_new": step.shown + 3 * step.tolerance}).ok


def _example3_exact():
    """Example 3's batch gradient and update, from the problem's data in plain Python."""
    w, lr, data = 0.5, 0.1, [(1.0, 0.0), (2.0, 1.0), (3.0, 1.0)]
    grads = [2 * (sigmoid(w * x) - y) * sigmoid(w * x) * (1 - sigmoid(w * x)) * x for x, y in data]
    gradient = sum(grads) / len(grads)
    return gradient, w - lr * gradient


def test_example3_true_batch_gradient_and_update_are_accepted(tmp_path, capsys):
    """Found: −0.0274 (the true batch gradient) was marked wrong, "should be −0.0277"."""
    explanation = builtin("example3")
    steps = steps_by_name(explanation)
    gradient, updated = _example3_exact()
    g_step, w_step = steps["batch: ∂L/∂w"], steps["batch: w"]
    answers = {"batch: ∂L/∂w": round(gradient, g_step.decimals), "batch: w": round(updated, w_step.decimals)}
    assert g_step.exact == pytest.approx(gradient, abs=1e-12) and w_step.exact == pytest.approx(updated, abs=1e-12)
    path = write_answers(tmp_path / "answers.toml", "example3", answers)
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


# -- names -------------------------------------------------------------------------------------------

def test_data_set_steps_are_named_by_where_they_belong_and_old_names_still_work(tmp_path, capsys):
    explanation = builtin("example3")
    steps = answer_steps(explanation)
    names = [s.name for s in steps]
    assert len(names) == len(set(names))
    for name in ("sample 2: ŷ", "batch: ∂L/∂w", "batch: w", "stochastic, sample 1: w", "stochastic, sample 2: w",
                 "stochastic, sample 2: ∂L2/∂w", "minibatch, batch 1: w"):
        assert name in names
    by_name = {s.name: s for s in steps}
    # The old numbered names point at the same steps.
    assert "w #3" in by_name["stochastic, sample 2: w"].aliases
    assert "∂L2/∂w #2" in by_name["stochastic, sample 2: ∂L2/∂w"].aliases
    answers = {"stochastic, sample 2: w": by_name["stochastic, sample 2: w"].shown,
               "w #2": by_name["stochastic, sample 1: w"].shown,
               "dL/dw": by_name["batch: ∂L/∂w"].shown,            # the old ASCII alias of the first ∂L/∂w
               "Stochastic, Sample 2: dL2/dw": by_name["stochastic, sample 2: ∂L2/∂w"].shown,
               "sample 2: yhat": by_name["sample 2: ŷ"].shown}
    result = check_answers(explanation, answers)
    assert result.ok and len(result.correct) == 5
    path = write_answers(tmp_path / "a.toml", "example3", {**answers, "w #9": 0.5})
    assert main(["check", str(path)]) == 1
    assert "Unknown step names: w #9" in capsys.readouterr().out


def test_a_wrong_stochastic_step_is_named_by_its_context(tmp_path, capsys):
    explanation = builtin("example3")
    answers = {s.name: s.shown for s in answer_steps(explanation)}
    answers["stochastic, sample 2: w"] += 0.05
    path = write_answers(tmp_path / "a.toml", "example3", answers)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "first wrong step is 'stochastic, sample 2: w' (Stochastic gradient descent)" in out
    assert "How: w ← w − η · ∂L2/∂w" in out


# -- diagnoses ----------------------------------------------------------------------------------------

def _first_report(explanation, answers):
    result = check_answers(explanation, answers)
    assert result.wrong, "the planted slip was accepted"
    return result, result.report()


@pytest.mark.parametrize("make", [lambda: builtin("example1"), lambda: expression(TANH)])
def test_a_forgotten_factor_2_is_named(make):
    explanation = make()
    step = steps_by_name(explanation)["∂L/∂ŷ"]
    _, report = _first_report(explanation, {"∂L/∂ŷ": step.shown / 2})
    assert "exactly half of" in report and "factor 2 is missing" in report


@pytest.mark.parametrize("make", [lambda: builtin("example1"), lambda: builtin("example2"), lambda: expression(TANH)])
def test_the_sign_of_the_update_is_named(make):
    explanation = make()
    steps = steps_by_name(explanation)
    lr = float(next(eq.shown for eq in explanation.equations("given") if eq.lhs.to_text() == "η"))
    given = {eq.lhs.to_text(): float(eq.shown) for eq in explanation.equations("given")}
    for name, step in steps.items():
        if not name.endswith("_new"):
            continue
        parameter = step.equation.node
        wrong = given[parameter] + lr * steps[f"∂L/∂{parameter}"].shown
        _, report = _first_report(explanation, {name: wrong})
        assert "added the step instead of subtracting it" in report, report


@pytest.mark.parametrize("source", ["example3", "dataset"])
def test_a_sum_instead_of_the_mean_is_named(tmp_path, source):
    explanation = builtin("example3") if source == "example3" else from_file(tmp_path, DATASET_TOML)
    steps = answer_steps(explanation)
    per_sample = [s for s in steps if s.context and s.context.startswith("sample ")
                  and re.fullmatch(r"∂L\d+/∂w", s.lhs_text)]
    total = sum(s.shown for s in per_sample)
    _, report = _first_report(explanation, {"batch: ∂L/∂w": total})
    assert f"is the sum, {len(per_sample)} × the mean" in report, report


def test_a_mean_where_the_paths_add_up_is_named():
    explanation = expression(TWO_PATHS)
    step = steps_by_name(explanation)["∂L/∂w"]
    assert step.equation.note and "2 paths" in step.equation.note
    _, report = _first_report(explanation, {"∂L/∂w": step.shown / 2})
    assert "the mean of the 2 terms" in report, report


def test_z_used_where_the_activation_is_needed_is_named():
    explanation = builtin("example1")
    steps = steps_by_name(explanation)
    z = steps["z"].shown
    _, report = _first_report(explanation, {"z": z, "∂ŷ/∂z": z * (1 - z)})
    assert "z · (1 − z): you used z where σ(z) is needed" in report, report
    _, report = _first_report(explanation, {"z": z, "ŷ": z})
    assert "you used z where σ(z) is needed" in report, report
    explanation = expression(TANH)
    z = steps_by_name(explanation)["z"].shown
    _, report = _first_report(explanation, {"z": z, "∂ŷ/∂z": 1 - z * z})
    assert "1 − z²: you used z where tanh(z) is needed" in report, report


def test_a_lost_minus_sign_is_named():
    explanation = expression(TANH)
    step = steps_by_name(explanation)["∂L/∂ŷ"]
    assert step.shown < 0
    _, report = _first_report(explanation, {"∂L/∂ŷ": -step.shown})
    assert "wrong sign" in report and "minus sign was lost" in report


def test_no_diagnosis_without_a_numeric_match():
    explanation = builtin("example1")
    step = steps_by_name(explanation)["∂ŷ/∂z"]
    _, report = _first_report(explanation, {"∂ŷ/∂z": step.shown + 0.0372})
    assert "Why:" not in report
    assert "How: ∂ŷ/∂z = σ(z)(1 − σ(z))" in report


# -- follow-through -----------------------------------------------------------------------------------

def test_later_steps_that_follow_from_a_mistake_are_counted(tmp_path, capsys):
    explanation = builtin("example1")
    steps = steps_by_name(explanation)
    answers = {name: step.shown for name, step in steps.items()}
    # The learner forgets the 2 and carries their number on, rounding as the sheet asks.
    answers["∂L/∂ŷ"] = steps["∂L/∂ŷ"].shown / 2
    answers["∂L/∂w"] = round(answers["∂L/∂ŷ"] * answers["∂ŷ/∂z"] * answers["∂z/∂w"], 3)
    answers["w_new"] = round(0.5 - 0.1 * answers["∂L/∂w"], 4)
    answers["new z"] = round(answers["w_new"] * 1.0, 3)
    answers["new ŷ"] = round(sigmoid(answers["new z"]), 3)
    answers["new L"] = round((answers["new ŷ"] - 0.0) ** 2, 3)
    result = check_answers(explanation, answers)
    assert [v.step.name for v in result.wrong] == ["∂L/∂ŷ"]
    assert result.follows == ["∂L/∂w", "w_new", "new z", "new ŷ", "new L"]
    path = write_answers(tmp_path / "a.toml", "example1", answers)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "5 later steps follow correctly from your value of ∂L/∂ŷ: ∂L/∂w, w_new, new z, new ŷ, new L." in out
    assert "exactly half of" in out


def test_a_later_step_that_does_not_follow_is_still_wrong():
    explanation = builtin("example1")
    steps = steps_by_name(explanation)
    half = steps["∂L/∂ŷ"].shown / 2
    own = round(half * steps["∂ŷ/∂z"].shown * steps["∂z/∂w"].shown, 3)
    result = check_answers(explanation, {"∂L/∂ŷ": half, "∂L/∂w": own, "w_new": 0.5 + 0.1 * own})
    assert statuses(result) == {"∂L/∂ŷ": "wrong", "∂L/∂w": "follows", "w_new": "wrong"}
    report = result.report()
    assert "1 later step follows correctly" in report
    assert "Also wrong: 'w_new'" in report and "from your own numbers it would be" in report
    assert "added the step instead of subtracting it" in report  # judged against the learner's own gradient


def test_follow_through_goes_through_chain_rule_placeholders():
    explanation = expression(TANH)
    steps = steps_by_name(explanation)
    flipped = -steps["∂L/∂ŷ"].shown
    upstream = round(flipped * steps["∂ŷ/∂z"].shown, 3)
    answers = {"∂L/∂ŷ": flipped, "∂L/∂z": upstream, "∂L/∂w": round(upstream * steps["∂z/∂w"].shown, 3),
               "∂L/∂b": round(upstream * steps["∂z/∂b"].shown, 3)}
    result = check_answers(explanation, answers)
    assert statuses(result) == {"∂L/∂ŷ": "wrong", "∂L/∂z": "follows", "∂L/∂w": "follows", "∂L/∂b": "follows"}


def test_follow_through_in_the_stochastic_path_uses_that_path_weights():
    explanation = builtin("example3")
    steps = steps_by_name(explanation)
    first = steps["stochastic, sample 1: w"].shown + 0.01  # a slip in the first stochastic update
    gradient = steps["stochastic, sample 2: ∂L2/∂w"].shown
    answers = {"stochastic, sample 1: w": first, "stochastic, sample 2: ∂L2/∂w": gradient,
               "stochastic, sample 2: w": round(first - 0.1 * gradient, 4)}
    result = check_answers(explanation, answers)
    assert statuses(result)["stochastic, sample 2: w"] == "follows"


# -- worksheets -------------------------------------------------------------------------------------

def test_worksheet_of_an_expression_round_trips_through_check(tmp_path, capsys):
    source, values, target, lr = TANH
    sheet, answers_path = tmp_path / "sheet.md", tmp_path / "answers.toml"
    argv = ["worksheet", source, "--set", *[f"{k}={v}" for k, v in values.items()], "--target", str(target),
            "--lr", str(lr), "-o", str(sheet), "--answers", str(answers_path)]
    assert main(argv) == 0
    template = answers_path.read_text(encoding="utf-8")
    assert f'problem = "{source}"' in template and "[options]" in template
    explanation = expression(TANH)
    filled = template
    for step in answer_steps(explanation):
        filled = filled.replace(f'# "{step.name}" = ', f'"{step.name}" = {step.shown!r}')
    answers_path.write_text(filled, encoding="utf-8")
    assert main(["check", str(answers_path)]) == 0
    assert "All your answers are right" in capsys.readouterr().out
    wrong = filled.replace(f'"z" = {steps_by_name(explanation)["z"].shown!r}', '"z" = 7.5')
    answers_path.write_text(wrong, encoding="utf-8")
    assert main(["check", str(answers_path)]) == 1
    assert "first wrong step is 'z'" in capsys.readouterr().out


def test_worksheet_options_are_explained_again_by_check(tmp_path, capsys):
    """--precision and --optimizer change the numbers: check must use the sheet's."""
    answers_path = tmp_path / "answers.toml"
    assert main(["worksheet", "example2", "--precision", "4", "--optimizer", "momentum", "--answers",
                 str(answers_path)]) == 0
    capsys.readouterr()
    explanation = explain_problem(load_builtin("example2"), precision=4, optimizer="momentum")
    filled = answers_path.read_text(encoding="utf-8")
    for step in answer_steps(explanation):
        filled = filled.replace(f'# "{step.name}" = ', f'"{step.name}" = {step.shown!r}')
    answers_path.write_text(filled, encoding="utf-8")
    assert main(["check", str(answers_path)]) == 0, capsys.readouterr().out


def test_a_problem_file_is_found_from_the_answers_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "problems").mkdir()
    (tmp_path / "problems" / "mlp.toml").write_text(MLP_TOML, encoding="utf-8")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["worksheet", "problems/mlp.toml", "--answers", "work/answers.toml", "-o", "work/sheet.md"]) == 0
    text = (tmp_path / "work" / "answers.toml").read_text(encoding="utf-8")
    assert 'problem = "../problems/mlp.toml"' in text
    explanation = explain_problem(load_problem(tmp_path / "problems" / "mlp.toml"))
    for step in answer_steps(explanation):
        text = text.replace(f'# "{step.name}" = ', f'"{step.name}" = {step.shown!r}')
    (tmp_path / "work" / "answers.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "problems")  # check works from anywhere
    assert main(["check", str(tmp_path / "work" / "answers.toml")]) == 0, capsys.readouterr().out


def _givens(explanation):
    """Numbers the problem gives (shown on the sheet on purpose)."""
    found = set()
    for section in explanation.sections:
        for item in section.items:
            if getattr(item, "kind", None) == "given" and hasattr(item, "shown_text"):
                found |= {n.replace("−", "-") for n in NUMBER.findall(item.shown_text())}
            if hasattr(item, "rows") and section.kind == "given":
                found |= {n.replace("−", "-") for row in item.rows for c in row for n in NUMBER.findall(str(c))}
    return found


def _numbers(text):
    return {n.replace("−", "-") for n in NUMBER.findall(text)}


@pytest.mark.parametrize("kind", ["example1", "example2", "example3", "expression", "two paths", "mlp", "dataset"])
def test_no_blank_answer_appears_anywhere_in_the_sheet(tmp_path, kind):
    explanation = {"example1": lambda: builtin("example1"), "example2": lambda: builtin("example2"),
                   "example3": lambda: builtin("example3"), "expression": lambda: expression(TANH),
                   "two paths": lambda: expression(TWO_PATHS),
                   "mlp": lambda: from_file(tmp_path, MLP_TOML),
                   "dataset": lambda: from_file(tmp_path, DATASET_TOML)}[kind]()
    sheet, blanks = worksheet_markdown(explanation)
    steps = answer_steps(explanation)
    assert [name for _, name in blanks] == [s.name for s in steps]
    givens, written = _givens(explanation), _numbers(sheet)
    for step in steps:
        shown = step.shown_text.replace("−", "-")
        if shown not in givens:
            assert shown not in written, f"{step.name} = {shown} is printed on the sheet"
    # Every computed number is blanked: each element of each worked line has a blank.
    worked = [eq for eq in explanation.equations() if eq.kind != "given"]
    built = build_worksheet(explanation)
    assert len(built.blanks) == sum(min(_size(eq), 1 if _size(eq) > MAX_ELEMENTS else _size(eq)) for eq in worked)


def _size(equation):
    return int(np.asarray(equation.shown).size)


def test_the_stochastic_notes_point_at_the_blank_instead_of_the_weight():
    """Found: "Sample 2 …, at w = 0.4708:" right after the blank for that weight."""
    explanation = builtin("example3")
    sheet, blanks = worksheet_markdown(explanation)
    labels = {name: label for label, name in blanks}
    stochastic_w = steps_by_name(explanation)["stochastic, sample 1: w"]
    assert f"at w = {stochastic_w.shown_text}" not in sheet
    assert f"at the w you found in {labels['stochastic, sample 1: w']}" in sheet
    assert "at w = 0.5" in sheet  # the starting weight is given, and stays


def test_an_mlp_sheet_asks_for_every_element(tmp_path):
    """Found: the MLP sheet blanked only L."""
    explanation = from_file(tmp_path, MLP_TOML)
    names = [s.name for s in answer_steps(explanation)]
    for name in ("z1[0,1]", "∂L/∂W1[1,0]", "W1_new[1,1]", "b2_new", "new L"):
        assert name in names


class _Balanced(HTMLParser):
    VOID = {"meta", "input", "br", "img", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.inputs = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


@pytest.mark.parametrize("argv", [["-f", "html", "-o", "{out}"], ["-o", "{out}"]])
def test_html_worksheet_is_a_page_with_mathml_and_input_boxes(tmp_path, argv):
    """Found: -f html wrote the Markdown source in a <pre>; -o ws.html without -f wrote Markdown."""
    out = tmp_path / "ws.html"
    source, values, target, lr = TANH
    assert main(["worksheet", source, "--set", *[f"{k}={v}" for k, v in values.items()], "--target", str(target),
                 "--lr", str(lr), *[a.format(out=out) for a in argv]]) == 0
    page = out.read_text(encoding="utf-8")
    parser = _Balanced()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert "<pre" not in page and "\\frac" not in page and "$$" not in page
    maths = re.findall(r"<math\b.*?</math>", page, flags=re.S)
    assert maths
    for fragment in maths:
        ElementTree.fromstring(fragment)  # well-formed MathML
    assert any("<mfrac>" in m for m in maths)  # ∂L/∂w typeset as a fraction
    explanation = expression(TANH)
    assert [i["data-step"] for i in parser.inputs] == [s.name for s in answer_steps(explanation)]
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S))
    givens, written = _givens(explanation), _numbers(text)
    for step in answer_steps(explanation):
        shown = step.shown_text.replace("−", "-")
        assert shown in givens or shown not in written


def _options(parser, command):
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {flag for action in sub._actions for flag in action.option_strings}


def test_worksheet_takes_every_problem_flag_explain_takes():
    """Found: chainrule worksheet "EXPR" --set … was refused (or crashed)."""
    from chainrule.cli import build_parser

    parser = build_parser()
    # How explain shows its output (and its pictures, and which of several steps it writes out), not what the
    # problem is.
    only_explain = {"--color", "--format", "-f", "--plot", "--plot-kind", "--derive"}
    assert _options(parser, "explain") - only_explain <= _options(parser, "worksheet")


def test_answers_file_mistakes_are_one_line(tmp_path, capsys):
    path = tmp_path / "a.toml"
    path.write_text('problem = "example1"\n[options]\nlr = "fast"\n[answers]\n"z" = 0.5\n', encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[options] lr: expected" in err
    path.write_text('problem = "example1"\n[options]\ncolour = 1\n[answers]\n"z" = 0.5\n', encoding="utf-8")
    assert main(["check", str(path)]) == 2
    assert "unknown option" in capsys.readouterr().err
    for option, message in (("precision = 40", "[options] precision: expected a whole number"),
                            ("lr = -1", "[options] lr: must be positive"),
                            ('loss = "nope"', "[options] loss: expected one of"),
                            ("set = { w = nan }", "[options] set: expected names with numbers")):
        path.write_text(f'problem = "example1"\n[options]\n{option}\n[answers]\n"z" = 0.5\n', encoding="utf-8")
        assert main(["check", str(path)]) == 2, option
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_a_result_written_with_fewer_decimals_is_still_checked_to_the_precision():
    """2(0.720 − 1.0) = −0.56 is exact at three decimals: −0.552 is eight units off, not within 1.5 of −0.56."""
    explanation = builtin("example3")
    short = [s for s in answer_steps(explanation)
             if not s.updates_parameter and len(s.shown_text.split(".")[-1]) < explanation.precision]
    assert short, "expected a result that is exact with fewer decimals than the precision"
    for step in short:
        off = step.shown + 5 * 10.0 ** -explanation.precision
        assert not check_answers(explanation, {step.name: off}).ok, step.name


def test_html_worksheet_filled_in_a_browser_is_checked_right(tmp_path, capsys):
    """The page's script writes what is typed into the blanks as an answers file that check accepts."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("no Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python driver 'playwright' is not installed")
    source, values, target, lr = TANH
    page_path = tmp_path / "ws.html"
    assert main(["worksheet", source, "--set", *[f"{k}={v}" for k, v in values.items()], "--target", str(target),
                 "--lr", str(lr), "-o", str(page_path)]) == 0
    steps = answer_steps(expression(TANH))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_path.as_uri())
            for step in steps:
                page.locator(f'input[data-step="{step.name}"]').fill(step.shown_text)
            answers = page.locator("#ws-answers").input_value()
        finally:
            browser.close()
    assert errors == []
    (tmp_path / "answers.toml").write_text(answers, encoding="utf-8")
    assert main(["check", str(tmp_path / "answers.toml")]) == 0, capsys.readouterr().out


def test_tables_and_notes_after_the_givens_keep_no_worked_out_number():
    """The table of further steps, the modes comparison and the loss notes are worked out too."""
    for explanation in (explain_problem(load_builtin("example1"), steps=3), builtin("example3")):
        sheet = build_worksheet(explanation)
        for part in sheet.parts[1:]:
            for item in part.items:
                texts = []
                if hasattr(item, "rows"):
                    texts = [str(cell) for row in item.rows for cell in row] + [item.caption or ""]
                elif hasattr(item, "text"):
                    texts = [item.text]
                for text in texts:
                    decimals = [n for n in NUMBER.findall(text) if "." in n or "e" in n]
                    assert set(decimals) <= _givens(explanation), text


def test_many_wrong_steps_keep_the_report_short():
    explanation = builtin("example3")
    steps = answer_steps(explanation)
    result = check_answers(explanation, {s.name: s.shown + 0.37 for s in steps})
    report = result.report()
    assert len(result.wrong) > 10
    assert report.count("✗ Also wrong: ") == 5 and f"({len(result.wrong) - 6} more)" in report
