"""One self-contained HTML page for an ``Explanation``.

The page shows the derivation section by section, each equation in native
MathML (one ``<math>`` per step of the equation, so that it wraps on a phone),
beside a picture of the computation graph drawn here as inline SVG (layered:
inputs and parameters on the left, the loss on the right). The page's script
adds step controls (◀ Back, Next ▶, Reset and the arrow keys) that walk the
equations tied to a graph node in document order, and the graph follows the
step: what each of its slots shows at each step comes from ``graph_walk``, and
the script only folds those changes. The current equation and its graph node
(and edge) get the class ``current``.

The template, styles and script are package files (``explain/assets``), inlined
here: nothing is loaded from anywhere, so the page works from ``file://`` and
offline. Without JavaScript everything is visible (the graph shows its first
pass) and only the stepping is missing. All styles are scoped under the root
class ``chainrule-explanation`` so that the page can be embedded in a Jupyter
cell (``Explanation._repr_html_``) without restyling the notebook.

Hooks for tests and tools: each equation carries ``data-value`` (the exact
value as JSON), ``data-shown`` (the rounded hand value as written),
``data-node`` and, when it is a step, ``data-step-index`` (0-based); graph
nodes carry ``data-node-id``, and each thing a slot can show is a
``.cr-variant`` with ``data-slot`` and ``data-variant`` (``.cr-on`` when shown);
the buttons are ``#prev``, ``#next``, ``#reset`` and ``#graph-toggle``, the
status line ``#status``, the graph's caption ``#graph-caption``; the full
``Explanation.to_dict()`` is embedded in ``<script type="application/json"
id="explanation-data">`` and the walk in ``id="graph-walk"``.
"""

from __future__ import annotations

import json
import math
from html import escape
from importlib import resources
from string import Template
from xml.etree import ElementTree

import numpy as np

from .graph_walk import Shown, Walk, minus, slot_key, walk_graph
from .model import format_value

__all__ = ["to_html", "asset", "ROOT_CLASS"]

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
    """The equation as MathML, one ``<math>`` per step of the equation (``lhs``, ``= form``, …, ``= result``),
    so that on a narrow screen it wraps between the steps, as one would write it by hand, instead of running off
    the screen."""
    lhs = item.get("lhs") or {}
    forms = item.get("forms") or []
    relation = item.get("relation") or "="
    chunks = [(_safe_mathml(lhs.get("mathml"), lhs.get("text", "")), lhs.get("text", ""))]
    for number, form in enumerate(forms):
        chunks.append((_relation_mo(relation if number == 0 else "=")
                       + _safe_mathml(form.get("mathml"), form.get("text", "")),
                       f"{relation if number == 0 else '='} {form.get('text', '')}"))
    # The text form appends the result unless the last form already reads as it: do the same.
    written = f"{lhs.get('text', '')} {relation} " + " = ".join(form.get("text", "") for form in forms)
    if not forms or item.get("text") != written:
        chunks.append((_relation_mo("=" if forms else relation) + _result_mathml(item),
                       f"{'=' if forms else relation} {item.get('shown_text', '')}"))
    return "".join(f'<math class="cr-part" displaystyle="true" alttext="{_e(text)}"><mrow>{markup}</mrow></math>'
                   for markup, text in chunks)


def _relation_mo(relation: str) -> str:
    # At the start of a <math> the operator would be spaced as a prefix; the gap between the parts is the space
    # before it, so only the space after it is set.
    return f'<mo lspace="0" rspace="0.2778em">{_e(relation)}</mo>'


# ---------------------------------------------------------------------------
# The derivation


def _shape_text(shape) -> str:
    return "×".join(str(s) for s in shape)


def _step_label(item: dict) -> str:
    lhs = (item.get("lhs") or {}).get("text", "")
    shown = str(item.get("shown_text", ""))
    relation = item.get("relation") or "="
    return f"{lhs} {relation} {minus(shown)}" if len(shown) <= 40 else lhs


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


