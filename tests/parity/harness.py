"""Run one snippet of PyTorch code twice — with ``torch`` and with chainrule in its place — and compare.

An idiom file holds snippets separated by ``## title`` lines. Each snippet is everyday PyTorch code that
sets ``result``: a tensor, a number, a bool, a dtype, a shape, or a tuple, list or dict of those. The
snippet runs in a namespace where ``torch``, ``nn`` (``torch.nn``), ``F`` (``torch.nn.functional``),
``optim`` and ``np`` are bound; for chainrule they are ``chainrule``, ``chainrule.nn``,
``chainrule.nn.functional``, ``chainrule.optim``, and numpy.

A snippet agrees when both runs finish and their results match: the same structure, shapes, dtypes,
``requires_grad`` flags and values (to float32's or float64's tolerance). A ``# shape-only`` line in a
snippet compares shapes and dtypes but not values (random numbers: the generators differ on purpose).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Idiom:
    file: str
    title: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.file}: {self.title}"

    @property
    def shape_only(self) -> bool:
        return "# shape-only" in self.code


def load_idioms(pattern: str = "*.txt") -> list[Idiom]:
    idioms = []
    for path in sorted(HERE.glob(pattern)):
        chunks = re.split(r"^## (.+)$", path.read_text(), flags=re.M)
        for title, code in zip(chunks[1::2], chunks[2::2]):
            idioms.append(Idiom(path.stem, title.strip(), code.strip() + "\n"))
    return idioms


def torch_namespace() -> dict:
    import torch

    return {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "optim": torch.optim, "np": np}


def chainrule_namespace() -> dict:
    import chainrule

    return {
        "torch": chainrule,
        "nn": chainrule.nn,
        "F": chainrule.nn.functional,
        "optim": chainrule.optim,
        "np": np,
    }


def run(idiom: Idiom, namespace: dict):
    scope = dict(namespace)
    exec(compile(idiom.code, idiom.id, "exec"), scope)  # noqa: S102  (the test's own snippet text)
    if "result" not in scope:
        raise AssertionError(f"{idiom.id}: the snippet sets no `result`")
    return scope["result"]


class Mismatch(AssertionError):
    pass


def _is_tensor(value) -> bool:
    return hasattr(value, "detach") and hasattr(value, "shape") and hasattr(value, "dtype")


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _as_array(value) -> np.ndarray:
    array = value.detach().cpu().numpy() if hasattr(value, "cpu") else value.detach().numpy()
    return np.asarray(array)


def compare(expected, got, *, shape_only: bool = False, where: str = "result") -> None:
    """Raise ``Mismatch`` naming the first place where chainrule's ``got`` differs from torch's ``expected``."""
    if _is_tensor(expected):
        if not _is_tensor(got):
            raise Mismatch(f"{where}: torch gives a tensor, chainrule gives {type(got).__name__} {got!r:.80}")
        if tuple(expected.shape) != tuple(got.shape):
            raise Mismatch(f"{where}: shape {tuple(expected.shape)} vs {tuple(got.shape)}")
        if _dtype_name(expected.dtype) != _dtype_name(got.dtype):
            raise Mismatch(f"{where}: dtype {_dtype_name(expected.dtype)} vs {_dtype_name(got.dtype)}")
        if bool(expected.requires_grad) != bool(got.requires_grad):
            raise Mismatch(f"{where}: requires_grad {expected.requires_grad} vs {got.requires_grad}")
        if not shape_only:
            _compare_values(_as_array(expected), _as_array(got), where)
        return
    if type(expected).__name__ == "dtype" or str(type(expected)) == "<class 'torch.dtype'>":
        if _dtype_name(expected) != _dtype_name(got):
            raise Mismatch(f"{where}: dtype {_dtype_name(expected)} vs {_dtype_name(got)}")
        return
    if isinstance(expected, dict):
        if not isinstance(got, dict) or list(expected) != list(got):
            raise Mismatch(f"{where}: keys {list(expected)} vs {list(got) if isinstance(got, dict) else got!r}")
        for key in expected:
            compare(expected[key], got[key], shape_only=shape_only, where=f"{where}[{key!r}]")
        return
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or _is_tensor(got):
            kind = type(expected).__name__
            raise Mismatch(f"{where}: torch gives a {kind} of {len(expected)}, chainrule {got!r:.80}")
        if len(expected) != len(got):
            raise Mismatch(f"{where}: length {len(expected)} vs {len(got)}")
        for i, (e, g) in enumerate(zip(expected, got)):
            compare(e, g, shape_only=shape_only, where=f"{where}[{i}]")
        return
    if isinstance(expected, bool):
        if not isinstance(got, (bool, np.bool_)) or bool(got) != expected:
            raise Mismatch(f"{where}: {expected!r} vs {got!r}")
        return
    if isinstance(expected, (int, float)):
        if _is_tensor(got) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise Mismatch(f"{where}: torch gives {type(expected).__name__} {expected!r}, chainrule {got!r:.80}")
        if isinstance(expected, int) and not isinstance(got, (int, np.integer)):
            raise Mismatch(f"{where}: torch gives int {expected}, chainrule {type(got).__name__} {got!r}")
        if not shape_only and not math.isclose(float(expected), float(got), rel_tol=1e-5, abs_tol=1e-6):
            if not (math.isnan(float(expected)) and math.isnan(float(got))):
                raise Mismatch(f"{where}: {expected!r} vs {got!r}")
        return
    if expected is None or isinstance(expected, str):
        if expected != got:
            raise Mismatch(f"{where}: {expected!r} vs {got!r}")
        return
    raise Mismatch(f"{where}: the harness cannot compare a {type(expected).__name__}")


def _compare_values(expected: np.ndarray, got: np.ndarray, where: str) -> None:
    if expected.dtype.kind in "biu" or expected.dtype == bool:
        if not np.array_equal(expected, got):
            raise Mismatch(f"{where}: values {expected.tolist()!r:.120} vs {got.tolist()!r:.120}")
        return
    tight = expected.dtype == np.float64
    if not np.allclose(got, expected, rtol=1e-9 if tight else 1e-5, atol=1e-12 if tight else 1e-6, equal_nan=True):
        raise Mismatch(f"{where}: values {np.round(expected, 6).tolist()!r:.120} vs {np.round(got, 6).tolist()!r:.120}")


def check(idiom: Idiom) -> None:
    """Raise AssertionError when chainrule does not run ``idiom`` the way torch does."""
    expected = run(idiom, torch_namespace())
    try:
        got = run(idiom, chainrule_namespace())
    except Exception as error:  # the chainrule run failing is the finding
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise Mismatch(f"chainrule raises {type(error).__name__}: {first_line}") from None
    compare(expected, got, shape_only=idiom.shape_only)
