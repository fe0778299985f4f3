"""``compile``: record a training step once, replay it as a flat list of numpy calls.

A training step builds the same graph every time it runs: the same rules, on arrays of the same
shapes, in the same order. The eager engine pays for that graph on every step (a Tensor per
value, a context tuple per node, a heap walk in ``backward``). ``compile(step)`` runs the step
eagerly once per *signature* (the shapes, dtypes and ``requires_grad`` of its tensor arguments,
and its other arguments by value) while a tracer writes down, in order:

* every operation: its rule, which values it read and which value it made;
* every ``backward()``: from which value, with which seed;
* every ``zero_grad()`` and optimizer ``step()``.

From that it builds a *tape*: a forward schedule (one ``rule.forward`` call per operation, on
numbered slots), and for each ``backward`` a backward schedule worked out ahead of time — only
the operations the loss depends on, only the gradients some parameter needs (dead-gradient
elimination), broadcasting undone only where the recorded shapes say so, in the order the eager
engine visits them, so the sums come out bit for bit the same. Later calls with the same
signature replay the tape: no graph objects, no heap, no per-node dictionaries.

What the tape cannot replay makes the step run eagerly instead, with one warning, never a wrong
answer: reading a value in the middle of the step (``.item()``, ``float()``, ``bool()``, ``.numpy()``
— data-dependent control flow), changing a tensor in place, drawing random numbers, or making a
tensor from host data inside the step (pass it as an argument). Python numbers used inside the
step are constants of the tape, as in ``jax.jit``: pass anything that changes as a tensor
argument. Optimizer settings are read at every replay, so a learning-rate schedule is honoured.
Results come back detached (``requires_grad=False``): the step has already run its backward.

``print(compiled)`` shows the tape as the numpy calls it makes: what backpropagation compiles to.
"""

from __future__ import annotations

import functools
import importlib
import threading
import warnings

import numpy as np

from . import compile_kernels
from .autograd import RETAIN, GradMode, unbroadcast
from .compile_fusion import fuse
from .tensor import Tensor, _new

# Not `from . import tensor`: in the package namespace that name is the function chainrule.tensor.
_tensor_module = importlib.import_module("chainrule.tensor")

__all__ = ["compile", "CompiledStep", "note_untraceable"]


_local = threading.local()


def _active_tracer():
    return getattr(_local, "tracer", None)


def note_untraceable(reason: str) -> None:
    """Called by code a tape cannot replay (a random draw, an in-place change): while a step is
    being recorded, the recording is abandoned and the step runs eagerly."""
    tracer = _active_tracer()
    if tracer is not None:
        tracer.fail(reason)


# ---------------------------------------------------------------------------
# Recording


