"""Classification: softmax + cross-entropy with a class index, and sigmoid + binary cross-entropy.

The loss of a softmax classifier is recorded as p = softmax(z) and L = −ln p[y]
(the mean over samples of a batch), so the derivation walks through p and the
softmax's Jacobian like any other step. After that chain, ``insert_identities``
writes the simplification every textbook names: ∂L/∂z = p − onehot(y) (and
ŷ − y for a sigmoid under binary cross-entropy), worked from the written p, so
that the learner sees the long chain and the short identity give one number.
"""

from __future__ import annotations

import numpy as np

from ..formula import Bin, Call, Expr, Num, Var, parse
from ..rules import Rule
from ..tensor import Tensor, _apply
from .derivation import partial
from .graph import Graph, Node
from .model import Equation, Form, Note, Section
from .numbers import NumberModel, Written

__all__ = ["class_nll", "softmax_loss", "NLL", "insert_identities"]


def _pick(p, y):
    """p[i, y_i] for each row i (one row for a 1-D p)."""
    rows = np.atleast_2d(p)
    labels = np.broadcast_to(np.asarray(y).reshape(-1), (rows.shape[0],)).astype(np.intp)
    return rows[np.arange(rows.shape[0]), labels]


def _nll_forward(p, y, n=1.0):
    return -np.sum(np.log(_pick(p, y))) / n


def _onehot(y, shape):
    rows = np.zeros((int(np.prod(shape[:-1], dtype=int)) or 1, shape[-1]))
    labels = np.broadcast_to(np.asarray(y).reshape(-1), (rows.shape[0],)).astype(np.intp)
    rows[np.arange(rows.shape[0]), labels] = 1.0
    return rows.reshape(shape)


def _nll_vjp(g, out, p, y, n=1.0):
    return (-g * _onehot(y, np.shape(p)) / (n * p), None)


def _sample(rng, shape):  # for completeness of the Rule; this rule is not in the engine's table
    p = rng.dirichlet(np.ones(3), size=2)
    return [p, rng.integers(0, 3, size=2)], {"n": 2.0}


#: −ln p[y] (over a batch: −Σ ln p[y]/n), the negative log-likelihood of the true class. A rule of the
#: explainer's own (not in ``RULES``): the engine's fused ``cross_entropy`` takes logits and so never
#: shows p, while a learner should see p, the loss on it, and then why ∂L/∂z collapses to p − onehot(y).
NLL = Rule(name="class_nll", forward=_nll_forward, vjp=_nll_vjp, inputs=("p", "y"),
           formulas=(parse("-g*onehot(y)/p"), None), sample=_sample, notation=parse("-log(pick(p, y))"),
           doc="negative log-likelihood of class indices y under probabilities p", constant_inputs=frozenset({1}))
NLL_BATCH = Rule(name="class_nll", forward=_nll_forward, vjp=_nll_vjp, inputs=("p", "y"),
                 formulas=(parse("-g*onehot(y)/(n*p)"), None), sample=_sample,
                 notation=parse("-sum(log(pick(p, y)))/n"), doc=NLL.doc, constant_inputs=frozenset({1}))


def class_nll(p: Tensor, y: Tensor) -> Tensor:
    """L = −ln p[y] for one sample, −Σᵢ ln p[i, yᵢ]/n for a batch (rows of p are samples)."""
    rows = 1 if p.ndim == 1 else p.shape[0]
    if rows == 1:
        return _apply(NLL, (p, y))
    return _apply(NLL_BATCH, (p, y), {"n": float(rows)})


def softmax_loss(z: Tensor, labels) -> Tensor:
    """Logits z (one row per sample) → p = softmax(z) → L = −ln p[y] (a batch's mean), recorded so that
    ``explain`` shows p, the loss on it and the identity ∂L/∂z = p − onehot(y).

    >>> loss = softmax_loss(x @ W.T + b, [2])        # doctest: +SKIP
    >>> print(chainrule.explain(loss, lr=0.5))       # doctest: +SKIP
    """
    from ..tensor import tensor

    if z.name is None:
        z.name = "z"
    p = z.softmax(-1)
    p.name = "p"
    labels = np.asarray(labels, dtype=float).reshape(-1)
    y = tensor(labels[0] if labels.size == 1 else labels, name="y")
    return class_nll(p, y)


