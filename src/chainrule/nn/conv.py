"""Convolution and pooling over images (N, C, H, W): ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``.

The functions check and normalise their arguments as PyTorch does (an int or a
pair for each of kernel, stride, padding and dilation; ``padding="same"`` or
``"valid"``; a (C, H, W) input without a batch axis) and then apply one rule of
the table each (``ops/conv.py``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..rules import RULES
from ..tensor import Tensor, _apply, as_tensor, concatenate
from . import init
from .module import Module, Parameter, _float_dtype

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "Conv2d", "MaxPool2d", "AvgPool2d"]


def _pair(value, name: str, owner: str, minimum: int = 1) -> tuple[int, int]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum for v in values
    ):
        raise ValueError(f"{owner}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


def _images(x, owner: str) -> tuple[Tensor, bool]:
    """The input as (N, C, H, W), and whether it came without the batch axis."""
    x = as_tensor(x)
    if x.ndim == 3:
        return x.reshape((1,) + x.shape), True
    if x.ndim != 4:
        raise ValueError(f"{owner}: expected an input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    return x, False


def _check_fits(x: Tensor, padding, kernel, stride, dilation, owner: str) -> None:
    for axis, name in ((0, "height"), (1, "width")):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        padded = x.shape[2 + axis] + sum(padding[axis])
        if padded < span:
            raise ValueError(f"{owner}: the input's {name} {x.shape[2 + axis]} (padded: {padded}) is smaller "
                             f"than the kernel's {span}")


def _conv_padding(padding, kernel, stride, dilation, owner: str):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{owner}: padding='same' needs stride 1, got stride={stride}")
            # As PyTorch: the total d·(k − 1) split in two, any odd one out on the bottom/right.
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{owner}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    top, left = _pair(padding, "padding", owner, minimum=0)
    return ((top, top), (left, left))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    out[n, o, i, j] = b[o] + Σ_c Σ_p Σ_q W[o, c, p, q] · x[n, c, s·i + d·p, s·j + d·q] (x zero-padded),
    for x of shape (N, C, H, W) and W of shape (O, C / groups, kh, kw).
    """
    x, unbatched = _images(input, "conv2d")
    weight = as_tensor(weight)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (out_channels, in_channels/groups, kh, kw), "
                         f"got {weight.shape}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    out_channels, group_channels = weight.shape[:2]
    if x.shape[1] != group_channels * groups or out_channels % groups:
        raise ValueError(
            f"conv2d: an input with {x.shape[1]} channels does not fit a weight of shape {weight.shape} "
            f"and groups={groups} (expected {group_channels * groups} input channels)"
        )
    stride, dilation = _pair(stride, "stride", "conv2d"), _pair(dilation, "dilation", "conv2d")
    padding = _conv_padding(padding, weight.shape[2:], stride, dilation, "conv2d")
    _check_fits(x, padding, weight.shape[2:], stride, dilation, "conv2d")
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (out_channels,):
            raise ValueError(f"conv2d: bias must have shape ({out_channels},), got {bias.shape}")
    attrs = {"stride": stride, "padding": padding, "dilation": dilation}
    if groups == 1:
        out = _apply(RULES["conv2d"], (x, weight) if bias is None else (x, weight, bias), attrs)
    else:
        # Each group convolves its own slice of the channels with its own slice of the filters.
        per_out = out_channels // groups
        parts = []
        for g in range(groups):
            inputs = (x[:, g * group_channels:(g + 1) * group_channels], weight[g * per_out:(g + 1) * per_out])
            if bias is not None:
                inputs += (bias[g * per_out:(g + 1) * per_out],)
            parts.append(_apply(RULES["conv2d"], inputs, attrs))
        out = concatenate(parts, axis=1)
    return out.reshape(out.shape[1:]) if unbatched else out


def _pool_arguments(kernel_size, stride, padding, dilation, ceil_mode, owner: str):
    kernel = _pair(kernel_size, "kernel_size", owner)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _pair(stride, "stride", owner)
    pad = _pair(padding, "padding", owner, minimum=0)
    if ceil_mode:
        raise ValueError(f"{owner}: ceil_mode=True is not supported (output sizes round down)")
    for p, k, d in zip(pad, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{owner}: padding {padding!r} must be at most half the kernel size {kernel_size!r}")
    return kernel, stride, ((pad[0], pad[0]), (pad[1], pad[1]))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each kh×kw window (padding counts as −∞); its gradient goes to the window's
    first maximum, as in PyTorch."""
    if return_indices:
        raise ValueError("max_pool2d: return_indices=True is not supported")
    x, unbatched = _images(input, "max_pool2d")
    dilation = _pair(dilation, "dilation", "max_pool2d")
    kernel, stride, padding = _pool_arguments(kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    _check_fits(x, padding, kernel, stride, dilation, "max_pool2d")
    out = _apply(RULES["max_pool2d"], (x,), {"kernel": kernel, "stride": stride, "padding": padding,
                                             "dilation": dilation})
    return out.reshape(out.shape[1:]) if unbatched else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each kh×kw window. Padding counts as zeros in the window's size unless
    ``count_include_pad=False``; ``divisor_override`` replaces the size."""
    x, unbatched = _images(input, "avg_pool2d")
    kernel, stride, padding = _pool_arguments(kernel_size, stride, padding, (1, 1), ceil_mode, "avg_pool2d")
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral)
                                         or isinstance(divisor_override, bool) or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a nonzero int, got {divisor_override!r}")
    _check_fits(x, padding, kernel, stride, (1, 1), "avg_pool2d")
    out = _apply(RULES["avg_pool2d"], (x,), {
        "kernel": kernel, "stride": stride, "padding": padding, "count_include_pad": bool(count_include_pad),
        "divisor_override": None if divisor_override is None else int(divisor_override),
    })
    return out.reshape(out.shape[1:]) if unbatched else out


class Conv2d(Module):
    """A 2-D convolution layer: ``weight`` (out_channels, in_channels/groups, kh, kw) and ``bias`` (out_channels,).

    Initialised as PyTorch does: every entry uniform in ±1/√fan_in, fan_in = in_channels/groups·kh·kw.

    >>> layer = Conv2d(1, 8, 3, padding=1, generator=np.random.default_rng(0))
    >>> layer(chainrule.tensor(np.ones((2, 1, 5, 5)))).shape
    (2, 8, 5, 5)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None, *,
                 generator=None):
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: padding_mode {padding_mode!r} is not supported (only 'zeros')")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"Conv2d: device {device!r} is not available (chainrule runs on the CPU)")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = _pair(stride, "stride", "Conv2d")
        self.dilation = _pair(dilation, "dilation", "Conv2d")
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", "Conv2d", minimum=0)
        _conv_padding(self.padding, self.kernel_size, self.stride, self.dilation, "Conv2d")  # check it now
        self.padding_mode = padding_mode
        dtype = _float_dtype(dtype, "Conv2d")
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for the weight, U(±1/√fan_in) for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """Max pooling over kh×kw windows (stride defaults to the kernel size)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        dilation_pair = _pair(dilation, "dilation", "MaxPool2d")
        _pool_arguments(kernel_size, stride, padding, dilation_pair, ceil_mode, "MaxPool2d")
        if return_indices:
            raise ValueError("MaxPool2d: return_indices=True is not supported")

    def forward(self, x) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return (f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Average pooling over kh×kw windows (stride defaults to the kernel size)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override
        _pool_arguments(kernel_size, stride, padding, (1, 1), ceil_mode, "AvgPool2d")

    def forward(self, x) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"
