"""``explain(loss)``: trace the graph, run backpropagation, and write the steps down."""

from __future__ import annotations

import numpy as np

from ..autograd import backward as _backward
from ..tensor import Tensor, tensor
from .derivation import Derivation, derive, rebuild
from .explanation import Explanation, GraphView
from .graph import Graph, trace
from .model import Section, Table, format_value
from .numbers import typographic_minus as _minus
from .precision import in_float64
from .teaching import enrich
from .updates import OPTIMIZERS, UpdateRule

__all__ = ["explain", "explain_graph", "gradients_of"]


def gradients_of(root: Tensor) -> dict[int, np.ndarray]:
    """∂root/∂node for every node, keyed by ``id`` of the tensor, leaving every ``.grad`` as it was."""
    graph_leaves = []
    stack, seen = [root], set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        if tensor._ctx is None:
            graph_leaves.append(tensor)
        else:
            stack.extend(tensor._ctx[1])
    saved = [(leaf, leaf.grad) for leaf in graph_leaves]
    keep: dict[int, np.ndarray] = {}
    try:
        gradient = np.ones_like(root.data)[()]
        _backward(root, gradient, keep)
    finally:
        for leaf, grad in saved:
            leaf.grad = grad
    return keep


def _graph_view(graph: Graph, derivation: Derivation, exact_grads: dict[int, np.ndarray]) -> GraphView:
    view = GraphView()
    local_labels = {}
    for section in derivation.sections:
        for equation in section.equations():
            if equation.kind == "local" and equation.edge:
                forms = [f.expr.to_text() for f in equation.forms[:1]]
                local_labels[equation.edge] = (f"∂{equation.edge[1]}/∂{equation.edge[0]} = "
                                               f"{forms[0] + ' = ' if forms else ''}{equation.shown_text()}")
    for node in graph.visible:
        grad = exact_grads.get(id(node.tensor))
        shown_grad = derivation.shown_gradients.get(node.name)
        view.nodes.append({
            "id": node.name,
            "kind": node.kind,
            "is_loss": node is graph.root,
            "expression": graph.expression(node).to_text() if node.rule is not None else None,
            "value": _jsonable(node.value),
            "value_shown": _jsonable((derivation.shown_values or {}).get(node.name, node.value)),
            "grad": None if grad is None or not node.tensor.requires_grad else _jsonable(grad),
            "grad_shown": None if shown_grad is None else _jsonable(shown_grad),
            "shape": list(node.shape),
        })
        if node.rule is None:
            continue
        for argument in graph.arguments(node):
            label = local_labels.get((argument.name, node.name))
            if label is None and not node.is_scalar:
                label = "×".join(map(str, argument.shape)) or "scalar"
            view.edges.append({"from": argument.name, "to": node.name, "label": label or ""})
    return view


def _jsonable(value):
    from .explanation import _number_or_list

    return _number_or_list(value)


def explain_graph(graph: Graph, *, lr: float | None, precision: int, title: str, steps: int = 1,
                  description: str | None = None, detail: str = "auto",
                  update: UpdateRule | None = None, exact: bool = False,
                  derive_mode: str | None = None) -> Explanation:
    """Explain the step recorded in ``graph``; with ``steps`` > 1, continue training and tabulate.

    ``derive_mode`` says which of several steps are derived line by line ("all", "first" or "last"; by default
    all of up to five steps), see ``steps``.
    """
    update = update or UpdateRule()
    exact_grads = gradients_of(graph.root_tensor)
    derivation = derive(graph, lr=lr, precision=precision, gradients=exact_grads, update=update, exact=exact)
    sections = enrich(graph, derivation, list(derivation.sections), precision=precision, lr=lr,
                      exact=exact)
    summary = {"loss": derivation.loss}
    if derivation.new_loss is not None:
        summary["new_loss"] = derivation.new_loss
        summary["went_down"] = bool(derivation.new_loss < derivation.loss)
    summary["gradients"] = {name: _jsonable(v) for name, v in derivation.gradients.items()}
    summary["new_parameters"] = {name: _jsonable(v) for name, v in derivation.new_parameters.items()}
    if steps > 1:
        if lr is None:
            raise ValueError("explain: more than one step needs a learning rate")
        from .steps import derive_choice, derived_steps

        sections += derived_steps(graph, derivation, lr=lr, precision=precision, steps=steps, update=update,
                                  exact=exact, which=derive_choice(derive_mode, steps))
        sections.append(_more_steps(graph, derivation, lr, precision, steps, update))
    return Explanation(title, sections, precision=precision, graph=_graph_view(graph, derivation, exact_grads),
                       summary=summary, description=description, detail=detail, exact=exact)


