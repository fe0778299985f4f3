"""The docs tell the truth: every `chainrule explain` and `chainrule worksheet` command they show runs.

The commands are read from the README, the tutorial and the gallery (indented or fenced lines starting with
``chainrule``, a trailing backslash continuing them) and run in-process in a scratch folder, so the pictures
and files they write land there and not in docs/. Problem files the docs name (docs/gallery/or.toml) are
copied in, and the tutorial's own problem file is written from its text. `chainrule train` and `serve` are
left to their own tests: they take seconds to minutes, or run until stopped.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "tutorial.md", ROOT / "docs" / "gallery.md"]
RUN = ("explain", "worksheet")


def shown_commands(path: Path) -> list[str]:
    commands, pending = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if pending:
            line, pending = pending + " " + line, ""
        elif not line.startswith("chainrule "):
            continue
        if line.endswith("\\"):
            pending = line[:-1].strip()
            continue
        commands.append(line.split("  #")[0].strip())
    return [c for c in commands if c.split()[1] in RUN]


def tutorial_problem() -> str:
    """The tutorial's three-class problem file: the indented block from its title line to the loss's lr."""
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    block = re.search(r"\n    title = \"Three classes\"\n(?:    .*\n|\n)*?    lr = 0\.5\n", text)
    assert block, "the tutorial's softmax problem file is not where this test looks"
    return "\n".join(line[4:] for line in block.group(0).splitlines())


CASES = [(path.name, command) for path in DOCS for command in shown_commands(path)]


def test_the_docs_show_commands_to_run():
    names = {name for name, _ in CASES}
    assert names == {"README.md", "tutorial.md", "gallery.md"} and len(CASES) >= 20


@pytest.mark.parametrize(("doc", "command"), CASES, ids=[f"{d}: {c[10:60]}" for d, c in CASES])
def test_every_command_the_docs_show_runs(doc, command, tmp_path, monkeypatch, capsys):
    (tmp_path / "docs" / "gallery").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "gallery" / "or.toml", tmp_path / "docs" / "gallery" / "or.toml")
    (tmp_path / "classes.toml").write_text(tutorial_problem(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, *shlex.split(command)[1:])
    assert status == 0, f"{doc}: `{command}` failed: {err}"
    assert out or any(tmp_path.rglob("*.*")), command


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


README_CODE = python_blocks(ROOT / "README.md")


@pytest.mark.parametrize("code", README_CODE, ids=[f"README block {i + 1}" for i in range(len(README_CODE))])
def test_every_python_block_of_the_readme_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_the_problem_file_of_the_formats_page_is_a_working_problem(tmp_path, capsys):
    """docs/formats.md lists every key of a problem file in one example: it must run as it stands."""
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(title = \"Example 2.*?)```", text, flags=re.S)
    assert block, "the formats page's problem file is not where this test looks"
    path = tmp_path / "every-key.toml"
    path.write_text(block.group(1), encoding="utf-8")
    status, out, err = run_cli(capsys, "explain", str(path))
    assert status == 0, err
    assert "My textbook" in out or "w1" in out
