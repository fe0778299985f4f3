"""chainrule.compile: a replayed tape gives the eager step's numbers, and every guard falls back.

Eager and replay run the same rules in the same order (the backward schedule is planned in the
order the eager engine visits nodes), so in float64 the gradients are identical, not just close.
The one rewrite that changes a summation order (sum(a·a) as a dot product) moves a loss by ulps.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import CompiledStep, compile
from test_random_programs import BINARY, UNARY, programs


def _program_step(program):
    """A step function for a random program: its leaves come in as arguments."""
    shape, steps, _ = program

    def step(*leaves):
        leaves = list(leaves)
        value = leaves.pop(0)
        for op in steps:
            if op[0] == "unary":
                value = UNARY[op[1]][0](value)
            elif op[0] == "binary":
                value = BINARY[op[1]][0](value, leaves.pop(0))
            else:
                value = value @ leaves.pop(0)
        loss = (value * value).sum()
        loss.backward()
        return loss

    return step


def _leaf_shapes(program):
    """The shapes of a program's leaves, in the order it uses them (as test_random_programs draws them)."""
    shape, steps, _ = program
    shapes = [shape]
    value = cr.tensor(np.ones(shape))
    for op in steps:
        if op[0] == "unary":
            value = UNARY[op[1]][0](value)
        elif op[0] == "binary":
            current = tuple(value.shape)
            other = [current, current[1:], tuple(1 if i % 2 else s for i, s in enumerate(current))][op[2]]
            shapes.append(other)
            value = BINARY[op[1]][0](value, cr.tensor(np.ones(other)))
        else:
            other = (tuple(value.shape)[-1], op[1]) if len(value.shape) else (1, op[1])
            shapes.append(other)
            value = value @ cr.tensor(np.ones(other))
    return shapes


def _leaves(shapes, seed):
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.uniform(-1.5, 1.5, size=s), requires_grad=True) for s in shapes]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_replay_like_eager(program):
    step = _program_step(program)
    compiled = compile(step)
    shapes = _leaf_shapes(program)
    for seed in (program[2], program[2] + 1, program[2] + 2):
        eager_leaves, replay_leaves = _leaves(shapes, seed), _leaves(shapes, seed)
        eager_loss = step(*eager_leaves)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback: every random program is replayable
            replay_loss = compiled(*replay_leaves)
        # The loss sum((v·v)) is fused into a dot product (summation order); gradients are bitwise equal.
        assert replay_loss.item() == pytest.approx(eager_loss.item(), rel=1e-14, abs=1e-300)
        for ours, theirs in zip(replay_leaves, eager_leaves):
            np.testing.assert_array_equal(ours.grad.data, theirs.grad.data)
    assert len(compiled.tapes) == 1 and not compiled.eager


