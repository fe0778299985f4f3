"""The closing section, in the seed's spirit: what this step showed, written from its own numbers."""

from __future__ import annotations

import numpy as np

from .derivation import Derivation
from .fdcheck import FiniteDifference
from .graph import Graph
from .model import Note, Section
from .numbers import NumberModel, typographic_minus

__all__ = ["takeaways_section"]


def takeaways_section(graph: Graph, derivation: Derivation, sections: list[Section], precision: int,
                      lr: float | None) -> Section:
    numbers = NumberModel(precision)
    text = lambda value: typographic_minus(numbers.text(float(value)))  # noqa: E731
    top = graph.root.name
    what = "the function" if top == "f" else "the loss"
    parameters = [n for n in graph.parameters if n.visible and n.name in derivation.gradients]
    items = []
    # The gradients as the derivation wrote them (carried by hand), so the numbers here are the ones above.
    shown = derivation.shown_gradients or {}
    sizes = {n.name: float(np.max(np.abs(np.asarray(shown.get(n.name, derivation.gradients[n.name]), dtype=float)),
                                  initial=0.0)) for n in parameters}
    if parameters:
        largest = max(parameters, key=lambda n: sizes[n.name])
        names = ", ".join(f"∂{top}/∂{n.name}" for n in parameters[:6]) + (", …" if len(parameters) > 6 else "")
        line = f"Backpropagation: the chain rule gave {names}, each local derivative computed once and reused."
        if len(parameters) > 1:
            # A tie (CS231n's (x + y)·z gives ∂f/∂x = ∂f/∂y = −4) names every parameter that shares the lead.
            tied = [n for n in parameters if text(sizes[n.name]) == text(sizes[largest.name])]
            if len(tied) == len(parameters):
                line += (f" {what.capitalize()} is as sensitive to each of them "
                         f"(|∂{top}/∂{largest.name}| = {text(sizes[largest.name])} for all).")
            else:
                element = "" if all(n.is_scalar for n in tied) else ", the largest element"
                named = " and ".join(n.name for n in tied) if len(tied) <= 3 else f"{len(tied)} parameters"
                bars = " = ".join(f"|∂{top}/∂{n.name}|" for n in tied[:3])
                line += (f" {what.capitalize()} is most sensitive to {named} "
                         f"({bars} = {text(sizes[largest.name])}{element}).")
        items.append(Note(line))
    checks = [item for s in sections for item in s.items if isinstance(item, FiniteDifference)]
    if checks:
        bad = [c.parameter for c in checks if not c.agrees]
        items.append(Note("Every gradient agrees with its finite-difference check: backpropagation's numbers are right."
                          if not bad else f"The finite-difference check disagrees for {', '.join(bad)}: look at "
                          "that gradient's chain.", "note" if not bad else "bad"))
    if lr is not None and derivation.new_loss is not None:
        before, after = derivation.loss, derivation.new_loss
        verdict = "down" if after < before else "not down"
        items.append(Note(f"Gradient descent: every parameter stepped against its gradient, scaled by η = "
                          f"{numbers.given(lr)}; {what} went {verdict}, from {text(before)} to {text(after)} "
                          "(exact values)."))
    return Section("Key takeaways", "takeaways", items=items + [
        Note("Backpropagation computes the gradients; gradient descent uses them to update the parameters and "
             "learn.")])
