"""One self-contained HTML page for an ``Explanation``.

The page shows the derivation section by section, each equation in native
MathML, beside a picture of the computation graph drawn here as inline SVG
(layered: inputs and parameters on the left, the loss on the right). Small
inline JavaScript adds step controls (◀ Back, Next ▶, Reset and the arrow
keys) that walk the equations tied to a graph node in document order: the
forward pass, then the backward pass. The current equation and its graph node
(and edge) get the class ``current``.

Nothing is loaded from anywhere: no fonts, scripts, styles or images, so the
page works from ``file://`` and offline. Without JavaScript everything is
visible and only the stepping is missing. All styles are scoped under the
root class ``chainrule-explanation`` so that the page can be embedded in a
Jupyter cell (``Explanation._repr_html_``) without restyling the notebook.

Hooks for tests and tools: each equation carries ``data-value`` (the exact
value as JSON), ``data-shown`` (the rounded hand value as written),
``data-node`` and, when it is a step, ``data-step-index`` (0-based); graph
nodes carry ``data-node-id``; the buttons are ``#prev``, ``#next`` and
``#reset``, the status line ``#status``; the full ``Explanation.to_dict()``
is embedded in ``<script type="application/json" id="explanation-data">``.
"""

from __future__ import annotations

import json
import math
from html import escape
from xml.etree import ElementTree

import numpy as np

from .model import format_value

__all__ = ["to_html", "ROOT_CLASS"]

ROOT_CLASS = "chainrule-explanation"

#: What the status line calls each kind of step, and which way the step goes.
_PHASES = {
    "given": ("given values", "given"),
    "forward": ("forward pass", "forward"),
    "loss": ("forward pass (the loss)", "forward"),
    "local": ("backward pass (local derivative)", "backward"),
    "chain": ("backward pass (chain rule)", "backward"),
    "gradient": ("backward pass (gradient)", "backward"),
    "update": ("gradient descent update", "update"),
    "check": ("check (forward pass with the new parameters)", "check"),
    "sample": ("per-sample step", "other"),
    "batch": ("batch gradient", "other"),
    "step": ("step", "other"),
}

_KIND_LABELS = {"parameter": "parameter", "input": "input", "constant": "constant", "op": "", "loss": "loss"}


# ---------------------------------------------------------------------------
# Small helpers


def _e(text) -> str:
    """Escape for element content and (double- or single-quoted) attribute values."""
    return escape("" if text is None else str(text), quote=True)


def _minus(text: str) -> str:
    """A typographic minus in a number written for display (−0.5, 1e−05)."""
    return text.replace("-", "−")


def _clean(value):
    """JSON-safe: NaN and infinities become strings, numpy scalars and arrays plain Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    return value


def _json_attr(value) -> str:
    return json.dumps(_clean(value), ensure_ascii=False, separators=(",", ":"))


def _script_json(value) -> str:
    """JSON that cannot close or confuse the <script> element it sits in."""
    text = json.dumps(_clean(value), ensure_ascii=False, indent=1)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _number_text(value, decimals: int) -> str:
    if isinstance(value, str):
        return value
    try:
        return format_value(float(value), decimals)
    except (TypeError, ValueError):
        return str(value)


def _as_array(value):
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return array


# ---------------------------------------------------------------------------
# MathML

_MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "msub", "msup", "msubsup", "mfrac", "msqrt",
    "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "semantics", "annotation", "merror", "mmultiscripts", "mprescripts", "none",
}
_MATHML_ATTRIBUTES = {
    "accent", "accentunder", "stretchy", "mathvariant", "displaystyle", "scriptlevel", "lspace", "rspace",
    "fence", "separator", "form", "largeop", "movablelimits", "symmetric", "minsize", "maxsize", "width",
    "height", "depth", "voffset", "linethickness", "notation", "encoding", "columnalign", "rowalign",
    "columnspan", "rowspan", "dir", "mathcolor", "mathbackground", "mathsize",
}


def _safe_mathml(markup: str | None, fallback: str) -> str:
    """The library's MathML, if it is well-formed MathML and nothing else; else the text as <mtext>."""
    if markup:
        try:
            root = ElementTree.fromstring(f"<root>{markup}</root>")
        except ElementTree.ParseError:
            root = None
        if root is not None and all(
            element.tag in _MATHML_TAGS and set(element.attrib) <= _MATHML_ATTRIBUTES
            for element in root.iter() if element is not root
        ):
            try:
                return _tighten(root)
            except RecursionError:  # nested deeper than ElementTree writes (hundreds of parentheses): as text
                pass
    return f"<mtext>{_e(fallback)}</mtext>"


def _tighten(root: ElementTree.Element) -> str:
    """No operator spacing inside ∂ and multi-character operators such as ``σ(`` and ``/∂``: the operator
    dictionary would space them as unknown infix operators (∂L /∂ ŷ, σ( z))."""
    for element in root.iter("mo"):
        text = (element.text or "").strip()
        if (text == "∂" or len(text) > 1) and "lspace" not in element.attrib and "rspace" not in element.attrib:
            element.set("lspace", "0")
            element.set("rspace", "0")
    return (root.text and _e(root.text) or "") + "".join(
        ElementTree.tostring(child, encoding="unicode") for child in root)


def _mn(text: str) -> str:
    if text.startswith("-") and len(text) > 1:
        return f"<mrow><mo>−</mo><mn>{_e(text[1:])}</mn></mrow>"
    return f"<mn>{_e(text)}</mn>"


def _matrix_mathml(array: np.ndarray, decimals: int) -> str:
    rows = array.reshape(1, -1) if array.ndim == 1 else array
    body = "".join(
        "<mtr>" + "".join(f"<mtd>{_mn(format_value(v, decimals))}</mtd>" for v in row) + "</mtr>"
        for row in rows
    )
    return f'<mrow><mo fence="true">[</mo><mtable>{body}</mtable><mo fence="true">]</mo></mrow>'


def _result_mathml(item: dict) -> str:
    shown, text, decimals = item.get("shown"), str(item.get("shown_text", "")), int(item.get("decimals", 3))
    if isinstance(shown, list):
        array = _as_array(shown)
        if array is not None and array.ndim <= 2 and text.startswith("["):
            return _matrix_mathml(array, decimals)
        return f"<mtext>{_e(text)}</mtext>"
    if isinstance(shown, (int, float)) and not isinstance(shown, bool):
        return _mn(text)
    return f"<mtext>{_e(text)}</mtext>"


