"""Reading a recorded graph the way a person writes a derivation.

The engine records every primitive: ``w1·x1 + w2·x2 + b`` is four nodes. A
person writes it as one line, ``z = w1·x1 + w2·x2 + b``. So the explainer
shows only *visible* nodes — the loss, parameters, inputs, named tensors,
values used twice, and the results of non-arithmetic operations (σ, tanh,
matmul…) and their arguments — and folds the arithmetic in between into the
visible node's expression.

A local derivative between two visible nodes is then the sum, over the folded
paths between them, of the product of the rule table's formulas along the
path, simplified: ∂z/∂w1 = 1 · 1 · x1 = x1. Its number comes from the same
rules' VJPs, so what is shown is what the engine computed.

Every query is answered from tables built once per graph (arguments,
consumers, expressions, local derivatives), and no walk recurses, so a graph
of thousands of nodes is read in time proportional to its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formula import Call, Expr, Num, Var, simplified_product, simplified_sum
from ..rules import Rule
from ..tensor import Tensor
from .limits import check_nodes

__all__ = ["Node", "Graph", "trace"]

#: Rules folded into the expression of the node that uses them.
ARITHMETIC = frozenset({"add", "sub", "mul", "div", "neg", "pow_scalar"})
#: Rules whose output is naturally called ŷ when they feed the loss.
ACTIVATIONS = frozenset({"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "log_softmax", "exp"})
#: Per-sample losses: a mean or sum of one of them is a batch loss, and its argument is ŷ.
PER_SAMPLE_LOSSES = frozenset({"squared_error", "bce_with_logits", "binary_cross_entropy", "cross_entropy",
                               "abs", "relu", "pow_scalar"})
REDUCTIONS = frozenset({"mean", "sum"})


@dataclass(eq=False)
class Node:
    """One tensor of the graph, as the explainer sees it."""

    tensor: Tensor
    index: int  # position in forward (topological) order
    rule: Rule | None
    attrs: dict
    inputs: list[Node] = field(default_factory=list)
    consumers: list[Node] = field(default_factory=list)
    name: str | None = None
    visible: bool = False
    kind: str = "op"  # "parameter", "input", "constant" or "op"

    @property
    def value(self) -> np.ndarray:
        return np.asarray(self.tensor.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def is_scalar(self) -> bool:
        return self.value.size == 1

    def __repr__(self) -> str:
        return f"Node({self.name or '?'}, {self.rule.name if self.rule else self.kind})"


class Graph:
    """The visible structure of a recorded computation ending in ``root``."""

    def __init__(self, root: Tensor, names: dict[int, str] | None = None):
        self.root_tensor = root
        self.nodes: list[Node] = []
        self._by_id: dict[int, Node] = {}
        self._collect(root)
        self._assign_kinds_and_visibility()
        # Visibility is settled: the lists every section walks are made once, not on every question.
        self._visible = [n for n in self.nodes if n.visible]
        self._visible_ops = [n for n in self._visible if n.rule is not None]
        self._parameters = [n for n in self.nodes if n.kind == "parameter"]
        self._arguments: dict[int, list[Node]] = {n.index: self._visible_arguments(n) for n in self.nodes if n.visible}
        self._consumers: dict[int, list[Node]] = {n.index: [] for n in self.nodes}
        for node in self.visible_ops:
            for argument in self._arguments[node.index]:
                self._consumers[argument.index].append(node)
        self._assign_names(names or {})
        self._build_expressions()
        self.expressions: dict[int, Expr] = {id(n): self._op_expressions[n.index] for n in self.visible_ops}
        self._locals: dict[int, dict[int, tuple[Expr, float] | None]] = {}

    # -- construction ---------------------------------------------------------
    def _collect(self, root: Tensor) -> None:
        """All tensors reachable from the root, inputs before their consumers."""
        order, seen, stack = [], set(), [(root, False)]
        while stack:
            tensor, done = stack.pop()
            if done:
                order.append(tensor)
                continue
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            stack.append((tensor, True))
            if tensor._ctx is not None:
                for parent in reversed(tensor._ctx[1]):
                    if id(parent) not in seen:
                        stack.append((parent, False))
        check_nodes(len(order))
        for index, tensor in enumerate(order):
            ctx = tensor._ctx
            node = Node(tensor, index, ctx[0] if ctx else None, dict(ctx[2]) if ctx else {})
            self.nodes.append(node)
            self._by_id[id(tensor)] = node
        for node in self.nodes:
            if node.tensor._ctx is not None:
                node.inputs = [self._by_id[id(t)] for t in node.tensor._ctx[1]]
                for parent in {id(p): p for p in node.inputs}.values():  # w·w consumes w once
                    parent.consumers.append(node)

    def _assign_kinds_and_visibility(self) -> None:
        for node in self.nodes:
            if node.rule is None:
                if node.tensor.requires_grad:
                    node.kind = "parameter"
                elif node.tensor.name or node.value.size > 1:
                    node.kind = "input"
                else:
                    node.kind = "constant"
        root = self.node(self.root_tensor)
        for node in self.nodes:
            if node.rule is None:
                node.visible = node.kind != "constant"
                continue
            folded = (
                node is not root
                and node.tensor.name is None
                and node.rule.name in ARITHMETIC
                and len(node.consumers) == 1
                and node.consumers[0].rule is not None
                and node.consumers[0].rule.name in ARITHMETIC
            )
            node.visible = not folded

    def _assign_names(self, names: dict[int, str]) -> None:
        taken = {n.tensor.name for n in self.nodes if n.tensor.name}
        taken |= set(names.values())

        def give(node: Node, name: str) -> None:
            if node.name is None and name not in taken:
                node.name = name
                taken.add(name)

        for node in self.nodes:
            node.name = names.get(id(node.tensor)) or node.tensor.name
        root = self.node(self.root_tensor)
        give(root, "L")
        loss = root
        if root.rule is not None and root.rule.name in REDUCTIONS:
            per_sample = self._visible_arguments(root)
            if len(per_sample) == 1 and per_sample[0].rule is not None \
                    and per_sample[0].rule.name in PER_SAMPLE_LOSSES:
                loss = per_sample[0]
                give(loss, "ℓ")  # the per-sample losses, averaged (or summed) into L
        # A function f (no target) has no prediction to call ŷ.
        prediction = self._prediction(loss) if root.name != "f" else None
        if prediction is not None:
            # A logit loss takes the pre-activation: it is z, and ŷ = σ(z) is never computed.
            logit = loss.rule is not None and loss.rule.name in ("bce_with_logits", "cross_entropy")
            give(prediction, "z" if logit else "ŷ")
        # The argument of an activation is its pre-activation: h1 = tanh(z1), ŷ = σ(z).
        for node in self.nodes:
            if node.visible and node.rule is not None and node.rule.name in ACTIVATIONS and node.name:
                argument = node.inputs[0]
                suffix = node.name[1:] if node.name[:1] == "h" and node.name[1:].isdigit() else ""
                if argument.rule is not None and argument.visible and (node.name == "ŷ" or suffix):
                    give(argument, f"z{suffix}")
        counters = {"parameter": 0, "input": 0, "op": 0}
        prefixes = {"parameter": "w", "input": "x", "op": "v"}
        for node in self.nodes:
            if node.visible and node.name is None:
                counters[node.kind] += 1
                candidate = f"{prefixes[node.kind]}{counters[node.kind]}"
                while candidate in taken:
                    counters[node.kind] += 1
                    candidate = f"{prefixes[node.kind]}{counters[node.kind]}"
                give(node, candidate)
        # A lone parameter or input reads better as plain "w" or "x".
        for kind, prefix in prefixes.items():
            group = [n for n in self.nodes if n.visible and n.kind == kind and n.name == f"{prefix}1"]
            if len(group) == 1 and counters[kind] == 1 and prefix not in taken and kind != "op":
                taken.discard(group[0].name)
                group[0].name = prefix
                taken.add(prefix)

    def _prediction(self, root: Node) -> Node | None:
        """The value the loss compares with a target: the root's one visible op-node argument."""
        if root.rule is None:
            return None
        arguments = [n for n in self._visible_arguments(root) if n.rule is not None and n.tensor.requires_grad]
        return arguments[0] if len(arguments) == 1 else None

    def _visible_arguments(self, node: Node) -> list[Node]:
        """The visible nodes under ``node``, looking through folded arithmetic, first use first."""
        found: dict[int, Node] = {}
        stack = list(reversed(node.inputs))
        while stack:
            parent = stack.pop()
            if parent.visible:
                found.setdefault(parent.index, parent)
            else:
                stack.extend(reversed(parent.inputs))
        return list(found.values())

    # -- queries ----------------------------------------------------------------
    def node(self, tensor: Tensor) -> Node:
        return self._by_id[id(tensor)]

    @property
    def root(self) -> Node:
        return self.node(self.root_tensor)

    @property
    def visible(self) -> list[Node]:
        return self._visible

    @property
    def visible_ops(self) -> list[Node]:
        return self._visible_ops

    @property
    def parameters(self) -> list[Node]:
        return self._parameters

    @property
    def is_scalar(self) -> bool:
        """One number per node and only elementwise rules: the seed's scalar derivation applies.

        A mean over one element or a 1×1 matmul is still written at the layer level.
        """
        return all(n.is_scalar and (n.rule is None or n.rule.elementwise)
                   for n in self.nodes if n.visible or n.rule is not None)

    def arguments(self, node: Node) -> list[Node]:
        """The visible nodes this visible node's expression is written over."""
        return self._arguments[node.index]

    def visible_consumers(self, node: Node) -> list[Node]:
        """Visible nodes whose expression uses ``node``."""
        return self._consumers[node.index]

    # -- expressions -------------------------------------------------------------
    def _build_expressions(self) -> None:
        """Every operation's expression over visible names, inputs before consumers, each built once."""
        self._op_expressions: dict[int, Expr] = {}
        self._simplified: dict[int, Expr] = {}  # id(expression) → simplified, so no subtree is simplified twice
        for node in self.nodes:
            if node.rule is None:
                continue
            expression = self._expression(node)
            self._op_expressions[node.index] = expression
            self._simplified[id(expression)] = self.simplify(expression)

    def simplify(self, expr: Expr) -> Expr:
        """``expr.simplify()``, reusing what is known of the operations' expressions inside it."""
        return expr.simplify(self._simplified)

    def leaf_expr(self, node: Node) -> Expr:
        if node.visible:
            return Var(node.name)
        if node.rule is None:
            return Num(float(node.value.reshape(())))
        return self._op_expressions[node.index]

    def _expression(self, node: Node) -> Expr:
        """The node's operation written over visible names, arithmetic folded in (its inputs' are built)."""
        rule = node.rule
        arguments = [self.leaf_expr(parent) for parent in node.inputs]
        if rule.notation is None or rule.variadic:
            return Call(rule.name, tuple(arguments))
        mapping: dict[str, Expr] = {name: arguments[i] for i, name in enumerate(rule.inputs) if i < len(arguments)}
        mapping.update(self._constants(node))
        return rule.notation.substitute(mapping)

    @staticmethod
    def _constants(node: Node) -> dict[str, Expr]:
        """Numeric attributes (an exponent, a slope) and a mean's count, as numbers in formulas."""
        constants: dict[str, Expr] = {}
        for key, value in node.attrs.items():
            if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
                constants[key] = Num(float(value))
        if node.rule.name == "mean":
            constants["n"] = Num(float(node.inputs[0].value.size // max(node.value.size, 1)))
        return constants

    def expression(self, node: Node) -> Expr:
        return self.expressions[id(node)]

    # -- local derivatives ----------------------------------------------------------
    def local_derivative(self, node: Node, argument: Node) -> tuple[Expr, float] | None:
        """∂node/∂argument for scalar elementwise chains: (simplified formula, value).

        The formula is the sum over folded paths of the product of the rules'
        formulas; the value is the same sum of products of the rules' VJPs at
        an upstream gradient of one. None when a rule on the way is not
        elementwise (the tensor-level view handles those).
        """
        if node.index not in self._locals:
            self._locals[node.index] = self._local_derivatives(node)
        return self._locals[node.index].get(argument.index)

    def _local_derivatives(self, node: Node) -> dict[int, tuple[Expr, float] | None]:
        """∂node/∂a for every argument a at once: one walk down the folded arithmetic under ``node``.

        Folded nodes have one consumer each, so the walk is a tree; a path's
        product is the product down to its consumer times that consumer's
        factor, and an argument's derivative is the sum of the products of the
        paths that end at it (w·x + w·y reaches w twice), in the order the
        paths are met.
        """
        totals: dict[int, tuple[Expr, float] | None] = {}
        # Edges still to follow: (node below, product of the factors down to it or None where a rule on the
        # way has no scalar formula, their value). Depth first, inputs in order: the order paths are written.
        stack: list[tuple[Node, Expr | None, float]] = self._edges_below(node, Num(1.0), 1.0)
        while stack:
            below, product, value = stack.pop()
            if below.visible:
                self._add_path(totals, below.index, product, value)
            else:
                stack.extend(self._edges_below(below, product, value))
        return totals

    def _edges_below(self, consumer: Node, above: Expr | None, value_above: float) -> list:
        """The edges from ``consumer`` to its inputs, last input first (for a stack), products extended."""
        factors = self._factors(consumer) if above is not None else None
        edges = []
        for position, parent in enumerate(consumer.inputs):
            if not parent.visible and parent.rule is None:
                continue  # a folded constant: no path ends there
            if factors is None or factors[position] is None:
                edges.append((parent, None, 0.0))
            else:
                formula, factor = factors[position]
                edges.append((parent, simplified_product(above, formula), value_above * factor))
        edges.reverse()
        return edges

    @staticmethod
    def _add_path(totals: dict, key: int, product: Expr | None, value: float) -> None:
        if key in totals and totals[key] is None:
            return
        if product is None:
            totals[key] = None
        elif key in totals:
            formula, total = totals[key]
            totals[key] = (simplified_sum(formula, product), total + value)
        else:
            totals[key] = (product, 0.0 + value)  # as a sum that starts at 0 (−0.0 is 0.0)

    def _factors(self, consumer: Node) -> list[tuple[Expr, float] | None] | None:
        """Each input's local factor of an elementwise node: (simplified formula, VJP at a gradient of one)."""
        rule = consumer.rule
        if not rule.elementwise:
            return None
        ones = np.ones_like(consumer.value)
        grads = rule.vjp(ones, consumer.value, *[np.asarray(p.value) for p in consumer.inputs], **consumer.attrs)
        factors = []
        for position in range(len(consumer.inputs)):
            local = rule.formula(position)
            if local is None:
                factors.append(None)
            else:
                factors.append((self.simplify(self._instantiate(consumer, local)),
                                float(np.asarray(grads[position]).sum())))
        return factors

    def _instantiate(self, node: Node, formula: Expr) -> Expr:
        """A rule's formula with its input names replaced by this node's argument expressions."""
        mapping: dict[str, Expr] = {}
        for i, parent in enumerate(node.inputs):
            mapping[node.rule.input_name(i) if node.rule.variadic else node.rule.inputs[i]] = self.leaf_expr(parent)
        mapping.update(self._constants(node))
        mapping["out"] = Var(node.name) if node.visible else self._expression(node)
        return formula.substitute(mapping)


def trace(root: Tensor, names: dict[int, str] | None = None) -> Graph:
    """Read the graph that produced ``root`` (which must have been recorded, i.e. require grad)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(root).__name__}")
    if root._ctx is None:
        raise ValueError(
            "explain: this tensor has no recorded graph; compute it from tensors with requires_grad=True "
            "(and outside no_grad())"
        )
    return Graph(root, names)
