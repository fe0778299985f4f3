"""A small CNN on scikit-learn's digits, chainrule beside PyTorch (CPU), float32: test accuracy and time per epoch.

    python benchmarks/cnn_digits.py [--epochs 15] [--batch-size 32] [--threads N]

The data: the 1,797 8×8 digit images of ``sklearn.datasets.load_digits``,
pixels divided by 16, split 75/25 (seed 0). The network, built once in
chainrule and copied to PyTorch with ``cr.to_torch`` (so both start from the
same weights):

    Conv2d(1, 16, 3, padding=1) · ReLU · MaxPool2d(2)       8×8 → 4×4
    Conv2d(16, 32, 3, padding=1) · ReLU · MaxPool2d(2)      4×4 → 2×2
    Flatten · Linear(128, 64) · ReLU · Linear(64, 10)

trained with Adam (lr 0.005) on shuffled mini-batches (one order per epoch,
the same for both libraries), softmax cross-entropy. Each epoch is timed on its
own, the two libraries alternating epoch by epoch; the table gives the median
epoch. The goal of the issue: at least 97 % test accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim


def digits():
    table = data.load_digits()
    X = (table.X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return data.train_test_split(X, table.y.astype(np.int64), test_size=0.25, seed=0)


def network() -> nn.Module:
    f32 = np.float32
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, dtype=f32, generator=np.random.default_rng(0)), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, dtype=f32, generator=np.random.default_rng(1)), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64, dtype=f32, seed=2), nn.ReLU(), nn.Linear(64, 10, dtype=f32, seed=3))


def accuracy_ours(model, X, y) -> float:
    model.eval()
    with cr.no_grad():
        result = float(np.mean(np.argmax(model(cr.from_numpy(X)).numpy(), axis=1) == y))
    model.train()
    return result


def accuracy_theirs(model, X, y) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        result = float(np.mean(np.argmax(model(torch.from_numpy(X)).numpy(), axis=1) == y))
    model.train()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="PyTorch's intra-op threads (default: its own)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    X_train, X_test, y_train, y_test = digits()
    ours = network()
    theirs = cr.to_torch(ours)
    ours_opt = optim.Adam(ours.parameters(), lr=0.005)
    theirs_opt = torch.optim.Adam(theirs.parameters(), lr=0.005)
    loss_ours, loss_theirs = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X_train), torch.from_numpy(y_train)
    orders = np.random.default_rng(0)
    times = {"chainrule": [], "PyTorch": []}
    for _ in range(args.epochs):
        order = orders.permutation(len(X_train))
        batches = [order[s:s + args.batch_size] for s in range(0, len(order), args.batch_size)]
        start = time.perf_counter()
        for index in batches:
            ours_opt.zero_grad()
            loss_ours(ours(cr.from_numpy(X_train[index])), cr.from_numpy(y_train[index])).backward()
            ours_opt.step()
        times["chainrule"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for index in batches:
            index_t = torch.from_numpy(index)
            theirs_opt.zero_grad()
            loss_theirs(theirs(X_t[index_t]), y_t[index_t]).backward()
            theirs_opt.step()
        times["PyTorch"].append(time.perf_counter() - start)

    accuracy = {"chainrule": accuracy_ours(ours, X_test, y_test), "PyTorch": accuracy_theirs(theirs, X_test, y_test)}
    print(f"digits: {len(X_train)} training and {len(X_test)} test images, {args.epochs} epochs of "
          f"{len(batches)} mini-batches of {args.batch_size}, float32; torch threads {torch.get_num_threads()}")
    print(f"{'':10} {'test accuracy':>14} {'median epoch':>13} {'fastest epoch':>14}")
    for name in times:
        print(f"{name:10} {accuracy[name]:>13.2%} {statistics.median(times[name]) * 1e3:>10.1f} ms "
              f"{min(times[name]) * 1e3:>11.1f} ms")
    ratio = statistics.median(times["chainrule"]) / statistics.median(times["PyTorch"])
    print(f"chainrule / PyTorch, median epoch: {ratio:.2f}×")
    print(f"goal ≥ 97 % test accuracy: {'met' if accuracy['chainrule'] >= 0.97 else 'NOT met'} by chainrule")


if __name__ == "__main__":
    main()
