"""Build the seed's sequence of steps from a recorded graph.

For a graph of scalars: the given values, the forward pass, the loss, the
local derivatives, the chain rule for each parameter (a sum over paths where a
value is used more than once), the gradient-descent update and the check.

For tensors and layers the same sections work at the layer level: matrix
forms with shapes, gradients written with the rule table's VJP formulas
(∂L/∂W = (∂L/∂h)ᵀ·x), elements for small tensors and a summary for large ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ..autograd import no_grad, unbroadcast
from ..formula import FUNCTIONS, Bin, Call, Expr, Neg, Num, Var, fold, with_operands
from ..tensor import Tensor, _apply, _new
from .domains import check_forward, check_gradients
from .graph import Graph, Node
from .model import Equation, Form, Note, Section, format_value
from .numbers import NumberModel, Written, half_unit, shortest, typographic_minus
from .updates import UpdateRule

__all__ = ["Derivation", "derive", "replay", "rebuild", "partial", "MAX_PATHS"]

#: Beyond this many paths from the loss to a parameter, or paths longer than
#: MAX_PATH_LENGTH nodes, the chain rule is shown as backpropagation's running
#: sums (∂L/∂v for each node) instead of every path.
MAX_PATHS = 4
MAX_PATH_LENGTH = 12
#: Tensors with at most this many elements are shown element by element.
MAX_ELEMENTS = 16


def partial(top: str, bottom: str) -> Expr:
    """The expression ∂top/∂bottom."""
    return Call("d", (Var(top), Var(bottom)))


def _product(factors: list[Expr]) -> Expr:
    result = factors[0]
    for factor in factors[1:]:
        result = Bin("*", result, factor)
    return result


def _sum(terms: list[Expr]) -> Expr:
    result = terms[0]
    for term in terms[1:]:
        result = Bin("+", result, term)
    return result


def replay(graph: Graph, values: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Recompute every node with some leaves replaced (``values`` keyed by node index)."""
    computed: dict[int, np.ndarray] = {}
    with no_grad():
        for node in graph.nodes:
            if node.rule is None:
                computed[node.index] = values.get(node.index, node.tensor.data)
            else:
                arrays = [computed[parent.index] for parent in node.inputs]
                computed[node.index] = node.rule.forward(*arrays, **node.attrs)
    return computed


def rebuild(graph: Graph, leaves: dict[int, Tensor]) -> tuple[Tensor, dict[int, Tensor]]:
    """Record the same computation again, with ``leaves`` (by node index) in place of some leaves.

    The given tensors are used as they are, so an optimizer holding them can
    keep training; other leaves are copied from the recorded graph.
    """
    tensors: dict[int, Tensor] = dict(leaves)
    for node in graph.nodes:
        if node.index in tensors:
            continue
        if node.rule is None:
            data = node.tensor.data
            tensor = _new(np.array(data, copy=True)[()] if np.ndim(data) == 0 else np.array(data, copy=True),
                          requires_grad=node.tensor.requires_grad)
            tensor.name = node.tensor.name
            tensors[node.index] = tensor
        else:
            tensors[node.index] = _apply(node.rule, tuple(tensors[p.index] for p in node.inputs), node.attrs)
    return tensors[graph.root.index], tensors


@dataclass
class Derivation:
    """The sections of one explained step, plus the numbers a caller may want."""

    sections: list[Section]
    gradients: dict[str, np.ndarray]  # exact ∂L/∂(visible node), by name
    shown_gradients: dict[str, object]  # the hand-rounded ∂L/∂(node) the text wrote, where it wrote one
    loss: float
    new_loss: float | None
    new_parameters: dict[str, np.ndarray]
    shown_values: dict[str, object] = None  # each visible value as the text wrote it (the picture shows these)


def derive(graph: Graph, *, lr: float | None, precision: int = 3, gradients: dict[int, np.ndarray],
           update: UpdateRule | None = None, exact: bool = False) -> Derivation:
    """Explain one forward pass, backward pass and (with ``lr``) one update and its check.

    ``gradients`` holds the exact ∂L/∂node for every node, keyed by ``id`` of
    the tensor, as ``backward(keep=…)`` collects them; ``update`` names the
    optimizer (plain gradient descent by default). With ``exact``, numbers are
    not rounded and carried by hand, only printed rounded.
    """
    check_forward(graph)
    check_gradients(graph, gradients)
    builder = _ScalarDerivation if graph.is_scalar else _TensorDerivation
    with np.errstate(all="ignore"):  # a warning never reaches the learner's terminal; domains are checked above
        return builder(graph, lr, NumberModel(precision, carry=not exact), gradients, update or UpdateRule()).build()


