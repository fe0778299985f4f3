"""The optimizer base class: parameter groups, per-parameter state, saving and loading.

A subclass supplies the update rule twice, for the two kinds of ``Tensor.data``:

* ``_update_array(p, g, state, hyper)`` for an ndarray parameter: it updates the
  array ``p`` and the state buffers in place with numpy's ``out=`` ufuncs;
* ``_update_scalar(p, g, state, hyper)`` for a 0-d parameter, whose data is a
  numpy scalar (``np.float64``): numpy scalars are immutable, so it returns the
  new value and rebinds its state entries, with plain arithmetic, which is about
  ten times faster than ufuncs on 0-d arrays.

``_write`` (the one helper that touches ``p.data``) picks the path: a writeable
ndarray is updated in place, a read-only one is first replaced by a copy, and a
numpy scalar is rebound to the new value in the parameter's own dtype.

Gradients are only read, never written: ``p.grad.data`` may be shared with
other tensors or be a read-only view.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from ..autograd import enable_grad, mark_in_place
from ..tensor import Tensor, tensor

__all__ = ["Optimizer"]


# ---------------------------------------------------------------------------
# Checks shared by the optimizers and the schedulers.


def _check_real(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    return float(value)


def _check_nonnegative(owner: str, name: str, value) -> None:
    """Raise ValueError naming ``name`` unless ``value`` ≥ 0 (NaN fails too)."""
    if not _check_real(owner, name, value) >= 0.0:
        raise ValueError(f"{owner}: invalid {name}={value!r} (must be >= 0)")


def _check_lr(owner: str, value) -> None:
    """A learning rate: finite and >= 0 (0 stays allowed, as in PyTorch: a schedule may anneal to it)."""
    if not 0.0 <= _check_real(owner, "lr", value) < math.inf:
        raise ValueError(f"{owner}: invalid lr={value!r} (must be a finite number >= 0)")


def _check_positive(owner: str, name: str, value) -> None:
    """Raise ValueError naming ``name`` unless 0 < ``value`` < inf (eps: it keeps a division by √v away from 0/0)."""
    if not 0.0 < _check_real(owner, name, value) < math.inf:
        raise ValueError(f"{owner}: invalid {name}={value!r} (must be a finite number > 0)")


def _check_unit_interval(owner: str, name: str, value) -> None:
    """Raise ValueError naming ``name`` unless 0 ≤ ``value`` < 1."""
    if not 0.0 <= _check_real(owner, name, value) < 1.0:
        raise ValueError(f"{owner}: invalid {name}={value!r} (must be in [0, 1))")


def _sqrt(x):
    """√x of a numpy scalar, fast (math.sqrt is correctly rounded like np.sqrt); NaN below 0, as numpy."""
    return math.sqrt(x) if x >= 0.0 else np.sqrt(x)


# ---------------------------------------------------------------------------
# Converting to and from the plain values a state dict may hold.


def _plain(where: str, value):
    """A value for a state dict: a number, a str, a list, or an ndarray (copied)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(where, v) for v in value]
    raise TypeError(f"state_dict: {where} holds a {type(value).__name__}, which cannot be saved "
                    "(only numbers, strings, lists and arrays can)")


def _plain_state(where: str, value):
    """A state entry for a state dict: a buffer becomes an array copy (0-d for a scalar parameter,
    keeping float32), a step count an int."""
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, np.integer):
        return np.array(value, copy=True)
    return _plain(where, value)


def _unplain(value, like=None):
    """Undo what a file format may have done (numbers as 0-d arrays, lists as arrays) and
    give the value the type of ``like`` (a default setting) when there is one."""
    array = np.asarray(value)
    if array.dtype.kind not in "biufU":
        raise ValueError(f"load_state_dict: cannot read a setting of type {type(value).__name__}")
    plain = array.item() if array.ndim == 0 else array.tolist()
    if isinstance(like, bool):
        return bool(plain)
    if isinstance(like, tuple):
        if not isinstance(plain, list) or len(plain) != len(like):
            raise ValueError(f"load_state_dict: expected {len(like)} numbers, got {value!r}")
        return tuple(plain)
    if isinstance(like, float) and isinstance(plain, (int, float)):
        return float(plain)
    return plain


