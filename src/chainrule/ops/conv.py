"""Sliding-window primitives on (N, C, H, W) arrays: 2-D convolution, max pooling, average pooling.

All three read the input through one strided view, ``windows`` of shape
(N, C, OH, OW, kh, kw): entry [n, c, i, j] is the patch that output pixel
(i, j) sees (numpy's ``sliding_window_view``, no copy). The forward pass is a
contraction or a reduction over that view (im2col without materialising the
columns until the product needs them).

The backward passes send each output pixel's gradient back to the patch it
came from. Patches overlap when the stride is smaller than the kernel, so the
input gradient is a scatter-add: a zeros array allocated here and filled with
``np.add.at``, one call per kernel offset (the slices of one offset never
overlap each other). The VJPs use only numpy functions so that they can also
run on tensors for higher-order gradients.

Geometry attributes are pairs, already normalised by ``nn.functional``:
``stride=(sh, sw)``, ``dilation=(dh, dw)``, ``padding=((top, bottom), (left, right))``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..rules import rule
from ._sampling import uniform

_NO_PADDING = ((0, 0), (0, 0))


def _pad(x, padding, value=0.0):
    if padding == _NO_PADDING:
        return x
    return np.pad(x, ((0, 0), (0, 0), padding[0], padding[1]), constant_values=value)


def windows(x_padded, kernel, stride=(1, 1), dilation=(1, 1)):
    """The (N, C, OH, OW, kh, kw) view of every patch (a read-only view, no copy)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = sliding_window_view(x_padded, span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _scatter_patches(patch_grads, padded_shape, padding, stride, dilation, dtype):
    """Add each patch's gradient (N, C, OH, OW, kh, kw) back where the patch was read; crop the padding."""
    n, c, oh, ow, kh, kw = patch_grads.shape
    (sh, sw), (dh, dw) = stride, dilation
    grad = np.zeros(padded_shape, dtype=dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            np.add.at(grad, (slice(None), slice(None), rows, columns), patch_grads[:, :, :, :, i, j])
    (top, bottom), (left, right) = padding
    return grad[:, :, top : padded_shape[2] - bottom, left : padded_shape[3] - right]


# -- conv2d ---------------------------------------------------------------------------


def _conv2d(x, w, b=None, stride=(1, 1), padding=_NO_PADDING, dilation=(1, 1)):
    patches = windows(_pad(x, padding), w.shape[2:], stride, dilation)
    # Σ over (c, i, j) of patch[n, c, oh, ow, i, j]·W[o, c, i, j] → (N, OH, OW, O) → (N, O, OH, OW)
    out = np.moveaxis(np.tensordot(patches, w, axes=((1, 4, 5), (1, 2, 3))), 3, 1)
    if b is not None:
        out = out + b[:, np.newaxis, np.newaxis]
    return out


def _conv2d_vjp(g, out, x, w, b=None, stride=(1, 1), padding=_NO_PADDING, dilation=(1, 1),
                needs=(True, True, True)):
    grad_x = grad_w = grad_b = None
    if needs[0]:
        # Each output pixel's gradient, spread over its patch by the weights: (N, OH, OW, C, kh, kw).
        patch_grads = np.transpose(np.tensordot(g, w, axes=((1,), (0,))), (0, 3, 1, 2, 4, 5))
        padded = (x.shape[0], x.shape[1], x.shape[2] + sum(padding[0]), x.shape[3] + sum(padding[1]))
        grad_x = _scatter_patches(patch_grads, padded, padding, stride, dilation, np.result_type(g, w))
    if needs[1]:
        patches = windows(_pad(x, padding), w.shape[2:], stride, dilation)
        grad_w = np.tensordot(g, patches, axes=((0, 2, 3), (0, 2, 3)))
    if b is None:
        return grad_x, grad_w
    if len(needs) > 2 and needs[2]:
        grad_b = np.sum(g, axis=(0, 2, 3))
    return grad_x, grad_w, grad_b


def _random_geometry(rng, dilate=True):
    stride = tuple(int(s) for s in rng.integers(1, 3, size=2))
    pad = tuple(int(p) for p in rng.integers(0, 2, size=4))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2)) if dilate else (1, 1)
    return stride, ((pad[0], pad[1]), (pad[2], pad[3])), dilation


def _sample_conv2d(rng, shape):
    n, c, o = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 4))
    kh, kw = (int(k) for k in rng.integers(1, 4, size=2))
    stride, padding, dilation = _random_geometry(rng)
    # Big enough for at least one window: dilation·(k − 1) + 1 ≤ padded size.
    h = max(int(rng.integers(3, 6)), dilation[0] * (kh - 1) + 1)
    width = max(int(rng.integers(3, 6)), dilation[1] * (kw - 1) + 1)
    arrays = [uniform(rng, (n, c, h, width)), uniform(rng, (o, c, kh, kw))]
    if rng.random() < 0.7:
        arrays.append(uniform(rng, (o,)))
    return arrays, {"stride": stride, "padding": padding, "dilation": dilation}


# -- max_pool2d -----------------------------------------------------------------------


def _max_pool2d(x, kernel, stride, padding=_NO_PADDING, dilation=(1, 1)):
    return np.max(windows(_pad(x, padding, -np.inf), kernel, stride, dilation), axis=(4, 5))


