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
import dis
import heapq
import inspect
import itertools
import threading

import numpy as np

__all__ = [
    "GradMode", "no_grad", "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled", "backward",
    "grad", "unbroadcast", "next_sequence", "saved_values", "BackwardFunction",
]

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


class inference_mode(_SetGradMode):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (no graph is recorded), as a context
    manager or decorator; ``inference_mode(False)`` changes nothing."""

    def __init__(self, mode: bool = True):
        super().__init__()
        self._enabled = bool(mode)

    def _recreate_cm(self):
        return type(self)(self._enabled)

    def __enter__(self):
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append(_recording.get())
        if self._enabled:
            _recording.set(False)
        return self


class set_grad_enabled(_SetGradMode):
    """Recording on or off, as given: ``with set_grad_enabled(training): …``."""

    def __init__(self, mode: bool):
        super().__init__()
        self.mode = bool(mode)

    def _recreate_cm(self):
        return type(self)(self.mode)


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


#: Bits of ``Tensor._flags``: keep ``.grad`` on an intermediate; this node's saved values were used.
RETAIN, FREED = 1, 2

#: The sequence number of the latest in-place change; nodes recorded before it are checked.
_last_in_place = [-1]


def mark_in_place(tensor, op: str, previous=None) -> None:
    """Note that ``op`` changed ``tensor`` in place; ``previous`` holds its old state when the change
    was recorded (the tensor then has a new history)."""
    stamp = next_sequence()
    tensor._in_place = (tensor._version + 1, stamp, op, previous)
    _last_in_place[0] = stamp


def backward(root, gradient, keep: dict | None = None, *, retain_graph: bool = False,
             create_graph: bool = False) -> None:
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
    ``id`` instead (the explainer wants the intermediate values; it implies
    ``retain_graph``). ``create_graph`` records the backward pass itself, so
    that the gradients (``.grad``) can be differentiated again.
    """
    _run((root,), (gradient,), keep, None, retain_graph or keep is not None, create_graph)


def _run(roots, gradients, keep, capture, retain_graph, create_graph) -> None:
    """The backward pass from several roots at once; ``capture`` (a dict keyed by ``id``) takes the
    gradients of the tensors in it instead of writing any ``.grad`` (``autograd.grad``)."""
    if len(roots) == 1:  # backward() of a loss: the common case, kept short
        root = roots[0]
        grads, heap = {id(root): gradients[0]}, [(-_sequence(root), id(root), root)]
    else:
        grads, heap = {}, []
        for root, gradient in zip(roots, gradients):
            key = id(root)
            if key in grads:
                grads[key] = grads[key] + gradient
            else:
                grads[key] = gradient
                heap.append((-_sequence(root), key, root))
        heapq.heapify(heap)
    get = grads.get
    push, pop = heapq.heappush, heapq.heappop
    checked_before = _last_in_place[0]  # nodes recorded before the latest in-place change get checked
    handed: set[int] = set()  # arrays already given to a .grad: never share one between two tensors
    recording = _recording.set(True) if create_graph else None
    try:
        while heap:
            _, key, node = pop(heap)
            g = grads.pop(key)
            if keep is not None:
                keep[key] = g
            ctx, flags = node._ctx, node._flags
            if ctx is None or flags or capture is not None:
                if capture is not None:
                    if key in capture:
                        capture[key] = g
                elif ctx is None or flags & RETAIN:
                    if create_graph:
                        _deliver_graph(node, g)
                    else:
                        if g.__class__ is np.ndarray and node.grad is None:
                            # add's VJP hands one array to both inputs: two .grad must never share
                            # one (x.grad.zero_() would clear both).
                            if id(g) in handed:
                                g = g.copy()
                            handed.add(id(g))
                        node._accumulate(g)
                if ctx is None:
                    continue
                if flags & FREED:
                    _check_not_freed(node, ctx[0])
            rule, inputs, attrs, sequence = ctx
            if sequence < checked_before:
                inputs = _checked_inputs(node, rule, inputs, sequence)
            if not retain_graph:
                node._flags = flags | FREED
            if create_graph:
                input_grads = _tensor_vjp(node, g, rule, inputs, attrs)
            elif rule.selective:  # skip gradients no input wants (x·Wᵀ with x the data)
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
    finally:
        if recording is not None:
            _recording.reset(recording)


