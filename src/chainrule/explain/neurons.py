"""An MLP neuron by neuron, the way Matt Mazur's "A Step by Step Backpropagation Example" works it.

The layer-level explanation writes ``z1 = x · W1ᵀ + b1`` once per layer. Here
every neuron is a named intermediate of its own — its net input and its output,
``net_h1 = w1 · i1 + w2 · i2 + b1`` and ``out_h1 = σ(net_h1)`` — every weight
is a scalar parameter with one chain-rule line of its own, and the error is
the sum of one error per output, ``E_total = E_o1 + E_o2``. The derivation
itself is the scalar one every small problem gets; this module builds its
graph and adds the two things Mazur's text adds:

* for each hidden neuron, the sum over the output paths written out:
  ∂E_total/∂out_h1 = ∂E_o1/∂out_h1 + ∂E_o2/∂out_h1;
* the same gradients in δ notation: δ_o1 = ∂E_total/∂net_o1, δ_h1 = (Σ δ·w) ·
  ∂out_h1/∂net_h1, and ∂E_total/∂w = δ · (the input the weight multiplies).

Names: with one hidden layer, Mazur's (inputs i1…, hidden h1…, outputs o1…,
weights w1… numbered layer by layer, row by row); with more, layers are
numbered (h1_2 is hidden layer 1, neuron 2). A layer's biases are one shared,
given number (Mazur's b1 and b2) when they are frozen and equal; otherwise
each neuron has its own (b_h1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formula import Bin, Var
from ..tensor import Tensor, tensor
from .build import _ACTIVATIONS, _loss, initial_parameters
from .derivation import hand_arithmetic
from .explanation import Explanation
from .graph import trace
from .model import Equation, Form, Section
from .numbers import NumberModel
from .problems import Problem, ProblemError

__all__ = ["MAX_NEURON_WEIGHTS", "NeuronLayout", "explain_neurons", "neuron_loss", "neuron_sections"]

#: One chain-rule line per weight: beyond this many a neuron-by-neuron text stops being readable.
MAX_NEURON_WEIGHTS = 64


@dataclass
class NeuronLayout:
    """Who is who in a neuron-level graph: the names of every neuron, weight and error."""

    inputs: list[str]
    layers: list[list[str]] = field(default_factory=list)  # neuron names per layer (hidden…, output)
    #: weights[l][j][i]: the name of the weight from neuron i of the layer below to neuron j of layer l.
    weights: list[list[list[str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # E_o1, E_o2 … (one per output; empty for one output)
    frozen: set[str] = field(default_factory=set)  # weights and biases given but never updated
    top: str = "E"

    def net(self, neuron: str) -> str:
        return f"net_{neuron}"

    def out(self, neuron: str) -> str:
        return f"out_{neuron}"

    def below(self, layer: int) -> list[str]:
        """The values layer ``layer`` takes in: the inputs, or the previous layer's outputs."""
        return self.inputs if layer == 0 else [self.out(n) for n in self.layers[layer - 1]]


def _neuron_names(sizes: list[int]) -> tuple[list[str], list[list[str]]]:
    hidden = len(sizes) - 2
    inputs = [f"i{i + 1}" for i in range(sizes[0])]
    layers = []
    for layer, size in enumerate(sizes[1:], 1):
        if layer == len(sizes) - 1:
            prefix = "o"
        else:
            prefix = "h" if hidden == 1 else f"h{layer}_"
        layers.append([f"{prefix}{j + 1}" for j in range(size)])
    return inputs, layers


