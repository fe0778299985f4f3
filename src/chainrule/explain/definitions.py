"""Definitions up front, as the seed's section 3 does, and the notes a teacher adds on the way.

Only what the problem uses is defined: each activation with its derivative,
and the loss. Gate intuitions (add distributes, multiply swaps, max routes,
fan-out gradients add) and notes on ReLU at 0 and dead ReLUs are attached to
the lines where they apply.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph, Node
from .model import Equation, Note, Section

__all__ = ["definitions_section", "add_gate_notes", "interpretation_notes"]

#: What each rule means, written once: (definition, its derivative), in the seed's notation.
_ACTIVATIONS = {
    "sigmoid": ("σ(z) = 1/(1 + e^(−z)), which squashes any z into (0, 1)",
                "σ′(z) = σ(z)(1 − σ(z)), at most 0.25 (at z = 0)"),
    "tanh": ("tanh(z) = (e^z − e^(−z))/(e^z + e^(−z)), which squashes z into (−1, 1)",
             "tanh′(z) = 1 − tanh²(z), at most 1 (at z = 0)"),
    "relu": ("relu(z) = max(z, 0)",
             "relu′(z) = 1 for z > 0 and 0 for z < 0; at z = 0 it is taken as 0 (PyTorch's choice)"),
    "leaky_relu": ("leaky_relu(z) = z for z > 0, 0.01·z otherwise",
                   "leaky_relu′(z) = 1 for z > 0, 0.01 otherwise, so no unit is ever completely dead"),
    "softplus": ("softplus(z) = ln(1 + e^z), a smooth ReLU", "softplus′(z) = σ(z)"),
    "exp": ("exp(z) = e^z", "exp′(z) = e^z"),
    "log": ("ln(z), the natural logarithm (z > 0)", "ln′(z) = 1/z"),
    "softmax": ("softmax(z)ᵢ = e^(zᵢ)/Σⱼ e^(zⱼ): probabilities, positive and adding up to 1",
                "∂pᵢ/∂zⱼ = pᵢ(𝟙[i = j] − pⱼ), so ∂L/∂z = p ⊙ (∂L/∂p − Σ ∂L/∂p ⊙ p)"),
    "maximum": ("max(a, b), the larger of the two", "1 for the larger input, 0 for the other"),
    "minimum": ("min(a, b), the smaller of the two", "1 for the smaller input, 0 for the other"),
}

_LOSSES = {
    "squared_error": "L = (ŷ − y)², the squared error (over a batch, its mean); ∂L/∂ŷ = 2(ŷ − y)",
    "binary_cross_entropy": "L = −(y·ln ŷ + (1 − y)·ln(1 − ŷ)), binary cross-entropy for a probability ŷ "
                            "and a target y in [0, 1]; ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ))",
    "bce_with_logits": "L = −(y·ln σ(z) + (1 − y)·ln(1 − σ(z))), binary cross-entropy on the logit z; "
                       "∂L/∂z = σ(z) − y",
    "class_nll": "L = −ln p[y], cross-entropy: minus the log of the probability the model gives the true class y "
                 "(over a batch, the mean)",
    "cross_entropy": "L = −ln softmax(z)[y], cross-entropy on the logits z; ∂L/∂z = softmax(z) − onehot(y)",
    "abs": "|ŷ − y|, the absolute error; its derivative is sign(ŷ − y) (taken as 0 where ŷ = y)",
}


def _loss_rule(graph: Graph) -> str | None:
    root = graph.root
    loss = root
    if root.rule is not None and root.rule.name in ("mean", "sum") and root.inputs and root.inputs[0].rule:
        loss = root.inputs[0]
    if loss.rule is None:
        return None
    if loss.rule.name == "pow_scalar" and loss.attrs.get("exponent", loss.attrs.get("p")) == 2:
        return "squared_error"
    return loss.rule.name if loss.rule.name in _LOSSES else None


def definitions_section(graph: Graph) -> Section | None:
    """The functions this problem uses, with their derivatives, and its loss: nothing else."""
    used = []
    for node in graph.nodes:
        if node.rule is not None and node.rule.name in _ACTIVATIONS and node.rule.name not in used:
            used.append(node.rule.name)
    loss = _loss_rule(graph)
    if loss in ("bce_with_logits",) and "sigmoid" not in used:
        used.insert(0, "sigmoid")
    if loss == "class_nll" and "log" in used:
        used.remove("log")
    items: list = []
    for name in used:
        definition, derivative = _ACTIVATIONS[name]
        items.append(Note(f"{definition}; its derivative {derivative}."))
    if loss is not None and graph.root.name != "f":
        items.append(Note(f"Loss: {_LOSSES[loss]}."))
    if not items:
        return None
    return Section("Functions used", "definitions", items=items)


# ---------------------------------------------------------------------------
# Notes on the way

_GATES = {
    "add": "An addition passes the gradient through unchanged to each of its terms (add distributes).",
    "mul": "A product sends each factor the gradient times the other factor (multiply swaps).",
    "maximum": "max passes the whole gradient to the larger input and none to the other (max routes).",
    "minimum": "min passes the whole gradient to the smaller input and none to the other (min routes).",
}


def _local_lines(sections: list[Section]):
    for section in sections:
        if section.kind != "local":
            continue
        for item in section.items:
            if isinstance(item, Equation) and item.kind == "local":
                yield item


def _append_note(equation: Equation, text: str) -> None:
    equation.note = text if not equation.note else f"{equation.note.rstrip('.')}. {text}"


def add_gate_notes(sections: list[Section], graph: Graph) -> None:
    """One note per kind of gate, on the first local derivative it explains; ReLU at 0 and dead ReLUs."""
    told: set[str] = set()
    by_name = {n.name: n for n in graph.visible}
    for equation in _local_lines(sections):
        node = by_name.get(equation.node)
        if node is None or node.rule is None:
            continue
        rules = _rules_under(graph, node)
        for gate in ("add", "mul", "maximum", "minimum"):
            if gate in rules and gate not in told and _formula_fits(gate, equation):
                _append_note(equation, _GATES[gate])
                told.add(gate)
                break
        if node.rule.name == "relu":
            z = float(np.asarray(node.inputs[0].value, dtype=float).reshape(-1)[0]) if node.is_scalar else None
            if z is not None and z == 0:
                _append_note(equation, "ReLU has no slope at exactly 0; chainrule, like PyTorch, takes 0 there.")
            elif z is not None and z < 0:
                _append_note(equation, "This ReLU is off (its input is negative): no gradient flows back through "
                                       "it, and if it stays off for every sample it is a dead ReLU that never "
                                       "learns.")
    fan_out = [n for n in graph.visible if n.tensor.requires_grad and len(graph.visible_consumers(n)) > 1]
    if fan_out and "fan-out" not in told:
        chain = next((s for s in sections if s.kind in ("chain", "gradient")), None)
        if chain is not None:
            names = ", ".join(n.name for n in fan_out[:3])
            chain.items.append(Note(f"Fan-out: {names} feed{'s' if len(fan_out) == 1 else ''} more than one "
                                    "operation, and the gradients from each use are added."))


def _rules_under(graph: Graph, node: Node) -> set[str]:
    """The rules of ``node`` and the arithmetic folded into its expression."""
    found, stack = set(), [node]
    while stack:
        current = stack.pop()
        if current.rule is None:
            continue
        found.add(current.rule.name)
        stack.extend(p for p in current.inputs if not p.visible)
    return found


def _formula_fits(gate: str, equation: Equation) -> bool:
    """The gate's story fits this line: ∂z/∂b = 1 (add), ∂z/∂w = x (multiply), max/min's indicator."""
    text = equation.forms[0].expr.to_text() if equation.forms else "1"
    if gate == "add":
        return text in ("1", "1.0") or not equation.forms
    if gate == "mul":
        return bool(equation.forms) and equation.forms[0].expr.__class__.__name__ == "Var"
    return True


def interpretation_notes(sections: list[Section], graph: Graph) -> None:
    """What each parameter's gradient says (sign and size), and where the prediction stands against the target."""
    top = graph.root.name
    for section in sections:
        if section.kind not in ("chain", "local", "gradient"):
            continue
        for item in section.items:
            if not isinstance(item, Equation) or item.kind not in ("chain", "local", "gradient"):
                continue
            name = item.lhs.to_text()
            parameter = next((n for n in graph.parameters if n.visible and name == f"∂{top}/∂{n.name}"), None)
            if parameter is None or not parameter.is_scalar:
                continue
            value = float(np.asarray(item.value, dtype=float).reshape(()))
            what = "loss" if top != "f" else "function"
            if value > 0:
                text = (f"Positive: increasing {parameter.name} would increase the {what}, so gradient descent "
                        f"decreases {parameter.name}.")
            elif value < 0:
                text = (f"Negative: increasing {parameter.name} would decrease the {what}, so gradient descent "
                        f"increases {parameter.name}.")
            else:
                text = f"Zero: a small change of {parameter.name} does not change the {what} here."
            if value:
                text += (f" Its size says how strongly: near {parameter.name}, the {what} changes about "
                         f"{item.shown_text().lstrip('-−')} times as fast as {parameter.name}.")
            _append_note(item, text)
    _prediction_note(sections, graph)


def _prediction_note(sections: list[Section], graph: Graph) -> None:
    loss_section = next((s for s in sections if s.kind == "loss"), None)
    if loss_section is None or not graph.is_scalar:
        return
    by_name = {n.name: n for n in graph.visible}
    prediction, target = by_name.get("ŷ"), by_name.get("y")
    if prediction is None or target is None:
        return
    p, y = float(prediction.value.reshape(())), float(target.value.reshape(()))
    if p > y:
        text = "The prediction is higher than the true label, so the loss is positive and pushes ŷ down."
    elif p < y:
        text = "The prediction is lower than the true label, so the loss is positive and pushes ŷ up."
    else:
        text = "The prediction equals the target: the loss is 0 and nothing needs to change."
    loss_section.items.append(Note(text))