class _Tracer:
    """Writes down what one eager run of a step does, as instructions over numbered slots."""

    def __init__(self, args: list[Tensor]):
        self.slot_of: dict[int, int] = {}
        self.alive: list = []  # keeps every seen tensor alive, so that no id() is reused mid-recording
        self.slot_tensors: list[Tensor] = []
        self.slot_by_data: dict[int, int] = {}  # id of a slot's array -> the slot
        self.slot_shapes: list[tuple] = []
        self.slot_requires_grad: list[bool] = []
        self.externals: list[tuple[int, Tensor, tuple, np.dtype]] = []  # (slot, tensor, shape, dtype)
        self.arg_slots = [self._new_slot(t) for t in args]
        self.ops: list[tuple] = []  # (rule, input slots, attrs, output slot)
        self.events: list[tuple] = []  # ("forward", op index) | ("backward", …) | ("zero_grad", …) | ("step", opt)
        self.reason: str | None = None
        self.thread = threading.get_ident()
        #: ids of the tensors made while recording: one of them that the step reads but that no
        #: recorded operation made came from somewhere the tape cannot follow.
        self.made: set[int] = set()

    def fail(self, reason: str) -> None:
        """Mark the recording as one a tape cannot replay. The eager run goes on undisturbed (it is
        the step's real run: stopping it part-way could repeat an update), and its result is returned."""
        if self.reason is None:
            self.reason = reason

    def _new_slot(self, t: Tensor) -> int:
        slot = len(self.slot_shapes)
        self.slot_of[id(t)] = slot
        self.slot_tensors.append(t)
        if t.data.__class__ is np.ndarray:
            self.slot_by_data.setdefault(id(t.data), slot)
        self.slot_shapes.append(np.shape(t.data))
        self.slot_requires_grad.append(bool(t.requires_grad))
        return slot

    def slot(self, t: Tensor) -> int:
        """The slot of a tensor the step reads; one seen for the first time is external to the step
        (a parameter, a captured data set, a constant) and is read afresh at every replay."""
        slot = self.slot_of.get(id(t))
        if slot is None:
            same = self.slot_by_data.get(id(t.data)) if t.data.__class__ is np.ndarray else None
            if same is not None:  # a new Tensor around an array the tape follows already (_new(x.data))
                self.slot_of[id(t)] = same
                return same
            if id(t) in self.made and not isinstance(t.data, (int, float)):  # a Python number is a constant
                self.fail("it makes a tensor inside the step from values the tape cannot follow "
                          "(pass host data in as an argument)")
            slot = self._new_slot(t)
            self.externals.append((slot, t, np.shape(t.data), np.asarray(t.data).dtype))
        return slot

    def record(self, rule, inputs, attrs, out: Tensor) -> None:
        if threading.get_ident() != self.thread:
            return
        in_slots = tuple(self.slot(t) for t in inputs)
        out_slot = self._new_slot(out)
        self.ops.append((rule, in_slots, attrs, out_slot))
        self.events.append(("forward", len(self.ops) - 1))

    def record_backward(self, root: Tensor, gradient) -> None:
        seed = None if gradient is None else np.array(gradient.data if isinstance(gradient, Tensor) else gradient)
        if isinstance(gradient, Tensor) and id(gradient) in self.slot_of:
            self.fail("it calls backward(gradient=…) with a gradient computed inside the step")
        self.events.append(("backward", self.slot(root), seed))

    def record_call(self, kind: str, owner, kwargs: dict) -> None:
        self.events.append((kind, owner, kwargs))


# Hooks installed while a recording runs: they watch what a tape cannot replay.

def _reads_value(name):
    original = getattr(Tensor, name)

    @functools.wraps(original)
    def watched(self, *args, **kwargs):
        tracer = _active_tracer()
        if tracer is not None and id(self) in tracer.slot_of:
            tracer.fail(f"it reads a value in the middle of the step (Tensor.{name})")
        return original(self, *args, **kwargs)

    return original, watched


_VALUE_READS = ("item", "tolist", "numpy", "__float__", "__int__", "__bool__", "__array__")


class _Recording:
    """Installs the tracer and the hooks for one eager run of the step."""

    def __init__(self, tracer: _Tracer):
        self.tracer = tracer
        self.saved: list = []

    def __enter__(self):
        from .nn.module import Module
        from .optim.optimizer import Optimizer

        tracer = self.tracer
        _local.tracer = tracer
        _tensor_module._trace_hook = tracer.record
        made, thread = tracer.made, tracer.thread
        object_new = _tensor_module._object_new

        def watched_new(cls):
            t = object_new(cls)
            if threading.get_ident() == thread:
                made.add(id(t))
                tracer.alive.append(t)  # an id must stay unique until the recording ends
            return t

        self._patch(_tensor_module, "_object_new", watched_new, object_new)
        original_init = Tensor.__init__

        def watched_init(t, *args, **kwargs):
            if threading.get_ident() == thread:
                made.add(id(t))
                tracer.alive.append(t)
            original_init(t, *args, **kwargs)

        self._patch(Tensor, "__init__", watched_init, original_init)

        for name in _VALUE_READS:
            original, watched = _reads_value(name)
            self._patch(Tensor, name, watched, original)

        original_backward = Tensor.backward

        def backward(t, gradient=None, *args, **kwargs):
            if _active_tracer() is tracer:
                tracer.record_backward(t, gradient)
            return original_backward(t, gradient, *args, **kwargs)

        self._patch(Tensor, "backward", backward, original_backward)
        for cls, name, kind in ((Optimizer, "zero_grad", "zero_grad"), (Optimizer, "step", "step"),
                                (Module, "zero_grad", "module_zero_grad")):
            self._patch_call(cls, name, kind)
        return self

    def _patch(self, owner, name, new, original):
        self.saved.append((owner, name, owner.__dict__.get(name, original)))
        setattr(owner, name, new)

    def _patch_call(self, cls, name, kind):
        original = getattr(cls, name)
        tracer = self.tracer

        @functools.wraps(original)
        def call(owner, *args, **kwargs):
            if _active_tracer() is tracer:
                if args or (kind == "step" and kwargs.get("closure") is not None):
                    tracer.fail(f"{type(owner).__name__}.{name} is called with arguments the tape cannot replay")
                tracer.record_call(kind, owner, kwargs)
            return original(owner, *args, **kwargs)

        self._patch(cls, name, call, original)

    def __exit__(self, *exc):
        _tensor_module._trace_hook = None
        _local.tracer = None
        for cls, name, original in reversed(self.saved):
            setattr(cls, name, original)
        return False


