"""Grad mode belongs to one thread (and one asyncio task), as PyTorch's does."""

import asyncio
import threading

import numpy as np

import chainrule as cr
from chainrule import nn, optim


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, release = threading.Event(), threading.Event()

    def idle_without_grad():
        with cr.no_grad():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=idle_without_grad)
    thread.start()
    try:
        assert inside.wait(10)
        assert cr.is_grad_enabled()
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()
        assert w.grad.numpy().tolist() == [2.0, 4.0]
    finally:
        release.set()
        thread.join()


def test_overlapping_blocks_in_two_threads_restore_each_threads_mode():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with cr.no_grad():
            a_in.set()
            b_in.wait(10)
        a_out.set()
        seen["a"] = cr.is_grad_enabled()

    def b():
        a_in.wait(10)
        with cr.no_grad():
            b_in.set()
            a_out.wait(10)  # a leaves its block while b is still inside its own
            seen["b inside"] = cr.is_grad_enabled()
        seen["b"] = cr.is_grad_enabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": True, "b inside": False, "b": True}
    assert cr.is_grad_enabled()


def test_one_shared_no_grad_object_and_a_decorated_function_in_many_threads():
    shared = cr.no_grad()
    errors = []

    @cr.no_grad()
    def decorated():
        return cr.is_grad_enabled()

    def work():
        try:
            for _ in range(200):
                with shared:
                    assert not cr.is_grad_enabled()
                assert cr.is_grad_enabled()
                assert decorated() is False
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and cr.is_grad_enabled()


def test_asyncio_tasks_have_their_own_grad_mode():
    async def without_grad(started, proceed):
        with cr.no_grad():
            started.set()
            await proceed.wait()

    async def main():
        started, proceed = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(without_grad(started, proceed))
        await started.wait()
        enabled_here = cr.is_grad_enabled()
        proceed.set()
        await task
        return enabled_here

    assert asyncio.run(main()) is True


def _train(seed, results):
    X, y = cr.data.make_moons(32, noise=0.1, seed=seed)
    model = nn.MLP([2, 8, 1], seed=seed)
    cr.fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.05), X, y, epochs=10,
           mode="minibatch", batch_size=8, shuffle=True, seed=seed, progress=False)
    results[seed] = [p.numpy().copy() for p in model.parameters()]


def test_eight_threads_training_separate_models_give_the_sequential_results():
    sequential, parallel = {}, {}
    for seed in range(8):
        _train(seed, sequential)
    threads = [threading.Thread(target=_train, args=(seed, parallel)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(parallel) == list(range(8))
    for seed in range(8):
        for a, b in zip(sequential[seed], parallel[seed]):
            assert np.array_equal(a, b), seed