def _tensor_vjp(node, g, rule, inputs, attrs):
    """The rule's own VJP, called with Tensors: numpy hands every step of it to the Tensor, so the
    gradient comes with a graph of its own (``create_graph=True``)."""
    g = g if hasattr(g, "_ctx") else node._wrap(g)
    if rule.constant_inputs:  # class labels, masks, indices: the VJP gets them as they are
        inputs = tuple(t.data if i in rule.constant_inputs else t for i, t in enumerate(inputs))
    if rule.selective:
        return rule.vjp(g, node, *inputs, needs=tuple(t.requires_grad for t in inputs), **attrs)
    return rule.vjp(g, node, *inputs, **attrs)


def _deliver_graph(tensor, g) -> None:
    """Add ``g`` to ``tensor.grad`` under create_graph: the sum keeps its graph, as in PyTorch."""
    g = g if hasattr(g, "_ctx") else tensor._wrap(g)
    if g.dtype != tensor.dtype:
        g = g.astype(tensor.dtype)
    tensor.grad = g if tensor.grad is None else tensor.grad + g


# -- what a VJP reads ---------------------------------------------------------------------------

_METADATA = frozenset({"shape", "ndim", "dtype"})
_READS: dict = {}


def saved_values(rule) -> tuple[bool, frozenset[int] | None]:
    """What ``rule``'s VJP reads besides ``g``: (whether it reads ``out``, the positions of the inputs
    whose values it reads; ``None`` for all of them).

    Found once per rule by reading the VJP's bytecode, so that no rule has to declare it: a parameter
    that is loaded counts as read unless all that is taken from it is ``.shape``, ``.ndim`` or
    ``.dtype`` (an in-place change keeps those). Anything unusual counts as reading everything.
    """
    known = _READS.get(rule)
    if known is None:
        known = _READS[rule] = _read_parameters(rule.vjp, len(rule.inputs))
    return known


def _read_parameters(vjp, n_inputs: int) -> tuple[bool, frozenset[int] | None]:
    code = getattr(vjp, "__code__", None)
    if code is None:
        return True, None
    names = code.co_varnames[: code.co_argcount]
    variadic = bool(code.co_flags & inspect.CO_VARARGS)
    read = set(code.co_cellvars)  # captured by an inner function: assume it is read
    instructions = list(dis.get_instructions(code))
    for here, following in zip(instructions, instructions[1:] + [None]):
        if here.opname.startswith(("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE")):
            metadata = following is not None and following.opname == "LOAD_ATTR" and following.argval in _METADATA
            if not metadata:
                read.update(here.argval if isinstance(here.argval, tuple) else (here.argval,))
    if variadic and code.co_varnames[code.co_argcount + code.co_kwonlyargcount] in read:
        return "out" in read or names[1] in read, None
    positions = frozenset(i for i, name in enumerate(names[2 : 2 + n_inputs]) if name in read)
    return len(names) > 1 and names[1] in read, positions


def _describe(tensor) -> str:
    if tensor.name:
        return f"the tensor {tensor.name!r}"
    return f"a tensor of shape {tensor.shape} and dtype {tensor.dtype}"


def _checked_inputs(node, rule, inputs, sequence) -> tuple:
    """The inputs as they were when this node was recorded, or a RuntimeError if its VJP reads a value
    that was changed in place since (PyTorch's check, as PyTorch words it).

    A recorded in-place change gives the tensor a new history and keeps the old state in a tensor of
    its own (``chainrule.inplace``): a node that only routes its gradient (``add``) sends it to that
    old state, which is where it belongs."""
    reads_out, positions = saved_values(rule)
    _unchanged_since(node, sequence, reads_out, rule)
    return tuple(
        _unchanged_since(t, sequence, positions is None or i in positions, rule) for i, t in enumerate(inputs)
    )


def _unchanged_since(tensor, sequence, read: bool, rule):
    change = getattr(tensor, "_in_place", None)
    while change is not None and change[1] > sequence:
        count, _, op, previous = change
        if read:
            raise RuntimeError(
                "backward: one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {_describe(tensor)}, which {rule.name} needs, was changed by {op} after "
                f"{rule.name} recorded it (it is now at version {count}). Compute the new value out of place "
                "(y = x * 2 rather than x.mul_(2)), or change a .clone()."
            )
        if previous is None:  # changed where it lies, but this node does not read it
            break
        tensor, change = previous, getattr(previous, "_in_place", None)
    return tensor


