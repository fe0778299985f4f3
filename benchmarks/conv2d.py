"""Conv2d forward + backward, chainrule beside PyTorch (CPU, one thread), as a ratio.

    python benchmarks/conv2d.py            # batch 64, 1 → 8 channels, 8×8 images, 3×3 kernel

Two cases: the input needs a gradient (a hidden layer: the scatter-add of the input gradient
runs), and it does not (a first layer, whose input is the data: that product is skipped).
The best of five timing rounds is kept; the ratio is chainrule's time over PyTorch's.
"""

from __future__ import annotations

import time

import numpy as np


def _best(step, repeats: int = 200) -> float:
    for _ in range(20):
        step()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        rounds.append((time.perf_counter() - start) / repeats)
    return min(rounds)


def main() -> None:
    import torch

    import chainrule as cr
    from chainrule import nn

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    data = rng.normal(size=(64, 1, 8, 8)).astype(np.float32)
    ours = nn.Conv2d(1, 8, 3, dtype=np.float32, generator=rng)
    theirs = torch.nn.Conv2d(1, 8, 3)
    for needs_grad in (True, False):
        x, tx = cr.tensor(data, requires_grad=needs_grad), torch.tensor(data, requires_grad=needs_grad)

        def ours_step():
            ours.zero_grad()
            x.grad = None
            ours(x).sum().backward()

        def theirs_step():
            theirs.zero_grad()
            tx.grad = None
            theirs(tx).sum().backward()

        a, b = _best(ours_step), _best(theirs_step)
        label = "input needs grad" if needs_grad else "input is data   "
        print(f"{label}: chainrule {a * 1e6:7.0f} µs, torch {b * 1e6:7.0f} µs, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