# ---------------------------------------------------------------------------
# The tape


class _Tape:
    """A recorded step as a flat list of instructions ``f(slots)``, and its printable form."""

    def __init__(self, tracer: _Tracer, outputs):
        self.n_slots = len(tracer.slot_shapes)
        self.arg_slots = tracer.arg_slots
        # The argument tensors themselves sit in slots of their own, after the values: a gradient
        # for an argument goes to the tensor passed in this call, not the one recorded.
        self.arg_object_slots = list(range(self.n_slots, self.n_slots + len(self.arg_slots)))
        self.n_slots += len(self.arg_slots)
        self.externals = [(slot, t, shape, dtype) for slot, t, shape, dtype in tracer.externals]
        self.instructions: list = []
        self.listing: list[str] = []
        returned = set(_returned_slots(tracer, outputs))  # never in a reused buffer: the caller keeps them
        roots = {e[1] for e in tracer.events if e[0] == "backward"}
        tracer.ops, tracer.events = fuse(tracer.ops, tracer.events, returned | roots)
        for event in tracer.events:
            kind = event[0]
            if kind == "forward":
                self._add_forward(tracer.ops[event[1]], returned)
            elif kind == "backward":
                self._add_backward(tracer, event[1], event[2])
            elif kind in ("zero_grad", "module_zero_grad"):
                owner, kwargs = event[1], event[2]
                self.instructions.append(_bound_call(owner.zero_grad, kwargs))
                self.listing.append(f"{type(owner).__name__}.zero_grad({_kwargs_text(kwargs)})")
            elif kind == "step":
                owner, kwargs = event[1], event[2]
                self.instructions.append(_bound_call(owner.step, kwargs))
                self.listing.append(f"{type(owner).__name__}.step()   # reads lr and the other settings now")
                # An update may rebind a parameter's data (a 0-d parameter always does): read the
                # optimizer's parameters again (their shapes cannot change in a step).
                self.instructions.append(self._reload_parameters(owner))
        self.outputs = _output_template(tracer, outputs)

    # -- forward
    def _add_forward(self, op, returned: set[int]) -> None:
        rule, ins, attrs, out = op
        kernel = compile_kernels.FORWARD.get(rule.name)
        if kernel is not None and out not in returned:
            self.instructions.append(_forward_kernel_instruction(kernel, rule.forward, ins, attrs, out))
        else:
            self.instructions.append(_forward_instruction(rule.forward, ins, attrs, out))
        args = ", ".join(f"s{i}" for i in ins)
        extra = "".join(f", {k}={v!r}" for k, v in attrs.items())
        note = f"   # {rule.note}" if getattr(rule, "note", None) else ""
        self.listing.append(f"s{out} = {rule.name}({args}{extra}){note}")

    # -- backward
    def _add_backward(self, tracer: _Tracer, root: int, seed) -> None:
        """The backward pass from ``root``, planned now: which rules, which gradients, which sums."""
        producer = {op[3]: op for op in tracer.ops}
        # The operations the root depends on through values that require grad, newest first:
        # the order in which the eager engine visits them.
        needed, reach = [], {root}
        for op in reversed(tracer.ops):
            rule, ins, attrs, out = op
            if out in reach and tracer.slot_requires_grad[out]:
                needed.append(op)
                reach.update(i for i in ins if tracer.slot_requires_grad[i])
        grad_slot: dict[int, int] = {}
        next_slot = [self.n_slots]

        def gslot(value_slot):
            if value_slot not in grad_slot:
                grad_slot[value_slot] = next_slot[0]
                next_slot[0] += 1
            return grad_slot[value_slot]

        shape = tracer.slot_shapes[root]
        self.instructions.append(_seed_instruction(root, gslot(root), seed))
        self.listing.append(f"g{root} = {f'ones_like(s{root})' if seed is None else 'the given gradient'}")
        written: set[int] = {root}
        for rule, ins, attrs, out in needed:
            targets = [(position, i) for position, i in enumerate(ins)
                       if tracer.slot_requires_grad[i] and position not in rule.constant_inputs]
            if not targets:
                continue
            plans = []
            for position, i in targets:
                first = i not in written
                written.add(i)
                plans.append((position, gslot(i), tracer.slot_shapes[i], first))
            needs = tuple(tracer.slot_requires_grad[i] for i in ins) if rule.selective else None
            kernel = compile_kernels.VJP.get(rule.name)
            if kernel is not None:
                owners = [self._gradient_owner(tracer, i, producer) for i in ins]
                self.instructions.append(_vjp_kernel_instruction(kernel, rule.vjp, grad_slot[out], out, ins, attrs,
                                                                 plans, needs, owners))
            else:
                self.instructions.append(_vjp_instruction(rule.vjp, grad_slot[out], out, ins, attrs, plans, needs))
            names = ", ".join(f"g{ins[p]}" for p, *_ in plans)
            sums = "".join("" if first else f"   (g{ins[p]} +=)" for p, _, _, first in plans)
            self.listing.append(f"{names} = {rule.name}.vjp(g{out}, s{out}, "
                                f"{', '.join(f's{i}' for i in ins)}){sums}")
        # Leaves (and retained values) receive their gradient the way eager backward gives it.
        for value_slot in sorted(grad_slot):
            t = tracer.slot_tensors[value_slot]
            if value_slot in producer and not t._flags & RETAIN:
                continue
            if not t.requires_grad:
                continue
            if value_slot in self.arg_slots:
                holder = self.arg_object_slots[self.arg_slots.index(value_slot)]
                self.instructions.append(_accumulate_into_argument(holder, grad_slot[value_slot]))
            else:
                self.instructions.append(_accumulate_instruction(t, grad_slot[value_slot]))
            self.listing.append(f"{t.name or f's{value_slot}'}.grad += g{value_slot}")
        self.n_slots = next_slot[0]
        del shape

    def _gradient_owner(self, tracer: _Tracer, slot: int, producer: dict):
        """The tensor whose ``.grad`` a gradient buffer may end up as (a parameter), or None.

        Such a buffer is reused only while that ``.grad`` no longer holds it: a step that does not
        zero the gradients must add to last step's array, not overwrite it."""
        t = tracer.slot_tensors[slot]
        if slot in self.arg_slots:
            return False  # an argument's tensor changes from call to call: no buffer
        if slot in producer and not t._flags & RETAIN:
            return None
        return t

    def _reload_parameters(self, optimizer):
        ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
        pairs = [(slot, t) for slot, t, _, _ in self.externals if id(t) in ids]

        def run(s):
            for slot, t in pairs:
                s[slot] = t.data

        return run

    def _load_externals(self, slots) -> bool:
        for slot, t, shape, _ in self.externals:
            data = t.data
            if np.shape(data) != shape:
                return False
            slots[slot] = data
        return True

    def run(self, args: list[Tensor]):
        slots = [None] * self.n_slots
        for slot, holder, t in zip(self.arg_slots, self.arg_object_slots, args):
            slots[slot] = t.data
            slots[holder] = t
        if not self._load_externals(slots):
            return None
        for instruction in self.instructions:
            instruction(slots)
        return self.outputs(slots)