def _check_not_freed(node, rule) -> None:
    reads_out, positions = saved_values(rule)
    if reads_out or positions is None or positions:
        raise RuntimeError(
            f"backward: trying to backward through the graph a second time: {rule.name}'s saved values were "
            "already used by the first backward. Specify retain_graph=True in the first backward() or "
            "autograd.grad() call if you need to backward through the graph again."
        )


# -- autograd.grad and grad_fn ------------------------------------------------------------------


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """∂outputs/∂inputs, as PyTorch's ``torch.autograd.grad``: a tuple with one gradient per input,
    leaving every ``.grad`` as it was.

    ``grad_outputs`` weighs each output (it may be omitted for one-element outputs); an input the
    outputs do not depend on raises, unless ``allow_unused``, where its gradient is ``None``. With
    ``create_graph`` the gradients have graphs of their own (a Hessian-vector product is
    ``grad(grad(f, x, create_graph=True)[0] @ v, x)``).

    >>> x = chainrule.tensor(3.0, requires_grad=True)
    >>> (dx,) = chainrule.autograd.grad(x ** 3, x, create_graph=True)   # 3x² = 27
    >>> chainrule.autograd.grad(dx, x)[0].item()                        # 6x = 18
    18.0
    """
    single = not isinstance(outputs, (list, tuple))
    outputs = (outputs,) if single else tuple(outputs)
    inputs = (inputs,) if not isinstance(inputs, (list, tuple)) else tuple(inputs)
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the differentiated tensors does not require grad")
    seeds = []
    for output, weight in zip(outputs, grad_outputs):
        if not output.requires_grad:
            raise RuntimeError("grad: one of the outputs does not require grad and has no grad_fn")
        seeds.append(output._seed(weight, "grad", keep_graph=create_graph))
    capture = dict.fromkeys(id(t) for t in inputs)
    _run(outputs, seeds, None, capture, create_graph if retain_graph is None else retain_graph, create_graph)
    result = []
    for t in inputs:
        g = capture[id(t)]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "grad: one of the differentiated tensors appears to not have been used in the graph; "
                    "set allow_unused=True if this is the desired behavior"
                )
            result.append(None)
            continue
        if not hasattr(g, "_ctx"):
            g = t._wrap(g.copy() if any(g is r.data for r in result if r is not None) else g)
        if g.dtype != t.dtype:
            g = g.astype(t.dtype)
        result.append(g)
    return tuple(result)


class BackwardFunction:
    """``t.grad_fn``: the node that made ``t``, named after its rule as PyTorch names its own
    (``MulBackward`` for a product); ``None`` for leaves."""

    __slots__ = ("_tensor",)
    rule = None

    def __init__(self, tensor):
        self._tensor = tensor

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        """One ``(function, 0)`` per input: its ``grad_fn``, ``AccumulateGrad`` for a leaf that
        requires grad, ``None`` for a constant."""
        return tuple(
            (grad_fn_of(t) if t._ctx is not None else AccumulateGrad(t) if t.requires_grad else None, 0)
            for t in self._tensor._ctx[1]
        )

    def __repr__(self) -> str:
        return f"<{self.name()} object>"


class AccumulateGrad(BackwardFunction):
    """Where a leaf's gradient ends: added to its ``.grad``."""

    __slots__ = ()

    @property
    def variable(self):
        return self._tensor

    @property
    def next_functions(self) -> tuple:
        return ()


_GRAD_FN_CLASSES: dict = {}


def grad_fn_of(tensor):
    ctx = tensor._ctx
    if ctx is None:
        return None
    rule = ctx[0]
    cls = _GRAD_FN_CLASSES.get(rule)
    if cls is None:
        title = "".join(part.capitalize() for part in rule.name.split("_"))
        cls = _GRAD_FN_CLASSES[rule] = type(f"{title}Backward", (BackwardFunction,), {"__slots__": (), "rule": rule})
    return cls(tensor)


def _sequence(node) -> int:
    """A node's creation number; leaves get −1, below every recorded node, so they come last."""
    return -1 if node._ctx is None else node._ctx[3]