class _Common:
    def __init__(self, graph: Graph, lr, rounding: NumberModel, gradients: dict[int, np.ndarray],
                 update: UpdateRule):
        self.graph = graph
        self.update = update
        self.lr = lr
        self.rounding = rounding  # the number model: how each value is written down
        # What is differentiated: the loss L, a function f (no target), or whatever the user named it (E).
        self.top = graph.root.name
        self.more: dict[str, int] = {}  # extra digits for values whose rounding would mislead a later line
        self.call_keys: dict[str, list[str]] = {}  # a local derivative's written calls (σ(z)), by line
        self.exact_keys: set[str] = set()  # lines whose hand value cancels beyond any carried digits
        self._computed: set[str] | None = None  # names of the computed (not given) values
        self.exact_grads = gradients
        self.shown: dict[str, object] = {}  # hand values, by name

    def write(self, key: str, value):
        """Write a computed value down, with the extra digits refinement gave it (see ``build``); a value
        that no number of decimals can carry (``exact_keys``) is written with all its digits."""
        if key in self.exact_keys and np.ndim(value) == 0:  # the hand value with all its digits
            number = float(value)
            return Written(shortest(number)) if np.isfinite(number) else number
        return self.rounding.computed(value, more=self.more.get(key, 0))

    def _hand_forward(self, written: dict) -> dict:
        """Every visible step's value, computed from the written numbers (``written``, by name) and written down.

        The line shows every call (σ(0.5)), so its value follows from the written numbers alone; it is
        computed by the engine's own rules (stable where a formula is not, such as ln(1 − σ(34))).
        """
        values: dict[int, object] = {}
        found: dict[str, object] = {}
        for node in self.graph.nodes:
            if node.rule is None:
                values[node.index] = written.get(node.name, node.value) if node.visible else node.value
                continue
            # A scalar given is written as a plain number; the engine's rule wants the node's own shape.
            arguments = [np.reshape(np.asarray(values[p.index], dtype=float), p.shape) for p in node.inputs]
            raw = node.rule.forward(*arguments, **node.attrs)
            if node.rule.name in ("add", "sub"):
                # 0.5 − 0.6 + 0.1 is 0 by hand; in binary floating point it is 2.8e-17. Noise that far
                # below the numbers that made it is written as the 0 it is.
                scale = sum(np.abs(a) for a in arguments)
                raw = np.where(np.abs(raw) <= 1e-12 * scale, 0.0, raw)
            if node.visible:
                raw = self.write(node.name, float(np.asarray(raw).reshape(())) if np.ndim(raw) == 0 else raw)
                found[node.name] = raw
            values[node.index] = raw
        self.hand_values = values
        return found

    def _hand_gradients(self) -> dict[str, np.ndarray]:
        """Backpropagation by hand: each visible node's gradient written down, from the written gradients
        of its consumers and the written values of the forward pass (``_hand_forward`` first)."""
        graph, values = self.graph, self.hand_values
        root = graph.root
        grads = {root.index: np.ones_like(np.asarray(values[root.index], dtype=float))}
        written = {}
        for node in reversed(graph.nodes):
            g = grads.pop(node.index, None)
            if g is None:
                continue
            if node.visible and node is not root and node.tensor.requires_grad:
                g = self.write(f"∂L/∂{node.name}", g)
                written[node.name] = g
            if node.rule is None:
                continue
            attrs = dict(node.attrs)
            if node.rule.selective:
                attrs["needs"] = tuple(p.tensor.requires_grad for p in node.inputs)
            inputs = [np.reshape(np.asarray(values[p.index], dtype=float), p.shape) for p in node.inputs]
            out = np.reshape(np.asarray(values[node.index], dtype=float), node.shape)
            passed = node.rule.vjp(np.reshape(np.asarray(g, dtype=float), node.shape), out, *inputs, **attrs)
            for parent, parent_grad in zip(node.inputs, passed):
                if parent_grad is None or not parent.tensor.requires_grad:
                    continue
                parent_grad = unbroadcast(np.asarray(parent_grad, dtype=float), parent.shape)
                grads[parent.index] = grads[parent.index] + parent_grad if parent.index in grads else parent_grad
        return written

    def _written_calls(self, formula: Expr, env: dict, key: str) -> tuple[Expr, dict]:
        """σ(z)(1 − σ(z)) with each call written down as a number first (0.622 × (1 − 0.622)),
        as a person computes it; the calls' numbers count as inputs of the line ``key``."""
        env = dict(env)
        written: dict[Expr, Var] = {}

        def freeze(expr: Expr) -> Expr | None:
            """A call's written number (met outermost first, left to right), or None to look inside."""
            function = FUNCTIONS.get(expr.fn) if isinstance(expr, Call) else None
            if function is None or not function.collapse or function.compute is None:
                return None
            if expr not in written:
                try:
                    value = expr.evaluate(self.shown)
                except KeyError:
                    return None
                written[expr] = Var(f"#call{len(written)}")
                env[written[expr].name] = self.write(f"{key} {expr.to_text()}", value)
            return written[expr]

        numeric = fold(formula, with_operands, freeze)  # no recursion: a formula may be hundreds of levels deep
        self.call_keys[key] = [f"{key} {call.to_text()}" for call in written]
        return numeric, env

    def _computed_names(self, expression: Expr) -> tuple[str, ...]:
        """The names in ``expression`` whose numbers were computed (givens are exact as written)."""
        if self._computed is None:
            self._computed = {n.name for n in self.graph.visible_ops}
        return tuple(sorted(name for name in expression.names() if name in self._computed))

    def grad_of(self, node: Node) -> np.ndarray:
        grad = self.exact_grads.get(id(node.tensor))
        return np.zeros(node.shape) if grad is None else np.asarray(grad, dtype=float)

    def _shown_gradients(self) -> dict[str, object]:
        """∂L/∂v as the text wrote it, for every node that needs one (the picture shows these).

        Lines of the chain rule give their own numbers; any other node gets the
        same hand arithmetic: the sum over its consumers of ∂L/∂c · ∂c/∂v, rounded.
        """
        found = {key[len("∂L/∂"):]: value for key, value in self.shown.items() if key.startswith("∂L/∂")}
        local_values = getattr(self, "local_values", None)
        if local_values is None:  # tensors: the exact gradients are what the text shows
            return found
        root = self.graph.root
        found[root.name] = 1.0
        for node in reversed(self.graph.visible):
            if node.name in found or not node.tensor.requires_grad:
                continue
            total = 0.0
            for consumer in self.graph.visible_consumers(node):
                total += float(found.get(consumer.name, 0.0)) * float(local_values.get((consumer.name, node.name), 0.0))
            found[node.name] = self.rounding(total)
        return found

    def _shown_values(self) -> dict[str, object]:
        return {n.name: self.shown[n.name] for n in self.graph.visible if n.name in self.shown}

    def given_section(self) -> Section:
        section = Section("Given values", "given")
        for node in self.graph.visible:
            if node.rule is not None:
                continue
            self.shown[node.name] = self.rounding.given(node.value.reshape(()) if node.is_scalar else node.value)
            section.items.append(self._given_equation(node))
        if self.lr is not None:
            lr = self.rounding.given(self.lr)
            section.items.append(Equation("given", Var("η"), [], self.lr, lr, self.rounding.decimals_of(lr),
                                          note="learning rate"))
        return section

    def _given_equation(self, node: Node) -> Equation:
        role = {"parameter": "parameter", "input": "input", "constant": "constant"}[node.kind]
        if node.kind == "input" and _is_target_name(node.name):
            role = "target"  # only what was called the target: y (y1, y_2…), t or target
        decimals = (self.rounding.decimals_of(self.shown[node.name]) if node.is_scalar
                    else max(self.rounding.decimals, _decimals_of(node.value)))
        return Equation("given", Var(node.name), [], node.value.copy(), self.shown[node.name], decimals,
                        node=node.name, shape=node.shape, note=role)

    def parameters_section_update(self) -> tuple[Section, dict[str, np.ndarray]]:
        """The optimizer's step for every parameter; its numbers come from ``chainrule.optim`` itself."""
        update = self.update
        section = Section(update.title, "update", intro=update.intro.replace("∂L/∂p", f"∂{self.top}/∂p"))
        parameters = [n for n in self.graph.parameters if n.visible]
        new_exact = update.first_step({n.name: n.value for n in parameters},
                                      {n.name: self.grad_of(n) for n in parameters}, self.lr)
        scalar = self.graph.is_scalar
        for node in parameters:
            env = None
            shown = new_exact[node.name]
            if scalar:
                env = {node.name: self.shown[node.name], "η": self.lr, "#g": self.shown[f"∂L/∂{node.name}"]}
                # SGD and momentum's first step are p − η·g: carried by hand from the rounded gradient.
                hand = env[node.name] - self.lr * env["#g"] if update.name != "adam" else \
                    update.first_step({"p": env[node.name]}, {"p": env["#g"]}, self.lr)["p"]
                shown = self.rounding.updated(env[node.name], hand)
                fine = self.rounding.update_decimals(env[node.name], hand)
            elif getattr(self, "by_hand", False) and update.name != "adam":
                # p − η·g element by element, from the written gradient, as for scalars.
                env = {node.name: self.shown[node.name], "η": self.lr, "#g": self.shown[f"∂L/∂{node.name}"]}
                hand = np.asarray(env[node.name], dtype=float) - self.lr * np.asarray(env["#g"], dtype=float)
                shown = self.rounding.updated(env[node.name], hand)
                fine = self.rounding.update_decimals_array(env[node.name], hand)
            else:
                shown = self.rounding.updated(node.value, new_exact[node.name])
                fine = self.rounding.update_decimals_array(node.value, new_exact[node.name])
            lines = update.lines(
                node.name, env, self.rounding.decimals, fine, self.lr, node.value,
                self.grad_of(node), new_exact[node.name], shown, node.shape, top=self.top,
                numbers=self.rounding if scalar else None,
            )
            section.items.extend(lines)
            self.shown[f"{node.name}_new"] = lines[-1].shown  # Adam's, from its written m̂ and v̂
        return section, new_exact

    def _loss_section(self, sections: list[Section], forward: Section) -> None:
        """The forward pass, then the loss in a section of its own; a function (f, no target) has no loss."""
        if self.top == "f":
            forward.items[-1].kind = "forward"
            sections.append(forward)
            return
        loss_equation = forward.items.pop()
        if forward.items:  # (w − y)² has no forward step before its loss
            sections.append(forward)
        sections.append(Section("Loss", "loss", items=[loss_equation]))

    def _step_size_note(self, new_exact: dict[str, np.ndarray]) -> Note | None:
        """A step far larger than the parameters themselves: the learning rate, not the model, is the story."""
        for node in self.graph.parameters:
            if node.name not in new_exact:
                continue
            step = float(np.max(np.abs(np.asarray(new_exact[node.name]) - node.value), initial=0.0))
            if step > 100 * max(1.0, float(np.max(np.abs(node.value), initial=0.0))):
                return Note(f"The learning rate η = {self.rounding.given(self.lr)} is enormous for this problem: "
                            f"the step moved {node.name} by {self.rounding.text(step)}, far beyond where the "
                            "gradient describes the loss. Try a much smaller learning rate.", "bad")
        return None

    def _loss_change_note(self, before: float, after: float, shown_after) -> Note:
        flat = all(not np.any(self.grad_of(n)) for n in self.graph.parameters)
        what = "function" if self.graph.root.name == "f" else "loss"
        return _describe_change(before, after, self.shown[self.graph.root.name], shown_after, self.rounding,
                                flat, what)

    def check_section(self, new_exact: dict[str, np.ndarray], loss_before: float) -> tuple[Section, float]:
        """A fresh forward pass with the updated parameters; did the loss go down?"""
        by_index = {n.index: new_exact[n.name] for n in self.graph.parameters if n.name in new_exact}
        exact_values = replay(self.graph, by_index)
        new_loss = float(np.asarray(exact_values[self.graph.root.index]).sum())
        section = Section("Check: forward pass with the new parameters", "check")
        if self.graph.is_scalar or getattr(self, "by_hand", False):
            env = dict(self.shown)
            for node in self.graph.parameters:
                if node.visible and f"{node.name}_new" in self.shown:
                    env[node.name] = self.shown[f"{node.name}_new"]
            hand = self._hand_forward(env)
            for node in self.graph.visible_ops:
                expression = self.graph.expression(node)
                shown = hand[node.name]
                numbers_env = {k: env[k] for k in expression.names() if k in env}
                section.items.append(Equation(
                    "check", Var(node.name), [Form(expression), Form(expression, numbers_env, collapse=False)],
                    exact_values[node.index], shown, self.rounding.decimals_of(shown), node=node.name,
                    inputs=self._computed_names(expression), shape=None if node.is_scalar else node.shape,
                ))
                env[node.name] = shown
            shown_loss = float(np.asarray(env[self.graph.root.name], dtype=float).sum())
        else:
            shown_loss = new_loss
            section.items.append(Equation("check", Var(self.graph.root.name), [], new_loss, new_loss,
                                          self.rounding.decimals, node=self.graph.root.name))
        warning = self._step_size_note(new_exact)
        if warning is not None:
            section.items.append(warning)
        section.items.append(self._loss_change_note(loss_before, new_loss, shown_loss))
        return section, new_loss


