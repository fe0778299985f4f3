"""micrograd's two-moons demo, trained in chainrule, PyTorch (CPU), HIPS autograd and micrograd.

    python benchmarks/moons.py [--repeat 11] [--seed 0] [--micrograd-steps N | --skip-micrograd]

The workload of micrograd's ``demo.ipynb``: 100 points of ``make_moons(noise=0.1)``
(made by ``chainrule.data.make_moons``, so every library sees the same data), an
MLP 2-16-16-1 with ReLU on the hidden layers and a linear output, the max-margin
loss ``mean(relu(1 - y·score))`` with labels ±1 plus ``1e-4·Σp²``, and 100
full-batch SGD steps with ``lr = 1.0 - 0.9·k/100`` at step k = 0..99.

Every library starts from the same float64 weights (drawn with numpy as
micrograd draws them: w uniform in ±1, b = 0) and runs in this one process.
chainrule, PyTorch and autograd are timed in interleaved rounds, the order
rotating from round to round (median of ``--repeat``); micrograd takes
minutes, so it runs once, after them. With ``--micrograd-steps N`` it runs
only N steps and its time is scaled by 100/N (the output says so). Each timed run is the 100 steps only: building the
model and copying the weights in are not timed.

``chainrule-comp`` is the same chainrule loop with its step wrapped in ``chainrule.compile``
(recorded in the first of the 100 steps, which is timed); ``jax-jit`` is the step under
``jax.jit`` (compiled before the timing starts). ``--dtype float32`` runs everything but micrograd
in float32.

The correctness check: given identical float64 starts, the four libraries
should follow the same trajectory up to rounding, so the report gives each
one's largest parameter difference from PyTorch after training and its
largest loss difference along the way (both should be ~1e-12 or smaller).
The final loss and accuracy are computed in plain numpy from each library's
trained parameters. Libraries that are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from common import max_difference, torch_mlp

SIZES = (2, 16, 16, 1)
STEPS = 100
ALPHA = 1e-4  # L2 regularisation strength


def learning_rate(k: int) -> float:
    return 1.0 - 0.9 * k / 100


def make_problem(seed: int):
    """The data (X, labels ±1) and the initial weights [(W (out, in), b (out,)), ...]."""
    from chainrule.data import make_moons

    X, y = make_moons(100, noise=0.1, seed=seed)
    y = 2.0 * y - 1.0
    rng = np.random.default_rng(seed + 1)
    weights = [(rng.uniform(-1.0, 1.0, (n_out, n_in)), np.zeros(n_out)) for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    return X, y, weights


def numpy_loss_and_accuracy(X, y, weights):
    """The training objective and accuracy of the given weights, in plain numpy."""
    h = X
    for i, (W, b) in enumerate(weights):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    scores = h[:, 0]
    loss = np.mean(np.maximum(0.0, 1.0 - y * scores)) + ALPHA * sum(np.sum(W * W) + np.sum(b * b) for W, b in weights)
    return float(loss), float(np.mean((scores > 0) == (y > 0)))


# ---------------------------------------------------------------------------
# One trainer per library. Each ``make_*`` builds the model from the initial
# weights (untimed) and returns ``train(steps) -> losses`` plus ``weights()``,
# which reads the trained parameters back as [(W, b), ...].


def make_chainrule(X, y, initial, compiled=False):
    import chainrule as cr
    from chainrule import nn, optim

    model = nn.MLP(list(SIZES), activation="relu", dtype=X.dtype)
    names = [name for name, _ in model.named_parameters()]
    model.load_state_dict(dict(zip(names, [a for pair in initial for a in pair])))
    params = model.parameters()
    inputs = cr.tensor(X)
    targets = cr.tensor(y.reshape(-1, 1))
    loss_fn = nn.HingeLoss()
    optimizer = optim.SGD(params, lr=learning_rate(0))

    def step(inputs, targets):
        scores = model(inputs)
        loss = loss_fn(scores, targets) + ALPHA * sum((p * p).sum() for p in params)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    run = cr.compile(step) if compiled else step

    def train(steps):
        losses = []
        for k in range(steps):
            optimizer.param_groups[0]["lr"] = learning_rate(k)  # read by the replayed step too
            losses.append(run(inputs, targets).item())
        return losses

    def weights():
        arrays = [np.array(p.data) for p in params]
        return list(zip(arrays[0::2], arrays[1::2]))

    return train, weights


def make_chainrule_compiled(X, y, initial):
    return make_chainrule(X, y, initial, compiled=True)


def make_jax(X, y, initial):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", X.dtype == np.float64)

    def objective(params, X, y):
        h = X
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < len(params) - 1:
                h = jnp.maximum(h, 0.0)
        data_loss = jnp.mean(jnp.maximum(0.0, 1.0 - y * h[:, 0]))
        return data_loss + ALPHA * sum(jnp.sum(W * W) + jnp.sum(b * b) for W, b in params)

    @jax.jit
    def step(params, lr, X, y):
        loss, grads = jax.value_and_grad(objective)(params, X, y)
        return loss, [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, grads)]

    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    state = {"params": [(jnp.asarray(W), jnp.asarray(b)) for W, b in initial]}
    step(state["params"], X.dtype.type(1.0), Xj, yj)[0].block_until_ready()  # compile outside the timing

    def train(steps):
        losses = []
        params = state["params"]
        for k in range(steps):
            loss, params = step(params, X.dtype.type(learning_rate(k)), Xj, yj)
            losses.append(float(loss))
        state["params"] = params
        return losses

    return train, lambda: [(np.asarray(W), np.asarray(b)) for W, b in state["params"]]


def make_torch(X, y, initial):
    import torch

    torch.manual_seed(0)
    model, linears = torch_mlp(SIZES, initial, torch.float64 if X.dtype == np.float64 else torch.float32)
    params = list(model.parameters())
    inputs = torch.from_numpy(X)
    targets = torch.from_numpy(y.reshape(-1, 1))
    optimizer = torch.optim.SGD(params, lr=learning_rate(0))

    def train(steps):
        losses = []
        for k in range(steps):
            scores = model(inputs)
            loss = torch.relu(1 - targets * scores).mean() + ALPHA * sum((p * p).sum() for p in params)
            optimizer.zero_grad()
            loss.backward()
            optimizer.param_groups[0]["lr"] = learning_rate(k)
            optimizer.step()
            losses.append(loss.item())
        return losses

    def weights():
        return [(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()) for layer in linears]

    return train, weights


def make_autograd(X, y, initial):
    import autograd.numpy as anp
    from autograd import value_and_grad

    def objective(params):
        h = X
        for i, (W, b) in enumerate(params):
            h = anp.dot(h, W.T) + b
            if i < len(params) - 1:
                h = anp.maximum(h, 0.0)
        data_loss = anp.mean(anp.maximum(0.0, 1.0 - y * h[:, 0]))
        return data_loss + ALPHA * sum(anp.sum(W * W) + anp.sum(b * b) for W, b in params)

    loss_and_grad = value_and_grad(objective)
    state = {"params": [(W.copy(), b.copy()) for W, b in initial]}

    def train(steps):
        losses = []
        params = state["params"]
        for k in range(steps):
            loss, grads = loss_and_grad(params)
            lr = learning_rate(k)
            params = [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, grads)]
            losses.append(float(loss))
        state["params"] = params
        return losses

    return train, lambda: state["params"]


def make_micrograd(X, y, initial):
    from micrograd.engine import Value
    from micrograd.nn import MLP

    model = MLP(SIZES[0], list(SIZES[1:]))  # ReLU on all layers but the last (nonlin=False there)
    for layer, (W, b) in zip(model.layers, initial):
        for neuron, row, bias in zip(layer.neurons, W.tolist(), b.tolist()):
            neuron.w = [Value(v) for v in row]
            neuron.b = Value(bias)
    rows, labels = X.tolist(), y.tolist()

    def train(steps):
        losses = []
        for k in range(steps):
            # As in micrograd's demo.ipynb: loss(), then zero_grad, backward and the update.
            inputs = [list(map(Value, row)) for row in rows]
            scores = list(map(model, inputs))
            hinge = [(1 + -yi * si).relu() for yi, si in zip(labels, scores)]
            data_loss = sum(hinge) * (1.0 / len(hinge))
            reg_loss = ALPHA * sum(p * p for p in model.parameters())
            total = data_loss + reg_loss
            model.zero_grad()
            total.backward()
            lr = learning_rate(k)
            for p in model.parameters():
                p.data -= lr * p.grad
            losses.append(total.data)
        return losses

    def weights():
        return [(np.array([[w.data for w in n.w] for n in layer.neurons]), np.array([n.b.data for n in layer.neurons]))
                for layer in model.layers]

    return train, weights


LIBRARIES = {
    "chainrule": make_chainrule,
    "chainrule-comp": make_chainrule_compiled,
    "pytorch": make_torch,
    "jax-jit": make_jax,
    "hips-autograd": make_autograd,
    "micrograd": make_micrograd,
}


def versions(names) -> str:
    from importlib import metadata

    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def run_once(make, X, y, initial, steps):
    train, weights = make(X, y, initial)
    start = time.perf_counter()
    losses = train(steps)
    return time.perf_counter() - start, losses, weights()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="timed runs of the 100 steps per fast library")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and of the initial weights")
    parser.add_argument("--micrograd-steps", type=int, default=STEPS, metavar="N",
                        help="time only N micrograd steps and scale by 100/N (default: all 100, about 3 minutes)")
    parser.add_argument("--skip-micrograd", action="store_true", help="leave micrograd out")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="the dtype of data and weights (micrograd always computes in Python floats)")
    args = parser.parse_args()
    if not 1 <= args.micrograd_steps <= STEPS:
        parser.error(f"--micrograd-steps must be between 1 and {STEPS}")

    X, y, initial = make_problem(args.seed)
    dtype = np.dtype(args.dtype)
    X, y = X.astype(dtype), y.astype(dtype)
    initial = [(W.astype(dtype), b.astype(dtype)) for W, b in initial]
    fast = {}
    for name in ("chainrule", "chainrule-comp", "pytorch", "jax-jit", "hips-autograd"):
        try:
            run_once(LIBRARIES[name], X, y, initial, 2)  # import and warm up
        except ImportError as error:
            print(f"  ({name} not installed: {error})")
            continue
        fast[name] = LIBRARIES[name]
    if "chainrule" not in fast:
        raise SystemExit("chainrule itself failed to import")

    times = {name: [] for name in fast}
    results = {}
    names = list(fast)
    for round_ in range(args.repeat):
        first = round_ % len(names)  # rotate the order from round to round
        for name in names[first:] + names[:first]:
            seconds, losses, weights = run_once(fast[name], X, y, initial, STEPS)
            times[name].append(seconds)
            results[name] = (losses, weights)
    seconds = {name: statistics.median(samples) for name, samples in times.items()}
    spread = {name: (min(samples), max(samples)) for name, samples in times.items()}

    notes = []
    if args.skip_micrograd:
        notes.append("micrograd skipped (--skip-micrograd)")
    else:
        try:
            import micrograd  # noqa: F401
        except ImportError as error:
            notes.append(f"micrograd not installed: {error}")
        else:
            steps = args.micrograd_steps
            print(f"running micrograd once for {steps} step(s)...", flush=True)
            elapsed, losses, weights = run_once(make_micrograd, X, y, initial, steps)
            seconds["micrograd"] = elapsed * STEPS / steps
            spread["micrograd"] = None
            results["micrograd"] = (losses, weights if steps == STEPS else None)
            if steps < STEPS:
                notes.append(f"micrograd: one run of {steps} step(s) took {elapsed:.2f} s; "
                             f"its time is extrapolated ×{STEPS / steps:g} to 100 steps, and its parameters "
                             f"are not compared (its losses are, over those {steps} step(s))")
            else:
                notes.append("micrograd: one run (not a median)")

    print(f"\nTwo moons: 100 samples, MLP {'-'.join(map(str, SIZES))} (ReLU), hinge loss + {ALPHA:g}·Σp², "
          f"{STEPS} full-batch SGD steps, {args.dtype}, seed {args.seed}")
    print(f"median of {args.repeat} interleaved runs (min..max shown); peer / chainrule above 1 means chainrule is "
          "faster")
    print(f"versions: {versions(['numpy', 'chainrule', 'torch', 'autograd', 'micrograd'])}"
          + (f"; torch.get_num_threads() = {__import__('torch').get_num_threads()}" if "pytorch" in fast else ""))
    reference = results.get("pytorch")
    header = (f"  {'library':<14}{'s / 100 steps':>14}{'min..max':>22}{'peer / chainrule':>18}"
              f"{'final loss':>20}{'accuracy':>10}{'max|Δθ| vs torch':>18}{'max|Δloss| vs torch':>21}")
    print(header)
    base = seconds["chainrule"]
    for name, value in seconds.items():
        losses, weights = results[name]
        span = "one run" if spread[name] is None else f"{spread[name][0]:.4f}..{spread[name][1]:.4f}"
        if weights is not None:
            final_loss, acc = numpy_loss_and_accuracy(X, y, weights)
            loss_text, acc_text = f"{final_loss:.15f}", f"{acc:.2f}"
        else:
            loss_text, acc_text = "n/a", "n/a"
        if reference is None or name == "pytorch":
            dtheta = dloss = "—"
        else:
            ref_losses, ref_weights = reference
            dloss = f"{max(abs(a - b) for a, b in zip(losses, ref_losses)):.1e}"
            dtheta = "n/a" if weights is None else f"{max_difference(weights, ref_weights):.1e}"
        print(f"  {name:<14}{value:>14.4f}{span:>22}{value / base:>18.2f}"
              f"{loss_text:>20}{acc_text:>10}{dtheta:>18}{dloss:>21}")
    print("  final loss and accuracy: of each library's trained parameters, computed in numpy; max|Δθ|: largest "
          "parameter difference from PyTorch's after training; max|Δloss|: largest difference from PyTorch's loss "
          "over the steps")
    if "chainrule-comp" in seconds:
        for peer, target in (("pytorch", 0.35), ("jax-jit", 2.0)):
            if peer in seconds:
                print(f"  chainrule compiled / {peer} = {seconds['chainrule-comp'] / seconds[peer]:.2f} "
                      f"(below 1: chainrule compiled is faster; the target is at most {target:g})")
    for note in notes:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
