"""Worksheets: the explanation with every computed number blanked, as Markdown or as a web page.

Each line keeps its left side and its symbolic forms (``∂L/∂w = ∂L/∂ŷ ·
∂ŷ/∂z · ∂z/∂w = ____``) and loses its numbers: a scalar is one blank, a small
tensor a blank per element, a large tensor one blank for the whole. Notes and
tables outside the given values keep their words and lose every number that
was worked out, so no answer is printed next to its blank: a data-set
narration's "at w = 0.4708" becomes "at the w you found above".
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from importlib import resources
from string import Template

import numpy as np

from ...formula import Expr
from ..explanation import Explanation
from ..model import Equation, Note, Table
from .steps import Step, answer_steps

__all__ = ["Worksheet", "build_worksheet", "worksheet_markdown", "worksheet_html"]

BLANK = "____"
#: A number in running text (not the digit of a name such as L1 or W2).
_NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?(?![\w])")


@dataclass
class Blank:
    label: str  # "(3)"
    step: Step | None  # None: a large tensor, blanked as a whole and not asked for


@dataclass
class Line:
    """An equation to work out: its left side and symbolic forms, then its blanks."""

    equation: Equation
    forms: list[Expr]
    blanks: list[Blank]
    name: str  # the step's name (a tensor's: without the element index)
    note: str | None = None


@dataclass
class Part:
    title: str
    intro: str | None = None
    items: list = field(default_factory=list)  # Equation (a given), Line, Note, Table


@dataclass
class Worksheet:
    title: str
    description: str | None
    precision: int
    parts: list[Part]

    @property
    def blanks(self) -> list[Blank]:
        return [b for part in self.parts for item in part.items if isinstance(item, Line) for b in item.blanks]


class _Scrubber:
    """Takes worked-out numbers out of running text; numbers the problem gives stay."""

    def __init__(self, explanation: Explanation):
        self.given: set[str] = set()
        self.start: dict[str, str] = {}
        for section in explanation.sections:
            for item in section.items:
                if isinstance(item, Equation) and item.kind == "given":
                    self.given |= {_plain(n) for n in _NUMBER.findall(item.shown_text())}
                    self.start[item.lhs.to_text()] = _plain(item.shown_text())
                elif isinstance(item, Table) and section.kind == "given":
                    self.given |= {_plain(n) for row in item.rows for cell in row for n in _NUMBER.findall(str(cell))}

    def _number(self, match: re.Match) -> str:
        text = match.group(0)
        is_value = re.search(r"[=≈]\s*$", match.string[:match.start()]) is not None  # z = 8, σ′ ≈ 0
        if _plain(text) in self.given or (re.fullmatch(r"[−-]?\d+", text) and not is_value):
            return text  # given, or a count (sample 2, 3 paths)
        return BLANK

    def text(self, text: str, at: dict | None = None, found_in: dict[str, str] | None = None) -> str:
        """``text`` with every worked-out number blanked; a parameter's worked-out value names its blank."""
        for name in at or {}:
            where = f"in {found_in[name]}" if found_in and name in found_in else "above"
            pattern = re.compile(rf"(?<![\w]){re.escape(name)} = ({_NUMBER.pattern})")
            text = pattern.sub(lambda m, name=name, where=where: m.group(0)
                               if _plain(m.group(1)) == self.start.get(name) else f"the {name} you found {where}",
                               text)
        return _NUMBER.sub(self._number, text)


def _plain(number: str) -> str:
    return number.replace("−", "-")


def _next_at(items: list, position: int) -> dict | None:
    """The parameters the lines after a note are computed at (a sample's note names them)."""
    for item in items[position + 1:]:
        if isinstance(item, Equation):
            return item.at
    return None


def _symbolic_forms(equation: Equation) -> list[Expr]:
    """The forms without numbers (a form that is only a number, ∂L/∂ℓ = 1, would give the answer)."""
    return [f.expr for f in equation.forms if f.values is None and f.expr.names()][:2]


