"""The explainer: step-by-step derivations of backpropagation and gradient descent.

``explain(loss, lr=0.1)`` explains a graph you recorded yourself;
``explain_problem(problem)`` explains a described problem (a TOML file, a
built-in example or an expression, see ``problems``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .build import build_loss, initial_parameters
from .classification import softmax_loss as softmax_cross_entropy
from .core import explain, explain_graph
from .domains import DomainError
from .explanation import Explanation, GraphvizMissing
from .graph import trace
from .limits import check_samples
from .modes import explain_modes
from .neurons import explain_neurons
from .plots import dynamics_of_problem
from .problems import Problem, ProblemError, builtin_names, expression_problem, load_builtin, load_problem
from .reference import annotate_reference
from .updates import UpdateRule

__all__ = [
    "explain", "explain_problem", "Explanation", "DomainError", "GraphvizMissing", "Problem", "ProblemError",
    "load_problem", "load_builtin", "builtin_names", "expression_problem", "softmax_cross_entropy",
]


def explain_problem(problem: Problem, *, steps: int | None = None, precision: int | None = None,
                    detail: str = "auto", optimizer: str | None = None, exact: bool = False,
                    derive: str | None = None) -> Explanation:
    """Explain a problem: one sample step by step, or a data set's gradient-descent modes."""
    with np.errstate(all="ignore"):  # a value outside a function's domain is reported as a DomainError instead
        return _explain_problem(problem, steps=steps, precision=precision, detail=detail, optimizer=optimizer,
                                derive=derive,
                                exact=exact)


def _explain_problem(problem: Problem, *, steps, precision, detail, optimizer, exact, derive) -> Explanation:
    changes = {k: v for k, v in (("steps", steps), ("precision", precision), ("optimizer", optimizer),
                                 ("derive", derive)) if v is not None}
    # A reference text's numbers belong to the problem as written: another optimizer makes other numbers.
    same_problem = (optimizer in (None, problem.optimizer))
    if changes:
        problem = dataclasses.replace(problem, **changes)
    explanation = _explain_as_given(problem, detail=detail, exact=exact)
    _label_frozen(explanation, problem.frozen)
    # The pictures of its dynamics are drawn when asked for (the page, --plot), not on every explanation.
    explanation.picture_source = lambda **limits: dynamics_of_problem(problem, **limits)
    if same_problem:
        annotate_reference(explanation, problem.reference, problem.reference_source)
    return explanation


def _label_frozen(explanation: Explanation, frozen) -> None:
    """A frozen parameter enters the graph as a given value; its line says why (not just "input")."""
    for section in explanation.sections:
        if section.kind != "given":
            continue
        for item in section.items:
            if getattr(item, "kind", None) == "given" and item.lhs.to_text() in frozen:
                item.note = "frozen: given, never updated"


def _explain_as_given(problem: Problem, *, detail, exact) -> Explanation:
    if detail == "auto" and problem.detail is not None:
        detail = problem.detail  # [display] detail, unless the caller chose one
    if detail == "neurons":
        return explain_neurons(problem, exact=exact, update=UpdateRule(problem.optimizer, momentum=problem.momentum))
    if problem.steps > 1 and problem.lr is None:
        raise ProblemError("more than one step needs a learning rate")
    if problem.is_dataset and problem.kind == "mlp" and problem.mode != "batch":
        raise ProblemError(f"{problem.source}: [training] mode = {problem.mode!r}: an MLP's data set is explained "
                           "as one batch update at the layer level; for stochastic or mini-batch training of an MLP "
                           "use `chainrule train`, or use mode = \"batch\"")
    if problem.is_dataset:
        check_samples(problem.samples, problem.source)
    if problem.is_dataset and problem.kind != "mlp":
        if problem.lr is None:
            raise ProblemError(f"{problem.source}: a data set's gradient-descent modes need [training] lr")
        return explain_modes(problem, detail=detail, exact=exact)
    update = UpdateRule(problem.optimizer, momentum=problem.momentum)
    samples = range(problem.samples) if problem.kind == "mlp" else [0]
    loss, _ = build_loss(problem, initial_parameters(problem), samples)
    return explain_graph(trace(loss), lr=problem.lr, precision=problem.precision, title=problem.title,
                         steps=problem.steps, description=problem.description, detail=detail,
                         update=update, exact=exact, derive_mode=problem.derive)
