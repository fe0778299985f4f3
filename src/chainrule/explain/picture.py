"""The graph picture in Graphviz's DOT language: nodes show values and gradients, edges local derivatives."""

from __future__ import annotations

from html import escape

import numpy as np

from ..formula import format_number

__all__ = ["to_dot"]

_COLORS = {"parameter": "#fde68a", "input": "#dbeafe", "constant": "#e5e7eb", "op": "#ffffff", "loss": "#fecaca"}


def _value_text(value, decimals: int) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        array = np.asarray(value, dtype=float)
        if array.size > 6:
            return f"{'×'.join(map(str, array.shape))}, mean {format_number(array.mean(), decimals)}"
        return "[" + ", ".join(format_number(v, decimals) for v in array.ravel()) + "]"
    return format_number(value, decimals)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(explanation) -> str:
    decimals = explanation.precision
    lines = [
        "digraph chainrule {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", bgcolor="white", pad="0.3", nodesep="0.4", ranksep="0.7"];',
        '  node [shape=plaintext, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10, color="#475569", fontcolor="#1e3a8a"];',
        f"  label={_quote(explanation.title)}; labelloc=t; fontsize=14;",
    ]
    for node in explanation.graph.nodes:
        kind = "loss" if node.get("is_loss") else node["kind"]
        rows = [f'<tr><td><b>{escape(node["id"])}</b></td></tr>']
        if node.get("expression"):
            rows.append(f'<tr><td><font point-size="10">= {escape(node["expression"])}</font></td></tr>')
        rows.append(f'<tr><td>value {escape(_value_text(node.get("value"), decimals))}</td></tr>')
        grad = node["grad_shown"] if node.get("grad_shown") is not None else node.get("grad")
        if grad is not None:
            rows.append(
                f'<tr><td><font color="#b91c1c">∂L/∂{escape(node["id"])} = '
                f'{escape(_value_text(grad, decimals))}</font></td></tr>'
            )
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
