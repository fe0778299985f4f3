"""How much the explainer writes out, and the one-line refusal beyond it.

A derivation is read by a person: past a few thousand lines nobody reads it,
and writing and rendering it stops taking seconds. The limits keep explain plus
render under about ten seconds on a small laptop (see
``benchmarks/explain_scale.py``); beyond them the explainer says which limit
was passed and what to do instead, rather than working for minutes.
"""

from __future__ import annotations

__all__ = ["MAX_NODES", "MAX_SAMPLES", "ExplainTooLarge", "check_nodes", "check_samples"]

#: Values and operations in one explained graph (a 1,000-term sum w1·x1 + … has about 4,000).
MAX_NODES = 5000
#: Samples in a data set's gradient-descent narration.
MAX_SAMPLES = 5000


class ExplainTooLarge(ValueError):
    """What was asked is larger than the explainer writes out; the message names the limit and what to do."""


def check_nodes(count: int) -> None:
    if count > MAX_NODES:
        raise ExplainTooLarge(
            f"explain: the computation has {count:,} values and operations, more than the {MAX_NODES:,} the "
            "explainer writes out; explain a smaller part of it, or train it with chainrule.fit"
        )


def check_samples(count: int, source: str) -> None:
    if count > MAX_SAMPLES:
        raise ExplainTooLarge(
            f"{source}: the data set has {count:,} samples, more than the {MAX_SAMPLES:,} the explainer narrates; "
            "explain a sample of them, or train on all of them with chainrule train"
        )
