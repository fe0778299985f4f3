"""Importing this package fills the rule table (``chainrule.rules.RULES``)."""

from . import activations, conv, elementwise, indexing, linalg, nn, reductions, shape  # noqa: F401
