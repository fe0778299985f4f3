"""One rule calling another inside its VJP, in either namespace.

A VJP that needs another primitive (softplus's needs σ, getitem's needs a scatter) calls
``call("sigmoid", x)``: on arrays that is the rule's forward function, exactly what the VJP computed
before; on Tensors (``backward(create_graph=True)``) it is the recorded operation, so the gradient
can be differentiated again. The Tensor says how through its ``_apply_rule`` hook, which keeps this
layer free of any import from the Tensor's.
"""

from __future__ import annotations

from ..rules import RULES


def call(name: str, *inputs, **attrs):
    """Rule ``name`` applied to ``inputs``: raw arrays in, an array out; any Tensor in, a Tensor out."""
    for value in inputs:
        hook = getattr(type(value), "_apply_rule", None)
        if hook is not None:
            return hook(RULES[name], inputs, attrs)
    return RULES[name].forward(*inputs, **attrs)
