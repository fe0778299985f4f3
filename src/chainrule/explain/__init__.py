"""The explainer: step-by-step derivations of backpropagation and gradient descent."""

from .core import explain
from .explanation import Explanation, GraphvizMissing

__all__ = ["explain", "Explanation", "GraphvizMissing"]
