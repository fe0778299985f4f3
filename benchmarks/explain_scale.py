"""How the explainer's time grows with the size of what it explains.

    python benchmarks/explain_scale.py [--quick] [--case samples|terms|depth|chain|reuse]

Each row is one problem: the time to explain it (trace, backpropagate, derive
every line) and to render the result as text and as JSON, in seconds (the best
of ``--repeat`` runs). The cases:

* samples: a neuron (two inputs, sigmoid, squared error) on a data set of N
  samples, mode "batch" and mode "stochastic" (the first samples derived in
  full, the rest in a table);
* terms: the expression ``w1*x1 + w2*x2 + … + wN*xN`` with every value set,
  as ``chainrule explain "…" --set …`` builds it;
* depth: ``w*x`` inside N nested parentheses of ``(… + 1)*0.5``;
* chain: N operations ``v = tanh(v)*1.01`` recorded through the Python API and
  passed to ``chainrule.explain``;
* reuse: one parameter used N times, ``w*0 + w*1 + … + w*(N−1)``, through the API.

Close to linear growth means the time per unit (last column) stays flat.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule.explain import explain_problem, expression_problem
from chainrule.explain.problems import Problem, parse_problem

SIZES = {
    "samples": (100, 500, 1000, 2000),
    "terms": (100, 250, 500, 1000),
    "depth": (50, 100, 200),
    "chain": (100, 250, 500),
    "reuse": (50, 150, 300),
}


def neuron_problem(samples: int, mode: str) -> Problem:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 2)).round(3)
    y = (x[:, 0] > 0).astype(float)
    return parse_problem({"title": f"neuron on {samples} samples",
                          "model": {"kind": "neuron", "weights": [0.5, -0.5], "bias": 0.0},
                          "data": {"x": x.tolist(), "y": y.tolist()},
                          "training": {"lr": 0.1, "mode": mode}}, "benchmark")


def sum_problem(terms: int) -> Problem:
    expression = " + ".join(f"w{i}*x{i}" for i in range(1, terms + 1))
    values = {}
    for i in range(1, terms + 1):
        values[f"w{i}"], values[f"x{i}"] = round(0.01 * (i % 7) - 0.03, 2), round(0.1 * (i % 5) + 0.1, 1)
    return expression_problem(expression, values, target=1.0, lr=0.01)


def nested_problem(depth: int) -> Problem:
    expression = "w*x"
    for _ in range(depth):
        expression = f"({expression} + 1)*0.5"
    return expression_problem(expression, {"w": 0.5, "x": 1.5}, target=1.0, lr=0.1)


def chain_explanation(length: int):
    w = cr.tensor(0.5, requires_grad=True, name="w")
    v = w * 1.0
    for _ in range(length // 2):
        v = cr.tanh(v) * 1.01
    return cr.explain((v - 1.0) ** 2, lr=0.1)


def reuse_explanation(uses: int):
    w = cr.tensor(0.5, requires_grad=True, name="w")
    total = w * 0.0
    for i in range(1, uses):
        total = total + w * float(i)
    return cr.explain(total, lr=0.001)


def case(name: str, size: int):
    """A function that builds the explanation of one row."""
    if name == "samples":
        return lambda mode: explain_problem(neuron_problem(size, mode))
    if name == "terms":
        return lambda: explain_problem(sum_problem(size))
    if name == "depth":
        return lambda: explain_problem(nested_problem(size))
    if name == "chain":
        return lambda: chain_explanation(size)
    return lambda: reuse_explanation(size)


def timed(build, repeat: int) -> tuple[float, float]:
    """(explain seconds, render seconds), best of ``repeat``."""
    best_explain = best_render = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        explanation = build()
        middle = time.perf_counter()
        explanation.to_text()
        explanation.to_json()
        end = time.perf_counter()
        best_explain, best_render = min(best_explain, middle - start), min(best_render, end - middle)
    return best_explain, best_render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=tuple(SIZES), action="append", help="only these cases (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the best is shown (default 1)")
    parser.add_argument("--quick", action="store_true", help="only the two smallest sizes of each case")
    args = parser.parse_args()
    print(f"{'case':<22}{'size':>6}{'explain s':>11}{'render s':>10}{'total s':>9}{'ms per unit':>13}")
    for name in args.case or SIZES:
        sizes = SIZES[name][:2] if args.quick else SIZES[name]
        variants = ("batch", "stochastic") if name == "samples" else (None,)
        for variant in variants:
            label = f"{name} ({variant})" if variant else name
            for size in sizes:
                build = case(name, size)
                explain_s, render_s = timed((lambda: build(variant)) if variant else build, args.repeat)
                total = explain_s + render_s
                print(f"{label:<22}{size:>6}{explain_s:>11.2f}{render_s:>10.2f}{total:>9.2f}"
                      f"{1000 * total / size:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
