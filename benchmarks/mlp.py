"""One epoch of minibatch SGD on a 784-256-128-10 MLP, chainrule beside PyTorch (CPU), float32 end to end.

    python benchmarks/mlp.py [--repeat 5] [--threads N] [--chunk N] [--pause 0.3] [--skip-memory]

The workload: 60,000 synthetic samples (standard-normal float32 inputs of 784
features, uniformly random labels 0..9, fixed seed), an MLP 784-256-128-10
with ReLU, softmax cross-entropy, and one epoch of plain SGD (lr 0.01) on
consecutive minibatches of 128 (469 updates, the last on 96 samples). Both
libraries start from the same float32 weights and read the same arrays
(``chainrule.from_numpy`` / ``torch.from_numpy``, no copies).

Timed in this one process, interleaved: each round trains one epoch of every
variant in turn, from fresh copies of the initial weights, the order rotating
from round to round; the table gives the median over ``--repeat`` rounds and
the ratio line also the median of the per-round ratios. Before each turn the
script sleeps ``--pause`` seconds (untimed): OpenBLAS's idle worker threads
keep spinning for a while after numpy's last product, and without the pause
they take a core from PyTorch's OpenMP threads at the start of its turn (with
turns of 20-40 minibatches and no pause, that made PyTorch look 1.5-2× slower).
``--chunk N`` cuts each epoch into turns of N minibatches run in lock step (all
variants do chunk i before any does chunk i + 1), which spreads bursts of load
from other processes more evenly but pays the pause and a cold start per turn.
The variants:

* chainrule, a plain loop over slices written with the public API
  (``nn.MLP(..., dtype=np.float32)``, ``nn.CrossEntropyLoss``, ``optim.SGD``);
  this is the figure in the ratio;
* chainrule through ``chainrule.fit(mode="minibatch", batch_size=128,
  metrics=False, progress=False)``, called once per turn; it gathers each
  batch with an index array (a copy) and checks each loss for NaN;
* chainrule, the same loop with its step wrapped in ``chainrule.compile`` (two tapes: the
  full batches and the last, shorter one);
* PyTorch, the same plain loop;
* the "matmul floor": only the 8 matrix products an epoch needs, in raw numpy
  float32 on the same batches: 3 forward (x·W1ᵀ, h1·W2ᵀ, h2·W3ᵀ) and 5 backward
  (gᵀ·h for each of the 3 weights, g·W for the 2 hidden activations; the
  input's gradient is not needed). No bias, ReLU, loss, or update: a lower
  bound for chainrule, which does its products with numpy's BLAS (PyTorch
  calls its own, MKL in the pip wheels).

Both libraries use the same number of threads: PyTorch's intra-op count is set
to numpy's BLAS thread count as threadpoolctl reports it (both printed).
``--threads N`` first limits numpy's BLAS to N threads (threadpoolctl) and then
gives PyTorch the same; on a shared 2-core machine ``--threads 1`` is much
less disturbed by other processes.

Peak memory: before timing anything, the script runs itself in a child process
per library (``--only chainrule`` / ``--only torch``) and reads the child's
peak resident set size after the imports, after making the data, and after
one epoch; the training figure is the growth of that peak during the epoch.
The peak is VmHWM from /proc/self/status (``resource.getrusage(RUSAGE_SELF)
.ru_maxrss`` elsewhere: on Linux a child's ru_maxrss starts from its parent's
peak across fork + exec, so it can report the parent's figure). For chainrule a
second child also measures the peak of numpy's own allocations during the
epoch with ``tracemalloc`` (which sees numpy's data buffers but not PyTorch's
allocator, so it is given for chainrule only). Timings are never taken in the
children.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from common import max_difference, torch_mlp

SIZES = (784, 256, 128, 10)
LR = 0.01


def make_data(samples: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=samples, dtype=np.int64)
    return X, y


def make_weights(seed: int):
    """PyTorch's default Linear initialisation (uniform in ±1/√fan_in), float32: [(W (out, in), b (out,)), ...]."""
    rng = np.random.default_rng(seed + 1)
    weights = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(n_in)
        weights.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                        rng.uniform(-bound, bound, n_out).astype(np.float32)))
    return weights


