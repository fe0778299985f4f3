"""What the page's graph shows at each step: a fold over the explanation's equation lines.

The graph in an explanation's JSON holds one pass: the first forward and backward pass (of sample 1, at the
starting weights, in a data-set narration). A learner stepping through the page should see the graph fill in as
the derivation does, so the picture must not give away a gradient before its line, nor keep old numbers beside
new ones. Each *slot* of the picture (a node's value, a node's gradient, an edge's local derivative) gets the
texts it can ever show (its *variants*: the graph's own, then those the lines write), and each step says which
slots change. The page's script folds those changes up to the current step; it holds no maths and formats no
number, so the rules live here, in one place, where they can be tested without a browser.

The rules, step by step (a step is an equation line tied to a node):

- given, forward, loss and check lines write the node's value; local lines write their edge's label (and the
  gradient of a node whose only consumer is the loss); chain and gradient lines write the node's gradient;
- in the graph's own pass, a chain line also fills in, from the graph, the gradients and local derivatives on its
  paths to the loss that no line states (they are the factors of its product);
- an update line (``w_new = …`` or ``w ← …``) writes the parameter's new value, marked as new;
- the check starts from a clean graph: old values, gradients and local derivatives go, parameters keep their new
  values, inputs stay;
- in a data-set narration every context ("sample 2", "stochastic, sample 2", "minibatch, batch 1") and every
  sample starts from a clean graph showing that sample's inputs (from the sample table) and the weights the line
  is computed at (its ``at``); the caption names both. What no line says stays blank rather than wrong.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .model import format_value
from .numbers import typographic_minus

__all__ = ["Shown", "Walk", "walk_graph", "display_value", "minus", "slot_key"]

#: Matrices up to this size are drawn cell by cell; larger tensors are summarised.
_MAX_ROWS, _MAX_COLUMNS = 5, 4


def minus(text: str) -> str:
    """A typographic minus in a number written for display (−0.5), as the text writes it."""
    return typographic_minus(text)


def _shape_text(shape) -> str:
    return "×".join(str(s) for s in shape)


def display_value(value, decimals: int):
    """How a box shows an exact value: ("text", str) | ("matrix", rows of str) | ("summary", lines) | None."""
    if value is None:
        return None
    if isinstance(value, str):
        return "text", value
    if not isinstance(value, list):
        try:
            return "text", minus(format_value(float(value), decimals))
        except (TypeError, ValueError):
            return "text", str(value)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return "text", str(value)
    if array.size and array.ndim <= 2 and (array.ndim < 2 or array.shape[0] <= _MAX_ROWS) \
            and array.shape[-1] <= _MAX_COLUMNS:
        rows = array.reshape(1, -1) if array.ndim == 1 else array
        return "matrix", [[minus(format_value(v, decimals)) for v in row] for row in rows]
    return _summary(array, decimals)


def _summary(array: np.ndarray, decimals: int):
    if array.size == 0:
        return "text", "[]"
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return "summary", [_shape_text(array.shape)]
    return "summary", [
        f"{_shape_text(array.shape)}, mean {minus(format_value(finite.mean(), decimals))}",
        f"from {minus(format_value(finite.min(), decimals))} to {minus(format_value(finite.max(), decimals))}",
    ]


def _matrix_tokens(text: str):
    """The rows of a written matrix ("[[0.1, -0.2], [0.3, 0.4]]" or "[0.1, 0.2]"), each number as written."""
    tokens = re.findall(r"\[|\]|[^\[\],\s]+", text)
    stack: list[list] = [[]]
    for token in tokens:
        if token == "[":
            stack.append([])
        elif token == "]":
            if len(stack) < 2:
                return None
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1 or len(stack[0]) != 1 or not isinstance(stack[0][0], list):
        return None
    outer = stack[0][0]
    if all(isinstance(cell, str) for cell in outer):
        rows = [outer]
    elif all(isinstance(row, list) and all(isinstance(cell, str) for cell in row) for row in outer):
        rows = outer
    else:
        return None
    if not rows or not rows[0] or any(len(row) != len(rows[0]) for row in rows):
        return None
    return [[minus(cell) for cell in row] for row in rows]


def item_display(item: dict):
    """How a box shows the number a line wrote: its ``shown_text``, as written."""
    shown, text = item.get("shown"), str(item.get("shown_text", ""))
    if isinstance(shown, list):
        rows = _matrix_tokens(text)
        if rows is not None and len(rows) <= _MAX_ROWS and len(rows[0]) <= _MAX_COLUMNS:
            return "matrix", rows
        try:
            return _summary(np.asarray(shown, dtype=float), int(item.get("decimals", 3)))
        except (TypeError, ValueError):
            return "text", text
    return "text", minus(text)


@dataclass(frozen=True)
class Shown:
    """One thing a slot can show: a labelled value (``form`` as in :func:`display_value`) or an edge label."""

    label: str
    form: str
    content: object
    new: bool = False  # a parameter's value after the update

    def key(self) -> str:
        return json.dumps([self.label, self.form, self.content, self.new], ensure_ascii=False)


def slot_key(*parts: str) -> str:
    """``["v", node]`` (value), ``["g", node]`` (gradient) or ``["e", from, to]`` (edge label), as one string."""
    return json.dumps(list(parts), ensure_ascii=False)


@dataclass
class Walk:
    #: slot key → the variants it can show
    variants: dict[str, list[Shown]] = field(default_factory=dict)
    #: slot key → the graph's own variant (what the picture shows without the script)
    first: dict[str, int] = field(default_factory=dict)
    #: the slots the steps control; the others always show their first variant
    stepped: set[str] = field(default_factory=set)
    #: per step: the slots that change ([key, variant], -1 to hide) and the caption
    steps: list[dict] = field(default_factory=list)
    #: what the graph shows before the first step, and without the script
    start_caption: str = ""
    static_caption: str = ""
    _index: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def add(self, key: str, shown: Shown) -> int:
        """The variant's number in its slot (a new one only if the slot cannot show it yet)."""
        known = self._index.setdefault(key, {})
        if shown.key() not in known:
            known[shown.key()] = len(known)
            self.variants.setdefault(key, []).append(shown)
        return known[shown.key()]

    def script_data(self) -> dict:
        """What the page's script needs: the stepped slots and each step's changes and caption."""
        return {"stepped": sorted(self.stepped), "start": self.start_caption, "steps": self.steps}