def _forward_instruction(forward, ins, attrs, out):
    if attrs:
        if len(ins) == 1:
            (a,) = ins
            return lambda s: s.__setitem__(out, forward(s[a], **attrs))
        return lambda s: s.__setitem__(out, forward(*[s[i] for i in ins], **attrs))
    if len(ins) == 2:
        a, b = ins
        return lambda s: s.__setitem__(out, forward(s[a], s[b]))
    if len(ins) == 1:
        (a,) = ins
        return lambda s: s.__setitem__(out, forward(s[a]))
    return lambda s: s.__setitem__(out, forward(*[s[i] for i in ins]))


def _forward_kernel_instruction(kernel, forward, ins, attrs, out):
    """A forward step that writes into the array it made last time (see compile_kernels)."""
    buffer = [None]

    def run(s):
        value = kernel(buffer[0], *[s[i] for i in ins], **attrs)
        if value is None:
            value = forward(*[s[i] for i in ins], **attrs)
        else:
            buffer[0] = value
        s[out] = value

    return run


def _seed_instruction(root, gslot, seed):
    if seed is None:
        def run(s):
            data = s[root]
            s[gslot] = data.dtype.type(1) if np.ndim(data) == 0 else np.ones_like(data)
    else:
        def run(s):
            s[gslot] = seed
    return run