def _training(seed=0, compiled=True, lr_schedule=None, steps=12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(32, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.float64).reshape(-1, 1)
    model = nn.MLP([3, 8, 1], activation="tanh", seed=seed, dtype=np.float64)
    params = model.parameters()
    opt = optim.Adam(params, lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()

    def step(inputs, targets):
        opt.zero_grad()
        loss = loss_fn(model(inputs), targets) + 1e-3 * sum((p * p).sum() for p in params)
        loss.backward()
        opt.step()
        return loss

    run = compile(step) if compiled else step
    losses = []
    for k in range(steps):
        if lr_schedule is not None:
            opt.param_groups[0]["lr"] = lr_schedule(k)
        losses.append(run(cr.tensor(X), cr.tensor(y)).item())
    return losses, [np.array(p.data) for p in params], run


@pytest.mark.parametrize("schedule", [None, lambda k: 0.1 / (1 + k)])
def test_a_compiled_training_run_equals_the_eager_one(schedule):
    eager_losses, eager_params, _ = _training(compiled=False, lr_schedule=schedule)
    losses, params, run = _training(compiled=True, lr_schedule=schedule)
    # The L2 term's sum is a fused dot product: the same value up to summation order. The
    # gradients, and so the parameters, are bitwise the eager ones.
    assert losses == pytest.approx(eager_losses, rel=1e-14, abs=0)
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)
    assert isinstance(run, CompiledStep) and len(run.tapes) == 1


def test_scalar_parameters_are_read_again_after_each_update():
    # A 0-d parameter's data is a numpy scalar that the optimizer rebinds on every step.
    def train(compiled):
        w = cr.tensor(np.float64(2.0), requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9)

        def step(x):
            opt.zero_grad()
            loss = (w * x - 1.0) ** 2
            loss.backward()
            opt.step()
            return loss, w * x  # the second value is computed after the update

        run = compile(step) if compiled else step
        return [tuple(t.item() for t in run(cr.tensor(np.float64(3.0)))) for _ in range(5)]

    assert train(True) == train(False)


def test_a_new_shape_records_a_new_tape():
    w = cr.tensor(np.ones((3, 1)), requires_grad=True)

    @compile
    def step(x):
        loss = (x @ w).sum()
        loss.backward()
        return loss

    step(cr.tensor(np.ones((4, 3))))
    step(cr.tensor(np.ones((4, 3))))
    step(cr.tensor(np.ones((2, 3))))
    assert len(step.tapes) == 2
    np.testing.assert_array_equal(w.grad.data, np.full((3, 1), 10.0))


def test_reading_a_value_mid_step_falls_back_to_eager_with_one_warning():
    w = cr.tensor(np.array([1.0, -1.0]), requires_grad=True)
    calls = []

    @compile
    def step(x):
        y = (w * x).sum()
        if y.item() > 0:  # data-dependent control flow: a tape would freeze the branch taken
            calls.append("positive")
            y = y * 2
        y.backward()
        return y

    with pytest.warns(RuntimeWarning, match=r"reads a value .*item"):
        first = step(cr.tensor(np.array([3.0, 1.0])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the decision is remembered: no second warning
        second = step(cr.tensor(np.array([1.0, 3.0])))
    assert first.item() == 4.0 and second.item() == -2.0
    assert calls == ["positive"]
    assert not step.tapes


def test_an_in_place_change_inside_the_step_falls_back():
    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)

    @compile
    def step(x):
        loss = (w * x).sum()
        loss.backward()
        with cr.no_grad():
            w.__isub__(0.5 * w.grad)  # a host-side update the tape cannot replay (w -= …)
        w.grad = None
        return loss

    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        step(cr.tensor(np.array([1.0, 1.0])))
    step(cr.tensor(np.array([1.0, 1.0])))
    np.testing.assert_array_equal(w.data, [0.0, 1.0])


def test_returning_something_the_tape_cannot_rebuild_falls_back():
    w = cr.tensor(np.array([1.0]), requires_grad=True)

    @compile
    def step(x):
        loss = (w * x).sum()
        loss.backward()
        return object()

    with pytest.warns(RuntimeWarning, match="returns a object"):
        step(cr.tensor(np.array([1.0])))
    assert not step.tapes


def test_the_tape_prints_as_numpy_calls():
    w = cr.tensor(np.array([[0.5, -0.5]]), requires_grad=True, name="w")
    opt = optim.SGD([w], lr=0.1)

    @compile
    def step(x):
        opt.zero_grad()
        loss = cr.relu(x @ w.T).mean()
        loss.backward()
        opt.step()
        return loss

    step(cr.tensor(np.ones((4, 2))))
    text = repr(step)
    for expected in ("matmul(", "relu(", "mean(", "relu.vjp(", "matmul.vjp(", "w.grad += ", "SGD.step()"):
        assert expected in text, text


def test_gradients_that_are_not_zeroed_add_up_as_in_eager():
    # The replay keeps the arrays its kernels made and writes into them the next time, except
    # while a parameter's .grad still holds one: without zero_grad, gradients must add up.
    def train(compiled):
        model = nn.MLP([4, 6, 3], activation="relu", seed=3, dtype=np.float64)
        data = np.random.default_rng(1).normal(size=(5, 4))

        def step(x):
            loss = (model(x) ** 2).mean()
            loss.backward()
            return loss

        run = compile(step) if compiled else step
        for _ in range(4):
            run(data)  # a numpy array comes in as a tensor
        return [np.array(p.grad.data) for p in model.parameters()]

    for ours, theirs in zip(train(True), train(False)):
        np.testing.assert_array_equal(ours, theirs)


def test_returned_values_are_not_overwritten_by_later_replays():
    w = cr.tensor(np.array([[1.0, 2.0]]), requires_grad=True)

    @compile
    def step(x):
        scores = cr.linear(x, w).relu()
        scores.sum().backward()
        return scores.detach(), scores * 1.0

    first = step(cr.tensor(np.ones((3, 2))))
    kept = [t.data.copy() for t in first]
    step(cr.tensor(np.full((3, 2), 5.0)))
    step(cr.tensor(np.full((3, 2), 7.0)))
    for t, before in zip(first, kept):
        np.testing.assert_array_equal(t.data, before)


@pytest.mark.parametrize("mode, batch_size, shuffle", [("batch", None, False), ("stochastic", None, True),
                                                        ("minibatch", 7, True)])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_fit_compiled_gives_the_eager_numbers(mode, batch_size, shuffle, task):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 3))
    if task == "regression":
        y, sizes, loss_fn = X @ np.array([0.5, -1.0, 2.0]), [3, 5, 1], nn.MSELoss()
    else:
        y, sizes, loss_fn = rng.integers(0, 3, size=30), [3, 5, 3], nn.CrossEntropyLoss()

    def train(compiled):
        model = nn.MLP(sizes, activation="tanh", seed=2, dtype=np.float64)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        history = cr.fit(model, loss_fn, opt, X, y, mode=mode, batch_size=batch_size, shuffle=shuffle, seed=1,
                         epochs=2, progress=False, compile=compiled)
        return history.step_loss, [np.array(p.data) for p in model.parameters()]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses, params = train(True)
    eager_losses, eager_params = train(False)
    assert losses == eager_losses
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)


