"""The seed's example 3 for any small data set: batch, stochastic and mini-batch gradient descent.

* per-sample gradients at the starting parameters;
* batch: their average, and one update;
* stochastic: one sample at a time, each gradient recomputed at the weights
  the previous update left;
* mini-batch: the average over each chunk, one update per chunk;
* a closing table comparing where one epoch of each mode ends up.

Hand-rounded numbers are carried along each path as the seed does; the table
also gives the exact values.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..formula import Bin, Num, Var
from .build import build_loss, initial_parameters, parameter_names
from .core import gradients_of
from .derivation import derive, partial
from .explanation import Explanation, GraphView
from .graph import trace
from .model import Equation, Form, Note, Rounding, Section, Table, format_value
from .problems import Problem

__all__ = ["explain_modes"]


def _exact_gradients(problem: Problem, values: dict, index: int) -> tuple[float, dict[str, float]]:
    loss, leaves = build_loss(problem, values, [index])
    loss.backward()
    return float(loss.data), {name: float(leaf.grad.data) for name, leaf in leaves.items()}


def _mean_loss(problem: Problem, values: dict) -> float:
    with no_grad():
        return float(np.mean([float(build_loss(problem, values, [i])[0].data) for i in range(problem.samples)]))


class _Narrator:
    def __init__(self, problem: Problem, exact: bool = False):
        self.problem = problem
        self.exact = exact
        self.names = parameter_names(problem)
        self.rounding = Rounding(problem.precision, carry=not exact)
        self.finer = self.rounding.finer()
        self.lr = problem.lr

    def sample_label(self, index: int) -> str:
        problem = self.problem
        if problem.inputs is not None:
            parts = [f"{k} = {format_value(v, 4)}" for k, v in problem.inputs[index].items()]
        else:
            xs = problem.x[index]
            names = ["x"] if xs.size == 1 else [f"x{i + 1}" for i in range(xs.size)]
            parts = [f"{n} = {format_value(v, 4)}" for n, v in zip(names, xs)]
        if problem.y is not None:
            parts.append(f"y = {format_value(np.asarray(problem.y[index]).reshape(-1)[0], 4)}")
        return ", ".join(parts)

    def sample_gradient(self, values: dict, index: int, section: Section, *, with_forward: bool,
                        context: str) -> dict[str, float]:
        """Derive one sample's gradient at hand ``values``; add its lines; return the hand gradients."""
        loss, _ = build_loss(self.problem, values, [index])
        graph = trace(loss)
        derivation = derive(graph, lr=None, precision=self.problem.precision, gradients=gradients_of(loss),
                            exact=self.exact)
        at = ", ".join(f"{n} = {format_value(values[n], self.finer.decimals)}" for n in self.names)
        section.items.append(Note(f"Sample {index + 1} ({self.sample_label(index)}), at {at}:"))
        root = graph.root.name
        for part in derivation.sections:
            for equation in part.equations():
                equation.context, equation.sample, equation.at = context, index + 1, dict(values)
                if with_forward and equation.kind in ("forward", "loss"):
                    section.items.append(equation)
                # A parameter's gradient: its chain-rule line, or its local derivative when it
                # feeds the loss directly.
                direct = equation.kind == "local" and equation.edge and equation.edge[1] == root
                if equation.kind == "chain" or (direct and equation.edge[0] in self.names):
                    name = equation.node if equation.kind == "chain" else equation.edge[0]
                    equation.lhs = partial(f"L{index + 1}", name)
                    section.items.append(equation)
        return {name: float(derivation.shown_gradients[name]) for name in self.names}

    def update(self, section: Section, values: dict, gradients: dict, loss: str, context: str) -> dict:
        """p ← p − η · ∂loss/∂p for every parameter (``loss`` names whose gradient: L, L1, L_b1…)."""
        new_values = {}
        for name in self.names:
            g = gradients[name]
            new = float(self.finer(values[name] - self.lr * g))
            env = {name: values[name], "η": self.lr, "#g": g}
            section.items.append(Equation(
                "update", Var(name),
                [Form(Bin("-", Var(name), Bin("*", Var("η"), partial(loss, name)))),
                 Form(Bin("-", Var(name), Bin("*", Var("η"), Var("#g"))), env)],
                new, new, self.finer.decimals, node=name, assign=True, context=context, at=dict(values),
            ))
            new_values[name] = new
        return new_values

    def average(self, section: Section, per_sample: list[dict], indices: list[int], loss: str,
                context: str) -> dict:
        """∂loss/∂p as the average of the samples' gradients (the loss of a batch is their mean)."""
        averaged = {}
        for name in self.names:
            terms = [partial(f"L{i + 1}", name) for i in indices]
            numbers = [Var(f"#{k}") for k in range(len(indices))]
            env = {f"#{k}": per_sample[k][name] for k in range(len(indices))}
            symbolic, numeric = terms[0], numbers[0]
            for term, number in zip(terms[1:], numbers[1:]):
                symbolic, numeric = Bin("+", symbolic, term), Bin("+", numeric, number)
            count = Num(float(len(indices)))
            value = float(self.finer(np.mean([g[name] for g in per_sample])))
            forms = [Form(Bin("/", symbolic, count)), Form(Bin("/", numeric, count), env)] if len(indices) > 1 \
                else [Form(symbolic), Form(numeric, env)]
            section.items.append(Equation("batch", partial(loss, name), forms, value, value, self.finer.decimals,
                                          note=f"the average of the per-sample gradients of {name}"
                                          if len(indices) > 1 else None, context=context))
            averaged[name] = value
        return averaged