def _deliver(s, grads, plans) -> None:
    """Put each planned gradient in its slot: un-broadcast where the shapes say so, added to what an
    earlier path left there (the chain rule's sum over paths)."""
    for position, target, shape, first in plans:
        grad = grads[position]
        if grad.shape != shape:
            grad = unbroadcast(grad, shape)
        s[target] = grad if first else s[target] + grad


def _vjp_instruction(vjp, g, out, ins, attrs, plans, needs):
    """One rule's VJP, its gradients summed into their slots: specialised for the common shapes of
    the call, since this runs once per node per replay."""
    kwargs = dict(attrs)
    if needs is not None:
        kwargs["needs"] = needs
    if len(plans) == 1 and len(ins) == 1 and not kwargs:
        ((position, target, shape, first),) = plans
        a = ins[0]

        def run_one(s):
            grad = vjp(s[g], s[out], s[a])[0]
            if grad.shape != shape:
                grad = unbroadcast(grad, shape)
            s[target] = grad if first else s[target] + grad

        return run_one

    def run(s):
        grads = vjp(s[g], s[out], *[s[i] for i in ins], **kwargs)
        _deliver(s, grads, plans)

    return run


def _vjp_kernel_instruction(kernel, vjp, g, out, ins, attrs, plans, needs, owners):
    """A VJP that writes each first gradient into the array it made last time (see compile_kernels)."""
    kwargs = dict(attrs)
    if needs is not None:
        kwargs["needs"] = needs
    buffers = [None] * len(ins)
    scratch: list = [None]
    firsts = {position for position, _, _, first in plans if first}

    def run(s):
        given = []
        for position in range(len(ins)):
            buffer = buffers[position] if position in firsts else None
            owner = owners[position]
            if buffer is not None and owner is not None:
                if owner is False:
                    buffer = None
                else:
                    grad = owner.grad
                    if grad is not None and grad.data is buffer:
                        buffer = None  # last step's .grad still holds it
            given.append(buffer)
        grads = kernel(given, s[g], s[out], *[s[i] for i in ins], scratch=scratch, **kwargs)
        if grads is None:
            grads = vjp(s[g], s[out], *[s[i] for i in ins], **kwargs)
        else:
            for position in firsts:
                grad = grads[position]
                if grad.__class__ is np.ndarray:
                    buffers[position] = grad
        _deliver(s, grads, plans)

    return run


def _accumulate_instruction(t: Tensor, gslot: int):
    def run(s):
        t._accumulate(s[gslot])

    return run


def _accumulate_into_argument(holder: int, gslot: int):
    def run(s):
        s[holder]._accumulate(s[gslot])

    return run


def _bound_call(method, kwargs):
    return lambda s: method(**kwargs)


def _kwargs_text(kwargs) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _returned_slots(tracer: _Tracer, outputs):
    if isinstance(outputs, Tensor):
        slot = tracer.slot_of.get(id(outputs))
        if slot is not None:
            yield slot
    elif isinstance(outputs, (tuple, list)):
        for o in outputs:
            yield from _returned_slots(tracer, o)
    elif isinstance(outputs, dict):
        for o in outputs.values():
            yield from _returned_slots(tracer, o)


