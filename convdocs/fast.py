"""Fast 2-D cross-correlation: shift and add, unfold and a matrix product, or ``F.conv2d``.

Three ways to compute the sum that ``corr2d`` loops over, each the fastest somewhere:

* ``shift_add``: for each kernel offset ``(a, b)``, add ``K[a, b]`` times the input
  shifted by ``(a, b)``: ``kh * kw`` whole-image operations instead of ``Ho * Wo`` tiny
  ones. The fastest on a CPU for one channel, unless the image is small.
* ``unfold_matmul``: copy every window into a column (im2col), then one matrix product.
* ``conv2d``: ``torch.nn.functional.conv2d`` (oneDNN on a CPU, cuDNN on a GPU), the
  fastest with several channels, for small images and on a GPU.

``corr2d_fast`` checks its arguments like ``corr2d``, then runs the one ``choose_method``
picks. The page "From loop to fast" explains why each is faster, with benchmark numbers.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from convdocs._checks import (
    check_float_tensor,
    check_kernel_fits,
    check_same_device_dtype,
    shape_str,
)

METHODS = ("shift_add", "unfold_matmul", "conv2d")

# shift_add works on strips of STRIP_ELEMENTS output elements when the output has more
# than STRIPS_ABOVE, so that each strip is read and written kh * kw times in the cache.
STRIP_ELEMENTS = 1 << 20
STRIPS_ABOVE = 1 << 21


def shift_add(X, K, stride=(1, 1)):
    """Return the sum over offsets (a, b) of K[:, :, a, b] times X shifted by (a, b)."""
    N, _, H, W = X.shape
    O, _, kh, kw = K.shape
    Ho, Wo = (H - kh) // stride[0] + 1, (W - kw) // stride[1] + 1
    Y = X.new_empty((N, O, Ho, Wo))
    needs_grad = torch.is_grad_enabled() and (X.requires_grad or K.requires_grad)
    if needs_grad or Y.numel() <= STRIPS_ABOVE:
        return add_shifted(Y, X, K, stride)
    rows = max(1, STRIP_ELEMENTS // (N * O * Wo))
    for r in range(0, Ho, rows):  # strips of output rows, small enough for the cache
        add_shifted(Y[:, :, r : r + rows], X[:, :, r * stride[0] :], K, stride)
    return Y


def add_shifted(Y, X, K, stride):
    """Fill ``Y`` (N, O, Ho, Wo) with the cross-correlation of ``X`` and ``K`` (O, C, kh, kw)."""
    (Ho, Wo), (kh, kw), (sh, sw) = Y.shape[-2:], K.shape[-2:], stride
    one_channel = K.shape[1] == 1
    # K[:, :, a, b] for each offset, shaped to multiply a window: (1, O, 1, 1) or (O, C)
    if one_channel:
        weights = K.permute(2, 3, 1, 0)[..., None, None]
    else:
        weights = K.permute(2, 3, 0, 1)
    Y.zero_()
    for a in range(kh):
        for b in range(kw):
            rows = slice(a, a + sh * (Ho - 1) + 1, sh)  # Ho rows from row a, sh apart
            cols = slice(b, b + sw * (Wo - 1) + 1, sw)  # Wo columns from column b
            window = X[:, :, rows, cols]  # (N, C, Ho, Wo)
            if one_channel:  # a multiply-add per output element
                Y.addcmul_(window, weights[a, b])
            else:  # an (O, C) matrix times the C windows
                Y.add_(torch.einsum("oc,nchw->nohw", weights[a, b], window))
    return Y


def unfold_matmul(X, K, stride=(1, 1)):
    """Return the cross-correlation as one product: K (O, C*kh*kw) @ windows (N, C*kh*kw, L)."""
    N, C, H, W = X.shape
    O, _, kh, kw = K.shape
    Ho, Wo = (H - kh) // stride[0] + 1, (W - kw) // stride[1] + 1
    windows = F.unfold(X, (kh, kw), stride=stride)  # (N, C * kh * kw, Ho * Wo)
    return (K.reshape(O, C * kh * kw) @ windows).reshape(N, O, Ho, Wo)


def choose_method(X, K, stride=(1, 1), padding=(0, 0)):
    """Return the name of the fastest method for these 4-D shapes and this device.

    The rule is read off the benchmark (``python -m convdocs.bench``) on a CPU: shift and add
    wins for one input and one output channel from about 200x200 output pixels (400x400
    for kernels bigger than 5x5); ``F.conv2d`` (oneDNN) wins with several channels, for
    smaller images, where its fixed cost is lower, and on a GPU (cuDNN).
    """
    N, C, H, W = X.shape
    O, _, kh, kw = K.shape
    Ho = (H + 2 * padding[0] - kh) // stride[0] + 1
    Wo = (W + 2 * padding[1] - kw) // stride[1] + 1
    pixels = N * Ho * Wo
    if X.device.type != "cpu" or C * O > 1:
        return "conv2d"
    if pixels < 200 * 200 or (kh * kw > 25 and pixels < 400 * 400):
        return "conv2d"
    return "shift_add"


def _int_pair(fn: str, name: str, value: object, smallest: int) -> tuple[int, int]:
    """Normalise ``value`` (an int or a pair of ints) to a pair, each at least ``smallest``."""

    def is_int(v: object) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{fn} expects {name} to be an int or a pair of ints, got {value!r}")
    if min(pair) < smallest:
        raise ValueError(f"{fn} expects {name} >= {smallest}, got {value!r}")
    return pair


def check_corr2d_fast_inputs(fn, X, K, stride, padding, method):
    """Check the arguments of ``corr2d_fast``; return ``(stride, padding)`` as pairs."""
    check_float_tensor(fn, "input X", X, (2, 4))
    check_float_tensor(fn, "kernel K", K, X.dim())
    check_same_device_dtype(fn, ("X", "K"), X, K)
    if X.dim() == 4 and K.shape[1] != X.shape[1]:
        raise ValueError(
            f"{fn} expects K with as many input channels as X, got K of shape {shape_str(K)} "
            f"({K.shape[1]} channels) for X of shape {shape_str(X)} ({X.shape[1]} channels)"
        )
    stride = _int_pair(fn, "stride", stride, 1)
    padding = _int_pair(fn, "padding", padding, 0)
    if padding == (0, 0):
        check_kernel_fits(fn, X, K)
    else:
        (h, w), (kh, kw), (ph, pw) = X.shape[-2:], K.shape[-2:], padding
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise ValueError(
                f"{fn} expects a kernel no larger than the padded input, got kernel {(kh, kw)} "
                f"for input {(h, w)} padded to {(h + 2 * ph, w + 2 * pw)}"
            )
    if method != "auto" and method not in METHODS:
        allowed = ", ".join(repr(m) for m in ("auto", *METHODS))
        raise ValueError(f"{fn} expects method to be one of {allowed}, got {method!r}")
    return stride, padding


def corr2d_fast(
    X: torch.Tensor,
    K: torch.Tensor,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    method: str = "auto",
) -> torch.Tensor:
    """Compute the 2-D cross-correlation of ``X`` with ``K`` by the fastest method for the shape.

    Gives what ``corr2d`` gives for a 2-D image and kernel, and what
    ``torch.nn.functional.conv2d`` gives for a batch of multi-channel images,
    without the Python loop over output elements. ``choose_method`` picks
    shift-and-add, unfold and matrix product, or ``F.conv2d``; autograd works
    through each.

    Args:
        X: the input, a floating-point tensor ``(H, W)`` or ``(N, C, H, W)``.
        K: the kernel, ``(kh, kw)`` for a 2-D ``X`` or ``(O, C, kh, kw)`` for a
            4-D one, on ``X``'s device and with its dtype.
        stride: the step between windows, an int or a pair ``(sh, sw)``, at least 1.
        padding: zeros added on each side, an int or a pair ``(ph, pw)``, at least 0.
        method: ``"auto"`` (the default) or one of ``METHODS`` to force it.

    Returns:
        A tensor ``(Ho, Wo)`` for a 2-D ``X`` or ``(N, O, Ho, Wo)`` for a 4-D one, where
        ``Ho = (H + 2 * ph - kh) // sh + 1`` and ``Wo = (W + 2 * pw - kw) // sw + 1``.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor, or ``stride`` or ``padding`` is
            not an int or a pair of ints.
        ValueError: if ``X`` is not 2-D or 4-D or ``K`` has another number of
            dimensions, if either is empty or not floating point, if they differ in
            device or dtype or in input channels, if ``K`` is larger than the padded
            input, if ``stride < 1`` or ``padding < 0``, or if ``method`` is unknown.

    Example:

    ```python
    import torch
    from convdocs.fast import corr2d_fast
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    print(corr2d_fast(X, K))
    batch, weights = torch.ones((2, 3, 5, 5)), torch.ones((4, 3, 3, 3))
    corr2d_fast(batch, weights, stride=2, padding=1).shape
    ```

    ```text
    tensor([[19., 25.],
            [37., 43.]])
    torch.Size([2, 4, 3, 3])
    ```

    Taught on the page [From loop to fast](loop-to-fast.md).
    """
    fn = "corr2d_fast"
    stride_pair, padding_pair = check_corr2d_fast_inputs(fn, X, K, stride, padding, method)
    image = X.dim() == 2
    if image:
        X, K = X[None, None], K[None, None]  # (1, 1, H, W) and (1, 1, kh, kw)
    if method == "auto":
        method = choose_method(X, K, stride_pair, padding_pair)
    if method == "conv2d":
        Y = F.conv2d(X, K, stride=stride_pair, padding=padding_pair)
    else:
        if padding_pair != (0, 0):
            X = F.pad(X, (padding_pair[1], padding_pair[1], padding_pair[0], padding_pair[0]))
        fast = shift_add if method == "shift_add" else unfold_matmul
        Y = fast(X, K, stride_pair)
    return Y[0, 0] if image else Y
