"""How much everyday PyTorch code runs unchanged on chainrule: the parity suite as a table.

    python benchmarks/parity.py            # the share per idiom file, and every idiom that differs
    python benchmarks/parity.py --quiet    # the shares only

Each snippet of tests/parity/*.txt runs with ``torch`` and with chainrule in its place (see
tests/parity/harness.py); an idiom counts as running unchanged when chainrule's result agrees with
torch's in structure, shape, dtype, requires_grad and value.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from parity.harness import check, load_idioms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print the shares only")
    args = parser.parse_args()
    totals, passed, failures = Counter(), Counter(), []
    for idiom in load_idioms():
        totals[idiom.file] += 1
        try:
            check(idiom)
        except AssertionError as error:
            failures.append((idiom.id, str(error).splitlines()[0] if str(error) else "differs"))
        else:
            passed[idiom.file] += 1
    for file in sorted(totals):
        print(f"{file:10s} {passed[file]:4d} / {totals[file]:4d}  {100 * passed[file] / totals[file]:5.1f} % unchanged")
    total, ok = sum(totals.values()), sum(passed.values())
    print(f"{'all':10s} {ok:4d} / {total:4d}  {100 * ok / total:5.1f} % unchanged")
    if not args.quiet:
        for name, why in failures:
            print(f"  differs  {name}: {why}")


if __name__ == "__main__":
    main()