def _more_steps(graph: Graph, first: Derivation, lr: float, precision: int, steps: int,
                update: UpdateRule) -> Section:
    """Steps 1..N with the real optimizer (its state carried from step to step), exact, one row each."""
    parameters = [n for n in graph.parameters if n.visible]
    leaves = {n.index: tensor(np.array(n.value, dtype=float), requires_grad=True) for n in parameters}
    optimizer = update.optimizer(list(leaves.values()), lr)
    rows = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        root, _ = rebuild(graph, leaves)
        loss = float(np.asarray(root.data).sum())
        root.backward()
        optimizer.step()
        rows.append([str(step), _minus(format_value(loss, precision + 1))]
                    + [_minus(format_value(leaves[n.index].data, precision + 1)) for n in parameters])
    final_root, _ = rebuild(graph, leaves)
    final_loss = _minus(format_value(float(np.asarray(final_root.data).sum()), precision + 1))
    table = Table(["step", "loss before the step"] + [f"{n.name} after" for n in parameters], rows,
                  caption=f"Loss after all {steps} steps: {final_loss}")
    label = {"sgd": "gradient descent", "momentum": "gradient descent with momentum", "adam": "Adam"}[update.name]
    return Section(f"{steps} steps of {label}", "steps",
                   intro="The same update repeated by chainrule.optim, computed exactly (not rounded by hand).",
                   items=[table])


def explain(output: Tensor, *, lr: float | None = None, precision: int = 3, title: str | None = None,
            names: dict | None = None, steps: int = 1, detail: str = "auto", optimizer: str = "sgd",
            momentum: float = 0.9, exact: bool = False, derive: str | None = None) -> Explanation:
    """Explain how ``output`` (a loss) was computed and how each parameter's gradient follows by the chain rule.

    With ``lr``, also the gradient-descent update p − η·∂L/∂p and a check that
    the loss went down. ``names`` maps tensors to display names (otherwise a
    tensor's ``name`` is used, and ``L``, ``ŷ``, ``z``, ``v1``… are chosen).
    ``detail`` shows tensors element by element ("elements"), as shape and
    statistics ("summary"), or by size ("auto": up to 16 elements).
    ``optimizer`` is "sgd", "momentum" or "adam" (chainrule.optim's, with
    PyTorch's defaults). With ``steps`` > 1, ``derive`` chooses which steps
    are written out like the first ("all", "first", "last"; all of up to 5).
    By default numbers are rounded to ``precision`` decimals and carried by
    hand, as the seed does; ``exact=True`` keeps them exact and rounds only
    when printing.

    >>> w = chainrule.tensor(0.5, requires_grad=True, name="w")
    >>> loss = (chainrule.sigmoid(w * 1.0) - 0.0) ** 2
    >>> print(explain(loss, lr=0.1).to_text())        # doctest: +SKIP
    """
    by_id = {id(t): n for t, n in (names or {}).items()} if names else None
    with np.errstate(all="ignore"):
        return _explain(output, by_id, lr, precision, title, steps, detail, optimizer, momentum, exact, derive)


def _explain(output, by_id, lr, precision, title, steps, detail, optimizer, momentum, exact,
             derive=None) -> Explanation:
    if isinstance(output, Tensor):
        output, by_id = in_float64(output, by_id)  # exact explanations, whatever the learner's dtype
    graph = trace(output, by_id)
    summary_title = title or "How the gradient flows"
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"explain: optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    return explain_graph(graph, lr=lr, precision=precision, title=summary_title, steps=steps, detail=detail,
                         update=UpdateRule(optimizer, momentum=momentum), exact=exact, derive_mode=derive)