def _picture_html(kind: str, caption: str, svg: str) -> str:
    return (f'<figure class="cr-picture cr-picture-{_e(kind)}" data-picture="{_e(kind)}">{svg}'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _sections_html(data: dict, pictures=()) -> tuple[str, int]:
    """The sections, each followed by the pictures (``explain.plots.page_pictures``) that illustrate it."""
    graph = data.get("graph") or {}
    html, step = [], 0
    after: dict[int, list[str]] = {}
    for index, kind, caption, svg in pictures:
        after.setdefault(index, []).append(_picture_html(kind, caption, svg))
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
        html.extend(after.get(number - 1, []))
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


class _Box:
    """A node's box: its name and kind, its expression, then its value and gradient slots.

    Each slot holds every variant the steps can show (see ``graph_walk``), drawn at the same place; the box is
    sized for the largest, so that nothing moves while stepping."""

    def __init__(self, node: dict, walk: Walk):
        self.node = node
        self.id = str(node["id"])
        self.kind = "loss" if node.get("is_loss") else str(node.get("kind", "op"))
        self.slots = []  # (class, key, variants, first variant, stepped)
        for cls, kind in (("cr-val", "v"), ("cr-grad", "g")):
            key = slot_key(kind, self.id)
            if walk.variants.get(key):
                self.slots.append((cls, key, walk.variants[key], walk.first.get(key), key in walk.stepped))
        tag = _KIND_LABELS.get(self.kind, self.kind)
        width = _text_width(self.id, _TITLE_FONT) + (_text_width(tag, 10) + 14 if tag else 0)
        height = _PAD_Y + 20
        if node.get("expression"):
            width = max(width, _text_width("= " + minus(str(node["expression"])), _FONT))
            height += _LINE
        for _cls, _key, variants, _first, _stepped in self.slots:
            width = max([width] + [_variant_width(shown) for shown in variants])
            height += max(_variant_height(shown) for shown in variants)
        self.width = math.ceil(width + 2 * _PAD_X)
        self.height = math.ceil(height + _PAD_Y - 4)

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
                       f'{_e(minus(str(self.node["expression"])))}</text>')
        for cls, key, variants, first, stepped in self.slots:
            for number, shown in enumerate(variants):
                classes = ["cr-variant"] + (["cr-first"] if number == first else []) \
                    + ([] if stepped else ["cr-on"]) + (["cr-new"] if shown.new else [])
                out.append(f'<g class="{" ".join(classes)}" data-slot="{_e(key)}" data-variant="{number}">'
                           f"{_variant_svg(cls, shown, line_y)}</g>")
            line_y += max(_variant_height(shown) for shown in variants)
        out.append("</g>")
        return "".join(out)


def _variant_height(shown: Shown) -> float:
    if shown.form == "summary":
        return _LINE * (1 + len(shown.content))
    if shown.form == "matrix":
        return _LINE * (1 + len(shown.content)) + 2
    return _LINE


def _matrix_columns(rows) -> list[float]:
    return [max(_text_width(row[c], _FONT) for row in rows) for c in range(len(rows[0]))]


def _variant_width(shown: Shown) -> float:
    if shown.form == "summary":
        return max([_text_width(shown.label, _FONT) + 8] + [_text_width(t, _FONT) + 8 for t in shown.content])
    if shown.form == "matrix":
        columns = _matrix_columns(shown.content)
        return max(_text_width(f"{shown.label} =", _FONT), sum(columns) + 10 * (len(columns) - 1) + 30)
    return _text_width(f"{shown.label} = {shown.content}", _FONT)


def _variant_svg(cls: str, shown: Shown, line_y: float) -> str:
    """One variant of a slot, drawn from just below ``line_y`` (the baseline of the line above it)."""
    line_y += _LINE
    label = f'<tspan class="cr-k">{_e(shown.label)}</tspan>'
    if shown.form == "text":
        return f'<text class="{cls}" x="{_PAD_X}" y="{line_y:.1f}">{label} = {_e(shown.content)}</text>'
    out = [f'<text class="{cls}" x="{_PAD_X}" y="{line_y:.1f}">{label}{" =" if shown.form == "matrix" else ""}'
           "</text>"]
    if shown.form == "summary":
        for text in shown.content:
            line_y += _LINE
            out.append(f'<text class="{cls}" x="{_PAD_X + 8}" y="{line_y:.1f}">{_e(text)}</text>')
        return "".join(out)
    columns = _matrix_columns(shown.content)
    top = line_y + 5
    left = _PAD_X + 6
    right = left + sum(columns) + 10 * (len(columns) - 1) + 12
    for row in shown.content:
        line_y += _LINE
        cell_x = left + 6
        cells = []
        for text, column in zip(row, columns):
            cell_x += column
            cells.append(f'<tspan x="{cell_x:.1f}">{_e(text)}</tspan>')
            cell_x += 10
        out.append(f'<text class="{cls} cr-matrix" y="{line_y:.1f}" text-anchor="end">' + "".join(cells) + "</text>")
    bottom = line_y + 5
    out.append(f'<path class="cr-bracket" d="M{left + 3:.1f},{top:.1f} h-3 V{bottom:.1f} h3 '
               f'M{right - 3:.1f},{top:.1f} h3 V{bottom:.1f} h-3"/>')
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