class _Graph:
    def __init__(self, graph: dict):
        self.nodes = {str(n["id"]): n for n in graph.get("nodes", []) if n.get("id") is not None}
        self.edges = [(str(e.get("from")), str(e.get("to")), str(e.get("label") or ""))
                      for e in graph.get("edges", [])]
        self.consumers: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b, _ in self.edges:
            self.consumers.setdefault(a, []).append(b)
        losses = [n for n, node in self.nodes.items() if node.get("is_loss")]
        self.root = next((n for n in losses if not self.consumers.get(n)), losses[0] if losses else None)

    def kind(self, node: str) -> str:
        return str(self.nodes.get(node, {}).get("kind", "op"))

    def grad_name(self, node: str) -> str:
        return f"∂{self.root or 'L'}/∂{node}"

    def downstream(self, node: str, done: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """The nodes and edges on the paths from ``node`` to the loss (``node`` itself excluded), except past
        the nodes in ``done`` (whose paths were taken before); the nodes taken join ``done``."""
        found, edges, frontier = [], [], [node]
        done.add(node)
        while frontier:
            current = frontier.pop()
            for child in self.consumers.get(current, []):
                edges.append((current, child))
                if child not in done:
                    done.add(child)
                    found.append(child)
                    frontier.append(child)
        return found, edges


def _is_derivative_label(label: str) -> bool:
    """Edge labels are local derivatives (∂z/∂w = x = 1.0) or, for tensors, shapes (2×3) that never change."""
    return label.startswith("∂")


def _equations(data: dict) -> list[dict]:
    return [item for section in data.get("sections", []) for item in section.get("items", [])
            if item.get("type") == "equation"]


def _sample_table(data: dict, inputs: list[str]) -> dict[int, dict[str, tuple]]:
    """Sample number → input → display, read from the narration's sample table ("x = 2.0, y = 1.0")."""
    table = next((item for section in data.get("sections", []) for item in section.get("items", [])
                  if item.get("type") == "table" and (item.get("columns") or [None])[0] == "sample"), None)
    if table is None or not inputs:
        return {}
    names = "|".join(re.escape(n) for n in sorted(inputs, key=len, reverse=True))
    pattern = re.compile(rf"(?:^|,\s*)({names})\s*=\s*")
    samples = {}
    for row in table.get("rows", []):
        if len(row) < 2 or not str(row[0]).isdigit():
            continue
        text = str(row[1])
        matches = list(pattern.finditer(text))
        values = {}
        for match, following in zip(matches, matches[1:] + [None]):
            written = text[match.end():following.start() if following else len(text)].strip()
            if written.startswith("["):
                rows = _matrix_tokens(written)
                if rows is not None:
                    values[match.group(1)] = ("matrix", rows)
            elif written:
                values[match.group(1)] = ("text", minus(written))
        samples[int(row[0])] = values
    return samples


def _same(a, b) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
    except (TypeError, ValueError):
        return a == b


class _Walker:
    def __init__(self, data: dict):
        self.data = data
        self.graph = _Graph(data.get("graph") or {})
        self.decimals = int(data.get("precision", 3))
        self.walk = Walk()
        self.state: dict[str, int] = {}  # slot → variant shown now
        self.changes: dict[str, int] = {}
        self.written: dict[str, list[tuple[object, str]]] = {}  # parameter → (value, text) as lines wrote it
        self.expanded: set[str] = set()  # nodes whose paths to the loss a chain line has filled in
        inputs = [n for n in self.graph.nodes if self.graph.kind(n) == "input"]
        self.samples = _sample_table(data, inputs)
        self.steps = [item for item in _equations(data) if item.get("node") is not None]
        self.dataset = any(item.get("context") is not None for item in self.steps)

    # -- slots

    def _graph_variants(self) -> None:
        for node_id, node in self.graph.nodes.items():
            shown = display_value(node["value_shown"] if node.get("value_shown") is not None else node.get("value"),
                                  self.decimals)
            if shown is not None:
                self._first(slot_key("v", node_id), Shown("value", *shown))
            grad = node.get("grad_shown") if node.get("grad_shown") is not None else node.get("grad")
            shown = display_value(grad, self.decimals)
            if shown is not None:
                self._first(slot_key("g", node_id), Shown(self.graph.grad_name(node_id), *shown))
        for a, b, label in self.graph.edges:
            if label:
                key = slot_key("e", a, b)
                self._first(key, Shown(label, "label", label))
                if _is_derivative_label(label):
                    self.walk.stepped.add(key)

    def _first(self, key: str, shown: Shown) -> None:
        self.walk.first[key] = self.walk.add(key, shown)

    def set(self, key: str, shown: Shown) -> None:
        index = self.walk.add(key, shown)
        self.walk.stepped.add(key)
        self.state[key] = index
        self.changes[key] = index

    def reveal_first(self, key: str) -> None:
        """Show the graph's own variant of a slot (in the graph's own pass only)."""
        first = self.walk.first.get(key)
        if first is None or key in self.state:
            return
        shown = self.walk.variants[key][first]
        if shown.form != "label" or _is_derivative_label(shown.label):
            self.state[key] = self.changes[key] = first
            self.walk.stepped.add(key)

    def clear(self, keep=lambda key: False) -> None:
        for key in list(self.state):
            if not keep(key):
                del self.state[key]
                self.changes[key] = -1

    # -- the fold

    def run(self) -> Walk:
        self._graph_variants()
        stated = self._stated_in_graph_pass()
        in_graph_pass = True
        phase = None  # None (first pass), "check", or the data-set context
        sample = None
        caption = ""
        for item in self.steps:
            kind, node = item.get("kind"), str(item.get("node"))
            context = item.get("context")
            if in_graph_pass and (kind in ("update", "check") or item.get("sample") not in (None, 1)):
                in_graph_pass = False
            if kind == "check" and phase != "check":
                phase = "check"
                self.clear(keep=lambda key: self._is_kept_for_check(key))
                caption = "the check: a forward pass with the new parameters"
            elif context is not None and (context != phase or item.get("sample") not in (None, sample)):
                phase, sample = context, item.get("sample")
                self._start_sample(sample, item.get("at") or {})
                caption = self._dataset_caption(context, item.get("at") or {})
            elif phase is None:
                if context is None and self.dataset:
                    caption = "the starting point"
                elif kind == "update":
                    caption = "the update: new parameter values"
                else:
                    caption = ("the first forward and backward pass" if not self.dataset
                               else "sample 1 at the starting weights")
            self._apply(item, kind, node, in_graph_pass, stated)
            self.walk.steps.append({"set": [[k, v] for k, v in self.changes.items()], "caption": caption})
            self.changes = {}
        self.walk.start_caption = ("values and gradients appear as the steps reach them"
                                   if self.steps else self._static_caption())
        self.walk.static_caption = self._static_caption()
        return self.walk

    def _static_caption(self) -> str:
        if not self.dataset:
            return "values and gradients of the first forward and backward pass"
        at = ", ".join(f"{n} = {self._text_of(n)}" for n in self.graph.nodes
                       if self.graph.kind(n) == "parameter" and self._text_of(n))
        return "sample 1 at the starting weights" + (f" ({at})" if at else "")

    def _text_of(self, node: str) -> str:
        entry = self.graph.nodes[node]
        shown = display_value(entry["value_shown"] if entry.get("value_shown") is not None else entry.get("value"),
                              self.decimals)
        return shown[1] if shown and shown[0] == "text" else ""

    def _stated_in_graph_pass(self) -> set[str]:
        """Gradient and edge slots that a line of the graph's own pass states itself."""
        stated = set()
        for item in self.steps:
            if item.get("kind") in ("update", "check") or item.get("sample") not in (None, 1):
                break
            if item.get("kind") in ("chain", "gradient"):
                stated.add(slot_key("g", str(item["node"])))
            elif item.get("kind") == "local" and item.get("edge"):
                a, b = map(str, item["edge"])
                stated.add(slot_key("e", a, b))
                if self._feeds_only_the_loss(a, b):
                    stated.add(slot_key("g", a))
        return stated

    def _feeds_only_the_loss(self, a: str, b: str) -> bool:
        return b == self.graph.root and self.graph.consumers.get(a) == [b]

    def _is_kept_for_check(self, key: str) -> bool:
        kind, node = json.loads(key)[:2]
        return kind == "v" and self.graph.kind(node) in ("parameter", "input", "constant")

    def _start_sample(self, sample, at: dict) -> None:
        """A clean graph: the sample's inputs (where known) and the weights the lines are computed at."""
        self.clear()
        for name, shown in self.samples.get(sample, {}).items() if sample is not None else ():
            self.set(slot_key("v", name), Shown("value", *shown))
        for name, value in at.items():
            if name in self.graph.nodes:
                self.set(slot_key("v", name), Shown("value", *self._written(name, value)))

    def _written(self, name: str, value):
        """How the lines wrote a parameter's value: the text of the given or update line that produced it."""
        for written, text in reversed(self.written.get(name, [])):
            if _same(written, value):
                return "text", text
        shown = display_value(value, self.decimals + 1)
        return shown if shown is not None else ("text", "")

    def _dataset_caption(self, context: str, at: dict) -> str:
        weights = []
        for name, value in at.items():
            form, content = self._written(name, value)
            if form == "text":
                weights.append(f"{name} = {content}")
        return " · ".join([context] + ([", ".join(weights)] if weights else []))

    def _apply(self, item: dict, kind: str, node: str, in_graph_pass: bool, stated: set[str]) -> None:
        lhs = (item.get("lhs") or {}).get("text", "")
        if kind in ("given", "forward", "loss", "check"):
            self.set(slot_key("v", node), Shown("value", *item_display(item)))
            if kind == "given":
                self.written.setdefault(node, []).append((item.get("shown"), minus(str(item.get("shown_text")))))
        elif kind == "update":
            if lhs == f"{node}_new" or item.get("relation") == "←":
                self.set(slot_key("v", node), Shown("new value", *item_display(item), new=True))
                self.written.setdefault(node, []).append((item.get("shown"), minus(str(item.get("shown_text")))))
        elif kind in ("local", "chain", "gradient"):
            self._backward(item, kind, node, lhs, in_graph_pass, stated)

    def _backward(self, item, kind, node, lhs, in_graph_pass, stated) -> None:
        root = self.graph.root
        if root is not None:
            self.reveal_first(slot_key("g", root))  # ∂L/∂L = 1: known as soon as the backward pass starts
        if kind == "local":
            if not item.get("edge"):
                return
            a, b = map(str, item["edge"])
            key = slot_key("e", a, b)
            label = next((s.label for s in self.walk.variants.get(key, []) if s.form == "label"), "")
            written = str(item.get("shown_text", ""))
            if not (label and minus(label).endswith(minus(written))):  # another pass: the line's own numbers
                forms = item.get("forms") or []
                rule = str(forms[0].get("text", "")) if forms else ""
                label = f"{lhs} = {rule} = {written}" if rule and rule != written else f"{lhs} = {written}"
            self.set(key, Shown(label, "label", label))
            if self._feeds_only_the_loss(a, b):
                self.set(slot_key("g", a), Shown(self.graph.grad_name(a), *item_display(item)))
            return
        self.set(slot_key("g", node), Shown(lhs or self.graph.grad_name(node), *item_display(item)))
        if kind == "chain" and in_graph_pass:
            # The chain rule's factors: the local derivatives and upstream gradients on the paths to the loss.
            nodes, edges = self.graph.downstream(node, self.expanded)
            for other in nodes:
                if slot_key("g", other) not in stated:
                    self.reveal_first(slot_key("g", other))
            for a, b in edges:
                if slot_key("e", a, b) not in stated:
                    self.reveal_first(slot_key("e", a, b))


def walk_graph(data: dict) -> Walk:
    """The graph's slots and, for every step of the page, what changes in them (see the module docstring)."""
    return _Walker(data).run()
