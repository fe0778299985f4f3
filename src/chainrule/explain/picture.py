"""The graph picture in Graphviz's DOT language: nodes show values and gradients, edges local derivatives.

The picture is one pass of the graph: the first forward and backward pass. In a data-set narration that is
sample 1 at the starting weights, and the title says so, since the explanation around it is about batches and
other samples. Matrices are drawn row by row under their shape, so that their order is never ambiguous.
"""

from __future__ import annotations

from html import escape

import numpy as np

from .model import format_value

__all__ = ["to_dot"]

_COLORS = {"parameter": "#fde68a", "input": "#dbeafe", "constant": "#e5e7eb", "op": "#ffffff", "loss": "#fecaca"}

#: Matrices up to this size are written out row by row; larger tensors are summarised.
_MAX_ROWS, _MAX_COLUMNS = 6, 6


def _shape_text(shape) -> str:
    return "×".join(str(s) for s in shape)


def _number(value, decimals: int) -> str:
    return format_value(value, decimals).replace("-", "−")


def _value_rows(label: str, value, decimals: int, written: str | None = None) -> list[str]:
    """The label's lines: ``label = 0.5`` for a scalar; a matrix as its shape, then one line per row."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [f"{label} = {written if written is not None else _number(value, decimals)}"]
    array = np.asarray(value, dtype=float)
    shape = _shape_text(array.shape)
    if array.size == 0:
        return [f"{label} = [] ({shape})"]
    if array.ndim <= 1 and array.size <= _MAX_COLUMNS:
        return [f"{label} ({shape}) = [" + ", ".join(_number(v, decimals) for v in array.ravel()) + "]"]
    if array.ndim == 2 and array.shape[0] <= _MAX_ROWS and array.shape[1] <= _MAX_COLUMNS:
        return [f"{label} ({shape}) ="] + [
            "[" + ", ".join(_number(v, decimals) for v in row) + "]" for row in array]
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return [f"{label} ({shape})"]
    return [f"{label} ({shape}): mean {_number(finite.mean(), decimals)}",
            f"from {_number(finite.min(), decimals)} to {_number(finite.max(), decimals)}"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _equations(explanation):
    for section in explanation.sections:
        for item in section.items:
            if hasattr(item, "kind") and hasattr(item, "lhs"):
                yield item


def _given_text(explanation) -> dict[str, str]:
    """Each given value as the derivation writes it (a parameter's starting value, shown as given)."""
    texts = {}
    for item in _equations(explanation):
        if item.kind == "given" and item.node is not None and item.node not in texts:
            texts[item.node] = item.shown_text().replace("-", "−")
    return texts


def _is_dataset(explanation) -> bool:
    return any(getattr(item, "context", None) is not None for item in _equations(explanation))


def _caption(explanation, given: dict[str, str]) -> str | None:
    """What pass the picture shows, where the explanation is about more than one (a data-set narration)."""
    if not _is_dataset(explanation):
        return None
    weights = [f"{node['id']} = {given[node['id']]}" for node in explanation.graph.nodes
               if node["kind"] == "parameter" and node["id"] in given and not isinstance(node.get("value"), list)]
    return ("The graph of sample 1 at the starting weights" + (f" ({', '.join(weights)})" if weights else "")
            + "; the batches and the later samples are in the derivation.")


def to_dot(explanation) -> str:
    decimals = explanation.precision
    given = _given_text(explanation)
    caption = _caption(explanation, given)
    title = f"<b>{escape(explanation.title)}</b>"
    if caption:
        title += f'<br/><font point-size="11">{escape(caption)}</font>'
    lines = [
        "digraph chainrule {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", bgcolor="white", pad="0.3", nodesep="0.4", ranksep="0.7"];',
        '  node [shape=plaintext, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10, color="#475569", fontcolor="#1e3a8a"];',
        f"  label=<{title}>; labelloc=t; fontsize=14;",
    ]
    for node in explanation.graph.nodes:
        kind = "loss" if node.get("is_loss") else node["kind"]
        rows = [f'<tr><td><b>{escape(node["id"])}</b></td></tr>']
        if node.get("expression"):
            rows.append(f'<tr><td><font point-size="10">= {escape(node["expression"])}</font></td></tr>')
        value = node["value_shown"] if node.get("value_shown") is not None else node.get("value")
        for line in _value_rows("value", value, decimals, given.get(node["id"])):
            rows.append(f'<tr><td align="left">{escape(line)}</td></tr>')
        grad = node["grad_shown"] if node.get("grad_shown") is not None else node.get("grad")
        for line in _value_rows(f"∂L/∂{node['id']}", grad, decimals):
            rows.append(f'<tr><td align="left"><font color="#b91c1c">{escape(line)}</font></td></tr>')
        label = (f'<<table border="1" cellborder="0" cellspacing="2" cellpadding="3" style="rounded" '
                 f'bgcolor="{_COLORS.get(kind, "#ffffff")}">' + "".join(rows) + "</table>>")
        lines.append(f"  {_quote(node['id'])} [label={label}];")
    for edge in explanation.graph.edges:
        attributes = []
        if edge.get("label"):
            attributes.append(f"label={_quote(edge['label'])}")
        lines.append(f"  {_quote(edge['from'])} -> {_quote(edge['to'])}"
                     + (f" [{', '.join(attributes)}]" if attributes else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"
