"""Devices, so that device-agnostic PyTorch code runs unchanged: the only device is the CPU.

    device = "cuda" if chainrule.cuda.is_available() else "cpu"
    model.to(device); x = x.to(device)

``chainrule.device("cpu")`` (or ``"cpu:0"``) is accepted everywhere a device
is; asking for a GPU is an error that says chainrule computes on the CPU.
"""

from __future__ import annotations

__all__ = ["device", "CPU", "as_device", "is_device"]


class device:  # noqa: N801  (PyTorch's name: ``torch.device``)
    """A device; ``chainrule.device("cpu")`` is the only one. It equals the string ``"cpu"``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        kind, _, number = str(spec).partition(":")
        if kind != "cpu":
            raise RuntimeError(
                f"device: chainrule computes on the CPU only, not on {spec!r} "
                "(check with chainrule.cuda.is_available(), which is False)"
            )
        self.type = "cpu"
        self.index = index if index is not None else (int(number) if number.isdigit() else None)

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __eq__(self, other) -> bool:
        return isinstance(other, (device, str)) and str(other).partition(":")[0] == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")


CPU = device("cpu")


def is_device(value) -> bool:
    """Whether ``value`` names a device (rather than a dtype) in ``t.to(value)``."""
    return isinstance(value, device) or (
        isinstance(value, str) and value.partition(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta")
    )


def as_device(spec, op: str = "device") -> device:
    """The device ``spec`` names (None is the CPU); anything but the CPU is an error naming ``op``."""
    if spec is None or isinstance(spec, device):
        return CPU
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = f"cuda:{spec}"  # PyTorch reads a bare index as a GPU
    try:
        return device(spec)
    except RuntimeError as error:
        raise RuntimeError(f"{op}: {str(error).removeprefix('device: ')}") from None