def build_worksheet(explanation: Explanation) -> Worksheet:
    steps = answer_steps(explanation)
    by_equation: dict[int, list[Step]] = {}
    for step in steps:
        by_equation.setdefault(id(step.equation), []).append(step)
    scrub = _Scrubber(explanation)
    found_in: dict[str, str] = {}  # parameter → the blank of its latest update
    parts, count = [], 0
    for section in explanation.sections:
        part = Part(section.title, section.intro)
        for position, item in enumerate(section.items):
            if isinstance(item, Equation) and item.kind == "given":
                part.items.append(item)
            elif isinstance(item, Equation):
                asked = by_equation.get(id(item), [])
                if asked:
                    blanks = [Blank(f"({count + k + 1})", step) for k, step in enumerate(asked)]
                    name = asked[0].name if asked[0].index is None else asked[0].name.rsplit("[", 1)[0]
                else:  # too large to ask element by element
                    blanks = [Blank(f"({count + 1})", None)]
                    name = item.lhs.to_text()
                count += len(blanks)
                if asked and asked[0].updates_parameter:
                    found_in[item.node] = blanks[0].label
                note = scrub.text(item.note) if item.note else None
                part.items.append(Line(item, _symbolic_forms(item), blanks, name, note))
            elif isinstance(item, Note):
                at = _next_at(section.items, position)
                part.items.append(Note(scrub.text(item.text, at, found_in), item.kind))
            elif isinstance(item, Table):
                if section.kind == "given":
                    part.items.append(item)
                else:
                    rows = [[scrub.text(str(cell)) for cell in row] for row in item.rows]
                    caption = scrub.text(item.caption) if item.caption else None
                    part.items.append(Table(item.columns, rows, caption))
        parts.append(part)
    return Worksheet(explanation.title, explanation.description, explanation.precision, parts)


def _instructions(sheet: Worksheet) -> str:
    return (f"Fill in each blank. Round to {sheet.precision} decimals (one more for updated parameters), and "
            "carry your rounded numbers forward as you go.")


# -- Markdown -------------------------------------------------------------------------------

def _markdown_escape(text: str) -> str:
    return text.replace("*", r"\*").replace("_", r"\_")


def _latex_blank(blank: Blank) -> str:
    return r"\underset{" + blank.label + r"}{\underline{\qquad}}"


def _markdown_line(line: Line) -> list[str]:
    equation = line.equation
    relation = r"\leftarrow" if equation.assign else "="
    shape = np.asarray(equation.shown).shape
    if len(line.blanks) == 1 and (line.blanks[0].step is None or line.blanks[0].step.index is None):
        result = _latex_blank(line.blanks[0])
        if line.blanks[0].step is None:
            result = r"\text{" + "×".join(map(str, shape)) + r" values: }" + result
    else:
        rows = np.array([_latex_blank(b) for b in line.blanks], dtype=object).reshape(shape)
        rows = rows.reshape(1, -1) if rows.ndim == 1 else rows.reshape(rows.shape[0], -1)
        result = r"\begin{bmatrix} " + r" \\ ".join(" & ".join(row) for row in rows) + r" \end{bmatrix}"
    body = f" {relation} ".join([equation.lhs.to_latex()] + [f.to_latex() for f in line.forms] + [result])
    labels = ", ".join(f"{b.label} `{b.step.name}`" for b in line.blanks if b.step is not None)
    header = f"{labels}:" if labels else f"{line.blanks[0].label} `{line.name}` (not checked: too many values):"
    lines = [header, "", f"$$\n{body}\n$$", ""]
    if line.note:
        lines += [_markdown_escape(line.note), ""]
    return lines