def _equation_mathml(item: dict) -> str:
    lhs = item.get("lhs") or {}
    forms = item.get("forms") or []
    relation = item.get("relation") or "="
    parts = [_safe_mathml(lhs.get("mathml"), lhs.get("text", "")), f"<mo>{_e(relation)}</mo>"]
    for number, form in enumerate(forms):
        if number:
            parts.append("<mo>=</mo>")
        parts.append(_safe_mathml(form.get("mathml"), form.get("text", "")))
    # The text form appends the result unless the last form already reads as it: do the same.
    written = f"{lhs.get('text', '')} {relation} " + " = ".join(form.get("text", "") for form in forms)
    if not forms or item.get("text") != written:
        if forms:
            parts.append("<mo>=</mo>")
        parts.append(_result_mathml(item))
    return (f'<math display="block" alttext="{_e(item.get("text", ""))}"><mrow>'
            + "".join(parts) + "</mrow></math>")


# ---------------------------------------------------------------------------
# The derivation


def _shape_text(shape) -> str:
    return "×".join(str(s) for s in shape)


def _step_label(item: dict) -> str:
    lhs = (item.get("lhs") or {}).get("text", "")
    shown = str(item.get("shown_text", ""))
    relation = item.get("relation") or "="
    return f"{lhs} {relation} {_minus(shown)}" if len(shown) <= 40 else lhs


def _context_edges(item: dict, graph: dict) -> list[list[str]]:
    """Edges to show softly beside the current node: its inputs going forward, its paths to the loss for
    the chain rule, its consumers for a gradient."""
    node = item.get("node")
    if node is None or item.get("edge"):
        return []
    leaving, entering = _edge_index(graph.get("edges", []))
    kind = item.get("kind")
    if kind in ("forward", "loss", "check"):
        return [[a, b] for a, b in entering.get(node, [])]
    if kind == "gradient":
        return [[a, b] for a, b in leaving.get(node, [])]
    if kind == "chain":
        found, frontier, seen = [], [node], {node}
        while frontier:
            current = frontier.pop()
            for a, b in leaving.get(current, []):
                found.append([a, b])
                if b not in seen:
                    seen.add(b)
                    frontier.append(b)
        return found
    return []


_last_edge_index: tuple[list, dict, dict] | None = None


def _edge_index(edges: list[dict]) -> tuple[dict, dict]:
    """The edges leaving and entering each node, in graph order; built once per page, not once per line
    (a page of thousands of lines over thousands of edges)."""
    global _last_edge_index
    if _last_edge_index is None or _last_edge_index[0] is not edges:
        leaving: dict[str, list] = {}
        entering: dict[str, list] = {}
        for edge in edges:
            pair = (edge["from"], edge["to"])
            leaving.setdefault(pair[0], []).append(pair)
            entering.setdefault(pair[1], []).append(pair)
        _last_edge_index = (edges, leaving, entering)
    return _last_edge_index[1], _last_edge_index[2]


def _equation_html(item: dict, step: int | None, graph: dict) -> str:
    kind = str(item.get("kind", ""))
    attributes = [
        ("class", f"cr-eq cr-kind-{kind}"),
        ("data-kind", kind),
        ("data-value", _json_attr(item.get("value"))),
        ("data-shown", item.get("shown_text", "")),
        ("title", item.get("text", "")),
    ]
    if item.get("node") is not None:
        attributes.append(("data-node", item["node"]))
    if item.get("edge"):
        attributes += [("data-edge-from", item["edge"][0]), ("data-edge-to", item["edge"][1])]
    if step is not None:
        phase, direction = _PHASES.get(kind, (kind, "other"))
        attributes += [("data-step-index", str(step)), ("data-phase", phase), ("data-direction", direction),
                       ("data-label", _step_label(item))]
        context = _context_edges(item, graph)
        if context:
            attributes.append(("data-context-edges", _json_attr(context)))
    meta = [f'<span class="cr-tag">{_e(kind)}</span>']
    shape = item.get("shape")
    if shape:
        meta.append(f'<span class="cr-shape">{_e(_shape_text(shape))}</span>')
    note = item.get("note")
    if note and kind == "given":
        meta.append(f'<span class="cr-given-note">{_e(note)}</span>')
    html = ["<div " + " ".join(f'{name}="{_e(value)}"' for name, value in attributes) + ">",
            f'<div class="cr-math">{_equation_mathml(item)}</div>',
            f'<div class="cr-meta">{"".join(meta)}</div>']
    if note and kind != "given":
        html.append(f'<p class="cr-eq-note">↳ {_e(note)}</p>')
    html.append("</div>")
    return "".join(html)


def _note_html(item: dict) -> str:
    kind = str(item.get("kind", "note"))
    mark = {"good": '<span class="cr-mark" aria-hidden="true">✓</span> ',
            "bad": '<span class="cr-mark" aria-hidden="true">✗</span> '}.get(kind, "")
    return f'<p class="cr-note cr-note-{_e(kind)}">{mark}{_e(item.get("text", ""))}</p>'


def _table_html(item: dict) -> str:
    html = ['<div class="cr-table-wrap"><table class="cr-table">']
    if item.get("caption"):
        html.append(f"<caption>{_e(item['caption'])}</caption>")
    html.append("<thead><tr>" + "".join(f'<th scope="col">{_e(c)}</th>' for c in item.get("columns", []))
                + "</tr></thead><tbody>")
    for row in item.get("rows", []):
        html.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>")
    html.append("</tbody></table></div>")
    return "".join(html)


def _sections_html(data: dict) -> tuple[str, int]:
    graph = data.get("graph") or {}
    html, step = [], 0
    for number, section in enumerate(data.get("sections", []), 1):
        html.append(f'<section class="cr-section cr-section-{_e(section.get("kind", ""))}">')
        html.append(f'<h2><span class="cr-num">{number}.</span> {_e(section.get("title", ""))}</h2>')
        if section.get("intro"):
            html.append(f'<p class="cr-intro">{_e(section["intro"])}</p>')
        for item in section.get("items", []):
            kind = item.get("type")
            if kind == "equation":
                is_step = item.get("node") is not None
                html.append(_equation_html(item, step if is_step else None, graph))
                step += is_step
            elif kind == "note":
                html.append(_note_html(item))
            elif kind == "table":
                html.append(_table_html(item))
        html.append("</section>")
    return "".join(html), step