def _describe_change(before: float, after: float, shown_before, shown_after, rounding: NumberModel,
                     flat_gradient: bool, what: str = "loss") -> Note:
    """Did the loss go down? Told from the exact values; the written ones are used when they show it."""
    if after == before:
        reason = ("the gradient is zero here, so the step does nothing" if flat_gradient else
                  "the step moved the parameters across a flat stretch of the loss")
        return Note(f"The {what} did not change ({rounding.text(before)}): {reason}.", "bad")
    before_text, after_text = (format_value(v if isinstance(v, Written) else float(np.asarray(v).sum()),
                                            rounding.decimals) for v in (shown_before, shown_after))
    shown_before, shown_after = (float(np.asarray(v, dtype=float).sum()) for v in (shown_before, shown_after))
    hand_agrees = (shown_after < shown_before) == (after < before) and before_text != after_text
    if not hand_agrees:  # the written numbers cannot show the change: give the exact values, just apart
        before_text, after_text = rounding.distinguish(before, after)
        before_text, after_text = before_text + " (exact)", after_text + " (exact)"
    before_text, after_text = (typographic_minus(t) for t in (before_text, after_text))
    if after < before:
        tiny = (", only a little because the gradient is small" if abs(after - before) < 1e-3 * abs(before)
                else "")
        return Note(f"The {what} went down from {before_text} to {after_text}{tiny}: the update improved the "
                    "model.", "good")
    return Note(f"The {what} did not go down ({before_text} → {after_text}): the step overshot; "
                "try a smaller learning rate.", "bad")