# ---------------------------------------------------------------------------
# The identities after the chain


def _find(sections: list[Section], lhs: str, kinds: tuple[str, ...]) -> tuple[Section, int] | None:
    found = None
    for section in sections:
        for position, item in enumerate(section.items):
            if isinstance(item, Equation) and item.kind in kinds and item.lhs.to_text() == lhs:
                found = (section, position)
    return found


def _shown(sections: list[Section], name: str):
    """The written value of node ``name`` in the forward pass."""
    for section in sections:
        for item in section.items:
            if isinstance(item, Equation) and item.kind in ("forward", "loss") and item.node == name:
                return item.shown
    return None


def _classification(graph: Graph) -> tuple[str, Node, Node, Node, float] | None:
    """(identity, prediction ŷ or p, its pre-activation z, the target y, the batch divisor n), if this is one."""
    root = graph.root
    if root.rule is None:
        return None
    loss, n = root, 1.0
    if root.rule.name == "mean" and root.inputs and root.inputs[0].rule is not None:
        loss, n = root.inputs[0], float(root.inputs[0].value.size)
    if loss.rule is None or len(loss.inputs) != 2:
        return None
    prediction, target = loss.inputs
    if loss.rule.name == "class_nll":
        kind, n = "softmax", float(loss.attrs.get("n", 1.0))
        if prediction.rule is None or prediction.rule.name != "softmax":
            return None
    elif loss.rule.name == "binary_cross_entropy":
        kind = "sigmoid"
        if prediction.rule is None or prediction.rule.name != "sigmoid":
            return None
    else:
        return None
    z = prediction.inputs[0]
    if not (prediction.visible and z.visible and target.visible and z.tensor.requires_grad):
        return None
    return kind, prediction, z, target, n


def _identity_expr(kind: str, prediction: str, target: str, n: float) -> Expr:
    difference = Bin("-", Var(prediction), Call("onehot", (Var(target),)) if kind == "softmax" else Var(target))
    return difference if n == 1 else Bin("/", difference, Num(n))


def insert_identities(sections: list[Section], graph: Graph, precision: int, exact: bool = False) -> None:
    """After the chain's ∂L/∂z, the identity that shortens it (in place); nothing for other problems."""
    found = _classification(graph)
    if found is None:
        return
    kind, prediction, z, target, n = found
    if kind == "softmax":
        _write_class_index(sections, target)
    top, numbers = graph.root.name, NumberModel(precision, carry=not exact)
    lhs = f"∂{top}/∂{z.name}"
    place = _find(sections, lhs, ("chain", "gradient"))
    items: list = []
    if place is None:
        # The chain wrote ∂L/∂z only inside a parameter's product: write that step on its own first.
        place = _chain_to_z(sections, graph, prediction, z, numbers, items)
        if place is None:
            return
    section, position = place
    chained = items[0] if items else section.items[position]
    shown_p = _shown(sections, prediction.name)
    onehot = _onehot(target.value, prediction.shape) if kind == "softmax" else np.asarray(target.value, float)
    exact_value = (np.asarray(prediction.value, dtype=float) - onehot) / n
    hand = (np.asarray(shown_p, dtype=float) - onehot) / n if shown_p is not None else exact_value
    shown = numbers.computed(hand if np.ndim(hand) else float(hand))
    expression = _identity_expr(kind, prediction.name, target.name, n)
    env = {prediction.name: shown_p if shown_p is not None else prediction.value,
           target.name: _target_written(kind, target, numbers)}
    name = ("softmax + cross-entropy" if kind == "softmax" else "sigmoid + binary cross-entropy")
    note = (f"The {name} identity: the long chain above simplifies to "
            f"{expression.to_text()}, so the gradient at the logits is the prediction minus the truth"
            + (f", divided by the {int(n)} values the loss averages." if n != 1 else "."))
    # Exactly the same number (both exact values are PyTorch's); the written ones may differ in a last digit.
    if not np.array_equal(np.asarray(chained.shown, dtype=float), np.asarray(shown, dtype=float)):
        note += (" Where the two lines differ in a last digit, that is rounding: each was worked by hand "
                 "from written numbers; their exact values are equal.")
    identity = Equation("identity", partial(top, z.name), [Form(expression), Form(expression, env)],
                        exact_value if np.ndim(exact_value) else float(exact_value), shown,
                        numbers.decimals_of(shown) if not np.ndim(shown) else precision, node=z.name,
                        shape=None if z.is_scalar else z.shape, note=note,
                        inputs=(prediction.name,))
    section.items[position + 1:position + 1] = items + [identity]