# ---------------------------------------------------------------------------
# The graph picture: a layered layout computed here, drawn as SVG

_FONT = 12.0  # node text
_TITLE_FONT = 15.0
_LABEL_FONT = 11.0
_LINE = 17.0
_PAD_X, _PAD_Y = 10.0, 8.0
_NARROW = set("ijlt.,:;'|!()[]{} fr")
_WIDE = set("mwMWOQGD×∂σ⊙∑Σ—−")


def _text_width(text: str, size: float) -> float:
    width = 0.0
    for char in text:
        width += 0.34 if char in _NARROW else 0.86 if char in _WIDE else 0.64 if char.isdigit() else 0.62
    return width * size


def _display_value(value, decimals: int):
    """("text", str) | ("matrix", rows of str) | ("summary", [str, str]) | None."""
    if value is None:
        return None
    if isinstance(value, str):
        return "text", value
    if not isinstance(value, list):
        return "text", _minus(_number_text(value, decimals))
    array = _as_array(value)
    if array is None:
        return "text", str(value)
    if array.ndim <= 2 and array.size and (array.ndim < 2 or array.shape[0] <= 5) and array.shape[-1] <= 4:
        rows = array.reshape(1, -1) if array.ndim == 1 else array
        return "matrix", [[_minus(format_value(v, decimals)) for v in row] for row in rows]
    if array.size == 0:
        return "text", "[]"
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return "summary", [_shape_text(array.shape)]
    return "summary", [
        f"{_shape_text(array.shape)}, mean {_minus(format_value(finite.mean(), decimals))}",
        f"from {_minus(format_value(finite.min(), decimals))} to {_minus(format_value(finite.max(), decimals))}",
    ]


class _Box:
    def __init__(self, node: dict, decimals: int):
        self.node = node
        self.id = str(node["id"])
        self.kind = "loss" if node.get("is_loss") else str(node.get("kind", "op"))
        self.dummy = False
        grad = node.get("grad_shown") if node.get("grad_shown") is not None else node.get("grad")
        self.value = _display_value(node.get("value"), decimals)
        self.grad = _display_value(grad, decimals)
        # (class, label, display) rows; the width and height follow.
        tag = _KIND_LABELS.get(self.kind, self.kind)
        width = _text_width(self.id, _TITLE_FONT) + (_text_width(tag, 10) + 14 if tag else 0)
        height = _PAD_Y + 20
        if node.get("expression"):
            width = max(width, _text_width("= " + _minus(str(node["expression"])), _FONT))
            height += _LINE
        for label, shown in (("value", self.value), (f"∂L/∂{self.id}", self.grad)):
            if shown is None:
                continue
            form, content = shown
            if form == "text":
                width = max(width, _text_width(f"{label} = {content}", _FONT))
                height += _LINE
            elif form == "summary":
                width = max(width, _text_width(label, _FONT) + 8, *(_text_width(t, _FONT) + 8 for t in content))
                height += _LINE * (1 + len(content))
            else:
                columns = self._matrix_columns(content)
                width = max(width, _text_width(label, _FONT), sum(columns) + 10 * (len(columns) - 1) + 30)
                height += _LINE * (1 + len(content)) + 2
        self.width = math.ceil(width + 2 * _PAD_X)
        self.height = math.ceil(height + _PAD_Y - 4)

    @staticmethod
    def _matrix_columns(rows) -> list[float]:
        return [max(_text_width(row[c], _FONT) for row in rows) for c in range(len(rows[0]))]

    def title_text(self) -> str:
        parts = [self.id]
        if self.node.get("expression"):
            parts[0] += f" = {self.node['expression']}"
        parts.append(f"value {_exact_text(self.node.get('value'))}")
        if self.node.get("grad") is not None:
            parts.append(f"∂L/∂{self.id} = {_exact_text(self.node.get('grad'))}")
        return "; ".join(parts)

    def svg(self, x: float, y: float) -> str:
        out = [f'<g class="cr-node cr-node-{_e(self.kind)}" data-node-id="{_e(self.id)}" '
               f'transform="translate({x:.1f},{y:.1f})">',
               f"<title>{_e(self.title_text())}</title>",
               f'<rect class="cr-box" width="{self.width}" height="{self.height}" rx="7" ry="7"/>']
        line_y = _PAD_Y + 15
        out.append(f'<text class="cr-id" x="{_PAD_X}" y="{line_y:.1f}">{_e(self.id)}</text>')
        tag = _KIND_LABELS.get(self.kind, self.kind)
        if tag:
            out.append(f'<text class="cr-kindtag" x="{self.width - _PAD_X}" y="{line_y - 1:.1f}" '
                       f'text-anchor="end">{_e(tag)}</text>')
        line_y += 5
        if self.node.get("expression"):
            line_y += _LINE
            out.append(f'<text class="cr-expr" x="{_PAD_X}" y="{line_y:.1f}">= '
                       f'{_e(_minus(str(self.node["expression"])))}</text>')
        for cls, label, shown in (("cr-val", "value", self.value), ("cr-grad", f"∂L/∂{self.id}", self.grad)):
            if shown is None:
                continue
            form, content = shown
            if form == "text":
                line_y += _LINE
                out.append(f'<text class="{cls}" x="{_PAD_X}" y="{line_y:.1f}"><tspan class="cr-k">{_e(label)}'
                           f'</tspan> = {_e(content)}</text>')
                continue
            line_y += _LINE
            out.append(f'<text class="{cls}" x="{_PAD_X}" y="{line_y:.1f}"><tspan class="cr-k">{_e(label)}'
                       f'</tspan>{" =" if form == "matrix" else ""}</text>')
            if form == "summary":
                for text in content:
                    line_y += _LINE
                    out.append(f'<text class="{cls}" x="{_PAD_X + 8}" y="{line_y:.1f}">{_e(text)}</text>')
                continue
            columns = self._matrix_columns(content)
            top = line_y + 5
            left = _PAD_X + 6
            right = left + sum(columns) + 10 * (len(columns) - 1) + 12
            for row in content:
                line_y += _LINE
                cell_x = left + 6
                cells = []
                for text, column in zip(row, columns):
                    cell_x += column
                    cells.append(f'<tspan x="{cell_x:.1f}">{_e(text)}</tspan>')
                    cell_x += 10
                out.append(f'<text class="{cls} cr-matrix" y="{line_y:.1f}" text-anchor="end">'
                           + "".join(cells) + "</text>")
            bottom = line_y + 5
            out.append(f'<path class="cr-bracket" d="M{left + 3:.1f},{top:.1f} h-3 V{bottom:.1f} h3 '
                       f'M{right - 3:.1f},{top:.1f} h3 V{bottom:.1f} h-3"/>')
            line_y += 2
        out.append("</g>")
        return "".join(out)


