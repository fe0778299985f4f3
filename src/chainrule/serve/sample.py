"""A playground sample's full derivation at a session's current weights, by the explainer itself."""

from __future__ import annotations

import numpy as np

from ..explain import Explanation, explain_problem
from ..explain.problems import parse_problem
from .errors import RequestError
from .training import Session

__all__ = ["explain_sample"]


def explain_sample(session: Session, which: str, index: int) -> Explanation:
    """Sample ``index`` of the training (or validation) set, forward and backward through the network as it is now.

    The update the derivation ends with is one plain gradient-descent step on
    this sample alone, at the session's learning rate: the session's own
    optimizer state (momentum, Adam's averages) belongs to the whole run.
    """
    X, y = (session.X, session.y) if which == "train" else (session.X_val, session.y_val)
    if not 0 <= index < len(X):
        raise RequestError(f"index: the {which} set has {len(X)} samples (0 to {len(X) - 1}), got {index}")
    step, weights = session.weights()
    settings = session.settings
    data = {
        "title": f"Sample {index} of the {which} set at step {step}",
        "description": f"The {settings.dataset} network {settings.sizes} as it is after {step} step(s) of training; "
                       "the update shown is one plain gradient-descent step on this sample alone.",
        "model": {"kind": "mlp", "sizes": settings.sizes, "activation": settings.activation, "output": "identity",
                  "weights": [w.tolist() for w, _ in weights], "biases": [b.tolist() for _, b in weights]},
        "data": {"x": [X[index].tolist()], "y": [[float(y[index])]]},
        "training": {"loss": settings.loss, "lr": settings.lr},
    }
    with np.errstate(all="ignore"):
        return explain_problem(parse_problem(data, f"sample {index}"), exact=True)
