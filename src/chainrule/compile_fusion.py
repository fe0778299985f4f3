"""Rewrites of a recorded step that cut numpy calls: each one pattern, measured to pay.

``chainrule.compile`` hands the recorded operations to ``fuse`` before it builds the tape. A
rewrite replaces a few operations by one that computes the same value, and whose VJP gives the
same gradient, with fewer numpy calls. A value that anything else reads (another operation, a
backward pass, the step's result) is never fused away.

* ``sum(a · a)`` (an L2 penalty, a squared norm) becomes one dot product: forward 1 call instead
  of 2 (with a temporary), backward 1 instead of 5 (a broadcast view, two products and their sum).
  The gradient is (g + g)·a, bitwise what the eager engine gets from g·a + g·a; the forward sum
  is BLAS's dot instead of numpy's pairwise sum, so it may differ in the last bits (relative
  error below n·2⁻⁵³ for n squares, like any change of summation order).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["fuse", "FusedRule"]


class FusedRule:
    """A rule made by a rewrite: named and shaped like a table rule, so the tape treats it alike."""

    selective = False
    constant_inputs = frozenset()

    def __init__(self, name: str, forward, vjp, note: str):
        self.name, self.forward, self.vjp, self.note = name, forward, vjp, note


def _sum_of_squares(a):
    if a.__class__ is np.ndarray and a.ndim:
        return np.vdot(a, a)
    return np.sum(a * a)


SUM_OF_SQUARES = FusedRule(
    "sum_of_squares", _sum_of_squares, lambda g, out, a: ((g + g) * a,), "fused: sum(mul(a, a))",
)


def fuse(ops: list[tuple], events: list[tuple], kept: set[int]) -> tuple[list[tuple], list[tuple]]:
    """The operations and events with every rewrite applied. ``kept``: slots read from outside
    the operations (backward roots, the step's results)."""
    readers = Counter(i for _, ins, _, _ in ops for i in ins)
    made_by = {out: index for index, (_, _, _, out) in enumerate(ops)}
    replaced: dict[int, tuple] = {}
    dropped: set[int] = set()
    for index, (rule, ins, attrs, out) in enumerate(ops):
        if rule.name != "sum" or attrs.get("axis") is not None or attrs.get("keepdims"):
            continue
        (m,) = ins
        producer = made_by.get(m)
        if producer is None or readers[m] != 1 or m in kept:
            continue
        inner, inner_ins, _, _ = ops[producer]
        if inner.name == "mul" and len(inner_ins) == 2 and inner_ins[0] == inner_ins[1]:
            replaced[index] = (SUM_OF_SQUARES, (inner_ins[0],), {}, out)
            dropped.add(producer)
    if not replaced:
        return ops, events
    new_index, new_ops = {}, []
    for index, op in enumerate(ops):
        if index in dropped:
            continue
        new_index[index] = len(new_ops)
        new_ops.append(replaced.get(index, op))
    new_events = [("forward", new_index[e[1]]) if e[0] == "forward" else e
                  for e in events if not (e[0] == "forward" and e[1] in dropped)]
    return new_ops, new_events