def _max_pool2d_vjp(g, out, x, kernel, stride, padding=_NO_PADDING, dilation=(1, 1)):
    # As PyTorch: the whole gradient goes to the first maximum of each window (row-major order).
    patches = windows(_pad(x, padding, -np.inf), kernel, stride, dilation)
    n, c, oh, ow, kh, kw = patches.shape
    first = np.argmax(np.reshape(patches, (n, c, oh, ow, kh * kw)), axis=-1)
    rows = np.arange(oh)[:, np.newaxis] * stride[0] + (first // kw) * dilation[0]
    columns = np.arange(ow) * stride[1] + (first % kw) * dilation[1]
    padded = (n, c, x.shape[2] + sum(padding[0]), x.shape[3] + sum(padding[1]))
    grad = np.zeros(padded, dtype=np.result_type(g, x))
    batch = np.arange(n)[:, np.newaxis, np.newaxis, np.newaxis]
    channel = np.arange(c)[:, np.newaxis, np.newaxis]
    np.add.at(grad, (batch, channel, rows, columns), g)
    (top, bottom), (left, right) = padding
    return (grad[:, :, top : padded[2] - bottom, left : padded[3] - right],)


def _sample_max_pool2d(rng, shape):
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
    stride, _, dilation = _random_geometry(rng)
    # PyTorch allows padding up to half the kernel, so every window holds a real element.
    padding = tuple((int(rng.integers(0, k // 2 + 1)),) * 2 for k in kernel)
    h = max(int(rng.integers(3, 6)), dilation[0] * (kernel[0] - 1) + 1)
    width = max(int(rng.integers(3, 6)), dilation[1] * (kernel[1] - 1) + 1)
    # Distinct values far apart, so a finite-difference step never changes which one is the maximum.
    values = rng.permutation(n * c * h * width).reshape(n, c, h, width) * 0.1 - 1.0
    return [values], {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}


# -- avg_pool2d -----------------------------------------------------------------------


def _divisor(x_shape, kernel, stride, padding, count_include_pad, divisor_override):
    """What each window's sum is divided by: a number, or one per output pixel (OH, OW)."""
    if divisor_override is not None:
        return divisor_override
    if count_include_pad:
        return kernel[0] * kernel[1]
    inside = _pad(np.ones((1, 1) + tuple(x_shape[2:])), padding)
    return np.sum(windows(inside, kernel, stride), axis=(4, 5))[0, 0]


def _avg_pool2d(x, kernel, stride, padding=_NO_PADDING, count_include_pad=True, divisor_override=None):
    sums = np.sum(windows(_pad(x, padding), kernel, stride), axis=(4, 5))
    return sums / _divisor(x.shape, kernel, stride, padding, count_include_pad, divisor_override)


def _avg_pool2d_vjp(g, out, x, kernel, stride, padding=_NO_PADDING, count_include_pad=True,
                    divisor_override=None):
    share = g / _divisor(x.shape, kernel, stride, padding, count_include_pad, divisor_override)
    patch_grads = np.broadcast_to(share[..., np.newaxis, np.newaxis], share.shape + tuple(kernel))
    padded = (x.shape[0], x.shape[1], x.shape[2] + sum(padding[0]), x.shape[3] + sum(padding[1]))
    return (_scatter_patches(patch_grads, padded, padding, stride, (1, 1), np.result_type(g, x)),)


def _sample_avg_pool2d(rng, shape):
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
    stride, _, _ = _random_geometry(rng, dilate=False)
    padding = tuple((int(rng.integers(0, k // 2 + 1)),) * 2 for k in kernel)
    h, width = max(int(rng.integers(3, 6)), kernel[0]), max(int(rng.integers(3, 6)), kernel[1])
    attrs = {"kernel": kernel, "stride": stride, "padding": padding,
             "count_include_pad": bool(rng.random() < 0.5), "divisor_override": None}
    if rng.random() < 0.2:
        attrs["divisor_override"] = 2
    return [uniform(rng, (n, c, h, width))], attrs


rule("conv2d", forward=_conv2d, vjp=_conv2d_vjp, inputs=("x", "W", "b"),
     formulas=("scatter(T(W) @ g)", "g @ T(x)", "sum(g)"), sample=_sample_conv2d, notation="x @ T(W) + b",
     selective=True,
     doc="2-D cross-correlation of x (N, C, H, W) with W (O, C, kh, kw), plus b: each output pixel is "
         "a patch of x (im2col) times Wᵀ; the input gradient adds Wᵀ·g back over the patches")
rule("max_pool2d", forward=_max_pool2d, vjp=_max_pool2d_vjp, inputs=("x",),
     formulas=("scatter(argmask(x)*expand(g))",), sample=_sample_max_pool2d, notation="max(x, axis)",
     doc="the maximum of each window; the gradient goes to the first maximum of the window")
rule("avg_pool2d", forward=_avg_pool2d, vjp=_avg_pool2d_vjp, inputs=("x",),
     formulas=("scatter(expand(g)/n)",), sample=_sample_avg_pool2d, notation="sum(x)/n",
     doc="the mean of each window; n is the window's size (or its count of real, unpadded elements)")
