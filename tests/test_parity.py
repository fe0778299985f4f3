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
KNOWN_DIFFERENCES: dict[str, str] = {}

IDIOMS = load_idioms()


@pytest.mark.parametrize("idiom", IDIOMS, ids=[idiom.id for idiom in IDIOMS])
def test_runs_like_torch(idiom):
    if idiom.id in KNOWN_DIFFERENCES:
        pytest.xfail(KNOWN_DIFFERENCES[idiom.id])
    check(idiom)
