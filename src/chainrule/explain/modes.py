"""The seed's example 3 for any small data set: batch, stochastic and mini-batch gradient descent.

* per-sample gradients at the starting parameters;
* batch: their average, and one update;
* stochastic: one sample at a time, each gradient recomputed at the weights
  the previous update left;
* mini-batch: the average over each chunk, one update per chunk;
* a closing table comparing where one epoch of each mode ends up;
* around them, as in a single sample's explanation: the functions used, a finite-difference check of the
  first averaged gradient, and the takeaways (``modes_teaching``).

Hand-rounded numbers are carried along each path as the seed does; the table
also gives the exact values.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..formula import Bin, Num, Var
from .build import build_loss, initial_parameters, parameter_names
from .core import gradients_of
from .derivation import derive, is_misleading, partial
from .explanation import Explanation, GraphView
from .graph import trace
from .model import Equation, Form, Note, Section, Table, format_value
from .modes_teaching import add_teaching
from .numbers import MAX_DECIMALS, NumberModel
from .numbers import typographic_minus as _minus
from .problems import Problem
from .updates import UpdateRule

__all__ = ["explain_modes"]


def _exact_gradients(problem: Problem, values: dict, index: int) -> tuple[float, dict[str, float]]:
    loss, leaves = build_loss(problem, values, [index])
    loss.backward()
    return float(loss.data), {name: float(leaf.grad.data) for name, leaf in leaves.items()}


def _mean_loss(problem: Problem, values: dict) -> float:
    # Recorded, not under no_grad(): an expression must depend on its parameters to be built at all.
    return float(np.mean([float(build_loss(problem, values, [i])[0].data) for i in range(problem.samples)]))


class _Narrator:
    def __init__(self, problem: Problem, exact: bool = False):
        self.problem = problem
        self.exact = exact
        self.names = parameter_names(problem)
        self.rounding = NumberModel(problem.precision, carry=not exact)
        self.lr = self.rounding.given(problem.lr)
        self.rule = UpdateRule(problem.optimizer, momentum=problem.momentum)
        self.start_mode()

    def sample_label(self, index: int) -> str:
        problem, given = self.problem, self.rounding.given
        if problem.inputs is not None:
            parts = [f"{k} = {given(v)}" for k, v in problem.inputs[index].items()]
        else:
            xs = problem.x[index]
            names = ["x"] if xs.size == 1 else [f"x{i + 1}" for i in range(xs.size)]
            parts = [f"{n} = {given(v)}" for n, v in zip(names, xs)]
        if problem.y is not None:
            parts.append(f"y = {given(np.asarray(problem.y[index]).reshape(-1)[0])}")
        return _minus(", ".join(parts))

    def sample_gradient(self, values: dict, exact_values: dict, index: int, section: Section, *,
                        with_forward: bool, context: str) -> tuple[dict, dict]:
        """Derive one sample's gradient at the written ``values``; add its lines; return (hand, exact) gradients.

        Each line's ``value`` is the exact one: the same derivation at ``exact_values``, the
        parameters an exact run of this mode has at this point.
        """
        derivation = self._derive(values, index, exact=self.exact)
        exact_derivation = self._derive(exact_values, index, exact=True)
        at = ", ".join(f"{n} = {values[n]}" for n in self.names)
        section.items.append(Note(_minus(f"Sample {index + 1} ({self.sample_label(index)}), at {at}:")))
        root = derivation.root
        exact_lines = [eq for part in exact_derivation.sections for eq in part.equations()]
        lines = [eq for part in derivation.sections for eq in part.equations()]
        for equation, exact in zip(lines, exact_lines):
            equation.value = exact.value
            equation.context, equation.sample, equation.at = context, index + 1, dict(values)
            if equation.kind == "loss":
                equation.lhs = Var(f"L{index + 1}")
            if with_forward and equation.kind in ("forward", "loss", "local", "gradient"):
                section.items.append(equation)
            # A parameter's gradient: its chain-rule line, or its local derivative when it
            # feeds the loss directly.
            direct = equation.kind == "local" and equation.edge and equation.edge[1] == root
            if equation.kind == "chain" or (direct and equation.edge[0] in self.names):
                name = equation.node if equation.kind == "chain" else equation.edge[0]
                equation.lhs = partial(f"L{index + 1}", name)
                section.items.append(equation)
        hand = {name: derivation.shown_gradients[name] for name in self.names}
        exact = {name: float(exact_derivation.gradients[name]) for name in self.names}
        return hand, exact

    def _derive(self, values: dict, index: int, exact: bool):
        loss, _ = build_loss(self.problem, values, [index])
        graph = trace(loss)
        derivation = derive(graph, lr=None, precision=self.problem.precision, gradients=gradients_of(loss),
                            exact=exact)
        derivation.root = graph.root.name
        return derivation

    def start_mode(self) -> None:
        """A mode starts from the starting point with a fresh optimizer: no velocity, no moments yet."""
        self.t, self.hand_state, self.exact_state = 0, {}, {}

    def update(self, section: Section, values: dict, exact_values: dict, gradients: dict, exact_gradients: dict,
               loss: str, context: str) -> tuple[dict, dict]:
        """p ← p − η · ∂loss/∂p for every parameter (``loss`` names whose gradient: L, L1, L_b1…); with
        momentum or Adam, the optimizer's step t of this mode, its state's equations included."""
        if self.rule.name != "sgd":
            return self._optimizer_update(section, values, exact_values, gradients, exact_gradients, loss, context)
        new_values, new_exact = {}, {}
        for name in self.names:
            g = gradients[name]
            new = self.rounding.updated(values[name], values[name] - self.lr * g)
            new_exact[name] = exact_values[name] - float(self.lr) * exact_gradients[name]
            env = {name: values[name], "η": self.lr, "#g": g}
            section.items.append(Equation(
                "update", Var(name),
                [Form(Bin("-", Var(name), Bin("*", Var("η"), partial(loss, name)))),
                 Form(Bin("-", Var(name), Bin("*", Var("η"), Var("#g"))), env)],
                new_exact[name], new, self.rounding.update_decimals(values[name], new), node=name, assign=True,
                context=context,
                at=dict(values),
            ))
            new_values[name] = new
        return new_values, new_exact

    def _optimizer_update(self, section, values, exact_values, gradients, exact_gradients, loss, context):
        self.t += 1
        keys = {"momentum": ("v",), "adam": ("m", "v")}[self.rule.name]
        new_values, new_exact = {}, {}
        for name in self.names:
            hand_rule = self.rule.at(self.t, self.hand_state or None)
            exact_rule = self.rule.at(self.t, self.exact_state or None)
            new_exact[name] = float(exact_rule.first_step({name: exact_values[name]}, {name: exact_gradients[name]},
                                                          self.problem.lr)[name])
            env = {name: values[name], "η": self.lr, "#g": gradients[name]}
            placeholder = self.rounding.updated(values[name], values[name] - self.lr * gradients[name])
            fine = self.rounding.update_decimals(values[name], placeholder)
            lines = hand_rule.lines(name, env, self.rounding.decimals, fine, self.lr, values[name], gradients[name],
                                    new_exact[name], placeholder, (), top=loss, numbers=self.rounding)
            # The same lines on the exact path give each line's JSON value.
            truths = exact_rule.lines(name, None, self.rounding.decimals, fine, self.problem.lr, exact_values[name],
                                      exact_gradients[name], new_exact[name], new_exact[name], (), top=loss)
            for line, truth in zip(lines, truths):
                line.value = float(np.asarray(truth.value))
                line.shape, line.context, line.at = None, context, dict(values)
            section.items.extend(lines)
            written = {eq.lhs.to_text(): eq.shown for eq in lines}
            self.hand_state[name] = {key: written[f"{key}_{name}"] for key in keys}
            self.exact_state[name] = self.rule.advance(self.exact_state.get(name), exact_gradients[name])
            new_values[name] = lines[-1].shown
        return new_values, new_exact

    def average(self, section: Section, per_sample: list[dict], exact_per_sample: list[dict], indices: list[int],
                loss: str, context: str) -> tuple[dict, dict]:
        """∂loss/∂p as the average of the samples' gradients (the loss of a batch is their mean)."""
        averaged, exact = {}, {}
        for name in self.names:
            terms = [partial(f"L{i + 1}", name) for i in indices]
            numbers = [Var(f"#{k}") for k in range(len(indices))]
            env = {f"#{k}": per_sample[k][name] for k in range(len(indices))}
            symbolic, numeric = terms[0], numbers[0]
            for term, number in zip(terms[1:], numbers[1:]):
                symbolic, numeric = Bin("+", symbolic, term), Bin("+", numeric, number)
            count = Num(float(len(indices)))
            value = self.rounding(sum(float(g[name]) for g in per_sample) / len(indices))
            exact[name] = float(np.mean([g[name] for g in exact_per_sample]))
            forms = [Form(Bin("/", symbolic, count)), Form(Bin("/", numeric, count), env)] if len(indices) > 1 \
                else [Form(symbolic), Form(numeric, env)]
            section.items.append(Equation("batch", partial(loss, name), forms, exact[name], value,
                                          self.rounding.decimals_of(value),
                                          note=f"the average of the per-sample gradients of {name}"
                                          if len(indices) > 1 else None, context=context))
            averaged[name] = value
        return averaged, exact