class _EdgeLabel:
    """An edge's label (a local derivative, or a tensor's shape) with every variant the steps can show, each in
    its own box around one centre."""

    def __init__(self, walk: Walk, a: str, b: str):
        self.key = slot_key("e", a, b)
        self.variants = walk.variants.get(self.key, [])
        self.first = walk.first.get(self.key)
        self.stepped = self.key in walk.stepped
        self.lines = [_label_lines(str(shown.content)) for shown in self.variants]
        sizes = [(max(_text_width(line, _LABEL_FONT) for line in lines) + 10, 14.0 * len(lines) + 4)
                 for lines in self.lines]
        self.width = max((w for w, _ in sizes), default=0.0)
        self.height = max((h for _, h in sizes), default=0.0)
        self.sizes = sizes

    def __bool__(self) -> bool:
        return bool(self.variants)

    def svg(self, x: float, y: float) -> str:
        out = []
        for number, (lines, (width, height)) in enumerate(zip(self.lines, self.sizes)):
            x0, y0 = x - width / 2, y - height / 2
            spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 14}">{_e(line)}</tspan>'
                            for i, line in enumerate(lines))
            classes = ["cr-variant"] + (["cr-first"] if number == self.first else []) \
                + ([] if self.stepped else ["cr-on"])
            out.append(f'<g class="{" ".join(classes)}" data-slot="{_e(self.key)}" data-variant="{number}">'
                       f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{height:.1f}" rx="4"/>'
                       f'<text x="{x:.1f}" y="{y0 + 13:.1f}" text-anchor="middle">{spans}</text></g>')
        return "".join(out)


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


def _graph_svg(graph: dict, walk: Walk, title: str) -> str:
    nodes = [n for n in graph.get("nodes", []) if n.get("id") is not None]
    if not nodes:
        return ""
    boxes = {str(n["id"]): _Box(n, walk) for n in nodes}
    order = list(boxes)
    edges = []  # (from, to, the label's variants)
    for edge in graph.get("edges", []):
        a, b = str(edge.get("from")), str(edge.get("to"))
        if a in boxes and b in boxes and a != b:
            edges.append((a, b, _EdgeLabel(walk, a, b)))
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
            label_width[depth[b]] = max(label_width[depth[b]], label.width + 2)
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
            labels.append({"from": a, "to": b, "label": label, "x": (x1 + x2) / 2, "y": (y1 + y2) / 2,
                           "w": label.width, "h": label.height, "column": depth[b]})
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
           f'style="width:100%;max-width:{width}px;min-width:{math.ceil(width * 0.8)}px;height:auto">',
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
        out.append(f'<g class="cr-edge-label" data-from="{_e(lab["from"])}" data-to="{_e(lab["to"])}">'
                   f'{lab["label"].svg(lab["x"], lab["y"])}</g>')
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
# The page


def asset(name: str) -> str:
    """A static file of the page (``page.css``, ``page.js``, ``page.html``, ``graph.html``), as text."""
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def to_html(explanation) -> str:
    """The whole explanation as one self-contained HTML5 page (``explanation`` may also be its ``to_dict()``).

    The page's template, styles and script are package files (``explain/assets``), inlined here so that the
    page is one file that works offline."""
    data = explanation if isinstance(explanation, dict) else explanation.to_dict()
    data = _clean(data)
    title = str(data.get("title") or "chainrule explanation")
    precision = int(data.get("precision", 3))
    from .plots import page_pictures

    sections, steps = _sections_html(data, () if isinstance(explanation, dict) else page_pictures(explanation))
    walk = walk_graph(data)
    svg = _graph_svg(data.get("graph") or {}, walk, title)
    graph = Template(asset("graph.html")).substitute(
        caption=_e(walk.static_caption), legend=_legend_html(), svg=svg) if svg else ""
    if steps:
        start = (f"{steps} steps: the forward pass, then the backward pass. "
                 "Press Next ▶ (or the → key) to walk through them.")
    else:
        start = "No steps to walk through."
    description = data.get("description")
    numbers = (f"Numbers are rounded to {precision} decimal{'s' if precision != 1 else ''} and carried from step "
               "to step as a person would by hand.")
    return Template(asset("page.html")).substitute(
        title=_e(title),
        style=asset("page.css"),
        root_class=ROOT_CLASS,
        description=f'<p class="cr-description">{_e(description)}</p>' if description else "",
        start=_e(start),
        graph=graph,
        sections=sections,
        numbers=_e(numbers),
        data=_script_json(data),
        walk=_script_json(walk.script_data()),
        script=asset("page.js"),
    )