def _single_call(formula: Expr) -> bool:
    function = FUNCTIONS.get(formula.fn) if isinstance(formula, Call) else None
    return function is not None and function.collapse and function.compute is not None


def _is_target_name(name: str | None) -> bool:
    return bool(name) and (name in ("t", "target") or re.fullmatch(r"y_?\d*", name) is not None)


def _decimals_of(value) -> int:
    """Decimals needed to write a given number exactly (0.1 → 1, 0.25 → 2), at most 6."""
    array = np.asarray(value, dtype=float).reshape(-1)
    needed = 1
    for number in array[:64]:
        for decimals in range(1, 7):
            if abs(round(float(number), decimals) - float(number)) < 1e-12:
                needed = max(needed, decimals)
                break
        else:
            needed = max(needed, 6)
    return needed


#: At most this many rounds of giving misleading inputs more digits.
MAX_REFINEMENTS = 12
#: Refinement re-derives the whole graph each round; beyond this many nodes, it is skipped.
REFINE_NODES = 400


def is_misleading(equation: Equation) -> bool:
    """Carried rounding has made this line's result lose its meaning: a nonzero value shows as 0,
    the sign flips, or it is off by more than 5 % (beyond its own rounding)."""
    exact, shown = float(np.asarray(equation.value, dtype=float).reshape(-1)[0]), float(equation.shown)
    # 2.8e-17 from 0.5 − 0.6 + 0.1 is floating-point noise, and 0 is its right hand value.
    if abs(exact) <= 1e-12 or not np.isfinite(exact):
        return False
    if shown == 0 or np.sign(shown) != np.sign(exact):
        return True
    # Off by more than 5 %, and by more than rounding the result itself explains.
    return abs(shown - exact) > max(0.05 * abs(exact), 3 * half_unit(equation.shown))