def _as_int(where: str, value) -> int:
    if isinstance(value, str):  # a state key: "0", "1", ...
        if not value.isdigit():
            raise ValueError(f"load_state_dict: {where} must be an integer, got {value!r}")
        return int(value)
    array = np.asarray(value)
    if array.ndim != 0 or array.dtype.kind not in "iuf" or array.item() != int(array.item()):
        raise ValueError(f"load_state_dict: {where} must be an integer, got {value!r}")
    return int(array.item())


# ---------------------------------------------------------------------------


class Optimizer:
    """Base class of the optimizers: holds parameter groups and per-parameter state.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) with a
    ``"params"`` entry and settings that override ``defaults`` for that group::

        Adam([{"params": weights}, {"params": biases, "lr": 1e-2}], lr=1e-3)

    ``state`` maps a parameter's position (counting through all groups in
    order) to a dict of its buffers. A parameter whose ``grad`` is None is
    skipped by ``step``.

    >>> import chainrule
    >>> from chainrule.optim import SGD
    >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.tolist()
    [0.0, 0.0]
    """

    #: Names of the state entries that are arrays of the parameter's shape.
    _buffer_names: tuple[str, ...] = ()

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}
        self._scratch_flat: dict = {}
        self._scratch_views: dict = {}
        self._validate(self.defaults)
        if isinstance(params, Tensor) or isinstance(params, (set, frozenset)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{self._name}: params must be an ordered iterable of Tensors or of dicts (parameter groups), "
                f"got {type(params).__name__}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(params[0], Mapping):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # -- parameter groups ---------------------------------------------------
    def add_param_group(self, param_group: Mapping) -> None:
        """Add a group of parameters (a dict with ``"params"`` and optional settings).

        Settings the group does not give are taken from the optimizer's
        defaults. The new parameters take the next positions in ``state``.

        >>> import chainrule
        >>> from chainrule.optim import SGD
        >>> a = chainrule.tensor(1.0, requires_grad=True)
        >>> b = chainrule.tensor(1.0, requires_grad=True)
        >>> opt = SGD([a], lr=0.1)
        >>> opt.add_param_group({"params": [b], "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{self._name}: a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)) or not isinstance(params, Iterable):
            raise TypeError(f"{self._name}: a group's params must be an ordered iterable of Tensors")
        params = list(params)
        if not params:
            raise ValueError(f"{self._name}: got an empty parameter list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad:
                raise ValueError(
                    f"{self._name}: parameter {i} does not require grad (create it with requires_grad=True)"
                )
            if not p.is_leaf:
                raise ValueError(f"{self._name}: parameter {i} is not a leaf tensor (optimize the leaves it came from)")
            if id(p) in seen:
                raise ValueError(f"{self._name}: parameter {i} appears more than once in the parameter groups")
            seen.add(id(p))
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate(group)
        group["params"] = params
        self.param_groups.append(group)

    # -- gradients and steps ------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None``, or zeros of ``p``'s shape and dtype.

        >>> import chainrule
        >>> from chainrule.optim import SGD
        >>> w = chainrule.tensor(3.0, requires_grad=True)
        >>> opt = SGD([w])
        >>> (w * w).backward()
        >>> opt.zero_grad(set_to_none=False)
        >>> w.grad.item()
        0.0
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else tensor(np.zeros_like(p.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()`` if given.

        ``closure`` (optional) re-evaluates the model and returns the loss; it
        runs with gradient recording on, before the update.

        >>> import chainrule
        >>> from chainrule.optim import SGD
        >>> w = chainrule.tensor(1.0, requires_grad=True)
        >>> opt = SGD([w], lr=0.25)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = w * w
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure).item(), w.item()
        (1.0, 0.5)
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        index = 0
        for group in self.param_groups:
            hyper = self._hyper(group)
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    s = state.get(index)
                    if s is None:
                        s = state[index] = self._init_state(p.data, hyper)
                    self._write(p, grad.data, s, hyper)
                    # counted as an in-place change, as in PyTorch: a graph recorded before the step that
                    # reads this parameter can no longer be differentiated (backward says so)
                    mark_in_place(p, f"{self._name}.step")
                index += 1
        return loss

    def _write(self, p: Tensor, g, state: dict, hyper: tuple) -> None:
        """Apply the update to ``p.data``: in place when it is a writeable ndarray; else rebind it."""
        data = p.data
        if isinstance(data, np.ndarray):
            if g.__class__ is not np.ndarray or g.shape != data.shape or (
                g.dtype is not data.dtype and g.dtype != data.dtype
            ):
                g = self._conform(g, data)
            if not data.flags.writeable:
                data = p.data = data.copy()
            self._update_array(data, g, state, hyper)
        else:
            dtype = data.dtype
            if g.__class__ is not data.__class__:
                g = self._conform(g, data)
            new = self._update_scalar(data, g, state, hyper)
            p.data = new if new.__class__ is data.__class__ else np.asarray(new, dtype=dtype)[()]

    def _conform(self, g, data):
        """The gradient as an array (or scalar) of the parameter's shape and dtype."""
        g = np.asarray(g)
        if g.shape != np.shape(data):
            raise ValueError(
                f"{self._name}.step: gradient of shape {g.shape} for a parameter of shape {np.shape(data)}"
            )
        g = g.astype(data.dtype, copy=False)
        return g if isinstance(data, np.ndarray) else g[()]

    def _scratch(self, like: np.ndarray, slot: int) -> np.ndarray:
        """A reusable work array shaped like ``like`` (slot 0 or 1): no allocation per step.

        One flat buffer per (dtype, slot), as large as the largest parameter,
        viewed in each parameter's shape; the views are cached.
        """
        key = (like.shape, like.dtype, slot)
        view = self._scratch_views.get(key)
        if view is None:
            flat_key = (like.dtype, slot)
            flat = self._scratch_flat.get(flat_key)
            if flat is None or flat.size < like.size:
                flat = self._scratch_flat[flat_key] = np.empty(like.size, like.dtype)
                self._scratch_views = {k: v for k, v in self._scratch_views.items() if k[1:] != flat_key}
            view = self._scratch_views[key] = flat[: like.size].reshape(like.shape)
        return view

    def _followed_gradient(self, p, g, weight_decay: float, maximize: bool):
        """The gradient an update follows: −g when maximizing, plus λθ for (coupled) weight decay.

        Arrays are computed into scratch slot 0 (``g`` itself is never written);
        the numpy scalars of 0-d parameters by plain arithmetic.
        """
        if not isinstance(p, np.ndarray):
            if maximize:
                g = -g
            return g + weight_decay * p if weight_decay != 0 else g
        if weight_decay != 0:
            t = self._scratch(p, 0)
            np.multiply(p, weight_decay, out=t)
            (np.subtract if maximize else np.add)(t, g, out=t)  # ∓g + λθ
            return t
        if maximize:
            return np.negative(g, out=self._scratch(p, 0))
        return g

    # -- what a subclass provides ---------------------------------------------
    def _validate(self, group: dict) -> None:
        """Raise ValueError naming the first bad setting of ``group``."""

    def _hyper(self, group: dict) -> tuple:
        """The group's settings as a tuple of plain Python numbers, read once per step."""
        raise NotImplementedError

    def _init_state(self, data, hyper: tuple) -> dict:
        return {}

    def _state_names(self, group: dict) -> set[str]:
        """The entries a parameter's (non-empty) state must have under ``group``'s settings."""
        return set()

    def _update_array(self, p: np.ndarray, g: np.ndarray, state: dict, hyper: tuple) -> None:
        raise NotImplementedError

    def _update_scalar(self, p, g, state: dict, hyper: tuple):
        raise NotImplementedError

    @staticmethod
    def _zeros(data):
        return np.zeros_like(data) if isinstance(data, np.ndarray) else data.dtype.type(0)

    # -- saving and loading ---------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's settings and buffers as plain data (str keys, numbers, lists, arrays).

        ``{"state": {"0": {"step": 3, "exp_avg": array, ...}, ...},
        "param_groups": [{"lr": 0.001, ..., "params": [0, 1, 2]}, ...]}`` —
        parameters are named by position. Arrays are copies, so the dict is a
        snapshot. Nothing in it needs pickle: it can go to ``np.savez``.

        >>> import chainrule
        >>> from chainrule.optim import SGD
        >>> w = chainrule.tensor([1.0], requires_grad=True)
        >>> SGD([w], lr=0.1).state_dict()["param_groups"][0]["params"]
        [0]
        """
        groups = []
        index = 0
        for g, group in enumerate(self.param_groups):
            saved = {key: _plain(f"param group {g}, {key!r}", value) for key, value in group.items() if key != "params"}
            saved["params"] = list(range(index, index + len(group["params"])))
            index += len(group["params"])
            groups.append(saved)
        state = {
            str(i): {key: _plain_state(f"the state of parameter {i}, {key!r}", value) for key, value in s.items()}
            for i, s in sorted(self.state.items())
            if s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Take settings and buffers from ``state_dict`` (as made by ``state_dict``).

        Parameters are matched by position. Everything is checked before
        anything changes; a mismatch raises ValueError saying what is wrong
        (number of groups or parameters, a buffer's shape, a missing entry).
        Numbers stored as 0-d arrays and lists stored as arrays are accepted.

        >>> import chainrule
        >>> from chainrule.optim import SGD
        >>> w = chainrule.tensor([1.0], requires_grad=True)
        >>> saved = SGD([w], lr=0.1, momentum=0.9).state_dict()
        >>> opt = SGD([w])
        >>> opt.load_state_dict(saved)
        >>> opt.param_groups[0]["momentum"]
        0.9
        """
        name = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, Mapping) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state has {len(saved_groups)} parameter group(s) but the optimizer has "
                f"{len(self.param_groups)}"
            )
        new_groups = []
        positions: dict[int, tuple[int, Tensor, dict]] = {}
        index = 0
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{name}: parameter group {g} has no 'params' entry")
            ids = np.asarray(saved["params"]).ravel()
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {g} has {len(ids)} parameter(s) in the state but "
                    f"{len(group['params'])} in the optimizer"
                )
            new = dict(group)
            for key, value in saved.items():
                if key != "params":
                    new[str(key)] = _unplain(value, self.defaults.get(key))
            try:
                self._validate(new)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{name}: parameter group {g}: {error}") from None
            new_groups.append(new)
            for saved_id, p in zip(ids, group["params"]):
                positions[_as_int(f"parameter id in group {g}", saved_id)] = (index, p, new)
                index += 1
        new_state = {}
        for key, saved in dict(state_dict["state"]).items():
            saved_id = _as_int("a state key", key)
            if saved_id not in positions:
                raise ValueError(f"{name}: the state has an entry for parameter {key} but the optimizer has no such "
                                 f"parameter ({index} in all)")
            i, p, group = positions[saved_id]
            if saved:
                new_state[i] = self._load_param_state(name, i, p, group, saved)
        self.param_groups = new_groups
        self.state = new_state

    def _load_param_state(self, name: str, i: int, p: Tensor, group: dict, saved: Mapping) -> dict:
        expected = self._state_names(group)
        missing, extra = expected - set(saved), set(saved) - expected
        if missing or extra:
            problems = [f"missing {sorted(missing)}"] * bool(missing) + [f"unexpected {sorted(extra)}"] * bool(extra)
            raise ValueError(f"{name}: the state of parameter {i}: {', '.join(problems)}")
        state = {}
        data = p.data
        for key, value in saved.items():
            if key == "step":
                step = _as_int(f"'step' of parameter {i}", value)
                if step < 0:
                    raise ValueError(f"{name}: 'step' of parameter {i} is negative ({step})")
                state[key] = step
                continue
            array = np.asarray(value)
            if array.dtype.kind not in "iuf":
                raise ValueError(f"{name}: buffer {key!r} of parameter {i} is not numeric (dtype {array.dtype})")
            if array.shape != np.shape(data):
                raise ValueError(
                    f"{name}: buffer {key!r} of parameter {i} has shape {array.shape}, "
                    f"but the parameter has shape {np.shape(data)}"
                )
            if isinstance(data, np.ndarray):
                state[key] = np.array(array, dtype=data.dtype, copy=True)
            else:
                state[key] = array.astype(data.dtype)[()]
        return state

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines.extend(f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params")
        lines.append(")")
        return "\n".join(lines)