def neuron_loss(problem: Problem, parameters: dict[str, np.ndarray]) -> tuple[Tensor, NeuronLayout]:
    """The loss of an MLP on its one sample, recorded neuron by neuron with Mazur's names."""
    if problem.kind != "mlp":
        raise ProblemError(f"{problem.source}: detail = \"neurons\" explains an MLP ([model] kind = \"mlp\")")
    if problem.samples != 1:
        raise ProblemError(f"{problem.source}: detail = \"neurons\" explains one sample, neuron by neuron; this "
                           f"data set has {problem.samples} (use the layer-level default for a batch)")
    count = sum(a * b for a, b in zip(problem.sizes[:-1], problem.sizes[1:]))
    if count > MAX_NEURON_WEIGHTS:
        raise ProblemError(f"{problem.source}: detail = \"neurons\" writes one line per weight; this network has "
                           f"{count} weights (at most {MAX_NEURON_WEIGHTS}): use the layer-level default")
    if problem.output not in _ACTIVATIONS or problem.activation not in _ACTIVATIONS:
        raise ProblemError(f"{problem.source}: detail = \"neurons\" works with elementwise activations, "
                           f"not {problem.output!r}")
    inputs, layers = _neuron_names(problem.sizes)
    layout = NeuronLayout(inputs=inputs, layers=layers)
    below = [tensor(np.float64(v), name=name) for name, v in zip(inputs, problem.x[0])]
    number = 0
    for layer, neurons in enumerate(layers):
        w_value = np.asarray(parameters[f"W{layer + 1}"], dtype=float)
        b_value = np.asarray(parameters[f"b{layer + 1}"], dtype=float)
        w_learned = f"W{layer + 1}" not in problem.frozen
        b_learned = f"b{layer + 1}" not in problem.frozen
        shared = None
        if not b_learned and np.all(b_value == b_value[0]):
            shared = tensor(np.float64(b_value[0]), name=f"b{layer + 1}")  # Mazur's one bias per layer
        layout.weights.append([])
        outputs = []
        activation = problem.activation if layer < len(layers) - 1 else problem.output
        for j, neuron in enumerate(neurons):
            names = []
            net = None
            for i, value in enumerate(below):
                number += 1
                name = f"w{number}"
                names.append(name)
                if not w_learned:
                    layout.frozen.add(name)
                term = tensor(np.float64(w_value[j, i]), requires_grad=w_learned, name=name) * value
                net = term if net is None else net + term
            layout.weights[-1].append(names)
            bias = shared if shared is not None else tensor(np.float64(b_value[j]), requires_grad=b_learned,
                                                            name=f"b_{neuron}")
            net = net + bias
            if not bias.requires_grad:
                layout.frozen.add(bias.name)
            net.name = layout.net(neuron)
            out = _ACTIVATIONS[activation](net)
            if out is net:  # the identity: the output is a step of its own all the same
                out = net * 1.0
            out.name = layout.out(neuron)
            outputs.append(out)
        below = outputs
    targets = np.asarray(problem.y[0], dtype=float).reshape(-1)
    outputs_layer = layers[-1]
    if len(outputs_layer) == 1:
        loss = _loss(problem, below[0], tensor(np.float64(targets[0]), name=f"target_{outputs_layer[0]}"))
        loss.name = layout.top = "E"
        return loss, layout
    # The layer-level loss is the mean over the outputs; written per output, that is one error each.
    n = len(outputs_layer)
    total = None
    for neuron, out, target in zip(outputs_layer, below, targets):
        per = _loss(problem, out, tensor(np.float64(target), name=f"target_{neuron}"))
        error = 0.5 * per if n == 2 else per / n  # Mazur's ½ is the mean over his two outputs
        error.name = f"E_{neuron}"
        layout.errors.append(error.name)
        total = error if total is None else total + error
    total.name = layout.top = "E_total"
    return total, layout