def _exact_text(value) -> str:
    if isinstance(value, list):
        array = _as_array(value)
        if array is not None and array.size > 16:
            return f"({_shape_text(array.shape)} values)"
        return json.dumps(value)
    return str(value)


def _spread(desired: list[float], heights: list[float], gap: float) -> list[float]:
    """Tops as close as possible (least squares) to ``desired``, in order, without overlapping."""
    offsets, total = [], 0.0
    for height in heights:
        offsets.append(total)
        total += height + gap
    blocks: list[list[float]] = []  # [mean, count]
    for target in (d - o for d, o in zip(desired, offsets)):
        blocks.append([target, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean2, count2 = blocks.pop()
            mean1, count1 = blocks.pop()
            blocks.append([(mean1 * count1 + mean2 * count2) / (count1 + count2), count1 + count2])
    tops: list[float] = []
    for mean, count in blocks:
        tops += [mean] * int(count)
    return [t + o for t, o in zip(tops, offsets)]


def _label_lines(label: str) -> list[str]:
    label = _minus_numbers(label)
    if len(label) <= 18 or " = " not in label:
        return [label]
    head, *rest = label.split(" = ")
    return [head] + ["= " + part for part in rest]


def _minus_numbers(text: str) -> str:
    """A hyphen before a digit is a minus sign."""
    return "".join("−" if c == "-" and i + 1 < len(text) and (text[i + 1].isdigit() or text[i + 1] == ".")
                   else c for i, c in enumerate(text))


def _graph_svg(graph: dict, decimals: int, title: str) -> str:
    nodes = [n for n in graph.get("nodes", []) if n.get("id") is not None]
    if not nodes:
        return ""
    boxes = {str(n["id"]): _Box(n, decimals) for n in nodes}
    order = list(boxes)
    edges = []
    for edge in graph.get("edges", []):
        a, b = str(edge.get("from")), str(edge.get("to"))
        if a in boxes and b in boxes and a != b:
            edges.append((a, b, str(edge.get("label") or "")))
    parents: dict[str, list[str]] = {n: [] for n in order}
    children: dict[str, list[str]] = {n: [] for n in order}
    for a, b, _ in edges:  # one pass: a graph of thousands of nodes is not scanned once per node
        parents[b].append(a)
        children[a].append(b)

    # Depth: longest path from a source (Kahn's order; anything on a cycle stays where it is).
    depth = dict.fromkeys(order, 0)
    waiting = {n: len(set(parents[n])) for n in order}
    ready = [n for n in order if waiting[n] == 0]
    while ready:
        node = ready.pop(0)
        for child in dict.fromkeys(children[node]):
            depth[child] = max(depth[child], depth[node] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    # Inputs and parameters stand just left of their first consumer.
    for node in order:
        if not parents[node] and children[node]:
            depth[node] = max(0, min(depth[c] for c in children[node]) - 1)
    losses = [n for n in order if boxes[n].kind == "loss" and not children[n]]
    last = max(depth.values())
    for node in losses:
        depth[node] = last

    # Long edges pass through placeholder points in the columns they cross.
    chains: list[tuple[str, str, str, list[str]]] = []
    layer_edges: list[tuple[str, str]] = []
    column_of = dict(depth)
    heights = {n: float(boxes[n].height) for n in order}
    for number, (a, b, label) in enumerate(edges):
        points = [a]
        if depth[b] > depth[a] + 1:
            for column in range(depth[a] + 1, depth[b]):
                dummy = f"\x00{number}.{column}"
                column_of[dummy] = column
                heights[dummy] = 6.0
                points.append(dummy)
        points.append(b)
        layer_edges += list(zip(points, points[1:]))
        chains.append((a, b, label, points))
    columns: list[list[str]] = [[] for _ in range(max(column_of.values()) + 1)]
    for node in column_of:  # real nodes in graph order, then the placeholders
        columns[column_of[node]].append(node)
    preds: dict[str, list[str]] = {n: [] for n in column_of}
    succs: dict[str, list[str]] = {n: [] for n in column_of}
    for a, b in layer_edges:
        preds[b].append(a)
        succs[a].append(b)

    # Order within columns: a few barycentre sweeps.
    position = {n: i for column in columns for i, n in enumerate(column)}

    def reorder(column: list[str], neighbours: dict) -> None:
        def key(node):
            near = neighbours[node]
            return (sum(position[m] for m in near) / len(near) if near else position[node], position[node])
        column.sort(key=key)
        for i, n in enumerate(column):
            position[n] = i

    for _ in range(3):
        for column in columns[1:]:
            reorder(column, preds)
        for column in reversed(columns[:-1]):
            reorder(column, succs)

    # Vertical positions: stack, then pull each node towards its neighbours without overlaps.
    gap = 22.0
    top: dict[str, float] = {}
    for column in columns:
        y = -sum(heights[n] + gap for n in column) / 2
        for node in column:
            top[node] = y
            y += heights[node] + gap

    def centre(node):
        return top[node] + heights[node] / 2

    def settle(column: list[str], neighbours: dict) -> None:
        desired = [(sum(centre(m) for m in neighbours[n]) / len(neighbours[n]) if neighbours[n] else centre(n))
                   - heights[n] / 2 for n in column]
        for node, y in zip(column, _spread(desired, [heights[n] for n in column], gap)):
            top[node] = y

    for _ in range(4):
        for column in columns[1:]:
            settle(column, preds)
        for column in reversed(columns[:-1]):
            settle(column, succs)

    # Horizontal positions: column widths, and gaps wide enough for the edge labels ending there.
    widths = [max([boxes[n].width for n in column if n in boxes] or [24]) for column in columns]
    label_width = [0.0] * len(columns)
    for _from, b, label, _ in chains:
        if label:
            width = max(_text_width(line, _LABEL_FONT) for line in _label_lines(label)) + 12
            label_width[depth[b]] = max(label_width[depth[b]], width)
    margin = 16.0
    left, x = [], margin
    for number, width in enumerate(widths):
        if number:
            x += max(56.0, label_width[number] + 28)
        left.append(x)
        x += width
    svg_width = x + margin

    def box_left(node):
        column = column_of[node]
        return left[column] + (widths[column] - (boxes[node].width if node in boxes else 0)) / 2

    # Ports: several edges leaving or entering one box spread along its side, in the order of their ends.
    out_port, in_port = {}, {}
    for node in order:
        for ports, near in ((out_port, succs[node]), (in_port, preds[node])):
            ordered = sorted(near, key=centre)
            for i, other in enumerate(ordered):
                ports[(node, other) if ports is out_port else (other, node)] = (
                    top[node] + heights[node] * (i + 1) / (len(ordered) + 1))

    paths, labels = [], []
    for a, b, label, points in chains:
        d, previous_exit = "", None
        last_segment = None
        for i, point in enumerate(points):
            if i == 0:
                start = (box_left(a) + boxes[a].width, out_port.get((a, points[1]), centre(a)))
                d = f"M{start[0]:.1f},{start[1]:.1f}"
                previous_exit = start
                continue
            if point in boxes:
                entry = (box_left(point) - 1.5, in_port.get((points[i - 1], point), centre(point)))
            else:
                entry = (left[column_of[point]], centre(point))
            bend = (entry[0] - previous_exit[0]) / 2
            d += (f" C{previous_exit[0] + bend:.1f},{previous_exit[1]:.1f} {entry[0] - bend:.1f},{entry[1]:.1f}"
                  f" {entry[0]:.1f},{entry[1]:.1f}")
            last_segment = (previous_exit, entry)
            if point not in boxes:
                previous_exit = (left[column_of[point]] + widths[column_of[point]], centre(point))
                d += f" L{previous_exit[0]:.1f},{previous_exit[1]:.1f}"
        paths.append((a, b, d))
        if label and last_segment:
            (x1, y1), (x2, y2) = last_segment
            lines = _label_lines(label)
            labels.append({"from": a, "to": b, "lines": lines, "x": (x1 + x2) / 2, "y": (y1 + y2) / 2,
                           "w": max(_text_width(line, _LABEL_FONT) for line in lines) + 10,
                           "h": 14.0 * len(lines) + 4, "column": depth[b]})
    # Labels in one gap must not overlap: push them apart downwards.
    for column in range(len(columns)):
        in_gap = sorted((lab for lab in labels if lab["column"] == column), key=lambda lab: lab["y"])
        for before, after in zip(in_gap, in_gap[1:]):
            lowest = before["y"] + before["h"] / 2 + after["h"] / 2 + 4
            after["y"] = max(after["y"], lowest)

    tops = [top[n] for n in order] + [lab["y"] - lab["h"] / 2 for lab in labels]
    bottoms = [top[n] + heights[n] for n in order] + [lab["y"] + lab["h"] / 2 for lab in labels]
    shift = margin - min(tops)
    svg_height = max(bottoms) + shift + margin
    width, height = math.ceil(svg_width), math.ceil(svg_height)

    out = [f'<svg class="cr-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" '
           f'style="width:100%;max-width:{math.ceil(width * 1.2)}px;min-width:{math.ceil(width * 0.8)}px;height:auto">',
           f"<title>{_e('Computation graph: ' + title)}</title>",
           '<defs><marker id="cr-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker>'
           '<marker id="cr-arrow-current" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#ea580c"/></marker></defs>',
           f'<g transform="translate(0,{shift:.1f})">', '<g class="cr-edges">']
    for a, b, d in paths:
        out.append(f'<g class="cr-edge" data-from="{_e(a)}" data-to="{_e(b)}"><path d="{d}" '
                   'marker-end="url(#cr-arrow)"/></g>')
    out.append('</g><g class="cr-edge-labels">')
    for lab in labels:
        x0, y0 = lab["x"] - lab["w"] / 2, lab["y"] - lab["h"] / 2
        spans = "".join(f'<tspan x="{lab["x"]:.1f}" dy="{0 if i == 0 else 14}">{_e(line)}</tspan>'
                        for i, line in enumerate(lab["lines"]))
        out.append(f'<g class="cr-edge-label" data-from="{_e(lab["from"])}" data-to="{_e(lab["to"])}">'
                   f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{lab["w"]:.1f}" height="{lab["h"]:.1f}" rx="4"/>'
                   f'<text x="{lab["x"]:.1f}" y="{y0 + 13:.1f}" text-anchor="middle">{spans}</text></g>')
    out.append('</g><g class="cr-nodes">')
    for node in order:
        out.append(boxes[node].svg(box_left(node), top[node]))
    out.append("</g></g></svg>")
    return "".join(out)


def _legend_html() -> str:
    items = [("parameter", "parameter"), ("input", "input"), ("constant", "constant"), ("op", "operation"),
             ("loss", "loss")]
    chips = "".join(f'<span class="cr-chip cr-chip-{kind}"><span aria-hidden="true"></span>{name}</span>'
                    for kind, name in items)
    return (f'<span class="cr-legend">{chips}<span class="cr-chip cr-chip-grad">∂L/∂…: gradient</span></span>')


# ---------------------------------------------------------------------------
# Styles and script (scoped under the root class; nothing global)

_R = "." + ROOT_CLASS

_CSS = """
$R{--cr-ink:#1f2937;--cr-muted:#64748b;--cr-line:#e2e8f0;--cr-soft:#f8fafc;--cr-accent:#2563eb;
--cr-current:#f59e0b;--cr-current-bg:#fff8e6;color-scheme:light;color:var(--cr-ink);background:#fff;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif;
font-size:16px;line-height:1.55;max-width:1180px;margin:0 auto;padding:20px 28px 36px;box-sizing:border-box;
text-align:left;-webkit-text-size-adjust:100%}
$R *,$R *::before,$R *::after{box-sizing:inherit}
$R .cr-header h1{font-size:1.75em;line-height:1.25;font-weight:700;margin:.2em 0 .35em;letter-spacing:-.01em}
$R .cr-header .cr-description{font-size:1.06em;color:#334155;margin:0 0 .4em;max-width:62em}
$R .cr-header .cr-meta-line{color:var(--cr-muted);font-size:.88em;margin:0}
$R .cr-stage{background:#fff;border:1px solid var(--cr-line);border-radius:12px;margin:18px 0 26px;overflow:hidden}
$R.cr-js .cr-stage{position:sticky;top:0;z-index:10;box-shadow:0 6px 18px -12px rgba(15,23,42,.35)}
$R .cr-controls{display:flex;flex-wrap:wrap;align-items:center;gap:8px;padding:8px 12px;
background:var(--cr-soft);border-bottom:1px solid var(--cr-line)}
$R .cr-controls[hidden]{display:none}
$R .cr-controls button{font:inherit;font-size:.92em;padding:.32em .9em;border-radius:8px;cursor:pointer;
border:1px solid #cbd5e1;background:#fff;color:var(--cr-ink);line-height:1.3}
$R .cr-controls button:hover:not(:disabled){border-color:var(--cr-accent);color:var(--cr-accent)}
$R .cr-controls button:focus-visible{outline:2px solid var(--cr-accent);outline-offset:2px}
$R .cr-controls button:disabled{opacity:.45;cursor:default}
$R .cr-controls button.cr-next{background:var(--cr-accent);border-color:var(--cr-accent);color:#fff}
$R .cr-controls button.cr-next:hover:not(:disabled){background:#1d4ed8;color:#fff}
$R .cr-status{flex:1 1 18em;min-width:0;font-size:.92em;color:#334155;font-variant-numeric:tabular-nums;
padding-left:6px}
$R .cr-graph-details>summary{cursor:pointer;padding:6px 12px;font-size:.86em;color:var(--cr-muted);
display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;list-style-position:inside}
$R .cr-graph-details>summary::-webkit-details-marker{display:none}
$R .cr-graph-details>summary::before{content:"\\25B8";color:var(--cr-muted);width:.8em}
$R .cr-graph-details[open]>summary::before{content:"\\25BE"}
$R .cr-graph-details>summary>strong{color:var(--cr-ink);font-weight:600}
$R .cr-graph-note{font-size:.95em}
$R .cr-legend{display:inline-flex;flex-wrap:wrap;gap:4px 12px}
$R .cr-chip{display:inline-flex;align-items:center;gap:5px;white-space:nowrap}
$R .cr-chip>span{display:inline-block;width:.95em;height:.95em;border-radius:3px;border:1px solid #94a3b8}
$R .cr-chip-parameter>span{background:#fde68a}$R .cr-chip-input>span{background:#dbeafe}
$R .cr-chip-constant>span{background:#e5e7eb}$R .cr-chip-op>span{background:#fff}
$R .cr-chip-loss>span{background:#fecaca}$R .cr-chip-grad{color:#b91c1c}
$R .cr-graph-panel{overflow:auto;padding:4px 8px 10px}
$R.cr-js .cr-graph-panel{max-height:44vh}
$R .cr-graph{display:block;margin:0 auto;font-variant-numeric:tabular-nums;
font-family:"Helvetica Neue",Helvetica,Arial,"Liberation Sans","DejaVu Sans",sans-serif}
$R .cr-graph text{font-size:12px;fill:#1f2937}
$R .cr-graph .cr-id{font-size:15px;font-weight:700}
$R .cr-graph .cr-kindtag{font-size:10px;fill:var(--cr-muted);letter-spacing:.03em}
$R .cr-graph .cr-expr{fill:#475569}
$R .cr-graph .cr-k{fill:var(--cr-muted)}
$R .cr-graph .cr-grad,$R .cr-graph .cr-grad .cr-k{fill:#b91c1c}
$R .cr-graph .cr-bracket{fill:none;stroke:#64748b;stroke-width:1}
$R .cr-graph .cr-box{fill:#fff;stroke:#94a3b8;stroke-width:1.2}
$R .cr-graph .cr-node-parameter .cr-box{fill:#fde68a;stroke:#d97706}
$R .cr-graph .cr-node-input .cr-box{fill:#dbeafe;stroke:#60a5fa}
$R .cr-graph .cr-node-constant .cr-box{fill:#e5e7eb;stroke:#9ca3af}
$R .cr-graph .cr-node-loss .cr-box{fill:#fecaca;stroke:#ef4444}
$R .cr-graph .cr-node.current .cr-box{stroke:var(--cr-current);stroke-width:3.5;
filter:drop-shadow(0 0 5px rgba(245,158,11,.75))}
$R.cr-dir-forward .cr-graph .cr-node.current .cr-val,$R.cr-dir-check .cr-graph .cr-node.current .cr-val,
$R.cr-dir-backward .cr-graph .cr-node.current .cr-grad,
$R.cr-dir-update .cr-graph .cr-node.current .cr-val{font-weight:700}
$R .cr-graph .cr-edge path{fill:none;stroke:#64748b;stroke-width:1.4}
$R .cr-graph .cr-edge.cr-context path{stroke:#fb923c;stroke-width:2.2}
$R .cr-graph .cr-edge.current path{stroke:#ea580c;stroke-width:3.2;marker-end:url(#cr-arrow-current)}
$R .cr-graph .cr-edge-label rect{fill:#fff;fill-opacity:.92;stroke:#e2e8f0}
$R .cr-graph .cr-edge-label text{font-size:11px;fill:#1e3a8a}
$R .cr-graph .cr-edge-label.current rect{fill:#ffedd5;stroke:#ea580c}
$R .cr-section{margin:0 0 1.6em}
$R .cr-section h2{font-size:1.22em;font-weight:650;margin:1.1em 0 .45em;padding-bottom:.25em;
border-bottom:1px solid var(--cr-line)}
$R .cr-num{color:var(--cr-muted);font-weight:600;margin-right:.15em}
$R .cr-intro{color:#475569;margin:.2em 0 .7em;max-width:62em}
$R .cr-eq{display:flex;flex-wrap:wrap;align-items:center;gap:2px 14px;margin:5px 0;padding:5px 12px 5px 14px;
border-left:4px solid #cbd5e1;border-radius:6px;background:#fff;scroll-margin:90px 0 24px}
$R .cr-eq.cr-kind-given{border-left-color:#94a3b8}
$R .cr-eq.cr-kind-forward,$R .cr-eq.cr-kind-check{border-left-color:#60a5fa}
$R .cr-eq.cr-kind-loss{border-left-color:#f87171}
$R .cr-eq.cr-kind-local{border-left-color:#c084fc}
$R .cr-eq.cr-kind-chain,$R .cr-eq.cr-kind-gradient{border-left-color:#f472b6}
$R .cr-eq.cr-kind-update{border-left-color:#34d399}
$R .cr-eq.cr-kind-sample,$R .cr-eq.cr-kind-batch{border-left-color:#fbbf24}
$R .cr-eq.cr-done{background:var(--cr-soft)}
$R .cr-eq.current{background:var(--cr-current-bg);border-left-color:var(--cr-current);
box-shadow:0 0 0 2px var(--cr-current)}
$R .cr-math{flex:1 1 28em;min-width:0;overflow-x:auto;overflow-y:hidden;padding:2px 0}
$R .cr-math math{font-family:"STIX Two Math","Latin Modern Math","Cambria Math","DejaVu Math TeX Gyre",math;
font-size:1.16em;margin:.15em 0;text-align:left;color:#111827}
$R .cr-math math[display=block]{display:inline math}
$R .cr-math mtd{padding:.05em .45em;text-align:right}
$R .cr-meta{flex:0 0 auto;display:flex;gap:8px;align-items:center;color:var(--cr-muted);font-size:.8em}
$R .cr-tag{text-transform:uppercase;letter-spacing:.06em;font-size:.86em;padding:1px 7px;border-radius:99px;
background:#f1f5f9;color:#475569}
$R .cr-shape,$R .cr-given-note{font-variant-numeric:tabular-nums}
$R .cr-eq-note{flex:1 1 100%;margin:0 0 2px;color:#475569;font-size:.9em}
$R .cr-note{margin:.55em 0;color:#334155;max-width:62em}
$R .cr-note-good{color:#15803d;font-weight:550}$R .cr-note-bad{color:#b91c1c;font-weight:550}
$R .cr-table-wrap{overflow-x:auto;margin:.6em 0}
$R .cr-table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.95em}
$R .cr-table caption{text-align:left;color:var(--cr-muted);padding-bottom:.3em}
$R .cr-table th,$R .cr-table td{padding:.3em .9em;text-align:left;border-bottom:1px solid var(--cr-line)}
$R .cr-table th{font-weight:600;border-bottom:2px solid #cbd5e1;background:var(--cr-soft)}
$R .cr-footer{margin-top:2em;padding-top:.8em;border-top:1px solid var(--cr-line);color:var(--cr-muted);font-size:.86em}
$R .cr-footer p{margin:.3em 0}
@media (max-width:640px){$R{padding:14px 12px}$R .cr-meta{font-size:.72em}
$R.cr-js .cr-graph-panel{max-height:30vh}$R .cr-graph-note{display:none}}
@media print{$R{max-width:none;padding:0;font-size:11pt}
$R .cr-controls{display:none}
$R.cr-js .cr-stage,$R .cr-stage{position:static;box-shadow:none;break-inside:avoid}
$R.cr-js .cr-graph-panel,$R .cr-graph-panel{max-height:none;overflow:visible}
$R .cr-graph{min-width:0!important;max-width:100%!important}
$R .cr-eq{break-inside:avoid}$R .cr-eq.current,$R .cr-eq.cr-done{background:none;box-shadow:none}
$R .cr-section h2{break-after:avoid}}
""".replace("$R", _R)

_SCRIPT = r"""
(function () {
  "use strict";
  var ROOT = "chainrule-explanation";
  function all(scope, selector) { return Array.prototype.slice.call(scope.querySelectorAll(selector)); }
  function init(root) {
    if (root.getAttribute("data-cr-ready") === "1") { return; }
    root.setAttribute("data-cr-ready", "1");
    root.classList.add("cr-js");
    var steps = all(root, "[data-step-index]").sort(function (a, b) {
      return Number(a.getAttribute("data-step-index")) - Number(b.getAttribute("data-step-index"));
    });
    var controls = root.querySelector(".cr-controls");
    var status = root.querySelector(".cr-status");
    var prev = root.querySelector(".cr-prev"), next = root.querySelector(".cr-next");
    var reset = root.querySelector(".cr-reset");
    var stage = root.querySelector(".cr-stage"), panel = root.querySelector(".cr-graph-panel");
    var nodes = {}, edges = {};
    all(root, ".cr-node[data-node-id]").forEach(function (el) { nodes[el.getAttribute("data-node-id")] = el; });
    all(root, "[data-from][data-to]").forEach(function (el) {
      var key = el.getAttribute("data-from") + "\u0000" + el.getAttribute("data-to");
      (edges[key] = edges[key] || []).push(el);
    });
    var startText = status ? status.textContent : "";
    var current = -1;
    // Scalar boxes show the first pass; a step of a later pass (the check after the
    // update, another sample) writes its own number into the box while it is current.
    var boxTexts = [];
    all(root, ".cr-node[data-node-id]").forEach(function (el) {
      ["cr-val", "cr-grad"].forEach(function (cls) {
        var text = el.querySelector("text." + cls + ":not(.cr-matrix)");
        var last = text && text.lastChild;
        if (last && last.nodeType === 3 && text.querySelector(".cr-k")) {
          boxTexts.push({id: el.getAttribute("data-node-id"), cls: cls, node: last, original: last.nodeValue});
        }
      });
    });
    function showNumber(id, cls, shown) {
      boxTexts.forEach(function (entry) {
        if (entry.id === id && entry.cls === cls) { entry.node.nodeValue = " = " + shown; }
      });
    }
    if (controls) { controls.hidden = false; }
    function mark(key, cls) { (edges[key] || []).forEach(function (el) { el.classList.add(cls); }); }
    function centreNode(node) {
      if (!panel || !node.getBBox) { return; }
      var rect = node.getBoundingClientRect(), panelRect = panel.getBoundingClientRect();
      panel.scrollLeft += rect.left + rect.width / 2 - (panelRect.left + panel.clientWidth / 2);
      panel.scrollTop += rect.top + rect.height / 2 - (panelRect.top + panel.clientHeight / 2);
    }
    function show(index, scroll) {
      current = Math.max(-1, Math.min(index, steps.length - 1));
      all(root, ".current, .cr-context, .cr-done").forEach(function (el) {
        el.classList.remove("current", "cr-context", "cr-done");
      });
      ["given", "forward", "backward", "update", "check", "other"].forEach(function (d) {
        root.classList.remove("cr-dir-" + d);
      });
      if (prev) { prev.disabled = current < 0; }
      if (reset) { reset.disabled = current < 0; }
      if (next) { next.disabled = current >= steps.length - 1; }
      if (current < 0) {
        boxTexts.forEach(function (entry) { entry.node.nodeValue = entry.original; });
        if (status) { status.textContent = startText; }
        return;
      }
      var step = steps[current];
      boxTexts.forEach(function (entry) { entry.node.nodeValue = entry.original; });
      var direction = step.getAttribute("data-direction");
      var shownNumber = step.getAttribute("data-shown");
      if (shownNumber && shownNumber.charAt(0) !== "[") {
        if (direction === "forward" || direction === "check") {
          showNumber(step.getAttribute("data-node"), "cr-val", shownNumber);
        } else if (direction === "backward" && /^∂L\d*\//.test(step.getAttribute("data-label") || "")) {
          showNumber(step.getAttribute("data-node"), "cr-grad", shownNumber);
        }
      }
      for (var i = 0; i < current; i++) { steps[i].classList.add("cr-done"); }
      step.classList.add("current");
      root.classList.add("cr-dir-" + (step.getAttribute("data-direction") || "other"));
      var node = nodes[step.getAttribute("data-node")];
      if (node) { node.classList.add("current"); }
      if (step.hasAttribute("data-edge-from")) {
        mark(step.getAttribute("data-edge-from") + "\u0000" + step.getAttribute("data-edge-to"), "current");
      }
      var context = step.getAttribute("data-context-edges");
      if (context) {
        try {
          JSON.parse(context).forEach(function (e) { mark(e[0] + "\u0000" + e[1], "cr-context"); });
        } catch (err) { /* ignore a malformed hint */ }
      }
      if (status) {
        status.textContent = "Step " + (current + 1) + " of " + steps.length + " \u2014 " +
          step.getAttribute("data-phase") + ": " + step.getAttribute("data-label");
      }
      if (scroll) {
        var sticky = stage && window.getComputedStyle(stage).position === "sticky";
        step.style.scrollMarginTop = ((sticky ? stage.offsetHeight : 0) + 16) + "px";
        step.scrollIntoView({block: "center", inline: "nearest"});
        if (node) { centreNode(node); }
      }
    }
    function onKey(event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      var target = event.target;
      if (target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable)) { return; }
      if (event.key === "ArrowRight") { show(current + 1, true); }
      else if (event.key === "ArrowLeft") { show(current - 1, true); }
      else if (event.key === "Escape" || event.key === "Home") { show(-1, false); }
      else { return; }
      event.preventDefault();
    }
    if (next) { next.addEventListener("click", function () { show(current + 1, true); }); }
    if (prev) { prev.addEventListener("click", function () { show(current - 1, true); }); }
    if (reset) { reset.addEventListener("click", function () { show(-1, false); }); }
    root.addEventListener("keydown", onKey);
    // Arrow keys anywhere, but only when nothing else has the focus and this is the only explanation shown
    // (in a notebook the keys belong to the notebook).
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target !== document.body && target !== document.documentElement && target !== document) { return; }
      if (!document.documentElement.contains(root)) { return; }
      if (document.getElementsByClassName(ROOT).length !== 1) { return; }
      onKey(event);
    });
    show(-1, false);
  }
  all(document, "." + ROOT).forEach(init);
})();
"""


# ---------------------------------------------------------------------------
# The page


def to_html(explanation) -> str:
    """The whole explanation as one self-contained HTML5 page (``explanation`` may also be its ``to_dict()``)."""
    data = explanation if isinstance(explanation, dict) else explanation.to_dict()
    data = _clean(data)
    title = str(data.get("title") or "chainrule explanation")
    precision = int(data.get("precision", 3))
    sections, steps = _sections_html(data)
    graph = _graph_svg(data.get("graph") or {}, precision, title)
    if steps:
        start = (f"{steps} steps: the forward pass, then the backward pass. "
                 "Press Next ▶ (or the → key) to walk through them.")
    else:
        start = "No steps to walk through."
    stage = ['<div class="cr-stage">',
             '<div class="cr-controls" role="toolbar" aria-label="Step through the derivation" hidden>',
             '<button type="button" id="prev" class="cr-prev">◀ Back</button>',
             '<button type="button" id="next" class="cr-next">Next ▶</button>',
             '<button type="button" id="reset" class="cr-reset">Reset</button>',
             f'<span id="status" class="cr-status" role="status" aria-live="polite">{_e(start)}</span>',
             "</div>"]
    if graph:
        stage += ['<details class="cr-graph-details" open>',
                  "<summary><strong>Computation graph</strong> <span class=\"cr-graph-note\">values and gradients of "
                  f"the first forward and backward pass</span> {_legend_html()}</summary>",
                  f'<div class="cr-graph-panel">{graph}</div>', "</details>"]
    stage.append("</div>")
    description = data.get("description")
    header = ['<header class="cr-header">', f"<h1>{_e(title)}</h1>"]
    if description:
        header.append(f'<p class="cr-description">{_e(description)}</p>')
    header.append("</header>")
    footer = ('<footer class="cr-footer"><p>Numbers are rounded to '
              f"{precision} decimal{'s' if precision != 1 else ''} and carried from step to step as a person would "
              "by hand; each equation's exact value is in its <code>data-value</code> attribute and in the JSON "
              "embedded in this page (<code>#explanation-data</code>).</p>"
              "<p>Made with chainrule.</p></footer>")
    return "\n".join([
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        '<link rel="icon" href="data:,">',
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f'<div class="{ROOT_CLASS}">',
        "".join(header),
        "".join(stage),
        f'<div class="cr-derivation">{sections}</div>',
        footer,
        f'<script type="application/json" id="explanation-data">{_script_json(data)}</script>',
        f"<script>{_SCRIPT}</script>",
        "</div>",
        "</body>",
        "</html>",
        "",
    ])
