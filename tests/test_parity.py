"""The parity suite: everyday PyTorch snippets run unchanged with chainrule, with the same numbers.

Each snippet in tests/parity/*.txt runs once with ``torch`` and once with chainrule in its place; the
results must agree in structure, shape, dtype, ``requires_grad`` and value (see tests/parity/harness.py).
``benchmarks/parity.py`` prints the same run as a table with the share that runs unchanged.
"""

import pytest

from parity.harness import check, load_idioms

pytest.importorskip("torch")

#: Differences kept on purpose, each with its reason. A listed idiom must still differ (strict xfail),
#: so the list cannot go stale silently.
KNOWN_DIFFERENCES: dict[str, str] = {
    # gaps still to close; strict, so each one that starts to pass must leave this list
    "fresh: cumprod": "torch.cumprod has no rule yet",
    "fresh: register_hook on a leaf scales its gradient": "Tensor.register_hook is not implemented",
    "fresh: register_hook on an intermediate records its grad": "Tensor.register_hook is not implemented",
    "fresh: state_dict is a copy-free snapshot that torch.save round trips":
        "cr.save/cr.load do not write to an io.BytesIO",
    "fresh: torch.save and torch.load to a file path": "cr.load gives numpy arrays back, not tensors",
    "fresh: Adam state after a step": "optimizer state_dict keys are strings and holds arrays (torch: ints, tensors)",
}

IDIOMS = load_idioms()


def _case(idiom):
    reason = KNOWN_DIFFERENCES.get(idiom.id)
    return pytest.param(idiom, id=idiom.id, marks=pytest.mark.xfail(strict=True, reason=reason) if reason else ())


def test_every_known_difference_names_an_idiom():
    assert set(KNOWN_DIFFERENCES) <= {idiom.id for idiom in IDIOMS}


@pytest.mark.parametrize("idiom", [_case(idiom) for idiom in IDIOMS])
def test_runs_like_torch(idiom):
    check(idiom)
