"""The teaching around a data set's narration, as around one sample's: definitions, a check, takeaways.

* the functions used, from the graph of sample 1 (every sample runs the same functions);
* a finite-difference check of the first gradient that averages samples (batch mode's, else the first
  mini-batch's, else sample 1's own in stochastic descent): the loss it differentiates is the mean of those
  samples' losses, nudged one parameter at a time;
* the takeaways: what one pass of each mode did to the mean loss, from the numbers of the comparison.
"""

from __future__ import annotations

import numpy as np

from .build import build_loss
from .definitions import definitions_section
from .fdcheck import FiniteDifference, check_loss_note
from .graph import trace
from .model import Equation, Note, Section, format_value
from .numbers import typographic_minus

__all__ = ["add_teaching"]


def add_teaching(problem, sections: list[Section], start: dict, start_exact: dict, modes: list[str],
                 results: dict[str, tuple[int, float]], start_loss: float) -> None:
    """Edit ``sections`` in place. ``results`` maps each mode to (updates, exact mean loss after one pass)."""
    definitions = definitions_section(trace(build_loss(problem, start, [0])[0]))
    checks = _insert_checks(problem, sections, start_exact, modes)
    if definitions is not None:
        sections.insert(1, definitions)  # after the data and the starting point
    sections.append(_takeaways(results, start_loss, checks))


def _checked_lines(sections: list[Section], modes: list[str]) -> tuple[Section, str, list[int]] | None:
    """The section, loss name and samples of the first gradient that is checked."""
    by_kind = {section.kind: section for section in sections}
    if "batch" in modes:
        return by_kind["batch"], "L", None
    if "minibatch" in modes:
        return by_kind["minibatch"], "L_b1", None
    return by_kind["sample"], "L1", [0]


def _insert_checks(problem, sections: list[Section], start_exact: dict, modes: list[str]) -> list[FiniteDifference]:
    found = _checked_lines(sections, modes)
    if found is None:
        return []
    section, loss, samples = found
    if samples is None:  # the whole data set, or the first mini-batch
        samples = list(range(problem.samples)) if loss == "L" else list(range(problem.batch_size))
    checks = []
    for position in range(len(section.items) - 1, -1, -1):
        item = section.items[position]
        if not isinstance(item, Equation) or item.context not in (None, "batch", "minibatch, batch 1", "sample 1"):
            continue
        name = next((n for n in start_exact if item.lhs.to_text() == f"∂{loss}/∂{n}"), None)
        if name is None or any(c.parameter == name for c in checks):
            continue

        def mean_loss(value, name=name):
            values = {**start_exact, name: value}
            return float(np.mean([float(build_loss(problem, values, [i])[0].data) for i in samples]))

        check = check_loss_note(name, mean_loss, start_exact[name], float(item.value), problem.precision, loss)
        section.items.insert(position + 1, check)
        checks.append(check)
    return checks[::-1]


def _takeaways(results: dict[str, tuple[int, float]], start_loss: float,
               checks: list[FiniteDifference]) -> Section:
    items = [Note("Backpropagation: each sample has its own gradient; a batch's gradient is the average of its "
                  "samples' gradients, because its loss is the mean of their losses.")]
    if checks:
        bad = [c.parameter for c in checks if not c.agrees]
        items.append(Note("The averaged gradient agrees with its finite-difference check: backpropagation's "
                          "numbers are right." if not bad else
                          f"The finite-difference check disagrees for {', '.join(bad)}: look at that gradient.",
                          "note" if not bad else "bad"))
    parts = [f"{mode} ({updates} update{'s' if updates != 1 else ''}) to {format_value(loss, 6)}"
             for mode, (updates, loss) in results.items()]
    best = min(results, key=lambda mode: results[mode][1])
    sentence = f"Gradient descent: one pass took the mean loss from {format_value(start_loss, 6)}: " + \
        "; ".join(parts) + "."
    if len(results) > 1:
        sentence += (f" {best.capitalize()} got lowest here; more updates per pass can move further, each on a "
                     "noisier gradient.")
    items.append(Note(typographic_minus(sentence)))
    items.append(Note("Backpropagation computes the gradients; gradient descent uses them to update the parameters "
                      "and learn."))
    return Section("Key takeaways", "takeaways", items=items)