#: How many samples of a pass (and of each of the first mini-batches) are derived line by line; the
#: others are one row each of a table. Small data sets, the seed's included, are derived in full.
SAMPLES_IN_FULL = 10
BATCHES_IN_FULL = 3


def _in_full(position: int) -> bool:
    """Whether the sample at ``position`` (0-based) of a pass or of a batch is derived line by line."""
    return position < SAMPLES_IN_FULL


class _Summary:
    """The samples of a pass that are not derived line by line: one table row each.

    Thousands of derivations cannot be read, and writing them takes minutes. A
    row's gradient is the engine's exact gradient at the weights written in the
    row, written as a line would write it; its update is the same p − η·g as a
    written update, so the pass continues from the numbers the row shows.
    """

    def __init__(self, narrator: _Narrator, with_update: bool):
        self.narrator = narrator
        self.with_update = with_update
        self.rows: list[list[str]] = []
        self.scratch = Section("", "scratch")  # lines of summarised updates, not shown

    def gradient(self, values: dict, exact_values: dict, index: int) -> tuple[dict, dict]:
        """(written, exact) gradients of sample ``index`` at the written and at the exact parameters."""
        problem, names = self.narrator.problem, self.narrator.names
        at_written = _exact_gradients(problem, values, index)[1]
        same = all(float(values[k]) == float(exact_values[k]) for k in names)
        exact = at_written if same else _exact_gradients(problem, exact_values, index)[1]
        return {k: self.narrator.rounding(at_written[k]) for k in names}, exact

    def row(self, index: int, values: dict, gradients: dict, new_values: dict | None = None) -> None:
        text = self.narrator.rounding.text
        cells = [str(index + 1)]
        if self.with_update:
            cells += [text(values[k]) for k in self.narrator.names]
        cells += [text(gradients[k]) for k in self.narrator.names]
        if new_values is not None:
            cells += [text(new_values[k]) for k in self.narrator.names]
        self.rows.append([_minus(cell) for cell in cells])

    def close(self, section: Section) -> None:
        if not self.rows:
            return
        names = self.narrator.names
        columns = ["sample"] + ([f"{k} at" for k in names] if self.with_update else [])
        columns += [f"∂Lᵢ/∂{k}" for k in names] + ([f"{k} after" for k in names] if self.with_update else [])
        caption = ("The other samples, one row each: each gradient is the engine's at the weights in its row, "
                   "written as a line above would write it"
                   + ("; each update is p − η·∂Lᵢ/∂p from those numbers." if self.with_update else "."))
        section.items.append(Table(columns, self.rows, caption=caption))


