"""The way out: train with chainrule, continue on PyTorch's DistributedDataParallel, come back to chainrule.

    python examples/torch_ddp.py --out run/

1. chainrule trains a small network on two moons for a few epochs and saves its
   weights as ``run/chainrule.safetensors``;
2. two CPU processes (gloo backend, loopback only, a free port) each build the
   torch equivalent with ``cr.to_torch``, load those weights, and continue with
   ``DistributedDataParallel``: each process sees half of every batch (a
   ``DistributedSampler``), and DDP averages the gradients, so every step is
   the step one process would take on the whole batch. Rank 0 saves
   ``run/ddp.safetensors``;
3. chainrule loads that file back (``cr.load``) into its own model and scores it.

The same worker runs under ``torchrun`` on several machines or GPUs (see
docs/scaling.md)::

    torchrun --nproc-per-node 2 examples/torch_ddp.py --worker --out run/
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim

SAMPLES, SEED = 256, 0


def make_data():
    """Two moons, float64, in a random order (make_moons lists one class first, which in-order batches must not see)."""
    X, y = data.make_moons(SAMPLES, noise=0.1, seed=SEED)
    order = np.random.default_rng(SEED).permutation(SAMPLES)
    return X[order], y[order].astype(np.int64)


def make_model() -> nn.Module:
    return nn.MLP([2, 16, 16, 2], activation="tanh", seed=SEED, dtype=np.float64)


def train_with_chainrule(epochs: int, out: Path) -> nn.Module:
    model = make_model()
    X, y = make_data()
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True, generator=SEED)
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.2), loader, epochs=epochs,
                     progress=False)
    print(f"chainrule: {history!r}")
    cr.save(model.state_dict(), out / "chainrule.safetensors")
    return model


def free_port() -> int:
    """A port no one listens on now (the operating system picks it), on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker(rank: int, world_size: int, init_method: str | None, out: Path, epochs: int, batch_per_rank: int,
           lr: float) -> None:
    """One DDP process: the torch twin of the chainrule model, trained on its share of every batch."""
    import safetensors.torch
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    torch.set_num_threads(1)  # one core per process
    if init_method is None:  # under torchrun, which sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
        dist.init_process_group("gloo")
    else:
        dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world_size)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    try:
        model = cr.to_torch(make_model())
        model.load_state_dict(safetensors.torch.load_file(out / "chainrule.safetensors"))
        ddp = DistributedDataParallel(model)
        X, y = make_data()
        dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
        # In order, so that a single process can take the very same steps: rank r gets samples r, r + 2, …,
        # and the union of the ranks' k-th batches is the k-th run of world_size · batch_per_rank samples.
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=False)
        loader = DataLoader(dataset, batch_size=batch_per_rank, sampler=sampler)
        sgd = torch.optim.SGD(ddp.parameters(), lr=lr)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            for inputs, targets in loader:
                sgd.zero_grad()
                torch.nn.functional.cross_entropy(ddp(inputs), targets).backward()  # DDP averages the gradients
                sgd.step()
        if rank == 0:
            safetensors.torch.save_file(model.state_dict(), out / "ddp.safetensors")
    finally:
        dist.destroy_process_group()


def train_with_ddp(out: Path, epochs: int, batch_per_rank: int, lr: float, world_size: int = 2) -> None:
    import torch.multiprocessing

    if sys.platform.startswith("linux"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback only: nothing leaves this machine
    init_method = f"tcp://127.0.0.1:{free_port()}"
    torch.multiprocessing.spawn(worker, args=(world_size, init_method, out, epochs, batch_per_rank, lr),
                                nprocs=world_size, join=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("ddp-run"), help="folder for the weight files")
    parser.add_argument("--chainrule-epochs", type=int, default=5)
    parser.add_argument("--ddp-epochs", type=int, default=5)
    parser.add_argument("--batch-per-rank", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--worker", action="store_true", help="run one process of a torchrun launch")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        worker(0, 0, None, args.out, args.ddp_epochs, args.batch_per_rank, args.lr)
        return 0
    model = train_with_chainrule(args.chainrule_epochs, args.out)
    before = cr.evaluate(model, nn.CrossEntropyLoss(), *make_data())
    train_with_ddp(args.out, args.ddp_epochs, args.batch_per_rank, args.lr)
    model.load_state_dict(cr.load(args.out / "ddp.safetensors"))
    after = cr.evaluate(model, nn.CrossEntropyLoss(), *make_data())
    print(f"chainrule after {args.chainrule_epochs} epochs: loss {before['loss']:.4f}, accuracy "
          f"{before['accuracy']:.3f}")
    print(f"back in chainrule after {args.ddp_epochs} DDP epochs on 2 processes: loss {after['loss']:.4f}, "
          f"accuracy {after['accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