def explain_modes(problem: Problem, detail: str = "auto", exact: bool = False) -> Explanation:
    """Narrate one epoch of batch, stochastic and (with a batch size) mini-batch gradient descent."""
    narrator = _Narrator(problem, exact)
    start = {name: float(v) for name, v in initial_parameters(problem).items()}
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
        given.items.append(Equation("given", Var(name), [], start[name], start[name],
                                    max(narrator.rounding.decimals, 1), node=name, note="parameter"))
    given.items.append(Equation("given", Var("η"), [], problem.lr, problem.lr, 3, note="learning rate"))
    sections.append(given)

    per_sample_section = Section(
        "Per-sample gradients at the starting parameters", "sample",
        intro="Each sample's loss Lᵢ = (ŷᵢ − yᵢ)² has its own gradient; backpropagation gives each one.",
    )
    starting_gradients = [narrator.sample_gradient(start, i, per_sample_section, with_forward=True,
                                                    context=f"sample {i + 1}")
                          for i in range(n)]
    sections.append(per_sample_section)

    results = {}
    if "batch" in modes:
        section = Section("Batch gradient descent", "batch",
                          intro="One update per pass over the data, on the average of the per-sample gradients.")
        averaged = narrator.average(section, starting_gradients, list(range(n)), "L", "batch")
        hand = narrator.update(section, start, averaged, "L", "batch")
        exact_values = dict(start)
        grads = [_exact_gradients(problem, exact_values, i)[1] for i in range(n)]
        exact_values = {k: exact_values[k] - problem.lr * np.mean([g[k] for g in grads]) for k in names}
        results["batch"] = (1, hand, exact_values)
        sections.append(section)
    if "stochastic" in modes:
        section = Section("Stochastic gradient descent", "stochastic",
                          intro="One update per sample, in order; each gradient is recomputed at the weights "
                                "the previous update left.")
        hand, exact_values = dict(start), dict(start)
        for i in range(n):
            gradients = (starting_gradients[i] if i == 0 else
                         narrator.sample_gradient(hand, i, section, with_forward=False,
                                                  context=f"stochastic, sample {i + 1}"))
            if i == 0:
                section.items.append(Note("Sample 1 at the starting weights: its gradient is the one above."))
            hand = narrator.update(section, hand, gradients, f"L{i + 1}", f"stochastic, sample {i + 1}")
            exact_grads = _exact_gradients(problem, exact_values, i)[1]
            exact_values = {k: exact_values[k] - problem.lr * exact_grads[k] for k in names}
        results["stochastic"] = (n, hand, exact_values)
        sections.append(section)
    if "minibatch" in modes:
        size = problem.batch_size
        section = Section(f"Mini-batch gradient descent (batches of {size})", "minibatch",
                          intro="One update per consecutive chunk of samples, on the chunk's average gradient.")
        hand, exact_values = dict(start), dict(start)
        chunks = [list(range(s, min(s + size, n))) for s in range(0, n, size)]
        for number, chunk in enumerate(chunks, 1):
            per_sample = [starting_gradients[i] if number == 1 else
                          narrator.sample_gradient(hand, i, section, with_forward=False,
                                                  context=f"minibatch, batch {number}, sample {i + 1}")
                          for i in chunk]
            if number == 1:
                section.items.append(Note("The first batch starts at the starting weights: its per-sample "
                                          "gradients are the ones above."))
            averaged = narrator.average(section, per_sample, chunk, f"L_b{number}", f"minibatch, batch {number}")
            hand = narrator.update(section, hand, averaged, f"L_b{number}", f"minibatch, batch {number}")
            grads = [_exact_gradients(problem, exact_values, i)[1] for i in chunk]
            exact_values = {k: exact_values[k] - problem.lr * np.mean([g[k] for g in grads]) for k in names}
        results["minibatch"] = (len(chunks), hand, exact_values)
        sections.append(section)

    if problem.steps > 1:
        sections.append(_more_epochs(problem, start, list(results), names))

    comparison = Section("Comparison after one pass over the data", "compare")
    rows = []
    decimals = narrator.finer.decimals
    for mode, (updates, hand, exact_values) in results.items():
        rows.append([mode, str(updates)]
                    + [f"{format_value(hand[k], decimals)} (exact {format_value(exact_values[k], 6)})"
                       for k in names]
                    + [format_value(_mean_loss(problem, exact_values), 6)])
    comparison.items.append(Table(["mode", "updates"] + [f"{k} after one pass" for k in names]
                                  + ["mean loss after"], rows))
    comparison.items.append(Note(f"Mean loss at the start: {format_value(_mean_loss(problem, start), 6)}."))
    if len(results) > 1:
        comparison.items.append(Note(
            "With the same starting weights and learning rate, the modes move the weights differently: "
            "stochastic updates follow each sample's gradient at once, so one pass makes several smaller, "
            "fresher steps where batch descent makes one averaged step."))
    sections.append(comparison)
    summary = {mode: {"updates": u, "parameters": {k: float(v) for k, v in exact_values.items()},
                      "shown": {k: float(v) for k, v in hand.items()}}
               for mode, (u, hand, exact_values) in results.items()}
    return Explanation(problem.title, sections, precision=problem.precision, graph=_modes_graph(problem, start),
                       summary={"modes": summary}, description=problem.description, detail=detail, exact=exact)


def _epoch(problem: Problem, values: dict, mode: str, names: list[str]) -> dict:
    """One exact epoch of ``mode`` from ``values``."""
    n = problem.samples
    size = {"batch": n, "stochastic": 1, "minibatch": problem.batch_size}[mode]
    for start in range(0, n, size):
        grads = [_exact_gradients(problem, values, i)[1] for i in range(start, min(start + size, n))]
        values = {k: values[k] - problem.lr * float(np.mean([g[k] for g in grads])) for k in names}
    return values


def _more_epochs(problem: Problem, start: dict, modes: list[str], names: list[str]) -> Section:
    """The mean loss after each of ``problem.steps`` epochs, per mode (exact)."""
    values = {mode: dict(start) for mode in modes}
    rows = []
    for epoch in range(1, problem.steps + 1):
        row = [str(epoch)]
        for mode in modes:
            values[mode] = _epoch(problem, values[mode], mode, names)
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