def test_fit_compiled_still_stops_on_a_diverging_loss():
    X = np.array([[1.0], [2.0]])
    model = nn.MLP([1, 1], seed=0, dtype=np.float64)
    with pytest.raises(cr.TrainingDiverged, match="step"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e200), X, np.array([1e200, -1e200]),
               epochs=3, progress=False, compile=True)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())


def test_chainrule_train_compiles_by_default_and_gives_the_eager_numbers(capsys):
    from chainrule.cli import main

    outputs = []
    for flag in ("--compile", "--no-compile"):
        assert main(["train", "moons", "--epochs", "30", "--seed", "3", "--no-progress", flag]) == 0
        # Everything but the line with the time it took: the losses and accuracies to every digit shown.
        outputs.append([line for line in capsys.readouterr().out.splitlines() if not line.startswith("trained")])
    assert outputs[0] == outputs[1]
    assert any(line.startswith("train ") for line in outputs[0])


def test_an_l2_penalty_is_fused_into_one_dot_product_with_the_eager_gradient():
    w = cr.tensor(np.random.default_rng(0).normal(size=(50, 20)), requires_grad=True)

    def step(x):
        loss = (x @ w.T).mean() + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    x = cr.tensor(np.ones((4, 20)))
    compiled(x)
    w.grad = None
    replayed = compiled(x)
    replay_grad = w.grad.data.copy()
    w.grad = None
    eager = step(x)
    assert "sum_of_squares(s1)" in repr(compiled) and "mul(s1, s1)" not in repr(compiled)
    np.testing.assert_array_equal(replay_grad, w.grad.data)
    assert replayed.item() == pytest.approx(eager.item(), rel=1e-14)