def blas_threads() -> int | None:
    """numpy's BLAS thread count, from threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return counts[0] if counts else None


def configure_threads(threads: int | None, with_torch: bool) -> str:
    """Give numpy's BLAS ``threads`` threads (when asked) and PyTorch as many as numpy has; say what was used."""
    limiter = None
    if threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            limiter = threadpool_limits(threads, user_api="blas")  # kept alive: the limit lasts while it exists
    numpy_threads = blas_threads()
    text = f"numpy BLAS threads = {numpy_threads if numpy_threads is not None else 'unknown (no threadpoolctl)'}"
    if with_torch:
        import torch

        wanted = numpy_threads if numpy_threads is not None else threads
        if wanted is not None:
            torch.set_num_threads(wanted)
        text += f", torch.get_num_threads() = {torch.get_num_threads()}"
        if wanted is None:
            text += " (left at its default: numpy's count is unknown)"
    configure_threads.limiter = limiter
    return text


# ---------------------------------------------------------------------------
# Each ``make_*`` builds its model from the initial weights (untimed) and
# returns ``(train, weights)``: ``train(lo, hi)`` trains on the minibatches of
# samples lo..hi (lo a multiple of the batch size) and returns the sum of
# loss × batch size over them; ``weights()`` reads the parameters back.


def make_chainrule(X, y, initial, batch_size, use_fit=False, compiled=False):
    import chainrule as cr
    from chainrule import nn, optim

    model = nn.MLP(list(SIZES), activation="relu", dtype=np.float32)
    names = [name for name, _ in model.named_parameters()]
    model.load_state_dict(dict(zip(names, [a for pair in initial for a in pair])))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LR)

    def step(inputs, targets):
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    run = cr.compile(step) if compiled else step

    def loop(lo, hi):
        total = 0.0
        for start in range(lo, hi, batch_size):
            inputs = cr.from_numpy(X[start:min(start + batch_size, hi)])
            targets = y[start:min(start + batch_size, hi)]
            total += run(inputs, targets).item() * len(targets)
        return total

    def with_fit(lo, hi):
        history = cr.fit(model, loss_fn, optimizer, X[lo:hi], y[lo:hi], mode="minibatch", batch_size=batch_size,
                         metrics=False, progress=False)
        return history.epoch_loss[-1] * (hi - lo)

    def weights():
        arrays = [np.array(p.data) for p in model.parameters()]
        return list(zip(arrays[0::2], arrays[1::2]))

    return (with_fit if use_fit else loop), weights


def make_chainrule_fit(X, y, initial, batch_size):
    return make_chainrule(X, y, initial, batch_size, use_fit=True)


def make_chainrule_compiled(X, y, initial, batch_size):
    return make_chainrule(X, y, initial, batch_size, compiled=True)