def explain_neurons(problem: Problem, *, exact: bool = False, update=None) -> Explanation:
    """Explain an MLP's one sample neuron by neuron (``detail = "neurons"``)."""
    from .core import explain_graph

    loss, layout = neuron_loss(problem, initial_parameters(problem))
    graph = trace(loss)
    if not graph.parameters:
        raise ProblemError(f"{problem.source}: every weight is frozen, so there is nothing to learn")
    explanation = explain_graph(graph, lr=problem.lr, precision=problem.precision, title=problem.title,
                                steps=problem.steps, description=problem.description, detail="auto",
                                update=update, exact=exact, derive_mode=problem.derive)
    shown = {}
    for equation in explanation.equations():
        if equation.kind in ("given", "forward", "loss", "local", "gradient", "chain"):
            shown.setdefault(equation.lhs.to_text(), equation.shown)
    exact_grads = {node.name: float(np.asarray(grads).sum()) for node, grads in _node_gradients(graph)}
    extra = neuron_sections(layout, shown, exact_grads, NumberModel(problem.precision, carry=not exact))
    after = min(i for i, section in enumerate(explanation.sections) if section.kind == "chain")  # step 1's
    for section in extra:
        for equation in section.equations():
            equation.exact, equation.precision = exact, problem.precision
    explanation.sections[after + 1:after + 1] = extra
    _in_mazurs_order(explanation, layout)
    return explanation


def _in_mazurs_order(explanation: Explanation, layout: NeuronLayout) -> None:
    """Givens and updates in the order of the network (i1, i2, w1 … w8, the biases, the targets), not in
    the order the graph was walked: a reader finds w1 where Mazur has it."""
    order = list(layout.inputs) + [w for rows in layout.weights for names in rows for w in names]
    order += [f"b{layer + 1}" for layer in range(len(layout.layers))]
    order += [f"b_{neuron}" for neurons in layout.layers for neuron in neurons]
    order += [f"target_{neuron}" for neuron in layout.layers[-1]]
    rank = {name: index for index, name in enumerate(order)}

    def key(item):
        if not isinstance(item, Equation):
            return len(rank) + 1  # notes stay after the lines
        return rank.get(item.node or item.lhs.to_text(), len(rank))

    for section in explanation.sections:
        if section.kind in ("given", "update"):
            section.items.sort(key=key)
        for equation in section.equations():
            if equation.kind == "given" and equation.lhs.to_text() in layout.frozen:
                equation.note = "frozen: given, never updated"


def _node_gradients(graph):
    from .core import gradients_of

    grads = gradients_of(graph.root_tensor)
    return [(node, grads[id(node.tensor)]) for node in graph.visible if id(node.tensor) in grads]


# ----------------------------------------------------------------------------------------------------------------
# Mazur's two additions to the derivation


def _d(top: str, bottom: str) -> Var:
    return Var(f"∂{top}/∂{bottom}")