def _output_template(tracer: _Tracer, outputs):
    """A function that rebuilds the step's return value from the slots, results detached."""
    if isinstance(outputs, Tensor):
        slot = tracer.slot_of.get(id(outputs))
        if slot is None:
            tracer.fail("it returns a tensor the step did not compute")
        # A copy when it is an array: a later replay may write into the array this one returned.
        return lambda s: _new(np.array(s[slot]) if s[slot].__class__ is np.ndarray else s[slot])
    if isinstance(outputs, (tuple, list)):
        parts = [_output_template(tracer, o) for o in outputs]
        kind = type(outputs)
        return lambda s: kind(part(s) for part in parts)
    if isinstance(outputs, dict):
        parts = {k: _output_template(tracer, v) for k, v in outputs.items()}
        return lambda s: {k: part(s) for k, part in parts.items()}
    if outputs is None or isinstance(outputs, (int, float, str, bool)):
        return lambda s: outputs
    tracer.fail(f"it returns a {type(outputs).__name__}, which a tape cannot rebuild")
    return None


# ---------------------------------------------------------------------------
# The compiled step


class CompiledStep:
    """A step function with a tape per signature; call it like the function itself."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.tapes: dict = {}
        self.eager: dict = {}  # signature -> why it runs eagerly

    def _signature(self, args, kwargs):
        parts = [GradMode.enabled]
        for a in args:
            if isinstance(a, Tensor):
                parts.append(("T", np.shape(a.data), np.asarray(a.data).dtype.str, a.requires_grad))
            else:
                parts.append(("V", a))
        for k in sorted(kwargs):
            v = kwargs[k]
            parts.append((k, ("T", np.shape(v.data), np.asarray(v.data).dtype.str, v.requires_grad)
                          if isinstance(v, Tensor) else ("V", v)))
        try:
            hash(tuple(parts))
        except TypeError:
            return None
        return tuple(parts)

    def __call__(self, *args, **kwargs):
        # numpy arrays come in as tensors (without a copy), so that the tape can follow them.
        args = tuple(_new(a) if a.__class__ is np.ndarray else a for a in args)
        kwargs = {k: _new(v) if v.__class__ is np.ndarray else v for k, v in kwargs.items()}
        signature = self._signature(args, kwargs)
        if signature is None or signature in self.eager:
            return self.fn(*args, **kwargs)
        tensors = [a for a in args if isinstance(a, Tensor)] + [kwargs[k] for k in sorted(kwargs)
                                                                 if isinstance(kwargs[k], Tensor)]
        tape = self.tapes.get(signature)
        if tape is not None:
            result = tape.run(tensors)
            if result is not None:
                return result
            del self.tapes[signature]  # a parameter changed shape: record again
        return self._record(signature, tensors, args, kwargs)

    def _record(self, signature, tensors, args, kwargs):
        if _active_tracer() is not None:  # a compiled step inside another one's recording runs eagerly
            return self.fn(*args, **kwargs)
        tracer = _Tracer(tensors)
        with _Recording(tracer):
            outputs = self.fn(*args, **kwargs)
        tape = None if tracer.reason else _Tape(tracer, outputs)
        if tracer.reason:  # also set while the tape is built (a result it cannot rebuild)
            self.eager[signature] = tracer.reason
            warnings.warn(f"chainrule.compile: {getattr(self.fn, '__name__', 'the step')} runs eagerly, because "
                          f"{tracer.reason}", RuntimeWarning, stacklevel=3)
        else:
            self.tapes[signature] = tape
        return outputs

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", "step")
        if not self.tapes:
            return f"<compiled {name}: not recorded yet>"
        lines = [f"<compiled {name}: {len(self.tapes)} tape(s)>"]
        for signature, tape in self.tapes.items():
            lines.append(f"tape for {signature[1:]}:")
            lines.extend(f"  {line}" for line in tape.listing)
        return "\n".join(lines)


def compile(fn=None):  # noqa: A001  (the name PyTorch and JAX users look for)
    """Compile a training step: ``step = chainrule.compile(step)``, or as a decorator ``@chainrule.compile``."""
    if fn is None:
        return compile
    return CompiledStep(fn)