#: At most this many more decimals when the per-sample gradients cancel in an average.
MAX_EXTRA_DECIMALS = 6


def explain_modes(problem: Problem, detail: str = "auto", exact: bool = False) -> Explanation:
    """Narrate one epoch of batch, stochastic and (with a batch size) mini-batch gradient descent.

    Per-sample gradients that nearly cancel (−0.25 + 0.25) would average to a misleading 0 at the
    problem's precision: then the whole narration is written with more decimals, and says so.
    """
    precision = problem.precision
    for _ in range(MAX_EXTRA_DECIMALS + 1):
        explanation = _explain_modes(dataclasses.replace(problem, precision=precision), detail, exact)
        starting_averages = [eq for eq in explanation.equations("batch")
                             if eq.context in ("batch", "minibatch, batch 1")]
        if exact or not any(is_misleading(eq) for eq in starting_averages) or precision >= MAX_DECIMALS:
            break
        precision += 1
    if precision != problem.precision:
        explanation.sections[0].items.append(Note(
            f"The per-sample gradients nearly cancel in their average, so this narration writes numbers to "
            f"{precision} decimals instead of {problem.precision}."))
    return explanation


def _explain_modes(problem: Problem, detail: str, exact: bool) -> Explanation:
    narrator = _Narrator(problem, exact)
    given_value = narrator.rounding.given
    start = {name: given_value(v) for name, v in initial_parameters(problem).items()}
    start_exact = {name: float(v) for name, v in start.items()}
    names = narrator.names
    n = problem.samples
    modes = ["batch", "stochastic", "minibatch"] if problem.mode == "compare" else [problem.mode]
    if "minibatch" in modes and not problem.batch_size:
        modes.remove("minibatch")
    sections = []

    given = Section("The data and the starting point", "given")
    rows = [[str(i + 1), narrator.sample_label(i)] for i in range(n)]
    given.items.append(Table(["sample", "values"], rows))
    for name in names:
        given.items.append(Equation("given", Var(name), [], start_exact[name], start[name],
                                    narrator.rounding.decimals_of(start[name]), node=name, note="parameter"))
    given.items.append(Equation("given", Var("η"), [], problem.lr, narrator.lr,
                                narrator.rounding.decimals_of(narrator.lr), note="learning rate"))
    sections.append(given)

    per_sample_section = Section(
        "Per-sample gradients at the starting parameters", "sample",
        intro="Each sample has its own loss Lᵢ and its own gradient; backpropagation gives each one.",
    )
    starting = _sample_gradients(narrator, start, start_exact, list(range(n)), per_sample_section,
                                 lambda i: f"sample {i + 1}", lambda position: _in_full(position))
    sections.append(per_sample_section)

    results = {}
    steps: dict[str, list[dict]] = {}  # the exact parameter change of every update, per mode
    if "batch" in modes:
        narrator.start_mode()
        section = Section("Batch gradient descent", "batch",
                          intro="One update per pass over the data, on the average of the per-sample gradients.")
        averaged, averaged_exact = narrator.average(section, [g for g, _ in starting], [e for _, e in starting],
                                                    list(range(n)), "L", "batch")
        hand, exact_values = narrator.update(section, start, start_exact, averaged, averaged_exact, "L", "batch")
        steps["batch"] = [_change(start_exact, exact_values)]
        results["batch"] = (1, hand, exact_values)
        sections.append(section)
    if "stochastic" in modes:
        narrator.start_mode()
        section = Section("Stochastic gradient descent", "stochastic",
                          intro="One update per sample, in order; each gradient is recomputed at the weights "
                                "the previous update left.")
        hand, exact_values = dict(start), dict(start_exact)
        steps["stochastic"] = []
        rest = _Summary(narrator, with_update=True)
        for i in range(n):
            context = f"stochastic, sample {i + 1}"
            if i == 0:
                gradients, exact_gradients = starting[0]
                section.items.append(Note("Sample 1 at the starting weights: its gradient is the one above."))
            elif _in_full(i):
                gradients, exact_gradients = narrator.sample_gradient(hand, exact_values, i, section,
                                                                      with_forward=True, context=context)
            else:
                gradients, exact_gradients = rest.gradient(hand, exact_values, i)
            before, written = exact_values, hand
            hand, exact_values = narrator.update(section if _in_full(i) else rest.scratch, hand, exact_values,
                                                 gradients, exact_gradients, f"L{i + 1}", context)
            if not _in_full(i):
                rest.row(i, written, gradients, hand)
            steps["stochastic"].append(_change(before, exact_values))
        rest.close(section)
        results["stochastic"] = (n, hand, exact_values)
        sections.append(section)
    if "minibatch" in modes:
        size = problem.batch_size
        narrator.start_mode()
        section = Section(f"Mini-batch gradient descent (batches of {size})", "minibatch",
                          intro="One update per consecutive chunk of samples, on the chunk's average gradient.")
        hand, exact_values = dict(start), dict(start_exact)
        steps["minibatch"] = []
        chunks = [list(range(s, min(s + size, n))) for s in range(0, n, size)]
        for number, chunk in enumerate(chunks, 1):
            context = f"minibatch, batch {number}"
            if number == 1:
                per_sample = [starting[i] for i in chunk]
                section.items.append(Note("The first batch starts at the starting weights: its per-sample "
                                          "gradients are the ones above."))
            else:
                per_sample = _sample_gradients(
                    narrator, hand, exact_values, chunk, section, lambda i: f"{context}, sample {i + 1}",
                    lambda position: _in_full(position) and number <= BATCHES_IN_FULL)
            averaged, averaged_exact = narrator.average(section, [g for g, _ in per_sample],
                                                        [e for _, e in per_sample], chunk, f"L_b{number}", context)
            before = exact_values
            hand, exact_values = narrator.update(section, hand, exact_values, averaged, averaged_exact,
                                                 f"L_b{number}", context)
            steps["minibatch"].append(_change(before, exact_values))
        results["minibatch"] = (len(chunks), hand, exact_values)
        sections.append(section)

    if problem.steps > 1:
        sections.append(_more_epochs(problem, start_exact, list(results), names))

    comparison = Section("Comparison after one pass over the data", "compare")
    rows = []
    fine = narrator.rounding.decimals + 1
    for mode, (updates, hand, exact_values) in results.items():
        rows.append([mode, str(updates)]
                    + [_minus(f"{hand[k]} (exact {format_value(exact_values[k], 6)})") for k in names]
                    + [format_value(_mean_loss(problem, exact_values), 6)])
    comparison.items.append(Table(["mode", "updates"] + [f"{k} after one pass" for k in names]
                                  + ["mean loss after"], rows))
    comparison.items.append(Note(f"Mean loss at the start: {format_value(_mean_loss(problem, start_exact), 6)}."))
    if len(results) > 1:
        comparison.items.append(Note(_takeaway(steps, fine)))
    sections.append(comparison)
    add_teaching(problem, sections, start, start_exact, modes,
                 {mode: (updates, _mean_loss(problem, exact)) for mode, (updates, _, exact) in results.items()},
                 _mean_loss(problem, start_exact))
    summary = {mode: {"updates": u, "parameters": {k: float(v) for k, v in exact_values.items()},
                      "shown": {k: float(v) for k, v in hand.items()}}
               for mode, (u, hand, exact_values) in results.items()}
    return Explanation(problem.title, sections, precision=problem.precision, graph=_modes_graph(problem, start),
                       summary={"modes": summary}, description=problem.description, detail=detail, exact=exact)