def neuron_sections(layout: NeuronLayout, shown: dict, exact_grads: dict, rounding: NumberModel) -> list[Section]:
    """The sum over output paths for every hidden neuron, then the gradients in δ notation.

    ``shown`` holds the numbers the derivation wrote (values by name, and gradients under ``∂E/∂name``);
    each line here uses them as written, so every line checks on a calculator. ``exact_grads`` (∂E/∂node,
    by node name) gives each line's exact value for the JSON.
    """
    top = layout.top

    def written(key):
        return shown[key]

    def line(kind, lhs, symbolic, numeric, env, value, node=None, note=None):
        hand = hand_arithmetic(numeric, env)
        result = rounding.computed(hand)
        return Equation(kind, Var(lhs), [Form(symbolic), Form(numeric, env)], value, result,
                        rounding.decimals_of(result), node=node, note=note), result

    paths = Section("Hidden neurons: the error from every output", "chain",
                    intro="A hidden neuron feeds every neuron of the next layer, so its output reaches the error "
                          "along one path per neuron there; its gradient is the sum of them, each the next "
                          "neuron's ∂E/∂net times the weight between them.")
    delta = Section("The same gradients in δ notation", "chain",
                    intro=f"δ of a neuron is ∂{top}/∂net, the error at its net input. An output neuron's δ is "
                          f"∂{top}/∂out · ∂out/∂net; a hidden neuron's is the δs of the next layer weighted by "
                          "its outgoing weights, times its own ∂out/∂net; every weight's gradient is the δ of the "
                          "neuron it feeds times the value it multiplies.")
    deltas: dict[str, object] = {}
    last = len(layout.layers) - 1
    for layer in range(last, -1, -1):
        for j, neuron in enumerate(layout.layers[layer]):
            net, out = layout.net(neuron), layout.out(neuron)
            slope_key = f"∂{out}/∂{net}"
            if layer == last:
                # δ_o = ∂E/∂out_o · ∂out_o/∂net_o, from the two local derivatives as written.
                upstream = f"∂{top}/∂{out}" if not layout.errors else f"∂E_{neuron}/∂{out}"
                symbolic = Bin("*", _d(top if not layout.errors else f"E_{neuron}", out), _d(out, net))
                env = {"#a": written(upstream), "#b": written(slope_key)}
                equation, value = line("chain", f"δ_{neuron}", symbolic, Bin("*", Var("#a"), Var("#b")), env,
                                       exact_grads[net], node=net)
            else:
                consumers = layout.layers[layer + 1]
                weights = [layout.weights[layer + 1][k][j] for k in range(len(consumers))]
                # The sum over output paths, Mazur's ∂E_total/∂out_h1 = ∂E_o1/∂out_h1 + ∂E_o2/∂out_h1.
                if layer == last - 1 and layout.errors:
                    named = [_d(f"E_{c}", out) for c in consumers]
                else:
                    named = [Bin("*", _d(top, layout.net(c)), _d(layout.net(c), out)) for c in consumers]
                terms = [Bin("*", Var(f"#g{k}"), Var(f"#w{k}")) for k in range(len(consumers))]
                env = {}
                for k, (consumer, weight) in enumerate(zip(consumers, weights)):
                    env[f"#g{k}"] = written(f"∂{top}/∂{layout.net(consumer)}")
                    env[f"#w{k}"] = written(weight)
                by_weight = _sum([Bin("*", _d(top, layout.net(c)), Var(w)) for c, w in zip(consumers, weights)])
                hand = hand_arithmetic(_sum(terms), env)
                result = rounding.computed(hand)
                paths.items.append(Equation(
                    "chain", _d(top, out), [Form(_sum(named)), Form(by_weight), Form(_sum(terms), env)],
                    exact_grads[out], result, rounding.decimals_of(result), node=out,
                    note=f"{out} reaches {top} through {', '.join(layout.net(c) for c in consumers)}"))
                # δ_h = (Σ_k δ_k · w_kh) · ∂out_h/∂net_h, from the δs just written.
                symbolic = Bin("*", _sum([Bin("*", Var(f"δ_{c}"), Var(w)) for c, w in zip(consumers, weights)]),
                               _d(out, net))
                env = {f"#d{k}": deltas[c] for k, c in enumerate(consumers)}
                env.update({f"#w{k}": written(w) for k, w in enumerate(weights)})
                env["#s"] = written(slope_key)
                numeric = Bin("*", _sum([Bin("*", Var(f"#d{k}"), Var(f"#w{k}")) for k in range(len(consumers))]),
                              Var("#s"))
                equation, value = line("chain", f"δ_{neuron}", symbolic, numeric, env, exact_grads[net], node=net)
            deltas[neuron] = value
            delta.items.append(equation)
    # Every weight's gradient from the δ of the neuron it feeds.
    for layer, rows in enumerate(layout.weights):
        sources = layout.below(layer)
        for j, names in enumerate(rows):
            neuron = layout.layers[layer][j]
            for source, weight in zip(sources, names):
                if weight not in exact_grads:
                    continue  # a frozen weight has no gradient to write
                env = {"#d": deltas[neuron], "#x": written(source)}
                equation, _ = line("chain", f"∂{top}/∂{weight}", Bin("*", Var(f"δ_{neuron}"), Var(source)),
                                   Bin("*", Var("#d"), Var("#x")), env, exact_grads[weight],
                                   node=weight)
                delta.items.append(equation)
    return ([paths] if paths.items else []) + [delta]


def _sum(terms):
    total = terms[0]
    for term in terms[1:]:
        total = Bin("+", total, term)
    return total