def make_torch(X, y, initial, batch_size):
    import torch

    model, linears = torch_mlp(SIZES, initial, torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

    def loop(lo, hi):
        total = 0.0
        for start in range(lo, hi, batch_size):
            inputs = X_t[start:min(start + batch_size, hi)]
            targets = y_t[start:min(start + batch_size, hi)]
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(targets)
        return total

    def weights():
        return [(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()) for layer in linears]

    return loop, weights


def make_floor(X, y, initial, batch_size):
    """The epoch's matrix products alone (values are not a real gradient: only the shapes matter)."""
    (W1, _), (W2, _), (W3, _) = initial

    def products(lo, hi):
        for start in range(lo, hi, batch_size):
            x = X[start:min(start + batch_size, hi)]
            h1 = x @ W1.T            # forward
            h2 = h1 @ W2.T
            out = h2 @ W3.T
            g3 = out                 # stands for ∂L/∂out (same shape and dtype)
            _ = g3.T @ h2            # backward: ∂L/∂W3
            g2 = g3 @ W3             # ∂L/∂h2
            _ = g2.T @ h1            # ∂L/∂W2
            g1 = g2 @ W2             # ∂L/∂h1
            _ = g1.T @ x             # ∂L/∂W1
        return float("nan")

    return products, None


TIMED = {
    "chainrule (loop)": make_chainrule,
    "chainrule (fit)": make_chainrule_fit,
    "chainrule (compiled)": make_chainrule_compiled,
    "pytorch": make_torch,
    "matmul floor": make_floor,
}


# ---------------------------------------------------------------------------
# Peak memory, in a child process.


def _peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    VmHWM from /proc/self/status where there is one (Linux): ``ru_maxrss`` would
    do, but Linux carries a parent's peak over fork + exec into the child's
    ``ru_maxrss``, so it could report the parent's figure rather than the child's.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def child(library: str, args) -> None:
    """Run in a fresh process: one epoch of ``library``; print what memory it took as JSON."""
    import tracemalloc

    if library == "torch":
        import torch  # noqa: F401  (count the import in the baseline, not in the epoch)

        make = make_torch
    else:
        import chainrule  # noqa: F401

        make = make_chainrule
    configure_threads(args.threads, with_torch=library == "torch")
    report = {"after_imports": _peak_rss_mib()}
    X, y = make_data(args.samples, args.seed)
    initial = make_weights(args.seed)
    report["after_data"] = _peak_rss_mib()
    if args.tracemalloc:
        tracemalloc.start()
    train, _ = make(X, y, initial, args.batch_size)
    train(0, len(X))
    report["after_epoch"] = _peak_rss_mib()
    if args.tracemalloc:
        current, peak = tracemalloc.get_traced_memory()
        report["tracemalloc_peak"] = peak / 2**20
        report["tracemalloc_end"] = current / 2**20
    print(json.dumps(report))


def measure_memory(library: str, args, tracemalloc: bool = False) -> dict:
    command = [sys.executable, __file__, "--only", library, "--samples", str(args.samples), "--seed", str(args.seed),
               "--batch-size", str(args.batch_size)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    if tracemalloc:
        command.append("--tracemalloc")
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory_table(args, with_torch: bool) -> tuple[list[str], list[str]]:
    """The peak-memory report (lines to print) and notes, from one child process per measurement."""
    lines = ["",
             "Peak memory (one child process per library; peak RSS = VmHWM, the high-water mark of resident memory)",
             f"  {'library':<12}{'after imports':>15}{'data (+MiB)':>13}{'epoch (+MiB)':>14}{'peak RSS':>12}"
             f"{'tracemalloc peak':>18}"]
    notes = []
    for library in ("chainrule", "torch") if with_torch else ("chainrule",):
        try:
            rss = measure_memory(library, args)
            traced = measure_memory(library, args, tracemalloc=True) if library == "chainrule" else None
        except subprocess.CalledProcessError as error:
            notes.append(f"memory child for {library} failed: {error.stderr.strip()[-300:]}")
            continue
        traced_text = "—" if traced is None else f"{traced['tracemalloc_peak']:.2f} MiB"
        data, epoch = rss["after_data"] - rss["after_imports"], rss["after_epoch"] - rss["after_data"]
        lines.append(f"  {library:<12}{rss['after_imports']:>11.1f} MiB{data:>13.1f}{epoch:>14.1f}"
                     f"{rss['after_epoch']:>8.1f} MiB{traced_text:>18}")
    lines += [
        f"  data: growth of the peak while making X and y (X alone is {args.samples * SIZES[0] * 4 / 2**20:.1f} MiB);",
        "  epoch: growth of the peak while building the model and training one epoch (both libraries read X in",
        "  place); tracemalloc peak: the most memory held at once in numpy buffers and Python objects made during",
        "  chainrule's epoch (weights, gradients, optimizer scratch, one batch's graph), measured in a second child",
        "  (tracemalloc cannot see PyTorch's allocator, so there is no such figure for it)",
    ]
    return lines, notes


# ---------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved timed epochs per variant (median)")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit numpy's BLAS to this many threads (with threadpoolctl) and give PyTorch the same "
                             "(default: numpy's own count, and PyTorch set to it)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="minibatches per turn (default 0: a whole epoch per turn; see the docstring)")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds of (untimed) sleep before each turn")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-memory children")
    parser.add_argument("--only", choices=("chainrule", "torch"), help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.only:
        child(args.only, args)
        return

    notes = []
    try:
        import torch  # noqa: F401
    except ImportError as error:
        have_torch = False
        notes.append(f"pytorch skipped: {error}")
    else:
        have_torch = True
    # The memory children first, while this process is still small.
    memory_lines = []
    if not args.skip_memory:
        memory_lines, memory_notes = memory_table(args, have_torch)
        notes += memory_notes
    threads_text = configure_threads(args.threads, with_torch=have_torch)

    X, y = make_data(args.samples, args.seed)
    initial = make_weights(args.seed)
    variants = {name: make for name, make in TIMED.items() if have_torch or name != "pytorch"}
    for make in variants.values():
        make(X, y, initial, args.batch_size)[0](0, 4 * args.batch_size)  # warm up

    # A turn is a whole epoch, or with --chunk a chunk of minibatches that every variant trains before any
    # goes on to the next (lock step); the order rotates from turn to turn.
    chunk = args.chunk * args.batch_size if args.chunk > 0 else len(X)
    bounds = [(lo, min(lo + chunk, len(X))) for lo in range(0, len(X), chunk)]
    times = {name: [] for name in variants}
    results = {}
    for round_ in range(args.repeat):
        trainers = {name: make(X, y, initial, args.batch_size) for name, make in variants.items()}
        elapsed = dict.fromkeys(variants, 0.0)
        loss_sums = dict.fromkeys(variants, 0.0)
        names = list(variants)
        for i, (lo, hi) in enumerate(bounds):
            first = (round_ + i) % len(names)
            for name in names[first:] + names[:first]:
                time.sleep(args.pause)  # let the other library's idle worker threads stop spinning
                start = time.perf_counter()
                loss_sums[name] += trainers[name][0](lo, hi)
                elapsed[name] += time.perf_counter() - start
        for name, (_, weights) in trainers.items():
            times[name].append(elapsed[name])
            results[name] = (loss_sums[name] / len(X), weights() if weights is not None else None)
    seconds = {name: statistics.median(samples) for name, samples in times.items()}

    batches = -(-args.samples // args.batch_size)
    print(f"\nMLP {'-'.join(map(str, SIZES))} (ReLU), cross-entropy, SGD lr {LR}, one epoch of {args.samples} "
          f"float32 samples in {batches} minibatches of {args.batch_size}")
    turns = f"in lock step, {args.chunk} minibatches a turn" if args.chunk > 0 else "interleaved, an epoch a turn"
    from importlib import metadata

    print("versions: " + ", ".join(f"{name} {metadata.version(name)}" for name in ("numpy", "chainrule", "torch")
                                   if name != "torch" or have_torch))
    print(f"{threads_text}; median of {args.repeat} epochs ({turns}, {args.pause:g} s pause before each; "
          "min..max shown)")
    base = seconds["chainrule (loop)"]
    reference = results.get("pytorch")
    print(f"  {'variant':<22}{'s / epoch':>10}{'min..max':>16}{'÷ chainrule loop':>18}{'mean loss':>12}"
          f"{'max|Δθ| vs torch':>18}")
    for name, value in seconds.items():
        loss, weights = results[name]
        low, high = min(times[name]), max(times[name])
        if weights is None or reference is None or name == "pytorch":
            dtheta = "—"
        else:
            dtheta = f"{max_difference(weights, reference[1]):.1e}"
        loss_text = "—" if np.isnan(loss) else f"{loss:.6f}"
        print(f"  {name:<22}{value:>10.3f}{f'{low:.3f}..{high:.3f}':>16}{value / base:>18.2f}{loss_text:>12}"
              f"{dtheta:>18}")
    if "pytorch" in seconds:
        paired = statistics.median(t / c for t, c in zip(times["pytorch"], times["chainrule (loop)"]))
        print(f"  pytorch / chainrule loop = {seconds['pytorch'] / base:.2f} (median of the per-epoch ratios: "
              f"{paired:.2f}); chainrule loop / pytorch = {base / seconds['pytorch']:.2f} (target: at most 1.2)")
    floor = seconds["matmul floor"]
    if "chainrule (compiled)" in seconds:
        compiled = seconds["chainrule (compiled)"]
        if "pytorch" in seconds:
            print(f"  chainrule compiled / pytorch = {compiled / seconds['pytorch']:.2f} (below 1: chainrule compiled "
                  "is faster; target: at most 0.9)")
        print(f"  chainrule compiled / matmul floor = {compiled / floor:.2f} (target: at most 1.3)")
    flops = 2 * args.samples * (2 * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
                                + sum(a * b for a, b in zip(SIZES[1:-1], SIZES[2:])))
    print(f"  matmul floor: {flops / 1e9:.1f} GFLOP per epoch at {flops / floor / 1e9:.0f} GFLOP/s; beyond the floor "
          f"chainrule spends {base - floor:.3f} s ({(base - floor) / base:.0%} of its epoch)"
          + (f", pytorch {seconds['pytorch'] - floor:.3f} s" if "pytorch" in seconds else ""))
    trained = results["chainrule (loop)"][1]
    dtypes = sorted({str(array.dtype) for pair in trained for array in pair})
    print(f"  chainrule parameter dtypes after training: {', '.join(dtypes)}")
    for line in memory_lines:
        print(line)
    for note in notes:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