def _sample_gradients(narrator: _Narrator, values: dict, exact_values: dict, indices: list[int], section: Section,
                      context, in_full) -> list[tuple[dict, dict]]:
    """Each sample's (hand, exact) gradient at ``values``: derived line by line where ``in_full(position)``,
    otherwise one row of a summary table."""
    rest = _Summary(narrator, with_update=False)
    found = []
    for position, i in enumerate(indices):
        if in_full(position):
            found.append(narrator.sample_gradient(values, exact_values, i, section, with_forward=True,
                                                  context=context(i)))
        else:
            found.append(rest.gradient(values, exact_values, i))
            rest.row(i, values, found[-1][0])
    rest.close(section)
    return found


def _change(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in before}


def _size(change: dict) -> float:
    """The length of a parameter change (its Euclidean norm over the parameters)."""
    return float(np.sqrt(sum(v * v for v in change.values())))


def _takeaway(steps: dict[str, list[dict]], decimals: int) -> str:
    """What the modes did, written from their numbers: how many steps, how large, and where they got."""
    def text(value):
        return format_value(value, decimals)

    parts = []
    for mode, changes in steps.items():
        sizes = [_size(c) for c in changes]
        net = _size({k: sum(c[k] for c in changes) for k in changes[0]})
        if len(sizes) == 1:
            parts.append(f"{mode} made 1 step of size {text(sizes[0])}")
        else:
            listed = ", ".join(text(s) for s in sizes[:6]) + (", …" if len(sizes) > 6 else "")
            parts.append(f"{mode} made {len(sizes)} steps of sizes {listed} (net change {text(net)})")
    sentence = "In one pass, " + "; ".join(parts) + "."
    if "batch" in steps and "stochastic" in steps:
        batch = _size(steps["batch"][0])
        stochastic = steps["stochastic"]
        mean_step = float(np.mean([_size(c) for c in stochastic]))
        net = _size({k: sum(c[k] for c in stochastic) for k in stochastic[0]})
        if batch > 0:
            comparison = "larger" if mean_step > batch else "smaller"
            sentence += (f" Each stochastic step is on average {mean_step / batch:.3g}× the batch step "
                         f"({comparison}), and the stochastic pass moved the parameters {net / batch:.3g}× as far "
                         "as the batch step: it follows each sample's gradient at once instead of their average.")
    return _minus(sentence)