def _target_written(kind: str, target: Node, numbers: NumberModel):
    if kind == "softmax" and target.is_scalar:
        return Written(str(int(target.value.reshape(()))))
    return numbers.given(target.value.reshape(()) if target.is_scalar else target.value)


def _write_class_index(sections: list[Section], target: Node) -> None:
    """A class index is a whole number: y = 2, p[2], onehot(2), not 2.0 (one sample's; a batch's stay a list)."""
    if not target.is_scalar:
        return
    label = Written(str(int(target.value.reshape(()))))
    for section in sections:
        for item in section.equations():
            if item.kind == "given" and item.node == target.name:
                item.shown = label
            for form in item.forms:
                if form.values and target.name in form.values:
                    form.values[target.name] = label


def _chain_to_z(sections: list[Section], graph: Graph, prediction: Node, z: Node, numbers: NumberModel,
                items: list) -> tuple[Section, int] | None:
    """∂L/∂z = ∂L/∂ŷ · ∂ŷ/∂z from the written local derivatives, as a line at the end of the chain section."""
    top = graph.root.name
    first = _find(sections, f"∂{top}/∂{prediction.name}", ("local",))
    second = _find(sections, f"∂{prediction.name}/∂{z.name}", ("local",))
    chain = next((s for s in sections if s.kind == "chain"), None)
    if first is None or second is None or chain is None:
        return None
    a = first[0].items[first[1]].shown
    b = second[0].items[second[1]].shown
    shown = numbers.computed(float(a) * float(b))
    symbolic = Bin("*", partial(top, prediction.name), partial(prediction.name, z.name))
    env = {"#0": a, "#1": b}
    value = _exact_gradient(graph, z)
    items.append(Equation("gradient", partial(top, z.name), [Form(symbolic), Form(Bin("*", Var("#0"), Var("#1")), env)],
                          value, shown, numbers.decimals_of(shown), node=z.name,
                          inputs=(f"∂{top}/∂{prediction.name}", f"∂{prediction.name}/∂{z.name}")))
    if chain.items and isinstance(chain.items[0], Note):
        chain.items.clear()  # "Every parameter feeds the loss directly": no longer the whole story
    return chain, len(chain.items) - 1


def _exact_gradient(graph: Graph, z: Node) -> float:
    from .core import gradients_of

    return float(np.asarray(gradients_of(graph.root_tensor).get(id(z.tensor), 0.0)).reshape(()))


def probabilities_note(graph: Graph, precision: int) -> Note | None:
    """Which class the model now favours, and how much probability the true class gets."""
    found = _classification(graph)
    if found is None or found[0] != "softmax":
        return None
    _, prediction, _, target, _ = found
    rows = np.atleast_2d(prediction.value)
    labels = np.asarray(target.value).reshape(-1).astype(int)
    if rows.shape[0] != 1:
        return None
    p = rows[0]
    truth = int(labels[0])
    favoured = int(np.argmax(p))
    verdict = ("the model already favours the true class" if favoured == truth else
               f"the model favours class {favoured}, not the true class {truth}")
    return Note(f"p is a probability for each class (they add up to 1); the true class y = {truth} gets "
                f"p[{truth}] = {NumberModel(precision).text(float(p[truth]))}, and {verdict}."
                f" The loss −ln p[y] is 0 only when p[y] = 1.")
