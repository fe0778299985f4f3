"""What a teacher adds around the derivation: definitions first, identities, checks and notes, takeaways last.

``enrich`` is the one place the explainer calls; each part lives in a module of its own
(``definitions``, ``classification``, ``fdcheck``, ``takeaways``).
"""

from __future__ import annotations

from .classification import insert_identities, probabilities_note
from .definitions import add_gate_notes, definitions_section, interpretation_notes
from .derivation import Derivation
from .fdcheck import insert_checks
from .graph import Graph
from .model import Section
from .takeaways import takeaways_section

__all__ = ["enrich"]


def enrich(graph: Graph, derivation: Derivation, sections: list[Section], *, precision: int,
           lr: float | None, exact: bool = False) -> list[Section]:
    """The derivation's sections with the teaching around them (a new list; the sections are edited in place)."""
    insert_identities(sections, graph, precision, exact)
    note = probabilities_note(graph, precision)
    loss = next((s for s in sections if s.kind == "loss"), None)
    if note is not None and loss is not None:
        loss.items.append(note)
    add_gate_notes(sections, graph)
    interpretation_notes(sections, graph)
    insert_checks(sections, graph, derivation.gradients, precision)
    definitions = definitions_section(graph)
    if definitions is not None:
        sections.insert(1, definitions)  # after the given values, as the seed's section 3
    sections.append(takeaways_section(graph, derivation, sections, precision, lr))
    return sections
