"""Reverse-mode automatic differentiation: the whole backward pass.

Every tensor made by an operation remembers ``_ctx = (rule, inputs, attrs,
sequence)``: which rule of the table made it, from which input tensors, with
which settings, and when. A tensor does not remember its consumers and holds no closure over
itself, so the graph has no reference cycles and is freed by reference
counting the moment the last tensor of it goes away.

``backward`` walks that graph from the output back to the leaves:

1. seed the output's gradient (1 for a scalar loss);
2. visit the nodes newest first, so that each comes after every node that
   used it (a heap on the sequence numbers: no recursion, so a chain of
   100,000 operations is fine);
3. for each node, ask its rule for the vector-Jacobian product
   — the gradient of each input, given the gradient of the output — and add
   it to what that input has received so far (a value used twice gets the sum
   of both paths);
4. leaves that ``requires_grad`` keep the result in ``.grad``, adding to what
   earlier ``backward`` calls left there.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import threading

import numpy as np

__all__ = ["GradMode", "no_grad", "enable_grad", "is_grad_enabled", "backward", "unbroadcast", "next_sequence"]

#: Numbers recorded nodes in the order they are made (see ``backward``).
next_sequence = itertools.count().__next__


_recording: contextvars.ContextVar[bool] = contextvars.ContextVar("chainrule_grad_enabled", default=True)


class _GradMode:
    """Whether operations record a graph, per thread and per asyncio task, as PyTorch's grad mode is
    thread-local: a ``no_grad`` block in one thread never switches recording off in another.

    A context variable does it: every new thread starts from the default (on), and every task
    runs in a copy of the context that created it. Read on every operation, so kept to one lookup.
    """

    __slots__ = ()

    @property
    def enabled(self) -> bool:
        return _recording.get()

    @enabled.setter
    def enabled(self, value: bool) -> None:
        _recording.set(bool(value))


GradMode = _GradMode()


class _SetGradMode(contextlib.ContextDecorator):
    mode = True

    def __init__(self):
        # One object may be entered by several threads at once (a shared instance, a decorated
        # function): each thread keeps its own stack of the values to restore.
        self._saved = threading.local()

    def _recreate_cm(self):  # a decorated function gets a fresh manager per call
        return type(self)()

    def __enter__(self):
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append(_recording.get())
        _recording.set(self.mode)
        return self

    def __exit__(self, *exc):
        _recording.set(self._saved.stack.pop())
        return False


class no_grad(_SetGradMode):
    """Context manager (and decorator) in which operations record no graph.

    Use it for evaluation and for updating parameters by hand::

        with chainrule.no_grad():
            w -= lr * w.grad
    """

    mode = False


class enable_grad(_SetGradMode):
    """Turn graph recording back on inside a ``no_grad`` block."""

    mode = True


def is_grad_enabled() -> bool:
    return _recording.get()


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape``: the one place where broadcasting is undone.

    An input of shape (3, 1) broadcast to (2, 3, 4) was copied along the new
    leading axis and along its unit axis, so its gradient is the sum over both.
    """
    extra = np.ndim(grad) - len(shape)
    if extra > 0:
        grad = np.sum(grad, axis=tuple(range(extra)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and np.shape(grad)[i] != 1)
    if stretched:
        grad = np.sum(grad, axis=stretched, keepdims=True)
    return np.reshape(grad, shape) if np.shape(grad) != tuple(shape) else grad


def backward(root, gradient, keep: dict | None = None) -> None:
    """Propagate ``gradient`` (∂L/∂root) back through the graph.

    Every recorded node carries a sequence number, given when it was made, so
    a node's number is larger than its inputs'. Taking nodes largest number
    first (a heap) therefore visits each node only after all of its consumers
    have passed their gradients back: a topological order without a separate
    sort, and without recursion, however deep the graph (PyTorch's engine
    orders its work the same way). Leaves carry no number and come last.

    Leaves (and tensors that called ``retain_grad``) accumulate into ``.grad``.
    Each node's gradient is dropped once passed on, so memory stays at one
    layer's worth; pass a dict as ``keep`` to collect every node's gradient by
    ``id`` instead (the explainer wants the intermediate values).
    """
    grads = {id(root): gradient}
    get = grads.get
    heap = [(-_sequence(root), id(root), root)]
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        _, key, node = pop(heap)
        g = grads.pop(key)
        if keep is not None:
            keep[key] = g
        ctx = node._ctx
        if ctx is None or node._retain:
            node._accumulate(g)
            if ctx is None:
                continue
        rule, inputs, attrs, _ = ctx
        if rule.selective:  # skip gradients no input wants (x·Wᵀ with x the data)
            needs = tuple(t.requires_grad for t in inputs)
            input_grads = rule.vjp(g, node.data, *[t.data for t in inputs], needs=needs, **attrs)
        elif len(inputs) == 2:  # the common case, without building a list
            first, second = inputs
            input_grads = rule.vjp(g, node.data, first.data, second.data, **attrs)
        else:
            input_grads = rule.vjp(g, node.data, *[t.data for t in inputs], **attrs)
        for parent, grad in zip(inputs, input_grads):
            if grad is None or not parent.requires_grad:
                continue
            shape = parent.data.shape
            if grad.shape != shape:
                grad = unbroadcast(grad, shape)
            parent_key = id(parent)
            previous = get(parent_key)
            if previous is None:
                grads[parent_key] = grad
                parent_ctx = parent._ctx  # leaves (no ctx) sort after every recorded node
                push(heap, (1 if parent_ctx is None else -parent_ctx[3], parent_key, parent))
            else:
                grads[parent_key] = previous + grad


def _sequence(node) -> int:
    """A node's creation number; leaves get −1, below every recorded node, so they come last."""
    return -1 if node._ctx is None else node._ctx[3]
