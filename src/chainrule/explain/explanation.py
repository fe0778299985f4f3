"""``Explanation``: one object, rendered as terminal text, Markdown with LaTeX, JSON, DOT/SVG/PNG and HTML."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from ..formula import Expr
from .model import Equation, Form, Note, Section, Table, format_value
from .numbers import Written, number_text, typographic_minus

__all__ = ["Explanation", "GraphView", "GraphvizMissing", "SCHEMA"]

SCHEMA = "chainrule-explanation/1"


class GraphvizMissing(RuntimeError):
    """SVG and PNG need Graphviz's ``dot`` program."""


@dataclass
class GraphView:
    """The picture of the computation: visible nodes with values and gradients, edges with local derivatives."""

    nodes: list[dict] = field(default_factory=list)  # id, kind, label, expression, value, grad, shape
    edges: list[dict] = field(default_factory=list)  # from, to, label, value


def _number_or_list(value):
    """Exact numbers for JSON; NaN and ±∞ are not JSON numbers, so they become null (see ``_nonfinite``)."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        number = float(array)
        return number if np.isfinite(number) else None
    return [_number_or_list(v) for v in array]


def _finite_or_null(value):
    """A summary (nested dicts, lists and numbers) with every number a JSON number: NaN and ±∞ become null."""
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, np.ndarray)):
        return _number_or_list(value)
    return value


def _nonfinite(value) -> str | None:
    """"nan", "inf" or "-inf" where a value is not a finite number (its JSON value is null)."""
    array = np.asarray(value, dtype=float)
    if np.all(np.isfinite(array)):
        return None
    return str(float(array.reshape(-1)[~np.isfinite(array.reshape(-1))][0]))


class Explanation:
    """A step-by-step derivation. Render it with ``to_text``, ``to_markdown``,
    ``to_json``, ``to_dot``, ``to_svg``, ``to_png`` or ``to_html``; in Jupyter it
    displays itself."""

    def __init__(self, title: str, sections: list[Section], *, precision: int, graph: GraphView | None = None,
                 summary: dict | None = None, description: str | None = None, detail: str = "auto",
                 exact: bool = False):
        if detail not in DETAILS:
            raise ValueError(f"explain: detail must be one of {', '.join(DETAILS)}, got {detail!r}")
        for section in sections:
            for equation in section.equations():
                equation.detail = detail
                equation.exact = exact
                equation.precision = precision
        self.exact = exact
        self.title = title
        self.sections = sections
        self.precision = precision
        self.graph = graph or GraphView()
        self.summary = summary or {}
        self.description = description
        #: What draws the pictures of the explained problem's dynamics (``explain.plots``), if any.
        self.picture_source = None

    # -- access ---------------------------------------------------------------
    def equations(self, kind: str | None = None) -> list[Equation]:
        return [eq for s in self.sections for eq in s.equations() if kind is None or eq.kind == kind]

    def value(self, lhs_text: str):
        """The exact value of the first equation whose left side reads ``lhs_text`` (e.g. ``"∂L/∂w"``)."""
        for equation in self.equations():
            if equation.lhs.to_text() == lhs_text:
                return equation.value
        raise KeyError(f"no step computes {lhs_text!r}")

    # -- text -------------------------------------------------------------------
    def to_text(self, color: bool = False) -> str:
        style = _Style(color)
        lines = [style.title(self.title), style.rule("═" * max(len(self.title), 20))]
        if self.description:
            lines += ["", self.description]
        for number, section in enumerate(self.sections, 1):
            lines += ["", style.heading(f"{number}. {section.title}")]
            if section.intro:
                lines.append(style.dim(f"   {section.intro}"))
            for item in section.items:
                lines += ["   " + line for line in _text_item(item, style).split("\n")]
        lines += ["", style.dim(self._footer())]
        return "\n".join(lines) + "\n"

    def _decimals_text(self) -> str:
        return f"{self.precision} decimal{'' if self.precision == 1 else 's'}"

    def _footer(self) -> str:
        if self.exact:
            return (f"Numbers are exact values, printed to {self._decimals_text()}; without --exact they are "
                    "rounded and carried from step to step as a person would by hand.")
        return (f"Numbers are rounded to {self._decimals_text()} (small ones to {self.precision or 1} significant "
                f"figure{'s' if self.precision > 1 else ''}) and carried from step to step as a person "
                "would by hand; the exact values are in the JSON output (--format json) and with --exact.")

    def __str__(self) -> str:
        return self.to_text()

    # -- markdown -----------------------------------------------------------------
    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.description:
            lines += [self.description, ""]
        for number, section in enumerate(self.sections, 1):
            lines += ["---", "", f"## {number}. {section.title}", ""]
            if section.intro:
                lines += [_markdown_escape(section.intro), ""]
            for item in section.items:
                lines += [_markdown_item(item), ""]
        lines += ["---", "", f"*{self._footer()}*", ""]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    # -- json -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "title": self.title,
            "description": self.description,
            "precision": self.precision,
            "exact": self.exact,
            "summary": _finite_or_null(self.summary),
            "sections": [
                {"title": s.title, "kind": s.kind, "intro": s.intro, "items": [_json_item(i) for i in s.items]}
                for s in self.sections
            ],
            "graph": {"nodes": self.graph.nodes, "edges": self.graph.edges},
        }

    def to_json(self, indent: int | None = 2) -> str:
        # allow_nan=False: bare NaN/Infinity are not JSON; every non-finite value is null by construction.
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    # -- pictures ---------------------------------------------------------------------
    def to_dot(self) -> str:
        from .picture import to_dot

        return to_dot(self)

    def _render_with_dot(self, fmt: str) -> bytes:
        executable = shutil.which("dot")
        if executable is None:
            raise GraphvizMissing(
                f"--format {fmt} needs Graphviz's 'dot' program, which is not installed "
                "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz). "
                "--format dot writes the graph without it."
            )
        result = subprocess.run([executable, f"-T{fmt}"], input=self.to_dot().encode("utf-8"),
                                capture_output=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"dot failed: {result.stderr.decode('utf-8', 'replace').strip()}")
        return result.stdout

    def to_svg(self) -> str:
        return self._render_with_dot("svg").decode("utf-8")

    def to_png(self) -> bytes:
        return self._render_with_dot("png")

    def _repr_svg_(self) -> str | None:
        try:
            return self.to_svg()
        except (GraphvizMissing, RuntimeError):
            return None

    # -- html --------------------------------------------------------------------------
    def to_html(self) -> str:
        from .page import to_html

        return to_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()


# ---------------------------------------------------------------------------
# Item renderers


def _fmt(precision: int, exact: bool = False):
    """How numbers on a line are printed: a written (carried or given) number as it was
    written; any other value, such as a collapsed call σ(z), by the number model's rules.
    Exact values substituted into a line (``--exact``) get one digit more than results."""
    significant = max(precision, 1)
    extra = 1 if exact else 0

    def names(value):
        if isinstance(value, Written):
            return value.text
        if np.ndim(value) > 0:
            return format_value(value, precision + extra)
        return number_text(value, precision + extra, significant + extra)

    def calls(value):
        return format_value(value, precision) if np.ndim(value) > 0 else number_text(value, precision, significant)

    return names, calls


def _minus(text: str) -> str:
    """Typographic minus signs in text output, as in the formulas."""
    if any(c.isalpha() for c in text.replace("e-", "").replace("e+", "")):
        return text
    return typographic_minus(text)


DETAILS = ("auto", "elements", "summary")


def _is_small(value, detail: str = "auto") -> bool:
    """Whether a tensor is written element by element (else as shape, mean, min and max)."""
    if detail == "elements":
        return True
    if detail == "summary":
        return np.asarray(value).size <= 1
    return np.asarray(value).size <= 16


def _shape_text(shape) -> str:
    return "(" + "×".join(str(s) for s in shape) + ")" if shape else "scalar"


def _summary_text(value, decimals: int) -> str:
    array = np.asarray(value, dtype=float)
    return (f"{_shape_text(array.shape)} mean {format_value(array.mean(), decimals)}, "
            f"min {format_value(array.min(), decimals)}, max {format_value(array.max(), decimals)}")


def _form_fmt(equation: Equation):
    return _fmt(equation.precision, equation.exact)


def _form_text(form: Form, equation: Equation) -> str:
    return form.expr.to_text(form.values, _form_fmt(equation), form.collapse)


def _form_latex(form: Form, equation: Equation) -> str:
    return form.expr.to_latex(form.values, _form_fmt(equation), form.collapse)


def _form_mathml(form: Form, equation: Equation) -> str:
    return form.expr.to_mathml(form.values, _form_fmt(equation), form.collapse)


def _result_text(equation: Equation) -> str:
    value = np.asarray(equation.shown)
    if value.size <= 1:
        return _minus(equation.shown_text())
    if _is_small(value, equation.detail):
        return format_value(value, equation.decimals)
    return _summary_text(value, equation.decimals)


def _distinct(parts: list[str]) -> list[str]:
    """Drop a form that reads exactly as the one before it (∂L/∂ℓ = 0.5 = 0.5)."""
    return [part for i, part in enumerate(parts) if i == 0 or part != parts[i - 1]]


def equation_text(equation: Equation) -> str:
    parts = _distinct([_form_text(form, equation) for form in equation.forms])
    result = _minus(_result_text(equation))
    if not parts or parts[-1] != result:
        parts.append(result)
    return f"{equation.lhs.to_text()} {equation.relation} " + " = ".join(parts)


class _Style:
    def __init__(self, color: bool):
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def title(self, text):
        return self._wrap("1", text)

    def heading(self, text):
        return self._wrap("1;36", text)

    def rule(self, text):
        return self._wrap("36", text)

    def dim(self, text):
        return self._wrap("2", text)

    def good(self, text):
        return self._wrap("32", text)

    def bad(self, text):
        return self._wrap("31", text)

    def result(self, text):
        return self._wrap("1", text)


def _text_item(item, style: _Style) -> str:
    if isinstance(item, Equation):
        line = equation_text(item)
        if item.shape and np.asarray(item.value).size > 1 and _is_small(item.value, item.detail):
            line += style.dim(f"   {_shape_text(item.shape)}")
        if item.kind == "given" and item.note:
            line += style.dim(f"   ({item.note})")
        elif item.note:
            line += "\n" + style.dim(f"  ↳ {item.note}")
        return line
    if isinstance(item, Note):
        mark = {"good": style.good("✓ "), "bad": style.bad("✗ ")}.get(item.kind, "")
        return mark + item.text
    if isinstance(item, Table):
        return _text_table(item)
    raise TypeError(f"unknown explanation item {item!r}")


def _text_table(table: Table) -> str:
    widths = [max(len(str(c)), *(len(str(r[i])) for r in table.rows)) for i, c in enumerate(table.columns)]
    lines = []
    if table.caption:
        lines.append(table.caption)
    lines.append("  ".join(str(c).ljust(w) for c, w in zip(table.columns, widths)))
    lines.append("  ".join("─" * w for w in widths))
    for row in table.rows:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    return "\n".join(lines)


def _markdown_escape(text: str) -> str:
    return text.replace("*", r"\*").replace("_", r"\_")


def equation_latex(equation: Equation) -> str:
    parts = [_form_latex(form, equation) for form in equation.forms]
    value = np.asarray(equation.shown)
    if value.size <= 1:
        result = equation.shown_text()
    elif _is_small(value, equation.detail):
        result = _latex_matrix(value, equation.decimals)
    else:
        result = r"\text{" + _summary_text(value, equation.decimals) + "}"
    if not parts or parts[-1] != result:
        parts.append(result)
    relation = r"\leftarrow" if equation.assign else "="
    return f"{equation.lhs.to_latex()} {relation} " + " = ".join(parts)


def _latex_matrix(value, decimals: int) -> str:
    array = np.asarray(value, dtype=float)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim > 2:
        return r"\text{" + _summary_text(array, decimals) + "}"
    rows = [" & ".join(format_value(v, decimals) for v in row) for row in array]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _markdown_item(item) -> str:
    if isinstance(item, Equation) and item.kind == "given":
        note = f" ({_markdown_escape(item.note)})" if item.note else ""
        return f"- ${equation_latex(item)}${note}"
    if isinstance(item, Equation):
        block = f"$$\n{equation_latex(item)}\n$$"
        notes = []
        if item.shape and np.asarray(item.value).size > 1:
            notes.append(f"shape {_shape_text(item.shape)}")
        if item.note:
            notes.append(_markdown_escape(item.note))
        return block + ("\n\n" + "; ".join(notes) if notes else "")
    if isinstance(item, Note):
        prefix = {"good": "✓ ", "bad": "✗ "}.get(item.kind, "")
        return prefix + _markdown_escape(item.text)
    if isinstance(item, Table):
        lines = []
        if item.caption:
            lines += [_markdown_escape(item.caption), ""]
        lines.append("| " + " | ".join(item.columns) + " |")
        lines.append("|" + "|".join("---" for _ in item.columns) + "|")
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in item.rows]
        return "\n".join(lines)
    raise TypeError(f"unknown explanation item {item!r}")


def _expr_json(expr: Expr, form: Form | None = None, equation: Equation | None = None) -> dict:
    if form is None:
        return {"text": expr.to_text(), "latex": expr.to_latex(), "mathml": expr.to_mathml()}
    return {"text": _form_text(form, equation), "latex": _form_latex(form, equation),
            "mathml": _form_mathml(form, equation), "numeric": form.values is not None}


def _json_item(item) -> dict:
    if isinstance(item, Equation):
        return {
            "type": "equation",
            "kind": item.kind,
            "lhs": _expr_json(item.lhs),
            "forms": [_expr_json(f.expr, f, item) for f in item.forms],
            "value": _number_or_list(item.value),
            "value_nonfinite": _nonfinite(item.value),
            "shown": _number_or_list(item.shown),
            "shown_text": _result_text(item),
            "decimals": item.decimals,
            "text": equation_text(item),
            "node": item.node,
            "edge": list(item.edge) if item.edge else None,
            "shape": list(item.shape) if item.shape is not None else None,
            "note": item.note,
            "relation": item.relation,
            "context": item.context,
            "sample": item.sample,
            "at": None if item.at is None else {k: _number_or_list(v) for k, v in item.at.items()},
        }
    if isinstance(item, Note):
        # A note may carry exact numbers of its own (a finite-difference check's estimate, h and verdict).
        extra = item.fields() if hasattr(item, "fields") else {}
        return {"type": "note", "kind": item.kind, "text": item.text, **extra}
    if isinstance(item, Table):
        return {"type": "table", "columns": item.columns, "rows": item.rows, "caption": item.caption}
    raise TypeError(f"unknown explanation item {item!r}")