def _epoch(problem: Problem, values: dict, mode: str, names: list[str], state: dict) -> dict:
    """One exact epoch of ``mode`` from ``values``; ``state`` (the optimizer's: its step count and, by
    parameter, its velocity or moments) is carried from epoch to epoch."""
    n = problem.samples
    size = {"batch": n, "stochastic": 1, "minibatch": problem.batch_size}[mode]
    rule = UpdateRule(problem.optimizer, momentum=problem.momentum)
    for start in range(0, n, size):
        grads = [_exact_gradients(problem, values, i)[1] for i in range(start, min(start + size, n))]
        state["t"] = state.get("t", 0) + 1
        step = rule.at(state["t"], {k: state[k] for k in names if k in state} or None)
        averaged = {k: float(np.mean([g[k] for g in grads])) for k in names}
        values = {k: float(step.first_step({k: values[k]}, {k: averaged[k]}, problem.lr)[k]) for k in names}
        for k in names:
            state[k] = rule.advance(state.get(k), averaged[k])
    return values


def _more_epochs(problem: Problem, start: dict, modes: list[str], names: list[str]) -> Section:
    """The mean loss after each of ``problem.steps`` epochs, per mode (exact)."""
    values = {mode: dict(start) for mode in modes}
    states: dict[str, dict] = {mode: {} for mode in modes}
    rows = []
    for epoch in range(1, problem.steps + 1):
        row = [str(epoch)]
        for mode in modes:
            values[mode] = _epoch(problem, values[mode], mode, names, states[mode])
            row.append(format_value(_mean_loss(problem, values[mode]), 6))
        rows.append(row)
    final = "; ".join(f"{mode}: " + ", ".join(f"{k} = {format_value(values[mode][k], 6)}" for k in names)
                      for mode in modes)
    return Section(f"Training for {problem.steps} epochs", "steps",
                   intro="Each mode repeated over the data, computed exactly; the mean loss after each epoch.",
                   items=[Table(["epoch"] + [f"{mode} loss" for mode in modes], rows, caption=f"Final: {final}")])


def _modes_graph(problem: Problem, start: dict) -> GraphView:
    """The graph of the first sample's loss, for the picture."""
    from .core import _graph_view

    loss, _ = build_loss(problem, start, [0])
    graph = trace(loss)
    grads = gradients_of(loss)
    return _graph_view(graph, derive(graph, lr=None, precision=problem.precision, gradients=grads), grads)
