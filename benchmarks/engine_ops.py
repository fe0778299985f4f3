"""Per-operation cost of forward + backward, chainrule beside PyTorch, micrograd and HIPS autograd.

    python benchmarks/engine_ops.py [--repeat 2000]

Two workloads, each a 10-operation chain (alternating ``y * a`` and ``y + b``,
with a and b leaves that need gradients) followed by one backward pass:

* 0-d values, where the cost is the per-operation Python overhead;
* 1000-element vectors, where numpy's arithmetic starts to count.

Every library runs in this one process, interleaved round by round, and the
report gives the median time per operation and each peer's time divided by
chainrule's (above 1: chainrule is faster). Libraries that are not installed
are skipped with a note.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

CHAIN = 10  # operations per chain: 5 multiplications, 5 additions


def chainrule_step(size):
    import chainrule as cr

    shape = () if size is None else (size,)
    x = cr.tensor(np.full(shape, 0.5), requires_grad=True)
    a = cr.tensor(np.full(shape, 1.01), requires_grad=True)
    b = cr.tensor(np.full(shape, 0.02), requires_grad=True)

    def step():
        x.grad = a.grad = b.grad = None
        y = x
        for _ in range(CHAIN // 2):
            y = y * a
            y = y + b
        y.backward(None if size is None else np.ones(shape))

    return step


def torch_step(size):
    import torch

    shape = () if size is None else (size,)
    x = torch.full(shape, 0.5, dtype=torch.float64, requires_grad=True)
    a = torch.full(shape, 1.01, dtype=torch.float64, requires_grad=True)
    b = torch.full(shape, 0.02, dtype=torch.float64, requires_grad=True)
    ones = None if size is None else torch.ones(shape, dtype=torch.float64)

    def step():
        x.grad = a.grad = b.grad = None
        y = x
        for _ in range(CHAIN // 2):
            y = y * a
            y = y + b
        y.backward(ones)

    return step


def micrograd_step(size):
    from micrograd.engine import Value

    if size is not None:
        return None  # micrograd has scalars only

    def step():
        x, a, b = Value(0.5), Value(1.01), Value(0.02)
        y = x
        for _ in range(CHAIN // 2):
            y = y * a
            y = y + b
        y.backward()

    return step


def autograd_step(size):
    import autograd.numpy as anp
    from autograd import grad

    shape = () if size is None else (size,)
    x, a, b = np.full(shape, 0.5), np.full(shape, 1.01), np.full(shape, 0.02)

    def chain(params):
        y, a, b = params
        for _ in range(CHAIN // 2):
            y = y * a
            y = y + b
        return anp.sum(y)

    gradient = grad(chain)

    def step():
        gradient((x, a, b))

    return step


LIBRARIES = {
    "chainrule": chainrule_step,
    "pytorch": torch_step,
    "micrograd": micrograd_step,
    "hips-autograd": autograd_step,
}


def measure(size, repeat, rounds=7):
    steps = {}
    for name, make in LIBRARIES.items():
        try:
            step = make(size)
        except ImportError as error:
            print(f"  ({name} not installed: {error})")
            continue
        if step is not None:
            step()
            steps[name] = step
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(repeat):
                step()
            samples[name].append((time.perf_counter() - start) / (repeat * CHAIN))
    return {name: statistics.median(times) for name, times in samples.items()}


def report(title, results):
    base = results["chainrule"]
    print(f"\n{title}")
    print(f"  {'library':<14}{'µs per op':>10}{'peer / chainrule':>18}")
    for name, seconds in results.items():
        print(f"  {name:<14}{seconds * 1e6:>10.2f}{seconds / base:>18.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="chains per timing round")
    args = parser.parse_args()
    report("10-op chain of 0-d values (forward + backward)", measure(None, args.repeat))
    report("10-op chain of 1000-element vectors (forward + backward)", measure(1000, max(args.repeat // 4, 1)))


if __name__ == "__main__":
    main()