def _misleading_lines(derivation: Derivation) -> list[Equation]:
    return [eq for section in derivation.sections for eq in section.equations()
            if eq.kind != "update" and eq.inputs and is_misleading(eq)]


def _upstream(derivation: Derivation, line: Equation, depth: int) -> set[str]:
    """The keys of the numbers ``line`` was computed from, and (``depth`` > 1) the ones those came from."""
    inputs_of: dict[str, tuple[str, ...]] = {}
    for section in derivation.sections:
        for equation in section.equations():
            inputs_of.setdefault(_line_key(equation), equation.inputs)
    found, frontier = set(), set(line.inputs)
    for _ in range(depth):
        frontier -= found
        if not frontier:
            break
        found |= frontier
        frontier = {key for k in frontier for key in inputs_of.get(k, ())}
    return found


def _line_key(equation: Equation) -> str:
    """The key ``write`` knows a line's value by: its node's name, or its left side (∂ŷ/∂z, ∂L/∂w)."""
    return equation.node if equation.kind in ("forward", "loss", "check") else equation.lhs.to_text()


def hand_arithmetic(expr: Expr, values: dict) -> float:
    """Evaluate arithmetic on written numbers in decimal, as a person (or a calculator) does:
    1 − 0.999999999999 is 1e-12, where binary floating point gives 1.00009e-12."""
    def combine(node, parts):
        if any(p is None for p in parts):
            return None
        if isinstance(node, Num):
            return Decimal(repr(float(node.value)))
        if isinstance(node, Var):
            value = values.get(node.name)
            return None if value is None or np.ndim(value) else Decimal(repr(float(value)))
        if isinstance(node, Bin) and node.op in ("+", "-", "*", "/"):
            left, right = parts
            if node.op == "/" and right == 0:
                return None
            if node.op == "/":
                return left / right
            return left + right if node.op == "+" else left - right if node.op == "-" else left * right
        if isinstance(node, Bin) and node.op == "^" and parts[1] == parts[1].to_integral_value() and abs(parts[1]) < 8:
            return parts[0] ** int(parts[1]) if parts[0] or parts[1] > 0 else None
        if isinstance(node, Neg):
            return -parts[0]
        return None

    try:
        result = fold(expr, combine)
    except (ArithmeticError, ValueError):
        result = None
    return float(result) if result is not None and result.is_finite() else float(expr.evaluate(values))


def _saturation_note(node: Node, argument: Node, exact: float) -> str | None:
    if node.rule is None or node.rule.name not in ("sigmoid", "tanh") or abs(exact) >= 0.01:
        return None
    symbol = "σ" if node.rule.name == "sigmoid" else "tanh"
    return (f"{symbol} is saturated here: {argument.name} = {argument.value.reshape(()).item():.4g} is far from 0, "
            f"so its slope {symbol}′ ≈ {exact:.3g} is nearly 0 and almost no gradient flows back "
            "(a vanishing gradient).")


