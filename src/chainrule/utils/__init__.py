"""PyTorch's spelling of the data tools: ``chainrule.utils.data`` is ``chainrule.data``, so that
``torch.utils.data.DataLoader`` code runs with chainrule in torch's place."""

from .. import data

__all__ = ["data"]
