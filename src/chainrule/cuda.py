"""``chainrule.cuda``: there is no GPU, so device-agnostic code picks the CPU.

>>> chainrule.cuda.is_available()
False
"""

from __future__ import annotations

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Nothing to seed (there is no GPU), as ``torch.cuda.manual_seed`` is harmless without one."""


manual_seed_all = manual_seed