class _ScalarDerivation(_Common):
    def build(self) -> Derivation:
        """Derive with the seed's carrying; where carrying would mislead a line, its inputs get more digits."""
        derivation = self._build_once()
        if not self.rounding.carry or len(self.graph.nodes) > REFINE_NODES:
            return derivation
        attempts: dict[str, int] = {}
        for _ in range(MAX_REFINEMENTS):
            misleading = _misleading_lines(derivation)
            if not misleading:
                break
            # More digits for the numbers the line uses; if that was not enough, for theirs too.
            line = misleading[0]
            attempts[_line_key(line)] = depth = attempts.get(_line_key(line), 0) + 1
            for key in _upstream(derivation, line, depth):
                self.more[key] = self.more.get(key, 0) + 1
            self.shown = {}
            derivation = self._build_once()
        # Beyond the digits a hand can carry (σ(28.5) is 1 to twelve decimals): the numbers such a line
        # comes from are written with all their digits, and the line is worked from them.
        stuck = _misleading_lines(derivation)
        if stuck:
            for equation in stuck:
                keys = _upstream(derivation, equation, len(derivation.sections) * 1000)
                self.exact_keys |= keys.union(*(self.call_keys.get(k, ()) for k in keys))
            self.shown = {}
            derivation = self._build_once()
        for section in derivation.sections:
            for equation in section.equations():
                if _line_key(equation) in self.exact_keys and equation.kind != "update" \
                        and equation.shown_text() != format_value(self.rounding(equation.shown), 0):
                    note = ("Written with all its digits: rounded, it would make a later line lose its meaning "
                            "(the numbers cancel)")
                    equation.note = note if not equation.note else f"{equation.note.rstrip('.')}. {note}"
        return derivation

    def _build_once(self) -> Derivation:
        graph, rounding = self.graph, self.rounding
        sections = [self.given_section()]
        forward = Section("Forward pass", "forward")
        root = graph.root
        hand = self._hand_forward(self.shown)
        for node in graph.visible_ops:
            expression = graph.expression(node)
            env = {name: self.shown[name] for name in expression.names() if name in self.shown}
            shown = hand[node.name]
            self.shown[node.name] = shown
            equation = Equation("loss" if node is root else "forward", Var(node.name),
                                [Form(expression), Form(expression, env, collapse=False)],
                                float(node.value.reshape(())), shown,
                                rounding.decimals_of(shown), node=node.name,
                                inputs=self._computed_names(expression))
            forward.items.append(equation)
        self._loss_section(sections, forward)

        locals_section = Section(
            "Backpropagation: local derivatives", "local",
            intro="Each operation's derivative with respect to its own inputs, from the rule table.",
        )
        local_values: dict[tuple[str, str], object] = {}
        self.local_values = local_values
        for node in reversed(graph.visible_ops):
            for argument in graph.arguments(node):
                if not argument.tensor.requires_grad:
                    continue
                found = graph.local_derivative(node, argument)
                if found is None:
                    raise ValueError(f"explain: cannot write ∂{node.name}/∂{argument.name} as a scalar derivative")
                formula, exact = found
                env = {name: self.shown[name] for name in formula.names() if name in self.shown}
                key = f"∂{node.name}/∂{argument.name}"
                numeric = formula
                if isinstance(formula, Var) and formula.name in self.shown:
                    shown = self.shown[formula.name]  # ∂z/∂w = x: the number x was written as
                elif _single_call(formula):
                    # ∂ŷ/∂z = σ(z) = σ(1.0) = 0.731: the call is the line, with its argument substituted.
                    shown = self.write(key, formula.evaluate(self.shown))
                else:
                    numeric, env = self._written_calls(formula, env, key)
                    shown = self.write(key, hand_arithmetic(numeric, env))
                local_values[(node.name, argument.name)] = shown
                # A constant derivative (∂z/∂b = 1) needs no numbers substituted.
                forms = [] if isinstance(formula, Num) else \
                    [Form(formula), Form(numeric, env, collapse=not _single_call(formula))]
                locals_section.items.append(Equation(
                    "local", partial(node.name, argument.name), forms, exact, shown, rounding.decimals_of(shown),
                    node=node.name, edge=(argument.name, node.name),
                    inputs=self._computed_names(formula) + tuple(self.call_keys.get(key, ())),
                    note=_saturation_note(node, argument, exact),
                ))
        sections.append(locals_section)
        sections.append(self._chain_section(local_values))
        new_loss, new_parameters = None, {}
        if self.lr is not None:
            update, new_parameters = self.parameters_section_update()
            sections.append(update)
            check, new_loss = self.check_section(new_parameters, float(root.value.reshape(())))
            sections.append(check)
        gradients = {n.name: self.grad_of(n) for n in graph.visible if n.tensor.requires_grad}
        return Derivation(sections, gradients, self._shown_gradients(), float(root.value.reshape(())), new_loss,
                          new_parameters, self._shown_values())

    def _paths_up(self, node: Node, stops: set[int]) -> list[list[Node]]:
        """Visible paths from ``node`` up to the loss or to the first node in ``stops``: [top, …, node].

        Only called where the paths are few and short (see ``_path_counts``).
        """
        paths = []
        root = self.graph.root
        stack = [[consumer, node] for consumer in reversed(self.graph.visible_consumers(node))]
        while stack:
            path = stack.pop()
            top = path[0]
            if top is root or id(top) in stops:
                paths.append(path)
            else:
                stack.extend([consumer, *path] for consumer in reversed(self.graph.visible_consumers(top)))
        return paths

    def _path_counts(self) -> tuple[dict[int, int], dict[int, int]]:
        """For every visible node (by index): how many paths lead from it to the loss, and the longest one's nodes.

        Counted from the loss down, once per graph, so deciding how to write the
        chain rule costs no path enumeration.
        """
        counts, longest = {}, {}
        root = self.graph.root
        for node in reversed(self.graph.visible):
            if node is root:
                counts[node.index], longest[node.index] = 1, 1
                continue
            consumers = self.graph.visible_consumers(node)
            counts[node.index] = sum(counts[c.index] for c in consumers)
            longest[node.index] = 1 + max((longest[c.index] for c in consumers), default=0)
        return counts, longest

    def _chain_section(self, local_values) -> Section:
        graph, rounding = self.graph, self.rounding
        whom = "f" if self.top == "f" else "the loss"
        section = Section(
            "Backpropagation: the chain rule", "chain",
            intro=f"∂{self.top}/∂p is the product of the local derivatives along the path from {whom} to p; "
                  f"where a value reaches {whom} along several paths, the products are added. "
                  "A gradient needed by several parameters is computed once and reused.",
        )
        needs_grad = [n for n in graph.visible if n.tensor.requires_grad and n is not graph.root]
        parameters = [n for n in needs_grad if n.kind == "parameter"]
        # Where several gradients flow into one node (z = w1·x1 + w2·x2 + b), the
        # seed computes ∂L/∂z once and reuses it: such nodes get a line of their own.
        fan_in = {id(n) for n in needs_grad if n.rule is not None
                  and sum(a.tensor.requires_grad for a in graph.arguments(n)) >= 2}
        counts, longest = self._path_counts()

        def readable(node: Node) -> bool:
            return counts[node.index] <= MAX_PATHS and longest[node.index] <= MAX_PATH_LENGTH

        if not all(readable(p) for p in parameters):
            fan_in = {id(n) for n in needs_grad if n.rule is not None}  # plain backpropagation
        intermediate = [n for n in reversed(needs_grad) if id(n) in fan_in]
        for node in intermediate + parameters:
            segments = self._paths_up(node, fan_in)
            paths = counts[node.index]
            full = self._paths_up(node, set()) if readable(node) else None
            if paths == 1 and graph.root in graph.visible_consumers(node):
                # Straight from the loss: the local derivative above is already the gradient.
                self.shown[f"∂L/∂{node.name}"] = local_values[(graph.root.name, node.name)]
                continue
            env: dict[str, object] = {}
            inputs: list[str] = []
            number_terms, shown_total = [], 0.0
            for path in segments:
                factors, value = [], 1.0
                if path[0] is not graph.root:
                    key = f"#{len(env)}"
                    env[key] = self.shown[f"∂L/∂{path[0].name}"]
                    inputs.append(f"∂L/∂{path[0].name}")
                    factors.append(Var(key))
                    value *= env[key]
                for top, bottom in zip(path[:-1], path[1:]):
                    key = f"#{len(env)}"
                    env[key] = local_values[(top.name, bottom.name)]
                    inputs.append(f"∂{top.name}/∂{bottom.name}")
                    factors.append(Var(key))
                    value *= env[key]
                number_terms.append(_product(factors))
                shown_total += float(value)
            shown = self.write(f"∂L/∂{node.name}", shown_total)
            self.shown[f"∂L/∂{node.name}"] = shown
            forms = []
            if full is not None:
                forms.append(Form(_sum([self._chain(path) for path in full])))
            segment_form = _sum([self._chain(path) for path in segments])
            if not forms or segment_form.to_text() != forms[0].expr.to_text():
                forms.append(Form(segment_form))
            forms.append(Form(_sum(number_terms), env))
            note = None
            if paths > 1:
                note = f"{node.name} reaches the loss along {paths} paths, so their products are added."
            section.items.append(Equation("chain" if node.kind == "parameter" else "gradient",
                                          partial(self.top, node.name), forms, float(self.grad_of(node).reshape(())),
                                          shown, rounding.decimals_of(shown), node=node.name, note=note,
                                          inputs=tuple(inputs)))
        if not section.items:
            what = "the function" if self.top == "f" else "the loss"
            section.items.append(Note(f"Every parameter feeds {what} directly, so its gradient is the local "
                                      "derivative above."))
        return section

    def _chain(self, path: list[Node]) -> Expr:
        """∂L/∂top · ∂top/∂… · ∂…/∂node for one path (the first factor only when top is not the loss)."""
        factors = []
        if path[0] is not self.graph.root:
            factors.append(partial(self.top, path[0].name))
        factors += [partial(top.name, bottom.name) for top, bottom in zip(path[:-1], path[1:])]
        return _product(factors)