def _markdown_table(table: Table) -> list[str]:
    lines = [_markdown_escape(table.caption), ""] if table.caption else []
    lines.append("| " + " | ".join(table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.rows]
    return lines + [""]


def worksheet_markdown(explanation: Explanation) -> tuple[str, list[tuple[str, str]]]:
    """The worksheet as Markdown with LaTeX; returns (markdown, [(blank label, step name)])."""
    sheet = build_worksheet(explanation)
    lines = [f"# Worksheet: {sheet.title}", ""]
    if sheet.description:
        lines += [sheet.description, ""]
    lines += [_instructions(sheet), ""]
    for number, part in enumerate(sheet.parts, 1):
        lines += [f"## {number}. {part.title}", ""]
        if part.intro:
            lines += [_markdown_escape(part.intro), ""]
        for item in part.items:
            if isinstance(item, Line):
                lines += _markdown_line(item)
            elif isinstance(item, Equation):
                note = f" ({_markdown_escape(item.note)})" if item.note else ""
                lines += [f"- ${item.lhs.to_latex()} = {_latex_value(item)}${note}", ""]
            elif isinstance(item, Note):
                lines += [_markdown_escape(item.text), ""]
            elif isinstance(item, Table):
                lines += _markdown_table(item)
    return "\n".join(lines), [(b.label, b.step.name) for b in sheet.blanks if b.step is not None]


def _latex_value(equation: Equation) -> str:
    return equation.shown_text().replace("−", "-")


# -- HTML -------------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _math(inner: str, text: str) -> str:
    return f'<math alttext="{_e(text)}"><mrow>{inner}</mrow></math>'


def _input(blank: Blank) -> str:
    if blank.step is None:
        return f'<span class="ws-blank" title="not checked: too many values">{_e(blank.label)} ____</span>'
    name = blank.step.name
    return (f'<label class="ws-blank"><span class="ws-label">{_e(blank.label)}</span>'
            f'<input type="text" inputmode="decimal" size="8" autocomplete="off" '
            f'data-step="{_e(name)}" aria-label="{_e(name)}"></label>')


def _html_line(line: Line) -> str:
    equation = line.equation
    relation = "←" if equation.assign else "="
    parts = [equation.lhs.to_mathml()]
    texts = [equation.lhs.to_text()]
    for form in line.forms:
        parts += [f"<mo>{relation if len(parts) == 1 else '='}</mo>", form.to_mathml()]
        texts += [form.to_text()]
    parts.append(f"<mo>{relation if len(parts) == 1 else '='}</mo>")
    text = f" {relation} ".join(texts) + " ="
    shape = np.asarray(equation.shown).shape
    if len(line.blanks) == 1:
        answer = _input(line.blanks[0])
        if line.blanks[0].step is None:
            answer = f'<span class="ws-shape">{_e("×".join(map(str, shape)))} values:</span> {answer}'
    else:
        cells = np.array([_input(b) for b in line.blanks], dtype=object).reshape(shape)
        cells = cells.reshape(1, -1) if cells.ndim == 1 else cells.reshape(cells.shape[0], -1)
        answer = ('<table class="ws-matrix">' + "".join(
            "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in cells) + "</table>")
    names = ", ".join(b.step.name for b in line.blanks if b.step is not None) or line.name
    note = f'<p class="ws-note">{_e(line.note)}</p>' if line.note else ""
    return (f'<div class="ws-line"><div class="ws-name">{_e(names)}</div>'
            f'<div class="ws-equation">{_math("".join(parts), text)} {answer}</div>{note}</div>')


def _mathml_number(text: str) -> str:
    if re.fullmatch(r"[−-]?\d+(?:\.\d+)?", text):
        sign = "<mo>−</mo>" if text[0] in "−-" else ""
        return f"<mrow>{sign}<mn>{text.lstrip('−-')}</mn></mrow>"
    return f"<mtext>{_e(text)}</mtext>"  # a tensor, or a number in scientific notation


def _html_given(equation: Equation) -> str:
    value = equation.shown_text()
    inner = f"{equation.lhs.to_mathml()}<mo>=</mo>{_mathml_number(value)}"
    note = f' <span class="ws-role">({_e(equation.note)})</span>' if equation.note else ""
    return f'<li>{_math(inner, f"{equation.lhs.to_text()} = {value}")}{note}</li>'


def _html_table(table: Table) -> str:
    caption = f"<caption>{_e(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in table.rows)
    return f'<table class="ws-table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _html_part(number: int, part: Part) -> str:
    out = [f"<section><h2>{number}. {_e(part.title)}</h2>"]
    if part.intro:
        out.append(f'<p class="ws-intro">{_e(part.intro)}</p>')
    givens: list[str] = []
    for item in part.items:
        if isinstance(item, Equation):
            givens.append(_html_given(item))
            continue
        if givens:
            out.append(f'<ul class="ws-given">{"".join(givens)}</ul>')
            givens = []
        if isinstance(item, Line):
            out.append(_html_line(item))
        elif isinstance(item, Note):
            out.append(f'<p class="ws-note">{_e(item.text)}</p>')
        elif isinstance(item, Table):
            out.append(_html_table(item))
    if givens:
        out.append(f'<ul class="ws-given">{"".join(givens)}</ul>')
    return "".join(out) + "</section>"


def _asset(name: str) -> str:
    return resources.files("chainrule.explain").joinpath("assets", name).read_text(encoding="utf-8")


def worksheet_html(explanation: Explanation, answers_header: str = "") -> str:
    """The worksheet as one self-contained web page: the maths in MathML, an input box for every blank.

    ``answers_header`` is the start of the answers file (problem and options); the page's script
    writes the filled-in answers after it, ready to save for ``chainrule check``."""
    sheet = build_worksheet(explanation)
    description = f"<p>{_e(sheet.description)}</p>" if sheet.description else ""
    body = "".join(_html_part(number, part) for number, part in enumerate(sheet.parts, 1))
    return Template(_asset("worksheet.html")).substitute(
        title=_e(f"Worksheet: {sheet.title}"), style=_asset("worksheet.css"), script=_asset("worksheet.js"),
        description=description, instructions=_e(_instructions(sheet)), body=body,
        answers_header=_e(answers_header),
    )
