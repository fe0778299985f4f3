"""Every step derived: steps 2…N of gradient descent written out like step 1.

Step t starts from the parameters step t − 1 wrote down (0.4708, not
0.47074394…) and from the optimizer's state as written (momentum's velocity,
Adam's m and v), so a learner can carry on by hand and every line checks on a
calculator. Each line's JSON ``value`` is exact: the same step derived along
the exact path, from the exact parameters and state.
"""

from __future__ import annotations

import numpy as np

from ..tensor import tensor
from .derivation import Derivation, derive, rebuild
from .graph import Graph, trace
from .model import Section
from .updates import UpdateRule

__all__ = ["DERIVE", "derive_choice", "derived_steps"]

DERIVE = ("first", "all", "last")
#: Up to this many steps, every one is derived by default; beyond, the first (and a table of all).
DERIVE_ALL_UP_TO = 5


def derive_choice(derive: str | None, steps: int) -> str:
    """Which steps are derived line by line: the caller's choice, or all of up to five steps."""
    if derive is None:
        return "all" if steps <= DERIVE_ALL_UP_TO else "first"
    if derive not in DERIVE:
        raise ValueError(f"explain: derive must be one of {', '.join(DERIVE)}, got {derive!r}")
    return derive


def _written(derivation: Derivation, lhs: str):
    for section in derivation.sections:
        for equation in section.equations():
            if equation.kind == "update" and equation.lhs.to_text() == lhs:
                return equation.shown
    raise KeyError(lhs)


def _hand_state(derivation: Derivation, update: UpdateRule, names: list[str]) -> dict:
    """The optimizer's state as the step's lines wrote it (v for momentum, m and v for Adam)."""
    keys = {"sgd": (), "momentum": ("v",), "adam": ("m", "v")}[update.name]
    return {name: {key: _written(derivation, f"{key}_{name}") for key in keys} for name in names}


def _at(graph: Graph, values: dict[str, np.ndarray]) -> Graph:
    """The same computation recorded again with the parameters at ``values`` (by name), names kept."""
    parameters = {n.index: n for n in graph.parameters if n.name in values}
    leaves = {index: tensor(np.array(values[node.name], dtype=float), requires_grad=True, name=node.name)
              for index, node in parameters.items()}
    root, tensors = rebuild(graph, leaves)
    names = {id(tensors[node.index]): node.name for node in graph.nodes if node.name is not None}
    return trace(root, names)


def derived_steps(graph: Graph, first: Derivation, *, lr: float, precision: int, steps: int, update: UpdateRule,
                  exact: bool, which: str) -> list[Section]:
    """The sections of steps 2…``steps`` (``which``: "all", or only the "last"), each derived like step 1.

    ``first`` is step 1 as derived (its lines' values, gradients and new parameters are exact: step 1
    starts where the exact path does).
    """
    from .core import gradients_of  # (core calls this module)

    if which == "first" or steps < 2:
        return []
    names = [n.name for n in graph.parameters if n.visible]
    first_exact = first
    hand_values = {name: _written(first, f"{name}_new") for name in names}
    exact_values = {name: np.asarray(first_exact.new_parameters[name], dtype=float) for name in names}
    hand_state = _hand_state(first, update, names)
    exact_state = {name: update.advance(None, first_exact.gradients[name]) for name in names}
    if exact:
        hand_state = exact_state
    sections: list[Section] = []
    for t in range(2, steps + 1):
        step_graph = _at(graph, hand_values)
        written = derive(step_graph, lr=lr, precision=precision, gradients=gradients_of(step_graph.root_tensor),
                         update=update.at(t, hand_state), exact=exact)
        if exact:
            truth = written
        else:
            exact_graph = _at(graph, exact_values)
            truth = derive(exact_graph, lr=lr, precision=precision, gradients=gradients_of(exact_graph.root_tensor),
                           update=update.at(t, exact_state), exact=True)
            hand_lines = [eq for s in written.sections for eq in s.equations()]
            exact_lines = [eq for s in truth.sections for eq in s.equations()]
            for line, exact_line in zip(hand_lines, exact_lines):
                line.value = exact_line.value  # the JSON's value: the exact path's
        if which == "all" or t == steps:
            for section in written.sections:
                section.title = f"Step {t}: {section.title}"
            sections.extend(written.sections)
        exact_state = {name: update.advance(exact_state[name], truth.gradients[name]) for name in names}
        hand_state = exact_state if exact else _hand_state(written, update, names)
        exact_values = {name: np.asarray(truth.new_parameters[name], dtype=float) for name in names}
        hand_values = exact_values if exact else {name: _written(written, f"{name}_new") for name in names}
    return sections