class _TensorDerivation(_Common):
    """Layer-level explanation: shapes, matrix forms, gradients from the VJP formulas."""

    def build(self) -> Derivation:
        graph = self.graph
        sections = [self.given_section()]
        # Small tensors are worked by hand like scalars: numbers substituted, written down, carried.
        # Large ones are summarised (shape, mean, min, max) and computed exactly.
        self.by_hand = self.rounding.carry and all(n.value.size <= MAX_ELEMENTS for n in graph.visible)
        hand = self._hand_forward(self.shown) if self.by_hand else {}
        forward = Section("Forward pass", "forward",
                          intro="Each line is one layer-level operation; shapes in brackets.")
        for node in graph.visible_ops:
            expression = graph.expression(node)
            shown = hand.get(node.name, node.value.copy())
            forms = [Form(expression)]
            if self.by_hand:
                env = {name: self.shown[name] for name in expression.names() if name in self.shown}
                forms.append(Form(expression, env, collapse=False))
            forward.items.append(Equation("loss" if node is graph.root else "forward", Var(node.name),
                                          forms, node.value.copy(), shown,
                                          self.rounding.decimals, node=node.name, shape=node.shape))
            self.shown[node.name] = shown
        self._loss_section(sections, forward)

        backward = Section(
            "Backpropagation, layer by layer", "gradient",
            intro="∂L/∂v for each value, from the loss back: each consumer c of v passes back its "
                  "vector-Jacobian product (for elementwise operations, ∂L/∂c ⊙ ∂c/∂v).",
        )
        hand_grads = self._hand_gradients() if self.by_hand else {}
        for node in reversed(graph.visible):
            if node is graph.root or not node.tensor.requires_grad:
                continue
            consumers = graph.visible_consumers(node)
            terms = [t for t in (self._term(consumer, node) for consumer in consumers) if t is not None]
            grad = self.grad_of(node)
            shown = hand_grads.get(node.name, grad)
            forms = [Form(_sum(terms))] if terms else []
            if self.by_hand and terms and len(terms) == len(consumers):
                env = {name: self.shown[name] for name in self.shown if not name.startswith("∂")}
                numeric = []
                for consumer in consumers:
                    placeholder = f"#g{consumer.name}"
                    env[placeholder] = 1.0 if consumer is graph.root else self.shown[f"∂L/∂{consumer.name}"]
                    numeric.append(self._term(consumer, node, Var(placeholder)))
                forms.append(Form(_sum(numeric), env))
            self.shown[f"∂L/∂{node.name}"] = shown
            backward.items.append(Equation("gradient", partial(self.top, node.name), forms, grad, shown,
                                           self.rounding.decimals, node=node.name, shape=node.shape))
        sections.append(backward)
        new_loss, new_parameters = None, {}
        loss = float(np.asarray(graph.root.value).sum())
        if self.lr is not None:
            update, new_parameters = self.parameters_section_update()
            sections.append(update)
            check, new_loss = self.check_section(new_parameters, loss)
            sections.append(check)
        gradients = {n.name: self.grad_of(n) for n in graph.visible if n.tensor.requires_grad}
        return Derivation(sections, gradients, self._shown_gradients(), loss, new_loss, new_parameters,
                          self._shown_values())

    def _term(self, consumer: Node, node: Node, upstream: Expr | None = None) -> Expr | None:
        """What ``consumer`` contributes to ∂L/∂node, written with the rule table's formulas
        (``upstream`` stands for ∂L/∂consumer: a placeholder when numbers are substituted)."""
        upstream = partial(self.top, consumer.name) if upstream is None else upstream
        if consumer.rule.elementwise:
            found = self.graph.local_derivative(consumer, node)
            if found is not None:
                local = found[0]
                if isinstance(local, Num) and local.value == 1.0:
                    return upstream
                return Bin("⊙", upstream, local)
        # Non-elementwise: the rule's VJP formula with g = ∂L/∂consumer, over direct inputs.
        for position, parent in enumerate(consumer.inputs):
            if parent is node:
                formula = consumer.rule.formula(position)
                if formula is None:
                    return None
                instantiated = self.graph._instantiate(consumer, formula)
                # ∂L/∂L = 1: the loss passes back a plain 1.
                incoming = Num(1.0) if consumer is self.graph.root else upstream
                return instantiated.substitute({"g": incoming}).simplify()
        return None
